/**
 * MoCo v3 (Chen, Xie, He 2021), Algorithm 1 with the official release's details:
 * base encoder = backbone + projector MLP; query path adds the predictor MLP; momentum encoder =
 * EMA copy of backbone + projector (no predictor). Each step: momentum update with the cosine
 * schedule, keys k1, k2 from the momentum encoder (no gradient), queries q1, q2, and
 * loss = ctr(q1, k2) + ctr(q2, k1). The heads see each view on its own, so BatchNorm statistics
 * are per crop batch (the appendix's option (ii)); the backbone takes both views as one batch when
 * it has no batch statistics (a ViT, as the official code does), else one view at a time.
 *
 * The keys are computed before the gradient tape: the momentum update reads only the encoder's
 * parameters, which computing the queries does not change, so this order gives the same numbers
 * as queries -> update -> keys while keeping the keys' activations off the tape.
 */
import { tf } from '../engine/tf.ts';
import type { Module, Param } from '../engine/module.ts';
import { Rng } from '../engine/rng.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { MlpHead } from './heads/mlp-head.ts';
import { contrastiveLoss } from './losses/contrastive.ts';
import { MomentumTeacher, momentumAt } from './momentum.ts';
import { Encoder } from './encoder.ts';
import { backboneOnViews } from './views.ts';
import { type Static, Type } from '@sinclair/typebox';
import { ConfigSchema, schemaDefaults } from '../core/plugin.ts';
import { headFields, momentumFields } from './config-fields.ts';
import { type Framework, type FrameworkBuildContext, type StepContext, type StepOutput, defineFramework, type Views } from './framework.ts';

/** MoCo v3's fields, with the ViT recipe's values as defaults (the R-50 recipe sets its own). */
export const MocoV3Schema = ConfigSchema({
  tau: Type.Number({ exclusiveMinimum: 0, default: 0.2, description: 'softmax temperature (0.2 for ViT, 1.0 for R-50)' }),
  ...momentumFields(0.99),
  predictor: Type.Boolean({ default: true, description: 'prediction MLP on the query path (ablation: off)' }),
  headBn: Type.Boolean({ default: true, description: 'BatchNorm in the MLP heads (ablation: off)' }),
  ...headFields(3, 4096, 256),
  predictorLastBn: Type.Boolean({
    default: true,
    description: "BatchNorm (no affine) after the predictor's output layer (ViT: yes; R-50: no)",
  }),
});
export type MocoV3Config = Static<typeof MocoV3Schema>;

export const MOCOV3_VIT_DEFAULTS: MocoV3Config = schemaDefaults(MocoV3Schema);

/** m = 1 - 0.5 (1 + cos(pi t / T)) (1 - m0) (the schedule lives in momentum.ts, shared with BYOL). */
export const mocoMomentum = momentumAt;

/** What MoCo v3's `prepare` hands its loss: the momentum encoder's keys of both views. */
export type MocoKeys = { k1: tf.Tensor2D; k2: tf.Tensor2D };

export class MocoV3 implements Framework<MocoKeys> {
  readonly name = 'mocov3';
  readonly backbone: Backbone;
  readonly projector: MlpHead;
  readonly predictor?: MlpHead;
  readonly momentumBackbone: Backbone;
  readonly momentumProjector: MlpHead;
  private readonly base: Encoder;
  private readonly momentum: Encoder;
  private readonly teacher: MomentumTeacher;

  constructor(
    readonly config: MocoV3Config,
    ctx: FrameworkBuildContext,
  ) {
    const c = config;
    const rng = new Rng(ctx.seed ^ 0x5eed);
    this.backbone = ctx.buildBackbone(ctx.backboneName, ctx.backboneOptions, ctx.seed);
    const head = (name: string, layers: number, inDim: number, lastBn: boolean) =>
      new MlpHead(name, { layers, inDim, hiddenDim: c.mlpDim, outDim: c.outDim, bn: c.headBn, lastBn: c.headBn && lastBn }, rng);
    this.projector = head('head', c.projLayers, this.backbone.outDim, true);
    if (c.predictor) this.predictor = head('predictor', 2, c.outDim, c.predictorLastBn);
    this.momentumBackbone = ctx.buildBackbone(ctx.backboneName, ctx.backboneOptions, ctx.seed);
    this.momentumProjector = head('head', c.projLayers, this.backbone.outDim, true);
    this.base = new Encoder(this.backbone, this.projector);
    this.momentum = new Encoder(this.momentumBackbone, this.momentumProjector);
    this.teacher = new MomentumTeacher(this.base, this.momentum, c.m0, c.momentumSchedule);
  }

  trainableParams(): Param[] {
    return [...this.base.trainableParams(), ...(this.predictor?.trainableParams() ?? [])];
  }

  /** The momentum update, then the keys of both views (no gradient: outside the tape). */
  prepare({ global: [view1, view2] }: Views, ctx: StepContext): MocoKeys {
    this.teacher.update(ctx);
    return tf.tidy(() => {
      const [g1, g2] = backboneOnViews(this.momentumBackbone, [view1, view2], true, ctx.chunk);
      return { k1: this.momentumProjector.apply(g1, true), k2: this.momentumProjector.apply(g2, true) };
    });
  }

  /** The projector (and predictor) of one view's features: BatchNorm statistics per crop batch. */
  private query(feats: tf.Tensor2D): tf.Tensor2D {
    const z = this.projector.apply(feats, true);
    return this.predictor ? this.predictor.apply(z, true) : z;
  }

  onlineViews({ global }: Views): tf.Tensor4D[] {
    return [...global];
  }

  loss(views: Views, keys: MocoKeys, ctx: StepContext): StepOutput {
    return this.headLoss(backboneOnViews(this.backbone, this.onlineViews(views), true), keys, ctx);
  }

  /** Queries of both views' features against the other view's keys (Alg. 1's symmetric loss). */
  headLoss([f1, f2]: tf.Tensor2D[], { k1, k2 }: MocoKeys, _ctx: StepContext): StepOutput {
    const q1 = this.query(f1);
    const q2 = this.query(f2);
    const loss = tf.add(contrastiveLoss(q1, k2, this.config.tau), contrastiveLoss(q2, k1, this.config.tau)) as tf.Scalar;
    return { loss, features: f1 };
  }

  modules(): Record<string, Module> {
    const m: Record<string, Module> = { base_encoder: this.base, momentum_encoder: this.momentum };
    if (this.predictor) m.predictor = this.predictor;
    return m;
  }

  lastStats(): Record<string, number> {
    return { momentum: this.teacher.m };
  }

  dispose(): void {
    this.base.dispose();
    this.momentum.dispose();
    this.predictor?.dispose();
  }
}

export const mocov3 = defineFramework({
  name: 'mocov3',
  title: 'MoCo v3',
  schema: MocoV3Schema,
  build: (config, ctx) => new MocoV3(config, ctx),
});
