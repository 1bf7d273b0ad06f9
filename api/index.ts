/**
 * `sslbench`: the suites run from a program instead of the `bench` command. `runSuite` does what
 * `bench run SUITE` does for a pre-training or evaluation suite (finished cells reused from the run
 * store, tables, figures and page written to the results folder); the lower-level pieces are
 * exported beside it. A Node program loads sslbench's TypeScript through tsx (`node --import tsx`),
 * as the `bench` command does.
 */
import path from 'node:path';
import { activeBackend, initBackend, type BackendChoice, type BackendReport } from '../engine/backend.ts';
import { registryWithPlugins } from '../container/plugin-files.ts';
import { loadSuite, suiteKind } from '../kinds/index.ts';
import { suiteAtSeeds } from '../suites/seeds.ts';
import { selectedArms } from '../suites/cell-selection.ts';
import type { ResultTable } from '../report/table.ts';

export { initBackend, activeBackend, type BackendChoice, type BackendReport } from '../engine/backend.ts';
export { registryWithPlugins } from '../container/plugin-files.ts';
export { Registry, builtinRegistry } from '../container/container.ts';
export { loadSuite, listSuites, readSuiteFile, parseSuite, suiteKind, SUITE_KINDS, rerenderSuite } from '../kinds/index.ts';
export type { SuiteKind } from '../kinds/kind.ts';
export type { Suite, SuiteCell } from '../suites/schema.ts';
export { runPretrainSuite, type SuiteRunOptions } from '../runner/pretrain-suite.ts';
export { runEvalSuite } from '../runner/eval-suite.ts';
export { pretrain, readResult, type PretrainOptions } from '../runner/pretrain.ts';
export type { ResultTable } from '../report/table.ts';
export type { PretrainConfig } from '../core/config.ts';
export type { PretrainResult } from '../core/results.ts';

export interface RunSuiteOptions {
  /** Size preset (default: the suite's own, else tiny). */
  preset?: string;
  /** Where the tables go (default `results`) and the run store (default `runs`), as `bench run`'s flags. */
  resultsDir?: string;
  runsDir?: string;
  /** Plugin files (a framework, backbone, ... descriptor each), as `--plugin`. */
  plugins?: string[];
  /** Compute backend (default auto); started unless one already runs. */
  backend?: BackendChoice;
  threads?: number;
  /** Overrides of every cell's config, as `--set` gives them (e.g. `{ seed: 1 }`). */
  overrides?: Record<string, unknown>;
  /** Evaluators run on every cell's weights besides the suite's own (pre-training suites), as `--evaluate`. */
  evaluators?: { name: string; config?: Record<string, unknown> }[];
  log?: (line: string) => void;
  quiet?: boolean;
  /** Pre-training suites: every cell at this many consecutive seeds, as `--seeds` (default: the suite's `seeds`, else 1). */
  seeds?: number;
  /** Pre-training suites: train only these cells (ids), as `--cells`; the others are read where finished, else listed as not run. */
  cells?: string[];
}

/** Runs a pre-training or evaluation suite (by name or suite file) and writes its outputs; returns its table and files. */
export async function runSuite(
  nameOrPath: string,
  o: RunSuiteOptions = {},
): Promise<{ table: ResultTable; files: string[]; backend: BackendReport }> {
  const loaded = loadSuite(nameOrPath);
  const kind = suiteKind(loaded);
  if (o.seeds !== undefined && !kind.runFlags.includes('seeds'))
    throw new Error(`runSuite: seeds: suite ${loaded.name} (kind ${kind.name}) has no seeds to repeat`);
  const suite = suiteAtSeeds(loaded, o.seeds, o.overrides, kind.runFlags.includes('seeds'));
  if (o.cells !== undefined && !kind.runFlags.includes('cells'))
    throw new Error(`runSuite: cells: suite ${loaded.name} (kind ${kind.name}) trains no cells to choose from`);
  const only = selectedArms(suite, o.cells, 'runSuite: cells');
  const backend = activeBackend() ?? (await initBackend(o.backend ?? 'auto', o.threads === undefined ? {} : { threads: o.threads }));
  const registry = await registryWithPlugins(o.plugins ?? []);
  const preset = o.preset ?? suite.preset ?? 'tiny';
  const opts = {
    preset,
    resultsDir: path.resolve(o.resultsDir ?? 'results'),
    runsDir: path.resolve(o.runsDir ?? 'runs'),
    registry,
    ...(o.overrides ? { overrides: o.overrides } : {}),
    ...(o.evaluators ? { evaluators: o.evaluators } : {}),
    ...(o.log ? { log: o.log } : {}),
    ...(only ? { only } : {}),
    quiet: o.quiet ?? true,
  };
  if (o.evaluators?.length && !kind.runFlags.includes('evaluate'))
    throw new Error(`runSuite: evaluators: suite ${suite.name} (kind ${kind.name}) runs no further evaluators`);
  const out = await kind.run(suite, opts);
  return { ...out, backend };
}
