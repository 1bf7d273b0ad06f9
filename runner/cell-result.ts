/**
 * A finished (or diverged) cell's result record (core/results.ts PretrainResult) from its run
 * state: iterations and throughput, the final loss (mean of the last epoch's steps, at most 20),
 * kNN numbers, curves, instability, divergence flags, the engine and provenance.
 */
import { tf } from '../engine/tf.ts';
import { activeBackend } from '../engine/backend.ts';
import type { PretrainConfig } from '../core/config.ts';
import type { PretrainResult } from '../core/results.ts';
import { provenance } from '../core/provenance.ts';
import { detectInstability } from '../evaluators/instability.ts';
import type { RunState } from './training/loop.ts';

export interface CellResultFacts {
  totalIters: number;
  itersPerEpoch: number;
  trainImages: number;
  /** kNN top-1 of the final backbone (NaN when diverged). */
  knnFinal: number;
  /** Where the weights are (written or not). */
  weights: string;
}

export function cellResult(c: PretrainConfig, hash: string, run: RunState, f: CellResultFacts): PretrainResult {
  const o = c.optimizer;
  const b = activeBackend();
  const lossTail = run.curves.loss.slice(-Math.max(1, Math.min(f.itersPerEpoch, 20)));
  const engine = {
    name: b?.name ?? tf.getBackend(),
    gpu: b?.gpu ?? false,
    versions: b?.versions ?? {},
    native: b?.native ?? { kernels: [], threads: 0 },
  };
  const iterations = run.diverged ? (run.divergedAt ?? 0) + 1 : f.totalIters;
  return {
    hash,
    config: c,
    backend: { name: engine.name, gpu: engine.gpu, versions: engine.versions },
    provenance: provenance(engine, { seed: c.seed, wallSeconds: run.trainSeconds }),
    iterations,
    epochs: o.epochs,
    trainImages: f.trainImages,
    wallSeconds: run.trainSeconds,
    imagesPerSec: (iterations * o.batch) / Math.max(run.trainSeconds, 1e-9),
    ...(run.phaseSeconds ? { phaseSeconds: run.phaseSeconds } : {}),
    final: {
      loss: lossTail.reduce((s, p) => s + p.value, 0) / lossTail.length,
      knnMonitor: run.curves.knn.at(-1)?.value ?? Number.NaN,
      knn: f.knnFinal,
      knnRandomInit: run.knnRandomInit,
      ...(run.knnMonitorRandomInit === undefined ? {} : { knnMonitorRandomInit: run.knnMonitorRandomInit }),
    },
    curves: run.curves,
    instability: detectInstability(run.curves, {}, Math.round(o.warmupEpochs * f.itersPerEpoch)),
    flags: run.diverged
      ? { diverged: true, divergedAt: run.divergedAt, ...(run.divergedReason ? { reason: run.divergedReason } : {}) }
      : { diverged: false },
    weights: f.weights,
    finishedAt: new Date().toISOString(),
  };
}
