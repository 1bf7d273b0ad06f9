/**
 * A suite's results as one standalone HTML page (results/<suite>-<preset>.html): title, tables
 * with their notes, the figures with their SVG markup inline (the page opens from disk with no
 * other file), and each cell's flagged instability events (divergence, accuracy dips, gradient
 * spikes, whether the first layer leads). Every piece of text is escaped; the output depends on
 * its input only (no clock), so the same results give the same bytes.
 */
import { type Cell, type Column, type ResultTable, shown } from './table.ts';
import { escapeXml as esc } from './svg-plot.ts';
import type { InstabilitySummary, SpikeOrdering } from '../core/instability.ts';
import { type CellEvents, type Figure, fmt, pointsText, spikeLayers } from './figures.ts';
import { fromPeakText } from './instability-notes.ts';

export interface PageTable {
  /** Heading above the table; the first table of a page goes under the page's title without one. */
  heading?: string;
  table: ResultTable;
}

export interface SuitePage {
  title: string;
  /** Short lines under the title (suite, preset, paper reference). */
  meta: string[];
  tables: PageTable[];
  figures: Figure[];
  /** Pre-training suites: how many cells were checked, and the events of those that flagged any. */
  events?: { cells: number; flagged: CellEvents[] };
}

const STYLE = [
  'body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222222; }',
  'table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }',
  'th, td { border: 1px solid #cccccc; padding: 4px 8px; text-align: left; vertical-align: top; }',
  'th { background: #f2f2f2; }',
  'td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }',
  'ul.notes { color: #444444; font-size: 14px; }',
  // verdicts: colour and a word (the word alone carries the meaning for colour-blind readers and print)
  'td.verdict { font-weight: 600; }',
  'td.v-reproduced { background: #e3f1e0; color: #1d5e20; }',
  'td.v-contradicted { background: #f8e0e0; color: #8a1f1f; }',
  'td.v-within-noise { background: #fbf3d5; color: #6b5300; }',
  'td.v-not-run { background: #eeeeee; color: #555555; }',
  'td.v-not-testable { background: #e8eef5; color: #3a4a5c; }',
  'figure { margin: 1.5em 0; }',
  'figure svg { max-width: 100%; height: auto; }',
  'figcaption { color: #444444; font-size: 14px; max-width: 640px; }',
  'p.meta { color: #555555; }',
  'section.events { border-left: 3px solid #D55E00; padding-left: 1em; margin: 1em 0; }',
].join('\n');

const text = (v: Cell, c: Column) => esc(shown(v, c));

/** A table and its notes, less those an earlier table of the page already gave (`shown`, updated). */
function renderTable(t: ResultTable, shown: Set<string> = new Set()): string[] {
  const cls = (numeric?: boolean) => (numeric ? ' class="num"' : '');
  const o = [
    '<table>',
    '<thead>',
    `<tr>${t.columns.map((c) => `<th${cls(c.numeric)}>${esc(c.header)}</th>`).join('')}</tr>`,
    '</thead>',
    '<tbody>',
  ];
  const verdictClass = (v: Cell) => ` class="verdict v-${String(v ?? '').replace(/[^a-z]+/gi, '-')}"`;
  for (const r of t.rows) {
    o.push(
      `<tr>${t.columns.map((c) => `<td${c.verdict ? verdictClass(r[c.key]) : cls(c.numeric)}>${text(r[c.key], c)}</td>`).join('')}</tr>`,
    );
  }
  o.push('</tbody>', '</table>');
  const notes = t.notes.filter((n) => !shown.has(n));
  for (const n of notes) shown.add(n);
  if (notes.length) o.push('<ul class="notes">', ...notes.map((n) => `<li>${esc(n)}</li>`), '</ul>');
  return o;
}

/** An SVG document's markup without its XML declaration, to embed in HTML. */
export function inlineSvg(svg: string): string {
  return svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '').trimEnd();
}

function renderFigure(f: Figure): string[] {
  return [
    `<figure id="${esc(f.file)}">`,
    inlineSvg(f.svg),
    `<figcaption>${esc(f.caption)} ` + `(${esc(f.file)})</figcaption>`,
    '</figure>',
  ];
}

/** Any stored value as a short phrase: yes / no, numbers with 4 significant digits, objects as "key: value; ...". */
export function describeValue(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return fmt(v);
  if (v === null || v === undefined) return 'n/a';
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  if (typeof v === 'object')
    return Object.entries(v)
      .map(([k, x]) => `${k}: ${describeValue(x)}`)
      .join('; ');
  return String(v);
}

function renderInstability(s: InstabilitySummary): string[] {
  const o: string[] = [];
  o.push(`<p>Unstable: ${s.unstable ? 'yes' : 'no'}</p>`);
  if (s.dips.length) {
    o.push(
      '<table class="dips">',
      '<thead>',
      '<tr><th>accuracy dip</th><th class="num">start iter</th><th class="num">bottom iter</th><th ' +
        'class="num">under its trend</th><th>bottom vs the top before</th><th>recovered</th><th class="num">recovery iter</th></tr>',
      '</thead>',
      '<tbody>',
    );
    s.dips.forEach((d, i) => {
      const cells = [fmt(d.start), String(d.bottom), pointsText(d.drop)].map((x) => `<td class="num">${esc(x)}</td>`).join('');
      o.push(
        `<tr><td>${i + 1}</td>${cells}<td>${esc(fromPeakText(d))}</td><td>${d.recovered ? 'yes' : 'no'}</td><td ` +
          `class="num">${d.recoveredAt === undefined ? '' : esc(String(d.recoveredAt))}</td></tr>`,
      );
    });
    o.push('</tbody>', '</table>');
  } else o.push('<p>No accuracy dips.</p>');
  const spikes = spikeLayers(s);
  if (spikes.length) {
    o.push('<p>Gradient spikes:</p>', '<ul class="spikes">');
    for (const [layer, list] of spikes)
      o.push(`<li>${esc(layer)}: ${esc(list.map((x) => `iter ${x.iter} (ratio ${fmt(x.ratio)})`).join(', '))}</li>`);
    o.push('</ul>');
  } else o.push('<p>No gradient spikes.</p>');
  o.push(...renderLeads(s.firstLayerLeads));
  o.push(`<p class="meta">Detector settings: ${esc(describeValue(s.thresholds))}</p>`);
  return o;
}

/** Whether first-layer gradient spikes come before last-layer ones (the summary's SpikeOrdering). */
function renderLeads(o: SpikeOrdering): string[] {
  if (!o.pairs.length && !o.unmatched) return []; // no first-layer spike: nothing to order
  const o2 = [
    `<p>First layer leads: in ${o.leadsCount} of ${o.pairs.length} spike pairs the first layer spiked first (last layer first: ` +
      `${esc(describeValue(o.lagsCount))}; same iteration: ${esc(describeValue(o.sameCount))}; first-layer spikes with no ` +
      `last-layer spike ` +
      `near: ${esc(describeValue(o.unmatched))}).</p>`,
  ];
  if (o.pairs.length) {
    o2.push('<ul class="pairs">');
    for (const p of o.pairs)
      o2.push(
        `<li>${esc(
          `${describeValue(p.firstLayer)} at iter ${describeValue(p.firstIter)}, ${describeValue(p.lastLayer)} at iter ` +
            `${describeValue(p.lastIter)} (lag ${describeValue(p.lag)})`,
        )}</li>`,
      );
    o2.push('</ul>');
  }
  return o2;
}

function renderEvents(ev: SuitePage['events']): string[] {
  if (!ev) return [];
  const o = [
    '<h2>Instability events</h2>',
    `<p>${ev.flagged.length} of ${ev.cells} cells flagged an event (divergence, accuracy dip or gradient spike).</p>`,
  ];
  for (const e of ev.flagged) {
    o.push('<section class="events">', `<h3>${esc(e.id)}</h3>`);
    if (e.divergedAt !== undefined)
      o.push(`<p>Diverged at iteration ${e.divergedAt}: ${esc(e.divergedReason ?? 'the loss became non-finite')}.</p>`);
    if (e.instability) o.push(...renderInstability(e.instability));
    o.push('</section>');
  }
  return o;
}

export function renderSuitePage(p: SuitePage): string {
  const o = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8"/>',
    '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
    `<title>${esc(p.title)}</title>`,
    `<style>\n${STYLE}\n</style>`,
    '</head>',
    '<body>',
    `<h1>${esc(p.title)}</h1>`,
  ];
  if (p.meta.length) o.push(`<p class="meta">${p.meta.map(esc).join('<br/>')}</p>`);
  // a matrix suite's tables share notes: each note once, under the first table that has it
  const shown = new Set<string>();
  p.tables.forEach((t, i) => {
    if (i > 0 || t.heading) o.push(`<h2>${esc(t.heading ?? t.table.title)}</h2>`);
    o.push(...renderTable(t.table, shown));
  });
  if (p.figures.length) o.push('<h2>Figures</h2>', ...p.figures.flatMap(renderFigure));
  o.push(...renderEvents(p.events), '</body>', '</html>');
  return `${o.join('\n')}\n`;
}
