/**
 * The MoCo v3 / BYOL two-view augmentation policy (MoCo v3 paper, appendix; BYOL table 6), batched.
 *
 * Per view, in order: RandomResizedCrop (scale (cropMin, 1), ratio (3/4, 4/3)) -> colour jitter
 * (0.4, 0.4, 0.2, 0.1, random order) with p 0.8 -> grayscale p 0.2 -> Gaussian blur sigma ~ U[0.1, 2]
 * (p 1.0 / 0.1) -> solarize (p 0 / 0.2) -> horizontal flip p 0.5 -> ImageNet normalisation.
 *
 * Every random parameter of a batch is drawn in JS first (`sampleViewParams`, per image, from the
 * seeded `Rng`), then applied with batched tensor ops (`applyViewParams`): the same seed gives the
 * same output, and the parameters can be inspected.
 */
import { tf } from '../engine/tf.ts';
import type { Rng } from '../engine/rng.ts';
import { gaussianBlur, blurKernelSize } from './blur.ts';
import { applyByGroup } from './batch-select.ts';
import { grayscale, solarize } from './color.ts';
import { colorJitter, sampleJitter, type JitterStrength } from './color-jitter.ts';
import { flipHorizontal } from './flip.ts';
import { normalize } from './normalize.ts';
import { nativeView } from './native-view.ts';
import type { ImageAugParams } from './view-params.ts';
import { nativeOpsActive } from '../engine/backend.ts';
import { cropAndResize, DEFAULT_RATIO, sampleResizedCropBox, type CropBox } from './random-resized-crop.ts';

export type { ImageAugParams };

export { centerCropResize, centerCropResizeRaw } from './center-crop.ts';

/** What one view does: the probabilities and ranges of the table above. */
export interface ViewSpec {
  /** RandomResizedCrop aspect-ratio range (width / height). Scale is (opts.cropMin, 1). */
  ratio: readonly [number, number];
  /** RandomApply(ColorJitter(...), p). */
  jitter: JitterStrength & { p: number };
  grayscaleP: number;
  /** Gaussian blur: probability, sigma range, kernel size as a fraction of the output side (odd, see `blurKernelSize`). */
  blur: { p: number; sigma: readonly [number, number]; kernelFraction: number };
  /** Solarize probability and threshold on [0,1] values (128/255 in uint8 terms is 0.5 here). */
  solarize: { p: number; threshold: number };
  flipP: number;
}

const MOCO_JITTER = { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 } as const;
const MOCO_BLUR_SIGMA = [0.1, 2.0] as const;

/** MoCo v3's two views (= BYOL's): they differ only in blur and solarize probabilities. */
export const MOCO_V3_VIEWS: readonly [ViewSpec, ViewSpec] = [
  {
    ratio: DEFAULT_RATIO,
    jitter: { ...MOCO_JITTER, p: 0.8 },
    grayscaleP: 0.2,
    blur: { p: 1.0, sigma: MOCO_BLUR_SIGMA, kernelFraction: 0.1 },
    solarize: { p: 0, threshold: 0.5 },
    flipP: 0.5,
  },
  {
    ratio: DEFAULT_RATIO,
    jitter: { ...MOCO_JITTER, p: 0.8 },
    grayscaleP: 0.2,
    blur: { p: 0.1, sigma: MOCO_BLUR_SIGMA, kernelFraction: 0.1 },
    solarize: { p: 0.2, threshold: 0.5 },
    flipP: 0.5,
  },
];

/** RandomResizedCrop + horizontal flip only (linear-probe / fine-tune training view). */
export const CROP_FLIP_VIEW: ViewSpec = {
  ratio: DEFAULT_RATIO,
  jitter: { ...MOCO_JITTER, p: 0 },
  grayscaleP: 0,
  blur: { p: 0, sigma: MOCO_BLUR_SIGMA, kernelFraction: 0.1 },
  solarize: { p: 0, threshold: 0.5 },
  flipP: 0.5,
};

export interface AugmentOptions {
  /** Output side in pixels (square views). */
  outSize: number;
  /** Lower end of the RandomResizedCrop scale range: 0.08 for ViT, 0.2 for R50. */
  cropMin: number;
  /** Upper end of that range (default 1; SwAV's local crops: 0.14). */
  cropMax?: number;
}

/**
 * SwAV's local crops (multi-crop, Caron et al. 2020, its `main_swav.py`): RandomResizedCrop of scale
 * (0.05, 0.14) to a small side (96 px beside 224), flip, SwAV's colour distortion (jitter 0.8, 0.8,
 * 0.8, 0.2 with p 0.8, grayscale p 0.2) and Gaussian blur p 0.5; no solarize.
 */
export const SWAV_LOCAL_VIEW: ViewSpec = {
  ratio: DEFAULT_RATIO,
  jitter: { brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.2, p: 0.8 },
  grayscaleP: 0.2,
  blur: { p: 0.5, sigma: MOCO_BLUR_SIGMA, kernelFraction: 0.1 },
  solarize: { p: 0, threshold: 0.5 },
  flipP: 0.5,
};

/** SwAV's local-crop defaults: side 96/224 of the view size, scale (0.05, 0.14). */
export const LOCAL_CROP_SCALE: readonly [number, number] = [0.05, 0.14];
export const localCropSize = (viewSize: number): number => Math.max(1, Math.round((viewSize * 96) / 224));

/** Multi-crop's local crops: how many, their side in pixels, their RandomResizedCrop scale range. */
export interface LocalCrops {
  count: number;
  size: number;
  scale: readonly [number, number];
}

/** Draw the parameters of every image of a batch of `n` images of `height` x `width`. */
export function sampleViewParams(
  rng: Rng,
  n: number,
  height: number,
  width: number,
  spec: ViewSpec,
  opts: AugmentOptions,
): ImageAugParams[] {
  const cropMax = opts.cropMax ?? 1;
  if (!(opts.cropMin > 0 && opts.cropMin <= cropMax && cropMax <= 1))
    throw new Error(`augment: crop scale (cropMin ${opts.cropMin}, cropMax ${cropMax}) is not a range in (0, 1]`);
  const out: ImageAugParams[] = [];
  for (let b = 0; b < n; b++) {
    const crop = sampleResizedCropBox(rng, height, width, [opts.cropMin, cropMax], spec.ratio);
    const jitter = sampleJitter(rng, spec.jitter, spec.jitter.p);
    const gray = rng.bernoulli(spec.grayscaleP);
    const blur = rng.bernoulli(spec.blur.p);
    const sigma = rng.uniform(spec.blur.sigma[0], spec.blur.sigma[1]);
    const sol = rng.bernoulli(spec.solarize.p);
    const flip = rng.bernoulli(spec.flipP);
    out.push({ crop, jitter, grayscale: gray, blur, sigma, solarize: sol, flip });
  }
  return out;
}

/** Apply drawn parameters to `images` [B,H,W,3] in [0,1]; returns the normalised view [B,outSize,outSize,3]. */
export function applyViewParams(
  images: tf.Tensor4D,
  params: readonly ImageAugParams[],
  spec: ViewSpec,
  opts: Pick<AugmentOptions, 'outSize'>,
): tf.Tensor4D {
  if (images.rank !== 4 || images.shape[3] !== 3) throw new Error(`augment: expected [B,H,W,3], got [${images.shape}]`);
  if (params.length !== images.shape[0]) throw new Error(`augment: ${params.length} parameter sets for a batch of ${images.shape[0]}`);
  const kernel = blurKernelSize(opts.outSize, spec.blur.kernelFraction);
  const [, H, W] = images.shape;
  // crops made before (the streaming pipeline's workers): every box is the whole image at the output size
  const cropped = H === opts.outSize && W === opts.outSize && params.every((p) => isWholeImage(p.crop, H, W));
  if (nativeOpsActive())
    return nativeView(images, params, { outSize: opts.outSize, blurKernel: kernel, solarizeThreshold: spec.solarize.threshold });
  return tf.tidy(() => {
    let x = cropped
      ? images
      : cropAndResize(
          images,
          params.map((p) => p.crop),
          opts.outSize,
        );
    x = colorJitter(
      x,
      params.map((p) => p.jitter),
    );
    x = grayscale(
      x,
      params.map((p) => p.grayscale),
    );
    x = applyByGroup(
      x,
      params.map((p) => (p.blur ? 'blur' : null)),
      (sub, idx) =>
        gaussianBlur(
          sub,
          idx.map((b) => params[b].sigma),
          kernel,
        ),
    );
    x = solarize(
      x,
      params.map((p) => p.solarize),
      spec.solarize.threshold,
    );
    x = flipHorizontal(
      x,
      params.map((p) => p.flip),
    );
    return normalize(x);
  });
}

const isWholeImage = (b: CropBox, h: number, w: number): boolean => b.top === 0 && b.left === 0 && b.height === h && b.width === w;

/**
 * The two MoCo v3 views' photometric part (colour jitter, grayscale, blur, solarize, flip,
 * normalisation) on views whose RandomResizedCrop was made already, each from its own image
 * (input/: the crop needs the decoded image's size, so the decode workers draw it). `v1`,
 * `v2` [B, S, S, 3] in [0, 1]; draws from two streams forked from `rng`, as `twoViews`.
 */
export function photometricTwoViews(v1: tf.Tensor4D, v2: tf.Tensor4D, rng: Rng): [tf.Tensor4D, tf.Tensor4D] {
  const [B, S] = v1.shape;
  const view = (x: tf.Tensor4D, r: Rng, spec: ViewSpec) => {
    const whole = { top: 0, left: 0, height: S, width: S, fallback: false };
    const params = sampleViewParams(r, B, S, S, spec, { outSize: S, cropMin: 1 }).map((p) => ({ ...p, crop: whole }));
    return applyViewParams(x, params, spec, { outSize: S });
  };
  const r1 = rng.fork();
  const r2 = rng.fork();
  return [view(v1, r1, MOCO_V3_VIEWS[0]), view(v2, r2, MOCO_V3_VIEWS[1])];
}

/** One augmented view of a batch. */
export function augmentView(images: tf.Tensor4D, rng: Rng, spec: ViewSpec, opts: AugmentOptions): tf.Tensor4D {
  const [B, H, W] = images.shape;
  return applyViewParams(images, sampleViewParams(rng, B, H, W, spec, opts), spec, opts);
}

/**
 * The two MoCo v3 views of a batch. Each view draws from its own stream forked from `rng` (two
 * draws of `rng`), so the views are independent and a seed fixes both.
 */
export function twoViews(images: tf.Tensor4D, rng: Rng, opts: AugmentOptions): [tf.Tensor4D, tf.Tensor4D] {
  const r1 = rng.fork();
  const r2 = rng.fork();
  return [augmentView(images, r1, MOCO_V3_VIEWS[0], opts), augmentView(images, r2, MOCO_V3_VIEWS[1], opts)];
}

/**
 * A batch's views: MoCo v3's two global views (`twoViews`, the same draws: its two forks of `rng`
 * come first), then `local.count` local crops (SwAV_LOCAL_VIEW), each from a further fork.
 */
export function augmentViews(
  images: tf.Tensor4D,
  rng: Rng,
  opts: AugmentOptions,
  local?: LocalCrops,
): { global: [tf.Tensor4D, tf.Tensor4D]; local: tf.Tensor4D[] } {
  const global = twoViews(images, rng, opts);
  const crops = Array.from({ length: local?.count ?? 0 }, () =>
    augmentView(images, rng.fork(), SWAV_LOCAL_VIEW, { outSize: local!.size, cropMin: local!.scale[0], cropMax: local!.scale[1] }),
  );
  return { global, local: crops };
}
