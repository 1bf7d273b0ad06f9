/**
 * BYOL's regression loss (Grill et al. 2020, eq. 2): the normalised mean squared error between the
 * online prediction p and the target projection z', ||p/||p|| - z'/||z'|| ||^2 = 2 - 2 cos(p, z'),
 * averaged over the batch. The target carries no gradient: it comes from the target network,
 * computed outside the gradient tape. BYOL symmetrises by summing the loss over both view orders
 * (the framework does that).
 */
import { tf } from '../../engine/tf.ts';
import { l2Normalize } from '../../engine/ops/normalize.ts';

/** p, z [N, d] -> mean over rows of 2 - 2 cos(p_i, z_i). */
export function byolRegressionLoss(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  const cos = tf.sum(tf.mul(l2Normalize(p), l2Normalize(z)), 1);
  return tf.mean(tf.sub(2, tf.mul(cos, 2))) as tf.Scalar;
}
