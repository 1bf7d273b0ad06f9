/** LayerNorm over the last axis, PyTorch nn.LayerNorm semantics (biased variance, eps inside the sqrt). */
import { tf } from '../tf.ts';
import { Module, Param } from '../module.ts';
import { ones, zeros } from '../init.ts';

export class LayerNorm extends Module {
  readonly weight?: Param;
  readonly bias?: Param;

  constructor(
    readonly name: string,
    readonly dim: number,
    readonly eps = 1e-5,
    affine = true,
  ) {
    super();
    if (affine) {
      this.weight = this.addParam(`${name}.weight`, [dim], ones(dim));
      this.bias = this.addParam(`${name}.bias`, [dim], zeros(dim));
    }
  }

  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.eps, this.weight?.variable, this.bias?.variable);
  }
}

/** (x - mean) / sqrt(var + eps) * gamma + beta over the last axis. */
export function layerNorm(x: tf.Tensor, eps: number, gamma?: tf.Tensor, beta?: tf.Tensor): tf.Tensor {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axis, true);
  let y = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
  if (gamma) y = tf.mul(y, gamma);
  if (beta) y = tf.add(y, beta);
  return y;
}
