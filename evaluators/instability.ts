/**
 * Training-instability detectors (the paper's Sec. 4): pure functions on recorded curves.
 *
 * kNN dips (Fig. 1-3: sudden drops of a few points that recover), `scanDips`:
 * - Every window of dipMinPoints..dipMaxPoints consecutive monitor points with at least dipContext
 *   points before it is compared with a reference: the least-squares line through the dipContext
 *   points on each side of it, the window itself left out so that a dip does not pull its own
 *   reference down. A window at the end of the curve (nothing after it) gets the mean of the points
 *   before it, a level that lags a rising curve, so it errs towards no alarm. A window with fewer
 *   points before it is not tested: a dip falls from an established level (at tiny the second
 *   evaluation is still in the warm-up, where the curve wobbles on its way up).
 * - The window is a dip when the mean fall of its points below the reference exceeds
 *   max(dipThreshold, k x sigma_W): sigma_W is the curve's noise (below) with the window's points
 *   replaced by the reference, so a dip does not raise the bar it is measured against, and
 *   k = dipNoiseFactor x z(1 - dipFalseAlarm / W), z the standard normal quantile and W the number
 *   of windows tested on the curve: a longer curve gives noise more chances to cross (k = 2.6 at 10
 *   points, 2.9 at 19, 3.2 at 40, 3.4 at 75).
 * - Overlapping or touching dip windows form one event, trimmed at both ends to points at least half
 *   the threshold below the reference, then measured against the reference of the trimmed range:
 *   `drop` is its points' mean fall, `depth` the fall from the highest of the dipContext points
 *   before it to its lowest point. It has recovered at the first later point back above the
 *   reference at its last point minus recoverFraction x threshold; a dip still down at the end of the
 *   curve is reported as not recovered. One evaluation more than twice the threshold below the line
 *   counts too (a 2-point window's mean crosses).
 * - Noise (`curveNoise`, `thresholds.knnNoise`): the residual of each point from the chord of its two
 *   neighbours (interpolated by iteration and scaled to the points' own sigma: a straight trend
 *   cancels, a curved one leaves a fraction of its curvature), residuals beyond 3 x their MAD-based
 *   sigma dropped (isolated outliers), then the root mean square, corrected for the clipping. The
 *   reported knnNoise is that of the curve with its flagged dips replaced by their reference;
 *   `dipThresholdEffective` = max(dipThreshold, k x knnNoise) is the threshold of a dip anywhere on
 *   the curve (each window is judged against its own leave-window-out sigma, which differs from
 *   knnNoise by that window's share only) and `dipNoiseK` the curve's k.
 *   The rule this replaces (a fall below the running maximum of max(2 points, 8 x a MAD of first
 *   differences)) put the threshold at 12-52 points on tiny's monitor curves: no dip could reach it.
 *
 * Defaults (kNN accuracy is a fraction: 0.015 = 1.5 points), tuned with `bench detector`
 * (bench/instability-detector.ts: synthetic curves with the length, rise and noise of tiny's
 * fixed-bank monitor curves, a dip of 3 points over 3 evaluations planted at a random position;
 * its header gives the model and where it came from; targets: >= 90 % of planted dips found,
 * <= 0.1 false alarm per clean curve):
 * - dipThreshold 0.015 (the floor): the paper's dips are several points deep, its repeat-trial
 *   spread 0.1-0.3 points. Measured on the committed tiny fixed-bank curves (`bench detector --runs
 *   results`), the monitor's noise is 0.12-0.93 points on the 10-point curves of the 300-epoch-style
 *   suites (median 0.35) and 0.29-2.1 on the 19-point curves of the figure suites (median 0.8; their
 *   cells stress the lr, so part of it is the backbone's own wobble). The floor also covers short
 *   curves, whose few residuals can underestimate their noise.
 * - dipNoiseFactor 1, dipFalseAlarm 0.3: z(1 - 0.3 / W) is nominal (a window's mean fall has a
 *   standard deviation of 0.8-1.0 sigma, and windows overlap). `bench detector` (1,000 curves per
 *   row): at 0.35-point noise 100 % of planted dips found and no false alarm, 10 to 75 points; at
 *   0.5, 95-100 % and <= 0.01 false alarm per clean curve; at 0.8, 78-87 % and 0.05-0.09 (a 3-point
 *   dip is then under 4 sigma: no setting reaches both targets there; 0.45 found 90 % at 19 points
 *   with 0.09-0.11 false alarm, 0.12 found 83 % with 0.04). A fixed k of 3 found only 86 % at 10
 *   points and 0.5-point noise; 2.5 gave 0.25 false alarm per 75-point curve at 0.7-point noise.
 * - dipContext 2: 1 halves the line's sag below a rising curve but more than doubles the false alarms
 *   of long curves; 3 sags more on tiny's 10-point rise (80 % found at 10 points, 0.5-point noise).
 * - dipMinPoints 2, dipMaxPoints 6: 2 keeps a single noisy evaluation from being a dip; windows up
 *   to 6 find a 3-point dip lasting 6 evaluations (94-99 % from 19 points at 0.55-point noise;
 *   49-59 % with windows up to 3, whose reference then rests on points inside the dip).
 * - spikeFactor 5, spikeWindow 20: gradient norms fluctuate by tens of percent step to step; a 5x
 *   jump over the median of the last 20 steps is far outside that, and the median of 20 is
 *   unmoved by a spike lasting up to 9 steps. The first 20 points are warm-up (no baseline yet).
 * - orderWindow 100: the paper sees last-layer spikes "delayed by tens of iterations".
 *
 * Spikes in a gradient-norm curve (Fig. 4): a value more than `spikeFactor` times the median of the
 * previous `spikeWindow` values; consecutive points above form one event. Ordering: for each
 * first-layer spike, the nearest last-layer spike within +-`orderWindow` iterations and the signed
 * lag (> 0: the first layer led, the paper's observation).
 *
 * Non-finite values (NaN / Infinity, which JSON stores as null: a diverged run) are skipped: they
 * are divergence, which the run's `flags` report, not a dip or a spike.
 */
import type {
  Dip,
  DipOptions,
  InstabilityOptions,
  InstabilitySummary,
  SeriesPoint,
  Spike,
  SpikeOrdering,
  SpikePair,
} from '../core/instability.ts';

export const INSTABILITY_DEFAULTS: InstabilityOptions = {
  dipThreshold: 0.015,
  dipNoiseFactor: 1,
  dipFalseAlarm: 0.3,
  dipMinPoints: 2,
  dipMaxPoints: 6,
  dipContext: 2,
  recoverFraction: 0.5,
  spikeFactor: 5,
  spikeWindow: 20,
  orderWindow: 100,
};

const finite = (points: readonly SeriesPoint[]) =>
  points.filter((p): p is { iter: number; value: number } => typeof p.value === 'number' && Number.isFinite(p.value));

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The rule in one sentence, for table notes. */
export function dipRuleText(o: DipOptions = INSTABILITY_DEFAULTS): string {
  const pts = (x: number) => (100 * x).toFixed(1);
  const width = o.dipMinPoints === o.dipMaxPoints ? `${o.dipMinPoints}` : `${o.dipMinPoints}-${o.dipMaxPoints}`;
  const k =
    o.dipFalseAlarm === 0 || o.dipNoiseFactor === 0
      ? `${o.dipNoiseFactor}`
      : `k = ${o.dipNoiseFactor === 1 ? '' : `${o.dipNoiseFactor} x `}z(1 - ${o.dipFalseAlarm} / windows tested): ` +
        `${dipNoiseK(10, o).toFixed(1)} on a 10-point curve, ${dipNoiseK(75, o).toFixed(1)} on 75`;
  return (
    `a kNN dip is ${width} consecutive evaluations whose mean falls more than max(${pts(o.dipThreshold)} pts, k x the ` +
    `monitor's noise) ` +
    `below the line through the ${o.dipContext} evaluations on each side (${k}; noise: RMS deviation of each point from its ` +
    `neighbours' chord, outliers and the window itself left out; ` +
    `recovered: back within ${o.recoverFraction === 0.5 ? 'half' : `${o.recoverFraction} x`} of the threshold)`
  );
}

// ---- noise -------------------------------------------------------------------------------------

/** Residual of point i from the chord of its neighbours, in units of the points' own sigma; NaN at the ends. */
function residualAt(t: readonly number[], v: readonly number[], i: number): number {
  if (i < 1 || i + 1 >= v.length) return Number.NaN;
  const w = (t[i + 1] - t[i]) / (t[i + 1] - t[i - 1]);
  return (v[i] - (w * v[i - 1] + (1 - w) * v[i + 1])) / Math.sqrt(1 + w * w + (1 - w) * (1 - w));
}

/** Fewer residuals than this: the noise is unknown (0) and the threshold is the floor. */
const MIN_RESIDUALS = 3;
/** Residuals beyond CLIP x the MAD-based sigma are outliers; E[z^2 | |z| < 3] = 0.9733 corrects the rest. */
const CLIP = 3;
const CLIP_VAR = 0.9733;

/** Clipped-RMS noise of residuals: sum of squares and count of those within the cut. */
class NoiseSum {
  ss = 0;
  count = 0;
  constructor(readonly cut: number) {}
  add(e: number, sign = 1): void {
    if (Number.isFinite(e) && Math.abs(e) <= this.cut) {
      this.ss += sign * e * e;
      this.count += sign;
    }
  }
  sigma(ss = this.ss, count = this.count): number {
    return count >= MIN_RESIDUALS ? Math.sqrt(Math.max(0, ss) / count / CLIP_VAR) : 0;
  }
}

function noiseSum(e: readonly number[]): NoiseSum {
  const a = e.filter(Number.isFinite).map(Math.abs);
  const s = new NoiseSum(a.length ? CLIP * 1.4826 * median(a) : 0);
  for (const x of e) s.add(x);
  return s;
}

// ---- reference ---------------------------------------------------------------------------------

interface Reference {
  /** The reference value at an iteration. */
  at(iter: number): number;
}

/**
 * The reference of window a..b (indices, a >= 1): LS line through up to `context` points each side;
 * the mean of the left ones at the end.
 */
function reference(t: readonly number[], v: readonly number[], a: number, b: number, context: number): Reference {
  const left: number[] = [];
  for (let i = a - 1; i >= 0 && left.length < context; i--) left.push(i);
  const right: number[] = [];
  for (let i = b + 1; i < v.length && right.length < context; i++) right.push(i);
  const idx = [...left, ...right];
  const mx = idx.reduce((s, i) => s + t[i], 0) / idx.length;
  const my = idx.reduce((s, i) => s + v[i], 0) / idx.length;
  if (!right.length) return { at: () => my };
  let sxy = 0,
    sxx = 0;
  for (const i of idx) {
    sxy += (t[i] - mx) * (v[i] - my);
    sxx += (t[i] - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { at: (iter) => my + slope * (iter - mx) };
}

// ---- dips --------------------------------------------------------------------------------------

export interface DipScan {
  dips: Dip[];
  /** The curve's noise outside its dips (0: fewer than 3 residuals). */
  noise: number;
  /** max(dipThreshold, noiseK x noise). */
  threshold: number;
  /** The noise factor k for this curve's number of windows. */
  noiseK: number;
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9), 0 < p < 1. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5,
    r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/** Windows tested on a curve of n finite points: a from dipContext, dipMinPoints..dipMaxPoints long. */
export function dipWindowCount(n: number, o: Pick<DipOptions, 'dipMinPoints' | 'dipMaxPoints' | 'dipContext'>): number {
  let w = 0;
  for (let L = o.dipMinPoints; L <= o.dipMaxPoints; L++) w += Math.max(0, n - L - o.dipContext + 1);
  return w;
}

/** The noise factor k of a curve of n finite points (see DipOptions.dipNoiseFactor). */
export function dipNoiseK(n: number, o: DipOptions): number {
  if (o.dipFalseAlarm === 0 || o.dipNoiseFactor === 0) return o.dipNoiseFactor;
  return o.dipNoiseFactor * normalQuantile(1 - o.dipFalseAlarm / Math.max(1, dipWindowCount(n, o)));
}

function checkDipOptions(o: DipOptions): void {
  if (!(o.dipThreshold > 0)) throw new Error(`dip threshold must be > 0, got ${o.dipThreshold}`);
  if (!(o.dipNoiseFactor >= 0)) throw new Error(`dipNoiseFactor must be >= 0, got ${o.dipNoiseFactor}`);
  if (!(o.dipFalseAlarm >= 0 && o.dipFalseAlarm < 1)) throw new Error(`dipFalseAlarm must be in [0, 1), got ${o.dipFalseAlarm}`);
  if (!Number.isInteger(o.dipMinPoints) || o.dipMinPoints < 1 || !Number.isInteger(o.dipMaxPoints) || o.dipMaxPoints < o.dipMinPoints)
    throw new Error(`dip window must be integers 1 <= dipMinPoints <= dipMaxPoints, got ${o.dipMinPoints}..${o.dipMaxPoints}`);
  if (!Number.isInteger(o.dipContext) || o.dipContext < 1) throw new Error(`dipContext must be a positive integer, got ${o.dipContext}`);
}

/** Dips, the noise and the effective threshold of a curve (the header's rule). */
export function scanDips(points: readonly SeriesPoint[], options: Partial<DipOptions> = {}): DipScan {
  const o: DipOptions = { ...INSTABILITY_DEFAULTS, ...options };
  checkDipOptions(o);
  const f = finite(points);
  const t = f.map((p) => p.iter),
    v = f.map((p) => p.value);
  const n = v.length;
  // the noise where dips are looked for: residuals of the points from the (dipContext + 1)-th on
  // (tiny's second evaluation is still in the warm-up, where the curve wobbles on its way up)
  const e = v.map((_, i) => (i < o.dipContext ? Number.NaN : residualAt(t, v, i)));
  const all = noiseSum(e);
  const k = dipNoiseK(n, o);

  // every window, tested against its own leave-window-out noise
  const hits: { a: number; b: number }[] = [];
  for (let L = o.dipMinPoints; L <= o.dipMaxPoints; L++) {
    for (let a = o.dipContext; a + L <= n; a++) {
      const b = a + L - 1;
      const ref = reference(t, v, a, b, o.dipContext);
      let fall = 0;
      for (let i = a; i <= b; i++) fall += ref.at(t[i]) - v[i];
      fall /= L;
      if (!(fall > o.dipThreshold)) continue;
      if (k > 0) {
        // the window's points replaced by the reference: their residuals out, their neighbours' recomputed
        let { ss, count } = all;
        const drop = (x: number) => {
          if (Number.isFinite(x) && Math.abs(x) <= all.cut) {
            ss -= x * x;
            count--;
          }
        };
        const put = (x: number) => {
          if (Number.isFinite(x) && Math.abs(x) <= all.cut) {
            ss += x * x;
            count++;
          }
        };
        for (let i = Math.max(0, a - 1); i <= Math.min(n - 1, b + 1); i++) drop(e[i]);
        const w = v.slice(Math.max(0, a - 2), Math.min(n, b + 3));
        const tw = t.slice(Math.max(0, a - 2), Math.min(n, b + 3));
        const off = Math.max(0, a - 2);
        for (let i = a; i <= b; i++) w[i - off] = ref.at(t[i]);
        if (a - 1 >= 0) put(residualAt(tw, w, a - 1 - off));
        if (b + 1 < n) put(residualAt(tw, w, b + 1 - off));
        if (!(fall > k * all.sigma(ss, count))) continue;
      }
      hits.push({ a, b });
    }
  }

  // overlapping or touching windows: one event
  hits.sort((x, y) => x.a - y.a || x.b - y.b);
  const groups: { a: number; b: number }[] = [];
  for (const h of hits) {
    const g = groups[groups.length - 1];
    if (g && h.a <= g.b + 1) g.b = Math.max(g.b, h.b);
    else groups.push({ ...h });
  }

  // the noise outside some ranges, each replaced by its reference (undefined: too few residuals left)
  const noiseOutside = (ranges: readonly { a: number; b: number }[]): number | undefined => {
    const filled = v.slice();
    for (const r of ranges) {
      const ref = reference(t, v, r.a, r.b, o.dipContext);
      for (let i = r.a; i <= r.b; i++) filled[i] = ref.at(t[i]);
    }
    const ef = filled.map((_, i) => (i < o.dipContext ? Number.NaN : residualAt(t, filled, i)));
    for (const r of ranges) for (let i = r.a; i <= r.b; i++) ef[i] = Number.NaN;
    const out = noiseSum(ef);
    return out.count >= MIN_RESIDUALS ? out.sigma() : undefined;
  };
  // each event trimmed at both ends to points at least half the threshold below its reference (the
  // noise outside the events as found), then the noise outside the trimmed events is the curve's
  const trimThreshold = Math.max(o.dipThreshold, k * ((groups.length ? noiseOutside(groups) : undefined) ?? all.sigma()));
  const ranges = groups.map((g) => {
    const ref = reference(t, v, g.a, g.b, o.dipContext);
    let a = g.a,
      b = g.b;
    while (a < b && ref.at(t[a]) - v[a] < trimThreshold / 2) a++;
    while (b > a && ref.at(t[b]) - v[b] < trimThreshold / 2) b--;
    return { a, b, whole: a === g.a && b === g.b ? ref : undefined, first: g.a };
  });
  const noise = (ranges.length ? noiseOutside(ranges) : undefined) ?? all.sigma();
  const threshold = Math.max(o.dipThreshold, k * noise);

  const dips: Dip[] = [];
  let after = -1;
  for (const { a, b, whole, first } of ranges) {
    if (first <= after) continue; // inside the previous dip, before its recovery
    // the trimmed points are ordinary ones: the dip's own reference has them as its context
    const ref = whole ?? reference(t, v, a, b, o.dipContext);
    const below = (i: number) => ref.at(t[i]) - v[i];
    let peak = a - 1; // the top it fell from: the highest of the dipContext points before the (trimmed) start
    for (let i = a - 2; i >= Math.max(0, a - o.dipContext); i--) if (v[i] > v[peak]) peak = i;
    let drop = 0;
    for (let i = a; i <= b; i++) drop += below(i);
    drop /= b - a + 1;
    const level = ref.at(t[b]) - o.recoverFraction * threshold;
    let rec = -1;
    for (let j = b + 1; j < n && rec < 0; j++) if (v[j] >= level) rec = j;
    const last = rec < 0 ? n - 1 : rec - 1;
    let bot = a;
    for (let i = a; i <= last; i++) if (v[i] < v[bot]) bot = i;
    dips.push({
      peak: t[peak],
      peakValue: v[peak],
      start: t[a],
      end: t[b],
      bottom: t[bot],
      bottomValue: v[bot],
      depth: v[peak] - v[bot],
      drop,
      recovered: rec >= 0,
      ...(rec >= 0 ? { recoveredAt: t[rec] } : {}),
    });
    after = rec < 0 ? n : rec;
  }
  return { dips, noise, threshold, noiseK: k };
}

/**
 * The curve's noise: sigma of its points about the local trend, with its dips (as `scanDips` flags
 * them with these options) replaced by their reference. 0 with fewer than 3 residuals.
 */
export function curveNoise(points: readonly SeriesPoint[], options: Partial<DipOptions> = {}): number {
  return scanDips(points, options).noise;
}

/** Dips whose mean fall exceeds a fixed `threshold` (absolute, in the curve's units; no noise term). */
export function findDips(
  points: readonly SeriesPoint[],
  threshold: number,
  options: Partial<Omit<DipOptions, 'dipThreshold' | 'dipNoiseFactor' | 'dipFalseAlarm'>> = {},
): Dip[] {
  if (!(threshold > 0)) throw new Error(`findDips: threshold must be > 0, got ${threshold}`);
  return scanDips(points, { ...options, dipThreshold: threshold, dipNoiseFactor: 0 }).dips;
}

// ---- gradient spikes ---------------------------------------------------------------------------

/**
 * Spikes: points above `factor` x the median of the previous `window` finite values (from the
 * window-th point on); consecutive points above form one event.
 */
export function findSpikes(
  points: readonly SeriesPoint[],
  factor = INSTABILITY_DEFAULTS.spikeFactor,
  window = INSTABILITY_DEFAULTS.spikeWindow,
): Spike[] {
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
export function spikeOrdering(
  spikes: Record<string, readonly Spike[]>,
  firstLayers: readonly string[],
  lastLayers: readonly string[],
  window = INSTABILITY_DEFAULTS.orderWindow,
): SpikeOrdering {
  const pairs: SpikePair[] = [];
  let unmatched = 0;
  for (const fl of firstLayers) {
    for (const s of spikes[fl] ?? []) {
      // an event is one first-layer spike: unmatched when no last layer spiked near it
      let matched = false;
      for (const ll of lastLayers) {
        let best: Spike | undefined;
        for (const t of spikes[ll] ?? []) {
          const d = Math.abs(t.iter - s.iter);
          if (d > window) continue;
          const bd = best ? Math.abs(best.iter - s.iter) : Infinity;
          if (d < bd || (d === bd && t.iter > best!.iter)) best = t;
        }
        if (best) {
          pairs.push({ firstLayer: fl, firstIter: s.iter, lastLayer: ll, lastIter: best.iter, lag: best.iter - s.iter });
          matched = true;
        }
      }
      if (!matched) unmatched++;
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
  /** Iterations of the lr warm-up: events that start before it are reported apart (`warmup`), not as instability. */
  warmupIters = 0,
): InstabilitySummary {
  const o = { ...INSTABILITY_DEFAULTS, ...options };
  const knn = curves.knn ?? [];
  const { dips: allDips, noise: knnNoise, threshold: dipThresholdEffective, noiseK } = scanDips(knn, o);
  const grad = curves.grad ?? {};
  const spikes: Record<string, Spike[]> = {};
  const warmSpikes: Record<string, Spike[]> = {};
  for (const [label, pts] of Object.entries(grad)) {
    const s = findSpikes(pts, o.spikeFactor, o.spikeWindow);
    const after = s.filter((x) => x.start >= warmupIters),
      inside = s.filter((x) => x.start < warmupIters);
    if (after.length) spikes[label] = after;
    if (inside.length) warmSpikes[label] = inside;
  }
  const dips = allDips.filter((d) => d.start >= warmupIters);
  const labels = Object.keys(grad);
  const firstLayerLeads = spikeOrdering(
    spikes,
    labels.filter((l) => layerRole(l) === 'first'),
    labels.filter((l) => layerRole(l) === 'last'),
    o.orderWindow,
  );
  return {
    unstable: dips.length > 0 || Object.keys(spikes).length > 0,
    dips,
    spikes,
    ...(warmupIters > 0 ? { warmup: { iters: warmupIters, dips: allDips.filter((d) => d.start < warmupIters), spikes: warmSpikes } } : {}),
    firstLayerLeads,
    thresholds: { ...o, knnNoise, dipThresholdEffective, dipNoiseK: noiseK },
  };
}

/**
 * The lr warm-up of a stored run in iterations: its config's warmup epochs times its iterations per
 * epoch (read off the curves, so a diverged run counts too); 0 without a warm-up.
 */
export function warmupItersOf(r: {
  config?: { optimizer?: { warmupEpochs?: number } };
  curves?: { loss?: readonly { iter: number; epoch?: number }[] };
}): number {
  const w = r.config?.optimizer?.warmupEpochs ?? 0;
  const p = r.curves?.loss?.find((x) => (x.epoch ?? 0) > 0);
  if (!(w > 0) || !p) return 0;
  return Math.round((w * p.iter) / p.epoch!);
}

/** Number of spike events over all layers. */
export function spikeCount(s: InstabilitySummary): number {
  return Object.values(s.spikes).reduce((n, x) => n + x.length, 0);
}
