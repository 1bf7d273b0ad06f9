/**
 * The trainable part of a linear probe: K linear classifiers (one per learning rate of a sweep)
 * on the same frozen features, trained in one pass.
 *
 *   features [B, D] -> optional BatchNorm1d(D, affine=False) (shared) -> head_k: Linear(D, C)
 *
 * Each head starts from the same init, weight N(0, 0.01) and bias 0 (main_lincls.py), so the
 * heads differ only by their learning rate, and has its own SGD (momentum buffers). One step takes
 * the gradient of the stacked per-head mean cross-entropies: head k's parameters reach only loss
 * k, so each head gets exactly the gradient it would get alone. The BatchNorm has no parameters;
 * its running statistics depend only on the features, so one BN serves every head (training mode
 * updates them, evaluation uses them; the MAE / MoCo v3 BN-before-head variant).
 */
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { normal } from '../engine/init.ts';
import { Linear } from '../engine/layers/linear.ts';
import { BatchNorm } from '../engine/layers/batch-norm.ts';
import type { Param } from '../engine/module.ts';
import { Sgd } from '../optim/sgd.ts';

export interface ProbeHeadsOptions {
  inDim: number;
  numClasses: number;
  /** Number of heads (one per learning rate). */
  count: number;
  /** BatchNorm1d(affine=False) on the features before the heads. */
  batchNorm: boolean;
  /** Seed of the weight init (every head gets the same weights). */
  seed: number;
  momentum: number;
  weightDecay: number;
  /** Std of the weight init (default 0.01). */
  initStd?: number;
}

/** Mean softmax cross-entropy of logits [B, C] against one-hot targets [B, C], a scalar. */
export function crossEntropy(logits: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
}

export class ProbeHeads {
  readonly bn?: BatchNorm;
  readonly heads: Linear[];
  readonly numClasses: number;
  private readonly optims: Sgd[];

  constructor(readonly opts: ProbeHeadsOptions) {
    const { inDim, numClasses, count } = opts;
    for (const [k, v] of Object.entries({ inDim, numClasses, count })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`ProbeHeads: ${k} must be a positive integer, got ${v}`);
    }
    this.numClasses = numClasses;
    if (opts.batchNorm) this.bn = new BatchNorm('head_bn', inDim, { affine: false });
    const std = opts.initStd ?? 0.01;
    this.heads = Array.from(
      { length: count },
      () => new Linear('head', inDim, numClasses, new Rng(opts.seed), { init: (n) => normal(n, std, new Rng(opts.seed)) }),
    );
    this.optims = this.heads.map((h) => new Sgd(h.trainableParams(), { momentum: opts.momentum, weightDecay: opts.weightDecay }));
  }

  /** Features through the (optional) BatchNorm: batch statistics and running-stat update in training, running statistics otherwise. */
  private normalise(features: tf.Tensor2D, training: boolean): tf.Tensor2D {
    return this.bn ? (this.bn.apply(features, training) as tf.Tensor2D) : features;
  }

  /**
   * One SGD step of every head on `features` [B, D] with `labels`; head k uses `lrs[k]`. Returns
   * the per-head mean cross-entropy before the step, a [K] tensor the caller disposes.
   */
  trainStep(features: tf.Tensor2D, labels: Int32Array, lrs: readonly number[]): tf.Tensor1D {
    const [b, d] = features.shape;
    if (d !== this.opts.inDim) throw new Error(`ProbeHeads: features have dimension ${d}, the heads ${this.opts.inDim}`);
    if (labels.length !== b) throw new Error(`ProbeHeads: ${labels.length} labels for ${b} features`);
    if (lrs.length !== this.heads.length) throw new Error(`ProbeHeads: ${lrs.length} learning rates for ${this.heads.length} heads`);
    return tf.tidy(() => {
      const x = this.normalise(features, true);
      const target = tf.oneHot(tf.tensor1d(labels, 'int32'), this.numClasses);
      const params: Param[] = this.heads.flatMap((h) => h.trainableParams());
      // the variables themselves are the differentiated inputs: gradients reach the heads only
      const { value, grads } = tf.valueAndGrads(() => tf.stack(this.heads.map((h) => crossEntropy(h.apply(x), target))) as tf.Tensor1D)(
        params.map((p) => p.variable),
      );
      const byParam = new Map(params.map((p, i) => [p, grads[i]] as const));
      this.heads.forEach((h, k) => {
        this.optims[k].step(new Map(h.trainableParams().map((p) => [p, byParam.get(p)!] as const)), lrs[k]);
      });
      return value;
    });
  }

  /** Number of correct predictions of each head on `features` (evaluation mode), `chunk` rows at a time. */
  async correct(features: tf.Tensor2D, labels: Int32Array, chunk = 1024): Promise<number[]> {
    const [n, d] = features.shape;
    if (labels.length !== n) throw new Error(`ProbeHeads: ${labels.length} labels for ${n} features`);
    const counts = new Array<number>(this.heads.length).fill(0);
    for (let start = 0; start < n; start += chunk) {
      const c = Math.min(chunk, n - start);
      const pred = tf.tidy(() => {
        const x = this.normalise(tf.slice(features, [start, 0], [c, d]), false);
        return tf.stack(this.heads.map((h) => tf.argMax(h.apply(x), 1)));
      });
      const p = await pred.data();
      pred.dispose();
      for (let k = 0; k < this.heads.length; k++) for (let i = 0; i < c; i++) if (p[k * c + i] === labels[start + i]) counts[k]++;
    }
    return counts;
  }

  dispose(): void {
    for (const o of this.optims) o.dispose();
    for (const h of this.heads) h.dispose();
    this.bn?.dispose();
  }
}
