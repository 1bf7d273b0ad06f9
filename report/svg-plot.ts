/**
 * A dependency-free SVG line chart for training curves (kNN accuracy or loss vs epochs, several
 * runs overlaid, as in the paper's Fig. 1 / Fig. 4). Output is a standalone SVG document and is
 * deterministic: the same input gives the same string, byte for byte.
 *
 * Non-finite points (a diverged run's NaN / Infinity loss) are skipped and break the line there:
 * every run of consecutive finite points becomes its own <polyline>; an isolated finite point is
 * drawn as a dot so it does not vanish.
 *
 * Optional point markers (e.g. instability events: accuracy dips, gradient spikes) are drawn over
 * the data as small shapes with a tooltip; each distinct marker `kind` gets one legend entry.
 */

export interface Series {
  label: string;
  points: [number, number][];
  dashed?: boolean;
  /** A colour and dash pattern of the caller's (e.g. colour by column, dash by row): overrides the automatic style. */
  color?: string;
  dash?: string | null;
}

/** A point marker over the data: `kind` names its legend entry, `label` is its tooltip. */
export interface Marker {
  x: number;
  y: number;
  kind: string;
  label: string;
  /** 'down': a triangle pointing at the point (default); 'diamond': centred on it. */
  shape?: 'down' | 'diamond';
  /** Fill colour; default near-black. */
  color?: string;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Pixels; default 640. */
  width?: number;
  /** Pixels; default 400. */
  height?: number;
  yMin?: number;
  yMax?: number;
  xMin?: number;
  xMax?: number;
  /** Horizontal reference lines (e.g. the paper's number), drawn dashed grey with a label. */
  hLines?: { y: number; label: string }[];
  /** Point markers drawn over the data (not part of the axis ranges). */
  markers?: Marker[];
  /** No legend (e.g. a panel of small multiples whose title names its one line). */
  noLegend?: boolean;
}

/** Okabe-Ito, reordered so the low-contrast yellow comes last. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442'] as const;

/** Dash patterns: series that ask for `dashed`, and further ones once the palette wraps round. */
const DASHES = ['6 4', '2 3', '8 3 2 3'];

export interface Axis {
  /** Data value at the left / bottom edge of the plot area. */
  min: number;
  /** Data value at the right / top edge of the plot area. */
  max: number;
  ticks: number[];
  /** Tick labels, parallel to `ticks`. */
  labels: string[];
}

export interface PlotLayout {
  width: number;
  height: number;
  /** Plot area in pixels (SVG coordinates: y grows downwards, so top < bottom). */
  plot: { left: number; top: number; right: number; bottom: number };
  x: Axis;
  y: Axis;
  /** Legend entries: a series (line in `color`, `dash`) or a marker kind (`marker` shape). */
  legend: { x: number; y: number; label: string; color: string; dash: string | null; marker?: 'down' | 'diamond' }[];
}

const FONT = 12;
const CHAR_W = 7; // rough width of a 12px sans-serif character, for layout only
const LEGEND_ROW = 18;
const TITLE_LINE = 20;
const TITLE_CHAR_W = 8.6; // rough width of a 15px bold character

/** A plot title broken at spaces into lines that fit the figure's width (long titles wrap, never clip). */
export function titleLines(title: string, width: number): string[] {
  const max = Math.max(10, Math.floor((width - 24) / TITLE_CHAR_W));
  const lines: string[] = [];
  let cur = '';
  for (const word of title.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + word.length > max) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}

/** The title as SVG text, one <tspan> a line, centred. */
export function renderTitle(title: string, width: number): string {
  const spans = titleLines(title, width)
    .map((line, i) => `<tspan x="${num(width / 2)}" ${i ? `dy="${TITLE_LINE}"` : 'y="22"'}>${escapeXml(line)}</tspan>`)
    .join('');
  return `<text text-anchor="middle" font-size="15" font-weight="bold">${spans}</text>`;
}

/** Escapes XML special characters and drops characters XML 1.0 forbids (control chars, lone surrogates). */
export function escapeXml(s: string): string {
  return String(s)
    .replace(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing the control characters XML 1.0 forbids is this regex's job
      /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
      '',
    )
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** A coordinate with at most 2 decimals, no trailing zeros, never "-0". */
function num(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** The 1/2/5 x 10^k step that splits `span` into about `target` intervals. */
export function niceStep(span: number, target = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const f = norm < Math.SQRT2 ? 1 : norm < Math.sqrt(10) ? 2 : norm < Math.sqrt(50) ? 5 : 10;
  return f * mag;
}

/** Decimals needed to print multiples of `step` exactly. */
function stepDecimals(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Rounds away binary noise (0.6000000000000001 -> 0.6) for a multiple of `step`. */
function cleanMultiple(i: number, step: number): number {
  const d = stepDecimals(step);
  const v = d <= 15 ? Number((i * step).toFixed(d)) : i * step;
  return Object.is(v, -0) ? 0 : v;
}

/** Multiples of a nice step lying inside [min, max] (ends included, with float tolerance). */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min > max) [min, max] = [max, min];
  if (min === max) return [min];
  const step = niceStep(max - min, target);
  const eps = 1e-9;
  const first = Math.ceil(min / step - eps);
  const last = Math.floor(max / step + eps);
  const out: number[] = [];
  for (let i = first; i <= last; i++) out.push(cleanMultiple(i, step));
  return out;
}

/** Tick label: fixed decimals from the step, or exponent form for very small / large values. */
export function formatTick(v: number, step: number): string {
  const d = stepDecimals(step);
  const big = Math.abs(v) >= 1e7;
  let s: string;
  if (d <= 6 && !big) s = v.toFixed(d);
  else {
    const digits = v === 0 ? 0 : Math.min(6, Math.max(0, Math.floor(Math.log10(Math.abs(v))) - Math.floor(Math.log10(step))));
    s = v.toExponential(digits);
  }
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

function isFinitePoint(p: readonly [number, number]): boolean {
  return Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]);
}

function checkOpt(name: string, v: number | undefined): void {
  if (v !== undefined && !Number.isFinite(v)) throw new RangeError(`renderLinePlot: ${name} must be a finite number, got ${v}`);
}

/**
 * One axis' range: data extent (or [0, 1] without data), overridden by the explicit ends, padded
 * when degenerate, and with the automatic ends snapped outwards to the tick step.
 */
function resolveAxis(
  values: number[],
  lo: number | undefined,
  hi: number | undefined,
  target: number,
): { min: number; max: number; step: number } {
  let min = values.length ? Math.min(...values) : 0;
  let max = values.length ? Math.max(...values) : 1;
  if (lo !== undefined) min = lo;
  if (hi !== undefined) max = hi;
  if (lo !== undefined && hi !== undefined && lo > hi) throw new RangeError(`renderLinePlot: axis min ${lo} > max ${hi}`);
  if (max <= min) {
    const base = lo !== undefined ? min : max;
    const pad = base !== 0 ? Math.abs(base) * 0.1 : 1;
    if (lo !== undefined && hi === undefined) max = min + pad;
    else if (hi !== undefined && lo === undefined) min = max - pad;
    else {
      min = base - pad;
      max = base + pad;
    }
  }
  const step = niceStep(max - min, target);
  if (lo === undefined) min = cleanMultiple(Math.floor(min / step + 1e-9), step);
  if (hi === undefined) max = cleanMultiple(Math.ceil(max / step - 1e-9), step);
  return { min, max, step };
}

function axisOf(r: { min: number; max: number; step: number }, target: number): Axis {
  const ticks = niceTicks(r.min, r.max, target);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : r.step;
  return { min: r.min, max: r.max, ticks, labels: ticks.map((t) => formatTick(t, step)) };
}

function seriesStyle(i: number, s: Series): { color: string; dash: string | null } {
  if (s.color) return { color: s.color, dash: s.dash ?? null };
  const color = PALETTE[i % PALETTE.length];
  const cycle = Math.floor(i / PALETTE.length); // 0 on the first pass through the palette
  if (s.dashed) return { color, dash: DASHES[cycle % DASHES.length] };
  return { color, dash: cycle === 0 ? null : DASHES[(cycle - 1) % DASHES.length] };
}

const MARKER_COLOR = '#222222';

/** The first marker of each distinct kind, in order of appearance (one legend entry each). */
function markerKinds(markers: Marker[] | undefined): Marker[] {
  const seen = new Map<string, Marker>();
  for (const m of markers ?? []) if (!seen.has(m.kind)) seen.set(m.kind, m);
  return [...seen.values()];
}

/** A marker's shape at pixel (px, py): an SVG path. */
function markerPath(shape: 'down' | 'diamond', px: number, py: number): string {
  if (shape === 'diamond')
    return `M${num(px)},${num(py - 5)} L${num(px + 5)},${num(py)} L${num(px)},${num(py + 5)} L${num(px - 5)},${num(py)} Z`;
  return `M${num(px - 5)},${num(py - 10)} L${num(px + 5)},${num(py - 10)} L${num(px)},${num(py - 1)} Z`;
}

/** Positions of everything: exposed so tests (and other renderers) can map data to pixels. */
export function layoutPlot(series: Series[], opts: PlotOptions): PlotLayout {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  if (!(width > 0) || !(height > 0) || !Number.isFinite(width) || !Number.isFinite(height)) {
    throw new RangeError(`renderLinePlot: width and height must be positive, got ${width}x${height}`);
  }
  for (const k of ['xMin', 'xMax', 'yMin', 'yMax'] as const) checkOpt(k, opts[k]);

  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    for (const p of s.points) {
      if (!isFinitePoint(p)) continue;
      xs.push(p[0]);
      ys.push(p[1]);
    }
  }
  for (const h of opts.hLines ?? []) if (Number.isFinite(h.y)) ys.push(h.y);

  const yTarget = Math.max(2, Math.round(height / 80));
  const y = axisOf(resolveAxis(ys, opts.yMin, opts.yMax, yTarget), yTarget);

  const top = opts.title ? 14 + TITLE_LINE * titleLines(opts.title, width).length : 14;
  const maxTick = Math.max(1, ...y.labels.map((l) => l.length));
  const left = Math.round((opts.yLabel ? 28 : 8) + maxTick * CHAR_W + 10);
  const right = width - 20;

  const xTarget = Math.max(2, Math.round((right - left) / 90));
  const x = axisOf(resolveAxis(xs, opts.xMin, opts.xMax, xTarget), xTarget);

  // Legend under the x-axis label, flowed into rows across the plot width.
  const legend: PlotLayout['legend'] = [];
  let rows = 0;
  const kinds = markerKinds(opts.markers);
  const entries = opts.noLegend
    ? []
    : [
        ...series.map((s, i) => ({ label: s.label, ...seriesStyle(i, s) })),
        ...kinds.map((m) => ({ label: m.kind, color: m.color ?? MARKER_COLOR, dash: null, marker: m.shape ?? ('down' as const) })),
      ];
  if (entries.length) {
    rows = 1;
    let cx = left;
    const items = entries.map((e) => ({ e, w: 28 + Math.max(1, e.label.length) * CHAR_W + 16 }));
    const placed: { cx: number; row: number; e: (typeof entries)[number] }[] = [];
    for (const it of items) {
      if (cx > left && cx + it.w > right) {
        rows++;
        cx = left;
      }
      placed.push({ cx, row: rows - 1, e: it.e });
      cx += it.w;
    }
    const legendTop = height - 8 - rows * LEGEND_ROW;
    for (const p of placed) legend.push({ x: p.cx, y: legendTop + p.row * LEGEND_ROW + LEGEND_ROW / 2, ...p.e });
  }
  const bottom = height - 8 - rows * LEGEND_ROW - (opts.xLabel ? 40 : 24);
  if (bottom - top < 10 || right - left < 10) throw new RangeError(`renderLinePlot: ${width}x${height} is too small for the plot`);
  return { width, height, plot: { left, top, right, bottom }, x, y, legend };
}

export function scaleX(l: PlotLayout, v: number): number {
  return l.plot.left + ((v - l.x.min) / (l.x.max - l.x.min)) * (l.plot.right - l.plot.left);
}

export function scaleY(l: PlotLayout, v: number): number {
  return l.plot.bottom - ((v - l.y.min) / (l.y.max - l.y.min)) * (l.plot.bottom - l.plot.top);
}

/** Consecutive runs of finite points; a NaN / Infinity point ends a run. */
export function splitFinite(points: [number, number][]): [number, number][][] {
  const runs: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (const p of points) {
    if (isFinitePoint(p)) cur.push(p);
    else if (cur.length) {
      runs.push(cur);
      cur = [];
    }
  }
  if (cur.length) runs.push(cur);
  return runs;
}

/** FNV-1a, for a clip-path id that is stable but differs between plots embedded in one page. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Grid, tick marks and labels, the plot-area border and the axis titles of a laid-out plot. */
export function renderFrame(l: PlotLayout, opts: Pick<PlotOptions, 'xLabel' | 'yLabel'>): string[] {
  const { left, top, right, bottom } = l.plot;
  const o: string[] = [];
  o.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const t of l.x.ticks) o.push(`<line x1="${num(scaleX(l, t))}" y1="${num(top)}" x2="${num(scaleX(l, t))}" y2="${num(bottom)}"/>`);
  for (const t of l.y.ticks) o.push(`<line x1="${num(left)}" y1="${num(scaleY(l, t))}" x2="${num(right)}" y2="${num(scaleY(l, t))}"/>`);
  o.push('</g>');
  o.push('<g class="x-axis" fill="#333333" text-anchor="middle">');
  l.x.ticks.forEach((t, i) => {
    const px = num(scaleX(l, t));
    o.push(`<line x1="${px}" y1="${num(bottom)}" x2="${px}" y2="${num(bottom + 5)}" stroke="#333333"/>`);
    o.push(`<text x="${px}" y="${num(bottom + 18)}">${escapeXml(l.x.labels[i])}</text>`);
  });
  o.push('</g>');
  o.push('<g class="y-axis" fill="#333333" text-anchor="end">');
  l.y.ticks.forEach((t, i) => {
    const py = num(scaleY(l, t));
    o.push(`<line x1="${num(left - 5)}" y1="${py}" x2="${num(left)}" y2="${py}" stroke="#333333"/>`);
    o.push(`<text x="${num(left - 8)}" y="${py}" dy="0.35em">${escapeXml(l.y.labels[i])}</text>`);
  });
  o.push('</g>');
  o.push(
    `<rect x="${num(left)}" y="${num(top)}" width="${num(right - left)}" height="${num(bottom - top)}" fill="none" stroke="#333333"/>`,
  );
  if (opts.xLabel)
    o.push(`<text x="${num((left + right) / 2)}" y="${num(bottom + 36)}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`);
  if (opts.yLabel) {
    const cy = num((top + bottom) / 2);
    o.push(`<text x="14" y="${cy}" text-anchor="middle" transform="rotate(-90 14 ${cy})">${escapeXml(opts.yLabel)}</text>`);
  }

  return o;
}

/**
 * The baseline (y) of a reference line's 11px label: just above the line at `py`, else just below,
 * else further down in steps of a text height, avoiding the spans `taken` (which it extends) and
 * the plot's top edge.
 */
export function hLineLabelY(py: number, top: number, bottom: number, taken: [number, number][]): number {
  const H = 13; // an 11px label's height, with a little air
  const free = (b: number) => b - 10 >= top && b + 3 <= bottom + H && taken.every(([t0, t1]) => b + 3 <= t0 || b - 10 >= t1);
  const tries = [py - 4, py + 13, py + 13 + H, py - 4 - H, py + 13 + 2 * H];
  const y = tries.find(free) ?? (py - top < 16 ? py + 13 : py - 4);
  taken.push([y - 10, y + 3]);
  return y;
}

export function renderLinePlot(series: Series[], opts: PlotOptions): string {
  const l = layoutPlot(series, opts);
  const { left, top, right, bottom } = l.plot;
  const clip = `clip-${hash(JSON.stringify([series, opts]))}`;
  const o: string[] = [];
  o.push('<?xml version="1.0" encoding="UTF-8"?>');
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(l.width)}" height="${num(l.height)}" viewBox="0 0 ${num(l.width)} ` +
      `${num(l.height)}" font-family="Helvetica, Arial, sans-serif" font-size="${FONT}">`,
  );
  o.push(`<title>${escapeXml(opts.title)}</title>`);
  o.push(
    `<defs><clipPath id="${clip}"><rect x="${num(left)}" y="${num(top)}" width="${num(right - left)}" ` +
      `height="${num(bottom - top)}"/></clipPath></defs>`,
  );
  o.push(`<rect x="0" y="0" width="${num(l.width)}" height="${num(l.height)}" fill="#ffffff"/>`);
  if (opts.title) o.push(renderTitle(opts.title, l.width));

  o.push(...renderFrame(l, opts));

  // Reference lines, each labelled at the right end: above its line, or below when near the top
  // edge or when another line's label took that place (lines closer than a text height).
  const labelSpans: [number, number][] = [];
  const hLines = (opts.hLines ?? []).filter((h) => Number.isFinite(h.y) && h.y >= l.y.min && h.y <= l.y.max);
  const hLabels: string[] = [];
  // labelled top line first, so that of close lines the top one's label goes above them all
  for (const h of [...hLines].sort((a, b) => b.y - a.y)) {
    const ly = hLineLabelY(scaleY(l, h.y), top, bottom, labelSpans);
    hLabels.push(
      `<text x="${num(right - 4)}" y="${num(ly)}" text-anchor="end" fill="#555555" font-size="11" stroke="#ffffff" ` +
        `stroke-width="3" paint-order="stroke">${escapeXml(h.label)}</text>`,
    );
  }
  if (hLines.length) {
    o.push('<g class="hlines">');
    for (const h of hLines) {
      const py = num(scaleY(l, h.y));
      o.push(`<line x1="${num(left)}" y1="${py}" x2="${num(right)}" y2="${py}" stroke="#777777" stroke-width="1" stroke-dasharray="4 4"/>`);
    }
    // labels over every line, with a white halo, so no dashed line runs through a label's letters
    o.push(...hLabels, '</g>');
  }

  // Data.
  o.push(`<g class="data" clip-path="url(#${clip})" fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">`);
  series.forEach((s, i) => {
    const st = seriesStyle(i, s);
    const dash = st.dash ? ` stroke-dasharray="${st.dash}"` : '';
    o.push(`<g class="series" data-label="${escapeXml(s.label)}" stroke="${st.color}"${dash}>`);
    for (const run of splitFinite(s.points)) {
      if (run.length === 1) {
        o.push(`<circle cx="${num(scaleX(l, run[0][0]))}" cy="${num(scaleY(l, run[0][1]))}" r="2.5" fill="${st.color}" stroke="none"/>`);
      } else {
        o.push(`<polyline points="${run.map(([x, y]) => `${num(scaleX(l, x))},${num(scaleY(l, y))}`).join(' ')}"/>`);
      }
    }
    o.push('</g>');
  });
  o.push('</g>');

  // Markers: those inside the plot area, with their label as a tooltip.
  const inside = (opts.markers ?? []).filter(
    (m) => isFinitePoint([m.x, m.y]) && m.x >= l.x.min && m.x <= l.x.max && m.y >= l.y.min && m.y <= l.y.max,
  );
  if (inside.length) {
    o.push('<g class="markers" stroke="#ffffff" stroke-width="1">');
    for (const m of inside) {
      o.push(
        `<path d="${markerPath(m.shape ?? 'down', scaleX(l, m.x), scaleY(l, m.y))}" fill="${escapeXml(m.color ?? MARKER_COLOR)}" ` +
          `data-kind="${escapeXml(m.kind)}"><title>${escapeXml(m.label)}</title></path>`,
      );
    }
    o.push('</g>');
  }

  // Legend.
  if (l.legend.length) {
    o.push('<g class="legend">');
    for (const e of l.legend) {
      const dash = e.dash ? ` stroke-dasharray="${e.dash}"` : '';
      if (e.marker)
        o.push(`<path d="${markerPath(e.marker, e.x + 11, e.y + (e.marker === 'down' ? 5 : 0))}" fill="${escapeXml(e.color)}"/>`);
      else
        o.push(
          `<line x1="${num(e.x)}" y1="${num(e.y)}" x2="${num(e.x + 22)}" y2="${num(e.y)}" stroke="${e.color}" stroke-width="2"${dash}/>`,
        );
      o.push(`<text x="${num(e.x + 28)}" y="${num(e.y)}" dy="0.35em" fill="#333333">${escapeXml(e.label)}</text>`);
    }
    o.push('</g>');
  }
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}
