/**
 * SwAV (Caron et al. 2020) as benchmarked in the MoCo v3 paper (sec. 6.1, Table 4), with two
 * 224-px crops (no multi-crop) and no queue: the paper's batch is 4096, which SwAV's code runs
 * without a queue (`--queue_length 0` is its default; the queue is for small batches).
 *
 * Encoder = backbone + projection head; its output is L2-normalised and scored against K
 * prototypes (a Linear without bias whose K weight vectors are L2-normalised at init and before
 * every step, in `prepare()`, as SwAV's training loop does). For each view the codes are the
 * Sinkhorn-Knopp equipartition of its scores (eps 0.05, 3 iterations, no gradient), and the other
 * view predicts them: loss = swapped prediction with temperature 0.1, mean over batch and swaps.
 *
 * Heads: no BN at all (the paper's appendix: "the configuration that performs the best in our SwAV
 * experiments"), so every Linear has a bias; widths follow the paper's heads (3 layers,
 * 4096 hidden, 256 out). BN batching: both views are forwarded as one batch of 2N, as SwAV's code
 * does with crops of the same size (option (i)); with BN-free heads this only matters for a
 * backbone with BN (ViT-BN, ResNet).
 *
 * Prototype freezing: for the first `freezePrototypesEpochs` iterations the prototypes get no
 * gradient (SwAV drops their gradient during the first epoch). Here, during those iterations,
 * `prepare()` hands the loss a snapshot of the (normalised) prototype weights taken outside the
 * tape, so the tape never sees the variable: no gradient is returned for it, and the optimiser
 * (which skips params without a gradient) neither moves nor decays it. The prototypes stay in
 * `trainableParams()`.
 */
import { tf } from '../engine/tf.ts';
import type { Module, Param } from '../engine/module.ts';
import { Rng } from '../engine/rng.ts';
import { Linear } from '../engine/layers/linear.ts';
import { affine2d } from '../engine/ops/matmul.ts';
import { l2Normalize } from '../engine/ops/normalize.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { MlpHead } from './heads/mlp-head.ts';
import { Encoder } from './encoder.ts';
import { swavLoss } from './losses/swav.ts';
import { configError, positiveInt } from './validate.ts';
import type { Framework, FrameworkBuildContext, FrameworkFactory, StepContext, StepOutput } from './framework.ts';

export interface SwavConfig {
  /** Number of prototypes K (3000: SwAV's ImageNet default, `--nmb_prototypes`). */
  prototypes: number;
  /** Softmax temperature of the swapped prediction (0.1, SwAV). */
  temperature: number;
  /** Sinkhorn-Knopp entropy regularisation (0.05, SwAV). */
  epsilon: number;
  /** Sinkhorn-Knopp iterations (3, SwAV). */
  sinkhornIters: number;
  /**
   * Iterations from the start during which the prototypes are frozen. SwAV freezes them for the
   * first epoch: its default 313 is one ImageNet epoch at batch 4096 (1,281,167 / 4096); presets
   * with other data or batches should set one epoch's iterations.
   */
  freezePrototypesEpochs: number;
  /** Projection head layers (3 in the paper's ViT setting). */
  projLayers: number;
  /** Hidden width of the head (4096). */
  mlpDim: number;
  /** Output width of the head, the prototypes' dimension (256). */
  outDim: number;
}

export const SWAV_VIT_DEFAULTS: SwavConfig = {
  prototypes: 3000,
  temperature: 0.1,
  epsilon: 0.05,
  sinkhornIters: 3,
  freezePrototypesEpochs: 1,
  projLayers: 3,
  mlpDim: 4096,
  outDim: 256,
};

export class Swav implements Framework {
  readonly name = 'swav';
  readonly backbone: Backbone;
  readonly projector: MlpHead;
  /** Weight [outDim, K] here ([K, outDim] exported): one unit-norm prototype per column. */
  readonly prototypes: Linear;
  private readonly encoder: Encoder;
  private frozen = false;

  constructor(readonly config: SwavConfig, ctx: FrameworkBuildContext) {
    const c = config;
    validateSwav(c);
    const rng = new Rng(ctx.seed ^ 0x5a0a);
    this.backbone = ctx.buildBackbone(ctx.backboneName, ctx.backboneOptions, ctx.seed);
    this.projector = new MlpHead('head', { layers: c.projLayers, inDim: this.backbone.outDim, hiddenDim: c.mlpDim, outDim: c.outDim, bn: false, lastBn: false }, rng);
    this.prototypes = new Linear('prototypes', c.outDim, c.prototypes, rng, { bias: false });
    this.encoder = new Encoder(this.backbone, this.projector, this.prototypes);
    this.normalizePrototypes();
  }

  /** Every prototype (a column of the [D, K] weight) to unit L2 norm, in place. */
  normalizePrototypes(): void {
    const w = this.prototypes.weight.variable;
    tf.tidy(() => w.assign(tf.div(w, tf.maximum(tf.norm(w, 'euclidean', 0, true), 1e-12))));
  }

  trainableParams(): Param[] {
    return this.encoder.trainableParams();
  }

  /** Normalises the prototypes; while they are frozen, returns [a snapshot of their weight]. */
  prepare(_view1: tf.Tensor4D, _view2: tf.Tensor4D, ctx: StepContext): tf.Tensor[] {
    this.normalizePrototypes();
    this.frozen = ctx.iter < Math.round(this.config.freezePrototypesEpochs * ctx.itersPerEpoch);
    return this.frozen ? [tf.clone(this.prototypes.weight.variable)] : [];
  }

  loss(view1: tf.Tensor4D, view2: tf.Tensor4D, prepared: tf.Tensor[], _ctx: StepContext): StepOutput {
    const n = view1.shape[0];
    const feats = this.backbone.apply(tf.concat([view1, view2], 0) as tf.Tensor4D, true);
    const z = l2Normalize(this.projector.apply(feats, true));
    const w = (prepared.length > 0 ? prepared[0] : this.prototypes.weight.variable) as tf.Tensor2D;
    const [s1, s2] = tf.split(affine2d(z, w), 2, 0) as tf.Tensor2D[];
    const c = this.config;
    const loss = swavLoss(s1, s2, { temperature: c.temperature, epsilon: c.epsilon, sinkhornIters: c.sinkhornIters });
    return { loss, features: tf.slice(feats, [0, 0], [n, -1]) };
  }

  modules(): Record<string, Module> {
    return { encoder: this.encoder };
  }

  lastStats(): Record<string, number> {
    return { prototypesFrozen: this.frozen ? 1 : 0 };
  }

  dispose(): void {
    this.encoder.dispose();
  }
}

export function validateSwav(c: SwavConfig): void {
  if (!(c.temperature > 0)) configError('temperature', `must be > 0, got ${c.temperature}`);
  if (!(c.epsilon > 0)) configError('epsilon', `must be > 0, got ${c.epsilon}`);
  if (!(Number.isFinite(c.freezePrototypesEpochs) && c.freezePrototypesEpochs >= 0)) {
    configError('freezePrototypesEpochs', `must be a number >= 0, got ${c.freezePrototypesEpochs}`);
  }
  positiveInt(c, ['prototypes', 'sinkhornIters', 'projLayers', 'mlpDim', 'outDim']);
}

export const swavFactory: FrameworkFactory<Partial<SwavConfig>> = {
  name: 'swav',
  title: 'SwAV (prototypes, Sinkhorn-Knopp codes, swapped prediction; no queue)',
  build: (config, ctx) => new Swav({ ...SWAV_VIT_DEFAULTS, ...config }, ctx),
};
