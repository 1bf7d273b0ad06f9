/**
 * Fully connected layer, PyTorch nn.Linear semantics. The weight is kept as [in, out] so that the
 * forward product needs no transpose; it is exported as PyTorch's [out, in].
 */
import { tf } from '../tf.ts';
import { Module, type Param, type TorchEntry, directEntry, transposedEntry } from '../module.ts';
import { type LinearActivation, linear2d } from '../ops/linear.ts';
import { xavierUniform, zeros } from '../init.ts';
import type { Rng } from '../rng.ts';

export interface LinearOptions {
  bias?: boolean;
  trainable?: boolean;
  /** Weight init; default Xavier-uniform over (in, out). */
  init?: (n: number) => Float32Array;
}

export class Linear extends Module {
  readonly weight: Param;
  readonly bias?: Param;

  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    opts: LinearOptions = {},
  ) {
    super();
    const n = inFeatures * outFeatures;
    const w = opts.init ? opts.init(n) : xavierUniform(inFeatures, outFeatures, n, rng);
    const trainable = opts.trainable ?? true;
    this.weight = this.addParam(`${name}.weight`, [inFeatures, outFeatures], w, { trainable });
    if (opts.bias ?? true) this.bias = this.addParam(`${name}.bias`, [outFeatures], zeros(outFeatures), { trainable });
  }

  /**
   * x [..., in] -> [..., out]; `act` 'gelu' applies GELU after the bias, `residual` [..., out] is
   * added after it (one fused kernel each on the native path: engine/ops/linear.ts).
   */
  apply(x: tf.Tensor, epi: { act?: LinearActivation; residual?: tf.Tensor } = {}): tf.Tensor {
    const lead = x.shape.slice(0, -1);
    const rows = lead.reduce((s, d) => s * d, 1);
    const y = linear2d(
      tf.reshape(x, [rows, this.inFeatures]),
      this.weight.variable as tf.Tensor2D,
      this.bias?.variable as tf.Tensor1D | undefined,
      { act: epi.act, residual: epi.residual ? (tf.reshape(epi.residual, [rows, this.outFeatures]) as tf.Tensor2D) : undefined },
    );
    return lead.length === 1 ? y : tf.reshape(y, [...lead, this.outFeatures]);
  }

  protected override ownTorchEntries(): TorchEntry[] {
    const e = [transposedEntry(this.weight)];
    if (this.bias) e.push(directEntry(this.bias));
    return e;
  }
}
