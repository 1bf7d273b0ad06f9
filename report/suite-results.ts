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
  /** Best test top-1 in [0, 1] over lrs and epochs. */
  top1: number;
  bestBaseLr: number;
  /** Per base lr: its best top-1. */
  perLr: { baseLr: number; bestTop1: number }[];
  config: LinearProbeConfig;
  key: string;
  seconds: number;
}

/** A pre-training cell's result with its linear probe (absent for a diverged cell). */
export type ProbedResult = PretrainResult & { probe?: CellProbe };

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
