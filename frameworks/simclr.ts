/**
 * SimCLR (Chen et al. 2020) as benchmarked in the MoCo v3 paper (sec. 6.1, Table 4): one encoder
 * (backbone + projection head), no momentum encoder, no predictor; NT-Xent over the 2N views.
 *
 * Projection head: the paper's setting for every framework, a 3-layer MLP D -> 4096 -> 4096 -> 256
 * with BN in all layers, "following SimCLR" (sec. 5): hidden Linear (no bias) -> BN -> ReLU,
 * output Linear (no bias) -> BN without affine, i.e. MoCo v3's projector (MlpHead with lastBn).
 *
 * BN batching: SimCLR's code forwards both crops in one batch (the appendix's option (i), "BN
 * over 4096 x 2 crops"), and so does this framework: the two views are concatenated and go through
 * backbone and head as one batch of 2N, so every BatchNorm (head, ViT-BN, ResNet) normalises over
 * all 2N crops. (MoCo v3 and BYOL forward each view on its own: option (ii).)
 */
import { tf } from '../engine/tf.ts';
import type { Module, Param } from '../engine/module.ts';
import { Rng } from '../engine/rng.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { MlpHead } from './heads/mlp-head.ts';
import { Encoder } from './encoder.ts';
import { ntXentLoss } from './losses/nt-xent.ts';
import { type Static, Type } from '@sinclair/typebox';
import { ConfigSchema, schemaDefaults } from '../core/plugin.ts';
import { headFields } from './config-fields.ts';
import { type Framework, type FrameworkBuildContext, type StepContext, type StepOutput, defineFramework, type Views } from './framework.ts';

export const SimclrSchema = ConfigSchema({
  /**
   * NT-Xent temperature. 0.1 is the default of SimCLR's released code (`--temperature` in
   * google-research/simclr run.py) and the value of its README's ImageNet pre-training command at
   * batch 4096 ("the default hyperparameters in our paper"); the MoCo v3 paper does not state it.
   */
  tau: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'NT-Xent temperature (SimCLR code default 0.1)' }),
  ...headFields(3, 4096, 256),
});
export type SimclrConfig = Static<typeof SimclrSchema>;

export const SIMCLR_VIT_DEFAULTS: SimclrConfig = schemaDefaults(SimclrSchema);

export class Simclr implements Framework<Record<string, never>> {
  readonly name = 'simclr';
  readonly backbone: Backbone;
  readonly projector: MlpHead;
  private readonly encoder: Encoder;

  constructor(
    readonly config: SimclrConfig,
    ctx: FrameworkBuildContext,
  ) {
    const c = config;
    const rng = new Rng(ctx.seed ^ 0x5eed);
    this.backbone = ctx.buildBackbone(ctx.backboneName, ctx.backboneOptions, ctx.seed);
    this.projector = new MlpHead(
      'head',
      { layers: c.projLayers, inDim: this.backbone.outDim, hiddenDim: c.mlpDim, outDim: c.outDim, bn: true, lastBn: true },
      rng,
    );
    this.encoder = new Encoder(this.backbone, this.projector);
  }

  trainableParams(): Param[] {
    return this.encoder.trainableParams();
  }

  /** Nothing: SimCLR's loss needs no work outside the tape. */
  prepare(): Record<string, never> {
    return {};
  }

  onlineViews({ global }: Views): tf.Tensor4D[] {
    return [...global];
  }

  loss(views: Views, prepared: Record<string, never>, ctx: StepContext): StepOutput {
    // option (i): both views in one batch of 2N through backbone and head
    const feats = this.backbone.apply(tf.concat(this.onlineViews(views), 0) as tf.Tensor4D, true);
    return this.headLoss(tf.split(feats, 2, 0) as tf.Tensor2D[], prepared, ctx);
  }

  /** Both views' features as one batch of 2N through the projector (its BN over the 2N), then NT-Xent. */
  headLoss([f1, f2]: tf.Tensor2D[], _prepared: Record<string, never>, _ctx: StepContext): StepOutput {
    const z = this.projector.apply(tf.concat([f1, f2], 0) as tf.Tensor2D, true);
    const [z1, z2] = tf.split(z, 2, 0) as tf.Tensor2D[];
    return { loss: ntXentLoss(z1, z2, this.config.tau), features: f1 };
  }

  modules(): Record<string, Module> {
    return { encoder: this.encoder };
  }

  lastStats(): Record<string, number> {
    return {};
  }

  dispose(): void {
    this.encoder.dispose();
  }
}

export const simclr = defineFramework({
  name: 'simclr',
  title: 'SimCLR (NT-Xent, both views in one BN batch)',
  schema: SimclrSchema,
  build: (config, ctx) => new Simclr(config, ctx),
});
