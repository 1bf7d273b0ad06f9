/**
 * LAMB (You et al., 2020), here "the AdamW counterpart of LARS": the Adam update with a
 * layer-wise trust ratio, under the same ndim > 1 rule as MoCo v3's LARS. For each parameter p
 * with gradient g, with its own step count t (lr given per step, wd, b1, b2, eps):
 *
 *   m  = b1 * m + (1 - b1) * g
 *   v  = b2 * v + (1 - b2) * g^2
 *   u  = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)     (bias-corrected like AdamW)
 *   if ndim(p) > 1:
 *     u     = u + wd * p                                      (decay inside the trusted update)
 *     trust = ||p|| / ||u||                                   (1 when ||p|| = 0 or ||u|| = 0)
 *   else trust = 1                                            (biases, norm params: plain Adam, no decay)
 *   p  = p - lr * trust * u
 *
 * Choices, where LAMB implementations differ: bias correction on (as AdamW and the paper's
 * Algorithm 2; some implementations drop it); the trust ratio is the unclipped identity
 * phi(x) = x with no trust coefficient; eps defaults to 1e-6 (the paper's) and must be > 0 (a
 * zero gradient element would give 0/0), betas 0.9 / 0.999; 1-D params excluded from decay and
 * trust ratio exactly as in LARS (apex/timm apply the ratio to all params; MoCo v3's rule is
 * followed here). Norms are over the whole tensor. State per parameter, PyTorch names:
 * `exp_avg`, `exp_avg_sq`, `step`, created on its first gradient; plus the number of `step`
 * calls. Each step runs in one tf.tidy; the live tensor count stays constant once every
 * parameter has state.
 */
import { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';
import { checkOption, isLayerwise, trustRatio } from './param-state.ts';
import { SlotOptimizer, type Slots } from './slot-optimizer.ts';

export interface LambOptions {
  /** Weight decay coefficient, applied to ndim > 1 params only. */
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

const SPEC = { arrays: ['exp_avg', 'exp_avg_sq'], counts: ['step'] } as const;

export class Lamb extends SlotOptimizer {
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;

  constructor(params: Param[], opts: LambOptions) {
    const { weightDecay, beta1 = 0.9, beta2 = 0.999, eps = 1e-6 } = opts;
    checkOption('LAMB', 'weightDecay', weightDecay, (x) => x >= 0, 'be a number >= 0');
    checkOption('LAMB', 'beta1', beta1, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('LAMB', 'beta2', beta2, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('LAMB', 'eps', eps, (x) => x > 0, 'be a number > 0');
    super('LAMB', params, SPEC);
    this.weightDecay = weightDecay;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
  }

  protected update(p: Param, g: tf.Tensor, s: Slots, lr: number): void {
    const { beta1: b1, beta2: b2, eps } = this;
    s.counts.step += 1;
    const t = s.counts.step;
    const m = tf.add(tf.mul(s.arrays.exp_avg, b1), tf.mul(g, 1 - b1));
    const v = tf.add(tf.mul(s.arrays.exp_avg_sq, b2), tf.mul(tf.square(g), 1 - b2));
    s.arrays.exp_avg.assign(m);
    s.arrays.exp_avg_sq.assign(v);
    const denom = tf.add(tf.sqrt(tf.div(v, 1 - b2 ** t)), eps);
    let u = tf.div(tf.div(m, 1 - b1 ** t), denom);
    let scaled = tf.mul(u, lr);
    if (isLayerwise(p)) {
      u = tf.add(u, tf.mul(p.variable, this.weightDecay));
      scaled = tf.mul(u, tf.mul(trustRatio(p.variable, u, 1), lr));
    }
    p.variable.assign(tf.sub(p.variable, scaled));
  }
}
