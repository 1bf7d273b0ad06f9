/** A pre-norm Transformer block: x + attn(norm1(x)), x + mlp(norm2(x)), with timm's names. */
import { tf } from '../../engine/tf.ts';
import { Module, TorchEntry } from '../../engine/module.ts';
import { Linear } from '../../engine/layers/linear.ts';
import { LayerNorm } from '../../engine/layers/layer-norm.ts';
import { BatchNorm } from '../../engine/layers/batch-norm.ts';
import { gelu } from '../../engine/ops/gelu.ts';
import { qkvAttention } from '../../engine/ops/attention.ts';
import { affine2d } from '../../engine/ops/matmul.ts';
import { xavierUniform } from '../../engine/init.ts';
import { Rng } from '../../engine/rng.ts';

/**
 * Multi-head self-attention. q, k and v are separate D x D Linears here (each Xavier-initialised
 * as its own D x D matrix, as MoCo v3 does); they are exported as timm's fused
 * `qkv.weight` [3D, D] / `qkv.bias` [3D]. The forward pass runs them as that one fused product
 * (one GEMM instead of three, and the attention core reads q, k, v from it in place).
 */
export class Attention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly proj: Linear;

  constructor(readonly name: string, readonly dim: number, readonly heads: number, rng: Rng) {
    super();
    const init = (n: number) => xavierUniform(dim, dim, n, rng);
    this.q = this.addChild(new Linear(`${name}.q`, dim, dim, rng, { init }));
    this.k = this.addChild(new Linear(`${name}.k`, dim, dim, rng, { init }));
    this.v = this.addChild(new Linear(`${name}.v`, dim, dim, rng, { init }));
    this.proj = this.addChild(new Linear(`${name}.proj`, dim, dim, rng));
  }

  apply(x: tf.Tensor): tf.Tensor {
    const [b, t, d] = x.shape;
    const parts = [this.q, this.k, this.v];
    const w = tf.concat(parts.map((l) => l.weight.variable), 1) as tf.Tensor2D;
    const bias = tf.concat(parts.map((l) => l.bias!.variable), 0) as tf.Tensor1D;
    const qkv = tf.reshape(affine2d(tf.reshape(x, [b * t, d]) as tf.Tensor2D, w, bias), [b, t, 3 * d]);
    return this.proj.apply(qkvAttention(qkv, this.heads));
  }

  override torchEntries(): TorchEntry[] {
    const d = this.dim;
    const parts = [this.q, this.k, this.v];
    const fused: TorchEntry[] = [
      {
        name: `${this.name}.qkv.weight`,
        shape: [3 * d, d],
        dtype: 'F32',
        read: () => concat(parts.map((l) => l.torchEntries()[0].read() as Float32Array)),
        write: (data) => parts.forEach((l, i) => l.torchEntries()[0].write((data as Float32Array).subarray(i * d * d, (i + 1) * d * d))),
      },
      {
        name: `${this.name}.qkv.bias`,
        shape: [3 * d],
        dtype: 'F32',
        read: () => concat(parts.map((l) => l.torchEntries()[1].read() as Float32Array)),
        write: (data) => parts.forEach((l, i) => l.torchEntries()[1].write((data as Float32Array).subarray(i * d, (i + 1) * d))),
      },
    ];
    return [...fused, ...this.proj.torchEntries()];
  }
}

function concat(arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
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
