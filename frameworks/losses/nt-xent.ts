/**
 * SimCLR's NT-Xent loss (Chen et al. 2020, eq. 1) over the 2N views of a batch of N images.
 * The 2N projections are L2-normalised; for each of them (an anchor) the logits are its cosine
 * similarities to the other 2N - 1 views over tau, the positive being the other view of the same
 * image and the 2N - 2 remaining views the negatives; the self-similarity is masked out (SimCLR's
 * code subtracts a large constant from it, as here). Loss = mean over the 2N anchors of the
 * cross-entropy. No 2 tau factor (that is MoCo v3's convention, not SimCLR's). At chance (all
 * logits equal) the loss is ln(2N - 1).
 */
import { tf } from '../../engine/tf.ts';
import { batchedMatmul } from '../../engine/ops/matmul.ts';
import { l2Normalize } from '../../engine/ops/normalize.ts';

/** Subtracted from a self-similarity logit: exp(-1e9) is exactly 0 in float32. */
const MASK = 1e9;

/** z1, z2 [N, d]: projections of the two views (row i of each from image i). */
export function ntXentLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, tau: number): tf.Scalar {
  const n = z1.shape[0];
  const z = l2Normalize(tf.concat([z1, z2], 0) as tf.Tensor2D);
  const logits = tf.div(batchedMatmul(z, z, true), tau) as tf.Tensor2D;
  // the diagonal mask is built on the device (no 2N x 2N array in JS)
  const idx = tf.range(0, 2 * n, 1, 'int32');
  const self = tf.cast(tf.equal(tf.reshape(idx, [-1, 1]), tf.reshape(idx, [1, -1])), 'float32');
  const lse = tf.logSumExp(tf.sub(logits, tf.mul(self, MASK)), 1);
  // positive of anchor i is view i + N (mod 2N): the same cosine for both anchors of an image
  const [a, b] = tf.split(z, 2, 0);
  const pos = tf.div(tf.sum(tf.mul(a, b), 1), tau);
  return tf.mean(tf.sub(lse, tf.concat([pos, pos], 0))) as tf.Scalar;
}
