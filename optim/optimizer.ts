/**
 * The optimiser contract of sslbench. An optimiser owns the state of a fixed list of `Param`s,
 * applies one update per `step` from a map of gradients, and exposes its state as plain arrays
 * and numbers for checkpoints.
 */
import type { tf } from '../engine/tf.ts';
import type { Param } from '../engine/module.ts';

/** Optimiser state for checkpoints: flattened float arrays and scalars, keyed by string. */
export type OptimizerState = Map<string, Float32Array | number>;

/** The shape `runner/checkpoint.ts` expects of a checkpointable part (declared here structurally). */
export interface CheckpointTensorState {
  tensors: Map<string, Float32Array | Int32Array>;
  scalars: Record<string, number>;
}

export interface Optimizer {
  /**
   * One update with learning rate `lr`. `grads` maps a Param to its gradient (same shape); params
   * without an entry are skipped and their state is unchanged. The caller keeps ownership of
   * the gradient tensors (they are not disposed here).
   */
  step(grads: Map<Param, tf.Tensor>, lr: number): void;
  /**
   * A copy of the state: per-parameter arrays keyed `<param name>.<state name>` (e.g.
   * `blocks.0.attn.qkv.weight.exp_avg`) and the number of `step` calls under `step`.
   */
  stateTensors(): Promise<OptimizerState>;
  /** Replaces the whole state with one from `stateTensors()` (validated; errors name the key). */
  loadState(state: OptimizerState): void;
  /** Frees the state tensors; the optimiser cannot be used afterwards. */
  dispose(): void;
}
