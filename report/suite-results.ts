/**
 * What the runners hand report/ and store in results/<suite>-<preset>.json: a pre-training suite's
 * resolved cells and their results with the linear probe, and an evaluation suite's cell results.
 * The runner (runner/*-suite.ts) produces them; the table and page writers (report/*-tables.ts),
 * `bench report` and the queue read them. They live here, below the runner, so that report never
 * imports runner/ (core/ cannot hold them: they name a suite's cell and a probe's config).
 */
import type { SuiteCell } from '../suites/schema.ts';
import type { PretrainConfig } from '../core/config.ts';
import type { PretrainResult } from '../core/results.ts';
import type { LinearProbeConfig } from '../recipes/evaluation.ts';

/** A pre-training cell with its config resolved (preset, overrides), hashed, and its run folder. */
export interface ResolvedCell {
  cell: SuiteCell;
  config: PretrainConfig;
  hash: string;
  runDir: string;
}

/** What a pre-training suite stores of a cell's linear probe (runner/cell-probe.ts runs and caches it). */
export interface CellProbe {
  /**
   * Test top-1 in [0, 1] at the lr and epoch chosen on the validation split held out of the
   * training images (`chosenOn`); in probes stored before that split existed, the best test
   * top-1 over lrs and epochs (main_lincls's best_acc1; `chosenOn` absent).
   */
  top1: number;
  chosenOn?: 'validation' | 'test';
  /** The chosen base lr (x batch / 256), epoch (0-based) and validation top-1. */
  bestBaseLr: number;
  chosenEpoch?: number;
  valTop1?: number;
  /** Images of the validation split, and those the heads trained on. */
  valCount?: number;
  trainCount?: number;
  /** main_lincls's number: the best test top-1 over every lr and evaluated epoch. */
  bestTestTop1?: number;
  /** Base lrs the sweep added beyond its ends, and why it stopped at an end (when it did). */
  sweepExtended?: number[];
  sweepStopped?: string;
  /** Per base lr: its best test top-1 and best validation top-1. */
  perLr: { baseLr: number; bestTop1: number; bestValTop1?: number }[];
  config: LinearProbeConfig;
  key: string;
  seconds: number;
}

/** The floors a table is read against (runner/baselines.ts): raw pixels, and a backbone at its random init. */
export type BaselineKind = 'raw-pixels' | 'random-init';

/** A baseline's probe and kNN under the cells' protocol, and the cells (ids) it applies to. */
export interface StoredBaseline {
  kind: BaselineKind;
  key: string;
  /** The backbone (random init), or what the raw pixels are. */
  backbone: string;
  /** Data set and training images, as the cells' `data` column. */
  data: string;
  probe: CellProbe;
  /** kNN top-1 in [0, 1]. */
  knn: number;
  cells: string[];
}

/**
 * What a suite stores of one further evaluator's run on a cell's weights (a suite's `evaluators`,
 * runner/cell-evaluations.ts): its metrics, the column it shows, its config and cache key.
 */
export interface StoredEvaluation {
  evaluator: string;
  /** The metric shown in the suite's table, its header, and whether it is a fraction shown in per cent. */
  column: { metric: string; header: string; percent: boolean };
  metrics: Record<string, number>;
  config: Record<string, unknown>;
  key: string;
  seconds: number;
}

/**
 * A pre-training cell's result with its linear probe and the suite's further evaluations, by
 * evaluator name (both absent for a diverged cell).
 */
export type ProbedResult = PretrainResult & { probe?: CellProbe; evaluations?: Record<string, StoredEvaluation> };

/** A cell's result as the suite's JSON stores it: paths relative to the working folder. */
export type StoredPretrainCell = ProbedResult & { id: string; runDir: string };

/** An evaluation suite's cell (Table 1: linear probe; Table 5: fine-tuning), as its JSON stores it. */
export interface EvalCellResult {
  id: string;
  status: 'measured' | 'reference' | 'skipped';
  /** Why a cell was skipped. */
  reason?: string;
  /** Top-1 accuracy in [0, 1]. */
  top1?: number;
  backbone?: string;
  init?: 'pretrained' | 'random';
  pretrainKnn?: number;
  detail?: unknown;
}
