/**
 * SGD with momentum, PyTorch `torch.optim.SGD` semantics (dampening 0, no Nesterov), the
 * optimiser of the linear probe (MoCo v3 main_lincls.py: momentum 0.9, wd 0). For each parameter
 * p with gradient g (lr given per step):
 *
 *   d   = g + wd * p                  (every parameter, biases included, as torch.optim.SGD)
 *   buf = momentum * buf + d          (buf starts at 0, so buf_1 = d_1 as PyTorch's clone)
 *   p   = p - lr * buf
 *
 * With momentum 0 it is plain SGD (buf = d). State: `momentum_buffer` per parameter (PyTorch's
 * name), created on the parameter's first gradient, and the number of `step` calls. Each step
 * runs in one tf.tidy; the live tensor count is constant once every parameter has state.
 */
import { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';
import { checkOption } from './param-state.ts';
import { SlotOptimizer, type Slots } from './slot-optimizer.ts';

export interface SgdOptions {
  /** Momentum (default 0.9). */
  momentum?: number;
  /** L2 weight decay added to the gradient of every parameter (default 0). */
  weightDecay?: number;
}

const SPEC = { arrays: ['momentum_buffer'], counts: [] } as const;

export class Sgd extends SlotOptimizer {
  readonly momentum: number;
  readonly weightDecay: number;

  constructor(params: Param[], opts: SgdOptions = {}) {
    const { momentum = 0.9, weightDecay = 0 } = opts;
    checkOption('SGD', 'momentum', momentum, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('SGD', 'weightDecay', weightDecay, (x) => x >= 0, 'be a number >= 0');
    super('SGD', params, SPEC);
    this.momentum = momentum;
    this.weightDecay = weightDecay;
  }

  protected update(p: Param, g: tf.Tensor, s: Slots, lr: number): void {
    const d = this.weightDecay === 0 ? g : tf.add(g, tf.mul(p.variable, this.weightDecay));
    const buf = s.arrays.momentum_buffer;
    buf.assign(tf.add(tf.mul(buf, this.momentum), d));
    p.variable.assign(tf.sub(p.variable, tf.mul(buf, lr)));
  }
}
