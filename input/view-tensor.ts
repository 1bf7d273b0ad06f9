/** A batch of view bytes from the streaming pipeline (NHWC RGB, 0..255) as an engine tensor in [0, 1]. */
import { tf } from '../engine/tf.ts';

export function viewTensor(bytes: Uint8Array, batch: number, size: number): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.tensor4d(Int32Array.from(bytes), [batch, size, size, 3], 'int32'), 255) as tf.Tensor4D);
}
