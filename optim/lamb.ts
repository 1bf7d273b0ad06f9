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

export interface LambOptions {
  /** Weight decay coefficient, applied to ndim > 1 params only. */
  weightDecay: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

interface ParamState {
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
  /** Number of updates this parameter has received. */
  step: number;
}

const SPEC = { arrays: ['exp_avg', 'exp_avg_sq'], counts: ['step'] } as const;

export class Lamb implements Optimizer {
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private readonly params: Param[];
  private readonly byName: Map<string, Param>;
  private readonly state = new Map<Param, ParamState>();
  private steps = 0;
  private disposed = false;

  constructor(params: Param[], opts: LambOptions) {
    const { weightDecay, beta1 = 0.9, beta2 = 0.999, eps = 1e-6 } = opts;
    checkOption('LAMB', 'weightDecay', weightDecay, (x) => x >= 0, 'be a number >= 0');
    checkOption('LAMB', 'beta1', beta1, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('LAMB', 'beta2', beta2, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('LAMB', 'eps', eps, (x) => x > 0, 'be a number > 0');
    this.byName = indexParams('LAMB', params);
    this.params = [...params];
    this.weightDecay = weightDecay;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
  }

  /** Number of `step` calls so far (restored by `loadState`). */
  get stepCount(): number {
    return this.steps;
  }

  step(grads: Map<Param, tf.Tensor>, lr: number): void {
    this.checkAlive();
    checkStep('LAMB', this.byName, grads, lr);
    // State variables must outlive the tidy below.
    for (const p of this.params) {
      if (grads.has(p) && !this.state.has(p))
        this.state.set(p, { expAvg: zerosVariable(p.shape), expAvgSq: zerosVariable(p.shape), step: 0 });
    }
    const { beta1: b1, beta2: b2, eps } = this;
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads.get(p);
        if (!g) continue;
        const s = this.state.get(p)!;
        s.step += 1;
        const m = tf.add(tf.mul(s.expAvg, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(s.expAvgSq, b2), tf.mul(tf.square(g), 1 - b2));
        s.expAvg.assign(m);
        s.expAvgSq.assign(v);
        const denom = tf.add(tf.sqrt(tf.div(v, 1 - b2 ** s.step)), eps);
        let u = tf.div(tf.div(m, 1 - b1 ** s.step), denom);
        let scaled = tf.mul(u, lr);
        if (isLayerwise(p)) {
          u = tf.add(u, tf.mul(p.variable, this.weightDecay));
          scaled = tf.mul(u, tf.mul(trustRatio(p.variable, u, 1), lr));
        }
        p.variable.assign(tf.sub(p.variable, scaled));
      }
    });
    this.steps += 1;
  }

  async stateTensors(): Promise<OptimizerState> {
    this.checkAlive();
    const out: OptimizerState = new Map([['step', this.steps]]);
    for (const p of this.params) {
      const s = this.state.get(p);
      if (!s) continue;
      out.set(`${p.name}.exp_avg`, ((await s.expAvg.data()) as Float32Array).slice());
      out.set(`${p.name}.exp_avg_sq`, ((await s.expAvgSq.data()) as Float32Array).slice());
      out.set(`${p.name}.step`, s.step);
    }
    return out;
  }

  loadState(state: OptimizerState): void {
    this.checkAlive();
    const { steps, entries } = parseState('LAMB', this.byName, SPEC, state);
    this.disposeState();
    const variable = (data: unknown, p: Param) => variableFrom(tf.tensor(data as Float32Array, p.shape, 'float32'));
    for (const [p, e] of entries) {
      this.state.set(p, {
        expAvg: variable(e.get('exp_avg'), p),
        expAvgSq: variable(e.get('exp_avg_sq'), p),
        step: e.get('step') as number,
      });
    }
    this.steps = steps;
  }

  /** The state in the form `runner/checkpoint.ts` stores (arrays as tensors, numbers as scalars). */
  async stateForCheckpoint(): Promise<CheckpointTensorState> {
    return toCheckpoint(await this.stateTensors());
  }

  loadFromCheckpoint(s: CheckpointTensorState): void {
    this.loadState(fromCheckpoint('LAMB', s));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposeState();
    this.disposed = true;
  }

  private disposeState(): void {
    for (const s of this.state.values()) tf.dispose([s.expAvg, s.expAvgSq]);
    this.state.clear();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('LAMB: used after dispose()');
  }
}
