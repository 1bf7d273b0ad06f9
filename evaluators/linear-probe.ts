/**
 * Linear probe on a frozen backbone, the MoCo v3 protocol (paper sec. 4 "Linear probing";
 * main_lincls.py of the official code):
 *
 * - backbone frozen, in eval mode (BatchNorm uses running statistics, no gradient reaches it);
 *   after training it must be bit-identical to before (every parameter and buffer), else Error;
 * - features -> [BatchNorm1d(affine=False), option `batchNorm`, off by default] -> Linear(D, C),
 *   weight N(0, 0.01), bias 0;
 * - SGD momentum 0.9, weight decay 0, batch 1024, 90 epochs, lr = baseLr x batch / 256 with the
 *   cosine schedule per epoch, lr_e = 0.5 lr (1 + cos(pi e / epochs)), constant within an epoch,
 *   no warmup; base lr 0.1 for ResNet, 3.0 for ViT; the paper sweeps lr (`baseLrs`: one head per
 *   lr, all trained on the same batches in one pass, see probe-heads.ts);
 * - training view: RandomResizedCrop (scale (0.08, 1), ratio (3/4, 4/3)) + horizontal flip at the
 *   view size, seeded per (seed, epoch, step); test view: resize to viewSize / cropFraction + centre
 *   crop (224 / 256); both ImageNet-normalised like every view in sslbench (features.ts);
 * - the choice of lr and epoch (departs from main_lincls, which reports the best test top-1 over
 *   both, best_acc1): `valFraction` of the training images (stratified, seeded) are held out and
 *   never trained on; after every `evalEvery` epochs and at the end each head is evaluated on them
 *   and on the test set; the (lr, epoch) of the best validation top-1 is chosen (ties: the earlier
 *   epoch, then the smaller lr) and `top1` is the test top-1 there. The test set chooses nothing.
 *   A best lr at either end of the sweep extends the sweep one step beyond it (the end's ratio to
 *   its neighbour, x3 for a single lr), up to `extendSweep` added lrs; the result says where it
 *   stopped. main_lincls's best test top-1 stays in the result as `bestTestTop1`. With
 *   `valFraction` 0 nothing is held out and the test set chooses, as main_lincls (`chosenOn`).
 *
 * `cacheFeatures` (off by default) deviates from the paper: with `augment: false` the training
 * features are computed once with the eval transform and the heads train on them, which is much
 * faster but has no augmentation. Without it and with `augment: false`, the backbone runs per
 * batch on the same centre crops: the same numbers up to float rounding.
 *
 * Batches follow BatchLoader's seeded per-epoch permutation, the last one may be smaller (PyTorch's
 * drop_last=False); with `batchNorm`, a last batch of one image is skipped (BN needs two).
 */
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { splitHoldout, type ImageSet } from '../data/image-set.ts';
import { isFileSet } from '../data/file-image-set.ts';
import { BatchLoader, type Batch } from '../data/loader.ts';
import { gatherRows } from '../augment/batch-select.ts';
import { centerCropResize } from '../augment/policy.ts';
import { cropAndResize, DEFAULT_RATIO, sampleResizedCropBox } from '../augment/random-resized-crop.ts';
import { flipHorizontal } from '../augment/flip.ts';
import { normalize } from '../augment/normalize.ts';
import { scaledLr, warmupCosineLr } from '../optim/schedules.ts';
import { extractFeatures, rgbTensor } from './features.ts';
import { assertUnchanged, fingerprint } from './fingerprint.ts';
import { checkLabels } from './knn.ts';
import { ProbeHeads } from './probe-heads.ts';
import { defineEvaluator, type Evaluator } from './evaluator.ts';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSchema } from '../core/plugin.ts';

/**
 * The probe's protocol fields as suites and presets set them, with main_lincls's values for a ViT as
 * defaults (90 epochs, batch 1024, base lr swept around 3.0); recipes/evaluation.ts scales them per
 * preset (R-50's sweep is the same one / 30).
 */
export const LinearProbeConfigSchema = ConfigSchema({
  epochs: Type.Integer({ minimum: 1, default: 90 }),
  batch: Type.Integer({ minimum: 1, default: 1024 }),
  /** Base lrs swept (x batch / 256); the best is reported, as the paper sweeps. */
  baseLrs: Type.Array(Type.Number({ exclusiveMinimum: 0 }), { minItems: 1, default: [1, 3, 10] }),
  /** BatchNorm without affine before the head. */
  batchNorm: Type.Boolean({ default: false }),
  /** Random-resized-crop + flip on training images (the paper's protocol). */
  augment: Type.Boolean({ default: true }),
  /** Cache frozen features (only without augmentation: departs from the paper's protocol). */
  cacheFeatures: Type.Boolean({ default: false }),
  /** Training images held out (stratified) to choose lr and epoch on; 0: the test set chooses (main_lincls). */
  valFraction: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.01 }),
  /** Base lrs the sweep may add beyond its ends while the chosen lr sits at one. */
  extendSweep: Type.Integer({ minimum: 0, default: 4 }),
});
export type LinearProbeConfig = Static<typeof LinearProbeConfigSchema>;

/** Everything of a probe but the image size; what an evaluator is configured with. */
export interface LinearProbeSettings {
  /** Base learning rates swept (x batch / 256); default [0.1] for ResNet, [3.0] otherwise (ViT). */
  baseLrs?: number[];
  /** Batch size (default 1024). */
  batch?: number;
  /** Epochs (default 90). */
  epochs?: number;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** Weight decay (default 0). */
  weightDecay?: number;
  /** BatchNorm1d(affine=False) before the head (default false). */
  batchNorm?: boolean;
  /** RandomResizedCrop + flip for training (default true); false trains on the eval view. */
  augment?: boolean;
  /** RandomResizedCrop scale range (default (0.08, 1)). */
  cropScale?: readonly [number, number];
  /** Train on features computed once (needs augment: false; deviates from the paper). Default false. */
  cacheFeatures?: boolean;
  /** Training images held out to choose lr and epoch on (default 0.01); 0: the test set chooses. */
  valFraction?: number;
  /** Base lrs the sweep may add beyond its ends (default 4). */
  extendSweep?: number;
  /** Test top-1 every this many epochs (and after the last); 0: only after the last. Default 1. */
  evalEvery?: number;
  /** Seed of the head init, batch order and augmentation (default 0). */
  seed?: number;
  /** Images per backbone call when extracting features (default 256). */
  featureBatch?: number;
  /** Called after every epoch. */
  onEpoch?: (p: LinearProbeProgress) => void;
}

export interface LinearProbeOptions extends LinearProbeSettings {
  /** Side of the square view fed to the backbone. */
  viewSize: number;
  /** Eval transform: centre crop fraction of the resized image (default 224 / 256). */
  cropFraction?: number;
}

export interface LinearProbeProgress {
  epoch: number;
  epochs: number;
  /** Per head (the order of the pass's base lrs): the epoch's learning rate, mean training loss, and test top-1 when evaluated. */
  lrs: number[];
  losses: number[];
  top1?: number[];
}

export interface LinearProbeLrResult {
  baseLr: number;
  /** baseLr x batch / 256, the lr of epoch 0. */
  lr: number;
  /** Test top-1 in [0, 1] after the last epoch. */
  top1: number;
  /** Best test top-1 over the evaluations, and the epoch (0-based) it was reached after (main_lincls's best_acc1). */
  bestTop1: number;
  bestEpoch: number;
  /** Best validation top-1 over the evaluations and its epoch (absent without a validation split). */
  bestValTop1?: number;
  bestValEpoch?: number;
  /** Mean training loss of each epoch. */
  lossCurve: number[];
  /** Test top-1 (and validation top-1) of each evaluation. */
  top1Curve: { epoch: number; top1: number; val?: number }[];
}

export interface LinearProbeResult {
  /** Test top-1 at the chosen lr and epoch (chosen on the validation split; on the test set when valFraction is 0). */
  top1: number;
  /** What chose: 'validation' (held-out training images) or 'test' (main_lincls). */
  chosenOn: 'validation' | 'test';
  /** The chosen base lr and epoch (0-based), and the validation top-1 there. */
  bestBaseLr: number;
  chosenEpoch: number;
  valTop1?: number;
  /** Images held out for validation, and trained on. */
  valCount: number;
  trainCount: number;
  /** main_lincls's number: the best test top-1 over every lr and evaluated epoch. */
  bestTestTop1: number;
  /** Base lrs the sweep added beyond its ends, and why it stopped with the chosen lr at an end (when it did). */
  sweepExtended: number[];
  sweepStopped?: string;
  /** Every base lr trained, in increasing order. */
  perLr: LinearProbeLrResult[];
  epochs: number;
  batch: number;
  stepsPerEpoch: number;
  augment: boolean;
  cacheFeatures: boolean;
  batchNorm: boolean;
  /** Always true in a returned result: the probe throws when the backbone changed. */
  backboneUnchanged: true;
}

/** The recipe's base lr for a backbone name: 0.1 for ResNet, 3.0 for ViT. */
export function recipeBaseLr(backboneName: string): number {
  return backboneName.startsWith('resnet') ? 0.1 : 3.0;
}

/** lr of epoch `epoch` (an integer in [0, epochs)): 0.5 lr (1 + cos(pi epoch / epochs)). */
export function cosineEpochLr(epoch: number, lr: number, epochs: number): number {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= epochs)
    throw new Error(`cosineEpochLr: epoch must be an integer in [0, ${epochs}), got ${epoch}`);
  return warmupCosineLr(epoch, { baseLr: lr, warmupEpochs: 0, epochs });
}

/** Seed of the augmentation of one batch: a pure function of (seed, epoch, step). */
function stepSeed(seed: number, epoch: number, step: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x3c6ef372, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ (epoch >>> 0), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ (step >>> 0), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The training view of a batch: RandomResizedCrop + flip (p 0.5) + normalisation, or the eval view. */
function trainView(batch: Batch, name: string, o: Resolved): tf.Tensor4D {
  return tf.tidy(() => {
    const x = rgbTensor(batch.images, batch.shape, name);
    if (!o.augment) return centerCropResize(x, o.viewSize, o.cropFraction);
    const rng = new Rng(stepSeed(o.seed, batch.epoch, batch.step));
    const [n, h, w] = batch.shape;
    const boxes = [];
    const flips: boolean[] = [];
    for (let i = 0; i < n; i++) {
      boxes.push(sampleResizedCropBox(rng, h, w, o.cropScale, DEFAULT_RATIO));
      flips.push(rng.bernoulli(0.5));
    }
    return normalize(flipHorizontal(cropAndResize(x, boxes, o.viewSize), flips));
  });
}

type Resolved = Required<Omit<LinearProbeOptions, 'onEpoch'>> & Pick<LinearProbeOptions, 'onEpoch'>;

function resolve(backbone: Backbone, train: ImageSet, test: ImageSet, opts: LinearProbeOptions): Resolved {
  const o: Resolved = {
    baseLrs: [recipeBaseLr(backbone.name)],
    batch: 1024,
    epochs: 90,
    momentum: 0.9,
    weightDecay: 0,
    batchNorm: false,
    augment: true,
    cropScale: [0.08, 1],
    cacheFeatures: false,
    evalEvery: 1,
    seed: 0,
    featureBatch: 256,
    cropFraction: 224 / 256,
    valFraction: 0.01,
    extendSweep: 4,
    ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<LinearProbeOptions>),
    viewSize: opts.viewSize,
  };
  const bad = (msg: string): never => {
    throw new Error(`linear probe: ${msg}`);
  };
  const posInt = (x: number) => Number.isInteger(x) && x >= 1;
  if (o.baseLrs.length === 0 || !o.baseLrs.every((x) => Number.isFinite(x) && x > 0))
    bad(`baseLrs must be positive numbers, got [${o.baseLrs}]`);
  for (const k of ['batch', 'epochs', 'viewSize', 'featureBatch'] as const)
    if (!posInt(o[k])) bad(`${k} must be a positive integer, got ${o[k]}`);
  if (!(Number.isInteger(o.evalEvery) && o.evalEvery >= 0)) bad(`evalEvery must be an integer >= 0, got ${o.evalEvery}`);
  const [lo, hi] = o.cropScale;
  if (!(lo > 0 && lo <= hi && hi <= 1)) bad(`cropScale must satisfy 0 < lo <= hi <= 1, got [${o.cropScale}]`);
  if (o.cacheFeatures && o.augment) bad('cacheFeatures needs augment: false (cached features are computed once, without augmentation)');
  if (!(o.valFraction >= 0 && o.valFraction < 1)) bad(`valFraction must lie in [0, 1), got ${o.valFraction}`);
  if (!(Number.isInteger(o.extendSweep) && o.extendSweep >= 0)) bad(`extendSweep must be an integer >= 0, got ${o.extendSweep}`);
  if (train.count === 0 || test.count === 0) bad(`empty image set (train ${train.count}, test ${test.count} images)`);
  if (test.numClasses !== train.numClasses) bad(`train has ${train.numClasses} classes, test ${test.numClasses}`);
  checkLabels(train.labels, train.numClasses, `linear probe: ${train.name} labels`);
  checkLabels(test.labels, train.numClasses, `linear probe: ${test.name} labels`);
  return o;
}

/** Seed salt of the validation split (any constant unrelated to the head and batch streams). */
const VAL_SPLIT_SALT = 0x76616c; // "val"

/**
 * The training images split into those the heads train on and those held out to choose on
 * (stratified by class, seeded; none held out with fraction 0).
 */
export function probeSplit(train: ImageSet, fraction: number, seed: number): { fit: ImageSet; val?: ImageSet } {
  if (fraction === 0) return { fit: train };
  const { train: fit, test: val } = splitHoldout(train, fraction, new Rng((seed ^ VAL_SPLIT_SALT) >>> 0));
  if (val.count === 0 || fit.count === 0)
    throw new Error(
      `linear probe: valFraction ${fraction} of ${train.count} images leaves ${fit.count} to train on and ${val.count} to validate on`,
    );
  return { fit: { ...fit, name: `${train.name} (train part)` }, val: { ...val, name: `${train.name} (validation part)` } };
}

/**
 * The chosen (lr, epoch) of a probe: the best validation top-1 (or test top-1 without a validation
 * split) over every evaluation; ties go to the earlier epoch, then to the smaller lr.
 */
function choose(perLr: LinearProbeLrResult[], byVal: boolean): { lr: LinearProbeLrResult; epoch: number; score: number; test: number } {
  let best: { lr: LinearProbeLrResult; epoch: number; score: number; test: number } | undefined;
  for (const r of perLr)
    for (const p of r.top1Curve) {
      const score = byVal ? p.val! : p.top1;
      if (!best || score > best.score || (score === best.score && p.epoch < best.epoch))
        best = { lr: r, epoch: p.epoch, score, test: p.top1 };
    }
  return best!;
}

/** Trains one linear head per base lr on the frozen `backbone` and reports test top-1 at the lr and epoch chosen on held-out training images (see the header). */
export async function linearProbe(
  backbone: Backbone,
  train: ImageSet,
  test: ImageSet,
  opts: LinearProbeOptions,
): Promise<LinearProbeResult> {
  const o = resolve(backbone, train, test, opts);
  const before = await fingerprint(backbone);
  const fo = { viewSize: o.viewSize, cropFraction: o.cropFraction, batch: o.featureBatch };
  const { fit, val } = probeSplit(train, o.valFraction, o.seed);
  const loader = new BatchLoader(fit, { batchSize: o.batch, seed: o.seed, dropLast: false, shuffle: true });
  const owned: tf.Tensor[] = [];
  let perLr: LinearProbeLrResult[] = [];
  const extended: number[] = [];
  let stopped: string | undefined;
  try {
    const testFeatures = await extractFeatures(backbone, test, fo);
    owned.push(testFeatures);
    const valFeatures = val ? await extractFeatures(backbone, val, fo) : undefined;
    if (valFeatures) owned.push(valFeatures);
    const fitFeatures = o.cacheFeatures ? await extractFeatures(backbone, fit, fo) : undefined;
    if (fitFeatures) owned.push(fitFeatures);

    /** One pass: a head per base lr, all on the same batches, evaluated on validation and test. */
    const trainHeads = async (baseLrs: number[]): Promise<LinearProbeLrResult[]> => {
      const lrs = baseLrs.map((b) => scaledLr(b, o.batch));
      const K = lrs.length;
      const heads = new ProbeHeads({
        inDim: backbone.outDim,
        numClasses: train.numClasses,
        count: K,
        batchNorm: o.batchNorm,
        seed: o.seed,
        momentum: o.momentum,
        weightDecay: o.weightDecay,
      });
      const out: LinearProbeLrResult[] = baseLrs.map((baseLr, k) => ({
        baseLr,
        lr: lrs[k],
        top1: 0,
        bestTop1: -1,
        bestEpoch: -1,
        lossCurve: [],
        top1Curve: [],
      }));
      try {
        for (let epoch = 0; epoch < o.epochs; epoch++) {
          const epochLrs = lrs.map((lr) => cosineEpochLr(epoch, lr, o.epochs));
          const perm = loader.permutation(epoch);
          let lossSum: tf.Tensor1D = tf.zeros([K]);
          let seen = 0;
          for (let step = 0; step < loader.stepsPerEpoch; step++) {
            const n = Math.min(o.batch, fit.count - step * o.batch);
            if (o.batchNorm && n < 2) continue;
            let features: tf.Tensor2D;
            let labels: Int32Array;
            if (fitFeatures) {
              const idx = perm.subarray(step * o.batch, step * o.batch + n);
              features = gatherRows(fitFeatures, idx);
              labels = Int32Array.from(idx, (i) => fit.labels[i]);
            } else {
              const batch = loader.batchAt(epoch, step);
              features = tf.tidy(() => backbone.apply(trainView(batch, fit.name, o), false));
              labels = batch.labels;
            }
            const losses = heads.trainStep(features, labels, epochLrs);
            const next = tf.tidy(() => tf.add(lossSum, tf.mul(losses, n)) as tf.Tensor1D);
            tf.dispose([features, losses, lossSum]);
            lossSum = next;
            seen += n;
          }
          const sums = await lossSum.data();
          lossSum.dispose();
          const losses = Array.from(sums, (s) => s / seen);
          const last = epoch === o.epochs - 1;
          let top1: number[] | undefined;
          let valTop1: number[] | undefined;
          if (last || (o.evalEvery > 0 && (epoch + 1) % o.evalEvery === 0)) {
            top1 = (await heads.correct(testFeatures, test.labels)).map((c) => c / test.count);
            if (valFeatures && val) valTop1 = (await heads.correct(valFeatures, val.labels)).map((c) => c / val.count);
          }
          out.forEach((r, k) => {
            r.lossCurve.push(losses[k]);
            if (!top1) return;
            r.top1Curve.push(valTop1 ? { epoch, top1: top1[k], val: valTop1[k] } : { epoch, top1: top1[k] });
            if (top1[k] > r.bestTop1) [r.bestTop1, r.bestEpoch] = [top1[k], epoch];
            if (valTop1 && valTop1[k] > (r.bestValTop1 ?? -1)) [r.bestValTop1, r.bestValEpoch] = [valTop1[k], epoch];
            if (last) r.top1 = top1[k];
          });
          o.onEpoch?.({ epoch, epochs: o.epochs, lrs: epochLrs, losses, top1 });
        }
      } finally {
        heads.dispose();
      }
      return out;
    };

    perLr = await trainHeads(o.baseLrs);
    // a chosen lr at an end of the sweep: one more lr beyond that end, until it is inside or the extensions run out
    for (;;) {
      perLr.sort((a, b) => a.baseLr - b.baseLr);
      const at = choose(perLr, val !== undefined).lr.baseLr;
      const lo = perLr[0].baseLr,
        hi = perLr[perLr.length - 1].baseLr;
      const single = perLr.length === 1;
      if (at !== lo && at !== hi) break;
      const nextLrs = single ? [lo / 3, lo * 3] : at === lo ? [lo / (perLr[1].baseLr / lo)] : [hi * (hi / perLr[perLr.length - 2].baseLr)];
      if (extended.length + nextLrs.length > o.extendSweep) {
        stopped =
          `the chosen base lr ${+at.toPrecision(3)} is at the ${at === lo ? 'low' : 'high'} end of the sweep ` +
          `(${perLr.map((r) => +r.baseLr.toPrecision(3)).join(' / ')}) after ${extended.length} added lr(s), the most extendSweep allows`;
        break;
      }
      extended.push(...nextLrs);
      perLr.push(...(await trainHeads(nextLrs)));
    }
  } finally {
    tf.dispose(owned);
  }
  assertUnchanged(before, await fingerprint(backbone), `linear probe of ${backbone.name}`);
  const chosen = choose(perLr, val !== undefined);
  return {
    top1: chosen.test,
    chosenOn: val ? 'validation' : 'test',
    bestBaseLr: chosen.lr.baseLr,
    chosenEpoch: chosen.epoch,
    ...(val ? { valTop1: chosen.score } : {}),
    valCount: val?.count ?? 0,
    trainCount: fit.count,
    bestTestTop1: Math.max(...perLr.map((r) => r.bestTop1)),
    sweepExtended: extended,
    ...(stopped ? { sweepStopped: stopped } : {}),
    perLr,
    epochs: o.epochs,
    batch: o.batch,
    stepsPerEpoch: loader.stepsPerEpoch,
    augment: o.augment,
    cacheFeatures: o.cacheFeatures,
    batchNorm: o.batchNorm,
    backboneUnchanged: true,
  };
}

/** The linear probe through the evaluator contract: its config is the protocol, its details the full result. */
export type LinearProbeEvaluator = Evaluator<typeof LinearProbeConfigSchema, LinearProbeResult>;

/** main_lincls as an evaluator; `metrics`: test top-1 at the chosen (lr, epoch), main_lincls's best, and the validation top-1. */
export const linearProbeEvaluator: LinearProbeEvaluator = defineEvaluator({
  name: 'linear-probe',
  title: 'linear probe on frozen features (SGD momentum 0.9, cosine per epoch, crop + flip; MoCo v3 protocol)',
  schema: LinearProbeConfigSchema,
  column: { metric: 'top1', header: 'linear probe (%)', percent: true },
  async evaluate(input, config) {
    const { train, test } = input;
    if (isFileSet(train) || isFileSet(test))
      throw new Error(
        `linear probe: ${isFileSet(train) ? train.name : test.name} is read from its files; the probe needs an in-memory set`,
      );
    const r = await linearProbe(input.backbone, train, test, {
      ...config,
      ...input.view,
      seed: input.seed,
      onEpoch: input.onProgress
        ? (p) =>
            input.onProgress!(p.epoch + 1, p.epochs, {
              loss: Math.min(...p.losses),
              ...(p.top1 ? { top1: `${(100 * Math.max(...p.top1)).toFixed(1)}%` } : {}),
            })
        : undefined,
    });
    return {
      metrics: { top1: r.top1, bestTestTop1: r.bestTestTop1, ...(r.valTop1 === undefined ? {} : { valTop1: r.valTop1 }) },
      details: r,
    };
  },
});
