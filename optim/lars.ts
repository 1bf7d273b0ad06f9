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
import type { CheckpointTensorState, Optimizer, OptimizerState } from './optimizer.ts';
import {
  checkOption,
  checkStep,
  fromCheckpoint,
  indexParams,
  isLayerwise,
  parseState,
  toCheckpoint,
  trustRatio,
  variableFrom,
  zerosVariable,
} from './param-state.ts';

export interface LarsOptions {
  /** Weight decay coefficient, applied to ndim > 1 params only (1e-6 to 1.5e-6 in the MoCo v3 ResNet-50 configs). */
  weightDecay: number;
  /** Momentum (default 0.9). */
  momentum?: number;
  /** Trust coefficient eta (default 0.001). */
  trustCoefficient?: number;
}

const SPEC = { arrays: ['mu'], counts: [] } as const;

export class Lars implements Optimizer {
  readonly weightDecay: number;
  readonly momentum: number;
  readonly trustCoefficient: number;
  private readonly params: Param[];
  private readonly byName: Map<string, Param>;
  private readonly mu = new Map<Param, tf.Variable>();
  private steps = 0;
  private disposed = false;

  constructor(params: Param[], opts: LarsOptions) {
    const { weightDecay, momentum = 0.9, trustCoefficient = 0.001 } = opts;
    checkOption('LARS', 'weightDecay', weightDecay, (x) => x >= 0, 'be a number >= 0');
    checkOption('LARS', 'momentum', momentum, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('LARS', 'trustCoefficient', trustCoefficient, (x) => x > 0, 'be a number > 0');
    this.byName = indexParams('LARS', params);
    this.params = [...params];
    this.weightDecay = weightDecay;
    this.momentum = momentum;
    this.trustCoefficient = trustCoefficient;
  }

  /** Number of `step` calls so far (restored by `loadState`). */
  get stepCount(): number {
    return this.steps;
  }

  step(grads: Map<Param, tf.Tensor>, lr: number): void {
    this.checkAlive();
    checkStep('LARS', this.byName, grads, lr);
    // State variables must outlive the tidy below.
    for (const p of this.params) if (grads.has(p) && !this.mu.has(p)) this.mu.set(p, zerosVariable(p.shape));
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads.get(p);
        if (!g) continue;
        let d: tf.Tensor = g;
        if (isLayerwise(p)) {
          d = tf.add(g, tf.mul(p.variable, this.weightDecay));
          d = tf.mul(d, trustRatio(p.variable, d, this.trustCoefficient));
        }
        const mu = this.mu.get(p)!;
        mu.assign(tf.add(tf.mul(mu, this.momentum), d));
        p.variable.assign(tf.sub(p.variable, tf.mul(mu, lr)));
      }
    });
    this.steps += 1;
  }

  async stateTensors(): Promise<OptimizerState> {
    this.checkAlive();
    const out: OptimizerState = new Map([['step', this.steps]]);
    for (const p of this.params) {
      const mu = this.mu.get(p);
      if (mu) out.set(`${p.name}.mu`, ((await mu.data()) as Float32Array).slice());
    }
    return out;
  }

  loadState(state: OptimizerState): void {
    this.checkAlive();
    const { steps, entries } = parseState('LARS', this.byName, SPEC, state);
    this.disposeState();
    for (const [p, e] of entries) this.mu.set(p, variableFrom(tf.tensor(e.get('mu') as Float32Array, p.shape, 'float32')));
    this.steps = steps;
  }

  /** The state in the form `runner/checkpoint.ts` stores (arrays as tensors, numbers as scalars). */
  async stateForCheckpoint(): Promise<CheckpointTensorState> {
    return toCheckpoint(await this.stateTensors());
  }

  loadFromCheckpoint(s: CheckpointTensorState): void {
    this.loadState(fromCheckpoint('LARS', s));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposeState();
    this.disposed = true;
  }

  private disposeState(): void {
    tf.dispose([...this.mu.values()]);
    this.mu.clear();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('LARS: used after dispose()');
  }
}
