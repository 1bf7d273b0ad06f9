import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { LayerNorm, layerNorm } from '../engine/layers/layer-norm.ts';
import { BatchNorm } from '../engine/layers/batch-norm.ts';
import { gelu } from '../engine/ops/gelu.ts';
import { TEST_ENGINES, assertClose, gradCheck, useBackend } from './helpers/backend.ts';

/** Direct per-row LayerNorm in float64. */
function refLayerNorm(x: Float32Array, rows: number, dim: number, eps: number, g: number[], b: number[]): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const v = Array.from(x.subarray(r * dim, (r + 1) * dim));
    const mean = v.reduce((s, a) => s + a, 0) / dim;
    const variance = v.reduce((s, a) => s + (a - mean) ** 2, 0) / dim;
    v.forEach((a, i) => {
      out.push(((a - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
    });
  }
  return out;
}

for (const engine of TEST_ENGINES) {
  describe(`norm layers on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it('LayerNorm forward matches the formula (eps inside the sqrt, biased variance)', () => {
      const ln = new LayerNorm('n', 5, 1e-6);
      const g = [1.5, -0.5, 2, 1, 0.25];
      const b = [0.1, 0.2, -0.3, 0, 1];
      ln.weight!.variable.assign(tf.tensor1d(g));
      ln.bias!.variable.assign(tf.tensor1d(b));
      const x = tf.randomNormal([3, 2, 5], 2, 3, 'float32', 1);
      const y = ln.apply(x);
      assertClose(y.dataSync(), refLayerNorm(x.dataSync() as Float32Array, 6, 5, 1e-6, g, b), 1e-4, 1e-4, 'LayerNorm');
      ln.dispose();
    });

    it('LayerNorm gradients w.r.t. input, gamma and beta match finite differences', () => {
      const x = tf.randomNormal([4, 6], 0, 1, 'float32', 2);
      const g = tf.randomNormal([6], 1, 0.5, 'float32', 3);
      const b = tf.randomNormal([6], 0, 0.5, 'float32', 4);
      gradCheck((xx, gg, bb) => layerNorm(xx, 1e-6, gg, bb), [x, g, b], { samples: 24 });
    });

    it('BatchNorm training forward normalises with batch statistics and updates running stats like PyTorch', () => {
      const bn = new BatchNorm('bn', 3);
      const data = [1, 2, 3, 4, 6, 8, -1, 0, 5, 2, 2, 2]; // [4, 3]
      const x = tf.tensor2d(data, [4, 3]);
      const y = bn.apply(x, true).arraySync() as number[][];
      for (let c = 0; c < 3; c++) {
        const col = [0, 1, 2, 3].map((r) => data[r * 3 + c]);
        const mean = col.reduce((s, a) => s + a, 0) / 4;
        const biased = col.reduce((s, a) => s + (a - mean) ** 2, 0) / 4;
        const unbiased = (biased * 4) / 3;
        col.forEach((a, r) => {
          assert.ok(Math.abs(y[r][c] - (a - mean) / Math.sqrt(biased + 1e-5)) < 1e-4, `y[${r}][${c}]`);
        });
        assert.ok(Math.abs(bn.runningMean.variable.dataSync()[c] - 0.1 * mean) < 1e-5, 'running mean');
        assert.ok(Math.abs(bn.runningVar.variable.dataSync()[c] - (0.9 + 0.1 * unbiased)) < 1e-4, 'running var (unbiased)');
      }
      assert.equal(bn.numBatchesTracked, 1);
      bn.dispose();
    });

    it('BatchNorm eval uses the running statistics and leaves them unchanged', () => {
      const bn = new BatchNorm('bn', 2, { affine: true });
      bn.runningMean.variable.assign(tf.tensor1d([1, -2]));
      bn.runningVar.variable.assign(tf.tensor1d([4, 0.25]));
      bn.weight!.variable.assign(tf.tensor1d([2, 1]));
      bn.bias!.variable.assign(tf.tensor1d([0.5, 0]));
      const y = bn.apply(tf.tensor2d([[3, -1]]), false).dataSync();
      assertClose(y, [((3 - 1) / Math.sqrt(4 + 1e-5)) * 2 + 0.5, (-1 + 2) / Math.sqrt(0.25 + 1e-5)], 1e-5, 0, 'BN eval');
      assertClose(bn.runningMean.variable.dataSync(), [1, -2], 0, 0, 'running mean untouched');
      assert.equal(bn.numBatchesTracked, 0);
      bn.dispose();
    });

    it('BatchNorm without affine has no parameters, only buffers', () => {
      const bn = new BatchNorm('bn', 4, { affine: false });
      assert.equal(bn.numParameters(), 0);
      assert.deepEqual(
        bn.torchEntries().map((e) => e.name),
        ['bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked'],
      );
      bn.dispose();
    });

    it('BatchNorm training gradients (input, gamma, beta; also over [B, T, C] tokens) match finite differences', () => {
      const bn = new BatchNorm('bn', 5);
      const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        bn.weight!.variable.assign(g);
        bn.bias!.variable.assign(b);
        // through the layer's own code path, gamma/beta given as inputs:
        const axes = x.shape.slice(0, -1).map((_, i) => i);
        const mean = tf.mean(x, axes);
        const c = tf.sub(x, mean);
        const v = tf.mean(tf.square(c), axes);
        return tf.add(tf.mul(tf.mul(c, tf.rsqrt(tf.add(v, 1e-5))), g), b);
      };
      const x = tf.randomNormal([6, 5], 1, 2, 'float32', 5);
      gradCheck(f, [x, tf.randomNormal([5], 1, 0.3, 'float32', 6), tf.randomNormal([5], 0, 0.3, 'float32', 7)], { samples: 20 });
      // and the layer itself, w.r.t. its input, on tokens
      const x3 = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 8);
      gradCheck((xx) => bn.apply(xx, true), [x3], { samples: 20 });
      bn.dispose();
    });

    it('BatchNorm gradient w.r.t. its own gamma and beta variables is the analytic one', () => {
      const bn = new BatchNorm('bn', 3);
      const x = tf.randomNormal([5, 3], 0, 1, 'float32', 9);
      const r = tf.randomNormal([5, 3], 0, 1, 'float32', 10);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.apply(x, true), r)) as tf.Scalar, [bn.weight!.variable, bn.bias!.variable]);
      const xhat = tf.tidy(() => {
        const m = tf.mean(x, 0);
        const c = tf.sub(x, m);
        return tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), 0), 1e-5)));
      });
      assertClose(grads[bn.weight!.variable.name].dataSync(), tf.sum(tf.mul(r, xhat), 0).dataSync(), 1e-4, 1e-4, 'dgamma');
      assertClose(grads[bn.bias!.variable.name].dataSync(), tf.sum(r, 0).dataSync(), 1e-5, 1e-5, 'dbeta');
      bn.dispose();
    });

    it('exact GELU: value and custom gradient match erf formula and finite differences', () => {
      const xs = [-3, -1, -0.5, 0, 0.3, 1, 2.5];
      const y = gelu(tf.tensor1d(xs)).dataSync();
      // Phi(x) via a high-precision erf series
      const erf = (z: number) => {
        let sum = 0;
        let term = z;
        for (let n = 0; n < 60; n++) {
          sum += term / (2 * n + 1);
          term *= (-z * z) / (n + 1);
        }
        return (2 / Math.sqrt(Math.PI)) * sum;
      };
      assertClose(
        y,
        xs.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2))),
        1e-5,
        1e-5,
        'gelu',
      );
      gradCheck((x) => gelu(x), [tf.tensor1d(xs)], { samples: xs.length });
    });
  });
}
