import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { knnAccuracy, knnPredict } from '../evaluators/knn.ts';
import { useBackend } from './helpers/backend.ts';

const deg = (a: number) => (a * Math.PI) / 180;
const at = (a: number, r = 1) => [r * Math.cos(deg(a)), r * Math.sin(deg(a))];

/*
 * Six bank points on rays (angle in degrees, length, class). Lengths differ so that a classifier
 * that forgets to normalise picks other neighbours.
 */
const BANK: [number, number, number][] = [
  [0, 1, 0],
  [40, 1, 1],
  [45, 2, 1],
  [90, 1, 2],
  [100, 3, 0],
  [180, 1, 2],
];
const bankT = () => tf.tensor2d(BANK.map(([a, r]) => at(a, r)));
const bankLabels = Int32Array.from(BANK.map(([, , y]) => y));
const w = (s: number, t = 0.07) => Math.exp(s / t);
const cosDeg = (d: number) => Math.cos(deg(d));

/** Brute-force float64 reference of the weighted kNN. */
function refPredict(bank: number[][], labels: Int32Array, queries: number[][], k: number, t: number, numClasses: number): number[] {
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const b = bank.map(unit);
  return queries.map((q0) => {
    const q = unit(q0);
    const sims = b.map((x, i) => [x.reduce((s, xi, j) => s + xi * q[j], 0), i]).sort((u, v) => v[0] - u[0]);
    const votes = new Array(numClasses).fill(0);
    for (const [s, i] of sims.slice(0, Math.min(k, b.length))) votes[labels[i]] += Math.exp(s / t);
    return votes.indexOf(Math.max(...votes));
  });
}

describe('weighted kNN on wasm', () => {
  before(async () => useBackend('wasm'));

  it('matches a hand-computed example; weighting overturns the unweighted majority; inputs are normalised', async () => {
    const bank = bankT();
    // q1 at 0 deg: neighbours p0 (class 0, sim 1), p1 (class 1, cos 40), p2 (class 1, cos 45).
    // q2 at 93 deg, length 0.5: p3 (class 2, cos 3), p4 (class 0, cos 7), p2 (class 1, cos 48).
    const queries = tf.tensor2d([at(0, 2), at(93, 0.5)]);
    const v1 = [w(1), w(cosDeg(40)) + w(cosDeg(45)), 0];
    const v2 = [w(cosDeg(7)), w(cosDeg(48)), w(cosDeg(3))];
    assert.ok(v1[0] > v1[1], 'weighted: class 0 wins q1');
    // Unweighted, class 1 has 2 of the 3 votes for q1; the weights overturn it.
    const expected = [v1.indexOf(Math.max(...v1)), v2.indexOf(Math.max(...v2))];
    assert.deepEqual(expected, [0, 2]);
    assert.deepEqual(Array.from(await knnPredict(bank, bankLabels, queries, { k: 3, numClasses: 3 })), expected);
    // Unnormalised dot products would pick p4 (length 3, class 0) for q2: normalisation matters.
    assert.ok(3 * cosDeg(7) > 1 * cosDeg(3));
    // At a high temperature the votes are nearly uniform, so the majority (class 1) wins q1.
    assert.deepEqual(Array.from(await knnPredict(bank, bankLabels, queries, { k: 3, numClasses: 3, temperature: 100 })), [1, 2]);
    tf.dispose([bank, queries]);
  });

  it('k larger than the bank uses the whole bank', async () => {
    const bank = bankT();
    // q at 135 deg with T = 1: k = 1 -> p4 (class 0); all six -> class 2 (p3 and p5 at 45 deg each).
    const queries = tf.tensor2d([at(135)]);
    const all = [w(cosDeg(35), 1) + w(cosDeg(135), 1), w(cosDeg(90), 1) + w(cosDeg(95), 1), w(cosDeg(45), 1) * 2];
    assert.equal(all.indexOf(Math.max(...all)), 2);
    assert.deepEqual(Array.from(await knnPredict(bank, bankLabels, queries, { k: 1, numClasses: 3, temperature: 1 })), [0]);
    assert.deepEqual(Array.from(await knnPredict(bank, bankLabels, queries, { k: 500, numClasses: 3, temperature: 1 })), [2]);
    assert.deepEqual(Array.from(await knnPredict(bank, bankLabels, queries, { numClasses: 3, temperature: 1 })), [2], 'default k = 200');
    tf.dispose([bank, queries]);
  });

  it('agrees with a brute-force reference on random data, for every chunk size; accuracy', async () => {
    const rng = new Rng(9);
    const numClasses = 5;
    const dim = 8;
    const centres = Array.from({ length: numClasses }, () => Array.from({ length: dim }, () => rng.normal()));
    const sample = (n: number) => {
      const y = Int32Array.from({ length: n }, () => rng.int(numClasses));
      const x = Array.from(y, (c) => centres[c].map((m) => m + rng.normal(0, 1.2)));
      return { x, y };
    };
    const b = sample(120);
    const q = sample(37);
    const bank = tf.tensor2d(b.x);
    const queries = tf.tensor2d(q.x);
    const ref = refPredict(b.x, b.y, q.x, 10, 0.07, numClasses);
    for (const chunk of [undefined, 1, 5, 37, 100]) {
      assert.deepEqual(Array.from(await knnPredict(bank, b.y, queries, { k: 10, numClasses, chunk })), ref, `chunk ${chunk}`);
    }
    const acc = ref.filter((p, i) => p === q.y[i]).length / ref.length;
    assert.ok(acc > 0.3 && acc < 1, `reference accuracy ${acc} should be informative`);
    assert.equal(await knnAccuracy(bank, b.y, queries, q.y, { k: 10, numClasses }), acc);
    const before = tf.memory().numTensors;
    await knnPredict(bank, b.y, queries, { k: 10, numClasses, chunk: 4 });
    assert.equal(tf.memory().numTensors, before, 'no tensor leak');
    tf.dispose([bank, queries]);
  });

  it('validates its inputs', async () => {
    const bank = bankT();
    const q = tf.tensor2d([[1, 0]]);
    const q3 = tf.tensor2d([[1, 0, 0]]);
    await assert.rejects(async () => knnPredict(bank, bankLabels.subarray(0, 5), q, { numClasses: 3 }), /5 bank labels for 6/);
    await assert.rejects(async () => knnPredict(bank, bankLabels, q3, { numClasses: 3 }), /dimension/);
    await assert.rejects(async () => knnPredict(bank, bankLabels, q, { numClasses: 2 }), /not a class index/);
    await assert.rejects(async () => knnPredict(bank, bankLabels, q, { numClasses: 3, k: 0 }), /k must/);
    await assert.rejects(async () => knnAccuracy(bank, bankLabels, q, new Int32Array(2), { numClasses: 3 }), /2 query labels for 1/);
    tf.dispose([bank, q, q3]);
  });
});
