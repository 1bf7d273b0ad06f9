/**
 * Colour ops on batched RGB images [B,H,W,3] in [0,1], with torchvision's tensor semantics
 * (`torchvision.transforms.functional`): each takes one parameter per image, returns a new tensor
 * and clamps to [0,1] where torchvision does.
 *
 * - brightness(f):  clamp(f * x)
 * - contrast(f):    clamp(f * x + (1 - f) * mean(gray(x)))   mean over the whole image
 * - saturation(f):  clamp(f * x + (1 - f) * gray(x))          per pixel
 * - hue(h):         RGB -> HSV, H <- (H + h) mod 1, HSV -> RGB  (h in [-0.5, 0.5])
 * - grayscale:      ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B, replicated to 3 channels
 * - solarize:       x >= threshold -> 1 - x   (threshold 0.5 = 128/255)
 */
import { tf } from '../engine/tf.ts';
import { perImage, selectPerImage } from './batch-select.ts';

export const GRAY_WEIGHTS: readonly [number, number, number] = [0.299, 0.587, 0.114];

function checkBatch(images: tf.Tensor4D, n: number, what: string): void {
  if (images.rank !== 4 || images.shape[3] !== 3) throw new Error(`${what}: expected [B,H,W,3], got [${images.shape}]`);
  if (n !== images.shape[0]) throw new Error(`${what}: ${n} parameters for a batch of ${images.shape[0]}`);
}

/** Luma, [B,H,W,1]. */
export function luma(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sum(tf.mul(images, tf.tensor4d([...GRAY_WEIGHTS], [1, 1, 1, 3])), 3, true) as tf.Tensor4D);
}

/** clamp(f * x + (1 - f) * other), f per image; `other` broadcasts against x. */
function blend(images: tf.Tensor4D, other: tf.Tensor, factors: ArrayLike<number>): tf.Tensor4D {
  const f = perImage(factors);
  return tf.clipByValue(tf.add(tf.mul(images, f), tf.mul(other, tf.sub(1, f))), 0, 1) as tf.Tensor4D;
}

export function adjustBrightness(images: tf.Tensor4D, factors: ArrayLike<number>): tf.Tensor4D {
  checkBatch(images, factors.length, 'adjustBrightness');
  return tf.tidy(() => tf.clipByValue(tf.mul(images, perImage(factors)), 0, 1) as tf.Tensor4D);
}

export function adjustContrast(images: tf.Tensor4D, factors: ArrayLike<number>): tf.Tensor4D {
  checkBatch(images, factors.length, 'adjustContrast');
  return tf.tidy(() => blend(images, tf.mean(luma(images), [1, 2, 3], true), factors));
}

export function adjustSaturation(images: tf.Tensor4D, factors: ArrayLike<number>): tf.Tensor4D {
  checkBatch(images, factors.length, 'adjustSaturation');
  return tf.tidy(() => blend(images, luma(images), factors));
}

/** x - floor(x / m) * m: modulo with a non-negative result for m > 0. */
function floorMod(x: tf.Tensor, m: number): tf.Tensor {
  return tf.sub(x, tf.mul(tf.floor(tf.div(x, m)), m));
}

/** Channel c of [B,H,W,3] as [B,H,W,1] (a one-hot weighted sum: tf.split / strided slices are slow on wasm). */
function channel(images: tf.Tensor4D, c: number): tf.Tensor4D {
  const onehot = [0, 0, 0];
  onehot[c] = 1;
  return tf.sum(tf.mul(images, tf.tensor4d(onehot, [1, 1, 1, 3])), 3, true) as tf.Tensor4D;
}

/**
 * torchvision `_rgb2hsv` (all channels in [0,1], hue as a fraction of a turn). Returns [h, s, v],
 * each [B,H,W,1]. Where torchvision divides by `where(max == min, 1, x)` this adds the 0/1 "gray"
 * indicator instead (the numerator is 0 whenever it is 1), which is the same value.
 */
export function rgbToHsv(images: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  return tf.tidy(() => {
    const r = channel(images, 0);
    const g = channel(images, 1);
    const b = channel(images, 2);
    const maxc = tf.maximum(tf.maximum(r, g), b);
    const minc = tf.minimum(tf.minimum(r, g), b);
    const cr = tf.sub(maxc, minc);
    const gray = tf.cast(tf.equal(maxc, minc), 'float32');
    const s = tf.div(cr, tf.add(maxc, gray));
    const crDiv = tf.add(cr, gray);
    const rc = tf.div(tf.sub(maxc, r), crDiv);
    const gc = tf.div(tf.sub(maxc, g), crDiv);
    const bc = tf.div(tf.sub(maxc, b), crDiv);
    const isR = tf.cast(tf.equal(maxc, r), 'float32');
    const notR = tf.sub(1, isR);
    const eqG = tf.cast(tf.equal(maxc, g), 'float32');
    const isG = tf.mul(eqG, notR);
    const isB = tf.mul(tf.sub(1, eqG), notR);
    const h = tf.addN([tf.mul(isR, tf.sub(bc, gc)), tf.mul(isG, tf.add(2, tf.sub(rc, bc))), tf.mul(isB, tf.add(4, tf.sub(gc, rc)))]);
    return [floorMod(tf.add(tf.div(h, 6), 1), 1) as tf.Tensor4D, s as tf.Tensor4D, maxc as tf.Tensor4D];
  });
}

/**
 * HSV ([B,H,W,1] each) -> RGB [B,H,W,3]. Closed form of torchvision's `_hsv2rgb` sector table:
 * channel n in (R 5, G 3, B 1), k = (n + 6h) mod 6, value v - v s clamp(min(k, 4 - k), 0, 1).
 */
export function hsvToRgb(h: tf.Tensor4D, s: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const k = floorMod(tf.add(tf.mul(h, 6), tf.tensor4d([5, 3, 1], [1, 1, 1, 3])), 6);
    const c = tf.clipByValue(tf.minimum(k, tf.sub(4, k)), 0, 1);
    return tf.sub(v, tf.mul(tf.mul(v, s), c)) as tf.Tensor4D;
  });
}

/** Shift the hue of image b by `shifts[b]` of a turn (torchvision `adjust_hue`, shift in [-0.5, 0.5]). */
export function adjustHue(images: tf.Tensor4D, shifts: ArrayLike<number>): tf.Tensor4D {
  checkBatch(images, shifts.length, 'adjustHue');
  for (const h of Array.from(shifts)) if (!(h >= -0.5 && h <= 0.5)) throw new Error(`adjustHue: shift ${h} not in [-0.5, 0.5]`);
  return tf.tidy(() => {
    const [h, s, v] = rgbToHsv(images);
    return hsvToRgb(floorMod(tf.add(h, perImage(shifts)), 1) as tf.Tensor4D, s, v);
  });
}

/** Grayscale (3 equal channels) for images whose flag is set (all when `flags` is omitted). */
export function grayscale(images: tf.Tensor4D, flags?: ArrayLike<boolean>): tf.Tensor4D {
  if (flags) checkBatch(images, flags.length, 'grayscale');
  return tf.tidy(() => {
    const g = tf.mul(luma(images), tf.ones([1, 1, 1, 3])) as tf.Tensor4D;
    return flags ? selectPerImage(flags, g, images) : g;
  });
}

/** Solarize images whose flag is set (all when omitted): pixels >= threshold become 1 - x. */
export function solarize(images: tf.Tensor4D, flags?: ArrayLike<boolean>, threshold = 0.5): tf.Tensor4D {
  if (flags) checkBatch(images, flags.length, 'solarize');
  return tf.tidy(() => {
    const sol = tf.where(tf.greaterEqual(images, threshold), tf.sub(1, images), images) as tf.Tensor4D;
    return flags ? selectPerImage(flags, sol, images) : sol;
  });
}
