/**
 * The instability model: curve points, dips, gradient spikes and their ordering, as the detectors
 * (evaluators/instability.ts) compute them and result.json, tables and claims read them.
 */

/** A curve point as the runner records it (CurvePoint); `value` null is a non-finite value read back from JSON. */
export interface SeriesPoint {
  iter: number;
  value: number | null;
}

/** The dip detector's settings (see the header). */
export interface DipOptions {
  /** Floor of the dip threshold, in the curve's units (a fall of the window's mean below its reference). */
  dipThreshold: number;
  /**
   * The threshold is max(dipThreshold, k x the curve's noise), k = dipNoiseFactor x z(1 - dipFalseAlarm / W),
   * z the standard normal quantile and W the number of windows tested on the curve (more windows, more
   * chances for noise to cross); dipFalseAlarm 0: k = dipNoiseFactor. dipNoiseFactor 0 leaves the floor alone.
   */
  dipNoiseFactor: number;
  dipFalseAlarm: number;
  /** Shortest and longest window of consecutive monitor points tested. */
  dipMinPoints: number;
  dipMaxPoints: number;
  /** Points on each side of a window that fix its reference line. */
  dipContext: number;
  /** A dip has recovered when a value is back above the reference - recoverFraction x threshold. */
  recoverFraction: number;
}

export interface InstabilityOptions extends DipOptions {
  spikeFactor: number;
  spikeWindow: number;
  orderWindow: number;
}

export interface Dip {
  /** Iteration of the highest of the dipContext points before the dip's start (the top it fell from). */
  peak: number;
  peakValue: number;
  /** First point of the dip (at least half the threshold below the reference). */
  start: number;
  /** Last point of the dip window (at least half the threshold below the reference). */
  end: number;
  /** Lowest point between the start and the recovery (or the end of the curve). */
  bottom: number;
  bottomValue: number;
  /** peakValue - bottomValue. */
  depth: number;
  /** Mean fall of the dip's points (start..end) below the reference: what crossed the threshold. */
  drop: number;
  recovered: boolean;
  /** First point back above the reference - recoverFraction x threshold (when recovered). */
  recoveredAt?: number;
}

export interface Spike {
  /** First and last point of the event (consecutive points above the threshold). */
  start: number;
  end: number;
  /** Iteration of the event's largest ratio. */
  iter: number;
  value: number;
  /** Median of the previous `window` values at the peak. */
  median: number;
  /** value / median at the peak. */
  ratio: number;
}

export interface SpikePair {
  firstLayer: string;
  firstIter: number;
  lastLayer: string;
  lastIter: number;
  /** lastIter - firstIter: > 0 the first layer led, < 0 it followed, 0 same iteration. */
  lag: number;
}

export interface SpikeOrdering {
  pairs: SpikePair[];
  lags: number[];
  /** Pairs with lag > 0 (first layer first, as the paper observes). */
  leadsCount: number;
  /** Pairs with lag < 0 (last layer first). */
  lagsCount: number;
  /** Pairs with lag 0. */
  sameCount: number;
  /** First-layer spikes (events) with no spike of any last layer within the window. */
  unmatched: number;
}

export interface InstabilitySummary {
  /** Dips or spikes after the lr warm-up: the paper's instability. */
  unstable: boolean;
  /** After the warm-up. */
  dips: Dip[];
  /** Per gradient curve label (only layers with at least one spike), after the warm-up. */
  spikes: Record<string, Spike[]>;
  /**
   * The events inside the lr warm-up (iterations before `iters`), reported apart and never counted
   * as instability: the first move away from random init is expected there. Absent without one.
   */
  warmup?: { iters: number; dips: Dip[]; spikes: Record<string, Spike[]> };
  firstLayerLeads: SpikeOrdering;
  /** The options used, and the kNN curve's noise and effective dip threshold. */
  thresholds: InstabilityOptions & { knnNoise: number; dipThresholdEffective: number; dipNoiseK: number };
}
