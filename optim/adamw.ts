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
import { nativeOpsActive } from '../engine/backend.ts';
import { runNative } from '../engine/kernels/native-ops.ts';
import type { Param } from '../engine/module.ts';
import type { CheckpointTensorState, Optimizer, OptimizerState } from './optimizer.ts';

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

const SUFFIXES = ['exp_avg', 'exp_avg_sq', 'step'] as const;

export class AdamW implements Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly params: Param[];
  private readonly byName = new Map<string, Param>();
  private readonly state = new Map<Param, ParamState>();
  /** Number of `step` calls. */
  private steps = 0;
  private disposed = false;

  constructor(params: Param[], opts: AdamWOptions) {
    const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay } = opts;
    const inUnit = (x: number) => Number.isFinite(x) && x >= 0 && x < 1;
    if (!inUnit(beta1)) throw new Error(`AdamW: beta1 must lie in [0, 1), got ${beta1}`);
    if (!inUnit(beta2)) throw new Error(`AdamW: beta2 must lie in [0, 1), got ${beta2}`);
    if (!(Number.isFinite(eps) && eps >= 0)) throw new Error(`AdamW: eps must be a number >= 0, got ${eps}`);
    if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be a number >= 0, got ${weightDecay}`);
    for (const p of params) {
      if (!p.trainable || p.kind !== 'param') {
        throw new Error(`AdamW: parameter '${p.name}' is ${p.kind === 'buffer' ? 'a buffer' : 'frozen (not trainable)'}; pass only trainable parameters`);
      }
      if (p.variable.dtype !== 'float32') throw new Error(`AdamW: parameter '${p.name}' has dtype ${p.variable.dtype}, expected float32`);
      if (this.byName.has(p.name)) throw new Error(`AdamW: two parameters are named '${p.name}'; state is keyed by name, names must be unique`);
      this.byName.set(p.name, p);
    }
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
    if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`AdamW.step: lr must be a finite number >= 0, got ${lr}`);
    for (const [p, g] of grads) {
      if (this.byName.get(p.name) !== p) throw new Error(`AdamW.step: got a gradient for '${p.name}', which this optimizer does not hold`);
      if (!sameShape(g.shape, p.shape)) throw new Error(`AdamW.step: gradient of '${p.name}' has shape [${g.shape}], parameter has [${p.shape}]`);
    }
    // Create missing state outside tidy (variables must outlive it).
    for (const p of this.params) if (grads.has(p) && !this.state.has(p)) this.state.set(p, this.freshState(p));

    const { beta1: b1, beta2: b2, eps } = this;
    const decay = 1 - lr * this.weightDecay;
    const native = nativeOpsActive();
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads.get(p);
        if (!g) continue;
        const s = this.state.get(p)!;
        s.step += 1;
        const bc1 = 1 - b1 ** s.step;
        const bc2Sqrt = Math.sqrt(1 - b2 ** s.step);
        if (native) {
          // one fused pass (engine/kernels/native-ops.ts) instead of a dozen tfjs kernels
          const [np, nm, nv] = runNative('SslAdamW', { p: p.variable, g, m: s.expAvg, v: s.expAvgSq }, { lr, beta1: b1, beta2: b2, eps, weightDecay: this.weightDecay, bc1, bc2Sqrt }) as tf.Tensor[];
          s.expAvg.assign(nm);
          s.expAvgSq.assign(nv);
          p.variable.assign(np);
          continue;
        }
        const m = tf.add(tf.mul(s.expAvg, b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(s.expAvgSq, b2), tf.mul(tf.square(g), 1 - b2));
        s.expAvg.assign(m);
        s.expAvgSq.assign(v);
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        const update = tf.mul(tf.div(m, denom), lr / bc1);
        p.variable.assign(tf.sub(tf.mul(p.variable, decay), update));
      }
    });
    this.steps += 1;
  }

  stateTensors(): OptimizerState {
    this.checkAlive();
    const out: OptimizerState = new Map();
    out.set('step', this.steps);
    for (const p of this.params) {
      const s = this.state.get(p);
      if (!s) continue;
      out.set(`${p.name}.exp_avg`, (s.expAvg.dataSync() as Float32Array).slice());
      out.set(`${p.name}.exp_avg_sq`, (s.expAvgSq.dataSync() as Float32Array).slice());
      out.set(`${p.name}.step`, s.step);
    }
    return out;
  }

  loadState(state: OptimizerState): void {
    this.checkAlive();
    const entries = new Map<Param, { expAvg?: Float32Array; expAvgSq?: Float32Array; step?: number }>();
    let steps = 0;
    for (const [key, value] of state) {
      if (key === 'step') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Error(`AdamW.loadState: 'step' must be an integer >= 0, got ${String(value)}`);
        steps = value;
        continue;
      }
      const suffix = SUFFIXES.find((s) => key.endsWith(`.${s}`) && this.byName.has(key.slice(0, -s.length - 1)));
      if (!suffix) throw new Error(`AdamW.loadState: unknown state entry '${key}' (no parameter of this optimizer matches it)`);
      const p = this.byName.get(key.slice(0, -suffix.length - 1))!;
      const e = entries.get(p) ?? {};
      entries.set(p, e);
      if (suffix === 'step') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`AdamW.loadState: '${key}' must be an integer >= 1, got ${String(value)}`);
        e.step = value;
      } else {
        if (!(value instanceof Float32Array) || value.length !== p.size) {
          throw new Error(`AdamW.loadState: '${key}' must be a Float32Array of ${p.size} values (parameter shape [${p.shape}]), got ${describe(value)}`);
        }
        if (suffix === 'exp_avg') e.expAvg = value;
        else e.expAvgSq = value;
      }
    }
    for (const [p, e] of entries) {
      const missing = SUFFIXES.filter((_, i) => [e.expAvg, e.expAvgSq, e.step][i] === undefined);
      if (missing.length) throw new Error(`AdamW.loadState: state of '${p.name}' is incomplete (missing ${missing.map((m) => `'${p.name}.${m}'`).join(', ')})`);
    }
    // Validated: replace the whole state.
    this.disposeState();
    for (const [p, e] of entries) {
      this.state.set(p, {
        expAvg: variableFrom(tf.tensor(e.expAvg!, p.shape, 'float32')),
        expAvgSq: variableFrom(tf.tensor(e.expAvgSq!, p.shape, 'float32')),
        step: e.step!,
      });
    }
    this.steps = steps;
  }

  /** The state in the form `runner/checkpoint.ts` stores (arrays as tensors, numbers as scalars). */
  stateForCheckpoint(): CheckpointTensorState {
    const tensors = new Map<string, Float32Array>();
    const scalars: Record<string, number> = {};
    for (const [k, v] of this.stateTensors()) {
      if (typeof v === 'number') scalars[k] = v;
      else tensors.set(k, v);
    }
    return { tensors, scalars };
  }

  loadFromCheckpoint(s: CheckpointTensorState): void {
    const state: OptimizerState = new Map();
    for (const [k, v] of s.tensors) {
      if (!(v instanceof Float32Array)) throw new Error(`AdamW.loadFromCheckpoint: '${k}' must be float32, got ${describe(v)}`);
      state.set(k, v);
    }
    for (const [k, v] of Object.entries(s.scalars)) state.set(k, v);
    this.loadState(state);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposeState();
    this.disposed = true;
  }

  private freshState(p: Param): ParamState {
    return { expAvg: zerosVariable(p.shape), expAvgSq: zerosVariable(p.shape), step: 0 };
  }

  private disposeState(): void {
    for (const s of this.state.values()) tf.dispose([s.expAvg, s.expAvgSq]);
    this.state.clear();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('AdamW: used after dispose()');
  }
}

/** A non-trainable variable holding `t`'s value; `t` itself is disposed. */
function variableFrom(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

function zerosVariable(shape: number[]): tf.Variable {
  return variableFrom(tf.zeros(shape, 'float32'));
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name} of ${(v as unknown as ArrayLike<number>).length} values`;
  return typeof v === 'number' ? `the number ${v}` : typeof v;
}
