/**
 * BatchNorm over all axes but the last (channels last), PyTorch nn.BatchNorm1d semantics on
 * [N, C] (and [N, L, C]), and nn.BatchNorm2d semantics on NHWC [N, H, W, C] (statistics over N, H, W):
 * training normalises with the batch's biased variance and updates the running statistics with
 * momentum 0.1 and the *unbiased* variance; eval uses the running statistics; eps 1e-5;
 * `affine: false` has no gamma/beta. The running statistics are buffers: exported, not counted as
 * parameters, never trained, never averaged by an EMA.
 */
import { tf } from '../tf.ts';
import { Module, type Param, type TorchEntry } from '../module.ts';
import { ones, zeros } from '../init.ts';
import { isRecomputing } from '../ops/checkpoint.ts';

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

export class BatchNorm extends Module {
  readonly weight?: Param;
  readonly bias?: Param;
  readonly runningMean: Param;
  readonly runningVar: Param;
  readonly eps: number;
  readonly momentum: number;
  /** PyTorch's num_batches_tracked. */
  numBatchesTracked = 0;

  constructor(
    readonly name: string,
    readonly dim: number,
    opts: BatchNormOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    if (opts.affine ?? true) {
      this.weight = this.addParam(`${name}.weight`, [dim], ones(dim));
      this.bias = this.addParam(`${name}.bias`, [dim], zeros(dim));
    }
    this.runningMean = this.addParam(`${name}.running_mean`, [dim], zeros(dim), { trainable: false, kind: 'buffer' });
    this.runningVar = this.addParam(`${name}.running_var`, [dim], ones(dim), { trainable: false, kind: 'buffer' });
  }

  /** x [..., C]; statistics over every axis but the last. */
  apply(x: tf.Tensor, training: boolean): tf.Tensor {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    let y: tf.Tensor;
    if (training) {
      const n = x.size / this.dim;
      if (n < 2) throw new Error(`${this.name}: BatchNorm in training needs more than 1 value per channel, got ${n}`);
      const mean = tf.mean(x, axes);
      const centred = tf.sub(x, mean);
      const variance = tf.mean(tf.square(centred), axes);
      y = tf.mul(centred, tf.rsqrt(tf.add(variance, this.eps)));
      if (!isRecomputing()) this.updateRunning(mean, variance, n);
    } else {
      y = tf.mul(tf.sub(x, this.runningMean.variable), tf.rsqrt(tf.add(this.runningVar.variable, this.eps)));
    }
    if (this.weight) y = tf.mul(y, this.weight.variable);
    if (this.bias) y = tf.add(y, this.bias.variable);
    return y;
  }

  private updateRunning(mean: tf.Tensor, variance: tf.Tensor, n: number): void {
    const m = this.momentum;
    tf.tidy(() => {
      // Ops recorded here do not reach the loss, so no gradient flows through the running statistics.
      const unbiased = tf.mul(variance, n / (n - 1));
      this.runningMean.variable.assign(tf.add(tf.mul(this.runningMean.variable, 1 - m), tf.mul(mean, m)));
      this.runningVar.variable.assign(tf.add(tf.mul(this.runningVar.variable, 1 - m), tf.mul(unbiased, m)));
    });
    this.numBatchesTracked += 1;
  }

  protected override ownTorchEntries(): TorchEntry[] {
    const entries = super.ownTorchEntries();
    entries.push({
      name: `${this.name}.num_batches_tracked`,
      shape: [],
      dtype: 'I64',
      read: async () => BigInt64Array.of(BigInt(this.numBatchesTracked)),
      write: (d) => {
        this.numBatchesTracked = Number((d as BigInt64Array)[0]);
      },
    });
    return entries;
  }
}
