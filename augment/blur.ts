/**
 * Gaussian blur with one sigma per image, separable, REFLECT padding (torchvision
 * `gaussian_blur`: `F.pad(mode='reflect')`, i.e. mirrored without repeating the edge pixel:
 * ... x2 x1 | x0 x1 x2 ...). Kernel: torchvision's `_get_gaussian_kernel1d`, taps at integer
 * offsets -r..r, weights exp(-t^2 / (2 sigma^2)) normalised to sum 1. Blurring the rows then the
 * columns with the 1-D kernel equals torchvision's 2-D outer-product kernel on the padded image.
 *
 * Batched: the batch is folded into the channel axis ([B,H,W,C] -> [1,H,W,B*C]) so that one
 * depthwise convolution per axis applies each image's own kernel.
 */
import { tf } from '../engine/tf.ts';

/**
 * Kernel size for a side of `side` pixels, BYOL's rule (`kernel_size = side // 10`, made odd as
 * 2 * (k // 2) + 1): 23 at 224 px, 3 at 32 px, 1 (no blur) under 20 px.
 */
export function blurKernelSize(side: number, fraction = 0.1): number {
  const k = Math.floor(side * fraction + 1e-9);
  return 2 * Math.floor(k / 2) + 1;
}

/** torchvision `_get_gaussian_kernel1d(size, sigma)`. */
export function gaussianKernel1d(sigma: number, size: number): Float32Array {
  if (!(size >= 1 && size % 2 === 1)) throw new Error(`gaussianKernel1d: size ${size} must be odd and >= 1`);
  if (!(sigma > 0)) throw new Error(`gaussianKernel1d: sigma ${sigma} must be > 0`);
  const r = (size - 1) / 2;
  const w = new Float64Array(size);
  let sum = 0;
  for (let t = 0; t < size; t++) {
    const x = (t - r) / sigma;
    w[t] = Math.exp(-0.5 * x * x);
    sum += w[t];
  }
  return Float32Array.from(w, (v) => v / sum);
}

/** Index of padded position i (may be < 0 or >= n) under reflect padding, for any pad width. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

function reflectIndices(n: number, r: number): Int32Array {
  const idx = new Int32Array(n + 2 * r);
  for (let i = 0; i < n + 2 * r; i++) idx[i] = reflectIndex(i - r, n);
  return idx;
}

/** Blur image b of `images` [B,H,W,C] with `sigmas[b]` and a `kernelSize` (odd) kernel. Returns a new tensor. */
export function gaussianBlur(images: tf.Tensor4D, sigmas: ArrayLike<number>, kernelSize: number): tf.Tensor4D {
  const [B, H, W, C] = images.shape;
  if (sigmas.length !== B) throw new Error(`gaussianBlur: ${sigmas.length} sigmas for a batch of ${B}`);
  if (kernelSize === 1) return tf.clone(images);
  const r = (kernelSize - 1) / 2;
  const BC = B * C;
  // filter[t, ch] for ch = b * C + c (depthwise filter layout [kh, kw, inChannels, multiplier])
  const taps = new Float32Array(kernelSize * BC);
  for (let b = 0; b < B; b++) {
    const k = gaussianKernel1d(sigmas[b], kernelSize);
    for (let t = 0; t < kernelSize; t++) for (let c = 0; c < C; c++) taps[t * BC + b * C + c] = k[t];
  }
  return tf.tidy(() => {
    const folded = tf.reshape(tf.transpose(images, [1, 2, 0, 3]), [1, H, W, BC]) as tf.Tensor4D;
    const vert = tf.depthwiseConv2d(padReflect(folded, 1, r), tf.tensor4d(taps, [kernelSize, 1, BC, 1]), 1, 'valid');
    const both = tf.depthwiseConv2d(padReflect(vert, 2, r), tf.tensor4d(taps, [1, kernelSize, BC, 1]), 1, 'valid');
    return tf.transpose(tf.reshape(both, [H, W, B, C]), [2, 0, 1, 3]) as tf.Tensor4D;
  });
}

/**
 * Reflect-pad `r` pixels on both sides of `axis` (1 rows, 2 columns). tf.mirrorPad (fast on every
 * backend) where it is defined, r < side; a gather with repeated reflection beyond that.
 */
function padReflect(x: tf.Tensor4D, axis: 1 | 2, r: number): tf.Tensor4D {
  const n = x.shape[axis];
  if (r < n) {
    const pads: [number, number][] = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    pads[axis] = [r, r];
    return tf.mirrorPad(x, pads, 'reflect');
  }
  return tf.gather(x, tf.tensor1d(reflectIndices(n, r), 'int32'), axis);
}
