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
import type { CheckpointTensorState, Optimizer, OptimizerState } from './optimizer.ts';
import {
  checkOption,
  checkStep,
  fromCheckpoint,
  indexParams,
  parseState,
  toCheckpoint,
  variableFrom,
  zerosVariable,
} from './param-state.ts';

export interface SgdOptions {
  /** Momentum (default 0.9). */
  momentum?: number;
  /** L2 weight decay added to the gradient of every parameter (default 0). */
  weightDecay?: number;
}

const SPEC = { arrays: ['momentum_buffer'], counts: [] } as const;

export class Sgd implements Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly params: Param[];
  private readonly byName: Map<string, Param>;
  private readonly buf = new Map<Param, tf.Variable>();
  private steps = 0;
  private disposed = false;

  constructor(params: Param[], opts: SgdOptions = {}) {
    const { momentum = 0.9, weightDecay = 0 } = opts;
    checkOption('SGD', 'momentum', momentum, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('SGD', 'weightDecay', weightDecay, (x) => x >= 0, 'be a number >= 0');
    this.byName = indexParams('SGD', params);
    this.params = [...params];
    this.momentum = momentum;
    this.weightDecay = weightDecay;
  }

  /** Number of `step` calls so far (restored by `loadState`). */
  get stepCount(): number {
    return this.steps;
  }

  step(grads: Map<Param, tf.Tensor>, lr: number): void {
    this.checkAlive();
    checkStep('SGD', this.byName, grads, lr);
    for (const p of this.params) if (grads.has(p) && !this.buf.has(p)) this.buf.set(p, zerosVariable(p.shape));
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads.get(p);
        if (!g) continue;
        const d = this.weightDecay === 0 ? g : tf.add(g, tf.mul(p.variable, this.weightDecay));
        const buf = this.buf.get(p)!;
        buf.assign(tf.add(tf.mul(buf, this.momentum), d));
        p.variable.assign(tf.sub(p.variable, tf.mul(buf, lr)));
      }
    });
    this.steps += 1;
  }

  async stateTensors(): Promise<OptimizerState> {
    this.checkAlive();
    const out: OptimizerState = new Map([['step', this.steps]]);
    for (const p of this.params) {
      const b = this.buf.get(p);
      if (b) out.set(`${p.name}.momentum_buffer`, ((await b.data()) as Float32Array).slice());
    }
    return out;
  }

  loadState(state: OptimizerState): void {
    this.checkAlive();
    const { steps, entries } = parseState('SGD', this.byName, SPEC, state);
    this.disposeState();
    for (const [p, e] of entries) this.buf.set(p, variableFrom(tf.tensor(e.get('momentum_buffer') as Float32Array, p.shape, 'float32')));
    this.steps = steps;
  }

  /** The state in the form `runner/checkpoint.ts` stores (arrays as tensors, numbers as scalars). */
  async stateForCheckpoint(): Promise<CheckpointTensorState> {
    return toCheckpoint(await this.stateTensors());
  }

  loadFromCheckpoint(s: CheckpointTensorState): void {
    this.loadState(fromCheckpoint('SGD', s));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposeState();
    this.disposed = true;
  }

  private disposeState(): void {
    tf.dispose([...this.buf.values()]);
    this.buf.clear();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('SGD: used after dispose()');
  }
}
