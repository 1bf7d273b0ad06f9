/**
 * Instability detectors on synthetic curves: planted kNN dips and gradient spikes are found at
 * their exact iterations and depths; clean and noisy-but-stable curves raise no alarm; short curves
 * and non-finite values (divergence) neither crash nor count; first-layer / last-layer spike lags;
 * the suite tables' flags, matrix marker and event notes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import type { SeriesPoint } from '../core/instability.ts';
import {
  INSTABILITY_DEFAULTS,
  curveNoise,
  detectInstability,
  dipNoiseK,
  dipWindowCount,
  findDips,
  findSpikes,
  normalQuantile,
  spikeOrdering,
  warmupItersOf,
} from '../evaluators/instability.ts';
import fs from 'node:fs';
import { TINY_MODEL, detectorRates, normal, runThresholds, syntheticCurve, uniform } from '../bench/instability-detector.ts';
import { relativeGradCurve } from '../evaluators/grad-monitor.ts';
import { loadSuite } from '../kinds/index.ts';
import { resolveCell } from '../runner/pretrain-suite.ts';
import { matrixTable, pretrainTable } from '../report/pretrain-tables.ts';
import type { PretrainResult } from '../core/results.ts';
import { builtinRegistry } from '../container/container.ts';

/** Deterministic N(0, 1) draws (LCG + Box-Muller). */
function gaussians(seed: number): () => number {
  let s = seed;
  const u = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

const curve = (values: (number | null)[], every = 1, from = 0): SeriesPoint[] =>
  values.map((value, i) => ({ iter: from + every * i, value }));

/** kNN curve: 40 evaluations every 25 iterations, rising 1 point per evaluation from 30%, two planted dips. */
function knnWithDips(): SeriesPoint[] {
  const v = Array.from({ length: 40 }, (_, i) => 0.3 + 0.01 * i);
  // dip 1: 4, 7, 5 points below the line at i = 10..12 (iters 275..325), back on it at i = 13 (iter 350)
  v[10] = 0.36;
  v[11] = 0.34;
  v[12] = 0.37;
  // dip 2, still down at the end: 5, 8, 6 points below the line at i = 37..39 (iters 950..1000)
  v[37] = 0.62;
  v[38] = 0.6;
  v[39] = 0.63;
  return curve(v, 25, 25);
}

/** A straight rising line of `n` points every 25 iterations, `drops` subtracted at their indices. */
const line = (n: number, drops: Record<number, number> = {}) =>
  curve(
    Array.from({ length: n }, (_, i) => 0.4 + 0.005 * i - (drops[i] ?? 0)),
    25,
    25,
  );

/**
 * A real tiny monitor curve (ablation:pos-embed, sin-cos cell, 500 fixed held-out queries against
 * the fixed 1,000-image bank: iters 25..225 and the final 230), copied here so that the test reads
 * no run folder. Its noise about the trend is ~0.4 points.
 */
const TINY_REAL = [0.484, 0.488, 0.512, 0.524, 0.528, 0.542, 0.546, 0.552, 0.55, 0.55];
const tinyReal = (lower: Record<number, number> = {}): SeriesPoint[] =>
  TINY_REAL.map((value, i) => ({ iter: i === 9 ? 230 : 25 * (i + 1), value: value - (lower[i] ?? 0) }));

describe('kNN dips', () => {
  it('finds planted dips: start, end, bottom, fall, recovery, and one still open at the end', () => {
    const dips = findDips(knnWithDips(), 0.015);
    assert.equal(dips.length, 2);
    const [a, b] = dips;
    assert.deepEqual([a.peak, a.start, a.end, a.bottom, a.recovered, a.recoveredAt], [250, 275, 325, 300, true, 350]);
    assert.ok(Math.abs(a.depth - 0.05) < 1e-9 && Math.abs(a.peakValue - 0.39) < 1e-9 && Math.abs(a.bottomValue - 0.34) < 1e-9);
    assert.ok(Math.abs(a.drop - 0.16 / 3) < 1e-9, `drop ${a.drop}`); // (4 + 7 + 5) / 3 points below the line
    assert.deepEqual([b.peak, b.start, b.end, b.bottom, b.recovered, b.recoveredAt], [925, 950, 1000, 975, false, undefined]);
    assert.ok(Math.abs(b.depth - 0.06) < 1e-9);
    // no point after it: the reference is the mean of the two before (0.655), 3.5, 5.5, 2.5 points above
    assert.ok(Math.abs(b.drop - 0.115 / 3) < 1e-9, `drop ${b.drop}`);
    // through the summary: a clean line has no noise, so the floor (1.5 points) is the threshold
    const s = detectInstability({ knn: knnWithDips() });
    assert.equal(s.unstable, true);
    assert.equal(s.thresholds.knnNoise, 0);
    assert.equal(s.thresholds.dipThresholdEffective, 0.015);
    assert.deepEqual(s.dips, dips);
    // a larger floor: neither dip counts
    assert.equal(detectInstability({ knn: knnWithDips() }, { dipThreshold: 0.1 }).unstable, false);
  });

  it('thresholds at the boundaries: window mean just above / below the floor, one deep point, the noise term taking over', () => {
    const T = 0.015;
    // two points each T +- 0.01 point below a clean line (noise 0: the floor is the threshold)
    assert.equal(findDips(line(12, { 5: T + 1e-4, 6: T + 1e-4 }), T).length, 1);
    assert.equal(findDips(line(12, { 5: T - 1e-4, 6: T - 1e-4 }), T).length, 0);
    assert.equal(detectInstability({ knn: line(12, { 5: T + 1e-4, 6: T + 1e-4 }) }).dips.length, 1);
    assert.equal(detectInstability({ knn: line(12, { 5: T - 1e-4, 6: T - 1e-4 }) }).dips.length, 0);
    // one point: found when its fall is over twice the threshold (a 2-point window's mean crosses)
    const [one] = findDips(line(12, { 5: 2 * T + 1e-4 }), T);
    assert.deepEqual([one.start, one.end, one.bottom, one.recoveredAt], [150, 150, 150, 175]);
    assert.equal(findDips(line(12, { 5: 2 * T - 1e-4 }), T).length, 0);
    // a window needs dipContext (2) points before it: a fall at the second point is not tested, at the third it is
    assert.equal(findDips(line(12, { 1: 0.1 }), T).length, 0);
    assert.deepEqual(
      findDips(line(12, { 2: 0.1 }), T).map((d) => d.start),
      [75],
    );
    // the last two points: the mean of the two before is the reference; not recovered
    const [end] = findDips(line(12, { 10: 0.03, 11: 0.03 }), T);
    assert.deepEqual([end.start, end.end, end.recovered], [275, 300, false]);
    // the noise term: a zig-zag of +-a about a line has every residual 2a / sqrt(1.5), so noise =
    // 2a / sqrt(1.5 x 0.9733); at k x noise = the floor the threshold switches from the floor to k x noise,
    // k = z(1 - 0.3 / 125) for the 27 + 26 + 25 + 24 + 23 windows (2..6 points) of a 30-point curve
    const k = normalQuantile(1 - 0.3 / 125);
    assert.equal(dipWindowCount(30, INSTABILITY_DEFAULTS), 125);
    assert.ok(Math.abs(dipNoiseK(30, INSTABILITY_DEFAULTS) - k) < 1e-12 && Math.abs(k - 2.82) < 0.01, `k ${k}`);
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-6 && Math.abs(normalQuantile(0.001) + 3.090232) < 1e-6);
    const zigzag = (a: number) =>
      curve(
        Array.from({ length: 30 }, (_, i) => 0.5 + 0.002 * i + (i % 2 ? a : -a)),
        25,
        25,
      );
    const aStar = ((T / k) * Math.sqrt(1.5 * 0.9733)) / 2;
    for (const [f, thr] of [
      [0.99, T],
      [1.01, (k * (2 * 1.01 * aStar)) / Math.sqrt(1.5 * 0.9733)],
    ]) {
      const z = detectInstability({ knn: zigzag(f * aStar) });
      assert.ok(Math.abs(z.thresholds.knnNoise - (2 * f * aStar) / Math.sqrt(1.5 * 0.9733)) < 1e-12, `noise ${z.thresholds.knnNoise}`);
      assert.ok(Math.abs(z.thresholds.dipThresholdEffective - thr) < 1e-12, `threshold ${z.thresholds.dipThresholdEffective} vs ${thr}`);
      assert.equal(z.dips.length, 0);
    }
    assert.throws(() => detectInstability({ knn: line(12) }, { dipThreshold: 0 }), /dip threshold must be > 0/);
    assert.throws(() => detectInstability({ knn: line(12) }, { dipMinPoints: 3, dipMaxPoints: 2 }), /dip window/);
    assert.throws(() => detectInstability({ knn: line(12) }, { dipFalseAlarm: 1 }), /dipFalseAlarm/);
  });

  it(
    'a real tiny monitor curve: clean, no dip; a 3-point dip of 3 points planted ' + 'anywhere with 2 ' + 'points before ' + 'it is found',
    () => {
      const clean = detectInstability({ knn: tinyReal() });
      assert.equal(clean.dips.length, 0);
      assert.ok(clean.thresholds.knnNoise > 0.002 && clean.thresholds.knnNoise < 0.006, `noise ${clean.thresholds.knnNoise}`);
      assert.equal(clean.thresholds.dipThresholdEffective, 0.015);
      for (let at = 2; at <= 7; at++) {
        const s = detectInstability({ knn: tinyReal({ [at]: 0.03, [at + 1]: 0.03, [at + 2]: 0.03 }) });
        assert.equal(s.dips.length, 1, `dip at ${at}: ${JSON.stringify(s.dips)}`);
        const d = s.dips[0];
        const planted = [at, at + 1, at + 2].filter((i) => i < 10).map((i) => (i === 9 ? 230 : 25 * (i + 1)));
        assert.ok(planted.includes(d.start) && planted.includes(d.bottom), `dip at ${at}: ${JSON.stringify(d)}`);
        assert.equal(d.recovered, at + 3 <= 9, `dip at ${at}`);
        assert.ok(d.drop > 0.02 && d.drop < 0.035, `drop ${d.drop}`);
      }
    },
  );

  it('synthetic tiny-like curves (19 and 10 points, 0.5 / 0.4-point noise): planted 3-point dips found, clean curves quiet', () => {
    for (const [points, noise] of [
      [19, 0.005],
      [10, 0.004],
    ]) {
      const model = { points, every: 10, start: 0.48, rise: 0.07, tau: 0.35, noise, queries: 500 };
      const u = uniform(points),
        g = normal(u);
      let found = 0,
        falseAlarms = 0;
      for (let c = 0; c < 40; c++) {
        const at = 2 + Math.floor(u() * (points - 5));
        const pts = syntheticCurve(model, g, { depth: 0.03, width: 3 }, at);
        const lo = pts[at].iter,
          hi = pts[at + 2].iter;
        if (detectInstability({ knn: pts }).dips.some((d) => d.start <= hi && d.end >= lo)) found++;
        falseAlarms += detectInstability({ knn: syntheticCurve(model, g) }).dips.length;
      }
      assert.ok(found >= 36, `${points} points: ${found} of 40 found`);
      assert.ok(falseAlarms <= 1, `${points} points: ${falseAlarms} false alarms on 40 clean curves`);
    }
  });

  it(
    'the noise estimate ignores a strong trend and the dip it finds; a noisy plateau raises the threshold, a 15-sigma dip still ' +
      'crosses it',
    () => {
      for (let seed = 1; seed <= 8; seed++) {
        const g = gaussians(seed);
        // 20% -> 70% in 40 evaluations (half of it in the first 6), 1-point noise, a 5-point dip over 3 evaluations
        const clean = Array.from({ length: 40 }, (_, i) => 0.7 - 0.5 * Math.exp(-i / 8) + 0.01 * g());
        const dipped = curve(
          clean.map((x, i) => (i >= 20 && i < 23 ? x - 0.05 : x)),
          10,
        );
        const s = detectInstability({ knn: dipped });
        // one dip, over the planted points (with 1-point noise a low neighbour may join it)
        assert.equal(s.dips.length, 1, `seed ${seed}: ${JSON.stringify(s.dips)}`);
        assert.ok(
          s.dips[0].start <= 200 && s.dips[0].start >= 170 && s.dips[0].end >= 220 && s.dips[0].end <= 250,
          `seed ${seed}: ${JSON.stringify(s.dips)}`,
        );
        for (const n of [s.thresholds.knnNoise, curveNoise(dipped), curveNoise(curve(clean, 10))])
          assert.ok(Math.abs(n - 0.01) < 0.003, `seed ${seed}: noise ${n}`);
        assert.equal(detectInstability({ knn: curve(clean, 10) }).dips.length, 0, `seed ${seed}`);
      }
      const smooth = curve(
        Array.from({ length: 120 }, (_, i) => 0.7 - 0.5 * Math.exp(-i / 20)),
        10,
      );
      assert.equal(detectInstability({ knn: smooth }).unstable, false);
      let plateauAlarms = 0;
      for (let seed = 1; seed <= 10; seed++) {
        const g = gaussians(seed);
        const rising = curve(
          Array.from({ length: 200 }, (_, i) => 0.7 - 0.5 * Math.exp(-i / 40) + 0.003 * g()),
          10,
        );
        assert.equal(detectInstability({ knn: rising }).dips.length, 0, `seed ${seed}`);
        // a plateau with 2-point noise (a small monitor): the threshold follows the noise
        const plateau = curve(
          Array.from({ length: 100 }, () => 0.5 + 0.02 * g()),
          10,
        );
        const p = detectInstability({ knn: plateau });
        assert.ok(Math.abs(p.thresholds.knnNoise - 0.02) < 0.006, `noise estimate ${p.thresholds.knnNoise}`);
        assert.ok(Math.abs(p.thresholds.dipThresholdEffective - p.thresholds.dipNoiseK * p.thresholds.knnNoise) < 1e-12);
        assert.ok(Math.abs(p.thresholds.dipNoiseK - normalQuantile(1 - 0.3 / 475)) < 1e-12); // 97 + 96 + 95 + 94 + 93 windows
        plateauAlarms += p.dips.length;
        const v = plateau.map((q) => ({ ...q }));
        for (const i of [50, 51, 52]) v[i].value = (v[i].value as number) - 0.3;
        const found = detectInstability({ knn: v }).dips;
        assert.ok(
          found.some((d) => d.start <= 520 && d.end >= 500 && d.recovered),
          `seed ${seed}: ${JSON.stringify(found)}`,
        );
      }
      assert.ok(plateauAlarms <= 1, `${plateauAlarms} false alarms on 10 noisy plateaus`);
    },
  );

  it('short curves, NaN and null values (divergence) neither crash nor count', () => {
    assert.deepEqual(findDips([], 0.02), []);
    assert.deepEqual(findDips(curve([0.4]), 0.02), []);
    assert.equal(curveNoise(curve([0.1, 0.5])), 0);
    assert.equal(curveNoise(curve([0.1, 0.5, 0.2, 0.6])), 0); // 2 residuals: too few
    assert.deepEqual(findDips(curve([0.4, 0.41, Number.NaN, null, 0.42]), 0.02), []);
    const s = detectInstability({ knn: curve([0.3, 0.35, Number.NaN]), grad: { 'first: w': curve([1, 2, Number.NaN, Infinity, null]) } });
    assert.equal(s.unstable, false);
    assert.throws(() => findDips(curve([0.4]), 0), /threshold must be > 0/);
  });
});

/** A gradient-norm curve: a slow decay with +-10% deterministic wiggle; `planted` overrides values. */
function gradCurve(n: number, planted: Record<number, number> = {}): SeriesPoint[] {
  return curve(Array.from({ length: n }, (_, i) => planted[i] ?? (2 - i / n) * (1 + 0.1 * Math.sin(1.7 * i))));
}

describe('events inside the lr warm-up', () => {
  it('are reported apart and never counted as instability; those after it count', () => {
    // dip 1 starts at iter 275, dip 2 at 950; a first-layer spike at iter 100, another at 600
    const grad = Array.from({ length: 800 }, (_, i) => ({ iter: i, value: i === 100 || i === 600 ? 10 : 1 }));
    const curves = { knn: knnWithDips(), grad: { 'first: patch_embed.proj.weight': grad } };
    const all = detectInstability(curves);
    assert.equal(all.warmup, undefined);
    assert.equal(all.dips.length, 2);
    // warm-up of 300 iterations: dip 1 and the spike at 100 inside it, dip 2 and the spike at 600 after
    const s = detectInstability(curves, {}, 300);
    assert.deepEqual(
      s.dips.map((d) => d.start),
      [950],
    );
    assert.deepEqual(
      s.warmup!.dips.map((d) => d.start),
      [275],
    );
    assert.deepEqual(
      s.spikes['first: patch_embed.proj.weight'].map((x) => x.iter),
      [600],
    );
    assert.deepEqual(
      s.warmup!.spikes['first: patch_embed.proj.weight'].map((x) => x.iter),
      [100],
    );
    assert.equal(s.unstable, true);
    // a warm-up past both: nothing counts, both reported apart
    const late = detectInstability(curves, {}, 1000);
    assert.equal(late.unstable, false);
    assert.equal(late.warmup!.dips.length, 2);
  });

  it("a stored run's warm-up in iterations: warmup epochs times iterations per epoch from its curves", () => {
    const r = {
      config: { optimizer: { warmupEpochs: 1 } },
      curves: {
        loss: [
          { iter: 0, epoch: 0 },
          { iter: 1, epoch: 1 / 93 },
        ],
      },
    };
    assert.equal(warmupItersOf(r), 93);
    assert.equal(warmupItersOf({ ...r, config: { optimizer: { warmupEpochs: 40 } } }), 3720);
    assert.equal(warmupItersOf({ ...r, config: { optimizer: { warmupEpochs: 0 } } }), 0);
  });
});

describe('gradient spikes', () => {
  it('finds planted spikes at their peak iterations; consecutive points form one event; none in the warm-up', () => {
    const g = gradCurve(200, { 5: 100, 50: 15, 120: 9, 121: 18, 122: 12 });
    const s = findSpikes(g, 5, 20);
    assert.equal(s.length, 2, JSON.stringify(s));
    assert.deepEqual([s[0].start, s[0].iter, s[0].end], [50, 50, 50]);
    assert.deepEqual([s[1].start, s[1].iter, s[1].end], [120, 121, 122]);
    assert.ok(s[0].ratio > 7 && s[0].ratio < 9, `ratio ${s[0].ratio}`);
    assert.ok(Math.abs(s[1].ratio - s[1].value / s[1].median) < 1e-12 && s[1].value === 18);
    // below the factor: nothing
    assert.equal(findSpikes(gradCurve(200, { 50: 6 }), 5, 20).length, 0);
  });

  it('no false spike on log-normal noise of 30% around a decaying trend', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const g = gaussians(seed);
      const pts = curve(Array.from({ length: 1000 }, (_, i) => 3 * Math.exp(-i / 300) * Math.exp(0.3 * g())));
      assert.equal(findSpikes(pts).length, 0, `seed ${seed}`);
    }
  });

  it('NaN, Infinity and null (divergence) are skipped, not spikes; short curves have none', () => {
    assert.deepEqual(findSpikes(curve([1, 2, 3]), 5, 20), []);
    assert.deepEqual(findSpikes([], 5, 20), []);
    const g = gradCurve(60);
    g.push({ iter: 60, value: Number.NaN }, { iter: 61, value: Infinity }, { iter: 62, value: null });
    assert.deepEqual(findSpikes(g, 5, 20), []);
    assert.throws(() => findSpikes(g, 1), /factor must be > 1/);
  });
});

describe('first-layer vs last-layer spike ordering', () => {
  it('pairs each first-layer spike with the nearest last-layer spike per layer; signed lags; unmatched spikes counted as events', () => {
    const first = 'first: patch_embed.proj.weight',
      qkv = 'last: blocks.5.attn.qkv.weight',
      fc2 = 'last: blocks.5.mlp.fc2.weight',
      middle = 'middle: blocks.2.attn.qkv.weight';
    const grad = {
      [first]: gradCurve(400, { 50: 20, 300: 20 }),
      [middle]: gradCurve(400, { 55: 20 }),
      [qkv]: gradCurve(400, { 62: 20 }),
      [fc2]: gradCurve(400, { 45: 20, 310: 20 }),
    };
    const s = detectInstability({ knn: [], grad });
    assert.equal(s.unstable, true);
    assert.deepEqual(Object.fromEntries(Object.entries(s.spikes).map(([k, v]) => [k, v.map((x) => x.iter)])), {
      [first]: [50, 300],
      [middle]: [55],
      [qkv]: [62],
      [fc2]: [45, 310],
    });
    const o = s.firstLayerLeads;
    assert.deepEqual(
      o.pairs.map((p) => [p.firstIter, p.lastLayer, p.lastIter, p.lag]),
      [
        [50, qkv, 62, 12],
        [50, fc2, 45, -5],
        [300, fc2, 310, 10],
      ],
    );
    assert.deepEqual(o.lags, [12, -5, 10]);
    // both first-layer spikes have a last-layer spike near (qkv has none near 300: no event left unmatched)
    assert.deepEqual([o.leadsCount, o.lagsCount, o.sameCount, o.unmatched], [2, 1, 0, 0]);
    // a narrower window leaves only the 5- and 10-iteration pairs
    const narrow = spikeOrdering(s.spikes, [first], [qkv, fc2], 10);
    assert.deepEqual(narrow.lags, [-5, 10]);
    assert.equal(narrow.unmatched, 0);
    // a 3-iteration window matches nothing: two events unmatched (not four spike-layer combinations)
    assert.equal(spikeOrdering(s.spikes, [first], [qkv, fc2], 3).unmatched, 2);
  });
});

describe('relative gradient values (Fig. 4)', () => {
  it('divides by the run median, or by the running median of a window', () => {
    const pts = curve([1, 2, 3, Number.NaN, 4]);
    assert.deepEqual(
      relativeGradCurve(pts).map((p) => p.value),
      [0.4, 0.8, 1.2, Number.NaN, 1.6],
    );
    assert.deepEqual(
      relativeGradCurve(pts, 2).map((p) => p.value),
      [Number.NaN, 2, 2, Number.NaN, 1.6],
    );
  });
});

describe('suite tables mark unstable cells', () => {
  const runsDir = path.join(os.tmpdir(), 'sslbench-instability-test');
  const fake = (knn: number, curves?: unknown, stored = true): PretrainResult => {
    const r = {
      final: { knn, loss: 1, knnMonitor: knn, knnRandomInit: 0.1 },
      flags: { diverged: false },
      config: { knn: { k: 200, temperature: 0.07 }, backbone: { name: 'vit-micro/4' }, data: { dataset: 'synthetic' } },
      backend: { name: 'cpu', gpu: false, versions: {} },
      iterations: 1000,
      epochs: 1,
      trainImages: 10,
      imagesPerSec: 1,
      ...(curves ? { curves } : {}),
    } as unknown as PretrainResult;
    if (curves && stored) r.instability = detectInstability(curves as PretrainResult['curves']);
    return r;
  };

  it(
    'matrix cells get the marker, flags say "unstable (N dips, M spikes)", notes list ' + 'the events; ' + 'old results ' + 'still render',
    () => {
      const suite = loadSuite('table4');
      const cells = suite.cells.map((c) => resolveCell(suite, c, { registry: builtinRegistry(), preset: 'tiny', runsDir }));
      const grad = { 'first: conv1.weight': gradCurve(400, { 50: 20 }), 'last: layer4.0.conv3.weight': gradCurve(400, { 62: 20 }) };
      const results = cells.map((_, i) =>
        i === 0
          ? fake(0.5, { knn: knnWithDips(), loss: [], lr: [], grad })
          : i === 1
            ? fake(0.51, { knn: knnWithDips(), loss: [], lr: [] }, false) // written before `instability` existed: recomputed
            : i === 2
              ? fake(0.52, { knn: curve([0.1, 0.2, 0.3]), loss: [], lr: [] }) // stable
              : fake(0.5 + i / 100),
      ); // no curves at all
      const t = matrixTable(suite, 'tiny', cells, results);
      // the marker follows the measured (linear-probe) number, n/a here: these fakes have no probe
      assert.deepEqual([t.rows[0]['moco-v3'], t.rows[0].simclr, t.rows[0].byol, t.rows[1]['moco-v3']], ['n/a*', 'n/a*', 'n/a', 'n/a']);
      assert.deepEqual(
        [t.rows[0]['moco-v3_knn'], t.rows[0].simclr_knn, t.rows[0].byol_knn, t.rows[1]['moco-v3_knn']],
        ['50.0', '51.0', '52.0', '54.0'],
      );
      assert.match(t.notes.join('\n'), /\* marks an unstable cell; 2 of 12 cells unstable\./);
      assert.ok(
        t.notes.includes(
          `kNN dip threshold per cell (points; above 1.5 when the monitor's own noise sets it): ${cells[0].cell.id} 1.5, ` +
            `${cells[1].cell.id} 1.5, ${cells[2].cell.id} 1.5.`,
        ),
      );
      const note = t.notes.find((n) => n.startsWith(`unstable, ${cells[0].cell.id}:`))!;
      assert.match(
        note,
        /kNN dips \(threshold 1\.5 pts\) at iter 275 \(mean \d+\.\d pts under its trend; bottom 34\.0% at iter 300, 5\.0 pts below the 39\.0% at iter 250; /,
      );
      assert.match(note, /the 39\.0% at iter 250; recovered at iter 350\), iter 950 \(.*not recovered\)/);
      assert.match(note, /gradient spikes: first: conv1\.weight at iter 50 \(\d+\.\dx\); last: layer4\.0\.conv3\.weight at iter 62/);
      assert.match(note, /first-layer spike before the last layer's in 1 of 1 pairs \(after: 0, same iteration: 0\): 50 -> 62 /);
      assert.match(note, /: 50 -> 62 \(layer4\.0\.conv3\.weight, lag \+12\)/);
      const d = pretrainTable(suite, 'tiny', cells, results);
      assert.equal(d.rows[0].flags, 'unstable (2 dips, 2 spikes)');
      assert.equal(d.rows[1].flags, 'unstable (2 dips, 0 spikes)');
      assert.equal(d.rows[2].flags, '');
      assert.equal(d.rows[3].flags, '');
    },
  );
});

describe('bench detector', () => {
  it('rates: a planted 3-point dip found on >= 90 % of tiny-like curves, few false alarms; a 0-point dip never "found"', () => {
    const r = detectorRates({ ...TINY_MODEL, noise: 0.0035 }, { depth: 0.03, width: 3 }, {}, 200, 7);
    assert.ok(r.detected >= 0.9 && r.falseAlarms <= 0.1, JSON.stringify(r));
    assert.ok(Math.abs(r.noiseRatioClean - 1) < 0.15, `noise estimate / true ${r.noiseRatioClean}`);
    const none = detectorRates({ ...TINY_MODEL, noise: 0.0035 }, { depth: 0, width: 3 }, {}, 200, 7);
    assert.equal(none.detected, 0);
    assert.throws(() => detectorRates({ ...TINY_MODEL, points: 5 }, { depth: 0.03, width: 3 }, {}, 1, 1), /no room for a 3-point dip/);
  });

  it("--runs reads a run store's result.json and a results folder's suite JSON (one row per cell)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-detector-'));
    const g = normal(uniform(3));
    const clean = syntheticCurve(TINY_MODEL, g);
    const dipped = syntheticCurve(TINY_MODEL, g, { depth: 0.05, width: 3 }, 4);
    fs.mkdirSync(path.join(dir, 'tiny', 'abc'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'tiny', 'abc', 'result.json'), JSON.stringify({ curves: { knn: dipped } }));
    fs.writeFileSync(
      path.join(dir, 'suite-tiny.json'),
      JSON.stringify({
        cells: [
          { id: 'a', curves: { knn: clean } },
          { id: 'b', curves: { knn: [] } },
        ],
      }),
    );
    fs.writeFileSync(path.join(dir, 'broken.json'), '{');
    const rows = runThresholds(dir);
    assert.deepEqual(
      rows.map((r) => [r.cell, r.points, r.dips]),
      [
        ['suite-tiny:a', 10, 0],
        [path.join('tiny', 'abc'), 10, 1],
      ],
    );
    assert.equal(rows[1].dipIters[0], dipped[4].iter);
    for (const r of rows) assert.ok(r.dipThresholdEffective >= 0.015 && r.dipThresholdEffective < 0.03, `${r.dipThresholdEffective}`);
  });
});
