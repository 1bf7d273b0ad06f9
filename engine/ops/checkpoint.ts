/**
 * Gradient checkpointing (activation recomputation): `checkpoint(fn, x, vars)` runs fn(x) without
 * keeping its intermediate tensors; the backward pass runs fn again under its own gradient tape and
 * returns the gradients of x and of every trainable variable fn reads. tfjs keeps every tensor of a
 * forward pass until its backward pass ends, so on the wasm backend (heap capped at 4 GiB) this is
 * what lets large batches fit, for about one extra forward of compute. Layers with side effects in
 * training (BatchNorm's running statistics) skip them while `isRecomputing()`.
 */
import { tf } from '../tf.ts';
import { customOp } from './custom-op.ts';

let enabled = false;
let recomputing = false;

export function setRecompute(on: boolean): void {
  enabled = on;
}

/** Whether --recompute is on (blocks keep only their input for backward). */
export function recomputeEnabled(): boolean {
  return enabled;
}

/** True while a checkpointed function is being run again for its gradient. */
export function isRecomputing(): boolean {
  return recomputing;
}

export function checkpoint(fn: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, vars: tf.Variable[]): tf.Tensor {
  if (!enabled) return fn(x);
  const trainable = vars.filter((v) => v.trainable);
  const op = customOp(([input, ...params], save) => {
    save([input]);
    return {
      value: tf.tidy(() => fn(input)),
      gradFunc: (dy, [saved]) => {
        const was = recomputing;
        recomputing = true;
        // The inner gradient computation runs while the outer backward pass is under way; tfjs
        // 4.22 then replaces and clears the engine's active tape, which the outer pass still
        // needs for its clean-up: keep it and put it back.
        const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
        const outerTape = state.activeTape;
        try {
          // fn reads the same variable objects, so the tape links them to `params`
          return tf.grads((xx: tf.Tensor, ..._ps: tf.Tensor[]) => fn(xx))([saved, ...params], dy);
        } finally {
          state.activeTape = outerTape;
          recomputing = was;
        }
      },
    };
  });
  return op(x, ...trainable);
}
