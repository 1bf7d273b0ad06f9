/**
 * One pre-training cell, end to end: data, two-view augmentation, framework, optimiser with linear
 * lr scaling and per-iteration warmup + cosine, the dense kNN monitor, checkpoints every N
 * iterations (resumable), and at the end the kNN evaluation of the frozen backbone (pre-trained and
 * at its random init) and the backbone's weights as safetensors. A non-finite loss ends the run
 * there: the cell is recorded as diverged at that iteration (as the paper reports for SwAV), with
 * no final evaluation, and the suite goes on. Every iteration also records the gradient norm of the
 * backbone's first, middle and last layers (evaluators/grad-monitor.ts); at the end the instability
 * detectors (evaluators/instability.ts) run on the kNN and gradient curves.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { activeBackend } from '../engine/backend.ts';
import { saveWeights } from '../engine/weights.ts';
import type { Registry } from '../container/container.ts';
import type { Framework, FrameworkFactory } from '../frameworks/framework.ts';
import type { ImageSet } from '../data/image-set.ts';
import { BatchLoader } from '../data/loader.ts';
import { twoViews } from '../augment/policy.ts';
import { scaledLr, warmupCosineLr } from '../optim/schedules.ts';
import type { OptimizerFactory } from '../optim/index.ts';
import type { FrozenEvaluator, MonitorFactory } from '../evaluators/index.ts';
import type { DatasetSource } from '../data/sources.ts';
import { extractFeatures, rgbTensor } from '../evaluators/features.ts';
import { GradMonitor } from '../evaluators/grad-monitor.ts';
import { type InstabilitySummary, detectInstability } from '../evaluators/instability.ts';
import { type PretrainConfig, configHash } from '../core/config.ts';
import type { Checkpointable } from '../core/checkpoint.ts';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { TrainStep } from './train-step.ts';

export interface CurvePoint {
  iter: number;
  epoch: number;
  value: number;
}

export interface Curves {
  loss: CurvePoint[];
  knn: CurvePoint[];
  lr: CurvePoint[];
  /**
   * Gradient L2 norm per monitored backbone layer and iteration (0-based, as `loss`), keyed by a
   * label `ROLE: PARAM[ (note)]`; a non-finite norm is stored as null. Absent in results written
   * before gradients were recorded.
   */
  grad?: Record<string, CurvePoint[]>;
}

export interface PretrainResult {
  hash: string;
  config: PretrainConfig;
  backend: { name: string; gpu: boolean; versions: Record<string, string> };
  iterations: number;
  epochs: number;
  trainImages: number;
  wallSeconds: number;
  /** Pre-training throughput: source images per second (each gives two views). */
  imagesPerSec: number;
  final: { loss: number; knnMonitor: number; knn: number; knnRandomInit: number };
  curves: Curves;
  /** diverged: the loss became NaN or infinite at iteration `divergedAt` (0-based), and training stopped. */
  flags: { diverged: boolean; divergedAt?: number };
  /** Dips of the kNN curve, gradient spikes and their ordering; absent in results written before it existed. */
  instability?: InstabilitySummary;
  weights: string;
  finishedAt: string;
}

export interface ProgressInfo {
  iter: number;
  totalIters: number;
  startIter: number;
  loss: number;
  lr: number;
  knn?: number;
}

export interface PretrainOptions {
  /** The cell's run folder (checkpoints, result.json, weights). */
  runDir: string;
  registry: Registry;
  onProgress?: (p: ProgressInfo) => void;
  /** Testing hook: throw after this iteration completes (simulates a crash). */
  crashAfterIter?: number;
}

interface RunJson {
  curves: Curves;
  knnRandomInit: number;
  trainSeconds: number;
  diverged: boolean;
  divergedAt?: number;
}

const RESULT = 'result.json';

export function readResult(runDir: string): PretrainResult | undefined {
  const f = path.join(runDir, RESULT);
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as PretrainResult) : undefined;
}

/** Each iteration's augmentation draws from its own stream, so a resumed run sees the same views. */
function iterRng(seed: number, iter: number): Rng {
  return new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(iter + 1, 0x85ebca77)) >>> 0);
}

export async function pretrain(c: PretrainConfig, opts: PretrainOptions): Promise<PretrainResult> {
  const hash = configHash(c);
  const done = readResult(opts.runDir);
  if (done) return done;
  fs.mkdirSync(opts.runDir, { recursive: true });
  writeFileAtomic(path.join(opts.runDir, 'config.json'), JSON.stringify({ hash, config: c }, null, 2) + '\n');

  const reg = opts.registry;
  const { train, test } = await reg.get<DatasetSource>('dataset', c.data.dataset).load(c.data, c.seed);
  const monitorQueries = test.count > c.monitor.queries ? firstN(test, c.monitor.queries) : test;
  const factory = reg.get<FrameworkFactory>('framework', c.framework.name);
  const knn = reg.get<FrozenEvaluator>('evaluator', 'knn');
  const knnEval = (fw: Framework) =>
    knn.evaluate(fw.backbone, train, test, { viewSize: c.data.viewSize, cropFraction: c.data.evalCropFraction, k: c.knn.k, temperature: c.knn.temperature });
  const { name: backboneName, ...backboneOptions } = c.backbone;
  const { name: _fw, ...fwConfig } = c.framework;
  const fw = factory.build(fwConfig, {
    backboneName,
    backboneOptions: { ...backboneOptions, imageSize: c.data.viewSize },
    seed: c.seed,
    buildBackbone: (name, o, seed) => reg.backbone(name).build(name, o, seed),
  });

  const o = c.optimizer;
  const loader = new BatchLoader(train, { batchSize: o.batch, seed: c.seed, dropLast: true });
  const itersPerEpoch = loader.stepsPerEpoch;
  const totalIters = itersPerEpoch * o.epochs;
  const peakLr = scaledLr(o.baseLr, o.batch, o.lrScaleDivisor);
  const params = fw.trainableParams();
  const optimizer = reg.get<OptimizerFactory>('optimizer', o.name).build(params, { weightDecay: o.weightDecay, momentum: o.momentum, trustCoefficient: o.trustCoefficient });
  // the paper's queue of augmented-crop features, or (monitor.bank) a fixed bank of training images
  const monitorBank = c.monitor.bank === undefined ? undefined : firstN(train, Math.min(c.monitor.bank, train.count));
  const monitor = monitorBank
    ? undefined
    : reg.get<MonitorFactory>('evaluator', 'knn-monitor').create({
        capacity: Math.max(1, Math.round(c.monitor.queueFraction * train.count)),
        dim: fw.backbone.outDim,
        numClasses: train.numClasses,
        k: c.monitor.k,
        temperature: c.monitor.temperature,
      });
  const parts: Record<string, Checkpointable> = monitor ? { optimizer, monitor } : { optimizer };

  let run: RunJson;
  let startIter = 0;
  const meta = loadCheckpoint<RunJson>(opts.runDir, fw.modules(), parts);
  if (meta) {
    run = meta.json;
    run.curves.grad ??= {}; // a checkpoint written before gradients were recorded
    startIter = meta.iter;
  } else {
    run = { curves: { loss: [], knn: [], lr: [], grad: {} }, knnRandomInit: knnEval(fw), trainSeconds: 0, diverged: false };
  }

  const step = new TrainStep(fw, optimizer);
  const gradMonitor = new GradMonitor(fw.backbone.allParams());
  const gradCurves = run.curves.grad!;
  const evalMonitor = (iter: number) => {
    let acc: number;
    if (monitorBank) {
      acc = knn.evaluate(fw.backbone, monitorBank, monitorQueries, { viewSize: c.data.viewSize, cropFraction: c.data.evalCropFraction, k: c.monitor.k, temperature: c.monitor.temperature });
    } else {
      const q = extractFeatures(fw.backbone, monitorQueries, { viewSize: c.data.viewSize, cropFraction: c.data.evalCropFraction });
      acc = monitor!.evaluate(q, monitorQueries.labels);
      q.dispose();
    }
    run.curves.knn.push({ iter, epoch: iter / itersPerEpoch, value: acc });
    return acc;
  };

  let lastKnn = run.curves.knn.at(-1)?.value;
  let t0 = performance.now();
  for (let iter = startIter; iter < totalIters && !run.diverged; iter++) {
    const epoch = Math.floor(iter / itersPerEpoch);
    const batch = loader.batchAt(epoch, iter % itersPerEpoch);
    const lr = warmupCosineLr(iter / itersPerEpoch, { baseLr: peakLr, warmupEpochs: o.warmupEpochs, epochs: o.epochs });
    const ctx = { iter, totalIters, itersPerEpoch };
    const [v1, v2] = tf.tidy(() => {
      const x = rgbTensor(batch.images, batch.shape, train.name);
      return twoViews(x, iterRng(c.seed, iter), { outSize: c.data.viewSize, cropMin: c.augment.cropMin });
    });
    const { loss, features, gradNorms } = step.run(v1, v2, ctx, lr, gradMonitor);
    monitor?.push(features, batch.labels);
    tf.dispose([features, v1, v2]);

    run.curves.loss.push({ iter, epoch: iter / itersPerEpoch, value: loss });
    run.curves.lr.push({ iter, epoch: iter / itersPerEpoch, value: lr });
    for (const [label, value] of Object.entries(gradNorms ?? {})) (gradCurves[label] ??= []).push({ iter, epoch: iter / itersPerEpoch, value });
    const next = iter + 1;
    if (!Number.isFinite(loss)) {
      run.diverged = true;
      run.divergedAt = iter;
      opts.onProgress?.({ iter: next, totalIters, startIter, loss, lr, knn: lastKnn });
      run.trainSeconds += (performance.now() - t0) / 1000;
      saveCheckpoint(opts.runDir, next, fw.modules(), parts, run);
      break;
    }
    if (next % c.monitor.every === 0 || next === totalIters) lastKnn = evalMonitor(next);
    opts.onProgress?.({ iter: next, totalIters, startIter, loss, lr, knn: lastKnn });
    if (next % c.checkpointEvery === 0 || next === totalIters) {
      const now = performance.now();
      run.trainSeconds += (now - t0) / 1000;
      t0 = now;
      saveCheckpoint(opts.runDir, next, fw.modules(), parts, run);
    }
    if (opts.crashAfterIter !== undefined && next === opts.crashAfterIter) {
      throw new Error(`simulated crash after iteration ${next}`);
    }
  }

  // a diverged backbone has non-finite weights: nothing to evaluate or export
  const knnFinal = run.diverged ? Number.NaN : knnEval(fw);
  const weights = path.join(opts.runDir, 'backbone.safetensors');
  if (!run.diverged) saveWeights(fw.backbone, weights, { backbone: c.backbone.name, framework: c.framework.name, config_hash: hash });
  const b = activeBackend();
  const lossTail = run.curves.loss.slice(-Math.max(1, Math.min(itersPerEpoch, 20)));
  const result: PretrainResult = {
    hash,
    config: c,
    backend: { name: b?.name ?? tf.getBackend(), gpu: b?.gpu ?? false, versions: b?.versions ?? {} },
    iterations: run.diverged ? (run.divergedAt ?? 0) + 1 : totalIters,
    epochs: o.epochs,
    trainImages: train.count,
    wallSeconds: run.trainSeconds,
    imagesPerSec: ((run.diverged ? (run.divergedAt ?? 0) + 1 : totalIters) * o.batch) / Math.max(run.trainSeconds, 1e-9),
    final: {
      loss: lossTail.reduce((s, p) => s + p.value, 0) / lossTail.length,
      knnMonitor: run.curves.knn.at(-1)?.value ?? Number.NaN,
      knn: knnFinal,
      knnRandomInit: run.knnRandomInit,
    },
    curves: run.curves,
    instability: detectInstability(run.curves),
    flags: run.diverged ? { diverged: true, divergedAt: run.divergedAt } : { diverged: false },
    weights,
    finishedAt: new Date().toISOString(),
  };
  writeFileAtomic(path.join(opts.runDir, RESULT), JSON.stringify(result, null, 2) + '\n');
  fw.dispose();
  optimizer.dispose();
  monitor?.dispose();
  return result;
}

function firstN(set: ImageSet, n: number): ImageSet {
  const px = set.height * set.width * set.channels;
  return { ...set, name: `${set.name}[:${n}]`, count: n, images: set.images.subarray(0, n * px), labels: set.labels.subarray(0, n) };
}
