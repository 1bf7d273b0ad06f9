/**
 * A ViT block's pre-norm layers as single ops under `--precision bf16` (native kernels:
 * engine/kernels/native-prenorm.ts), with hand-written gradients:
 *   - `normAttention`: x + proj(attention(qkv(LN(x)))) (the attention branch and its skip connection);
 *   - `normMlp`: x + fc2(GELU(fc1(LN(x)))) (the MLP branch and its skip connection).
 * The LayerNorm, the qkv product, the attention's output and the GELU are written straight to the
 * bf16 inputs of the products they feed, so their fp32 outputs are never stored: the same numbers
 * as LayerNorm, the bf16 linear layers (engine/ops/linear.ts) and attention chained, forward and
 * backward, with passes over memory fewer; the branches' backwards add the skip's gradient in.
 * `preNormFused()` says whether they apply; the caller composes the layers otherwise.
 */
import type { tf } from '../tf.ts';
import { recordMacs } from '../flops.ts';
import { customOp } from './custom-op.ts';
import { nativeOpsActive } from '../backend.ts';
import { runNative } from '../kernels/native-ops.ts';
import { precision } from '../kernels/gemm-route.ts';

/** A LayerNorm's parameters (affine). */
export interface NormParams {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  eps: number;
}

/** A linear layer's parameters, w [in, out] and its bias. */
export interface LinearParams {
  w: tf.Tensor2D;
  b: tf.Tensor1D;
}

/** Whether the fused pre-norm ops run now: native kernels at precision bf16. */
export function preNormFused(): boolean {
  return nativeOpsActive() && precision() === 'bf16';
}

type Op = (...inputs: tf.Tensor[]) => tf.Tensor2D;
const mlpOps = new Map<number, Op>();
const attentionOps = new Map<string, (...inputs: tf.Tensor[]) => tf.Tensor3D>();

function normMlpOp(eps: number): Op {
  let op = mlpOps.get(eps);
  if (!op) {
    op = customOp<tf.Tensor2D>(([x, gamma, beta, w1, b1, w2, b2], save) => {
      const [out, mean, rstd, xb, h, yb] = runNative('SslNormMlpFwd', { x, gamma, beta, w1, b1, w2, b2 }, { eps }) as tf.Tensor[];
      save([x, mean, rstd, gamma, xb, w1, b1, h, yb, w2]);
      return {
        value: out as tf.Tensor2D,
        gradFunc: (dout, [sx, sm, sr, sg, sxb, sw1, sb1, sh, syb, sw2]) =>
          runNative('SslNormMlpBwd', {
            dout,
            x: sx,
            mean: sm,
            rstd: sr,
            gamma: sg,
            xb: sxb,
            w1: sw1,
            b1: sb1,
            h: sh,
            yb: syb,
            w2: sw2,
          }) as tf.Tensor[],
      };
    });
    mlpOps.set(eps, op);
  }
  return op;
}

function normAttentionOp(eps: number, heads: number): (...inputs: tf.Tensor[]) => tf.Tensor3D {
  const key = `${eps}/${heads}`;
  let op = attentionOps.get(key);
  if (!op) {
    op = customOp<tf.Tensor3D>(([x, gamma, beta, wq, bq, wp, bp], save) => {
      const [out, mean, rstd, xb, qkvb, p, ob] = runNative(
        'SslNormAttentionFwd',
        { x, gamma, beta, wq, bq, wp, bp },
        { eps, heads },
      ) as tf.Tensor[];
      save([x, mean, rstd, gamma, xb, wq, qkvb, p, ob, wp]);
      return {
        value: out as tf.Tensor3D,
        gradFunc: (dout, [sx, sm, sr, sg, sxb, swq, sqkvb, sp, sob, swp]) =>
          runNative(
            'SslNormAttentionBwd',
            { dout, x: sx, mean: sm, rstd: sr, gamma: sg, xb: sxb, wq: swq, qkvb: sqkvb, p: sp, ob: sob, wp: swp },
            { heads },
          ) as tf.Tensor[],
      };
    });
    attentionOps.set(key, op);
  }
  return op;
}

function checkFused(who: string): void {
  if (!preNormFused()) throw new Error(`${who}: runs on the native kernels at precision bf16 only (see preNormFused)`);
}

/** x + fc2(GELU(fc1(LN(x)))), x [rows, d] (bf16 products). */
export function normMlp(x: tf.Tensor2D, norm: NormParams, fc1: LinearParams, fc2: LinearParams): tf.Tensor2D {
  checkFused('normMlp');
  recordMacs(2 * x.shape[0] * x.shape[1] * fc1.w.shape[1]);
  return normMlpOp(norm.eps)(x, norm.gamma, norm.beta, fc1.w, fc1.b, fc2.w, fc2.b);
}

/** x + proj(attention(qkv(LN(x)))), x [B, T, D], `heads` heads (bf16 products). */
export function normAttention(x: tf.Tensor3D, norm: NormParams, qkv: LinearParams, proj: LinearParams, heads: number): tf.Tensor3D {
  checkFused('normAttention');
  const [b, t, d] = x.shape;
  if (d % heads !== 0) throw new Error(`normAttention: width ${d} is not a multiple of ${heads} heads`);
  recordMacs(b * t * d * 3 * d + 2 * b * t * t * d + b * t * d * d);
  return normAttentionOp(norm.eps, heads)(x, norm.gamma, norm.beta, qkv.w, qkv.b, proj.w, proj.b);
}
