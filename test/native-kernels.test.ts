import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { initBackend, transposedMatmulIsFast } from '../engine/backend.ts';
import { nativeAddon, nativeStatus } from '../engine/kernels/native-addon.ts';
import { installNativeMatmul, planMatmul } from '../engine/kernels/native-matmul.ts';
import { assertClose } from './helpers/backend.ts';
import { gelu } from '../engine/ops/gelu.ts';
import { softmax } from '../engine/ops/softmax.ts';
import { multiHeadAttention, qkvAttention } from '../engine/ops/attention.ts';
import { layerNorm } from '../engine/layers/layer-norm.ts';

const addon = nativeAddon();
const skip = addon ? false : `native GEMM not built: ${nativeStatus()}`;

type Case = [number[], number[], boolean, boolean];
const CASES: Case[] = [
  [[7, 5], [5, 3], false, false],
  [[5, 7], [5, 3], true, false],
  [[7, 5], [3, 5], false, true],
  [[5, 7], [3, 5], true, true],
  [[4, 6, 5], [4, 5, 3], false, false],
  [[4, 6, 5], [4, 3, 5], false, true],
  [[2, 3, 6, 5], [2, 3, 6, 4], true, false],
  // batch broadcasting (tfjs 4.22 has no gradient for it: forward only)
  [[4, 6, 5], [5, 3], false, false],
  [[5, 3], [4, 3, 6], false, false],
  [[2, 1, 6, 5], [1, 3, 5, 4], false, false], // general broadcast: stock fallback
  [[1, 0], [0, 4], false, false], // empty inner dimension
];

/** Product and input gradients of sum(matMul(a, b) * r). */
function run(c: Case, seed: number): Float32Array[] {
  const [as, bs, ta, tb] = c;
  return tf.tidy(() => {
    const a = tf.randomNormal(as, 0, 1, 'float32', seed);
    const b = tf.randomNormal(bs, 0, 1, 'float32', seed + 1);
    const y = tf.matMul(a, b, ta, tb);
    if (as.length !== bs.length || as.slice(0, -2).some((d, i) => d !== bs[i])) return [y.dataSync() as Float32Array].map((v) => v.slice());
    const r = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 2);
    const [ga, gb] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, z, ta, tb), r)))([a, b]);
    return [y.dataSync() as Float32Array, ga.dataSync() as Float32Array, gb.dataSync() as Float32Array].map((v) => v.slice());
  });
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`native GEMM kernels on ${backend}`, { skip }, () => {
    before(async () => initBackend(backend, { native: false }));
    after(async () => initBackend(backend, { native: false }));

    it('BatchMatMul and its gradients equal the stock kernel on random inputs (all transposes, batched, broadcast)', () => {
      const stock = CASES.map((c, i) => run(c, 10 * i + 1)); // seed 0 would mean "unseeded" in tfjs
      const k = installNativeMatmul(addon!, backend);
      try {
        assert.deepEqual(k.kernels, ['BatchMatMul', '_FusedMatMul', 'Sum', 'Mean']);
        CASES.forEach((c, i) => {
          const got = run(c, 10 * i + 1);
          assert.equal(got.length, stock[i].length);
          got.forEach((v, j) => {
            assertClose(v, stock[i][j], 1e-4, 1e-4, `${JSON.stringify(c)} ${['product', 'grad a', 'grad b'][j]}`);
          });
        });
      } finally {
        k.restore();
      }
    });

    it('Sum and Mean equal the stock kernels for leading, inner, mixed and all axes, with and without keepDims', () => {
      const x = tf.randomNormal([4, 5, 6], 0, 1, 'float32', 11);
      const cases: [number | number[], boolean][] = [
        [0, false],
        [[0, 1], false],
        [[0, 1], true],
        [-1, false],
        [[0, 2], false],
        [[0, 1, 2], false],
        [[1, 0], true],
      ];
      const f = () =>
        cases
          .map(([ax, kd]) =>
            tf.tidy(() => {
              const y = tf.sum(x, ax, kd);
              return { shape: y.shape, v: (y.dataSync() as Float32Array).slice() };
            }),
          )
          .concat(
            cases.map(([ax, kd]) =>
              tf.tidy(() => {
                const y = tf.mean(x, ax, kd);
                return { shape: y.shape, v: (y.dataSync() as Float32Array).slice() };
              }),
            ),
          );
      const stock = f();
      const k = installNativeMatmul(addon!, backend);
      try {
        f().forEach((r, i) => {
          assert.deepEqual(r.shape, stock[i].shape, `shape of case ${i}`);
          assertClose(r.v, stock[i].v, 1e-5, 1e-5, `${i < cases.length ? 'sum' : 'mean'} case ${JSON.stringify(cases[i % cases.length])}`);
        });
      } finally {
        k.restore();
      }
    });

    it('_FusedMatMul with bias and relu equals the stock kernel, gradients included', () => {
      const f = () =>
        tf.tidy(() => {
          const a = tf.randomNormal([6, 4], 0, 1, 'float32', 1);
          const b = tf.randomNormal([4, 5], 0, 1, 'float32', 2);
          const bias = tf.randomNormal([5], 0, 1, 'float32', 3);
          const y = tf.fused.matMul({ a, b, bias, activation: 'relu' });
          const g = tf.grads((x: tf.Tensor, z: tf.Tensor, c: tf.Tensor) =>
            tf.sum(tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: z as tf.Tensor2D, bias: c, activation: 'relu' }))),
          )([a, b, bias]);
          return [y, ...g].map((t) => (t.dataSync() as Float32Array).slice());
        });
      const stock = f();
      const k = installNativeMatmul(addon!, backend);
      try {
        f().forEach((v, i) => {
          assertClose(v, stock[i], 1e-4, 1e-4, `fused output ${i}`);
        });
      } finally {
        k.restore();
      }
    });

    it('fused GELU, LayerNorm (affine and plain) and softmax equal the stock ops, gradients included', async () => {
      const cases: [string, (xs: tf.Tensor[]) => tf.Tensor, number[][]][] = [
        ['gelu', ([x]) => gelu(x), [[3, 7, 40]]],
        ['gelu, large enough to run on every thread', ([x]) => gelu(x), [[64, 1030]]],
        ['layerNorm on every thread', ([x, g, b]) => layerNorm(x, 1e-6, g, b), [[2, 300, 96], [96], [96]]],
        ['layerNorm affine', ([x, g, b]) => layerNorm(x, 1e-6, g, b), [[2, 9, 24], [24], [24]]],
        ['layerNorm plain', ([x]) => layerNorm(x, 1e-5), [[5, 16]]],
        ['softmax', ([x]) => softmax(tf.mul(x, 3)), [[2, 3, 5, 17]]],
        [
          'attention',
          ([q, k, v]) => multiHeadAttention(q, k, v, 3),
          [
            [2, 7, 12],
            [2, 7, 12],
            [2, 7, 12],
          ],
        ],
        ['attention on a fused qkv', ([qkv]) => qkvAttention(qkv, 3), [[3, 7, 36]]],
        // heads of 16 and 32 at 17 tokens: the short-sequence core (native/attention_small.c)
        ['attention on a fused qkv, short-sequence core', ([qkv]) => qkvAttention(qkv, 3), [[3, 17, 144]]],
        [
          'attention, short-sequence core',
          ([q, k, v]) => multiHeadAttention(q, k, v, 2),
          [
            [2, 32, 64],
            [2, 32, 64],
            [2, 32, 64],
          ],
        ],
      ];
      const compute = () =>
        cases.map(([, f, shapes]) =>
          tf.tidy(() => {
            const xs = shapes.map((sh, i) => tf.randomNormal(sh, i === 1 ? 1 : 0, 1, 'float32', 3 + i));
            const y = f(xs);
            const r = tf.randomNormal(y.shape, 0, 1, 'float32', 99);
            const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(a), r)))(xs);
            return [y, ...grads].map((t) => (t.dataSync() as Float32Array).slice());
          }),
        );
      await initBackend(backend, { native: false });
      const stock = compute();
      for (const threads of [1, 2]) {
        await initBackend(backend, { threads });
        const before = tf.memory().numTensors;
        const got = compute();
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
        cases.forEach(([name], i) => {
          got[i].forEach((v, j) => {
            assertClose(v, stock[i][j], 2e-5, 2e-4, `${name} (${threads} threads) ${j === 0 ? 'output' : `grad ${j - 1}`}`);
          });
        });
      }
    });

    it('initBackend installs the native kernels unless told not to, and says so', async () => {
      const on = await initBackend(backend, { threads: 1 });
      assert.deepEqual(on.native.kernels, [
        'BatchMatMul',
        '_FusedMatMul',
        'Sum',
        'Mean',
        'SslGeluFwd',
        'SslGeluBwd',
        'SslLayerNormFwd',
        'SslLayerNormBwd',
        'SslSoftmaxFwd',
        'SslSoftmaxBwd',
        'SslAttentionFwd',
        'SslAttentionBwd',
        'SslAdamW',
        'SslAugmentView',
        'SslLinearFwd',
        'SslLinearBwd',
        'SslNormMlpFwd',
        'SslNormMlpBwd',
        'SslNormAttentionFwd',
        'SslNormAttentionBwd',
        'Conv2D',
        'Conv2DBackpropInput',
        'Conv2DBackpropFilter',
        'Slice',
        'SplitV',
        ...(backend === 'wasm' ? ['Identity'] : []),
      ]);
      assert.equal(on.native.threads, 1);
      assert.ok(transposedMatmulIsFast());
      const off = await initBackend(backend, { native: false });
      assert.deepEqual(off.native.kernels, []);
      assert.ok(!transposedMatmulIsFast());
      await assert.rejects(initBackend(backend, { threads: 0 }), /--threads: must be a positive integer/);
    });
  });
}

describe('fused AdamW', { skip }, () => {
  it('three steps with the native kernel equal the stock tfjs update', async () => {
    const { Module } = await import('../engine/module.ts');
    const { AdamW } = await import('../optim/adamw.ts');
    class P extends Module {
      w = this.addParam(
        'w',
        [3, 4],
        Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)),
      );
      b = this.addParam(
        'b',
        [4],
        Float32Array.from({ length: 4 }, (_, i) => i - 1.5),
      );
    }
    const run = async (native: boolean) => {
      await initBackend('wasm', { native, threads: 1 });
      const m = new P();
      const opt = new AdamW(m.parameters(), { weightDecay: 0.1 });
      for (let step = 0; step < 3; step++) {
        const grads = new Map(m.parameters().map((p, i) => [p, tf.randomNormal(p.shape, 0, 1, 'float32', 10 * step + i + 1)]));
        opt.step(grads, 0.01 * (step + 1));
        tf.dispose([...grads.values()]);
      }
      const out = m.parameters().map((p) => (p.variable.dataSync() as Float32Array).slice());
      opt.dispose();
      m.dispose();
      return out;
    };
    const stock = await run(false);
    const fused = await run(true);
    fused.forEach((v, i) => {
      assertClose(v, stock[i], 1e-6, 1e-5, `param ${i}`);
    });
  });
});

describe('shared Identity on wasm', { skip }, () => {
  it('a clone shares the buffer, survives the original, and training gradients are unchanged', async () => {
    await initBackend('wasm', { threads: 1 });
    const a = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numDataBuffers ?? 0;
    const b = tf.clone(a);
    assert.equal(tf.memory().numDataBuffers ?? 0, before, 'no new buffer');
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
    b.dispose();
    const grad = () =>
      tf.tidy(() => {
        const x = tf.randomNormal([4, 6], 0, 1, 'float32', 5);
        return (
          tf
            .grads((y: tf.Tensor) => tf.sum(tf.mul(tf.exp(tf.mul(y, y)), y)))([x])[0]
            .dataSync() as Float32Array
        ).slice();
      });
    const shared = grad();
    await initBackend('wasm', { native: false });
    assertClose(shared, grad(), 0, 0, 'gradient');
  });
});

describe('native GEMM planning', () => {
  it('plans batch, strides and output shape; refuses general broadcasting', () => {
    assert.deepEqual(planMatmul([4, 6, 5], [5, 3], false, false), {
      batch: 4,
      m: 6,
      n: 3,
      k: 5,
      aStride: 30,
      bStride: 0,
      outShape: [4, 6, 3],
    });
    assert.deepEqual(planMatmul([5, 7], [3, 5], true, true), { batch: 1, m: 7, n: 3, k: 5, aStride: 0, bStride: 0, outShape: [7, 3] });
    assert.equal(planMatmul([2, 1, 6, 5], [1, 3, 5, 4], false, false), undefined);
    assert.equal(planMatmul([6, 5], [4, 3], false, false), undefined);
  });

  it('the addon checks its operands', { skip }, () => {
    const a = new Float32Array(6);
    assert.throws(() => addon!.gemm(a, 0, 0, a, 0, 0, a, 0, 0, 1, 3, 3, 3, false, false, 0, 0), /out of bounds/);
    assert.throws(
      () => addon!.gemm(new Float64Array(4) as unknown as Float32Array, 0, 0, a, 0, 0, a, 0, 0, 1, 1, 1, 1, false, false, 0, 0),
      /a must be a Float32Array/,
    );
  });
});
