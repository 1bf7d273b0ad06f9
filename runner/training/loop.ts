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
  /** The kNN monitor at random init, under its own protocol (bank monitors only). */
  knnMonitorRandomInit?: number;
  trainSeconds: number;
  diverged: boolean;
  divergedAt?: number;
  /** What was non-finite when the run diverged. */
  divergedReason?: string;
  /** The engine the run started on; a resume on another is refused (runner/engine-check.ts). */
  engine?: EngineId;
  /**
   * Seconds spent per phase of the loop so far (the step's own phases, e.g. `views` and `step`,
   * and each callback that names a `phase`, e.g. `knn-monitor`, `checkpoint`); absent in runs from
   * before it was recorded.
   */
  phaseSeconds?: Record<string, number>;
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
  /** Set when the step left a non-finite parameter behind a finite loss: what was found. */
  nonFinite?: string;
  /** Gradient L2 norm per monitored layer, when recorded. */
  gradNorms?: Record<string, number>;
  /** Seconds of the step's own phases (e.g. `views`: the augmentation, `step`: forward, backward, update). */
  phases?: Record<string, number>;
}

/** The loop's shared state: the run's record, and whether a callback asked it to stop after this step. */
export interface LoopState {
  run: RunState;
  stop: boolean;
}

export interface TrainCallback {
  /** After each step, in the order the callbacks were given. */
  onStep(e: StepEvent, s: LoopState): void | Promise<void>;
  /** When set, the time of `onStep` is added to the run's `phaseSeconds` under this name. */
  readonly phase?: string;
}

/** One step of training: the loss, the first view's features and labels, gradient norms, and the seconds of its phases. */
export type StepFn = (
  iter: number,
) => Promise<Pick<StepEvent, 'loss' | 'lr' | 'features' | 'labels' | 'gradNorms' | 'phases' | 'nonFinite'>>;

function addPhase(run: RunState, phase: string, seconds: number): void {
  run.phaseSeconds ??= {};
  run.phaseSeconds[phase] = (run.phaseSeconds[phase] ?? 0) + seconds;
}

/** Runs iterations startIter..totalIters-1 (none once the run has diverged), each step's event through every callback. */
export async function trainLoop(
  o: { startIter: number; totalIters: number; itersPerEpoch: number },
  step: StepFn,
  callbacks: readonly TrainCallback[],
  s: LoopState,
): Promise<void> {
  for (let iter = o.startIter; iter < o.totalIters && !s.run.diverged && !s.stop; iter++) {
    const out = await step(iter);
    for (const [phase, seconds] of Object.entries(out.phases ?? {})) addPhase(s.run, phase, seconds);
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
      for (const cb of callbacks) {
        const t0 = performance.now();
        await cb.onStep(e, s);
        if (cb.phase) addPhase(s.run, cb.phase, (performance.now() - t0) / 1000);
      }
    } finally {
      out.features.dispose();
    }
  }
}
