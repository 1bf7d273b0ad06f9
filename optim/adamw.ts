/**
 * AdamW with the exact semantics of PyTorch's `torch.optim.AdamW` (amsgrad off, maximize off):
 * for each parameter with a gradient, with its own step count t,
 *
 *   p  <- p * (1 - lr * wd)                     (decoupled weight decay, applied first)
 *   m  <- b1 * m + (1 - b1) * g
 *   v  <- b2 * v + (1 - b2) * g^2
 *   p  <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * which equals `p -= lr * mhat / (sqrt(vhat) + eps)` with the bias-corrected moments. Weight decay
 * applies to every parameter handed in (MoCo v3 decays all of them, biases and norms included);
 * pass a subset to exclude some. The moments are tf.Variables created on a parameter's first
 * gradient (like PyTorch's lazily created state), so a parameter that never received a
 * gradient has no state. Each step runs inside one tf.tidy; the live tensor count stays constant
 * once every parameter has state.
 */
import type { tf } from '../engine/tf.ts';
import { adamwUpdate } from '../engine/ops/adamw-update.ts';
import type { Param } from '../engine/module.ts';
import { checkOption } from './param-state.ts';
import { SlotOptimizer, type Slots } from './slot-optimizer.ts';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay coefficient (0.1 in the MoCo v3 ViT recipe). */
  weightDecay: number;
}

const SPEC = { arrays: ['exp_avg', 'exp_avg_sq'], counts: ['step'] } as const;

export class AdamW extends SlotOptimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: Param[], opts: AdamWOptions) {
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay } = opts;
    checkOption('AdamW', 'beta1', beta1, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('AdamW', 'beta2', beta2, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('AdamW', 'eps', eps, (x) => x >= 0, 'be a number >= 0');
    checkOption('AdamW', 'weightDecay', weightDecay, (x) => x >= 0, 'be a number >= 0');
    super('AdamW', params, SPEC);
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  protected update(p: Param, g: tf.Tensor, s: Slots, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this;
    s.counts.step += 1;
    // fused natively when available (engine/ops/adamw-update.ts)
    const u = adamwUpdate(p.variable, g, s.arrays.exp_avg, s.arrays.exp_avg_sq, {
      lr,
      beta1,
      beta2,
      eps,
      weightDecay,
      step: s.counts.step,
    });
    s.arrays.exp_avg.assign(u.m);
    s.arrays.exp_avg_sq.assign(u.v);
    p.variable.assign(u.p);
  }
}
