/**
 * Matrix products with hand-written gradients.
 *
 * On the wasm backend only a plain 2-D matmul (no transpose flags) takes the fast XNNPACK path;
 * transposed or batched products fall to a slow loop. So the backward pass of `matmul2d`
 * materialises the transposes explicitly and calls plain products. A faster kernel for this
 * engine slots in here, without touching the models.
 */
import { tf } from '../tf.ts';
import { recordMacs } from '../flops.ts';
import { customOp } from './custom-op.ts';
import { transposedMatmulIsFast } from '../backend.ts';

/** x [m, k] W [k, n] + bias [n]: one fused kernel (one output buffer) with the native GEMM. */
export function affine2d(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  if (!transposedMatmulIsFast()) return bias ? (tf.add(matmul2d(x, w), bias) as tf.Tensor2D) : matmul2d(x, w);
  recordMacs(x.shape[0] * x.shape[1] * w.shape[1]);
  return tf.fused.matMul({ a: x, b: w, bias }) as tf.Tensor2D;
}

/** a [m, k] x b [k, n] -> [m, n]. */
export function matmul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  recordMacs(a.shape[0] * a.shape[1] * b.shape[1]);
  // With the native GEMM, tfjs's own gradient (products with transpose flags) is fastest.
  return transposedMatmulIsFast() ? tf.matMul(a, b) : mm(a, b);
}

const mm = customOp<tf.Tensor2D>(([a, b], save) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy, saved) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [tf.matMul(dy, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy)];
    },
  };
});

/**
 * Batched product over leading dims: a [..., m, k] x b [..., k, n] (or b^T with transposeB).
 * Used by attention; autodiff of tf.matMul provides the gradient.
 */
export function batchedMatmul(a: tf.Tensor, b: tf.Tensor, transposeB = false): tf.Tensor {
  const m = a.shape[a.rank - 2];
  const k = a.shape[a.rank - 1];
  const n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
  const batch = a.shape.slice(0, -2).reduce((s, d) => s * d, 1);
  recordMacs(batch * m * k * n);
  return tf.matMul(a, b, false, transposeB);
}
