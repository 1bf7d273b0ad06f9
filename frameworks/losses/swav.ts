/**
 * SwAV's swapped prediction loss (Caron et al. 2020, eq. 1-3) for two views, as in its released
 * code (`main_swav.py`) with two crops and no queue: for each view s, the codes q_s = Sinkhorn of
 * that view's prototype scores (no gradient); the other view t predicts them,
 * l(t, s) = -mean_b sum_k q_s log softmax(scores_t / temperature);
 * loss = (l(2, 1) + l(1, 2)) / 2 (the mean over the two swaps). With multi-crop (swavMultiCropLoss)
 * the codes come from the global crops only (SwAV's `crops_for_assign`) and every other crop,
 * global or local, predicts each of them.
 */
import { tf } from '../../engine/tf.ts';
import { customOp } from '../../engine/ops/custom-op.ts';
import { sinkhorn } from './sinkhorn.ts';

export interface SwavLossOptions {
  /** Softmax temperature of the predictions (0.1 in SwAV). */
  temperature: number;
  /** Sinkhorn entropy regularisation (0.05 in SwAV). */
  epsilon: number;
  /** Sinkhorn iterations (3 in SwAV). */
  sinkhornIters: number;
}

/**
 * Codes of a view's scores with no gradient: the Sinkhorn runs inside a custom op (its ops stay
 * off the tape) whose gradient is zero, as `torch.no_grad()` around SwAV's assignment.
 */
export function swavCodes(scores: tf.Tensor2D, epsilon: number, iters: number): tf.Tensor2D {
  const op = customOp<tf.Tensor2D>(([s]) => ({
    value: sinkhorn(s as tf.Tensor2D, epsilon, iters),
    gradFunc: (dy) => [tf.zerosLike(dy)],
  }));
  return op(scores);
}

/** -mean_b sum_k q log softmax(scores / temperature). */
function predictionLoss(codes: tf.Tensor2D, scores: tf.Tensor2D, temperature: number): tf.Scalar {
  const logp = tf.logSoftmax(tf.div(scores, temperature));
  return tf.neg(tf.mean(tf.sum(tf.mul(codes, logp), 1))) as tf.Scalar;
}

/** scores1, scores2 [B, K]: each view's normalised projections times the normalised prototypes. */
export function swavLoss(scores1: tf.Tensor2D, scores2: tf.Tensor2D, o: SwavLossOptions): tf.Scalar {
  const q1 = swavCodes(scores1, o.epsilon, o.sinkhornIters);
  const q2 = swavCodes(scores2, o.epsilon, o.sinkhornIters);
  return tf.mul(tf.add(predictionLoss(q1, scores2, o.temperature), predictionLoss(q2, scores1, o.temperature)), 0.5) as tf.Scalar;
}

/**
 * Multi-crop: `scores` [B, K] of every crop, the first `assigned` (the global crops) those whose
 * codes are computed; as SwAV's training loop, loss = mean over assigned s of
 * (sum over t != s of l(t, s)) / (crops - 1). Two crops and two assigned: exactly `swavLoss`.
 */
export function swavMultiCropLoss(scores: readonly tf.Tensor2D[], assigned: number, o: SwavLossOptions): tf.Scalar {
  if (!(Number.isInteger(assigned) && assigned >= 1 && assigned <= scores.length))
    throw new Error(`swavMultiCropLoss: ${assigned} assigned crops of ${scores.length}`);
  if (scores.length < 2) throw new Error(`swavMultiCropLoss: needs two crops or more, got ${scores.length}`);
  if (scores.length === 2 && assigned === 2) return swavLoss(scores[0], scores[1], o);
  const perCode: tf.Scalar[] = [];
  for (let s = 0; s < assigned; s++) {
    const q = swavCodes(scores[s], o.epsilon, o.sinkhornIters);
    const others = scores.filter((_, t) => t !== s).map((x) => predictionLoss(q, x, o.temperature));
    perCode.push(tf.div(tf.addN(others), scores.length - 1) as tf.Scalar);
  }
  return tf.div(tf.addN(perCode), assigned) as tf.Scalar;
}
