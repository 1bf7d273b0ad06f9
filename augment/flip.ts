/** Horizontal flip (mirror the width axis) of the images whose flag is set. */
import { tf } from '../engine/tf.ts';
import { selectPerImage } from './batch-select.ts';

/** Flip image b when `flags[b]` (all images when `flags` is omitted). Returns a new tensor. */
export function flipHorizontal(images: tf.Tensor4D, flags?: ArrayLike<boolean>): tf.Tensor4D {
  if (flags && flags.length !== images.shape[0]) {
    throw new Error(`flipHorizontal: ${flags.length} flags for a batch of ${images.shape[0]}`);
  }
  // tf.image.flipLeftRight, not tf.reverse: both exist on every backend, reverse is ~10x slower on wasm
  return tf.tidy(() => {
    const flipped = tf.image.flipLeftRight(images);
    return flags ? selectPerImage(flags, flipped, images) : flipped;
  });
}
