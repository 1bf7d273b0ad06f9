/** A table's result files (NAME.md, NAME.csv, NAME.json), rendered for writing as part of a set (core/file-set.ts). */
import path from 'node:path';
import { type ResultTable, renderCsv, renderMarkdown } from './table.ts';
import type { FileToWrite } from '../core/file-set.ts';

export function tableFiles(dir: string, t: ResultTable, extra: Record<string, unknown> = {}): FileToWrite[] {
  const base = path.join(dir, t.name);
  return [
    { file: `${base}.md`, data: renderMarkdown(t) },
    { file: `${base}.csv`, data: renderCsv(t) },
    { file: `${base}.json`, data: `${JSON.stringify({ ...extra, table: t }, null, 2)}\n` },
  ];
}
