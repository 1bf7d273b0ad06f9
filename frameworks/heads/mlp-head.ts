/**
 * The MLP heads of MoCo v3 (and BYOL-style methods), built like the official `_build_mlp`:
 * each layer is a Linear without bias; hidden layers add BatchNorm (affine) + ReLU; the output
 * layer adds BatchNorm without gamma/beta when `lastBn`. Parameter names follow PyTorch's
 * nn.Sequential indices (`head.0.weight`, `head.1.running_mean`, ...).
 * With `bn: false` (the paper's "heads w/o BN" ablation; SwAV's heads) there is no BatchNorm at
 * all, and the Linears get a bias instead, as a plain MLP would have.
 * `outBias` overrides the output Linear's bias alone: BYOL's heads (BN in the hidden layers only)
 * end in a Linear with a bias (Grill et al. 2020: haiku Linear, bias on). A hidden Linear followed
 * by BatchNorm gets no bias in any case: BN subtracts the batch mean, so such a bias has no effect.
 */
import { tf } from '../../engine/tf.ts';
import { Module } from '../../engine/module.ts';
import { Linear } from '../../engine/layers/linear.ts';
import { BatchNorm } from '../../engine/layers/batch-norm.ts';
import type { Rng } from '../../engine/rng.ts';

export interface MlpHeadOptions {
  layers: number;
  inDim: number;
  hiddenDim: number;
  outDim: number;
  /** BatchNorm in the hidden layers (and last, if lastBn). */
  bn: boolean;
  /** BatchNorm without affine after the output Linear. */
  lastBn: boolean;
  /** Bias on the output Linear; default `!bn` (MoCo v3: none with BN, a plain MLP's without). */
  outBias?: boolean;
}

export class MlpHead extends Module {
  private readonly stages: { linear: Linear; bn?: BatchNorm; relu: boolean }[] = [];

  constructor(
    readonly name: string,
    readonly opts: MlpHeadOptions,
    rng: Rng,
  ) {
    super();
    let idx = 0;
    for (let l = 0; l < opts.layers; l++) {
      const inD = l === 0 ? opts.inDim : opts.hiddenDim;
      const last = l === opts.layers - 1;
      const outD = last ? opts.outDim : opts.hiddenDim;
      const bias = last ? (opts.outBias ?? !opts.bn) : !opts.bn;
      const linear = this.addChild(new Linear(`${name}.${idx++}`, inD, outD, rng, { bias }));
      let bn: BatchNorm | undefined;
      if (opts.bn && (!last || opts.lastBn)) bn = this.addChild(new BatchNorm(`${name}.${idx++}`, outD, { affine: !last }));
      if (!last) idx++; // the ReLU's index in nn.Sequential
      this.stages.push({ linear, bn, relu: !last });
    }
  }

  apply(x: tf.Tensor, training: boolean): tf.Tensor2D {
    let h = x;
    for (const s of this.stages) {
      h = s.linear.apply(h);
      if (s.bn) h = s.bn.apply(h, training);
      if (s.relu) h = tf.relu(h);
    }
    return h as tf.Tensor2D;
  }
}
