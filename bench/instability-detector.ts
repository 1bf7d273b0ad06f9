/**
 * `bench detector`: how well the kNN-dip detector (evaluators/instability.ts) finds a planted dip
 * on synthetic monitor curves shaped like the tiny preset's, and how often it raises a false alarm
 * on clean ones. Seeded and deterministic; prints figures, asserts nothing.
 *
 * A synthetic curve: `points` evaluations, every `every` iterations, the last one `every`/5 after the
 * one before it (tiny's monitor also evaluates at the final iteration: 25, 50, ..., 225, 230), of
 *   start + rise x (1 - exp(-(x - x0) / tau)) / (1 - exp(-(1 - x0) / tau)) + N(0, noise^2),
 * x the fraction of the run (x0 at the first evaluation), rounded to 1/queries (an accuracy on
 * `queries` fixed images). A planted dip lowers `width` consecutive points by `depth`; it starts at a
 * uniformly random point with the detector's `dipContext` points before it (the detector tests no
 * window with fewer: a dip falls from an established level) and, for the main column, at least one
 * after it (a dip that recovers, the paper's "dips"); the "at end" column plants it on the last
 * `width` points, where it never recovers. A dip is found when a reported dip's start..end or bottom falls on the
 * planted points. False alarms are the dips reported on clean curves of the same model ("flat": the
 * same noise on a constant curve, a worst case for the reference line).
 *
 * Default model (flags override each): TINY_MODEL, read off the committed tiny runs: the default
 * cell's fixed-bank curve (seed 0: 48.4 % at iteration 25 rising to 55.0 % at 230, most of the rise
 * in the first third), values on 500 held-out images; noise levels of the grid bracket the measured
 * knnNoise of the committed tiny curves (medians 0.35 points on 10-point curves, 0.8 on 19-point ones).
 */
import type { DipOptions, SeriesPoint } from '../core/instability.ts';
import fs from 'node:fs';
import path from 'node:path';
import { INSTABILITY_DEFAULTS, detectInstability, dipNoiseK, median, scanDips } from '../evaluators/instability.ts';

export interface CurveModel {
  /** Number of monitor evaluations. */
  points: number;
  /** Iterations between evaluations. */
  every: number;
  /** Accuracy at the first evaluation (fraction). */
  start: number;
  /** Rise from the first evaluation to the last (fraction). */
  rise: number;
  /** Time constant of the rise, as a fraction of the run. */
  tau: number;
  /** Standard deviation of the points about the trend (fraction). */
  noise: number;
  /** Values are rounded to 1/queries (0: not rounded). */
  queries: number;
}

export interface PlantedDip {
  /** Fall of each planted point (fraction). */
  depth: number;
  /** Consecutive monitor points lowered. */
  width: number;
}

export const TINY_MODEL: CurveModel = { points: 10, every: 25, start: 0.478, rise: 0.083, tau: 0.37, noise: 0.005, queries: 500 };
export const PAPER_DIP: PlantedDip = { depth: 0.03, width: 3 };

/** mulberry32: a small seeded uniform generator. */
export function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** N(0, 1) draws (Box-Muller) from a uniform generator. */
export function normal(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** One synthetic monitor curve; with `dipAt`, `dip.width` points from index dipAt lowered by `dip.depth`. */
export function syntheticCurve(m: CurveModel, gauss: () => number, dip?: PlantedDip, dipAt = -1): SeriesPoint[] {
  const iters = Array.from({ length: m.points - 1 }, (_, k) => m.every * (k + 1));
  const total = (m.points - 1) * m.every + Math.max(1, Math.round(m.every / 5));
  iters.push(total);
  const x0 = iters[0] / total;
  const shape = (x: number) => (m.tau > 0 ? (1 - Math.exp(-(x - x0) / m.tau)) / (1 - Math.exp(-(1 - x0) / m.tau)) : 1);
  return iters.map((iter, i) => {
    let value = m.start + m.rise * shape(iter / total) + m.noise * gauss();
    if (dip && i >= dipAt && i < dipAt + dip.width) value -= dip.depth;
    return { iter, value: m.queries > 0 ? Math.round(value * m.queries) / m.queries : value };
  });
}

export interface DetectorRates {
  points: number;
  noise: number;
  curves: number;
  /** Fraction of curves with a recovering planted dip on which it was found. */
  detected: number;
  /** The same for a dip on the last `width` points. */
  detectedAtEnd: number;
  /** Dips reported per clean curve, and per clean flat curve. */
  falseAlarms: number;
  falseAlarmsFlat: number;
  /** Mean knnNoise / true noise on clean curves and on curves with a (recovering) dip. */
  noiseRatioClean: number;
  noiseRatioDip: number;
  /** Mean effective threshold on clean curves (fraction). */
  threshold: number;
}

const found = (pts: readonly SeriesPoint[], o: Partial<DipOptions>, at: number, width: number) => {
  const lo = pts[at].iter,
    hi = pts[at + width - 1].iter;
  return scanDips(pts, o).dips.some((d) => (d.start <= hi && d.end >= lo) || (d.bottom >= lo && d.bottom <= hi));
};

/** Detection and false-alarm rates of one model over `curves` curves of each kind. */
export function detectorRates(m: CurveModel, dip: PlantedDip, o: Partial<DipOptions>, curves: number, seed: number): DetectorRates {
  const before = o.dipContext ?? INSTABILITY_DEFAULTS.dipContext;
  if (m.points < before + dip.width + 1)
    throw new Error(`a curve of ${m.points} points has no room for a ${dip.width}-point dip with ${before} points before it and one after`);
  const u = uniform(seed),
    g = normal(u);
  let det = 0,
    detEnd = 0,
    fa = 0,
    faFlat = 0,
    nzClean = 0,
    nzDip = 0,
    thr = 0;
  for (let c = 0; c < curves; c++) {
    const clean = scanDips(syntheticCurve(m, g), o);
    fa += clean.dips.length;
    nzClean += clean.noise;
    thr += clean.threshold;
    faFlat += scanDips(syntheticCurve({ ...m, rise: 0 }, g), o).dips.length;
    const at = before + Math.floor(u() * (m.points - dip.width - before)); // before .. points - width - 1
    const withDip = syntheticCurve(m, g, dip, at);
    if (found(withDip, o, at, dip.width)) det++;
    nzDip += scanDips(withDip, o).noise;
    const end = m.points - dip.width;
    if (found(syntheticCurve(m, g, dip, end), o, end, dip.width)) detEnd++;
  }
  return {
    points: m.points,
    noise: m.noise,
    curves,
    detected: det / curves,
    detectedAtEnd: detEnd / curves,
    falseAlarms: fa / curves,
    falseAlarmsFlat: faFlat / curves,
    noiseRatioClean: m.noise > 0 ? nzClean / curves / m.noise : Number.NaN,
    noiseRatioDip: m.noise > 0 ? nzDip / curves / m.noise : Number.NaN,
    threshold: thr / curves,
  };
}

export interface DetectorBenchOptions {
  model: CurveModel;
  dip: PlantedDip;
  detector: Partial<DipOptions>;
  /** Noise levels (fractions) and curve lengths of the grid. */
  noises: number[];
  lengths: number[];
  curves: number;
  seed: number;
}

/** The grid: every length x noise level, each cell on its own seed (seed, length, level). */
export function runDetectorBench(b: DetectorBenchOptions): DetectorRates[] {
  const rows: DetectorRates[] = [];
  b.lengths.forEach((points) => {
    b.noises.forEach((noise, j) => {
      rows.push(detectorRates({ ...b.model, points, noise }, b.dip, b.detector, b.curves, (b.seed * 1000003 + points * 101 + j) >>> 0));
    });
  });
  return rows;
}

const pts = (x: number) => (100 * x).toFixed(2);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

export function formatDetectorBench(b: DetectorBenchOptions, rows: readonly DetectorRates[]): string[] {
  const o = { ...INSTABILITY_DEFAULTS, ...b.detector };
  const m = b.model;
  const out = [
    `detector: window ${o.dipMinPoints}-${o.dipMaxPoints} points, context ${o.dipContext}, threshold max(${pts(o.dipThreshold)} pts, ` +
      `k x noise), ` +
      (o.dipFalseAlarm === 0
        ? `k = ${o.dipNoiseFactor}`
        : `k = ${o.dipNoiseFactor === 1 ? '' : `${o.dipNoiseFactor} x `}z(1 - ${o.dipFalseAlarm} / windows tested)`) +
      `, recovery within ${o.recoverFraction} x threshold`,
    `curves: first value ${pts(m.start)}%, rise ${pts(m.rise)} pts (tau ${m.tau} of the run), every ${m.every} iterations, values ` +
      `rounded to 1/${m.queries}; ` +
      `planted dip ${pts(b.dip.depth)} pts x ${b.dip.width} points; ${b.curves} curves of each kind per row, seed ${b.seed}`,
    'targets: found >= 90 %, false alarms <= 0.1 per clean curve',
    '',
    'points  noise(pts)  found  found-at-end  false/curve  false/flat  noise-est/true (clean, dip)     k  threshold(pts)',
  ];
  for (const r of rows) {
    const ok = r.detected >= 0.9 && r.falseAlarms <= 0.1 ? '' : '  <- misses a target';
    out.push(
      `${String(r.points).padStart(6)}  ${pts(r.noise).padStart(10)}  ${pct(r.detected).padStart(5)}  ` +
        `${pct(r.detectedAtEnd).padStart(12)}  ${r.falseAlarms.toFixed(3).padStart(11)}  ${r.falseAlarmsFlat.toFixed(3).padStart(10)}  ` +
        `${r.noiseRatioClean.toFixed(2).padStart(14)}, ${r.noiseRatioDip.toFixed(2).padStart(5)}        ` +
        `${dipNoiseK(r.points, o).toFixed(2).padStart(4)}  ${pts(r.threshold).padStart(14)}${ok}`,
    );
  }
  return out;
}

export interface RunThreshold {
  /** The result.json's folder, relative to the runs folder. */
  cell: string;
  points: number;
  knnNoise: number;
  dipThresholdEffective: number;
  dips: number;
  /** Dip start iterations. */
  dipIters: number[];
}

/** The kNN curves a JSON file holds: a run's result.json (one), or a suite's results JSON (one per cell, named FILE:ID). */
function curvesIn(file: string, name: string): { cell: string; knn: SeriesPoint[] }[] {
  let doc: { curves?: { knn?: SeriesPoint[] }; cells?: { id?: string; curves?: { knn?: SeriesPoint[] } }[] };
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return []; // being written, or not JSON
  }
  if (path.basename(file) === 'result.json') return [{ cell: name, knn: doc.curves?.knn ?? [] }];
  if (!Array.isArray(doc.cells)) return [];
  return doc.cells.filter((c) => c.curves?.knn?.length).map((c, i) => ({ cell: `${name}:${c.id ?? i}`, knn: c.curves!.knn! }));
}

/**
 * The detector's noise and threshold on every kNN curve under `dir` (recursively, sorted): each
 * result.json of a run store (named by its folder), and each cell of a suite's results JSON
 * (results/SUITE-PRESET.json, named FILE:CELL).
 */
export function runThresholds(dir: string, detector: Partial<DipOptions> = {}): RunThreshold[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) files.push(p);
    }
  };
  walk(dir);
  return files.flatMap((f) => {
    const name =
      path.basename(f) === 'result.json' ? path.relative(dir, path.dirname(f)) || '.' : path.relative(dir, f).replace(/\.json$/, '');
    return curvesIn(f, name).map(({ cell, knn }) => {
      const s = detectInstability({ knn }, detector);
      return {
        cell,
        points: knn.length,
        knnNoise: s.thresholds.knnNoise,
        dipThresholdEffective: s.thresholds.dipThresholdEffective,
        dips: s.dips.length,
        dipIters: s.dips.map((d) => d.start),
      };
    });
  });
}

export function formatRunThresholds(dir: string, rows: readonly RunThreshold[]): string[] {
  if (!rows.length) return [`no kNN curve (result.json, or a suite's results JSON) under ${dir}`];
  const w = Math.max(4, ...rows.map((r) => r.cell.length));
  const out = [`${'cell'.padEnd(w)}  points  knnNoise(pts)  dip threshold(pts)  dips`];
  for (const r of rows)
    out.push(
      `${r.cell.padEnd(w)}  ${String(r.points).padStart(6)}  ${pts(r.knnNoise).padStart(13)}  ` +
        `${pts(r.dipThresholdEffective).padStart(18)}  ${r.dips ? `${r.dips} (iter ${r.dipIters.join(', ')})` : '0'}`,
    );
  const noises = rows.filter((r) => r.knnNoise > 0).map((r) => r.knnNoise);
  if (noises.length)
    out.push(
      `knnNoise over ${noises.length} curves: median ${pts(median(noises))} pts, range ` +
        `${pts(Math.min(...noises))}-${pts(Math.max(...noises))} pts`,
    );
  return out;
}
