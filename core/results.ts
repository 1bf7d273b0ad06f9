/**
 * What a pre-training run produces (runner/pretrain.ts writes it as result.json; report/, claims/
 * and the queue read it): curves, final metrics, flags and the instability summary.
 */
import type { Provenance } from './provenance.ts';
import type { PretrainConfig } from './config.ts';
import type { InstabilitySummary } from './instability.ts';

export interface CurvePoint {
  iter: number;
  epoch: number;
  value: number;
}

export interface Curves {
  loss: CurvePoint[];
  knn: CurvePoint[];
  lr: CurvePoint[];
  /**
   * Gradient L2 norm per monitored backbone layer and iteration (0-based, as `loss`), keyed by a
   * label `ROLE: PARAM[ (note)]`; a non-finite norm is stored as null. Absent in results written
   * before gradients were recorded.
   */
  grad?: Record<string, CurvePoint[]>;
}

export interface PretrainResult {
  hash: string;
  config: PretrainConfig;
  backend: { name: string; gpu: boolean; versions: Record<string, string> };
  /** Where the result came from (absent in results from before it was recorded). */
  provenance?: Provenance;
  iterations: number;
  epochs: number;
  trainImages: number;
  wallSeconds: number;
  /** Pre-training throughput: source images per second (each gives two views). */
  imagesPerSec: number;
  /**
   * Where the training time went, in seconds (runner/training/loop.ts): `views` (augmentation),
   * `step` (forward, backward, update), `knn-monitor`, `checkpoint`, `metrics`; the rest of
   * `wallSeconds` is the loop's own bookkeeping. Absent in results from before it was recorded.
   */
  phaseSeconds?: Record<string, number>;
  /**
   * knnRandomInit: the kNN evaluation's accuracy at random init (full sets); knnMonitorRandomInit:
   * the kNN monitor's at random init, under the monitor's own protocol (its bank and queries;
   * absent for the queue monitor, which is empty then, and in runs from before it was recorded).
   */
  final: { loss: number; knnMonitor: number; knn: number; knnRandomInit: number; knnMonitorRandomInit?: number };
  curves: Curves;
  /**
   * diverged: the loss, or a parameter after the update, became NaN or infinite at iteration
   * `divergedAt` (0-based), and training stopped; `reason` says which (absent: the loss, in runs
   * from before it was recorded).
   */
  flags: { diverged: boolean; divergedAt?: number; reason?: string };
  /** Dips of the kNN curve, gradient spikes and their ordering; absent in results written before it existed. */
  instability?: InstabilitySummary;
  weights: string;
  finishedAt: string;
}

/** A pre-training run's progress: once as the loop starts (iter = startIter, no step yet: loss NaN), then after each step. */
export interface ProgressInfo {
  iter: number;
  totalIters: number;
  startIter: number;
  loss: number;
  lr: number;
  knn?: number;
}
