/**
 * Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) with the semantics of timm's `Mixup`
 * in its default 'batch' mode, as DeiT (and so MoCo v3's transfer fine-tuning, Table 5) uses it.
 * MoCo v3's transfer/README.md (its DeiT commands): mixup / cutmix alpha 0.8 / 1 (CIFAR-10), 0.5 / 1
 * (CIFAR-100), 0 / 0 (Flowers), 0.8 / 0 (Pets); label smoothing 0.1 (DeiT's default `--smoothing`).
 *
 * Per batch, with probability `prob` (1.0): when both alphas are > 0, CutMix with probability
 * `switchProb` (0.5), otherwise Mixup; lam ~ Beta(alpha, alpha) of the chosen one. The partner of
 * sample b is sample B-1-b (the batch reversed).
 *  - Mixup: x = lam * x + (1 - lam) * x_reversed.
 *  - CutMix: a box with sides int(H * sqrt(1 - lam)), int(W * sqrt(1 - lam)) around a uniform
 *    random centre (clipped to the image) is pasted from x_reversed, and lam is corrected to
 *    1 - box area / image area.
 * Targets: lam * smooth(y) + (1 - lam) * smooth(y_reversed), with smooth(y) = onehot(y) * (1 - eps)
 * + eps / numClasses. Without mixing (lam = 1) they are the label-smoothed one-hots, so one
 * soft-target cross-entropy serves every recipe (timm's LabelSmoothingCrossEntropy is the same loss).
 *
 * All randomness is drawn in JS from a seeded `Rng` (Beta via two Gamma draws, Marsaglia-Tsang).
 * Images are NHWC here (timm's are NCHW); mixing is applied to normalised images, after the
 * crop / flip augmentation, as DeiT's training loop does.
 */
import { tf } from '../engine/tf.ts';
import type { Rng } from '../engine/rng.ts';

export interface MixupOptions {
  /** Beta(alpha, alpha) of Mixup; 0 disables Mixup. */
  mixupAlpha: number;
  /** Beta(alpha, alpha) of CutMix; 0 disables CutMix. */
  cutmixAlpha: number;
  /** Probability of mixing a batch at all (timm's `prob`, default 1). */
  prob?: number;
  /** Probability of CutMix instead of Mixup when both are enabled (default 0.5). */
  switchProb?: number;
  /** Label smoothing eps folded into the targets. */
  labelSmoothing: number;
  numClasses: number;
}

/** A rows [top, top + height) x columns [left, left + width) box; may be empty. */
export interface MixBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** What was drawn for one batch. */
export interface MixParams {
  /** Weight of each sample's own label (1: no mixing). For CutMix, already corrected to the box area. */
  lam: number;
  kind: 'none' | 'mixup' | 'cutmix';
  /** CutMix: the pasted box. */
  box?: MixBox;
}

function checkOptions(o: MixupOptions): void {
  const nonNeg = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  const unit = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1;
  if (!nonNeg(o.mixupAlpha)) throw new Error(`mixup: mixupAlpha must be a number >= 0, got ${o.mixupAlpha}`);
  if (!nonNeg(o.cutmixAlpha)) throw new Error(`mixup: cutmixAlpha must be a number >= 0, got ${o.cutmixAlpha}`);
  if (!unit(o.prob ?? 1)) throw new Error(`mixup: prob must lie in [0, 1], got ${o.prob}`);
  if (!unit(o.switchProb ?? 0.5)) throw new Error(`mixup: switchProb must lie in [0, 1], got ${o.switchProb}`);
  if (!(typeof o.labelSmoothing === 'number' && o.labelSmoothing >= 0 && o.labelSmoothing < 1)) {
    throw new Error(`mixup: labelSmoothing must lie in [0, 1), got ${o.labelSmoothing}`);
  }
  if (!(Number.isInteger(o.numClasses) && o.numClasses >= 1))
    throw new Error(`mixup: numClasses must be a positive integer, got ${o.numClasses}`);
}

/** True when the options can mix a batch (some alpha > 0 and prob > 0). */
export function mixingEnabled(o: Pick<MixupOptions, 'mixupAlpha' | 'cutmixAlpha' | 'prob'>): boolean {
  return (o.mixupAlpha > 0 || o.cutmixAlpha > 0) && (o.prob ?? 1) > 0;
}

/** Gamma(shape, 1) (Marsaglia & Tsang 2000; shape < 1 through Gamma(shape + 1) * U^(1 / shape)). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new Error(`sampleGamma: shape must be > 0, got ${shape}`);
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng.next();
    return sampleGamma(rng, shape + 1) * u ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x + y > 0 ? x / (x + y) : 0.5;
}

/**
 * The CutMix box of `lam` for a height x width image at centre (cy, cx): sides int(H sqrt(1-lam))
 * and int(W sqrt(1-lam)), half-sides floored, clipped to the image (timm's `rand_bbox`, margin 0).
 */
export function cutmixBox(lam: number, height: number, width: number, cy: number, cx: number): MixBox {
  const r = Math.sqrt(1 - lam);
  const cutH = Math.trunc(height * r);
  const cutW = Math.trunc(width * r);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const top = clip(cy - Math.floor(cutH / 2), height);
  const bottom = clip(cy + Math.floor(cutH / 2), height);
  const left = clip(cx - Math.floor(cutW / 2), width);
  const right = clip(cx + Math.floor(cutW / 2), width);
  return { top, left, height: bottom - top, width: right - left };
}

/** Draws one batch's mixing for images of height x width (timm `_params_per_batch` + `cutmix_bbox_and_lam`). */
export function sampleMixParams(rng: Rng, o: MixupOptions, height: number, width: number): MixParams {
  checkOptions(o);
  if (!mixingEnabled(o) || !(rng.next() < (o.prob ?? 1))) return { lam: 1, kind: 'none' };
  let cutmix: boolean;
  if (o.mixupAlpha > 0 && o.cutmixAlpha > 0) cutmix = rng.next() < (o.switchProb ?? 0.5);
  else cutmix = o.cutmixAlpha > 0;
  const alpha = cutmix ? o.cutmixAlpha : o.mixupAlpha;
  const lam = sampleBeta(rng, alpha, alpha);
  if (!cutmix) return { lam, kind: 'mixup' };
  const box = cutmixBox(lam, height, width, rng.int(height), rng.int(width));
  return { lam: 1 - (box.height * box.width) / (height * width), kind: 'cutmix', box };
}

/** Applies drawn params to normalised images [B, H, W, C]; returns a new tensor. */
export function mixImages(images: tf.Tensor4D, p: MixParams): tf.Tensor4D {
  const [B, H, W] = images.shape;
  if (p.kind !== 'none' && B % 2 !== 0) throw new Error(`mixup: batch size must be even (timm's rule), got ${B}`);
  return tf.tidy(() => {
    if (p.kind === 'none' || p.lam === 1) return tf.clone(images);
    const reversed = tf.reverse(images, 0);
    if (p.kind === 'mixup') return tf.add(tf.mul(images, p.lam), tf.mul(reversed, 1 - p.lam)) as tf.Tensor4D;
    const box = p.box!;
    const mask = new Float32Array(H * W);
    for (let y = box.top; y < box.top + box.height; y++) mask.fill(1, y * W + box.left, y * W + box.left + box.width);
    const inBox = tf.tensor4d(mask, [1, H, W, 1]);
    return tf.where(tf.cast(tf.broadcastTo(inBox, images.shape), 'bool'), reversed, images) as tf.Tensor4D;
  });
}

/** lam * smooth(y) + (1 - lam) * smooth(y reversed) as [B * numClasses] floats, row-major (float64 math, then rounded). */
export function mixTargets(labels: ArrayLike<number>, lam: number, numClasses: number, smoothing: number): Float32Array {
  const B = labels.length;
  const off = smoothing / numClasses;
  const on = 1 - smoothing + off;
  const out = new Float32Array(B * numClasses);
  for (let b = 0; b < B; b++) {
    const own = labels[b];
    const partner = labels[B - 1 - b];
    out.fill(off, b * numClasses, (b + 1) * numClasses);
    out[b * numClasses + own] = lam * on + (1 - lam) * off;
    out[b * numClasses + partner] = partner === own ? on : (1 - lam) * on + lam * off;
  }
  return out;
}

/** One batch: draws the mixing, mixes the images and builds the soft targets [B, numClasses]. */
export function mixBatch(
  images: tf.Tensor4D,
  labels: ArrayLike<number>,
  rng: Rng,
  o: MixupOptions,
): { images: tf.Tensor4D; targets: tf.Tensor2D; params: MixParams } {
  const [B, H, W] = images.shape;
  if (labels.length !== B) throw new Error(`mixup: ${labels.length} labels for a batch of ${B}`);
  for (let b = 0; b < B; b++) {
    if (!(Number.isInteger(labels[b]) && labels[b] >= 0 && labels[b] < o.numClasses))
      throw new Error(`mixup: label ${labels[b]} at ${b} outside [0, ${o.numClasses})`);
  }
  const params = sampleMixParams(rng, o, H, W);
  const mixed = mixImages(images, params);
  const targets = tf.tensor2d(mixTargets(labels, params.lam, o.numClasses, o.labelSmoothing), [B, o.numClasses]);
  return { images: mixed, targets, params };
}
