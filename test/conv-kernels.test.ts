/**
 * Convolution kernels: the wasm backend's filter gradient (engine/kernels/wasm-conv-filter-grad.ts)
 * and the native im2col + GEMM kernels (engine/kernels/native-conv.ts) against the stock cpu
 * kernels, forward and both gradients, over strides, paddings, dilations and 1x1 shortcuts.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { initBackend, setPrecision } from '../engine/backend.ts';
import { nativeAddon } from '../engine/kernels/native-addon.ts';
import { assertClose, gradCheck, skipWithoutOnednn } from './helpers/backend.ts';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number;
}

const CASES: Case[] = [
  { x: [2, 7, 6, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 7, 6, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same' },
  {
    x: [2, 8, 8, 3],
    f: [7, 7, 3, 5],
    strides: 2,
    pad: [
      [0, 0],
      [3, 3],
      [3, 3],
      [0, 0],
    ],
  }, // ResNet stem
  { x: [3, 5, 5, 4], f: [1, 1, 4, 6], strides: 1, pad: 'valid' }, // pointwise: no im2col
  { x: [3, 5, 5, 4], f: [1, 1, 4, 6], strides: 2, pad: 'valid' }, // strided shortcut
  { x: [1, 6, 9, 2], f: [2, 3, 2, 3], strides: [1, 2], pad: 'valid' },
  { x: [2, 6, 6, 2], f: [3, 3, 2, 2], strides: 1, pad: 1 },
  {
    x: [2, 5, 7, 3],
    f: [3, 2, 3, 2],
    strides: [2, 1],
    pad: [
      [0, 0],
      [0, 2],
      [1, 0],
      [0, 0],
    ],
  }, // asymmetric
];
const DILATED: Case = { x: [2, 9, 9, 2], f: [3, 3, 2, 3], strides: 1, pad: 'same', dilations: 2 };
// products of 2^20 multiply-adds and more: oneDNN's route (engine/kernels/gemm-route.ts)
const LARGE: Case[] = [
  { x: [4, 16, 16, 32], f: [3, 3, 32, 32], strides: 1, pad: 'same' },
  { x: [4, 16, 16, 64], f: [1, 1, 64, 64], strides: 1, pad: 'valid' },
];

/** Output and both gradients of sum(conv2d(x, f) * r). */
function run(c: Case, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', seed) as tf.Tensor4D;
    const f = tf.randomNormal(c.f, 0, 1, 'float32', seed + 1) as tf.Tensor4D;
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad as 'same', 'NHWC', c.dilations ?? 1);
    const y = conv(x, f);
    if ((c.dilations ?? 1) !== 1) return [(y.dataSync() as Float32Array).slice()];
    const r = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 2);
    const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), r)))([x, f]);
    return [y, gx, gf].map((t) => (t.dataSync() as Float32Array).slice());
  });
}

const ALL = [...CASES, DILATED, ...LARGE];
let reference: Float32Array[][];

describe('convolution kernels', () => {
  before(async () => {
    await initBackend('cpu', { native: false });
    reference = ALL.map((c, i) => run(c, 10 * i + 1));
  });

  const engines = [
    { backend: 'wasm' as const, native: false, label: 'wasm (stock Conv2D, Conv3DBackpropFilterV2-based filter gradient)' },
    ...(nativeAddon()
      ? [
          { backend: 'cpu' as const, native: true, label: 'cpu + native im2col GEMM' },
          { backend: 'wasm' as const, native: true, label: 'wasm + native im2col GEMM' },
        ]
      : []),
  ];
  for (const e of engines) {
    it(`${e.label}: output, input gradient and filter gradient equal the stock cpu kernels`, async () => {
      await initBackend(e.backend, { native: e.native, threads: 1 });
      const kernels = (await initBackend(e.backend, { native: e.native, threads: 1 })).native.kernels;
      if (e.native)
        for (const k of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']) assert.ok(kernels.includes(k), `${k} is native`);
      ALL.forEach((c, i) => {
        const got = run(c, 10 * i + 1);
        assert.equal(got.length, reference[i].length);
        got.forEach((v, j) => {
          assertClose(v, reference[i][j], 1e-4, 1e-4, `${JSON.stringify(c)} ${['output', 'dx', 'dfilter'][j]}`);
        });
      });
    });
  }

  it('wasm filter gradient matches finite differences', async () => {
    await initBackend('wasm', { native: false, threads: 1 });
    const x = tf.randomNormal([2, 5, 5, 2], 0, 1, 'float32', 3);
    const f = tf.randomNormal([3, 3, 2, 3], 0, 1, 'float32', 4);
    gradCheck((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), [x, f], { samples: 16 });
    tf.dispose([x, f]);
  });

  it('at precision bf16 the native kernels equal the stock ones on bf16-rounded operands (x, filter, and dy in the gradients)', {
    skip: skipWithoutOnednn(),
  }, async () => {
    const round = (t: tf.Tensor) => {
      const y = new Float32Array(t.size);
      nativeAddon()!.roundBf16(t.dataSync() as Float32Array, y, y.length);
      return tf.tensor(y, t.shape);
    };
    for (const c of [CASES[1], CASES[3], ...LARGE]) {
      await initBackend('wasm', { native: true, threads: 2 });
      const x = tf.randomNormal(c.x, 0, 1, 'float32', 5) as tf.Tensor4D;
      const f = tf.randomNormal(c.f, 0, 1, 'float32', 6) as tf.Tensor4D;
      const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad as 'same');
      const r = tf.randomNormal(conv(x, f).shape, 0, 1, 'float32', 7);
      const grads = (a: tf.Tensor, b: tf.Tensor, w: tf.Tensor) =>
        tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(conv(p, q), w)))([a, b]);
      setPrecision('bf16');
      let got: Float32Array[];
      try {
        got = [conv(x, f), ...grads(x, f, r)].map((t) => (t.dataSync() as Float32Array).slice());
      } finally {
        setPrecision('fp32');
      }
      const [xr, fr, rr] = [round(x), round(f), round(r)];
      const want = [conv(xr, fr), ...grads(xr, fr, rr)].map((t) => (t.dataSync() as Float32Array).slice());
      got.forEach((v, j) => {
        assertClose(v, want[j], 1e-4, 1e-4, `${JSON.stringify(c)} bf16 ${['output', 'dx', 'dfilter'][j]}`);
      });
      // and not the fp32 numbers: the operands were rounded
      const fp32 = (conv(x, f).dataSync() as Float32Array).slice();
      assert.ok(
        fp32.some((v, i) => Math.abs(v - got[0][i]) > 1e-3),
        `${JSON.stringify(c)}: bf16 output equals fp32`,
      );
      tf.dispose([x, f, r, xr, fr, rr]);
    }
  });

  it('native kernels reject operands that are too short, naming them', { skip: nativeAddon() ? false : 'native addon not built' }, () => {
    const geom = [1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1];
    const addon = nativeAddon()!;
    assert.throws(
      () => addon.convFwd(new Float32Array(31), new Float32Array(54), new Float32Array(48), geom, 0),
      /x has 31 elements, needs 32/,
    );
    assert.throws(
      () => addon.convBwdFilter(new Float32Array(32), new Float32Array(48), new Float32Array(53), geom, 0),
      /dfilter has 53 elements/,
    );
    assert.throws(() => addon.convFwd(new Float32Array(32), new Float32Array(54), new Float32Array(48), geom.slice(1), 0), /15 numbers/);
  });
});
