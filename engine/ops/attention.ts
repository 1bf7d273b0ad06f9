/** Scaled dot-product multi-head attention on already-projected q, k, v. */
import { tf } from '../tf.ts';
import { batchedMatmul } from './matmul.ts';
import { softmax } from './softmax.ts';

/** q, k, v [B, T, D] -> [B, T, D], heads of size D / heads, softmax(q k^T / sqrt(dh)) v. */
export function multiHeadAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number): tf.Tensor {
  const [b, t, d] = q.shape;
  const dh = d / heads;
  const split = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [b, t, heads, dh]), [0, 2, 1, 3]);
  const qh = tf.mul(split(q), 1 / Math.sqrt(dh));
  const scores = batchedMatmul(qh, split(k), true); // [B, h, T, T]
  const attn = softmax(scores);
  const out = batchedMatmul(attn, split(v)); // [B, h, T, dh]
  return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, d]);
}
