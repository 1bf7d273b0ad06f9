/**
 * One augmented view of a batch as a single native kernel (native/augment.c, `SslAugmentView`):
 * the ops of `applyViewParams` (crop + bilinear resize, colour jitter, grayscale, blur, solarize,
 * flip, normalisation) in the same order and float32 arithmetic, one pass per image, instead of
 * hundreds of small tensor ops. Sums (the contrast's mean luma, the blur's taps) may round apart
 * from the tensor ops' by an ulp; test/augment-native.test.ts holds the two within 1e-5.
 */
import type { tf } from '../engine/tf.ts';
import { runNative } from '../engine/kernels/native-ops.ts';
import { gaussianKernel1d } from './blur.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from './normalize.ts';
import { cropAxes } from './random-resized-crop.ts';
import type { ImageAugParams } from './view-params.ts';

/** Per-image parameters in native/augment.h's layout. */
const PARAMS = 13;

export function nativeView(
  images: tf.Tensor4D,
  params: readonly ImageAugParams[],
  opts: { outSize: number; blurKernel: number; solarizeThreshold: number },
): tf.Tensor4D {
  const [B, H, W] = images.shape;
  const S = opts.outSize,
    K = opts.blurKernel;
  const { rows, cols } = cropAxes(
    params.map((p) => p.crop),
    H,
    W,
    S,
    S,
  );
  const maps = new Float32Array(6 * B * S);
  const put = (part: number, b: number, v: ArrayLike<number>) => maps.set(v, part * B * S + b * S);
  const prm = new Float32Array(B * PARAMS);
  const taps = new Float32Array(B * K);
  params.forEach((p, b) => {
    put(0, b, rows[b].i0);
    put(1, b, rows[b].i1);
    put(2, b, rows[b].w1);
    put(3, b, cols[b].i0);
    put(4, b, cols[b].i1);
    put(5, b, cols[b].w1);
    const j = p.jitter;
    prm.set(
      [
        j.apply ? 1 : 0,
        ...j.order,
        j.brightness,
        j.contrast,
        j.saturation,
        j.hue,
        p.grayscale ? 1 : 0,
        p.blur ? 1 : 0,
        p.solarize ? 1 : 0,
        p.flip ? 1 : 0,
      ],
      b * PARAMS,
    );
    if (p.blur && K > 1) taps.set(gaussianKernel1d(p.sigma, K), b * K);
  });
  return runNative(
    'SslAugmentView',
    { images },
    { maps, params: prm, taps, K, S, threshold: opts.solarizeThreshold, mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] },
  ) as tf.Tensor4D;
}
