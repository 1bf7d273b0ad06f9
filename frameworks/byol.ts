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
import { byolRegressionLoss } from './losses/byol.ts';
import { copyParams, emaUpdate, momentumAt, pairParams, type MomentumSchedule } from './momentum.ts';
import { configError, positiveInt } from './validate.ts';
import type { Framework, FrameworkBuildContext, FrameworkFactory, StepContext, StepOutput } from './framework.ts';

export interface ByolConfig {
  /**
   * Initial EMA coefficient m0 of the target network. 0.99 as MoCo v3's ViT momentum encoder (the
   * paper's m0); BYOL's own ResNet recipe starts at 0.996.
   */
  m0: number;
  /** 'cosine': m rises from m0 to 1 (BYOL's schedule, default); 'constant': m stays m0. */
  momentumSchedule: MomentumSchedule;
  /** Projector layers (3 in the paper's ViT setting; BYOL's original is 2). */
  projLayers: number;
  /** Predictor layers (2, the paper and BYOL). */
  predictorLayers: number;
  /** Hidden width of both heads (4096). */
  mlpDim: number;
  /** Output width of both heads (256). */
  outDim: number;
}

export const BYOL_VIT_DEFAULTS: ByolConfig = {
  m0: 0.99,
  momentumSchedule: 'cosine',
  projLayers: 3,
  predictorLayers: 2,
  mlpDim: 4096,
  outDim: 256,
};

export class Byol implements Framework {
  readonly name = 'byol';
  readonly backbone: Backbone;
  readonly projector: MlpHead;
  readonly predictor: MlpHead;
  readonly targetBackbone: Backbone;
  readonly targetProjector: MlpHead;
  private readonly online: Encoder;
  private readonly target: Encoder;
  private readonly pairs: [tf.Variable, tf.Variable][];
  private m = Number.NaN;

  constructor(readonly config: ByolConfig, ctx: FrameworkBuildContext) {
    const c = config;
    validateByol(c);
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
    this.pairs = pairParams(this.online, this.target);
    copyParams(this.pairs);
  }

  trainableParams(): Param[] {
    return [...this.online.trainableParams(), ...this.predictor.trainableParams()];
  }

  /** EMA update, then the target projections [z'1, z'2] (no gradient: outside the tape). */
  prepare(view1: tf.Tensor4D, view2: tf.Tensor4D, ctx: StepContext): tf.Tensor[] {
    this.m = momentumAt(ctx.iter, ctx.totalIters, this.config.m0, this.config.momentumSchedule);
    emaUpdate(this.pairs, this.m);
    return tf.tidy(() => [this.targetProjection(view1), this.targetProjection(view2)]);
  }

  private targetProjection(x: tf.Tensor4D): tf.Tensor2D {
    return this.targetProjector.apply(this.targetBackbone.apply(x, true), true);
  }

  private prediction(x: tf.Tensor4D): { p: tf.Tensor2D; feats: tf.Tensor2D } {
    const feats = this.backbone.apply(x, true);
    return { p: this.predictor.apply(this.projector.apply(feats, true), true), feats };
  }

  loss(view1: tf.Tensor4D, view2: tf.Tensor4D, prepared: tf.Tensor[], _ctx: StepContext): StepOutput {
    const [t1, t2] = prepared as tf.Tensor2D[];
    const a = this.prediction(view1);
    const b = this.prediction(view2);
    const loss = tf.add(byolRegressionLoss(a.p, t2), byolRegressionLoss(b.p, t1)) as tf.Scalar;
    return { loss, features: a.feats };
  }

  modules(): Record<string, Module> {
    return { online_encoder: this.online, target_encoder: this.target, predictor: this.predictor };
  }

  lastStats(): Record<string, number> {
    return { momentum: this.m };
  }

  dispose(): void {
    this.online.dispose();
    this.target.dispose();
    this.predictor.dispose();
  }
}

export function validateByol(c: ByolConfig): void {
  if (!(c.m0 >= 0 && c.m0 <= 1)) configError('m0', `must be in [0, 1], got ${c.m0}`);
  if (!['cosine', 'constant'].includes(c.momentumSchedule)) configError('momentumSchedule', `must be cosine or constant, got ${c.momentumSchedule}`);
  positiveInt(c, ['projLayers', 'predictorLayers', 'mlpDim', 'outDim']);
}

export const byolFactory: FrameworkFactory<Partial<ByolConfig>> = {
  name: 'byol',
  title: 'BYOL (EMA target, predictor, normalised MSE)',
  build: (config, ctx) => new Byol({ ...BYOL_VIT_DEFAULTS, ...config }, ctx),
};
