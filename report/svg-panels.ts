/**
 * Small multiples: several complete SVG plots (each with its own axes, y range and legend) laid out
 * in a grid under one title, as one standalone SVG. Each panel is nested as an <svg> element at its
 * place, so a panel renders exactly as it would alone. Deterministic output.
 */
import { escapeXml, renderTitle, titleLines } from './svg-plot.ts';

const TITLE_LINE = 20;
const num = (v: number) => (Math.round(v * 100) / 100).toString();

/** The width and height attributes of an SVG document's root element. */
function sizeOf(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(/\swidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\sheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(width > 0) || !(height > 0)) throw new Error('renderPanels: a panel has no width / height on its root <svg>');
  return { width, height };
}

/**
 * `panels` (standalone SVG documents) in rows of `columns`, left to right, under `title`; a row is
 * as tall as its tallest panel. Panels keep their own size.
 */
export function renderPanels(panels: string[], opts: { title: string; columns: number; gap?: number }): string {
  if (!panels.length) throw new Error('renderPanels: no panels');
  const columns = Math.max(1, Math.min(Math.floor(opts.columns), panels.length));
  const gap = opts.gap ?? 8;
  const sizes = panels.map(sizeOf);
  const colW = Array.from({ length: columns }, (_, c) => Math.max(...sizes.filter((_, i) => i % columns === c).map((s) => s.width)));
  const rowCount = Math.ceil(panels.length / columns);
  const rowH = Array.from({ length: rowCount }, (_, r) => Math.max(...sizes.slice(r * columns, (r + 1) * columns).map((s) => s.height)));
  const width = colW.reduce((a, b) => a + b, 0) + gap * (columns - 1);
  const top = 14 + TITLE_LINE * titleLines(opts.title, width).length;
  const height = top + rowH.reduce((a, b) => a + b, 0) + gap * (rowCount - 1);
  const o: string[] = [];
  o.push('<?xml version="1.0" encoding="UTF-8"?>');
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" ` +
      'font-family="Helvetica, Arial, sans-serif" font-size="12">',
  );
  o.push(`<title>${escapeXml(opts.title)}</title>`);
  o.push(`<rect x="0" y="0" width="${num(width)}" height="${num(height)}" fill="#ffffff"/>`);
  o.push(renderTitle(opts.title, width));
  panels.forEach((svg, i) => {
    const c = i % columns,
      r = Math.floor(i / columns);
    const x = colW.slice(0, c).reduce((a, b) => a + b, 0) + gap * c;
    const y = top + rowH.slice(0, r).reduce((a, b) => a + b, 0) + gap * r;
    const body = svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '').trimEnd();
    o.push(`<g class="panel">`);
    o.push(body.replace(/^<svg\b/, `<svg x="${num(x)}" y="${num(y)}"`));
    o.push('</g>');
  });
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}
