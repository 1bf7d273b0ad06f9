/**
 * A result table and its three renderings: terminal (cli-table3), Markdown and CSV
 * (csv-stringify). Paper values sit in their own columns beside the measured ones.
 */
import Table3 from 'cli-table3';
import { stringify } from 'csv-stringify/sync';

export interface Column {
  key: string;
  header: string;
  /** Right-align (numbers). */
  numeric?: boolean;
  /** The CSV header when it is not `key` (CSV headers are stable snake_case names, not display text). */
  csv?: string;
  /** A verdict column (reproduced / contradicted / within noise / not run): the HTML page colours its cells. */
  verdict?: boolean;
  /** Numbers shown with this many decimals (the paper's accuracies: 69.0 beside 70.4); JSON keeps the number. */
  decimals?: number;
}

export type Cell = string | number | null | undefined;

export interface ResultTable {
  name: string;
  title: string;
  columns: Column[];
  rows: Record<string, Cell>[];
  /** Lines printed under the table. */
  notes: string[];
}

function text(v: Cell): string {
  return v === null || v === undefined ? '' : String(v);
}

/** A cell as its column shows it: numbers with the column's `decimals` when it sets them. */
export function shown(v: Cell, c: Pick<Column, 'decimals'>): string {
  return typeof v === 'number' && c.decimals !== undefined && Number.isFinite(v) ? v.toFixed(c.decimals) : text(v);
}

export function renderTerminal(t: ResultTable): string {
  const table = new Table3({
    head: t.columns.map((c) => c.header),
    colAligns: t.columns.map((c) => (c.numeric ? 'right' : 'left')),
    style: { head: [], border: [] },
  });
  for (const r of t.rows) table.push(t.columns.map((c) => shown(r[c.key], c)));
  return [t.title, table.toString(), ...t.notes.map((n) => `  ${n}`)].join('\n');
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function renderMarkdown(t: ResultTable): string {
  const head = `| ${t.columns.map((c) => mdEscape(c.header)).join(' | ')} |`;
  const rule = `|${t.columns.map((c) => (c.numeric ? '---:' : ':---')).join('|')}|`;
  const body = t.rows.map((r) => `| ${t.columns.map((c) => mdEscape(shown(r[c.key], c))).join(' | ')} |`);
  const notes = t.notes.length ? ['', ...t.notes.map((n) => `- ${n}`)] : [];
  return [`# ${t.title}`, '', head, rule, ...body, ...notes, ''].join('\n');
}

/**
 * A display value split into the number and its marks: `~50.6` (derived), `50.6*`, `21,665,664`,
 * `4.1 (torchvision)`; a cell without a number ("not run") is empty with the text as its mark.
 */
const NUMERIC = /^(~)?(-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d*\.?\d+(?:e[-+]?\d+)?)(\*+|†)?(?:\s*\((.*)\))?$/i;

export function splitNumber(v: Cell): { value: string; mark: string } {
  if (typeof v === 'number') return { value: Number.isFinite(v) ? String(v) : '', mark: '' };
  const s = text(v).trim();
  const m = NUMERIC.exec(s);
  // no number: an empty cell, and the text (e.g. "not run", "diverged") as its mark
  if (!m) return { value: '', mark: s === '—' || s === '-' || s.toLowerCase() === 'n/a' ? '' : s };
  const marks = [m[1] ? 'derived' : '', m[3] ?? '', m[4] ?? ''].filter(Boolean);
  return { value: String(Number(m[2].replace(/,/g, ''))), mark: marks.join('; ') };
}

/**
 * CSV for machines: snake_case headers (the column keys), numeric columns as plain numbers, and
 * whatever a displayed number carried (`~` derived, `*`, a parenthesised note) in a `<key>_mark`
 * column beside it, present when some row has one.
 */
export function renderCsv(t: ResultTable): string {
  const header: string[] = [];
  const getters: ((r: Record<string, Cell>) => string)[] = [];
  for (const c of t.columns) {
    const name = c.csv ?? c.key;
    if (!c.numeric) {
      header.push(name);
      getters.push((r) => text(r[c.key]));
      continue;
    }
    header.push(name);
    getters.push((r) => splitNumber(r[c.key]).value);
    if (t.rows.some((r) => splitNumber(r[c.key]).mark)) {
      header.push(`${name}_mark`);
      getters.push((r) => splitNumber(r[c.key]).mark);
    }
  }
  return stringify([header, ...t.rows.map((r) => getters.map((g) => g(r)))]);
}
