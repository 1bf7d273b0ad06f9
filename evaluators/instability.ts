/**
 * Training-instability detectors (the paper's Sec. 4): pure functions on recorded curves.
 *
 * - Dips in the kNN monitor curve (Fig. 1-3): the accuracy falls more than a threshold below its
 *   running maximum, then recovers (rises back above running max - threshold/2), or is still down
 *   at the end of the curve.
 * - Spikes in a gradient-norm curve (Fig. 4): a value more than `spikeFactor` times the median of
 *   the previous `spikeWindow` values; consecutive points above form one event.
 * - Ordering: for each first-layer spike, the nearest last-layer spike within +-`orderWindow`
 *   iterations and the signed lag (> 0: the first layer led, the paper's observation).
 *
 * Non-finite values (NaN / Infinity, which JSON stores as null: a diverged run) are skipped: they
 * are divergence, which the run's `flags` report, not a dip or a spike.
 *
 * Defaults, in the curves' own units (kNN accuracy is a fraction, so 0.02 = 2 points):
 * - dipThreshold 0.02: the paper's repeat-trial spread is 0.1-0.3 points and its dips are several
 *   points deep; 2 points sits well between.
 * - dipNoiseFactor 8: the effective dip threshold is max(dipThreshold, 8 x sigma), sigma the
 *   monitor's own point-to-point noise (a robust MAD estimate from first differences, so isolated
 *   dips do not inflate it). The running maximum of a noisy plateau rides ~3 sigma above its mean,
 *   and single low points reach -3..-4 sigma over hundreds of evaluations: in simulation (flat
 *   curve, Gaussian noise, 30-1000 points) a factor of 6 false-alarms on 4-60% of curves, 8 on
 *   none, while still finding every 10-sigma dip. A monitor on few queries (small presets: sigma
 *   of several points) is thus not reported as unstable for its sampling noise. 0 turns it off.
 * - spikeFactor 5, spikeWindow 20: gradient norms fluctuate by tens of percent step to step; a 5x
 *   jump over the median of the last 20 steps is far outside that, and the median of 20 is
 *   unmoved by a spike lasting up to 9 steps. The first 20 points are warm-up (no baseline yet).
 * - orderWindow 100: the paper sees last-layer spikes "delayed by tens of iterations".
 */

/** A curve point as the runner records it (CurvePoint); `value` null is a non-finite value read back from JSON. */
export interface SeriesPoint {
  iter: number;
  value: number | null;
}

export interface InstabilityOptions {
  dipThreshold: number;
  dipNoiseFactor: number;
  /** A dip has recovered when the value is back above running max - recoverFraction x threshold. */
  recoverFraction: number;
  spikeFactor: number;
  spikeWindow: number;
  orderWindow: number;
}

export const INSTABILITY_DEFAULTS: InstabilityOptions = {
  dipThreshold: 0.02,
  dipNoiseFactor: 8,
  recoverFraction: 0.5,
  spikeFactor: 5,
  spikeWindow: 20,
  orderWindow: 100,
};

export interface Dip {
  /** Iteration at which the running maximum was set (the top before the dip). */
  peak: number;
  peakValue: number;
  /** First point more than the threshold below the running maximum. */
  start: number;
  /** Lowest point of the dip. */
  bottom: number;
  bottomValue: number;
  /** peakValue - bottomValue. */
  depth: number;
  recovered: boolean;
  /** First point back above running max - recoverFraction x threshold (when recovered). */
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
  /** (first-layer spike, last layer) combinations with no last-layer spike within the window. */
  unmatched: number;
}

export interface InstabilitySummary {
  unstable: boolean;
  dips: Dip[];
  /** Per gradient curve label (only layers with at least one spike). */
  spikes: Record<string, Spike[]>;
  firstLayerLeads: SpikeOrdering;
  /** The options used, and the kNN curve's noise and effective dip threshold. */
  thresholds: InstabilityOptions & { knnNoise: number; dipThresholdEffective: number };
}

const finite = (points: readonly SeriesPoint[]) =>
  points.filter((p): p is { iter: number; value: number } => typeof p.value === 'number' && Number.isFinite(p.value));

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Robust point-to-point noise of a curve: sigma of iid noise estimated from first differences
 * (1.4826 x MAD / sqrt 2; a smooth trend cancels in the median). 0 with fewer than 5 differences.
 */
export function curveNoise(points: readonly SeriesPoint[]): number {
  const v = finite(points).map((p) => p.value);
  if (v.length < 6) return 0;
  const d = v.slice(1).map((x, i) => x - v[i]);
  const md = median(d);
  return (1.4826 * median(d.map((x) => Math.abs(x - md)))) / Math.SQRT2;
}

/** Dips below the running maximum by more than `threshold` (absolute, in the curve's units). */
export function findDips(points: readonly SeriesPoint[], threshold: number, recoverFraction = INSTABILITY_DEFAULTS.recoverFraction): Dip[] {
  if (!(threshold > 0)) throw new Error(`findDips: threshold must be > 0, got ${threshold}`);
  const dips: Dip[] = [];
  let max = -Infinity, maxIter = 0;
  let open: Dip | undefined;
  for (const p of finite(points)) {
    if (open) {
      if (p.value < open.bottomValue) {
        open.bottom = p.iter;
        open.bottomValue = p.value;
        open.depth = open.peakValue - p.value;
      }
      if (p.value >= max - recoverFraction * threshold) {
        open.recovered = true;
        open.recoveredAt = p.iter;
        dips.push(open);
        open = undefined;
      } else continue; // the running maximum is not below the dip's floor
    }
    if (p.value > max) {
      max = p.value;
      maxIter = p.iter;
    } else if (p.value < max - threshold) {
      open = { peak: maxIter, peakValue: max, start: p.iter, bottom: p.iter, bottomValue: p.value, depth: max - p.value, recovered: false };
    }
  }
  if (open) dips.push(open);
  return dips;
}

/**
 * Spikes: points above `factor` x the median of the previous `window` finite values (from the
 * window-th point on); consecutive points above form one event.
 */
export function findSpikes(points: readonly SeriesPoint[], factor = INSTABILITY_DEFAULTS.spikeFactor, window = INSTABILITY_DEFAULTS.spikeWindow): Spike[] {
  if (!(factor > 1)) throw new Error(`findSpikes: factor must be > 1, got ${factor}`);
  if (!Number.isInteger(window) || window < 1) throw new Error(`findSpikes: window must be a positive integer, got ${window}`);
  const v = finite(points);
  const spikes: Spike[] = [];
  let open: Spike | undefined;
  for (let i = window; i < v.length; i++) {
    const m = median(v.slice(i - window, i).map((p) => p.value));
    const { iter, value } = v[i];
    const ratio = value / m;
    if (m > 0 && ratio > factor) {
      if (!open) open = { start: iter, end: iter, iter, value, median: m, ratio };
      else {
        open.end = iter;
        if (ratio > open.ratio) Object.assign(open, { iter, value, median: m, ratio });
      }
    } else if (open) {
      spikes.push(open);
      open = undefined;
    }
  }
  if (open) spikes.push(open);
  return spikes;
}

/**
 * For each first-layer spike and each last layer: that layer's spike nearest in iteration (peak to
 * peak) within +-window, ties to the later one, and the signed lag.
 */
export function spikeOrdering(spikes: Record<string, readonly Spike[]>, firstLayers: readonly string[], lastLayers: readonly string[], window = INSTABILITY_DEFAULTS.orderWindow): SpikeOrdering {
  const pairs: SpikePair[] = [];
  let unmatched = 0;
  for (const fl of firstLayers) {
    for (const s of spikes[fl] ?? []) {
      for (const ll of lastLayers) {
        let best: Spike | undefined;
        for (const t of spikes[ll] ?? []) {
          const d = Math.abs(t.iter - s.iter);
          if (d > window) continue;
          const bd = best ? Math.abs(best.iter - s.iter) : Infinity;
          if (d < bd || (d === bd && t.iter > best!.iter)) best = t;
        }
        if (best) pairs.push({ firstLayer: fl, firstIter: s.iter, lastLayer: ll, lastIter: best.iter, lag: best.iter - s.iter });
        else unmatched++;
      }
    }
  }
  const lags = pairs.map((p) => p.lag);
  return {
    pairs,
    lags,
    leadsCount: lags.filter((l) => l > 0).length,
    lagsCount: lags.filter((l) => l < 0).length,
    sameCount: lags.filter((l) => l === 0).length,
    unmatched,
  };
}

/** A gradient curve's role, from its label (`first: ...`, `middle: ...`, `last: ...`; see grad-monitor.ts). */
export function layerRole(label: string): string {
  return label.split(':')[0].trim();
}

/** Every detector on a run's curves. Curves absent (results written before gradients were recorded) count as empty. */
export function detectInstability(
  curves: { knn?: readonly SeriesPoint[]; grad?: Record<string, readonly SeriesPoint[]> },
  options: Partial<InstabilityOptions> = {},
): InstabilitySummary {
  const o = { ...INSTABILITY_DEFAULTS, ...options };
  const knn = curves.knn ?? [];
  const knnNoise = curveNoise(knn);
  const dipThresholdEffective = Math.max(o.dipThreshold, o.dipNoiseFactor * knnNoise);
  const dips = findDips(knn, dipThresholdEffective, o.recoverFraction);
  const grad = curves.grad ?? {};
  const spikes: Record<string, Spike[]> = {};
  for (const [label, pts] of Object.entries(grad)) {
    const s = findSpikes(pts, o.spikeFactor, o.spikeWindow);
    if (s.length) spikes[label] = s;
  }
  const labels = Object.keys(grad);
  const firstLayerLeads = spikeOrdering(spikes, labels.filter((l) => layerRole(l) === 'first'), labels.filter((l) => layerRole(l) === 'last'), o.orderWindow);
  return {
    unstable: dips.length > 0 || Object.keys(spikes).length > 0,
    dips,
    spikes,
    firstLayerLeads,
    thresholds: { ...o, knnNoise, dipThresholdEffective },
  };
}

/** Number of spike events over all layers. */
export function spikeCount(s: InstabilitySummary): number {
  return Object.values(s.spikes).reduce((n, x) => n + x.length, 0);
}
