/**
 * The fused pre-norm layers of `--precision bf16` (engine/ops/pre-norm.ts, native/linear.c,
 * native/prenorm_attention.c): each gives bit for bit what the LayerNorm, the bf16 linear layers and
 * attention give one after the other, forward and every gradient, and a ViT block uses them.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { initBackend, setPrecision } from '../engine/backend.ts';
import { skipWithoutOnednn } from './helpers/backend.ts';
import { linear2d } from '../engine/ops/linear.ts';
import { layerNorm } from '../engine/layers/layer-norm.ts';
import { normAttention, normMlp, preNormFused } from '../engine/ops/pre-norm.ts';
import { qkvAttention } from '../engine/ops/attention.ts';
import { Block } from '../backbones/vit/block.ts';
import { Rng } from '../engine/rng.ts';

const skip = skipWithoutOnednn();

const randn = (shape: number[], seed: number, scale = 1) => tf.randomNormal(shape, 0, scale, 'float32', seed);

/** The bytes of a tensor, to compare bit for bit. */
const bits = (t: tf.Tensor) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);

function assertSameBits(a: tf.Tensor[], b: tf.Tensor[], names: string[]): void {
  assert.equal(a.length, b.length);
  a.forEach((t, i) => {
    assert.deepEqual(t.shape, b[i].shape, `${names[i]}: shape`);
    const x = bits(t),
      y = bits(b[i]);
    let diff = 0;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) diff++;
    assert.equal(diff, 0, `${names[i]}: ${diff} of ${x.length} elements differ`);
  });
}

describe('fused pre-norm layers in bf16 (engine/ops/pre-norm.ts)', { skip }, () => {
  after(async () => {
    setPrecision('fp32');
    await initBackend('wasm', { native: true, threads: 1 });
  });

  for (const [rows, d, hid] of [
    [131, 37, 70], // odd sizes: bf16 halves with a tail, a partial block of 64 rows in the column sums
    [600, 64, 256], // threads, and oneDNN's blocked kernels
  ]) {
    it(`LN + MLP + skip equals the layers one after the other, bitwise, gradients included (${rows} x ${d}, hidden ${hid})`, async () => {
      await initBackend('wasm', { native: true, threads: 2 });
      setPrecision('bf16');
      try {
        tf.tidy(() => {
          const x = randn([rows, d], 1),
            g = tf.add(1, randn([d], 2, 0.1)),
            beta = randn([d], 3, 0.1);
          const w1 = randn([d, hid], 4, 0.2),
            b1 = randn([hid], 5, 0.1),
            w2 = randn([hid, d], 6, 0.2),
            b2 = randn([d], 7, 0.1);
          const eps = 1e-6;
          const r2 = randn([rows, d], 9);
          const ln = (t: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => layerNorm(t, eps, gi, bi) as tf.Tensor2D;
          const as2 = (t: tf.Tensor) => t as tf.Tensor2D,
            as1 = (t: tf.Tensor) => t as tf.Tensor1D;

          const fusedMlp = (...t: tf.Tensor[]) =>
            normMlp(as2(t[0]), { gamma: as1(t[1]), beta: as1(t[2]), eps }, { w: as2(t[3]), b: as1(t[4]) }, { w: as2(t[5]), b: as1(t[6]) });
          const plainMlp = (...t: tf.Tensor[]) =>
            linear2d(linear2d(ln(t[0], t[1], t[2]), as2(t[3]), as1(t[4]), { act: 'gelu' }), as2(t[5]), as1(t[6]), { residual: as2(t[0]) });
          const mlpIn = [x, g, beta, w1, b1, w2, b2];
          const mlp = (f: (...t: tf.Tensor[]) => tf.Tensor) => [
            f(...mlpIn),
            ...tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(f(...t), r2)))(mlpIn),
          ];
          const fm = mlp(fusedMlp);
          assertSameBits(fm, mlp(plainMlp), ['out', 'dx', 'dgamma', 'dbeta', 'dw1', 'db1', 'dw2', 'db2']);
          // and the gradient is not trivially the skip's: the branch contributes
          assert.ok(tf.max(tf.abs(tf.sub(fm[1], r2))).dataSync()[0] > 1e-3);
        });
      } finally {
        setPrecision('fp32');
      }
    });
  }

  for (const [b, t, d, heads] of [
    [3, 13, 27, 3], // odd sizes: bf16 halves with a tail, heads of 9
    [8, 65, 96, 3], // the ViT's 65 tokens, threads, and oneDNN's blocked kernels
  ]) {
    it(`LN + qkv + attention + proj + skip equal the layers one after the other, bitwise, gradients included (${b} x ${t} x ${d}, ${heads} heads)`, async () => {
      await initBackend('wasm', { native: true, threads: 2 });
      setPrecision('bf16');
      try {
        tf.tidy(() => {
          const eps = 1e-6;
          const x = randn([b, t, d], 21),
            g = tf.add(1, randn([d], 22, 0.1)),
            beta = randn([d], 23, 0.1),
            wq = randn([d, 3 * d], 24, 0.3),
            bq = randn([3 * d], 25, 0.1),
            wp = randn([d, d], 26, 0.2),
            bp = randn([d], 27, 0.1),
            r = randn([b, t, d], 28);
          const inputs = [x, g, beta, wq, bq, wp, bp];
          const as1 = (u: tf.Tensor) => u as tf.Tensor1D,
            as2 = (u: tf.Tensor) => u as tf.Tensor2D;
          const fused = (...u: tf.Tensor[]) =>
            normAttention(
              u[0] as tf.Tensor3D,
              { gamma: as1(u[1]), beta: as1(u[2]), eps },
              { w: as2(u[3]), b: as1(u[4]) },
              { w: as2(u[5]), b: as1(u[6]) },
              heads,
            );
          const plain = (...u: tf.Tensor[]) => {
            const rows = b * t;
            const x2 = tf.reshape(u[0], [rows, d]) as tf.Tensor2D;
            const qkv = linear2d(layerNorm(x2, eps, u[1], u[2]) as tf.Tensor2D, as2(u[3]), as1(u[4]));
            const a = tf.reshape(qkvAttention(tf.reshape(qkv, [b, t, 3 * d]), heads), [rows, d]) as tf.Tensor2D;
            return tf.reshape(linear2d(a, as2(u[5]), as1(u[6]), { residual: x2 }), [b, t, d]);
          };
          const run = (f: (...u: tf.Tensor[]) => tf.Tensor) => [
            f(...inputs),
            ...tf.grads((...u: tf.Tensor[]) => tf.sum(tf.mul(f(...u), r)))(inputs),
          ];
          const got = run(fused);
          assertSameBits(got, run(plain), ['out', 'dx', 'dgamma', 'dbeta', 'dwq', 'dbq', 'dwp', 'dbp']);
          // the branch contributes to dx beyond the skip's r, and the products did run in bf16 (fp32 differs)
          assert.ok(tf.max(tf.abs(tf.sub(got[1], r))).dataSync()[0] > 1e-3);
          setPrecision('fp32');
          const fp32 = plain(...inputs);
          setPrecision('bf16');
          assert.ok(tf.max(tf.abs(tf.sub(fp32, got[0]))).dataSync()[0] > 1e-4);
        });
      } finally {
        setPrecision('fp32');
      }
    });
  }

  it('a ViT block in bf16 runs them and gives bit for bit what its layers give one after the other', async () => {
    await initBackend('wasm', { native: true, threads: 2 });
    const blk = new Block('b', { dim: 48, heads: 3, mlpRatio: 4, lnEps: 1e-6, mlpBatchNorm: false }, new Rng(3));
    const vars = blk.trainableParams().map((p) => p.variable);
    setPrecision('bf16');
    try {
      assert.ok(preNormFused());
      const x = randn([4, 17, 48], 11),
        r = randn([4, 17, 48], 12);
      const layered = (t: tf.Tensor) => {
        const h = blk.attn.apply(blk.norm1.apply(t), t);
        return blk.mlp.apply((blk.norm2 as { apply(u: tf.Tensor): tf.Tensor }).apply(h), h);
      };
      const run = (f: (t: tf.Tensor) => tf.Tensor) => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(x), r)) as tf.Scalar, vars);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), r)))(x);
        return [f(x), value, dx, ...vars.map((v) => grads[v.name])];
      };
      const names = ['out', 'loss', 'dx', ...vars.map((v) => v.name)];
      assertSameBits(
        run((t) => blk.apply(t, true)),
        run(layered),
        names,
      );
      const profile = await tf.profile(() => tf.dispose(blk.apply(x, true)));
      const kernels = new Set(profile.kernels.map((k) => k.name));
      assert.ok(kernels.has('SslNormAttentionFwd') && kernels.has('SslNormMlpFwd'), [...kernels].join(', '));
      assert.ok(!kernels.has('SslLayerNormFwd') && !kernels.has('SslAttentionFwd'));
      tf.dispose([x, r]);
    } finally {
      setPrecision('fp32');
    }
  });

  it('in fp32, or off the native kernels, the block composes its layers, and the fused ops refuse to run', async () => {
    await initBackend('wasm', { native: true, threads: 1 });
    assert.ok(!preNormFused());
    const x = tf.zeros([3, 4]) as tf.Tensor2D;
    const p = { gamma: tf.ones([4]) as tf.Tensor1D, beta: tf.zeros([4]) as tf.Tensor1D, eps: 1e-6 };
    const lin = (n: number, m: number) => ({ w: tf.zeros([n, m]) as tf.Tensor2D, b: tf.zeros([m]) as tf.Tensor1D });
    assert.throws(() => normMlp(x, p, lin(4, 8), lin(8, 4)), /precision bf16 only/);
    assert.throws(() => normAttention(tf.zeros([1, 3, 4]) as tf.Tensor3D, p, lin(4, 12), lin(4, 4), 2), /precision bf16 only/);
    const blk = new Block('b', { dim: 8, heads: 2, mlpRatio: 4, lnEps: 1e-6, mlpBatchNorm: false }, new Rng(1));
    const profile = await tf.profile(() => tf.dispose(blk.apply(tf.ones([2, 3, 8]), true)));
    const kernels = new Set(profile.kernels.map((k) => k.name));
    assert.ok(kernels.has('SslLayerNormFwd') && !kernels.has('SslNormMlpFwd'), [...kernels].join(', '));
    tf.dispose([x, p.gamma, p.beta]);
  });
});
