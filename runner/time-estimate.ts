/**
 * How long a cell will train, estimated before it starts (`bench run --dry-run`): its iterations
 * (training images / batch, whole batches, times epochs) times the batch, at the seconds per
 * image of the finished cells in the same run store and preset that trained the same backbone
 * with the same framework and precision (their mean; wall time less the kNN monitor), plus the
 * monitor's evaluations (one per `monitor.every` iterations) at those cells' seconds per
 * evaluation. A cell with no such measurement gets no estimate, said as such.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PretrainConfig } from '../core/config.ts';
import type { PretrainResult } from '../core/results.ts';
import { readResult } from './pretrain.ts';

/** The finished cells of a run store at a preset. */
export function finishedRuns(runsDir: string, preset: string): PretrainResult[] {
  const dir = path.join(runsDir, preset);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => {
      try {
        return readResult(path.join(dir, f));
      } catch {
        return undefined; // a broken record is bench report's concern, not the estimate's
      }
    })
    .filter((r): r is PretrainResult => r !== undefined && r.wallSeconds > 0 && r.iterations > 0 && !r.flags?.diverged);
}

const kindOf = (c: PretrainConfig) => `${c.backbone.name}|${c.framework.name}|${c.precision ?? 'fp32'}`;

export interface TimeEstimate {
  iterations: number;
  /** Seconds of training, or undefined without a measured rate. */
  seconds?: number;
  /** How many finished cells the rate comes from. */
  from: number;
}

export function estimateTraining(c: PretrainConfig, finished: readonly PretrainResult[]): TimeEstimate | undefined {
  const images = c.data.trainCount;
  if (images === undefined) return undefined;
  const iterations = Math.floor(images / c.optimizer.batch) * c.optimizer.epochs;
  const same = finished.filter((r) => kindOf(r.config) === kindOf(c));
  if (!same.length) return { iterations, from: 0 };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const monitorOf = (r: PretrainResult) => r.phaseSeconds?.['knn-monitor'] ?? 0;
  const perImage = mean(same.map((r) => (r.wallSeconds - monitorOf(r)) / (r.iterations * r.config.optimizer.batch)));
  const perEval = mean(same.map((r) => monitorOf(r) / Math.max(1, r.curves?.knn?.length ?? 0)));
  const evals = Math.ceil(iterations / c.monitor.every);
  return { iterations, seconds: iterations * c.optimizer.batch * perImage + evals * perEval, from: same.length };
}

/** `~1.4 h (2,808 iterations; rate of 3 finished cells)`, or why there is none. */
export function estimateText(e: TimeEstimate | undefined): string {
  if (!e) return 'no estimate (training set size not fixed in the config)';
  const it = `${e.iterations.toLocaleString('en-US')} iterations`;
  if (e.seconds === undefined) return `${it}; no estimate (no finished cell of this backbone, framework and precision here)`;
  return `~${durationText(e.seconds)} (${it}; rate of ${e.from} finished cell${e.from === 1 ? '' : 's'})`;
}

/** `1.4 h`, or `12 min` below an hour (at least 1 min). */
export function durationText(seconds: number): string {
  return seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} h` : `${Math.max(1, Math.round(seconds / 60))} min`;
}
