/** A pre-norm Transformer block: x + attn(norm1(x)), x + mlp(norm2(x)), with timm's names. */
import { tf } from '../../engine/tf.ts';
import { Module } from '../../engine/module.ts';
import { Linear } from '../../engine/layers/linear.ts';
import { LayerNorm } from '../../engine/layers/layer-norm.ts';
import { BatchNorm } from '../../engine/layers/batch-norm.ts';
import { gelu } from '../../engine/ops/gelu.ts';
import { qkvAttention } from '../../engine/ops/attention.ts';
import { xavierUniform } from '../../engine/init.ts';
import { Rng } from '../../engine/rng.ts';

/**
 * Multi-head self-attention with timm's fused projection `qkv` (weight [3D, D] in PyTorch, kept
 * here as [D, 3D]) and `proj`. q, k and v are initialised as three separate D x D matrices, each
 * Xavier-uniform as its own matrix (as MoCo v3 does). One GEMM computes all three, and the
 * attention core reads them from its output in place.
 */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;

  constructor(readonly name: string, readonly dim: number, readonly heads: number, rng: Rng) {
    super();
    const init = () => {
      const parts = [0, 1, 2].map(() => xavierUniform(dim, dim, dim * dim, rng)); // q, k, v, each [in, out]
      const w = new Float32Array(3 * dim * dim);
      for (let i = 0; i < dim; i++) parts.forEach((part, j) => w.set(part.subarray(i * dim, (i + 1) * dim), i * 3 * dim + j * dim));
      return w;
    };
    this.qkv = this.addChild(new Linear(`${name}.qkv`, dim, 3 * dim, rng, { init }));
    this.proj = this.addChild(new Linear(`${name}.proj`, dim, dim, rng));
  }

  apply(x: tf.Tensor): tf.Tensor {
    return this.proj.apply(qkvAttention(this.qkv.apply(x), this.heads));
  }
}

export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(name: string, dim: number, hidden: number, rng: Rng) {
    super();
    this.fc1 = this.addChild(new Linear(`${name}.fc1`, dim, hidden, rng));
    this.fc2 = this.addChild(new Linear(`${name}.fc2`, hidden, dim, rng));
  }

  apply(x: tf.Tensor): tf.Tensor {
    return this.fc2.apply(gelu(this.fc1.apply(x)));
  }
}

export interface BlockOptions {
  dim: number;
  heads: number;
  mlpRatio: number;
  lnEps: number;
  /** ViT-BN: BatchNorm replaces the LayerNorm in front of the MLP. */
  mlpBatchNorm: boolean;
}

export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly norm2: LayerNorm | BatchNorm;
  readonly mlp: Mlp;

  constructor(name: string, o: BlockOptions, rng: Rng) {
    super();
    this.norm1 = this.addChild(new LayerNorm(`${name}.norm1`, o.dim, o.lnEps));
    this.attn = this.addChild(new Attention(`${name}.attn`, o.dim, o.heads, rng));
    this.norm2 = this.addChild(o.mlpBatchNorm ? new BatchNorm(`${name}.norm2`, o.dim) : new LayerNorm(`${name}.norm2`, o.dim, o.lnEps));
    this.mlp = this.addChild(new Mlp(`${name}.mlp`, o.dim, o.dim * o.mlpRatio, rng));
  }

  apply(x: tf.Tensor, training: boolean): tf.Tensor {
    const h = tf.add(x, this.attn.apply(this.norm1.apply(x)));
    const n2 = this.norm2 instanceof BatchNorm ? this.norm2.apply(h, training) : this.norm2.apply(h);
    return tf.add(h, this.mlp.apply(n2));
  }
}
