/**
 * The training loop's callbacks (runner/training/loop.ts), each one job: record the curves, stop at
 * a non-finite loss, evaluate the kNN monitor, report progress, write checkpoints. runner/pretrain.ts
 * gives them in that order.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Module } from '../../engine/module.ts';
import type { Checkpointable } from '../../core/checkpoint.ts';
import type { ProgressInfo } from '../../core/results.ts';
import { saveCheckpoint } from '../checkpoint.ts';
import { saveWeights } from '../../engine/weights.ts';
import { snapshotFile } from '../snapshots.ts';
import type { LoopState, StepEvent, TrainCallback } from './loop.ts';

/** Loss, lr and per-layer gradient-norm curves, one point per step. */
export const curveRecorder: TrainCallback = {
  onStep(e, { run }) {
    run.curves.loss.push({ iter: e.iter, epoch: e.epoch, value: e.loss });
    run.curves.lr.push({ iter: e.iter, epoch: e.epoch, value: e.lr });
    run.curves.grad ??= {};
    const grad = run.curves.grad;
    for (const [label, value] of Object.entries(e.gradNorms ?? {})) {
      grad[label] ??= [];
      grad[label].push({ iter: e.iter, epoch: e.epoch, value });
    }
  },
};

/**
 * A non-finite loss, or a non-finite parameter after the update (the step's `nonFinite`), ends the
 * run as diverged at that iteration (the later callbacks see `run.diverged`).
 */
export const divergenceStop: TrainCallback = {
  onStep(e, s) {
    if (Number.isFinite(e.loss) && e.nonFinite === undefined) return;
    s.run.diverged = true;
    s.run.divergedAt = e.iter;
    s.run.divergedReason = Number.isFinite(e.loss) ? e.nonFinite : `the loss is ${e.loss}`;
    s.stop = true;
  },
};

/**
 * The kNN monitor: every step's features go to `feed` (the paper's queue; absent for a fixed bank),
 * and every `every` iterations and at the last one `evaluate` gives the curve's next point; no
 * evaluation after a divergence.
 */
export class KnnMonitorCallback implements TrainCallback {
  readonly phase = 'knn-monitor';
  /** The last monitor value (the curve's last point when resumed). */
  last?: number;

  constructor(
    private readonly every: number,
    private readonly evaluate: () => Promise<number>,
    private readonly feed?: (e: StepEvent) => Promise<void>,
  ) {}

  async onStep(e: StepEvent, { run }: LoopState): Promise<void> {
    await this.feed?.(e);
    this.last ??= run.curves.knn.at(-1)?.value;
    if (run.diverged || (e.next % this.every !== 0 && e.next !== e.totalIters)) return;
    this.last = await this.evaluate();
    run.curves.knn.push({ iter: e.next, epoch: e.next / e.itersPerEpoch, value: this.last });
  }
}

/** Progress after each step, with the monitor's last value. */
export function progressReporter(report: ((p: ProgressInfo) => void) | undefined, monitor: KnnMonitorCallback): TrainCallback {
  return {
    onStep(e) {
      report?.({ iter: e.next, totalIters: e.totalIters, startIter: e.startIter, loss: e.loss, lr: e.lr, knn: monitor.last });
    },
  };
}

/** Checkpoints every `every` iterations, at the last one, when the run diverged and when it was stopped; the training time is accounted at each. */
export class CheckpointCallback implements TrainCallback {
  readonly phase = 'checkpoint';
  private t0 = performance.now();

  constructor(
    private readonly dir: string,
    private readonly every: number,
    private readonly modules: () => Record<string, Module>,
    private readonly parts: Record<string, Checkpointable>,
  ) {}

  async onStep(e: StepEvent, { run, stop }: LoopState): Promise<void> {
    if (!run.diverged && !stop && e.next % this.every !== 0 && e.next !== e.totalIters) return;
    const now = performance.now();
    run.trainSeconds += (now - this.t0) / 1000;
    this.t0 = now;
    await saveCheckpoint(this.dir, e.next, this.modules(), this.parts, run);
  }
}

/** Saves the backbone's weights after each of the given iterations (runner/snapshots.ts), unless the run diverged. */
export class SnapshotCallback implements TrainCallback {
  readonly phase = 'snapshot';
  private readonly at: Set<number>;

  constructor(
    private readonly dir: string,
    iters: readonly number[],
    private readonly backbone: () => Module,
    private readonly metadata: Record<string, string>,
  ) {
    this.at = new Set(iters);
  }

  async onStep(e: StepEvent, { run }: LoopState): Promise<void> {
    if (run.diverged || !this.at.has(e.next)) return;
    const file = snapshotFile(this.dir, e.next);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await saveWeights(this.backbone(), file, { ...this.metadata, iteration: String(e.next) });
  }
}

/** Stops the run once `maxIters` iterations are done (the checkpoint callback after it then writes one). */
export function stopAfter(maxIters: number | undefined): TrainCallback {
  return {
    onStep(e, s) {
      if (maxIters !== undefined && e.next >= maxIters && e.next < e.totalIters) s.stop = true;
    },
  };
}

/** Testing hook: throws after iteration `after` completes (a simulated crash). */
export function crashAfter(after: number | undefined): TrainCallback {
  return {
    onStep(e, { run }) {
      if (after !== undefined && e.next === after && !run.diverged) throw new Error(`simulated crash after iteration ${e.next}`);
    },
  };
}
