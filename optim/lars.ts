/**
 * LARS as in the official MoCo v3 code (moco/optimizer.py), the optimiser of its ResNet-50
 * recipe. For each parameter p with gradient g (lr given per step, wd, momentum, eta):
 *
 *   if ndim(p) > 1:                       (weights; biases and norm gamma/beta skip this block)
 *     d     = g + wd * p
 *     trust = eta * ||p|| / ||d||         (1 when ||p|| = 0 or ||d|| = 0)
 *     d     = trust * d
 *   else d = g                            (plain momentum SGD: no decay, no trust ratio)
 *   mu = momentum * mu + d                (no dampening; mu starts at 0, so mu_1 = d_1)
 *   p  = p - lr * mu
 *
 * Norms are over the whole tensor (torch.norm). State: `mu` per parameter (the official name),
 * created on the parameter's first gradient, and the number of `step` calls. Each step runs in
 * one tf.tidy; the live tensor count stays constant once every parameter has state.
 */
import { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';
import { checkOption, isLayerwise, trustRatio } from './param-state.ts';
import { SlotOptimizer, type Slots } from './slot-optimizer.ts';

export interface LarsOptions {
  /** Weight decay coefficient, applied to ndim > 1 params only (1e-6 to 1.5e-6 in the MoCo v3 ResNet-50 configs). */
  weightDecay: number;
  /** Momentum (default 0.9). */
  momentum?: number;
  /** Trust coefficient eta (default 0.001). */
  trustCoefficient?: number;
}

const SPEC = { arrays: ['mu'], counts: [] } as const;

export class Lars extends SlotOptimizer {
  readonly weightDecay: number;
  readonly momentum: number;
  readonly trustCoefficient: number;

  constructor(params: Param[], opts: LarsOptions) {
    const { weightDecay, momentum = 0.9, trustCoefficient = 0.001 } = opts;
    checkOption('LARS', 'weightDecay', weightDecay, (x) => x >= 0, 'be a number >= 0');
    checkOption('LARS', 'momentum', momentum, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('LARS', 'trustCoefficient', trustCoefficient, (x) => x > 0, 'be a number > 0');
    super('LARS', params, SPEC);
    this.weightDecay = weightDecay;
    this.momentum = momentum;
    this.trustCoefficient = trustCoefficient;
  }

  protected update(p: Param, g: tf.Tensor, s: Slots, lr: number): void {
    let d: tf.Tensor = g;
    if (isLayerwise(p)) {
      d = tf.add(g, tf.mul(p.variable, this.weightDecay));
      d = tf.mul(d, trustRatio(p.variable, d, this.trustCoefficient));
    }
    const mu = s.arrays.mu;
    mu.assign(tf.add(tf.mul(mu, this.momentum), d));
    p.variable.assign(tf.sub(p.variable, tf.mul(mu, lr)));
  }
}
