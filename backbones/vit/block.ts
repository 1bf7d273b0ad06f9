/**
 * A pre-norm Transformer block: x + attn(norm1(x)), x + mlp(norm2(x)), with timm's names; in
 * training, each residual branch optionally goes through per-sample drop-path (./drop-path.ts).
 */
import { tf } from '../../engine/tf.ts';
import { Module } from '../../engine/module.ts';
import { Linear } from '../../engine/layers/linear.ts';
import { LayerNorm } from '../../engine/layers/layer-norm.ts';
import { BatchNorm } from '../../engine/layers/batch-norm.ts';
import { qkvAttention } from '../../engine/ops/attention.ts';
import { type LinearParams, normAttention, normMlp, type NormParams, preNormFused } from '../../engine/ops/pre-norm.ts';
import { xavierUniform } from '../../engine/init.ts';
import type { Rng } from '../../engine/rng.ts';
import { checkDropPathRate, dropPath, sampleDropPathScales } from './drop-path.ts';

/**
 * Multi-head self-attention with timm's fused projection `qkv` (weight [3D, D] in PyTorch, kept
 * here as [D, 3D]) and `proj`. q, k and v are initialised as three separate D x D matrices, each
 * Xavier-uniform as its own matrix (as MoCo v3 does). One GEMM computes all three, and the
 * attention core reads them from its output in place.
 */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;

  constructor(
    readonly name: string,
    readonly dim: number,
    readonly heads: number,
    rng: Rng,
  ) {
    super();
    const init = () => {
      const parts = [0, 1, 2].map(() => xavierUniform(dim, dim, dim * dim, rng)); // q, k, v, each [in, out]
      const w = new Float32Array(3 * dim * dim);
      for (let i = 0; i < dim; i++)
        parts.forEach((part, j) => {
          w.set(part.subarray(i * dim, (i + 1) * dim), i * 3 * dim + j * dim);
        });
      return w;
    };
    this.qkv = this.addChild(new Linear(`${name}.qkv`, dim, 3 * dim, rng, { init }));
    this.proj = this.addChild(new Linear(`${name}.proj`, dim, dim, rng));
  }

  /** The attention branch; with `residual`, residual + branch (the skip connection fused into proj). */
  apply(x: tf.Tensor, residual?: tf.Tensor): tf.Tensor {
    return this.proj.apply(qkvAttention(this.qkv.apply(x), this.heads), { residual });
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

  /** fc2(GELU(fc1(x))), GELU fused into fc1; with `residual`, residual + branch (fused into fc2). */
  apply(x: tf.Tensor, residual?: tf.Tensor): tf.Tensor {
    return this.fc2.apply(this.fc1.apply(x, { act: 'gelu' }), { residual });
  }
}

export interface BlockOptions {
  dim: number;
  heads: number;
  mlpRatio: number;
  lnEps: number;
  /** ViT-BN: BatchNorm replaces the LayerNorm in front of the MLP. */
  mlpBatchNorm: boolean;
  /** Drop-path rate of this block's two residual branches (default 0: never dropped). */
  dropPath?: number;
}

/** Per-sample scales of the two residual branches of one forward pass (see `Block.sampleDropPath`). */
export interface BranchScales {
  attn: Float32Array;
  mlp: Float32Array;
}

export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly norm2: LayerNorm | BatchNorm;
  readonly mlp: Mlp;
  /** Drop-path rate of each residual branch in training. */
  readonly dropPath: number;

  constructor(name: string, o: BlockOptions, rng: Rng) {
    super();
    this.dropPath = o.dropPath ?? 0;
    checkDropPathRate(this.dropPath, `${name}: dropPath`);
    this.norm1 = this.addChild(new LayerNorm(`${name}.norm1`, o.dim, o.lnEps));
    this.attn = this.addChild(new Attention(`${name}.attn`, o.dim, o.heads, rng));
    this.norm2 = this.addChild(o.mlpBatchNorm ? new BatchNorm(`${name}.norm2`, o.dim) : new LayerNorm(`${name}.norm2`, o.dim, o.lnEps));
    this.mlp = this.addChild(new Mlp(`${name}.mlp`, o.dim, o.dim * o.mlpRatio, rng));
  }

  /**
   * The branch scales of one training forward pass over `batch` samples (attention's drawn first,
   * then the MLP's), or undefined when nothing is dropped (eval mode, rate 0). Draw them outside a
   * checkpointed call so that its recomputation sees the same ones.
   */
  sampleDropPath(rng: Rng, batch: number, training: boolean): BranchScales | undefined {
    if (!training || this.dropPath === 0) return undefined;
    return { attn: sampleDropPathScales(rng, batch, this.dropPath), mlp: sampleDropPathScales(rng, batch, this.dropPath) };
  }

  /** `scales` (from `sampleDropPath`) drop / rescale each sample's branches; without them none is dropped. */
  apply(x: tf.Tensor, training: boolean, scales?: BranchScales): tf.Tensor {
    if (!scales && preNormFused()) {
      const fused = this.applyPreNormFused(x);
      if (fused) return fused;
    }
    // without drop-path the skip connections are fused into proj and fc2
    const h = scales ? tf.add(x, dropPath(this.attn.apply(this.norm1.apply(x)), scales.attn)) : this.attn.apply(this.norm1.apply(x), x);
    const n2 = this.norm2 instanceof BatchNorm ? this.norm2.apply(h, training) : this.norm2.apply(h);
    return scales ? tf.add(h, dropPath(this.mlp.apply(n2), scales.mlp)) : this.mlp.apply(n2, h);
  }

  /**
   * The same block under `--precision bf16` with its pre-norm layers fused (engine/ops/pre-norm.ts):
   * LN1 + qkv + attention + proj + its skip connection as one op, LN2 + the MLP + its skip
   * connection as another (the same numbers). Undefined when a layer lacks what the fused ops take
   * (ViT-BN's BatchNorm, a LayerNorm or linear layer without its affine parameters / bias).
   */
  private applyPreNormFused(x: tf.Tensor): tf.Tensor | undefined {
    const n1 = normParams(this.norm1),
      n2 = this.norm2 instanceof LayerNorm ? normParams(this.norm2) : undefined;
    const qkv = linearParams(this.attn.qkv),
      proj = linearParams(this.attn.proj),
      fc1 = linearParams(this.mlp.fc1),
      fc2 = linearParams(this.mlp.fc2);
    if (!n1 || !n2 || !qkv || !proj || !fc1 || !fc2 || x.rank !== 3) return undefined;
    const [b, t, d] = x.shape;
    const h = normAttention(x as tf.Tensor3D, n1, qkv, proj, this.attn.heads);
    return tf.reshape(normMlp(tf.reshape(h, [b * t, d]) as tf.Tensor2D, n2, fc1, fc2), x.shape);
  }
}

function normParams(n: LayerNorm): NormParams | undefined {
  if (!n.weight || !n.bias) return undefined;
  return { gamma: n.weight.variable as tf.Tensor1D, beta: n.bias.variable as tf.Tensor1D, eps: n.eps };
}

function linearParams(l: Linear): LinearParams | undefined {
  if (!l.bias) return undefined;
  return { w: l.weight.variable as tf.Tensor2D, b: l.bias.variable as tf.Tensor1D };
}
