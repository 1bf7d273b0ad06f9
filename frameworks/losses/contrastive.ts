/**
 * MoCo v3's contrastive loss (InfoNCE). ctr(q, k) = CrossEntropy(q_n k_n^T / tau, labels = 0..N-1)
 * x 2 tau, with q_n, k_n the L2-normalised rows. The 2 tau factor makes the gradient scale
 * independent of tau; at chance (all logits equal) ctr = 2 tau ln N, so the symmetrised loss
 * starts near 4 tau ln N.
 */
import { tf } from '../../engine/tf.ts';
import { batchedMatmul } from '../../engine/ops/matmul.ts';
import { l2Normalize } from '../../engine/ops/normalize.ts';

export function contrastiveLoss(q: tf.Tensor2D, k: tf.Tensor2D, tau: number): tf.Scalar {
  const n = q.shape[0];
  const logits = tf.div(batchedMatmul(l2Normalize(q), l2Normalize(k), true), tau) as tf.Tensor2D;
  // mean over rows of logsumexp(row) - row[i]
  const lse = tf.logSumExp(logits, 1);
  const diag = tf.sum(tf.mul(logits, tf.eye(n)), 1);
  return tf.mul(tf.mean(tf.sub(lse, diag)), 2 * tau) as tf.Scalar;
}
