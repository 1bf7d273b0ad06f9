import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchLoader, type Batch } from '../data/loader.ts';
import type { ImageSet } from '../data/image-set.ts';

/** n images of 2x2x3; every float of image i encodes i, so batches can be checked exactly. */
function indexedSet(n: number): ImageSet {
  const size = 2 * 2 * 3;
  const images = new Float32Array(n * size);
  for (let i = 0; i < n; i++) for (let k = 0; k < size; k++) images[i * size + k] = (i * size + k) / (n * size);
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 5);
  return { name: 'indexed', images, labels, count: n, height: 2, width: 2, channels: 3, numClasses: 5 };
}

function checkBatchContents(set: ImageSet, b: Batch): void {
  const size = 12;
  assert.equal(b.images.length, b.indices.length * size);
  assert.deepEqual(b.shape, [b.indices.length, 2, 2, 3]);
  for (let i = 0; i < b.indices.length; i++) {
    const src = b.indices[i];
    assert.deepEqual(b.images.subarray(i * size, (i + 1) * size), set.images.subarray(src * size, (src + 1) * size));
    assert.equal(b.labels[i], set.labels[src]);
  }
}

test('loader: without drop_last every index appears exactly once per epoch', () => {
  const set = indexedSet(103);
  const loader = new BatchLoader(set, { batchSize: 10, seed: 1, dropLast: false });
  assert.equal(loader.stepsPerEpoch, 11);
  for (const epoch of [0, 1, 5]) {
    const seen = new Int32Array(103);
    for (let s = 0; s < loader.stepsPerEpoch; s++) {
      const b = loader.batchAt(epoch, s);
      assert.equal(b.epoch, epoch);
      assert.equal(b.step, s);
      assert.equal(b.indices.length, s === 10 ? 3 : 10);
      checkBatchContents(set, b);
      for (const i of b.indices) seen[i]++;
    }
    assert.ok(
      seen.every((c) => c === 1),
      `epoch ${epoch}: counts ${[...seen].filter((c) => c !== 1)}`,
    );
  }
});

test('loader: with drop_last, full batches only and no index repeats within an epoch', () => {
  const set = indexedSet(103);
  const loader = new BatchLoader(set, { batchSize: 10, seed: 1 });
  assert.equal(loader.dropLast, true);
  assert.equal(loader.stepsPerEpoch, 10);
  const seen = new Set<number>();
  for (let s = 0; s < 10; s++) {
    const b = loader.batchAt(0, s);
    assert.equal(b.indices.length, 10);
    for (const i of b.indices) seen.add(i);
  }
  assert.equal(seen.size, 100);
  assert.throws(() => loader.batchAt(0, 10), /step must be an integer in \[0, 10\)/);
  assert.throws(() => new BatchLoader(indexedSet(5), { batchSize: 8, seed: 0 }), /5 images, fewer than one batch of 8 with drop_last/);
  assert.equal(new BatchLoader(indexedSet(5), { batchSize: 8, seed: 0, dropLast: false }).stepsPerEpoch, 1);
});

test('loader: permutation differs across epochs and seeds, and is shuffled', () => {
  const set = indexedSet(200);
  const a = new BatchLoader(set, { batchSize: 16, seed: 3 });
  const b = new BatchLoader(set, { batchSize: 16, seed: 4 });
  const p0 = a.permutation(0);
  const p1 = a.permutation(1);
  assert.notDeepEqual(p0, p1);
  assert.notDeepEqual(p0, b.permutation(0));
  assert.notDeepEqual(
    p0,
    Int32Array.from({ length: 200 }, (_, i) => i),
  );
  assert.deepEqual(
    [...p0].sort((x, y) => x - y),
    Array.from({ length: 200 }, (_, i) => i),
  );
  const seq = new BatchLoader(set, { batchSize: 16, seed: 3, shuffle: false });
  assert.deepEqual(
    [...seq.batchAt(2, 1).indices],
    Array.from({ length: 16 }, (_, i) => 16 + i),
  );
});

test('loader: batchAt is reproducible, independent of call order (resume)', () => {
  const set = indexedSet(97);
  const first = new BatchLoader(set, { batchSize: 8, seed: 42 });
  const ref: Batch[] = [];
  for (let e = 0; e < 3; e++) for (let s = 0; s < first.stepsPerEpoch; s++) ref.push(first.batchAt(e, s));
  // a fresh loader asked in a scrambled order (as after a resume) gives the same batches
  const resumed = new BatchLoader(set, { batchSize: 8, seed: 42 });
  for (const k of [30, 2, 25, 0, 13, 12, 35]) {
    const { epoch, step } = resumed.position(k);
    assert.equal(resumed.globalStep(epoch, step), k);
    const b = resumed.batchAt(epoch, step);
    assert.deepEqual(b, ref[k]);
  }
  assert.notDeepEqual(new BatchLoader(set, { batchSize: 8, seed: 43 }).batchAt(0, 0).indices, ref[0].indices);
});

test('loader: the async iterator yields the same batches as batchAt, across epochs and on resume', async () => {
  const set = indexedSet(50);
  const loader = new BatchLoader(set, { batchSize: 7, seed: 5 });
  assert.equal(loader.stepsPerEpoch, 7);
  const got: Batch[] = [];
  for await (const b of loader.batches({ endEpoch: 3 })) got.push(b);
  assert.equal(got.length, 21);
  got.forEach((b, k) => {
    const { epoch, step } = loader.position(k);
    assert.deepEqual(b, loader.batchAt(epoch, step));
  });
  // resume at epoch 1 step 5, take 4 batches: crosses into epoch 2
  const resumed: Batch[] = [];
  for await (const b of new BatchLoader(set, { batchSize: 7, seed: 5 }).batches({ startEpoch: 1, startStep: 5, maxBatches: 4 })) {
    resumed.push(b);
  }
  assert.deepEqual(
    resumed.map((b) => [b.epoch, b.step]),
    [
      [1, 5],
      [1, 6],
      [2, 0],
      [2, 1],
    ],
  );
  assert.deepEqual(resumed, got.slice(12, 16));
  // unbounded iteration stops when the consumer breaks
  let n = 0;
  for await (const b of loader.batches()) {
    assert.deepEqual(b, got[n]);
    if (++n === 9) break;
  }
  assert.equal(n, 9);
});

test('loader: prepare runs one batch ahead of the consumer, in order', async () => {
  const set = indexedSet(40);
  const loader = new BatchLoader(set, { batchSize: 8, seed: 9 });
  const events: string[] = [];
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const prepared = loader.batches({
    endEpoch: 1,
    prepare: async (b) => {
      events.push(`prepare ${b.step}`);
      await sleep(5);
      return { step: b.step, sum: b.labels.reduce((a, c) => a + c, 0) };
    },
  });
  const out: { step: number; sum: number }[] = [];
  for await (const p of prepared) {
    events.push(`consume ${p.step}`);
    out.push(p);
    await sleep(20); // the consumer's "training step"
    events.push(`done ${p.step}`);
  }
  assert.deepEqual(
    out.map((p) => p.step),
    [0, 1, 2, 3, 4],
  );
  out.forEach((p) => {
    assert.equal(
      p.sum,
      loader.batchAt(0, p.step).labels.reduce((a, c) => a + c, 0),
    );
  });
  // batch k+1 is being prepared while the consumer still works on batch k
  for (let k = 0; k < 4; k++) {
    assert.ok(events.indexOf(`prepare ${k + 1}`) < events.indexOf(`done ${k}`), events.join(', '));
  }
  // but never more than one ahead
  for (let k = 0; k < 3; k++) {
    assert.ok(events.indexOf(`prepare ${k + 2}`) > events.indexOf(`consume ${k}`), events.join(', '));
  }
});

test('loader: an error in prepare reaches the consumer', async () => {
  const loader = new BatchLoader(indexedSet(40), { batchSize: 8, seed: 9 });
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const b of loader.batches({
      prepare: (b) => {
        if (b.step === 2) throw new Error('augment failed on step 2');
        return b;
      },
    })) {
      seen.push(b.step);
    }
  }, /augment failed on step 2/);
  assert.deepEqual(seen, [0, 1]);
});
