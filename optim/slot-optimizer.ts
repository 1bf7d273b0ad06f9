/**
 * What every optimiser here shares, so that one is its update rule: the parameters (checked,
 * keyed by name), per-parameter state ("slots": arrays of the parameter's shape, e.g. AdamW's
 * `exp_avg`, and integer counts, e.g. its `step`) created on a parameter's first gradient (like
 * PyTorch's lazily created state), the number of `step` calls, saving and restoring the state
 * under PyTorch's names (validated, errors naming the key), checkpoints, and disposal. A subclass
 * gives its name, its slot names and `update`, which runs inside one tf.tidy per step.
 */
import { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';
import type { CheckpointTensorState, Optimizer, OptimizerState } from './optimizer.ts';
import {
  checkStep,
  fromCheckpoint,
  indexParams,
  parseState,
  type StateSpec,
  toCheckpoint,
  variableFrom,
  zerosVariable,
} from './param-state.ts';

/** One parameter's state: its arrays (tf.Variables of its shape) and counts, by their state names. */
export interface Slots {
  arrays: Record<string, tf.Variable>;
  counts: Record<string, number>;
}

export abstract class SlotOptimizer implements Optimizer {
  protected readonly params: Param[];
  protected readonly byName: Map<string, Param>;
  private readonly slots = new Map<Param, Slots>();
  private steps = 0;
  private disposed = false;

  /**
   * @param who the optimiser's name in errors (`AdamW`, `LARS`, ...)
   * @param spec its per-parameter state: array and count names, as PyTorch calls them
   */
  protected constructor(
    protected readonly who: string,
    params: Param[],
    private readonly spec: StateSpec,
  ) {
    this.byName = indexParams(who, params);
    this.params = [...params];
  }

  /** One parameter's update from its gradient, inside the step's tf.tidy: assign to `p.variable` and the slots' arrays, update the counts. */
  protected abstract update(p: Param, g: tf.Tensor, s: Slots, lr: number): void;

  /** Number of `step` calls so far (restored by `loadState`). */
  get stepCount(): number {
    return this.steps;
  }

  step(grads: Map<Param, tf.Tensor>, lr: number): void {
    this.checkAlive();
    checkStep(this.who, this.byName, grads, lr);
    // state variables must outlive the tidy below
    for (const p of this.params) {
      if (!grads.has(p) || this.slots.has(p)) continue;
      this.slots.set(p, {
        arrays: Object.fromEntries(this.spec.arrays.map((a) => [a, zerosVariable(p.shape)])),
        counts: Object.fromEntries(this.spec.counts.map((c) => [c, 0])),
      });
    }
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads.get(p);
        if (g) this.update(p, g, this.slots.get(p)!, lr);
      }
    });
    this.steps += 1;
  }

  async stateTensors(): Promise<OptimizerState> {
    this.checkAlive();
    const out: OptimizerState = new Map([['step', this.steps]]);
    for (const p of this.params) {
      const s = this.slots.get(p);
      if (!s) continue;
      for (const a of this.spec.arrays) out.set(`${p.name}.${a}`, ((await s.arrays[a].data()) as Float32Array).slice());
      for (const c of this.spec.counts) out.set(`${p.name}.${c}`, s.counts[c]);
    }
    return out;
  }

  loadState(state: OptimizerState): void {
    this.checkAlive();
    const { steps, entries } = parseState(this.who, this.byName, this.spec, state);
    // validated: replace the whole state
    this.disposeState();
    for (const [p, e] of entries) {
      this.slots.set(p, {
        arrays: Object.fromEntries(this.spec.arrays.map((a) => [a, variableFrom(tf.tensor(e.get(a) as Float32Array, p.shape, 'float32'))])),
        counts: Object.fromEntries(this.spec.counts.map((c) => [c, e.get(c) as number])),
      });
    }
    this.steps = steps;
  }

  /** The state in the form `runner/checkpoint.ts` stores (arrays as tensors, numbers as scalars). */
  async stateForCheckpoint(): Promise<CheckpointTensorState> {
    return toCheckpoint(await this.stateTensors());
  }

  loadFromCheckpoint(s: CheckpointTensorState): void {
    this.loadState(fromCheckpoint(this.who, s));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposeState();
    this.disposed = true;
  }

  private disposeState(): void {
    for (const s of this.slots.values()) tf.dispose(Object.values(s.arrays));
    this.slots.clear();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error(`${this.who}: used after dispose()`);
  }
}
