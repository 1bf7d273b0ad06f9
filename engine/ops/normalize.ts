/** Row-wise L2 normalisation, as PyTorch's F.normalize(x, dim=1): x / max(||x||, eps). */
import { tf } from '../tf.ts';

export function l2Normalize(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), eps)) as tf.Tensor2D);
}
