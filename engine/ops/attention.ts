/** Scaled dot-product multi-head attention on already-projected q, k, v. */
import { tf } from '../tf.ts';
import { batchedMatmul } from './matmul.ts';
import { softmax } from './softmax.ts';
import { customOp } from './custom-op.ts';
import { recordMacs } from '../flops.ts';
import { nativeOpsActive } from '../backend.ts';
import { runNative } from '../kernels/native-ops.ts';
import { precision } from '../kernels/gemm-route.ts';

/**
 * q, k, v [B, T, D] -> [B, T, D], heads of size D / heads, softmax(q k^T / sqrt(dh)) v: the fused
 * path below on their concatenation (models hold a fused qkv projection and call qkvAttention).
 */
export function multiHeadAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number): tf.Tensor {
  return qkvAttention(tf.concat([q, k, v], 2), heads);
}

/**
 * Attention on one fused projection qkv [B, T, 3D] (q, k, v side by side along the last axis, as
 * one GEMM produces them): the native kernel reads the three in place and returns one dqkv, so
 * neither the split nor its gradient (a concatenation) costs a copy. At precision bf16 its products
 * (q k^T, P v, and those of the backward) take bf16 inputs with fp32 accumulation, as PyTorch's CPU
 * autocast runs matmul; the softmax stays fp32.
 */
export function qkvAttention(qkv: tf.Tensor, heads: number): tf.Tensor {
  const [b, t, d3] = qkv.shape;
  if (d3 % 3 !== 0) throw new Error(`qkvAttention: last axis ${d3} is not 3 x D`);
  if (nativeOpsActive()) {
    recordMacs((2 * b * t * t * d3) / 3);
    return qkvNative(heads, precision() === 'bf16')(qkv);
  }
  const [q, k, v] = tf.split(qkv, 3, 2);
  return attentionStock(q, k, v, heads);
}

const qkvOps = new Map<string, (qkv: tf.Tensor) => tf.Tensor>();
function qkvNative(heads: number, bf16: boolean) {
  const key = `${heads}/${bf16}`;
  let op = qkvOps.get(key);
  if (!op) {
    op = customOp(([qkv], save) => {
      const [out, p] = runNative('SslAttentionFwd', { qkv }, { heads, bf16 }) as tf.Tensor[];
      save([qkv, p]);
      return {
        value: out,
        gradFunc: (dy, [sqkv, sp]) => runNative('SslAttentionBwd', { dy, qkv: sqkv, p: sp }, { heads, bf16 }) as tf.Tensor[],
      };
    });
    qkvOps.set(key, op);
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
