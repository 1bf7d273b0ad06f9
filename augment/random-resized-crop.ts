/**
 * RandomResizedCrop: torchvision's box sampler (`RandomResizedCrop.get_params`) in JS, per image,
 * and a batched crop-and-resize of each image's box to one output size.
 *
 * Sampler (torchvision): up to 10 attempts of target area ~ U[scale] * H * W and aspect (w/h) ~
 * exp(U[log ratio]); w = round(sqrt(area * aspect)), h = round(sqrt(area / aspect)) with Python's
 * round-half-to-even; the first that fits gets a uniform integer position. Otherwise the fallback:
 * a centre crop of the whole image clipped to the ratio range.
 *
 * Resize: bilinear, half-pixel centres, no antialias, sampling only inside the box (torchvision
 * crops first, then resizes the crop), see `bilinear.ts`.
 */
import type { tf } from '../engine/tf.ts';
import type { Rng } from '../engine/rng.ts';
import { type AxisSamples, bilinearAxis, resampleBilinear } from './bilinear.ts';
import { roundHalfEven } from './rounding.ts';

/** An integer box: rows [top, top + height), columns [left, left + width). */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

export interface SampledCropBox extends CropBox {
  /** True when all 10 attempts failed and the centre-crop fallback was used. */
  fallback: boolean;
}

export const DEFAULT_RATIO: readonly [number, number] = [3 / 4, 4 / 3];

/** torchvision `RandomResizedCrop.get_params` for an image of `height` x `width`. */
export function sampleResizedCropBox(
  rng: Rng,
  height: number,
  width: number,
  scale: readonly [number, number],
  ratio: readonly [number, number] = DEFAULT_RATIO,
): SampledCropBox {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w, fallback: false };
    }
  }
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    w = width;
    h = roundHalfEven(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    h = height;
    w = roundHalfEven(h * Math.max(ratio[0], ratio[1]));
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w, fallback: true };
}

/** Each box's row and column sample maps for a crop-and-resize of [H, W] images to outH x outW, checked against the image. */
export function cropAxes(
  boxes: readonly CropBox[],
  H: number,
  W: number,
  outH: number,
  outW: number,
): { rows: AxisSamples[]; cols: AxisSamples[] } {
  const rows = boxes.map((bx) => {
    if (bx.top < 0 || bx.height < 1 || bx.top + bx.height > H) throw new Error(`cropAndResize: box rows out of [0, ${H})`);
    return bilinearAxis(bx.height, outH, outH, 0, bx.top);
  });
  const cols = boxes.map((bx) => {
    if (bx.left < 0 || bx.width < 1 || bx.left + bx.width > W) throw new Error(`cropAndResize: box columns out of [0, ${W})`);
    return bilinearAxis(bx.width, outW, outW, 0, bx.left);
  });
  return { rows, cols };
}

/**
 * Crop each image b of `images` [B,H,W,C] to `boxes[b]` and resize it bilinearly to
 * `outSize` (a number for square, or [outH, outW]). Returns a new tensor.
 */
export function cropAndResize(images: tf.Tensor4D, boxes: readonly CropBox[], outSize: number | readonly [number, number]): tf.Tensor4D {
  const [B, H, W] = images.shape;
  if (boxes.length !== B) throw new Error(`cropAndResize: ${boxes.length} boxes for a batch of ${B}`);
  const [outH, outW] = typeof outSize === 'number' ? [outSize, outSize] : outSize;
  const { rows, cols } = cropAxes(boxes, H, W, outH, outW);
  return resampleBilinear(images, rows, cols);
}
