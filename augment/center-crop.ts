/**
 * Evaluation transform: torchvision `Resize(round(outSize / cropFraction))` (shorter side to that
 * size, longer side int(size * long / short)), `CenterCrop(outSize)` (offset
 * round((resized - outSize) / 2)), then ImageNet normalisation. 224 / 256 gives the standard
 * resize 256 / centre crop 224. Resize is bilinear with half-pixel centres, no antialias, and only
 * the kept pixels are computed (identical to resizing everything and slicing).
 */
import { tf } from '../engine/tf.ts';
import { bilinearAxis, resampleBilinear } from './bilinear.ts';
import { normalize } from './normalize.ts';
import { roundHalfEven } from './rounding.ts';

export interface CenterCropGeometry {
  /** Size after the shorter-side resize. */
  resizedHeight: number;
  resizedWidth: number;
  /** Offset of the centre crop in the resized image. */
  top: number;
  left: number;
}

export function centerCropGeometry(height: number, width: number, outSize: number, cropFraction = 224 / 256): CenterCropGeometry {
  if (!(cropFraction > 0 && cropFraction <= 1)) throw new Error(`centerCropResize: cropFraction ${cropFraction} not in (0, 1]`);
  const short = roundHalfEven(outSize / cropFraction);
  const [rh, rw] = height <= width ? [short, Math.floor((short * width) / height)] : [Math.floor((short * height) / width), short];
  return {
    resizedHeight: rh,
    resizedWidth: rw,
    top: roundHalfEven((rh - outSize) / 2),
    left: roundHalfEven((rw - outSize) / 2),
  };
}

/** Resize + centre crop, values kept in [0,1] (not normalised). */
export function centerCropResizeRaw(images: tf.Tensor4D, outSize: number, cropFraction = 224 / 256): tf.Tensor4D {
  const [B, H, W] = images.shape;
  const g = centerCropGeometry(H, W, outSize, cropFraction);
  // the identity (no resize, no crop: every output pixel is its source pixel with weight 1 and its neighbour with weight 0)
  if (g.resizedHeight === H && g.resizedWidth === W && H === outSize && W === outSize) return tf.clone(images);
  const rows = bilinearAxis(H, g.resizedHeight, outSize, g.top);
  const cols = bilinearAxis(W, g.resizedWidth, outSize, g.left);
  return resampleBilinear(images, new Array(B).fill(rows), new Array(B).fill(cols));
}

/** Resize + centre crop + ImageNet normalisation: the evaluation view. */
export function centerCropResize(images: tf.Tensor4D, outSize: number, cropFraction = 224 / 256): tf.Tensor4D {
  return tf.tidy(() => normalize(centerCropResizeRaw(images, outSize, cropFraction)));
}
