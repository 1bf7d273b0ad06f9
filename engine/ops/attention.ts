/** Scaled dot-product multi-head attention on already-projected q, k, v. */
import { tf } from '../tf.ts';
import { batchedMatmul } from './matmul.ts';
import { softmax } from './softmax.ts';
import { customOp } from './custom-op.ts';
import { recordMacs } from '../flops.ts';
import { nativeOpsActive } from '../backend.ts';
import { runNative } from '../kernels/native-ops.ts';

/** q, k, v [B, T, D] -> [B, T, D], heads of size D / heads, softmax(q k^T / sqrt(dh)) v. */
export function multiHeadAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number): tf.Tensor {
  if (nativeOpsActive()) {
    const [b, t, d] = q.shape;
    recordMacs(2 * b * t * t * d);
    return attentionNative(heads)(q, k, v);
  }
  return attentionStock(q, k, v, heads);
}

/** The fused native attention core: strided GEMMs per head, no transposes; saves q, k, v and P. */
const nativeOps = new Map<number, (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor>();
function attentionNative(heads: number) {
  let op = nativeOps.get(heads);
  if (!op) {
    op = customOp(([q, k, v], save) => {
      const [out, p] = runNative('SslAttentionFwd', { q, k, v }, { heads }) as tf.Tensor[];
      save([q, k, v, p]);
      return { value: out, gradFunc: (dy, [sq, sk, sv, sp]) => runNative('SslAttentionBwd', { dy, q: sq, k: sk, v: sv, p: sp }, { heads }) as tf.Tensor[] };
    });
    nativeOps.set(heads, op);
  }
  return op;
}

/** Attention composed of stock tfjs ops (head split/merge transposes, batched products). */
export function attentionStock(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number): tf.Tensor {
  const [b, t, d] = q.shape;
  const dh = d / heads;
  const split = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [b, t, heads, dh]), [0, 2, 1, 3]);
  const qh = tf.mul(split(q), 1 / Math.sqrt(dh));
  const scores = batchedMatmul(qh, split(k), true); // [B, h, T, T]
  const attn = softmax(scores);
  const out = batchedMatmul(attn, split(v)); // [B, h, T, dh]
  return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, d]);
}
