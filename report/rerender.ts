/**
 * `bench report`'s pieces: reading a suite's stored results (results/<suite>-<preset>.json; a
 * matrix suite's cells from <suite>-<preset>-cells.json; a counting suite: results/<suite>.json)
 * and re-rendering its tables, figures and HTML page from them without running anything. Each
 * renderer calls the writer the runner calls (report/*-tables.ts), with the same table builder,
 * so the same store gives the same files byte for byte, and the suite's current definition
 * (titles, notes, paper numbers) as `bench run` would. A suite's kind (kinds/) picks its renderer.
 */
import { storedSeeds, withSeeds } from '../suites/seeds.ts';
import fs from 'node:fs';
import { writeFileAtomic } from '../core/atomic-write.ts';
import path from 'node:path';
import type { Suite } from '../suites/schema.ts';
import { resultBaseName } from '../suites/schema.ts';
import type { Registry } from '../container/container.ts';
import type { ResultTable } from './table.ts';
import type { EvalCellResult, StoredBaseline, StoredPretrainCell } from './suite-results.ts';
import { type CountTableBuilder, writeCountOutputs } from './count-tables.ts';
import { writePretrainOutputs } from './pretrain-tables.ts';
import { type EvalTableBuilder, writeEvalOutputs } from './eval-tables.ts';

export interface RenderOptions {
  resultsDir: string;
  registry: Registry;
}

type Written = { table: ResultTable; files: string[] };

/** The suite's stored results file (the one `bench run` writes). */
export function storedResultsFile(suite: Suite, preset: string | undefined, dir: string): string {
  return path.join(dir, `${resultBaseName(suite.name, preset)}.json`);
}

function readStore(file: string, suite: Suite, preset: string | undefined): Record<string, unknown> {
  const rerun = `bench run ${suite.name}${preset === undefined ? '' : ` --preset ${preset}`}`;
  if (!fs.existsSync(file)) {
    throw new Error(
      `no stored results for suite ${suite.name}${preset === undefined ? '' : ` at preset ${preset}`}: ${file} does not exist; run ` +
        `\`${rerun}\` first`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read stored results: ${(err as Error).message}; run \`${rerun}\` again`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new Error(`${file}: stored results are not a JSON object; run \`${rerun}\` again`);
  return data as Record<string, unknown>;
}

/**
 * The stored per-cell entries, one per suite cell, in the suite's order; a partial run's cells not
 * run yet (`notRun`, `bench run --cells`) are left out.
 */
function cellsInSuiteOrder<T extends { id: string }>(
  suite: Suite,
  stored: unknown,
  file: string,
  preset: string,
  notRun: readonly { id: string }[] = [],
): T[] {
  if (!Array.isArray(stored))
    throw new Error(`${file}: no 'cells' array of per-cell results; run \`bench run ${suite.name} --preset ${preset}\` again`);
  const byId = new Map((stored as T[]).map((c) => [c?.id, c]));
  return suite.cells.flatMap((c) => {
    if (!byId.has(c.id) && notRun.some((n) => n.id === c.id)) return [];
    const r = byId.get(c.id);
    if (!r)
      throw new Error(
        `${file}: no stored result for cell '${c.id}' (the suite changed since it was run); run \`bench run ${suite.name} --preset ` +
          `${preset}\` first`,
      );
    return r;
  });
}

/** A pre-training suite's stored cells and the file holding them (a matrix suite's NAME-PRESET-cells.json). */
export function storedPretrainCells(suite: Suite, preset: string, resultsDir: string): { file: string; cells: StoredPretrainCell[] } {
  const main = storedResultsFile(suite, preset, resultsDir);
  const store = readStore(main, suite, preset);
  const file = store.cells === undefined ? storedResultsFile(suite, `${preset}-cells`, resultsDir) : main;
  const cells = file === main ? store.cells : readStore(file, suite, preset).cells;
  return { file, cells: cellsInSuiteOrder<StoredPretrainCell>(suite, cells, file, preset) };
}

/** Puts a suite's floors (runner/baselines.ts) into the file holding its cells, for the re-render to show. */
export function storeBaselines(file: string, baselines: StoredBaseline[]): void {
  const store = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileAtomic(file, `${JSON.stringify({ ...store, baselines }, null, 2)}\n`);
}

/** A counting suite's page again (its numbers are recomputed: they are the architectures'), once it has been run. */
export function renderCountStore(suite: Suite, o: RenderOptions, tableOf: CountTableBuilder): Written {
  readStore(storedResultsFile(suite, undefined, o.resultsDir), suite, undefined);
  return writeCountOutputs(suite, o.registry, o.resultsDir, tableOf);
}

/** A pre-training suite's outputs from its stored cells and floors. */
export function renderPretrainStore(suite: Suite, preset: string, o: RenderOptions): Written {
  const file = storedResultsFile(suite, preset, o.resultsDir);
  const store = readStore(file, suite, preset);
  // a matrix suite keeps its cells beside the per-cell table
  const cellsFile = store.cells === undefined ? storedResultsFile(suite, `${preset}-cells`, o.resultsDir) : file;
  const cellsStore = cellsFile === file ? store : readStore(cellsFile, suite, preset);
  // a suite run at several seeds (`--seeds`) is re-rendered with all of them
  const notRun = Array.isArray(cellsStore.notRun) ? (cellsStore.notRun as { id: string; arm?: string }[]) : [];
  const seeded = withSeeds(suite, storedSeeds([...((cellsStore.cells ?? []) as { id: string; arm?: string }[]), ...notRun]));
  return writePretrainOutputs(
    seeded,
    preset,
    o.resultsDir,
    cellsInSuiteOrder<StoredPretrainCell>(seeded, cellsStore.cells, cellsFile, preset, notRun),
    [],
    cellsStore.baselines as StoredBaseline[] | undefined,
    notRun,
  );
}

/** An evaluation suite's outputs from its stored cells, laid out by `tableOf`. */
export function renderEvalStore(suite: Suite, preset: string, o: RenderOptions, tableOf: EvalTableBuilder): Written {
  const file = storedResultsFile(suite, preset, o.resultsDir);
  const store = readStore(file, suite, preset);
  return writeEvalOutputs(suite, preset, o.resultsDir, cellsInSuiteOrder<EvalCellResult>(suite, store.cells, file, preset), tableOf);
}
