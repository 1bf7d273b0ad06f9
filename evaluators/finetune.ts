/**
 * End-to-end transfer fine-tuning (the paper's Table 5, which follows ViT [16] through the DeiT
 * code base). MoCo v3's transfer/README.md (its DeiT main.py commands, with DeiT's defaults): 100
 * epochs, AdamW lr 3e-4 x batch / 512, warmup 3 epochs, batch 1024 (128 x 8 GPUs); weight decay
 * 0.1 (CIFAR-10/100, Pets) or 0.3 (Flowers); mixup / cutmix 0.8 / 1 (CIFAR-10), 0.5 / 1
 * (CIFAR-100), 0 / 0 (Flowers), 0.8 / 0 (Pets); label smoothing 0.1; drop-path 0.1 (0 for Pets);
 * train aug RandomResizedCrop scale (0.05, 1) + flip (transfer/datasets.py).
 *
 * The transfer path (protocol version FINETUNE_PROTOCOL): MoCo v3 converts its pre-trained ViT to
 * the DeiT format (convert_to_deit.py) and fine-tunes `deit_base_patch16_224`, a timm ViT in which
 * the patch projection (`patch_embed.proj`) and the position embedding (`pos_embed`) are ordinary
 * trainable parameters: the pre-training's frozen random projection and sin-cos table are merely
 * their start values. So here every backbone parameter trains; the evaluator refuses a backbone
 * with a frozen parameter. The caller builds the backbone with `transferBackboneOptions`:
 *  - pre-trained cells: `finetune: 'pretrained'` (the pre-training ViT with nothing frozen), then
 *    loads the pre-trained weights, which become the start values of every parameter;
 *  - "random init." cells: `finetune: 'scratch'`, a from-scratch DeiT ViT as timm 0.3.2 (the
 *    version DeiT pins) builds it (backbones/vit/deit-init.ts): learned `pos_embed` trunc_normal_
 *    std .02, `cls_token` trunc_normal_ std .02, patch projection a learned Conv2d with PyTorch's
 *    default init U(+-1/sqrt(C p p)) for weight and bias (timm's `_init_weights` leaves the conv
 *    alone), every Linear trunc_normal_ std .02 with bias 0, LayerNorm 1 / 0. It differs from the
 *    MoCo v3 pre-training ViT in: `pos_embed` (learned, not the fixed sin-cos table), the patch
 *    projection (learned, PyTorch-default init instead of frozen Xavier-uniform), `cls_token`
 *    (std .02 instead of 1e-6) and the Linear layers (trunc-normal .02 instead of Xavier-uniform).
 *    timm's trunc_normal_ cuts at +-2 in absolute units, i.e. it is N(0, .02^2) in effect. We
 *    follow timm 0.3.2 because DeiT's requirements pin it; later timm differs only in `cls_token`
 *    (N(0, 1e-6^2)) in its default mode ('jax' / 'moco' modes are other inits).
 *
 * What this evaluator does, and the choices the recipe leaves open:
 *  - The backbone (pre-trained weights or a random init) is trained in training mode with a new
 *    Linear head on its features. Drop-path is a build option of the backbone
 *    (`BackboneOptions.dropPath`): the caller builds it with the recipe's `dropPath`.
 *  - Head init: DeiT's (timm's ViT init of `head`): weight trunc_normal_ std 0.02 (timm's absolute
 *    +-2 cut), bias 0.
 *  - Weight decay as DeiT (timm's optimizer factory with filter_bias_and_bn): no decay for 1-D
 *    parameters (biases, LayerNorm / BatchNorm affine), biases, and the ViT's `pos_embed` and
 *    `cls_token`; every other trainable parameter is decayed. Two AdamW instances (decay / 0)
 *    share the learning rate, which is what PyTorch's two parameter groups compute.
 *  - lr: linear warmup then half-cosine to 0, per iteration (optim/schedules.ts, as our
 *    pre-training); DeiT steps timm's scheduler per epoch with warmup from 1e-6 and a 1e-5 floor.
 *  - Train view: RandomResizedCrop (scale (cropMin, 1), ratio (3/4, 4/3)) + horizontal flip p 0.5 +
 *    ImageNet normalisation, then mixup / cutmix (./mixup.ts) with label smoothing folded into the
 *    soft targets; loss: soft-target cross-entropy. Without mixing that equals timm's
 *    LabelSmoothingCrossEntropy, which DeiT uses then. Batches drop the last incomplete one.
 *  - Test view: resize + centre crop (augment/center-crop.ts) + normalisation, eval mode. Top-1
 *    after every epoch; `top1` is the last epoch's, `bestTop1` the best (DeiT logs the max).
 *  - No model EMA, no gradient clipping (DeiT's defaults for what it reports).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSchema, type ConfigurablePlugin } from '../core/plugin.ts';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import type { Param } from '../engine/module.ts';
import { Linear } from '../engine/layers/linear.ts';
import { timmTruncNormal } from '../backbones/vit/deit-init.ts';
import type { BackboneOptions } from '../core/config.ts';
import type { Backbone } from '../backbones/backbone.ts';
import type { ImageSet } from '../data/image-set.ts';
import { BatchLoader } from '../data/loader.ts';
import { AdamW } from '../optim/adamw.ts';
import { scaledLr, warmupCosineLr } from '../optim/schedules.ts';
import { cropAndResize, DEFAULT_RATIO, sampleResizedCropBox } from '../augment/random-resized-crop.ts';
import { flipHorizontal } from '../augment/flip.ts';
import { normalize } from '../augment/normalize.ts';
import { centerCropResize } from '../augment/center-crop.ts';
import { imageTensor, rgbTensor } from './features.ts';
import { mixBatch, mixingEnabled, type MixupOptions } from './mixup.ts';

/**
 * The fine-tuning recipe's fields, with the official transfer path's shared values as defaults
 * (100 epochs, batch 1024, AdamW 3e-4 x batch / 512, 3 warm-up epochs, label smoothing 0.1, crop
 * scale from 0.05); recipes/evaluation.ts' FINETUNE_RECIPES sets Table 5's per-dataset ones.
 */
export const FinetuneRecipeSchema = ConfigSchema({
  epochs: Type.Integer({ minimum: 1, default: 100 }),
  batch: Type.Integer({ minimum: 1, default: 1024 }),
  /** AdamW lr at batch `lrScaleDivisor`; the lr used is baseLr x batch / lrScaleDivisor. */
  baseLr: Type.Number({ exclusiveMinimum: 0, default: 3e-4 }),
  lrScaleDivisor: Type.Number({ exclusiveMinimum: 0, default: 512 }),
  warmupEpochs: Type.Number({ minimum: 0, default: 3 }),
  weightDecay: Type.Number({ minimum: 0, default: 0.1 }),
  mixupAlpha: Type.Number({ minimum: 0, default: 0.8 }),
  cutmixAlpha: Type.Number({ minimum: 0, default: 1 }),
  labelSmoothing: Type.Number({ minimum: 0, maximum: 1, default: 0.1 }),
  /** For the caller: build the backbone with this `BackboneOptions.dropPath` (the evaluator receives it built). */
  dropPath: Type.Number({ minimum: 0, maximum: 1, default: 0.1 }),
  /** RandomResizedCrop scale lower bound. */
  cropMin: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.05 }),
});
export type FinetuneRecipe = Static<typeof FinetuneRecipeSchema>;

/**
 * Version of the fine-tuning protocol; part of the key of cached results, so that a change of
 * protocol does not reuse stale ones. 1: frozen patch projection and sin-cos table, random-init
 * rows with the pre-training ViT; 2: every parameter trains, random-init rows are from-scratch
 * DeiT ViTs, head trunc_normal_ with timm's cut.
 */
export const FINETUNE_PROTOCOL = 2;

/** How Table 5's transfer path builds a cell's backbone: the DeiT / timm ViT (see the header). */
export function transferBackboneOptions(init: 'pretrained' | 'random', dropPath: number): BackboneOptions {
  return init === 'random'
    ? { dropPath, finetune: 'scratch', posEmbed: 'learned', randomPatchProj: false }
    : { dropPath, finetune: 'pretrained' };
}

export interface FinetunePoint {
  /** Epochs completed (1-based). */
  epoch: number;
  /** Mean training loss over the epoch's iterations. */
  loss: number;
  /** Test top-1 (%) after the epoch. */
  top1: number;
}

export interface FinetuneOptions extends FinetuneRecipe {
  seed: number;
  /** Side of the train and test views; must equal the backbone's image size. */
  viewSize: number;
  /** Test view: centre crop fraction (224 / 256 in the standard transform). */
  cropFraction: number;
  /** Batch of the test-set forward passes (default 256). */
  evalBatch?: number;
  onEpoch?: (p: FinetunePoint) => void;
}

export interface FinetuneResult {
  /** Test top-1 (%) after the last epoch. */
  top1: number;
  /** Best test top-1 (%) over the epochs. */
  bestTop1: number;
  curve: FinetunePoint[];
}

/** mean over the batch of -sum_c targets[b, c] * log_softmax(logits)[b, c]. */
export function softTargetCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits, -1)), -1))) as tf.Scalar);
}

/** Names exempt from weight decay besides 1-D parameters and biases (timm's ViT `no_weight_decay`). */
const NO_DECAY_NAMES = new Set(['pos_embed', 'cls_token']);

/** DeiT's split of trainable parameters into decayed and not decayed. */
export function weightDecayGroups(params: readonly Param[]): { decay: Param[]; noDecay: Param[] } {
  const decay: Param[] = [];
  const noDecay: Param[] = [];
  for (const p of params) (p.shape.length <= 1 || p.name.endsWith('.bias') || NO_DECAY_NAMES.has(p.name) ? noDecay : decay).push(p);
  return { decay, noDecay };
}

function checkOptions(backbone: Backbone, train: ImageSet, test: ImageSet, o: FinetuneOptions): void {
  const bad = (msg: string): never => {
    throw new Error(`finetune: ${msg}`);
  };
  if (o.viewSize !== backbone.imageSize) bad(`viewSize ${o.viewSize} differs from the backbone's image size ${backbone.imageSize}`);
  if (train.numClasses !== test.numClasses) bad(`train set has ${train.numClasses} classes, test set ${test.numClasses}`);
  if (!(Number.isInteger(o.epochs) && o.epochs >= 1)) bad(`epochs must be a positive integer, got ${o.epochs}`);
  if (!(Number.isInteger(o.batch) && o.batch >= 1)) bad(`batch must be a positive integer, got ${o.batch}`);
  if (o.batch > train.count) bad(`batch ${o.batch} exceeds the ${train.count} training images`);
  if (mixingEnabled(o) && o.batch % 2 !== 0) bad(`mixup / cutmix need an even batch, got ${o.batch}`);
  if (!(o.cropMin > 0 && o.cropMin <= 1)) bad(`cropMin must lie in (0, 1], got ${o.cropMin}`);
  if (test.count < 1) bad('the test set is empty');
  const frozen = backbone
    .parameters()
    .filter((p) => !p.trainable)
    .map((p) => p.name);
  if (frozen.length)
    bad(
      `every backbone parameter trains in fine-tuning, but ${frozen.join(', ')} ${frozen.length > 1 ? 'are' : 'is'} frozen: build the ` +
        `backbone with transferBackboneOptions (BackboneOptions.finetune)`,
    );
}

/** The train view of a batch: RandomResizedCrop + flip + normalisation. */
function trainView(images: tf.Tensor4D, rng: Rng, outSize: number, cropMin: number): tf.Tensor4D {
  const [B, H, W] = images.shape;
  const boxes = Array.from({ length: B }, () => sampleResizedCropBox(rng, H, W, [cropMin, 1], DEFAULT_RATIO));
  const flips = Array.from({ length: B }, () => rng.bernoulli(0.5));
  return tf.tidy(() => normalize(flipHorizontal(cropAndResize(images, boxes, outSize), flips)));
}

/** Test top-1 (%) of backbone + head in eval mode. */
export async function classifierTop1(
  backbone: Backbone,
  head: Linear,
  set: ImageSet,
  o: Pick<FinetuneOptions, 'viewSize' | 'cropFraction' | 'evalBatch'>,
): Promise<number> {
  const batch = o.evalBatch ?? 256;
  let correct = 0;
  for (let i = 0; i < set.count; i += batch) {
    const n = Math.min(batch, set.count - i);
    const pred = tf.tidy(() =>
      tf.argMax(head.apply(backbone.apply(centerCropResize(imageTensor(set, i, n), o.viewSize, o.cropFraction), false)), -1),
    );
    const p = await pred.data();
    pred.dispose();
    for (let j = 0; j < n; j++) if (p[j] === set.labels[i + j]) correct++;
  }
  return (100 * correct) / set.count;
}

/** Fine-tunes `backbone` (its weights change) with a new head on `train`; top-1 on `test` per epoch. */
export async function finetune(backbone: Backbone, train: ImageSet, test: ImageSet, o: FinetuneOptions): Promise<FinetuneResult> {
  checkOptions(backbone, train, test, o);
  const root = new Rng(o.seed);
  const headRng = root.fork();
  const augRng = root.fork();
  const mixRng = root.fork();
  const numClasses = train.numClasses;
  const head = new Linear('head', backbone.outDim, numClasses, headRng, { init: (n) => timmTruncNormal(n, 0.02, headRng) });
  const params = [...backbone.parameters(), ...head.parameters()];
  const groups = weightDecayGroups(params);
  const optimizers = [
    { opt: new AdamW(groups.decay, { weightDecay: o.weightDecay }), params: new Set(groups.decay) },
    { opt: new AdamW(groups.noDecay, { weightDecay: 0 }), params: new Set(groups.noDecay) },
  ];
  const vars = params.map((p) => p.variable);
  const byVar = new Map(params.map((p) => [p.variable.name, p]));
  const mixOpts: MixupOptions = { mixupAlpha: o.mixupAlpha, cutmixAlpha: o.cutmixAlpha, labelSmoothing: o.labelSmoothing, numClasses };
  const loader = new BatchLoader(train, { batchSize: o.batch, seed: o.seed, dropLast: true, shuffle: true });
  const schedule = { baseLr: scaledLr(o.baseLr, o.batch, o.lrScaleDivisor), warmupEpochs: o.warmupEpochs, epochs: o.epochs };
  /** One AdamW step on a prepared batch; returns its loss (throws on a non-finite one). */
  const trainStep = async (images: tf.Tensor4D, targets: tf.Tensor2D, lr: number, where: string): Promise<number> => {
    const { value, grads } = tf.variableGrads(
      () => softTargetCrossEntropy(head.apply(backbone.apply(images, true)) as tf.Tensor2D, targets),
      vars,
    );
    try {
      const loss = (await value.data())[0];
      if (!Number.isFinite(loss)) throw new Error(`finetune: the loss became ${loss} at ${where}`);
      for (const { opt, params: own } of optimizers) {
        const mine = new Map<Param, tf.Tensor>();
        for (const [name, g] of Object.entries(grads)) if (own.has(byVar.get(name)!)) mine.set(byVar.get(name)!, g);
        opt.step(mine, lr);
      }
      return loss;
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
  };
  const curve: FinetunePoint[] = [];
  try {
    let iter = 0;
    let lossSum = 0;
    for await (const batch of loader.batches({ endEpoch: o.epochs })) {
      const lr = warmupCosineLr(iter / loader.stepsPerEpoch, schedule);
      const { images, targets } = tf.tidy(() => {
        const raw = rgbTensor(batch.images, batch.shape, train.name);
        const mixed = mixBatch(trainView(raw, augRng, o.viewSize, o.cropMin), batch.labels, mixRng, mixOpts);
        return { images: mixed.images, targets: mixed.targets };
      });
      try {
        lossSum += await trainStep(images, targets, lr, `iteration ${iter} (epoch ${batch.epoch}, step ${batch.step})`);
      } finally {
        tf.dispose([images, targets]);
      }
      iter++;
      if (batch.step === loader.stepsPerEpoch - 1) {
        const point = { epoch: batch.epoch + 1, loss: lossSum / loader.stepsPerEpoch, top1: await classifierTop1(backbone, head, test, o) };
        curve.push(point);
        o.onEpoch?.(point);
        lossSum = 0;
      }
    }
  } finally {
    for (const { opt } of optimizers) opt.dispose();
    head.dispose();
  }
  const last = curve[curve.length - 1];
  return { top1: last.top1, bestTop1: Math.max(...curve.map((p) => p.top1)), curve };
}

/** The evaluator as the container registers it (the backbone is trained: build a fresh one per call). */
export interface FinetuneEvaluator extends ConfigurablePlugin<'finetuner', typeof FinetuneRecipeSchema> {
  evaluate(backbone: Backbone, train: ImageSet, test: ImageSet, opts: FinetuneOptions): Promise<FinetuneResult>;
}

export const finetuneEvaluator: FinetuneEvaluator = {
  kind: 'finetuner',
  name: 'finetune',
  schema: FinetuneRecipeSchema,
  title: 'end-to-end fine-tuning with a new linear head (Table 5: DeiT recipe, AdamW, mixup / cutmix, label smoothing, drop-path)',
  evaluate: finetune,
};
