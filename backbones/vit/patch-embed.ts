/**
 * Patch embedding: a p x p, stride-p convolution written as patchify + Linear. Input is NHWC; each
 * patch is flattened in (channel, row, col) order so that the weight maps to PyTorch's conv weight
 * [D, C, p, p] (timm's `patch_embed.proj`). With random patch projection the weight and bias are
 * frozen (no gradient, no update, no decay).
 */
import { tf } from '../../engine/tf.ts';
import { Module, type TorchEntry, directEntry, transposedEntry } from '../../engine/module.ts';
import { Linear } from '../../engine/layers/linear.ts';
import { xavierUniform } from '../../engine/init.ts';
import type { Rng } from '../../engine/rng.ts';

export class PatchEmbed extends Module {
  readonly proj: Linear;

  constructor(
    readonly inChannels: number,
    readonly patchSize: number,
    readonly dim: number,
    frozen: boolean,
    rng: Rng,
  ) {
    super();
    const fanIn = inChannels * patchSize * patchSize;
    this.proj = this.addChild(
      new Linear('patch_embed.proj', fanIn, dim, rng, {
        trainable: !frozen,
        init: (n) => xavierUniform(fanIn, dim, n, rng),
      }),
    );
  }

  /** x [B, H, W, C] -> [B, N, D]. */
  apply(x: tf.Tensor4D): tf.Tensor3D {
    return this.proj.apply(patchify(x, this.patchSize)) as tf.Tensor3D;
  }

  override torchEntries(): TorchEntry[] {
    const p = this.patchSize;
    const e = [transposedEntry(this.proj.weight, undefined, [this.dim, this.inChannels, p, p])];
    if (this.proj.bias) e.push(directEntry(this.proj.bias));
    return e;
  }
}

/** [B, H, W, C] -> [B, (H/p)*(W/p), C*p*p], patches row-major, each flattened as (c, dy, dx). */
export function patchify(x: tf.Tensor4D, p: number): tf.Tensor3D {
  const [b, h, w, c] = x.shape;
  if (h % p !== 0 || w % p !== 0) throw new Error(`patchify: image ${h}x${w} is not a multiple of patch size ${p}`);
  const gh = h / p;
  const gw = w / p;
  const t = tf.transpose(tf.reshape(x, [b, gh, p, gw, p, c]), [0, 1, 3, 5, 2, 4]);
  return tf.reshape(t, [b, gh * gw, c * p * p]);
}
