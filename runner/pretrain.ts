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
import { backboneEstimate, checkMemory, gib, imageBytes } from './memory-check.ts';
import { recomputeEnabled } from '../engine/ops/checkpoint.ts';
import { checkEngine, currentEngine, recordedEngine } from './engine-check.ts';
import { MetricsLog } from './training/metrics-log.ts';
import { lockRunDir, removeStaleTempFiles, RunLockedError, type RunLock } from '../core/run-lock.ts';
import fs from 'node:fs';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { activeBackend, withPrecision, withThreads } from '../engine/backend.ts';
import { saveWeights } from '../engine/weights.ts';
import type { Registry } from '../container/container.ts';
import type { Framework } from '../frameworks/framework.ts';
import type { Container } from 'inversify';
import { CELL } from '../container/cell-container.ts';
import type { BackboneFamily } from '../backbones/backbone.ts';
import { BatchLoader } from '../data/loader.ts';
import { LOCAL_CROP_SCALE, type LocalCrops, localCropSize } from '../augment/policy.ts';
import { StreamingTwoViewLoader } from '../input/stream-loader.ts';
import { firstFiles, isFileSet, type AnyImageSet } from '../data/file-image-set.ts';
import type { DatasetSource } from '../data/sources.ts';
import { scaledLr, warmupCosineLr } from '../optim/schedules.ts';
import { extractFeatures } from '../evaluators/features.ts';
import { GradMonitor } from '../evaluators/grad-monitor.ts';
import { headlineMetric } from '../evaluators/index.ts';
import type { PretrainResult, ProgressInfo } from '../core/results.ts';
import type { PretrainConfig } from '../core/config.ts';
import { cellHash } from './cell-hash.ts';
import { cellResult } from './cell-result.ts';
import { stepViews } from './training/step-views.ts';
import { checkDataSize, checkLoadedCounts } from './data-check.ts';
import { stopOnRequest, stopRequestedBy, whileTraining } from './training/interrupt.ts';
import { type Checkpointable, peekCheckpointIndex } from '../core/checkpoint.ts';
import { loadCheckpoint } from './checkpoint.ts';
import { snapshotIters } from './snapshots.ts';
import { type RunState, type StepFn, trainLoop } from './training/loop.ts';
import {
  CheckpointCallback,
  SnapshotCallback,
  KnnMonitorCallback,
  crashAfter,
  curveRecorder,
  stopAfter,
  divergenceStop,
  progressReporter,
} from './training/callbacks.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { TrainStep } from './train-step.ts';

export interface PretrainOptions {
  /** The cell's run folder (checkpoints, result.json, weights). */
  runDir: string;
  registry: Registry;
  /** Reuse a result or checkpoint made on another engine (backend, native kernels, sslbench version). */
  allowEngineMix?: boolean;
  /** How long to wait for another process's lock on the run folder before RunLockedError (default 0). */
  lockWaitMs?: number;
  onProgress?: (p: ProgressInfo) => void;
  /** Testing hook: throw after this iteration completes (simulates a crash). */
  crashAfterIter?: number;
  /** Rebinds parts of the cell's container before they are built (a stand-in data set, a wrapped framework; tests). */
  bindCell?: (cell: Container) => void;
  /** Stop after this many iterations of the run (counted from 0), with a checkpoint: RunStopped. */
  maxIters?: number;
  /** With `data.stream`: decode worker threads (default: the machine's CPUs). */
  dataWorkers?: number;
  /** Messages about the run (e.g. a damaged latest checkpoint passed over); default stderr. */
  log?: (message: string) => void;
  /** Save the backbone every this many epochs under RUN/snapshots/ (runner/snapshots.ts); changes no number. */
  snapshotEpochs?: number;
}

/** A run stopped by `maxIters` before its end: its checkpoint is written, its result is not. */
export class RunStopped extends Error {
  constructor(
    readonly runDir: string,
    readonly iter: number,
    readonly totalIters: number,
    /** What stopped it: `--max-iters`, or the signal (e.g. `SIGINT`). */
    readonly why = '--max-iters',
  ) {
    super(
      `${runDir}: stopped after iteration ${iter} of ${totalIters} (${why}), checkpoint written; run the same command again to ` +
        'resume from it',
    );
  }
}

const RESULT = 'result.json';

/**
 * A finished cell's result, its `weights` as a path (result.json stores the file's name in the run
 * folder, so a run store names no machine's folders; older records hold an absolute path).
 */
export function readResult(runDir: string): PretrainResult | undefined {
  const f = path.join(runDir, RESULT);
  if (!fs.existsSync(f)) return undefined;
  const r = JSON.parse(fs.readFileSync(f, 'utf8')) as PretrainResult;
  return typeof r.weights === 'string' && !path.isAbsolute(r.weights) ? { ...r, weights: path.join(runDir, r.weights) } : r;
}

/**
 * Pre-trains a cell in its run folder (resuming from its checkpoint), holding the folder's lock: a
 * second process on the same folder gets RunLockedError (after waiting up to `lockWaitMs`).
 */
export async function pretrain(c: PretrainConfig, opts: PretrainOptions): Promise<PretrainResult> {
  const done = readResult(opts.runDir);
  if (done) {
    checkEngine(`${opts.runDir}: this finished cell`, recordedEngine(done), opts.allowEngineMix);
    return done;
  }
  const fresh = !fs.existsSync(opts.runDir);
  const lock = await lockWaiting(opts.runDir, opts.lockWaitMs ?? 0);
  let ok = false;
  try {
    // another process may have finished the cell between the check above and the lock
    const finished = readResult(opts.runDir);
    if (finished) return finished;
    // what a killed writer left (a checkpoint or result cut short): nobody else writes here now
    removeStaleTempFiles(opts.runDir);
    const train = () => withPrecision(c.precision ?? 'fp32', 'config precision (--precision)', () => trainCell(c, opts));
    // a cell keeps the thread count it started with (it orders the products' sums): on any machine
    const started = startedThreads(opts.runDir);
    const own = activeBackend()?.native.threads ?? 0;
    const keep = started !== undefined && own !== 0 && started !== own;
    if (keep)
      (opts.log ?? ((m: string) => console.error(m)))(
        `${opts.runDir}: the cell started with ${started} native threads; it continues with ${started} (this process runs ${own}) ` +
          'to give the numbers it would give uninterrupted',
      );
    const r = keep ? await withThreads(started, train) : await train();
    ok = true;
    return r;
  } finally {
    lock.release();
    // a cell that failed before it wrote anything (a config refused, data missing) leaves no folder
    if (!ok && fresh && fs.existsSync(opts.runDir) && fs.readdirSync(opts.runDir).length === 0) fs.rmdirSync(opts.runDir);
  }
}

/** The native thread count a checkpointed cell started with (its checkpoint index's engine), if any. */
function startedThreads(runDir: string): number | undefined {
  const peek = peekCheckpointIndex<RunState>(runDir);
  const t = peek && 'meta' in peek ? peek.meta.json?.engine?.threads : undefined;
  return typeof t === 'number' && Number.isInteger(t) && t > 0 ? t : undefined;
}

async function lockWaiting(dir: string, waitMs: number): Promise<RunLock> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return lockRunDir(dir);
    } catch (err) {
      if (!(err instanceof RunLockedError) || Date.now() >= until) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Cached-gradient training (optimizer.chunk) is the whole batch's gradient only where the backbone
 * treats each image on its own and draws no drop-path (its forward runs twice per chunk). A backbone
 * with BatchNorm is refused unless optimizer.chunkBn says 'per-chunk' (then each chunk has its own
 * statistics: per-device BN, where the paper uses SyncBN over the whole batch, its Appendix).
 */
export function checkChunking(c: PretrainConfig, fw: Framework): void {
  const chunk = c.optimizer.chunk;
  if (chunk === undefined) return;
  if (!(fw.onlineViews && fw.headLoss))
    throw new Error(`optimizer.chunk: framework ${fw.name} does not split its loss into onlineViews and headLoss; drop optimizer.chunk`);
  if ((c.backbone.dropPath ?? 0) > 0)
    throw new Error(
      `optimizer.chunk: backbone.dropPath ${c.backbone.dropPath}: chunked training runs each chunk's forward twice, and drop-path ` +
        'would draw different paths the second time; drop one of them',
    );
  if (!fw.backbone.samplesIndependent && c.optimizer.chunkBn !== 'per-chunk')
    throw new Error(
      `optimizer.chunk: backbone ${c.backbone.name} has BatchNorm, so each chunk of ${chunk} images would see its own statistics ` +
        `(per-device BN), not the whole batch's (the paper's SyncBN, Appendix "BatchNorm"); set optimizer.chunkBn=per-chunk to ` +
        'accept that (the table flags the cell), or drop optimizer.chunk',
    );
}

/** A config's local crops (multi-crop) with their defaults filled in, or none. */
export function localCrops(c: PretrainConfig): LocalCrops | undefined {
  const m = c.augment.multiCrop;
  return m ? { count: m.count, size: m.size ?? localCropSize(c.data.viewSize), scale: m.scale ?? LOCAL_CROP_SCALE } : undefined;
}

/** Refuses a config whose views and activations cannot fit, before any allocation (runner/memory-check.ts). */
export function checkTrainMemory(c: PretrainConfig, family: BackboneFamily): void {
  const views = 2 * c.optimizer.batch;
  const opts = { ...c.backbone, imageSize: c.data.viewSize };
  // chunked (optimizer.chunk): the backbone's activations are those of one chunk at a time
  const chunked = (n: number) => Math.min(n, c.optimizer.chunk ?? n);
  const model = backboneEstimate(family, c.backbone.name, opts, chunked(views), !recomputeEnabled());
  const local = localCrops(c);
  // the views and the augmentation's working copy; local crops at their own side, and their activations
  const images = (imageBytes(views, c.data.viewSize) + (local ? imageBytes(local.count * c.optimizer.batch, local.size) : 0)) * 2;
  if (local) {
    const l = backboneEstimate(
      family,
      c.backbone.name,
      { ...opts, imageSize: local.size },
      chunked(local.count * c.optimizer.batch),
      !recomputeEnabled(),
    );
    model.bytes += l.bytes;
    model.parts.push(...l.parts);
  }
  checkMemory(`config: ${views} views of ${c.data.viewSize} px (optimizer.batch ${c.optimizer.batch}, data.viewSize ${c.data.viewSize})`, {
    bytes: images + model.bytes,
    parts: [`views: ${gib(images)}`, ...model.parts],
  });
}

async function trainCell(c: PretrainConfig, opts: PretrainOptions): Promise<PretrainResult> {
  // the cell's parts, wired by its own container (container/cell-container.ts)
  const cell = opts.registry.cell(c);
  opts.bindCell?.(cell);
  checkTrainMemory(c, cell.get(CELL.backboneFamily));
  const hash = cellHash(c);
  const source = cell.get(CELL.dataset);
  checkDataSize(c.data, source);
  let streamed: ReturnType<NonNullable<DatasetSource['files']>> | undefined;
  if (c.data.stream) {
    if (!source.files) throw new Error(`data.stream: dataset '${c.data.dataset}' is not read from image files; remove data.stream`);
    streamed = source.files(c.data);
  }
  const { train, test }: { train: AnyImageSet; test: AnyImageSet } = streamed ?? (await source.load(c.data, c.seed));
  if (!streamed) checkLoadedCounts(c.data, { train, test });
  const monitorQueries = test.count > c.monitor.queries ? firstN(test, c.monitor.queries) : test;
  // built now (its backbone too): a framework that cannot be built fails before the run folder exists
  checkChunking(c, cell.get(CELL.framework));

  const o = c.optimizer;
  const stream = streamed
    ? new StreamingTwoViewLoader(streamed.trainIndex, {
        batchSize: o.batch,
        seed: c.seed,
        outSize: c.data.viewSize,
        cropMin: c.augment.cropMin,
        workers: opts.dataWorkers,
        onCorrupt: c.data.stream?.onCorrupt,
      })
    : undefined;
  // the config is written once the cell could start: a config that fails before leaves no folder behind
  fs.mkdirSync(opts.runDir, { recursive: true });
  writeFileAtomic(path.join(opts.runDir, 'config.json'), `${JSON.stringify({ hash, config: c }, null, 2)}\n`);
  try {
    return await trainFrom(c, opts, hash, cell, { train, test, monitorQueries, stream });
  } finally {
    await stream?.close();
  }
}

async function trainFrom(
  c: PretrainConfig,
  opts: PretrainOptions,
  hash: string,
  cell: Container,
  sets: { train: AnyImageSet; test: AnyImageSet; monitorQueries: AnyImageSet; stream?: StreamingTwoViewLoader },
): Promise<PretrainResult> {
  const { train, test, monitorQueries, stream } = sets;
  const fw = cell.get(CELL.framework);
  const knn = cell.get(CELL.knn);
  const view = { viewSize: c.data.viewSize, cropFraction: c.data.evalCropFraction };
  const knnEval = (fw: Framework): Promise<number> =>
    headlineMetric(knn, { backbone: fw.backbone, train, test, view, seed: c.seed }, { k: c.knn.k, temperature: c.knn.temperature });
  const o = c.optimizer;
  const loader = isFileSet(train) ? undefined : new BatchLoader(train, { batchSize: o.batch, seed: c.seed, dropLast: true });
  const itersPerEpoch = stream ? stream.stepsPerEpoch : loader!.stepsPerEpoch;
  const totalIters = itersPerEpoch * o.epochs;
  const peakLr = scaledLr(o.baseLr, o.batch, o.lrScaleDivisor);
  const optimizer = cell.get(CELL.optimizer);
  // the paper's queue of augmented-crop features, or (monitor.bank) a fixed bank of training images
  const monitorBank = c.monitor.bank === undefined ? undefined : firstN(train, Math.min(c.monitor.bank, train.count));
  const monitor = monitorBank
    ? undefined
    : cell.get(CELL.monitor).create({
        capacity: Math.max(1, Math.round(c.monitor.queueFraction * train.count)),
        dim: fw.backbone.outDim,
        numClasses: train.numClasses,
        k: c.monitor.k,
        temperature: c.monitor.temperature,
      });
  const parts: Record<string, Checkpointable> = monitor ? { optimizer, monitor } : { optimizer };

  const evalMonitor = async (): Promise<number> => {
    if (monitorBank)
      return headlineMetric(
        knn,
        { backbone: fw.backbone, train: monitorBank, test: monitorQueries, view, seed: c.seed },
        { k: c.monitor.k, temperature: c.monitor.temperature },
      );
    const q = await extractFeatures(fw.backbone, monitorQueries, view);
    try {
      return await monitor!.evaluate(q, monitorQueries.labels);
    } finally {
      q.dispose();
    }
  };
  let run: RunState;
  let startIter = 0;
  const meta = loadCheckpoint<RunState>(opts.runDir, fw.modules(), parts, opts.log);
  if (meta) {
    run = meta.json;
    checkEngine(`${opts.runDir}: its checkpoint (iteration ${meta.iter})`, run.engine, opts.allowEngineMix);
    if (meta.iter > totalIters) {
      throw new Error(
        `${path.join(opts.runDir, 'checkpoint.json')}: checkpoint at iteration ${meta.iter}, but this run has ${totalIters}; ` +
          'it belongs to another config: delete it (or the run folder) to start over',
      );
    }
    run.curves.grad ??= {}; // a checkpoint written before gradients were recorded
    startIter = meta.iter;
  } else {
    run = {
      curves: { loss: [], knn: [], lr: [], grad: {} },
      knnRandomInit: await knnEval(fw),
      // the monitor's floor under its own protocol (a bank monitor; the queue monitor is empty now)
      ...(monitorBank ? { knnMonitorRandomInit: await evalMonitor() } : {}),
      trainSeconds: 0,
      diverged: false,
      engine: currentEngine(),
    };
  }

  const step = new TrainStep(fw, optimizer, c.optimizer.chunk);
  const gradMonitor = new GradMonitor(fw.backbone.allParams());
  const viewsAt = stepViews(c, { train, loader, stream, itersPerEpoch }, localCrops(c));
  const trainStep: StepFn = async (iter) => {
    const lr = warmupCosineLr(iter / itersPerEpoch, { baseLr: peakLr, warmupEpochs: o.warmupEpochs, epochs: o.epochs });
    const t0 = performance.now();
    const { views, labels } = await viewsAt(iter);
    const t1 = performance.now();
    const out = await step.run(views, { iter, totalIters, itersPerEpoch }, lr, gradMonitor);
    tf.dispose([...views.global, ...views.local]);
    return { ...out, lr, labels, phases: { views: (t1 - t0) / 1000, step: (performance.now() - t1) / 1000 } };
  };
  const knnMonitor = new KnnMonitorCallback(c.monitor.every, evalMonitor, monitor && ((e) => monitor.push(e.features, e.labels)));
  // a run resumed at or past --max-iters runs no step: the loop starts stopped
  const loopState = { run, stop: opts.maxIters !== undefined && startIter >= opts.maxIters && startIter < totalIters };
  // the loop starts: a progress display starts its clock here, so its first rate and ETA count training only
  if (!loopState.stop) opts.onProgress?.({ iter: startIter, totalIters, startIter, loss: Number.NaN, lr: 0 });
  await whileTraining(() =>
    trainLoop(
      { startIter, totalIters, itersPerEpoch },
      trainStep,
      [
        curveRecorder,
        divergenceStop,
        knnMonitor,
        progressReporter(opts.onProgress, knnMonitor),
        new MetricsLog(opts.runDir, startIter, c.optimizer.batch, fw.lastStats && (() => fw.lastStats?.())),
        stopAfter(opts.maxIters),
        stopOnRequest,
        ...(opts.snapshotEpochs === undefined
          ? []
          : [
              new SnapshotCallback(opts.runDir, snapshotIters(opts.snapshotEpochs, itersPerEpoch, totalIters), () => fw.backbone, {
                backbone: c.backbone.name,
                framework: c.framework.name,
                config_hash: hash,
              }),
            ]),
        new CheckpointCallback(opts.runDir, c.checkpointEvery, () => fw.modules(), parts),
        crashAfter(opts.crashAfterIter),
      ],
      loopState,
    ),
  );
  if (loopState.stop && !run.diverged) {
    const at = run.curves.loss.at(-1)?.iter ?? startIter - 1;
    fw.dispose();
    optimizer.dispose();
    monitor?.dispose();
    throw new RunStopped(opts.runDir, at + 1, totalIters, stopRequestedBy() ?? '--max-iters');
  }

  // a diverged backbone has non-finite weights: nothing to evaluate or export
  const knnFinal = run.diverged ? Number.NaN : await knnEval(fw);
  const weights = path.join(opts.runDir, 'backbone.safetensors');
  if (!run.diverged) await saveWeights(fw.backbone, weights, { backbone: c.backbone.name, framework: c.framework.name, config_hash: hash });
  const result = cellResult(c, hash, run, { totalIters, itersPerEpoch, trainImages: train.count, knnFinal, weights });
  // stored relative to the run folder (readResult resolves it)
  writeFileAtomic(path.join(opts.runDir, RESULT), `${JSON.stringify({ ...result, weights: path.basename(weights) }, null, 2)}\n`);
  fw.dispose();
  optimizer.dispose();
  monitor?.dispose();
  return result;
}

function firstN(set: AnyImageSet, n: number): AnyImageSet {
  if (isFileSet(set)) return firstFiles(set, n);
  const px = set.height * set.width * set.channels;
  return { ...set, name: `${set.name}[:${n}]`, count: n, images: set.images.subarray(0, n * px), labels: set.labels.subarray(0, n) };
}
