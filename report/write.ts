/** Writing result files: atomically (temp file + rename), so a crash never leaves a half file. */
import path from 'node:path';
import { type ResultTable, renderCsv, renderMarkdown } from './table.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';

/** Writes NAME.md, NAME.csv and NAME.json under `dir`; returns the paths. */
export function writeTable(dir: string, t: ResultTable, extra: Record<string, unknown> = {}): string[] {
  const base = path.join(dir, t.name);
  const files = [`${base}.md`, `${base}.csv`, `${base}.json`];
  writeFileAtomic(files[0], renderMarkdown(t));
  writeFileAtomic(files[1], renderCsv(t));
  writeFileAtomic(files[2], `${JSON.stringify({ ...extra, table: t }, null, 2)}\n`);
  return files;
}
