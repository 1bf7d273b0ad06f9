/** LayerNorm over the last axis, PyTorch nn.LayerNorm semantics (biased variance, eps inside the sqrt). */
import { tf } from '../tf.ts';
import { Module, type Param } from '../module.ts';
import { ones, zeros } from '../init.ts';
import { customOp } from '../ops/custom-op.ts';
import { nativeOpsActive } from '../backend.ts';
import { runNative } from '../kernels/native-ops.ts';

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
  if (nativeOpsActive() && (gamma === undefined) === (beta === undefined)) {
    return gamma ? nativeAffine(eps)(x, gamma, beta!) : nativePlain(eps)(x);
  }
  return layerNormStock(x, eps, gamma, beta);
}

/** Fused native LayerNorm: one pass forward (saving mean and 1/std), one pass backward. */
const affineOps = new Map<number, (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor>();
const plainOps = new Map<number, (x: tf.Tensor) => tf.Tensor>();

function nativeAffine(eps: number) {
  let op = affineOps.get(eps);
  if (!op) {
    op = customOp(([x, gamma, beta], save) => {
      const [y, mean, rstd] = runNative('SslLayerNormFwd', { x, gamma, beta }, { eps }) as tf.Tensor[];
      save([x, mean, rstd, gamma]);
      return {
        value: y,
        gradFunc: (dy, [sx, sm, sr, sg]) =>
          runNative('SslLayerNormBwd', { dy, x: sx, mean: sm, rstd: sr, gamma: sg }, { affine: true }) as tf.Tensor[],
      };
    });
    affineOps.set(eps, op);
  }
  return op;
}

function nativePlain(eps: number) {
  let op = plainOps.get(eps);
  if (!op) {
    op = customOp(([x], save) => {
      const [y, mean, rstd] = runNative('SslLayerNormFwd', { x }, { eps }) as tf.Tensor[];
      save([x, mean, rstd]);
      return {
        value: y,
        gradFunc: (dy, [sx, sm, sr]) => runNative('SslLayerNormBwd', { dy, x: sx, mean: sm, rstd: sr }, { affine: false }) as tf.Tensor[],
      };
    });
    plainOps.set(eps, op);
  }
  return op;
}

/** LayerNorm composed of stock tfjs ops (autodiff gradient). */
export function layerNormStock(x: tf.Tensor, eps: number, gamma?: tf.Tensor, beta?: tf.Tensor): tf.Tensor {
  const axis = x.rank - 1;
  const mean = tf.mean(x, axis, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axis, true);
  let y = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
  if (gamma) y = tf.mul(y, gamma);
  if (beta) y = tf.add(y, beta);
  return y;
}
