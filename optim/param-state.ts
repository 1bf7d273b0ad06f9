/**
 * Shared plumbing of the optimisers (SGD, AdamW, LARS, LAMB): parameter and gradient checks,
 * state variables, the layer-wise trust ratio (LARS, LAMB), and parsing/validating an
 * `OptimizerState` into per-parameter entries. Error messages start with the optimiser's name (`who`).
 */
import { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';
import type { CheckpointTensorState, OptimizerState } from './optimizer.ts';

/** Throws `${who}: ${option} must ..., got x` unless `ok`. */
export function checkOption(who: string, option: string, value: number, ok: (x: number) => boolean, must: string): void {
  if (!(typeof value === 'number' && Number.isFinite(value) && ok(value))) throw new Error(`${who}: ${option} must ${must}, got ${value}`);
}

/** Validates the parameter list (trainable float32 params, unique names); returns them by name. */
export function indexParams(who: string, params: Param[]): Map<string, Param> {
  const byName = new Map<string, Param>();
  for (const p of params) {
    if (!p.trainable || p.kind !== 'param') {
      throw new Error(
        `${who}: parameter '${p.name}' is ${p.kind === 'buffer' ? 'a buffer' : 'frozen (not trainable)'}; pass only trainable parameters`,
      );
    }
    if (p.variable.dtype !== 'float32') throw new Error(`${who}: parameter '${p.name}' has dtype ${p.variable.dtype}, expected float32`);
    if (byName.has(p.name)) throw new Error(`${who}: two parameters are named '${p.name}'; state is keyed by name, names must be unique`);
    byName.set(p.name, p);
  }
  return byName;
}

/** Checks `lr` and that every gradient belongs to a held parameter and has its shape. */
export function checkStep(who: string, byName: Map<string, Param>, grads: Map<Param, tf.Tensor>, lr: number): void {
  if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`${who}.step: lr must be a finite number >= 0, got ${lr}`);
  for (const [p, g] of grads) {
    if (byName.get(p.name) !== p) throw new Error(`${who}.step: got a gradient for '${p.name}', which this optimizer does not hold`);
    const same = g.shape.length === p.shape.length && g.shape.every((d, i) => d === p.shape[i]);
    if (!same) throw new Error(`${who}.step: gradient of '${p.name}' has shape [${g.shape}], parameter has [${p.shape}]`);
  }
}

/** The MoCo v3 rule: weight decay and the trust ratio apply only to params with ndim > 1. */
export function isLayerwise(p: Param): boolean {
  return p.shape.length > 1;
}

/**
 * `coef * ||p|| / ||u||` as a scalar tensor, or 1 when either norm is 0 (the official
 * `torch.where(param_norm > 0, torch.where(update_norm > 0, ..., one), one)`). Call inside tidy.
 */
export function trustRatio(p: tf.Tensor, u: tf.Tensor, coef: number): tf.Tensor {
  const pn = tf.norm(p);
  const un = tf.norm(u);
  const ok = tf.logicalAnd(tf.greater(pn, 0), tf.greater(un, 0));
  const safeUn = tf.where(ok, un, tf.onesLike(un)); // no 0/0 even in the unselected branch
  return tf.where(ok, tf.mul(tf.div(pn, safeUn), coef), tf.onesLike(pn));
}

/** A non-trainable variable holding `t`'s value; `t` itself is disposed. */
export function variableFrom(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

export function zerosVariable(shape: number[]): tf.Variable {
  return variableFrom(tf.zeros(shape, 'float32'));
}

/** Per-parameter state suffixes: `arrays` hold one value per element, `counts` integers >= 1. */
export interface StateSpec {
  arrays: readonly string[];
  counts: readonly string[];
}

export interface ParsedState {
  /** The optimiser-wide `step` (number of `step` calls). */
  steps: number;
  entries: Map<Param, Map<string, Float32Array | number>>;
}

/** Validates `state` against `spec` (unknown keys, sizes, completeness); errors name the key. */
export function parseState(who: string, byName: Map<string, Param>, spec: StateSpec, state: OptimizerState): ParsedState {
  const suffixes = [...spec.arrays, ...spec.counts];
  const entries = new Map<Param, Map<string, Float32Array | number>>();
  let steps = 0;
  for (const [key, value] of state) {
    if (key === 'step') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
        throw new Error(`${who}.loadState: 'step' must be an integer >= 0, got ${describe(value)}`);
      steps = value;
      continue;
    }
    const suffix = suffixes.find((s) => key.endsWith(`.${s}`) && byName.has(key.slice(0, -s.length - 1)));
    if (!suffix) throw new Error(`${who}.loadState: unknown state entry '${key}' (no parameter of this optimizer matches it)`);
    const p = byName.get(key.slice(0, -suffix.length - 1))!;
    if (spec.counts.includes(suffix)) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
        throw new Error(`${who}.loadState: '${key}' must be an integer >= 1, got ${describe(value)}`);
    } else if (!(value instanceof Float32Array) || value.length !== p.size) {
      throw new Error(
        `${who}.loadState: '${key}' must be a Float32Array of ${p.size} values (parameter shape [${p.shape}]), got ${describe(value)}`,
      );
    }
    const e = entries.get(p) ?? new Map<string, Float32Array | number>();
    entries.set(p, e.set(suffix, value));
  }
  for (const [p, e] of entries) {
    const missing = suffixes.filter((s) => !e.has(s));
    if (missing.length)
      throw new Error(
        `${who}.loadState: state of '${p.name}' is incomplete (missing ${missing.map((m) => `'${p.name}.${m}'`).join(', ')})`,
      );
  }
  return { steps, entries };
}

/** Splits an `OptimizerState` into the arrays and scalars `runner/checkpoint.ts` stores. */
export function toCheckpoint(state: OptimizerState): CheckpointTensorState {
  const tensors = new Map<string, Float32Array>();
  const scalars: Record<string, number> = {};
  for (const [k, v] of state) {
    if (typeof v === 'number') scalars[k] = v;
    else tensors.set(k, v);
  }
  return { tensors, scalars };
}

/** The inverse of `toCheckpoint`; integer arrays are refused (all state is float32). */
export function fromCheckpoint(who: string, s: CheckpointTensorState): OptimizerState {
  const state: OptimizerState = new Map();
  for (const [k, v] of s.tensors) {
    if (!(v instanceof Float32Array)) throw new Error(`${who}.loadFromCheckpoint: '${k}' must be float32, got ${describe(v)}`);
    state.set(k, v);
  }
  for (const [k, v] of Object.entries(s.scalars)) state.set(k, v);
  return state;
}

function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name} of ${(v as unknown as ArrayLike<number>).length} values`;
  return typeof v === 'number' ? `the number ${v}` : typeof v;
}
