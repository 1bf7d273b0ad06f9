/**
 * Vision Transformer (Dosovitskiy et al.; MoCo v3's `vits.py`), with timm's parameter names.
 * images [B, H, W, 3] -> patch embedding + position embedding (+ [CLS]) -> blocks -> final LN ->
 * [CLS] token, or the paper's no-[CLS] ablations (global average pool with or without final LN).
 * Optional stochastic depth (`config.dropPath`, timm's linear rule over the blocks) in training;
 * its per-sample decisions come from a stream seeded by the build seed, separate from the init
 * stream, so the weights of a seed do not depend on the rate.
 *
 * `config.finetune` (Table 5's transfer path, a DeiT / timm ViT) makes every parameter trainable:
 * 'pretrained' keeps the values of the pre-training build (the caller loads the pre-trained weights
 * over them), 'scratch' is a from-scratch DeiT ViT whose values are then redrawn with timm's init
 * (./deit-init.ts) from a stream of its own. Without it (pre-training) the random patch projection
 * and the sin-cos table are frozen.
 */
import { tf } from '../../engine/tf.ts';
import { Module, type Param } from '../../engine/module.ts';
import { LayerNorm } from '../../engine/layers/layer-norm.ts';
import { normal, truncNormal } from '../../engine/init.ts';
import { checkpoint } from '../../engine/ops/checkpoint.ts';
import { Rng } from '../../engine/rng.ts';
import type { Backbone } from '../backbone.ts';
import { type VitConfig, gridSize } from './config.ts';
import { sincosPosEmbed } from './pos-embed.ts';
import { PatchEmbed } from './patch-embed.ts';
import { Block } from './block.ts';
import { dropPathRates } from './drop-path.ts';
import { deitInit } from './deit-init.ts';

/** Mixed into the build seed for the drop-path stream (any constant unrelated to the init stream). */
const DROP_PATH_SEED_SALT = 0x64726f70; // "drop"
/** Mixed into the build seed for the from-scratch DeiT init stream (`finetune: 'scratch'`). */
const DEIT_INIT_SEED_SALT = 0x64656974; // "deit"

export class VisionTransformer extends Module implements Backbone {
  readonly patchEmbed: PatchEmbed;
  readonly clsToken?: Param;
  readonly posEmbed?: Param;
  readonly blocks: Block[];
  readonly norm?: LayerNorm;
  readonly outDim: number;
  readonly imageSize: number;
  /** LayerNorm only; ViT-BN's BatchNorm couples a batch's images. */
  readonly samplesIndependent: boolean;
  /** Draws the drop-path decisions of every training forward pass, in call order. */
  private readonly dropRng: Rng;
  /** Sin-cos position tables of other grids than the build's (local crops), by grid side. */
  private readonly otherGrids = new Map<number, tf.Tensor>();

  constructor(
    readonly name: string,
    readonly config: VitConfig,
    seed: number,
  ) {
    super();
    const c = config;
    const rng = new Rng(seed);
    this.dropRng = new Rng((seed ^ DROP_PATH_SEED_SALT) >>> 0);
    const dpr = dropPathRates(c.depth, c.dropPath);
    const grid = gridSize(c);
    const withCls = c.pooling === 'cls';
    // the fine-tuning builds freeze nothing
    const trainAll = c.finetune !== undefined;
    this.outDim = c.dim;
    this.imageSize = c.imageSize;
    this.samplesIndependent = !c.mlpBatchNorm;
    this.patchEmbed = this.addChild(new PatchEmbed(c.inChannels, c.patchSize, c.dim, c.randomPatchProj && !trainAll, rng));
    if (withCls) this.clsToken = this.addParam('cls_token', [1, 1, c.dim], normal(c.dim, 1e-6, rng));
    const tokens = grid * grid + (withCls ? 1 : 0);
    if (c.posEmbed === 'sincos') {
      this.posEmbed = this.addParam('pos_embed', [1, tokens, c.dim], sincosPosEmbed(grid, c.dim, withCls), { trainable: trainAll });
    } else if (c.posEmbed === 'learned') {
      this.posEmbed = this.addParam('pos_embed', [1, tokens, c.dim], truncNormal(tokens * c.dim, 0.02, rng));
    }
    this.blocks = Array.from({ length: c.depth }, (_, i) =>
      this.addChild(
        new Block(
          `blocks.${i}`,
          { dim: c.dim, heads: c.heads, mlpRatio: c.mlpRatio, lnEps: c.lnEps, mlpBatchNorm: c.mlpBatchNorm, dropPath: dpr[i] },
          rng,
        ),
      ),
    );
    if (c.pooling !== 'gap') this.norm = this.addChild(new LayerNorm('norm', c.dim, c.lnEps));
    if (c.finetune === 'scratch') deitInit(this, new Rng((seed ^ DEIT_INIT_SEED_SALT) >>> 0));
  }

  /**
   * The position embedding at another grid than the build's (multi-crop's local crops): the fixed
   * sin-cos table of that grid, computed once per grid. A learned or trainable table would need
   * interpolating, which this ViT does not do: an error naming the option.
   */
  private posEmbedAt(side: number): tf.Tensor {
    const p = this.config.patchSize;
    const expects = `${this.name}: expects ${this.imageSize}x${this.imageSize} images, got ${side}x${side}`;
    if (side % p !== 0) throw new Error(`${expects}: not a whole number of ${p}-px patches`);
    if (this.config.posEmbed !== 'sincos' || this.posEmbed!.trainable)
      throw new Error(
        `${expects}: another side needs the position embedding at another grid, and only the fixed sin-cos one is ` +
          `(posEmbed '${this.config.posEmbed}'${this.posEmbed?.trainable ? ', trainable' : ''})`,
      );
    const grid = side / p;
    let t = this.otherGrids.get(grid);
    if (!t) {
      const withCls = this.config.pooling === 'cls';
      t = tf.keep(tf.tensor3d(sincosPosEmbed(grid, this.config.dim, withCls), [1, grid * grid + (withCls ? 1 : 0), this.config.dim]));
      this.otherGrids.set(grid, t);
    }
    return t;
  }

  apply(images: tf.Tensor4D, training: boolean): tf.Tensor2D {
    const [b, h, w] = images.shape;
    if (h !== w) throw new Error(`${this.name}: expects square images, got ${h}x${w}`);
    // another side than the build's: multi-crop's local crops (their own sin-cos grid), or an error
    const otherSide = h !== this.imageSize;
    const pos = this.posEmbed && (otherSide ? this.posEmbedAt(h) : this.posEmbed.variable);
    if (otherSide && h % this.config.patchSize !== 0)
      throw new Error(`${this.name}: expects ${this.imageSize}x${this.imageSize} images, got ${h}x${w}: not a whole number of patches`);
    const d = this.config.dim;
    let x: tf.Tensor = this.patchEmbed.apply(images);
    // [CLS] broadcast over the batch by an add (its gradient one sum over the batch; tile's is a slice and an add per image)
    if (this.clsToken) x = tf.concat([tf.add(this.clsToken.variable, tf.zeros([b, 1, d])), x], 1);
    if (pos) x = tf.add(x, pos);
    for (const blk of this.blocks) {
      // drawn here, outside the checkpointed call: a recomputation reuses the same scales
      const scales = blk.sampleDropPath(this.dropRng, b, training);
      x = checkpoint((h) => blk.apply(h, training, scales), x, blk.variables);
    }
    if (this.config.pooling === 'cls') {
      // LayerNorm is per token: normalising the [CLS] row alone gives the same numbers without a pass over the others
      return this.norm!.apply(tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, d]), [b, d])) as tf.Tensor2D;
    }
    if (this.norm) x = this.norm.apply(x);
    return tf.mean(x, 1) as tf.Tensor2D;
  }

  dispose(): void {
    for (const t of this.otherGrids.values()) t.dispose();
    this.otherGrids.clear();
    super.dispose();
  }
}
