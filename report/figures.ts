/**
 * The paper's figures from stored pre-training results. Pure: result data in, SVG strings out.
 *
 * - kNN curves (Figs. 1-3, 5, 6): kNN monitor accuracy vs epoch, one line per cell, each legend
 *   entry with the cell's final kNN accuracy beside the paper's number ("lr 1.5e-4: 71.7% (paper
 *   71.7)"); accuracy dips flagged by the instability detector are marked on the curves.
 * - Training loss vs epoch, one line per cell.
 * - Gradient magnitude (Fig. 4): for each cell with gradient curves, one line per layer vs
 *   iteration, with the flagged gradient spikes marked.
 *
 * Results may carry `curves.grad` ({ layer: points }), read defensively (absent or malformed, it is
 * ignored), and `instability`: the detectors' summary (core/instability.ts' InstabilitySummary, as
 * report/instability-notes.ts' instabilityOf gives it), whose dips and spikes are marked.
 */
import type { Dip, InstabilitySummary, Spike } from '../core/instability.ts';
import { layoutPlot, PALETTE, renderLinePlot, type Marker, type PlotOptions, type Series } from './svg-plot.ts';
import { fromPeakText } from './instability-notes.ts';
import { renderPanels } from './svg-panels.ts';

export interface CurvePointLike {
  iter: number;
  epoch: number;
  /** null where JSON stored a NaN. */
  value: number | null;
}

/** The fields of a pre-training result (runner/pretrain.ts) the figures read. */
export interface FigureResult {
  final: { knn: number | null; knnRandomInit?: number | null; knnMonitorRandomInit?: number | null };
  /** The cell's linear probe (top-1 in [0, 1]), when it has one. */
  probe?: { top1: number };
  flags: { diverged: boolean; divergedAt?: number; reason?: string };
  curves: { loss: CurvePointLike[]; knn: CurvePointLike[]; grad?: unknown };
  instability?: InstabilitySummary;
}

export interface FigureCell {
  id: string;
  /** A matrix suite's row (e.g. the backbone) and column (e.g. the framework): lines coloured by column, dashed by row. */
  row?: string;
  column?: string;
  /** The paper's number for the cell (linear accuracy, %). */
  paper?: number | string;
  result: FigureResult;
}

/** Names a suite's figures: files start with `name` (e.g. mocov3-tiny), titles are `title: what (preset)`. */
export interface FigureSuite {
  name: string;
  title: string;
  preset: string;
}

export interface Figure {
  /** File name (no folder), e.g. mocov3-tiny-knn.svg. */
  file: string;
  title: string;
  caption: string;
  svg: string;
}

/** What a cell flagged: divergence and the instability detector's events. */
export interface CellEvents {
  id: string;
  /** 1-based iteration at which the loss (or a parameter) became non-finite. */
  divergedAt?: number;
  /** What was non-finite (absent: the loss). */
  divergedReason?: string;
  instability?: InstabilitySummary;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A stored number: null (JSON's NaN) and non-numbers become NaN. */
const val = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/** A number for people: integers (iterations) exact, others to 4 significant digits; 'n/a' when not finite. */
export function fmt(v: unknown): string {
  if (!isNum(v)) return 'n/a';
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

const pct = (x: unknown) => (isNum(x) ? `${(100 * x).toFixed(1)}%` : 'n/a');
/** An accuracy difference (a fraction) in percentage points. */
export const pointsText = (x: unknown) => (isNum(x) ? `${(100 * x).toFixed(1)} points` : 'n/a');

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'cell'
  );
}

function curvePoints(curve: unknown): CurvePointLike[] {
  return Array.isArray(curve) ? curve.filter((p): p is CurvePointLike => isObj(p) && isNum(p.iter) && isNum(p.epoch)) : [];
}

/** The result's gradient curves, [layer, points] in stored order; [] when absent. */
export function gradCurves(r: FigureResult): [string, CurvePointLike[]][] {
  const g = r.curves.grad;
  if (!isObj(g)) return [];
  return Object.entries(g)
    .map(([layer, c]) => [layer, curvePoints(c)] as [string, CurvePointLike[]])
    .filter(([, p]) => p.length > 0);
}

/** A summary's gradient spikes, [layer, spikes] in stored order, layers without a spike left out. */
export function spikeLayers(s: InstabilitySummary): [string, Spike[]][] {
  return Object.entries(s.spikes).filter(([, l]) => l.length > 0);
}

/** A cell's flagged events (divergence; an unstable summary, dips or spikes), or undefined when it flagged none. */
export function cellEvents(c: FigureCell): CellEvents | undefined {
  let instability = c.result.instability;
  if (instability && !instability.unstable && !instability.dips.length && !spikeLayers(instability).length) instability = undefined;
  const diverged = c.result.flags.diverged;
  if (!instability && !diverged) return undefined;
  return {
    id: c.id,
    ...(diverged ? { divergedAt: (c.result.flags.divergedAt ?? 0) + 1 } : {}),
    ...(diverged && c.result.flags.reason ? { divergedReason: c.result.flags.reason } : {}),
    ...(instability ? { instability } : {}),
  };
}

/**
 * "id: linear 71.7%, kNN 68.0% (paper 71.7)": the cell's linear probe and final kNN accuracy (or
 * its divergence) beside the paper's (`~` marks a value derived from the paper's text).
 */
export function legendLabel(c: FigureCell): string {
  const r = c.result;
  const acc = r.flags.diverged
    ? `diverged at iter ${(r.flags.divergedAt ?? 0) + 1}`
    : `${r.probe ? `linear ${pct(r.probe.top1)}, ` : ''}kNN ${pct(r.final.knn)}`;
  const paper = typeof c.paper === 'number' ? c.paper.toFixed(1) : c.paper;
  return `${c.id}: ${acc}${paper === undefined ? '' : ` (paper ${paper})`}`;
}

/** The point of a curve nearest to an iteration (the first of equals). */
function nearest(curve: CurvePointLike[], iter: number): CurvePointLike | undefined {
  let best: CurvePointLike | undefined;
  for (const p of curve) if (!best || Math.abs(p.iter - iter) < Math.abs(best.iter - iter)) best = p;
  return best;
}

/** A plot whose height grows with its legend's rows, so that many cells never squeeze the plot. */
function plot(series: Series[], opts: PlotOptions): string {
  const rows = new Set(layoutPlot(series, { ...opts, height: 10_000 }).legend.map((e) => e.y)).size;
  return renderLinePlot(series, { ...opts, height: 382 + 18 * Math.max(1, rows) });
}

function dipLabel(id: string, d: Dip): string {
  const end = d.recovered ? `recovered${d.recoveredAt !== undefined ? ` at iter ${d.recoveredAt}` : ''}` : 'not recovered';
  return `${id}: dip from iter ${fmt(d.start)} to ${d.bottom}, ${pointsText(d.drop)} under its trend (bottom ${fromPeakText(d)}), ${end}`;
}

/**
 * The random-init floor of the kNN monitor plot, measured under the monitor's own protocol (its
 * bank and queries, runner/pretrain.ts), as reference lines: one per distinct value (to 0.1
 * point), naming its cells when they differ; more than three distinct values give one line at
 * their mean. Cells without that measurement give no line (the full-set floor is another protocol).
 */
function randomInitLines(cells: FigureCell[]): { y: number; label: string }[] {
  const groups = new Map<string, string[]>();
  for (const c of cells) {
    const v = c.result.final?.knnMonitorRandomInit;
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const key = (100 * v).toFixed(1);
    groups.set(key, [...(groups.get(key) ?? []), c.id]);
  }
  if (groups.size === 0) return [];
  if (groups.size === 1) return [{ y: Number([...groups.keys()][0]), label: `random init ${[...groups.keys()][0]}%` }];
  if (groups.size > 3) {
    const vals = [...groups.keys()].map(Number);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    return [{ y: mean, label: `random init, mean of ${vals.length} backbones ${mean.toFixed(1)}%` }];
  }
  const seeded = cells.some((c) => / · seed \d+$/.test(c.id));
  return [...groups].map(([v, ids]) => ({ y: Number(v), label: `random init ${v}% (${floorCells(ids, seeded)})` }));
}

/**
 * Which cells share a floor, short enough for a line's label: their seed when they are one seed's
 * arms (`ID · seed k` cells of a run at several seeds; the plain id is seed 0), their ids when
 * those fit, else how many.
 */
function floorCells(ids: string[], seeded: boolean): string {
  const seeds = new Set(ids.map((id) => Number(/ · seed (\d+)$/.exec(id)?.[1] ?? 0)));
  if (seeded && seeds.size === 1) return `seed ${[...seeds][0]}`;
  const listed = ids.join(', ');
  return listed.length <= 40 ? listed : `${ids.length} cells`;
}

const ROW_DASHES: (string | null)[] = [null, '6 4', '2 3', '8 3 2 3'];

/**
 * Line styles of a matrix suite's cells (every cell with a row and a column, at most 8 columns and
 * 4 rows): one colour per column, one dash pattern per row, so 12 lines never share a style;
 * undefined otherwise (the plot's own cycle).
 */
function matrixStyles(cells: FigureCell[]): { color: string; dash: string | null }[] | undefined {
  if (!cells.length || cells.some((c) => c.row === undefined || c.column === undefined)) return undefined;
  const rows = [...new Set(cells.map((c) => c.row!))];
  const cols = [...new Set(cells.map((c) => c.column!))];
  if (cols.length > PALETTE.length || rows.length > ROW_DASHES.length) return undefined;
  return cells.map((c) => ({ color: PALETTE[cols.indexOf(c.column!)], dash: ROW_DASHES[rows.indexOf(c.row!)] }));
}

const MATRIX_CAPTION = ' Colour: the column (framework); line style: the row (solid, dashed, dotted, dash-dot in row order).';

/** kNN monitor accuracy vs epoch, one line per cell, dips marked (Figs. 1-3, 5, 6). */
export function knnFigure(s: FigureSuite, cells: FigureCell[]): Figure {
  const markers: Marker[] = [];
  for (const c of cells) {
    const knn = curvePoints(c.result.curves.knn);
    for (const d of c.result.instability?.dips ?? []) {
      const p = nearest(knn, d.bottom);
      if (p) markers.push({ x: p.epoch, y: 100 * val(p.value), kind: 'accuracy dip', shape: 'down', label: dipLabel(c.id, d) });
    }
  }
  const styles = matrixStyles(cells);
  const series = cells.map((c, i) => ({
    label: legendLabel(c),
    points: curvePoints(c.result.curves.knn).map((p) => [p.epoch, 100 * val(p.value)] as [number, number]),
    ...(styles ? styles[i] : {}),
  }));
  const t = `${s.title}: kNN accuracy (${s.preset})`;
  const baselines = randomInitLines(cells);
  return {
    file: `${s.name}-knn.svg`,
    title: t,
    caption:
      'kNN monitor accuracy during pre-training, one line per cell. Legend: the linear probe and the final kNN accuracy of the frozen ' +
      "backbone, and the paper's (linear probe, full recipe; ~ derived from its text) in brackets." +
      (styles ? MATRIX_CAPTION : '') +
      (markers.length ? ' Triangles mark the accuracy dips the instability detector flagged (hover for iteration and depth).' : '') +
      (baselines.length
        ? " Dashed: the monitor's accuracy for the same backbone at its random init, on the monitor's own bank and queries (the floor " +
          'pre-training must beat).'
        : " The monitor's random-init floor was not measured for these runs (the tables give the full-set floors, another protocol)."),
    svg: plot(series, { title: t, xLabel: 'epoch', yLabel: 'kNN accuracy (%)', markers, hLines: baselines }),
  };
}

const ROBUST_TOP_CAPTION = (top: number) =>
  ` The y axis ends at ${top.toPrecision(3)} (1.2 x the 99th percentile of all points): the few higher points (the first ` +
  'iterations, or a spike) run off the top instead of squashing the other lines.';

/**
 * Training loss vs epoch, one line per cell; a diverged cell's line ends where the loss became
 * non-finite. A matrix suite with several columns whose losses one axis would flatten (frameworks,
 * or temperatures, of different loss scales) gets small multiples instead: one panel per cell, laid
 * out as the table, each with its own y range.
 */
export function lossFigure(s: FigureSuite, cells: FigureCell[]): Figure {
  const t = `${s.title}: training loss (${s.preset})`;
  const lossPoints = (c: FigureCell) => curvePoints(c.result.curves.loss).map((p) => [p.epoch, val(p.value)] as [number, number]);
  const styles = matrixStyles(cells);
  const columns = styles ? [...new Set(cells.map((c) => c.column!))] : [];
  const lines = cells.map(lossPoints);
  if (columns.length > 1 && squashed(lines)) {
    // small multiples: rows x columns as the table, one cell a panel with its own y range
    const rows = [...new Set(cells.map((c) => c.row!))];
    const grid = rows.flatMap((r) => columns.map((col) => cells.find((c) => c.row === r && c.column === col)));
    const cut: string[] = [];
    // one x range for all panels, the longest run's
    const xMax = Math.max(...lines.flatMap((l) => l.map((p) => p[0])).filter(Number.isFinite));
    const xRange = Number.isFinite(xMax) && xMax > 0 ? { xMin: 0, xMax } : {};
    const panels = grid.map((c) => {
      if (!c) return renderLinePlot([], { title: '(no cell)', xLabel: 'epoch', yLabel: 'loss', width: 210, height: 210, noLegend: true });
      const points = lines[cells.indexOf(c)];
      const top = robustTop(points.map((p) => p[1]));
      if (top !== undefined) cut.push(`${c.id} at ${top.toPrecision(3)}`);
      return renderLinePlot([{ label: c.id, points, color: PALETTE[columns.indexOf(c.column!)], dash: null }], {
        title: c.id,
        xLabel: 'epoch',
        yLabel: 'loss',
        width: 210,
        height: 210,
        noLegend: true,
        ...xRange,
        ...(top === undefined ? {} : { yMax: top }),
      });
    });
    return {
      file: `${s.name}-loss.svg`,
      title: t,
      caption:
        'Training loss per iteration, one panel per cell (rows and columns as the table), each with its own y range: the ' +
        "frameworks' losses, and one framework's at different temperatures, have different scales and are not compared across " +
        "panels. A diverged cell's line ends where its loss became non-finite." +
        (cut.length
          ? ` Y axes cut at 1.2 x the panel's 99th percentile, the few higher points (the first iterations, or a spike) running off ` +
            `the top: ${cut.join('; ')}.`
          : ''),
      svg: renderPanels(panels, { title: t, columns: columns.length }),
    };
  }
  const series = cells.map((c, i) => ({ label: c.id, points: lines[i], ...(styles ? styles[i] : {}) }));
  const top = robustTop(series.flatMap((x) => x.points.map((p) => p[1])));
  return {
    file: `${s.name}-loss.svg`,
    title: t,
    caption:
      "Training loss per iteration, one line per cell; a diverged cell's line ends where its loss became non-finite." +
      (styles ? MATRIX_CAPTION : '') +
      (top === undefined ? '' : ROBUST_TOP_CAPTION(top)),
    svg: plot(series, { title: t, xLabel: 'epoch', yLabel: 'loss', ...(top === undefined ? {} : { yMax: top }) }),
  };
}

/** The value at quantile q (0..1) of sorted values (the lower of the two around it). */
const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))];

/**
 * Whether one shared y axis would squash some line flat: a line whose own range (1st to 99th
 * percentile) is under a quarter of the shared axis' span (lowest point to the robust top).
 */
export function squashed(lines: readonly (readonly [number, number])[][]): boolean {
  const ys = lines
    .map((l) =>
      l
        .map((p) => p[1])
        .filter(Number.isFinite)
        .sort((a, b) => a - b),
    )
    .filter((v) => v.length >= 2);
  if (ys.length < 2) return false;
  const all = ys.flat().sort((a, b) => a - b);
  const span = (robustTop(all) ?? all[all.length - 1]) - all[0];
  if (!(span > 0)) return false;
  return ys.some((v) => quantile(v, 0.99) - quantile(v, 0.01) < 0.25 * span);
}

/**
 * The top of a y axis that outliers would otherwise set: 1.2 x the 99th percentile of the finite
 * values, when the largest is more than 1.5 x that (undefined: no outlier, the full range fits).
 */
export function robustTop(values: readonly number[]): number | undefined {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length < 20) return undefined;
  const p99 = quantile(v, 0.99);
  return p99 > 0 && v[v.length - 1] > 1.5 * p99 ? 1.2 * p99 : undefined;
}

/** Fig. 4: one figure per cell with gradient curves: gradient magnitude per layer vs iteration, spikes marked. */
export function gradFigures(s: FigureSuite, cells: FigureCell[]): Figure[] {
  const used = new Set<string>();
  const out: Figure[] = [];
  for (const c of cells) {
    const curves = gradCurves(c.result);
    if (!curves.length) continue;
    const spikesOf = new Map(c.result.instability ? spikeLayers(c.result.instability) : []);
    const markers: Marker[] = [];
    for (const [layer, curve] of curves) {
      for (const sp of spikesOf.get(layer) ?? []) {
        const p = nearest(curve, sp.iter);
        if (p)
          markers.push({
            x: p.iter,
            y: val(p.value),
            kind: 'gradient spike',
            shape: 'diamond',
            label: `${layer}: spike at iter ${sp.iter}, ratio ${fmt(sp.ratio)}`,
          });
      }
    }
    let file = `${s.name}-grad-${slug(c.id)}.svg`;
    for (let k = 2; used.has(file); k++) file = `${s.name}-grad-${slug(c.id)}-${k}.svg`;
    used.add(file);
    const t = `${s.title}: gradient magnitude, ${c.id} (${s.preset})`;
    out.push({
      file,
      title: t,
      caption:
        `Gradient magnitude per layer during pre-training of ${c.id} (as the paper's Fig. 4).` +
        (markers.length ? ' Diamonds mark the gradient spikes the instability detector flagged (hover for iteration and ratio).' : ''),
      svg: plot(
        curves.map(([layer, p]) => ({ label: layer, points: p.map((q) => [q.iter, val(q.value)] as [number, number]) })),
        {
          title: t,
          xLabel: 'iteration',
          yLabel: 'gradient magnitude',
          markers,
        },
      ),
    });
  }
  return out;
}

/** Every curve figure of a pre-training suite: kNN, loss, then the gradient figures. */
export function pretrainFigures(s: FigureSuite, cells: FigureCell[]): Figure[] {
  return [knnFigure(s, cells), lossFigure(s, cells), ...gradFigures(s, cells)];
}
