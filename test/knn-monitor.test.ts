import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { knnAccuracy } from '../evaluators/knn.ts';
import { KnnMonitor } from '../evaluators/knn-monitor.ts';
import { assertClose, useBackend } from './helpers/backend.ts';

const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

/** Queue rows oldest -> newest, from a state. */
function ordered(s: { features: Float32Array; labels: Int32Array; head: number; size: number }, dim: number) {
  const cap = s.labels.length;
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < s.size; i++) {
    const r = (s.head - s.size + i + cap) % cap;
    rows.push(Array.from(s.features.subarray(r * dim, (r + 1) * dim)));
    labels.push(s.labels[r]);
  }
  return { rows, labels };
}

/** Clustered features: class c around centre c, plus noise. */
function clustered(rng: Rng, centres: number[][], labels: Int32Array, noise: number): number[][] {
  return Array.from(labels, (c) => centres[c].map((m) => m + rng.normal(0, noise)));
}

describe('KnnMonitor on wasm', () => {
  before(async () => useBackend('wasm'));

  it('is a FIFO ring: after more than capacity pushes the oldest are gone; rows are normalised', async () => {
    const dim = 3;
    const m = new KnnMonitor({ capacity: 5, dim, numClasses: 10 });
    const feats = Array.from({ length: 9 }, (_, i) => [i + 1, 2 * i - 3, 0.5 * i + 1]);
    const push = async (from: number, to: number) => {
      const t = tf.tensor2d(feats.slice(from, to));
      await m.push(
        t,
        Int32Array.from({ length: to - from }, (_, i) => from + i),
      );
      t.dispose();
    };
    await push(0, 3);
    assert.equal(m.size, 3);
    let s = m.state();
    assert.equal(s.head, 3);
    assert.deepEqual(ordered(s, dim).labels, [0, 1, 2]);
    await push(3, 7);
    s = m.state();
    assert.equal(m.size, 5);
    assert.equal(s.head, 2);
    assert.deepEqual(ordered(s, dim).labels, [2, 3, 4, 5, 6]);
    assertClose(ordered(s, dim).rows.flat(), feats.slice(2, 7).flatMap(unit), 1e-6, 0, 'queue rows');
    // A batch larger than the queue leaves only its newest rows.
    const big = tf.tensor2d([...feats, ...feats].slice(0, 8));
    await m.push(big, Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]));
    big.dispose();
    s = m.state();
    assert.deepEqual(ordered(s, dim).labels, [3, 4, 5, 6, 7]);
    assertClose(ordered(s, dim).rows.flat(), feats.slice(3, 8).flatMap(unit), 1e-6, 0, 'queue rows after a big batch');
    const bad = tf.tensor2d([[1, 2]]);
    await assert.rejects(async () => m.push(bad, Int32Array.from([0])), /\[batch, 3\]/);
    bad.dispose();
    m.dispose();
  });

  it('evaluate equals knnAccuracy on the current queue, and the stale (mislabelled) entries no longer count', async () => {
    const rng = new Rng(4);
    const dim = 6;
    const numClasses = 4;
    const cap = 40;
    const centres = Array.from({ length: numClasses }, () => Array.from({ length: dim }, () => rng.normal(0, 1)));
    const m = new KnnMonitor({ capacity: cap, dim, numClasses, k: 7 });
    const qLabels = Int32Array.from({ length: 30 }, () => rng.int(numClasses));
    const queries = tf.tensor2d(clustered(rng, centres, qLabels, 0.4));
    await assert.rejects(async () => m.evaluate(queries, qLabels), /empty/);
    // Old features carry wrong labels (shifted by one class).
    const oldLabels = Int32Array.from({ length: 50 }, () => rng.int(numClasses));
    const oldT = tf.tensor2d(clustered(rng, centres, oldLabels, 0.4));
    await m.push(
      oldT,
      oldLabels.map((y) => (y + 1) % numClasses),
    );
    const accStale = await m.evaluate(queries, qLabels);
    assert.ok(accStale < 0.3, `a queue of mislabelled features scores low (${accStale})`);
    // Then cap + 3 correct ones in batches of 11: the queue holds only correct ones.
    const newLabels = Int32Array.from({ length: cap + 3 }, () => rng.int(numClasses));
    const newX = clustered(rng, centres, newLabels, 0.4);
    for (let i = 0; i < newX.length; i += 11) {
      const t = tf.tensor2d(newX.slice(i, i + 11));
      await m.push(t, newLabels.slice(i, i + 11));
      t.dispose();
    }
    const acc = await m.evaluate(queries, qLabels);
    const bank = tf.tensor2d(newX.slice(-cap));
    const expected = await knnAccuracy(bank, newLabels.slice(-cap), queries, qLabels, { k: 7, numClasses });
    assert.equal(acc, expected);
    assert.ok(acc > 0.8, `a clean queue classifies the clusters (${acc})`);
    tf.dispose([bank, oldT, queries]);
    m.dispose();
  });

  it('state round trip: a restored monitor evaluates and continues identically; bad states are refused', async () => {
    const rng = new Rng(8);
    const dim = 5;
    const opts = { capacity: 12, dim, numClasses: 3, k: 4 };
    const a = new KnnMonitor(opts);
    const batch = () => {
      const y = Int32Array.from({ length: 5 }, () => rng.int(3));
      return { t: tf.tensor2d(Array.from(y, (c) => Array.from({ length: dim }, () => rng.normal(c, 1)))), y };
    };
    for (let i = 0; i < 3; i++) {
      const b = batch();
      await a.push(b.t, b.y);
      b.t.dispose();
    }
    const b = KnnMonitor.fromState(opts, a.state());
    assert.deepEqual(b.state(), a.state());
    const qy = Int32Array.from({ length: 20 }, (_, i) => i % 3);
    const q = tf.tensor2d(Array.from(qy, (c) => Array.from({ length: dim }, () => rng.normal(c, 1))));
    assert.equal(await b.evaluate(q, qy), await a.evaluate(q, qy));
    const nb = batch();
    await a.push(nb.t, nb.y);
    await b.push(nb.t, nb.y);
    assert.deepEqual(b.state(), a.state());
    // The state is a copy: mutating it does not touch the monitor.
    const s = a.state();
    s.labels[0] = 2 - s.labels[0];
    s.features[0] += 1;
    assert.notDeepEqual(a.state().labels, s.labels);
    assert.notDeepEqual(a.state().features, s.features);
    // Checkpoint form.
    const c = new KnnMonitor(opts);
    c.loadFromCheckpoint(await a.stateForCheckpoint());
    assert.deepEqual(c.state(), a.state());
    // Validation.
    const good = a.state();
    assert.throws(() => c.loadState({ ...good, features: new Float32Array(10) }), /capacity x dim/);
    assert.throws(() => c.loadState({ ...good, head: 12 }), /head/);
    assert.throws(() => c.loadState({ ...good, size: 5, head: 7 }), /head === size/);
    assert.throws(() => new KnnMonitor({ ...opts, capacity: 13 }).loadState(good), /capacity/);
    tf.dispose([q, nb.t]);
    [a, b, c].forEach((m) => {
      m.dispose();
    });
  });

  it('push and evaluate do not leak tensors', async () => {
    const m = new KnnMonitor({ capacity: 16, dim: 4, numClasses: 2 });
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
    const y = Int32Array.from([0, 1, 0, 1, 1, 0]);
    await m.push(x, y);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await m.push(x, y);
    await m.evaluate(x, y);
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    m.dispose();
  });
});
