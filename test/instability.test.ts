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
import { type SeriesPoint, curveNoise, detectInstability, findDips, findSpikes, spikeOrdering } from '../evaluators/instability.ts';
import { relativeGradCurve } from '../evaluators/grad-monitor.ts';
import { loadSuite } from '../suites/index.ts';
import { matrixTable, pretrainTable, resolveCell } from '../runner/pretrain-suite.ts';
import type { PretrainResult } from '../runner/pretrain.ts';

/** Deterministic N(0, 1) draws (LCG + Box-Muller). */
function gaussians(seed: number): () => number {
  let s = seed;
  const u = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 1) / 4294967297;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

const curve = (values: (number | null)[], every = 1, from = 0): SeriesPoint[] => values.map((value, i) => ({ iter: from + every * i, value }));

/** kNN curve: 40 evaluations every 25 iterations, rising 1 point per evaluation from 30%, two planted dips. */
function knnWithDips(): SeriesPoint[] {
  const v = Array.from({ length: 40 }, (_, i) => 0.3 + 0.01 * i);
  // dip 1: top 0.39 at i = 9 (iter 250); 0.36, 0.34 (bottom, iter 300), 0.385 (recovered, iter 325)
  v[10] = 0.36;
  v[11] = 0.34;
  v[12] = 0.385;
  // dip 2, still down at the end: top 0.66 at i = 36 (iter 925); 0.62, 0.60 (bottom), 0.63
  v[37] = 0.62;
  v[38] = 0.6;
  v[39] = 0.63;
  return curve(v, 25, 25);
}

describe('kNN dips', () => {
  it('finds planted dips: start, bottom, depth, recovery, and one still open at the end', () => {
    const dips = findDips(knnWithDips(), 0.02);
    assert.equal(dips.length, 2);
    const [a, b] = dips;
    assert.deepEqual([a.peak, a.start, a.bottom, a.recovered, a.recoveredAt], [250, 275, 300, true, 325]);
    assert.ok(Math.abs(a.depth - 0.05) < 1e-9 && Math.abs(a.peakValue - 0.39) < 1e-9 && Math.abs(a.bottomValue - 0.34) < 1e-9);
    assert.deepEqual([b.peak, b.start, b.bottom, b.recovered, b.recoveredAt], [925, 950, 975, false, undefined]);
    assert.ok(Math.abs(b.depth - 0.06) < 1e-9);
    // through the summary: the noise floor of a clean line is 0, so the 2-point threshold applies
    const s = detectInstability({ knn: knnWithDips() });
    assert.equal(s.unstable, true);
    assert.equal(s.thresholds.knnNoise, 0);
    assert.equal(s.thresholds.dipThresholdEffective, 0.02);
    assert.deepEqual(s.dips, dips);
    // a larger threshold: neither dip counts
    assert.equal(detectInstability({ knn: knnWithDips() }, { dipThreshold: 0.1 }).unstable, false);
  });

  it('a drop within the threshold, or a slow decline followed by recovery to within half of it, is no dip or one dip', () => {
    assert.equal(findDips(curve([0.5, 0.49, 0.485, 0.5, 0.51]), 0.02).length, 0);
    // 0.5 -> 0.47 (dip) -> 0.489 (still below 0.5 - 0.01) -> 0.495 (recovered)
    const [d, ...rest] = findDips(curve([0.5, 0.47, 0.489, 0.495, 0.52, 0.53]), 0.02);
    assert.equal(rest.length, 0);
    assert.deepEqual([d.start, d.bottom, d.recoveredAt], [1, 1, 3]);
  });

  it('no alarm on a smooth rising curve, a rising curve with 0.3-point noise, or a noisy plateau', () => {
    const smooth = curve(Array.from({ length: 120 }, (_, i) => 0.7 - 0.5 * Math.exp(-i / 20)), 10);
    assert.equal(detectInstability({ knn: smooth }).unstable, false);
    for (let seed = 1; seed <= 20; seed++) {
      const g = gaussians(seed);
      const rising = curve(Array.from({ length: 200 }, (_, i) => 0.7 - 0.5 * Math.exp(-i / 40) + 0.003 * g()), 10);
      const s = detectInstability({ knn: rising });
      assert.equal(s.dips.length, 0, `seed ${seed}: ${JSON.stringify(s.dips)}`);
      // a plateau whose monitor noise (2 points) is as large as the 2-point threshold: the noise floor keeps it quiet
      const plateau = curve(Array.from({ length: 300 }, () => 0.5 + 0.02 * g()), 10);
      const p = detectInstability({ knn: plateau });
      assert.ok(Math.abs(p.thresholds.knnNoise - 0.02) < 0.006, `noise estimate ${p.thresholds.knnNoise}`);
      assert.equal(p.dips.length, 0, `seed ${seed}: ${JSON.stringify(p.dips)}`);
      // while a dip of 15 sigma on that plateau is found
      const v = plateau.map((q) => ({ ...q }));
      for (const i of [150, 151, 152]) v[i].value = (v[i].value as number) - 0.3;
      const found = detectInstability({ knn: v }).dips;
      assert.equal(found.length, 1);
      assert.ok(found[0].start >= 1500 && found[0].start <= 1520 && found[0].recovered);
    }
  });

  it('short curves, NaN and null values (divergence) neither crash nor count', () => {
    assert.deepEqual(findDips([], 0.02), []);
    assert.deepEqual(findDips(curve([0.4]), 0.02), []);
    assert.equal(curveNoise(curve([0.1, 0.5])), 0);
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
  it('pairs each first-layer spike with the nearest last-layer spike per layer; signed lags; unmatched counted', () => {
    const first = 'first: patch_embed.proj.weight', qkv = 'last: blocks.5.attn.qkv.weight', fc2 = 'last: blocks.5.mlp.fc2.weight', middle = 'middle: blocks.2.attn.qkv.weight';
    const grad = {
      [first]: gradCurve(400, { 50: 20, 300: 20 }),
      [middle]: gradCurve(400, { 55: 20 }),
      [qkv]: gradCurve(400, { 62: 20 }),
      [fc2]: gradCurve(400, { 45: 20, 310: 20 }),
    };
    const s = detectInstability({ knn: [], grad });
    assert.equal(s.unstable, true);
    assert.deepEqual(Object.fromEntries(Object.entries(s.spikes).map(([k, v]) => [k, v.map((x) => x.iter)])), {
      [first]: [50, 300], [middle]: [55], [qkv]: [62], [fc2]: [45, 310],
    });
    const o = s.firstLayerLeads;
    assert.deepEqual(o.pairs.map((p) => [p.firstIter, p.lastLayer, p.lastIter, p.lag]), [
      [50, qkv, 62, 12],
      [50, fc2, 45, -5],
      [300, fc2, 310, 10],
    ]);
    assert.deepEqual(o.lags, [12, -5, 10]);
    assert.deepEqual([o.leadsCount, o.lagsCount, o.sameCount, o.unmatched], [2, 1, 0, 1]);
    // a narrower window leaves only the 5- and 10-iteration pairs
    const narrow = spikeOrdering(s.spikes, [first], [qkv, fc2], 10);
    assert.deepEqual(narrow.lags, [-5, 10]);
    assert.equal(narrow.unmatched, 2);
  });
});

describe('relative gradient values (Fig. 4)', () => {
  it('divides by the run median, or by the running median of a window', () => {
    const pts = curve([1, 2, 3, Number.NaN, 4]);
    assert.deepEqual(relativeGradCurve(pts).map((p) => p.value), [0.4, 0.8, 1.2, Number.NaN, 1.6]);
    assert.deepEqual(relativeGradCurve(pts, 2).map((p) => p.value), [Number.NaN, 2, 2, Number.NaN, 1.6]);
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
      iterations: 1000, epochs: 1, trainImages: 10, imagesPerSec: 1,
      ...(curves ? { curves } : {}),
    } as unknown as PretrainResult;
    if (curves && stored) r.instability = detectInstability(curves as PretrainResult['curves']);
    return r;
  };

  it('matrix cells get the marker, flags say "unstable (N dips, M spikes)", notes list the events; old results still render', () => {
    const suite = loadSuite('table4');
    const cells = suite.cells.map((c) => resolveCell(suite, c, { preset: 'tiny', runsDir }));
    const grad = { 'first: conv1.weight': gradCurve(400, { 50: 20 }), 'last: layer4.0.conv3.weight': gradCurve(400, { 62: 20 }) };
    const results = cells.map((_, i) =>
      i === 0 ? fake(0.5, { knn: knnWithDips(), loss: [], lr: [], grad })
      : i === 1 ? fake(0.51, { knn: knnWithDips(), loss: [], lr: [] }, false) // written before `instability` existed: recomputed
      : i === 2 ? fake(0.52, { knn: curve([0.1, 0.2, 0.3]), loss: [], lr: [] }) // stable
      : fake(0.5 + i / 100)); // no curves at all
    const t = matrixTable(suite, 'tiny', cells, results);
    assert.equal(t.rows[0]['moco-v3'], '50.0*');
    assert.equal(t.rows[0].simclr, '51.0*');
    assert.equal(t.rows[0].byol, '52.0');
    assert.equal(t.rows[1]['moco-v3'], '54.0');
    assert.match(t.notes.join('\n'), /\* marks an unstable cell; 2 of 12 cells unstable\./);
    assert.ok(t.notes.includes(`kNN dip threshold per cell (points; above 2.0 when the monitor's own noise sets it): ${cells[0].cell.id} 2.0, ${cells[1].cell.id} 2.0, ${cells[2].cell.id} 2.0.`));
    const note = t.notes.find((n) => n.startsWith(`unstable, ${cells[0].cell.id}:`))!;
    assert.match(note, /kNN dips \(threshold 2\.0 pts\) at iter 275 \(bottom 34\.0% at iter 300, -5\.0 pts from 39\.0% at iter 250; recovered at iter 325\), iter 950 \(.*not recovered\)/);
    assert.match(note, /gradient spikes: first: conv1\.weight at iter 50 \(\d+\.\dx\); last: layer4\.0\.conv3\.weight at iter 62/);
    assert.match(note, /first-layer spike before the last layer's in 1 of 1 pairs \(after: 0, same iteration: 0\): 50 -> 62 \(layer4\.0\.conv3\.weight, lag \+12\)/);
    const d = pretrainTable(suite, 'tiny', cells, results);
    assert.equal(d.rows[0].flags, 'unstable (2 dips, 2 spikes)');
    assert.equal(d.rows[1].flags, 'unstable (2 dips, 0 spikes)');
    assert.equal(d.rows[2].flags, '');
    assert.equal(d.rows[3].flags, '');
  });
});
