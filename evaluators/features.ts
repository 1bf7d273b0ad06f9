/**
 * Frozen-backbone features of an image set: eval mode (BatchNorm running statistics), the
 * evaluation transform (centre crop, resize, ImageNet normalisation), in batches.
 */
import { tf } from '../engine/tf.ts';
import type { Backbone } from '../backbones/backbone.ts';
import type { ImageSet } from '../data/image-set.ts';
import { isFileSet, type AnyImageSet } from '../data/file-image-set.ts';
import { centerCropResize } from '../augment/policy.ts';

export interface FeatureOptions {
  viewSize: number;
  cropFraction: number;
  batch?: number;
}

/** NHWC pixels in [0, 1] with 1 or 3 channels as an RGB tensor (grey repeated to 3 channels). */
export function rgbTensor(pixels: Float32Array, shape: [number, number, number, number], source: string): tf.Tensor4D {
  const c = shape[3];
  if (c !== 1 && c !== 3) throw new Error(`${source}: images must have 1 or 3 channels, got ${c}`);
  return tf.tidy(() => {
    const x = tf.tensor4d(pixels, shape);
    // grey to RGB by a broadcast product with ones (exact; tile is an element-wise loop on wasm)
    return c === 3 ? x : (tf.mul(x, tf.ones([1, 1, 1, 3])) as tf.Tensor4D);
  });
}

/** images [n, h, w, c] of a set, from index `start`, as RGB tensors in [0, 1]. */
export function imageTensor(set: ImageSet, start: number, n: number): tf.Tensor4D {
  const px = set.height * set.width * set.channels;
  return rgbTensor(set.images.subarray(start * px, (start + n) * px), [n, set.height, set.width, set.channels], set.name);
}

/** Features of every image of a set, in batches; a file-backed set is decoded a batch at a time. */
export async function extractFeatures(backbone: Backbone, set: AnyImageSet, opts: FeatureOptions): Promise<tf.Tensor2D> {
  const batch = opts.batch ?? 256;
  const parts: tf.Tensor2D[] = [];
  try {
    for (let i = 0; i < set.count; i += batch) {
      const n = Math.min(batch, set.count - i);
      const pixels = isFileSet(set) ? await set.read(i, n) : undefined;
      parts.push(
        tf.tidy(() => {
          const x = pixels ? rgbTensor(pixels, [n, set.height, set.width, set.channels], set.name) : imageTensor(set as ImageSet, i, n);
          return backbone.apply(centerCropResize(x, opts.viewSize, opts.cropFraction), false);
        }),
      );
    }
    return tf.concat(parts, 0) as tf.Tensor2D;
  } finally {
    tf.dispose(parts);
  }
}
