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

export function renderTerminal(t: ResultTable): string {
  const table = new Table3({
    head: t.columns.map((c) => c.header),
    colAligns: t.columns.map((c) => (c.numeric ? 'right' : 'left')),
    style: { head: [], border: [] },
  });
  for (const r of t.rows) table.push(t.columns.map((c) => text(r[c.key])));
  return [t.title, table.toString(), ...t.notes.map((n) => `  ${n}`)].join('\n');
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function renderMarkdown(t: ResultTable): string {
  const head = `| ${t.columns.map((c) => mdEscape(c.header)).join(' | ')} |`;
  const rule = `|${t.columns.map((c) => (c.numeric ? '---:' : ':---')).join('|')}|`;
  const body = t.rows.map((r) => `| ${t.columns.map((c) => mdEscape(text(r[c.key]))).join(' | ')} |`);
  const notes = t.notes.length ? ['', ...t.notes.map((n) => `- ${n}`)] : [];
  return [`# ${t.title}`, '', head, rule, ...body, ...notes, ''].join('\n');
}

export function renderCsv(t: ResultTable): string {
  return stringify([t.columns.map((c) => c.header), ...t.rows.map((r) => t.columns.map((c) => text(r[c.key])))]);
}
