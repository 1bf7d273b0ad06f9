/**
 * MoCo v3 (Chen, Xie, He 2021), Algorithm 1 with the official release's details:
 * base encoder = backbone + projector MLP; query path adds the predictor MLP; momentum encoder =
 * EMA copy of backbone + projector (no predictor). Each step: momentum update with the cosine
 * schedule, keys k1, k2 from the momentum encoder (no gradient), queries q1, q2, and
 * loss = ctr(q1, k2) + ctr(q2, k1). Each view is forwarded on its own, so BatchNorm statistics
 * are per crop batch (the appendix's option (ii)).
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
import { copyParams, emaUpdate, momentumAt, pairParams, type MomentumSchedule } from './momentum.ts';
import { Encoder } from './encoder.ts';
import { configError, positiveInt } from './validate.ts';
import type { Framework, FrameworkBuildContext, FrameworkFactory, StepContext, StepOutput } from './framework.ts';

export interface MocoV3Config {
  /** Softmax temperature (0.2 for ViT, 1.0 for R50). */
  tau: number;
  /** Initial momentum m0 (0.99 for ViT). */
  m0: number;
  /** 'cosine': m rises from m0 to 1 over training (default); 'constant': m stays m0 (the m ablation). */
  momentumSchedule: MomentumSchedule;
  /** Prediction MLP on the query path (ablation: off). */
  predictor: boolean;
  /** BatchNorm in the MLP heads (ablation: off). */
  headBn: boolean;
  /** Projector layers (3 for ViT, 2 for R50). */
  projLayers: number;
  /** Hidden width of the heads (4096 in the paper). */
  mlpDim: number;
  /** Output width of the heads (256 in the paper). */
  outDim: number;
  /** BatchNorm (no affine) after the predictor's output layer (ViT: yes; R50: no). */
  predictorLastBn: boolean;
}

export const MOCOV3_VIT_DEFAULTS: MocoV3Config = {
  tau: 0.2,
  m0: 0.99,
  momentumSchedule: 'cosine',
  predictor: true,
  headBn: true,
  projLayers: 3,
  mlpDim: 4096,
  outDim: 256,
  predictorLastBn: true,
};

/** m = 1 - 0.5 (1 + cos(pi t / T)) (1 - m0) (the schedule lives in momentum.ts, shared with BYOL). */
export const mocoMomentum = momentumAt;

export class MocoV3 implements Framework {
  readonly name = 'mocov3';
  readonly backbone: Backbone;
  readonly projector: MlpHead;
  readonly predictor?: MlpHead;
  readonly momentumBackbone: Backbone;
  readonly momentumProjector: MlpHead;
  private readonly base: Encoder;
  private readonly momentum: Encoder;
  private readonly pairs: [tf.Variable, tf.Variable][];
  private m = Number.NaN;

  constructor(readonly config: MocoV3Config, ctx: FrameworkBuildContext) {
    const c = config;
    validate(c);
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
    this.pairs = pairParams(this.base, this.momentum);
    copyParams(this.pairs);
  }

  trainableParams(): Param[] {
    return [...this.base.trainableParams(), ...(this.predictor?.trainableParams() ?? [])];
  }

  prepare(view1: tf.Tensor4D, view2: tf.Tensor4D, ctx: StepContext): tf.Tensor[] {
    this.m = mocoMomentum(ctx.iter, ctx.totalIters, this.config.m0, this.config.momentumSchedule);
    emaUpdate(this.pairs, this.m);
    return tf.tidy(() => [this.keys(view1), this.keys(view2)]);
  }

  private keys(x: tf.Tensor4D): tf.Tensor2D {
    return this.momentumProjector.apply(this.momentumBackbone.apply(x, true), true);
  }

  private query(x: tf.Tensor4D): { q: tf.Tensor2D; feats: tf.Tensor2D } {
    const feats = this.backbone.apply(x, true);
    const z = this.projector.apply(feats, true);
    return { q: this.predictor ? this.predictor.apply(z, true) : z, feats };
  }

  loss(view1: tf.Tensor4D, view2: tf.Tensor4D, prepared: tf.Tensor[], _ctx: StepContext): StepOutput {
    const [k1, k2] = prepared as tf.Tensor2D[];
    const a = this.query(view1);
    const b = this.query(view2);
    const loss = tf.add(contrastiveLoss(a.q, k2, this.config.tau), contrastiveLoss(b.q, k1, this.config.tau)) as tf.Scalar;
    return { loss, features: a.feats };
  }

  modules(): Record<string, Module> {
    const m: Record<string, Module> = { base_encoder: this.base, momentum_encoder: this.momentum };
    if (this.predictor) m.predictor = this.predictor;
    return m;
  }

  lastStats(): Record<string, number> {
    return { momentum: this.m };
  }

  dispose(): void {
    this.base.dispose();
    this.momentum.dispose();
    this.predictor?.dispose();
  }
}

function validate(c: MocoV3Config): void {
  if (!(c.tau > 0)) configError('tau', `must be > 0, got ${c.tau}`);
  if (!(c.m0 >= 0 && c.m0 <= 1)) configError('m0', `must be in [0, 1], got ${c.m0}`);
  if (!['cosine', 'constant'].includes(c.momentumSchedule)) configError('momentumSchedule', `must be cosine or constant, got ${c.momentumSchedule}`);
  positiveInt(c, ['projLayers', 'mlpDim', 'outDim']);
}

export const mocov3Factory: FrameworkFactory<Partial<MocoV3Config>> = {
  name: 'mocov3',
  title: 'MoCo v3',
  build: (config, ctx) => new MocoV3({ ...MOCOV3_VIT_DEFAULTS, ...config }, ctx),
};
