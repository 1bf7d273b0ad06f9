/**
 * A suite kind's descriptor: everything that differs between kinds of suite lives in one object per
 * kind (kinds/*.ts), and nothing outside kinds/ asks which kind a suite is. A kind says how its
 * suites are checked (`validate`), which `bench run` flags it takes, how its cells are planned
 * (`--dry-run`), run, re-rendered from their stored results, and (where its cells pre-train) sent
 * to a queue of workers.
 */
import type { Suite } from '../suites/schema.ts';
import type { ResultTable } from '../report/table.ts';
import type { RenderOptions } from '../report/rerender.ts';
import type { SuiteRunOptions } from '../runner/pretrain-suite.ts';
import type { PlannedCell } from '../runner/suite-plan.ts';
import type { QueueRunOptions } from '../queue/suite.ts';

export interface Written {
  table: ResultTable;
  files: string[];
}

export interface SuiteKind {
  /** The suite file's `kind`. */
  readonly name: string;
  /** One line: what a suite of this kind does. */
  readonly title: string;
  /** Counting kinds have no preset, read no data and train nothing. */
  readonly counts: boolean;
  /**
   * The `bench run` options a suite of this kind takes besides --results, --plugin and --quiet
   * (commander's keys: `maxIters` for --max-iters); another one given is an error naming it.
   */
  readonly runFlags: readonly string[];
  /** Why the flags it does not take do not apply (said in that error). */
  readonly refusesFlags: string;
  /** It stores pre-trained cells with their curves and floors (`bench curve`, `bench report --baselines`). */
  readonly storesPretrainCells: boolean;
  /** What a suite of this kind must satisfy besides the fields every suite has, as `field: problem` lines. */
  validate(suite: Suite): string[];
  /** The cells, their configs, hashes and run folders (`--dry-run`, `--print-config`); absent where nothing trains. */
  plan?(suite: Suite, o: Pick<SuiteRunOptions, 'preset' | 'runsDir' | 'overrides' | 'registry'>): PlannedCell[];
  run(suite: Suite, o: SuiteRunOptions): Promise<Written>;
  /** The suite's outputs again from its stored results (`bench report`); `preset` undefined for counting kinds. */
  render(suite: Suite, preset: string | undefined, o: RenderOptions): Written;
  /** Its unfinished cells on a queue for `bench worker`s, then its tables; absent where nothing pre-trains. */
  queue?(suite: Suite, o: QueueRunOptions): Promise<Written & { failed: { id: string; error: string; attempts: number }[] }>;
}

/** The flags of every kind whose cells train: presets, data, the run store, the engine, overrides and plans. */
export const TRAINING_FLAGS = [
  'preset',
  'data',
  'runs',
  'backend',
  'threads',
  'native',
  'recompute',
  'gemm',
  'precision',
  'set',
  'printConfig',
  'dryRun',
  'allowEngineMix',
  'workers',
] as const;

/** A kind that runs no further evaluators refuses a suite's `evaluators` list. */
export function noEvaluators(suite: Suite): string[] {
  return suite.evaluators?.length
    ? [`evaluators: only a pretrain suite runs further evaluators on its cells (this one is kind ${suite.kind})`]
    : [];
}
