import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { blurKernelSize, gaussianBlur, gaussianKernel1d, reflectIndex } from '../augment/blur.ts';

const [B, H, W, C] = [2, 5, 6, 3];

function randomArray(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.next());
}

/** Mirror without repeating the edge (PyTorch 'reflect'), bouncing again for pads wider than the side. */
const reflect = (i: number, n: number): number => {
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
};

/** Direct 2-D convolution with the 2-D Gaussian exp(-(dy^2 + dx^2) / (2 sigma^2)) / sum, reflect padding. */
function refBlur(a: Float32Array, sigmas: number[], k: number): Float32Array {
  const r = (k - 1) / 2;
  const out = new Float32Array(a.length);
  for (let b = 0; b < B; b++) {
    const s = sigmas[b];
    let norm = 0;
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) norm += Math.exp(-(dy * dy + dx * dx) / (2 * s * s));
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let dy = -r; dy <= r; dy++)
            for (let dx = -r; dx <= r; dx++) {
              const w = Math.exp(-(dy * dy + dx * dx) / (2 * s * s)) / norm;
              acc += w * a[((b * H + reflect(i + dy, H)) * W + reflect(j + dx, W)) * C + c];
            }
          out[((b * H + i) * W + j) * C + c] = acc;
        }
  }
  return out;
}

test('blurKernelSize: about 10% of the side, odd (23 at 224)', () => {
  assert.equal(blurKernelSize(224), 23);
  assert.equal(blurKernelSize(32), 3);
  assert.equal(blurKernelSize(64), 7);
  assert.equal(blurKernelSize(96), 9);
  assert.equal(blurKernelSize(16), 1);
  for (let s = 1; s < 400; s++) assert.equal(blurKernelSize(s) % 2, 1);
});

test('gaussianKernel1d is torchvision _get_gaussian_kernel1d', () => {
  const k = gaussianKernel1d(1.3, 7);
  assert.equal(k.length, 7);
  const raw = [-3, -2, -1, 0, 1, 2, 3].map((x) => Math.exp(-0.5 * (x / 1.3) ** 2));
  const sum = raw.reduce((p, q) => p + q, 0);
  raw.forEach((v, i) => {
    assert.ok(Math.abs(k[i] - v / sum) < 1e-7, `tap ${i}`);
  });
  assert.throws(() => gaussianKernel1d(1, 4), /odd/);
  assert.throws(() => gaussianKernel1d(0, 3), /sigma/);
});

test('reflectIndex mirrors without repeating the edge, for any pad', () => {
  assert.deepEqual(
    [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6].map((i) => reflectIndex(i, 4)),
    [3, 2, 1, 0, 1, 2, 3, 2, 1, 0],
  );
  assert.deepEqual(
    [-7, 9].map((i) => reflectIndex(i, 4)),
    [1, 3],
  );
  assert.equal(reflectIndex(-5, 1), 0);
});

test('gaussianBlur matches a direct 2-D convolution with reflect padding, per-image sigma', () => {
  const a = randomArray(1, B * H * W * C);
  const x = tf.tensor4d(a, [B, H, W, C]);
  for (const [sigmas, k] of [
    [[0.7, 1.6], 5],
    [[2.0, 0.1], 3],
    [[1.1, 0.45], 9], // pad 4 < 5: still plain reflect (tf.mirrorPad)
    [[1.7, 0.9], 11], // pad 5: rows (5) need a double reflection (gather), columns (6) do not
  ] as [number[], number][]) {
    const y = gaussianBlur(x, sigmas, k);
    assert.deepEqual(y.shape, [B, H, W, C]);
    const expected = refBlur(a, sigmas, k);
    const got = y.dataSync();
    for (let i = 0; i < got.length; i++) {
      assert.ok(Math.abs(got[i] - expected[i]) < 1e-5, `sigmas ${sigmas} k ${k} element ${i}: ${got[i]} vs ${expected[i]}`);
    }
    y.dispose();
  }
  x.dispose();
});

test('gaussianBlur: kernel 1 is the identity; constants stay constant; blur smooths', () => {
  const a = randomArray(2, B * H * W * C);
  const x = tf.tensor4d(a, [B, H, W, C]);
  const id = gaussianBlur(x, [1, 1], 1);
  assert.deepEqual(id.dataSync(), x.dataSync());
  const k = tf.fill([B, H, W, C], 0.3) as tf.Tensor4D;
  const kb = gaussianBlur(k, [1.5, 0.5], 13); // pad 6 > side: repeated reflection
  for (const v of kb.dataSync()) assert.ok(Math.abs(v - 0.3) < 1e-6);
  // variance across pixels drops, more for the larger sigma
  const bl = gaussianBlur(x, [0.3, 2.0], 5);
  const variance = (d: ArrayLike<number>, b: number) => {
    const n = H * W * C;
    let s = 0;
    let s2 = 0;
    for (let i = b * n; i < (b + 1) * n; i++) {
      s += d[i];
      s2 += d[i] * d[i];
    }
    return s2 / n - (s / n) ** 2;
  };
  const bd = bl.dataSync();
  assert.ok(variance(bd, 0) < variance(a, 0) && variance(bd, 0) > 0.5 * variance(a, 0), 'sigma 0.3 barely blurs');
  assert.ok(variance(bd, 1) < 0.3 * variance(a, 1), 'sigma 2 blurs a lot');
  tf.dispose([x, id, k, kb, bl]);
});

test('gaussianBlur leaves no tensors behind', () => {
  const x = tf.tensor4d(randomArray(3, B * H * W * C), [B, H, W, C]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) gaussianBlur(x, [0.5, 1.5], 5).dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});
