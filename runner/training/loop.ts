/**
 * The pre-training loop, Lightning-style: it runs the steps and hands each one to its callbacks
 * (curves, divergence, kNN monitor, progress, checkpoints: runner/training/callbacks.ts); what to
 * build, resume and report around it is runner/pretrain.ts.
 */
import type { EngineId } from '../../core/provenance.ts';
import type { tf } from '../../engine/tf.ts';
import type { Curves } from '../../core/results.ts';

/** What a run keeps in its checkpoints (checkpoint.json) besides the tensors. */
export interface RunState {
  curves: Curves;
  knnRandomInit: number;
  trainSeconds: number;
  diverged: boolean;
  divergedAt?: number;
  /** The engine the run started on; a resume on another is refused (runner/engine-check.ts). */
  engine?: EngineId;
}

/** One finished training step, as the callbacks see it. */
export interface StepEvent {
  /** The step's iteration (0-based); `next` = iter + 1, the iteration count after it. */
  iter: number;
  next: number;
  totalIters: number;
  startIter: number;
  itersPerEpoch: number;
  /** Fractional epoch of the step (iter / itersPerEpoch). */
  epoch: number;
  loss: number;
  lr: number;
  /** The first view's backbone features and the batch's labels (the loop disposes the features). */
  features: tf.Tensor2D;
  labels: Int32Array;
  /** Gradient L2 norm per monitored layer, when recorded. */
  gradNorms?: Record<string, number>;
}

/** The loop's shared state: the run's record, and whether a callback asked it to stop after this step. */
export interface LoopState {
  run: RunState;
  stop: boolean;
}

export interface TrainCallback {
  /** After each step, in the order the callbacks were given. */
  onStep(e: StepEvent, s: LoopState): void | Promise<void>;
}

/** One step of training: the loss, the first view's features and labels, gradient norms. */
export type StepFn = (iter: number) => Promise<Pick<StepEvent, 'loss' | 'lr' | 'features' | 'labels' | 'gradNorms'>>;

/** Runs iterations startIter..totalIters-1 (none once the run has diverged), each step's event through every callback. */
export async function trainLoop(
  o: { startIter: number; totalIters: number; itersPerEpoch: number },
  step: StepFn,
  callbacks: readonly TrainCallback[],
  s: LoopState,
): Promise<void> {
  for (let iter = o.startIter; iter < o.totalIters && !s.run.diverged && !s.stop; iter++) {
    const out = await step(iter);
    const e: StepEvent = {
      ...out,
      iter,
      next: iter + 1,
      totalIters: o.totalIters,
      startIter: o.startIter,
      itersPerEpoch: o.itersPerEpoch,
      epoch: iter / o.itersPerEpoch,
    };
    try {
      for (const cb of callbacks) await cb.onStep(e, s);
    } finally {
      out.features.dispose();
    }
  }
}
