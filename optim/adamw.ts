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
import { tf } from '../engine/tf.ts';
import { adamwUpdate } from '../engine/ops/adamw-update.ts';
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

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay coefficient (0.1 in the MoCo v3 ViT recipe). */
  weightDecay: number;
}

interface ParamState {
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
  /** Number of updates this parameter has received (PyTorch's per-parameter `step`). */
  step: number;
}

const SPEC = { arrays: ['exp_avg', 'exp_avg_sq'], counts: ['step'] } as const;

export class AdamW implements Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly params: Param[];
  private readonly byName: Map<string, Param>;
  private readonly state = new Map<Param, ParamState>();
  /** Number of `step` calls. */
  private steps = 0;
  private disposed = false;

  constructor(params: Param[], opts: AdamWOptions) {
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay } = opts;
    checkOption('AdamW', 'beta1', beta1, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('AdamW', 'beta2', beta2, (x) => x >= 0 && x < 1, 'lie in [0, 1)');
    checkOption('AdamW', 'eps', eps, (x) => x >= 0, 'be a number >= 0');
    checkOption('AdamW', 'weightDecay', weightDecay, (x) => x >= 0, 'be a number >= 0');
    this.byName = indexParams('AdamW', params);
    this.params = [...params];
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  /** Number of `step` calls so far (restored by `loadState`). */
  get stepCount(): number {
    return this.steps;
  }

  step(grads: Map<Param, tf.Tensor>, lr: number): void {
    this.checkAlive();
    checkStep('AdamW', this.byName, grads, lr);
    // State variables must outlive the tidy below.
    for (const p of this.params) {
      if (grads.has(p) && !this.state.has(p))
        this.state.set(p, { expAvg: zerosVariable(p.shape), expAvgSq: zerosVariable(p.shape), step: 0 });
    }
    const { beta1, beta2, eps, weightDecay } = this;
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads.get(p);
        if (!g) continue;
        const s = this.state.get(p)!;
        s.step += 1;
        // fused natively when available (engine/ops/adamw-update.ts)
        const u = adamwUpdate(p.variable, g, s.expAvg, s.expAvgSq, { lr, beta1, beta2, eps, weightDecay, step: s.step });
        s.expAvg.assign(u.m);
        s.expAvgSq.assign(u.v);
        p.variable.assign(u.p);
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
    const { steps, entries } = parseState('AdamW', this.byName, SPEC, state);
    // Validated: replace the whole state.
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
    this.loadState(fromCheckpoint('AdamW', s));
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
    if (this.disposed) throw new Error('AdamW: used after dispose()');
  }
}
