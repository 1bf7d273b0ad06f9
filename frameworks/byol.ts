/**
 * BYOL (Grill et al. 2020) as benchmarked in the MoCo v3 paper (sec. 6.1, Table 4).
 * Online network = backbone + projector + predictor; target network = EMA copy of backbone +
 * projector. Each step: EMA update of the target with the cosine schedule
 * m = 1 - (1 - m0)(cos(pi t / T) + 1) / 2, target projections z'1, z'2 of both views (no
 * gradient, outside the tape), online predictions p1, p2, and
 * loss = (2 - 2 cos(p1, z'2)) + (2 - 2 cos(p2, z'1)), each term a batch mean (BYOL's symmetrised loss).
 *
 * Heads (the paper's appendix, "faithfully follow [BYOL]"): BN in the hidden layers of both MLPs,
 * not in their output layers. Hidden Linear -> BN (affine) -> ReLU with no Linear bias (BN would
 * cancel it); the output Linear keeps its bias, as BYOL's does. Widths follow the paper's heads:
 * projector 3 layers D -> 4096 -> 4096 -> 256 (BYOL's own is 2 layers; `projLayers: 2`),
 * predictor 2 layers 256 -> 4096 -> 256.
 *
 * BN batching: each view is forwarded on its own (option (ii) of the appendix: "the code in BYOL
 * adopts the latter"), target included; the target network's BN uses batch statistics, as in BYOL.
 * Order: like MoCo v3's code, the EMA update for iteration t happens at its start (before the
 * targets), which equals BYOL's update after step t - 1's optimiser step.
 */
import { tf } from '../engine/tf.ts';
import type { Module, Param } from '../engine/module.ts';
import { Rng } from '../engine/rng.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { MlpHead } from './heads/mlp-head.ts';
import { Encoder } from './encoder.ts';
import { backboneOnViews } from './views.ts';
import { byolRegressionLoss } from './losses/byol.ts';
import { MomentumTeacher } from './momentum.ts';
import { type Static, Type } from '@sinclair/typebox';
import { ConfigSchema, schemaDefaults } from '../core/plugin.ts';
import { headFields, momentumFields } from './config-fields.ts';
import { type Framework, type FrameworkBuildContext, type StepContext, type StepOutput, defineFramework, type Views } from './framework.ts';

export const ByolSchema = ConfigSchema({
  /**
   * m0: initial EMA coefficient of the target network. 0.99 as MoCo v3's ViT momentum encoder (the
   * paper's m0); BYOL's own ResNet recipe starts at 0.996. 'cosine' (BYOL's schedule) or 'constant'.
   */
  ...momentumFields(0.99),
  ...headFields(3, 4096, 256),
  predictorLayers: Type.Integer({ minimum: 1, default: 2, description: 'predictor layers (2, the paper and BYOL)' }),
});
export type ByolConfig = Static<typeof ByolSchema>;

export const BYOL_VIT_DEFAULTS: ByolConfig = schemaDefaults(ByolSchema);

/** What BYOL's `prepare` hands its loss: the target network's projections z'1, z'2. */
export type ByolTargets = { t1: tf.Tensor2D; t2: tf.Tensor2D };

export class Byol implements Framework<ByolTargets> {
  readonly name = 'byol';
  readonly backbone: Backbone;
  readonly projector: MlpHead;
  readonly predictor: MlpHead;
  readonly targetBackbone: Backbone;
  readonly targetProjector: MlpHead;
  private readonly online: Encoder;
  private readonly target: Encoder;
  private readonly teacher: MomentumTeacher;

  constructor(
    readonly config: ByolConfig,
    ctx: FrameworkBuildContext,
  ) {
    const c = config;
    const rng = new Rng(ctx.seed ^ 0xb10b);
    // BN in the hidden layers only; the output Linear has a bias (BYOL)
    const head = (name: string, layers: number, inDim: number) =>
      new MlpHead(name, { layers, inDim, hiddenDim: c.mlpDim, outDim: c.outDim, bn: true, lastBn: false, outBias: true }, rng);
    this.backbone = ctx.buildBackbone(ctx.backboneName, ctx.backboneOptions, ctx.seed);
    this.projector = head('head', c.projLayers, this.backbone.outDim);
    this.predictor = head('predictor', c.predictorLayers, c.outDim);
    this.targetBackbone = ctx.buildBackbone(ctx.backboneName, ctx.backboneOptions, ctx.seed);
    this.targetProjector = head('head', c.projLayers, this.backbone.outDim);
    this.online = new Encoder(this.backbone, this.projector);
    this.target = new Encoder(this.targetBackbone, this.targetProjector);
    this.teacher = new MomentumTeacher(this.online, this.target, c.m0, c.momentumSchedule);
  }

  trainableParams(): Param[] {
    return [...this.online.trainableParams(), ...this.predictor.trainableParams()];
  }

  /** EMA update, then the target projections [z'1, z'2] (no gradient: outside the tape). */
  prepare({ global: [view1, view2] }: Views, ctx: StepContext): ByolTargets {
    this.teacher.update(ctx);
    return tf.tidy(() => {
      const [g1, g2] = backboneOnViews(this.targetBackbone, [view1, view2], true, ctx.chunk);
      return { t1: this.targetProjector.apply(g1, true), t2: this.targetProjector.apply(g2, true) };
    });
  }

  /** The heads of one view's features: BatchNorm statistics per crop batch. */
  private prediction(feats: tf.Tensor2D): tf.Tensor2D {
    return this.predictor.apply(this.projector.apply(feats, true), true);
  }

  onlineViews({ global }: Views): tf.Tensor4D[] {
    return [...global];
  }

  loss(views: Views, targets: ByolTargets, ctx: StepContext): StepOutput {
    return this.headLoss(backboneOnViews(this.backbone, this.onlineViews(views), true), targets, ctx);
  }

  /** Each view's prediction regressed on the other view's target projection. */
  headLoss([f1, f2]: tf.Tensor2D[], { t1, t2 }: ByolTargets, _ctx: StepContext): StepOutput {
    const loss = tf.add(byolRegressionLoss(this.prediction(f1), t2), byolRegressionLoss(this.prediction(f2), t1)) as tf.Scalar;
    return { loss, features: f1 };
  }

  modules(): Record<string, Module> {
    return { online_encoder: this.online, target_encoder: this.target, predictor: this.predictor };
  }

  lastStats(): Record<string, number> {
    return { momentum: this.teacher.m };
  }

  dispose(): void {
    this.online.dispose();
    this.target.dispose();
    this.predictor.dispose();
  }
}

export const byol = defineFramework({
  name: 'byol',
  title: 'BYOL (EMA target, predictor, normalised MSE)',
  schema: ByolSchema,
  build: (config, ctx) => new Byol(config, ctx),
});
