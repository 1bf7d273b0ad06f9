/**
 * One AdamW update of one parameter (torch.optim.AdamW, amsgrad off), as optim/adamw.ts applies
 * it: with the parameter's own step count t (>= 1),
 *
 *   m' = b1 * m + (1 - b1) * g
 *   v' = b2 * v + (1 - b2) * g^2
 *   p' = p * (1 - lr * wd) - (lr / (1 - b1^t)) * m' / (sqrt(v') / sqrt(1 - b2^t) + eps)
 *
 * One fused pass of the native kernel (engine/kernels/native-ops.ts, `SslAdamW`) when it serves
 * the active backend, stock tfjs ops otherwise. Returns new tensors; the caller assigns them.
 */
import { tf } from '../tf.ts';
import { nativeOpsActive } from '../backend.ts';
import { runNative } from '../kernels/native-ops.ts';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The parameter's step count t, counting this update (bias corrections 1 - b^t). */
  step: number;
}

export interface AdamWResult {
  p: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

/** The updated parameter p and moments m, v from gradient g. */
export function adamwUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWHyper): AdamWResult {
  return nativeOpsActive() ? adamwUpdateNative(p, g, m, v, h) : adamwUpdateStock(p, g, m, v, h);
}

function biasCorrections(h: AdamWHyper): { bc1: number; bc2Sqrt: number } {
  return { bc1: 1 - h.beta1 ** h.step, bc2Sqrt: Math.sqrt(1 - h.beta2 ** h.step) };
}

/** The fused native kernel; only when `nativeOpsActive()`. */
function adamwUpdateNative(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWHyper): AdamWResult {
  const { bc1, bc2Sqrt } = biasCorrections(h);
  const attrs = { lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weightDecay, bc1, bc2Sqrt };
  const [np, nm, nv] = runNative('SslAdamW', { p, g, m, v }, attrs) as tf.Tensor[];
  return { p: np, m: nm, v: nv };
}

/** The update composed of stock tfjs ops. */
export function adamwUpdateStock(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWHyper): AdamWResult {
  const { beta1: b1, beta2: b2, eps, lr } = h;
  const { bc1, bc2Sqrt } = biasCorrections(h);
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
    const v2 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
    const denom = tf.add(tf.div(tf.sqrt(v2), bc2Sqrt), eps);
    const update = tf.mul(tf.div(m2, denom), lr / bc1);
    const p2 = tf.sub(tf.mul(p, 1 - lr * h.weightDecay), update);
    return { p: p2, m: m2, v: v2 };
  });
}
