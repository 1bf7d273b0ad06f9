/**
 * A labelled scatter plot as standalone SVG (the paper's Fig. 7: each framework's accuracy on one
 * backbone against another, with the y = x diagonal). Groups (e.g. "measured", "paper") get a
 * colour and a legend entry; every point carries its label. Axes and legend come from the line
 * plot's layout (report/svg-plot.ts), so both kinds of figure look alike. Deterministic output.
 */
import { placeLabels } from './label-placement.ts';
import { PALETTE, escapeXml, layoutPlot, renderTitle, renderFrame, scaleX, scaleY, type PlotOptions } from './svg-plot.ts';

export interface ScatterPoint {
  label: string;
  group: string;
  x: number;
  y: number;
}

const num = (v: number) => (Math.round(v * 100) / 100).toString();

export function renderScatterPlot(points: ScatterPoint[], opts: PlotOptions & { diagonal?: boolean }): string {
  const groups = [...new Set(points.map((p) => p.group))];
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  // one shared range on both axes, so that the diagonal is at 45 degrees
  const vals = finite.flatMap((p) => [p.x, p.y]);
  const lo = vals.length ? Math.min(...vals) : 0;
  const hi = vals.length ? Math.max(...vals) : 1;
  const pad = Math.max(1, (hi - lo) * 0.1);
  const range = { xMin: opts.xMin ?? lo - pad, xMax: opts.xMax ?? hi + pad, yMin: opts.yMin ?? lo - pad, yMax: opts.yMax ?? hi + pad };
  const series = groups.map((g) => ({ label: g, points: finite.filter((p) => p.group === g).map((p) => [p.x, p.y] as [number, number]) }));
  const l = layoutPlot(series, { ...opts, ...range });
  const o: string[] = [];
  o.push('<?xml version="1.0" encoding="UTF-8"?>');
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(l.width)}" height="${num(l.height)}" viewBox="0 0 ${num(l.width)} ` +
      `${num(l.height)}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  o.push(`<title>${escapeXml(opts.title)}</title>`);
  o.push(`<rect x="0" y="0" width="${num(l.width)}" height="${num(l.height)}" fill="#ffffff"/>`);
  if (opts.title) o.push(renderTitle(opts.title, l.width));
  o.push(...renderFrame(l, opts));
  if (opts.diagonal) {
    const a = Math.max(l.x.min, l.y.min),
      b = Math.min(l.x.max, l.y.max);
    if (b > a)
      o.push(
        `<line class="diagonal" x1="${num(scaleX(l, a))}" y1="${num(scaleY(l, a))}" x2="${num(scaleX(l, b))}" ` +
          `y2="${num(scaleY(l, b))}" stroke="#777777" stroke-dasharray="4 4"/>`,
      );
  }
  const px = finite.map((p) => ({ x: scaleX(l, p.x), y: scaleY(l, p.y), text: p.label }));
  const bounds = { left: l.plot.left, top: l.plot.top, right: l.plot.right, bottom: l.plot.bottom };
  const labels = placeLabels(px, bounds, { fontSize: 11, charW: 6.6, pointR: 4 });
  o.push('<g class="points">');
  finite.forEach((p, i) => {
    const color = PALETTE[groups.indexOf(p.group) % PALETTE.length];
    o.push(
      `<circle cx="${num(px[i].x)}" cy="${num(px[i].y)}" r="4" fill="${color}" data-group="${escapeXml(p.group)}" ` +
        `data-label="${escapeXml(p.label)}"/>`,
    );
  });
  o.push('</g>');
  o.push('<g class="point-labels" font-size="11">');
  finite.forEach((p, i) => {
    const color = PALETTE[groups.indexOf(p.group) % PALETTE.length];
    const lb = labels[i];
    if (lb.leader) {
      // a thin line from the point to the nearest edge of its label's box
      const bx = Math.min(Math.max(px[i].x, lb.box.left), lb.box.right);
      const by = Math.min(Math.max(px[i].y, lb.box.top), lb.box.bottom);
      o.push(`<line x1="${num(px[i].x)}" y1="${num(px[i].y)}" x2="${num(bx)}" y2="${num(by)}" stroke="${color}" stroke-width="0.75"/>`);
    }
    const anchor = lb.anchor === 'start' ? '' : ` text-anchor="${lb.anchor}"`;
    o.push(`<text x="${num(lb.x)}" y="${num(lb.y)}"${anchor} fill="${color}">${escapeXml(p.label)}</text>`);
  });
  o.push('</g>');
  o.push('<g class="legend">');
  for (const e of l.legend) {
    o.push(`<circle cx="${num(e.x + 11)}" cy="${num(e.y)}" r="4" fill="${e.color}"/>`);
    o.push(`<text x="${num(e.x + 28)}" y="${num(e.y)}" dy="0.35em" fill="#333333">${escapeXml(e.label)}</text>`);
  }
  o.push('</g>');
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}
