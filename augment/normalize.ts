/** Per-channel normalisation with the ImageNet statistics (torchvision `Normalize`). */
import { tf } from '../engine/tf.ts';

export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** (x - mean) / std per channel of [B,H,W,3]. Returns a new tensor. */
export function normalize(
  images: tf.Tensor4D,
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
): tf.Tensor4D {
  const C = images.shape[3];
  if (mean.length !== C || std.length !== C) throw new Error(`normalize: ${mean.length}/${std.length} stats for ${C} channels`);
  return tf.tidy(() => tf.div(tf.sub(images, tf.tensor4d([...mean], [1, 1, 1, C])), tf.tensor4d([...std], [1, 1, 1, C])));
}

/** Inverse of `normalize`: x * std + mean. */
export function denormalize(
  images: tf.Tensor4D,
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
): tf.Tensor4D {
  const C = images.shape[3];
  return tf.tidy(() => tf.add(tf.mul(images, tf.tensor4d([...std], [1, 1, 1, C])), tf.tensor4d([...mean], [1, 1, 1, C])));
}
