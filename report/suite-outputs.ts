/**
 * Everything a suite writes under the results folder, in one place, so that `bench run` and
 * `bench report` (which re-renders from the stored JSON) write the same files byte for byte:
 * NAME.{md,csv,json} of the main table, NAME-cells.{md,csv,json} of a matrix suite's per-cell
 * table, the figures (SVG), and NAME.html, the standalone page with all of it inline.
 */
import path from 'node:path';
import type { ResultTable } from './table.ts';
import { recoverFileSets, writeFileSet } from '../core/file-set.ts';
import { tableFiles } from './write.ts';
import type { CellEvents, Figure } from './figures.ts';
import { renderSuitePage } from './html.ts';

export interface SuiteOutputs {
  /** The main table; its name is the files' base name. */
  table: ResultTable;
  /** Fields stored beside the table in NAME.json. */
  json: Record<string, unknown>;
  /** A second table, written with its own JSON fields (a matrix suite's per-cell details). */
  details?: { heading: string; table: ResultTable; json: Record<string, unknown> };
  figures?: Figure[];
  /** Pre-training suites: cells checked for instability, and the events of those that flagged any. */
  events?: { cells: number; flagged: CellEvents[] };
  /** Lines under the page's title. */
  meta?: string[];
}

/** The suite's HTML page. */
export function suitePage(o: SuiteOutputs): string {
  return renderSuitePage({
    title: o.table.title,
    meta: o.meta ?? [],
    tables: [{ table: o.table }, ...(o.details ? [{ heading: o.details.heading, table: o.details.table }] : [])],
    figures: o.figures ?? [],
    events: o.events,
  });
}

/**
 * Writes the tables, figures and page under `dir` as one set: all new files or, when any write fails
 * (disk full, read-only), the previous set untouched and an error naming the file. Returns the paths.
 */
export function writeSuiteOutputs(dir: string, o: SuiteOutputs): string[] {
  const files = tableFiles(dir, o.table, o.json);
  if (o.details) files.push(...tableFiles(dir, o.details.table, o.details.json));
  for (const f of o.figures ?? []) files.push({ file: path.join(dir, f.file), data: f.svg });
  files.push({ file: path.join(dir, `${o.table.name}.html`), data: suitePage(o) });
  recoverFileSets(dir);
  writeFileSet(files);
  return files.map((f) => f.file);
}
