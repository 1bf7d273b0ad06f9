/**
 * SwAV's Sinkhorn-Knopp equipartition (Caron et al. 2020, sec. 3.1 and its released code's
 * `distributed_sinkhorn`), as a pure function on a batch of prototype scores.
 *
 * SwAV works on Q = exp(scores / eps)^T, [K prototypes, B samples]: normalise Q to total 1, then
 * `iters` times make every prototype row sum to 1/K and then every sample column sum to 1/B;
 * finally multiply by B, so that each sample's code sums to 1. Here the same steps run on the
 * untransposed [B, K] matrix (rows are samples): per-prototype sums are over axis 0, per-sample
 * sums over axis 1. Since the last step normalises the samples, each sample's code sums to 1
 * exactly; the prototype marginals (B/K each after the final x B) hold only approximately after
 * a few iterations and converge as iterations grow.
 *
 * The global maximum is subtracted before exp: it cancels in the first normalisation (so the
 * result is the same) and exp cannot overflow. SwAV's scores are cosines (|s| <= 1), so exp spans
 * at most e^(2/eps) = e^40 at eps 0.05, well inside float32; scores spread over more than about
 * 87 eps could underflow a whole prototype to 0 and give NaN codes. Non-finite scores give
 * non-finite codes, never an exception. No gradient is taken through this function (the caller
 * stops it).
 */
import { tf } from '../../engine/tf.ts';

/** scores [B, K] -> codes [B, K], each row a distribution over the K prototypes. */
export function sinkhorn(scores: tf.Tensor2D, epsilon: number, iters: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [b, k] = scores.shape;
    let q: tf.Tensor = tf.exp(tf.div(tf.sub(scores, tf.max(scores)), epsilon));
    q = tf.div(q, tf.sum(q));
    for (let it = 0; it < iters; it++) {
      q = tf.div(q, tf.mul(tf.sum(q, 0, true), k)); // each prototype: total 1/K
      q = tf.div(q, tf.mul(tf.sum(q, 1, true), b)); // each sample: total 1/B
    }
    return tf.mul(q, b) as tf.Tensor2D;
  });
}
