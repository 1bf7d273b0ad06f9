/**
 * SwAV (Caron et al. 2020) as benchmarked in the MoCo v3 paper (sec. 6.1, Table 4), with two
 * 224-px crops and no queue (multi-crop, SwAV's own default, is off in the paper's suites: "for
 * fair comparisons, all are pre-trained with two 224x224 crops", Table 4; `--set
 * augment.multiCrop.count=6` turns it on, losses/swav.ts swavMultiCropLoss): the paper's batch is 4096, which SwAV's code runs
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
 * Prototype freezing: for the first `freezePrototypesEpochs` epochs the prototypes get no
 * gradient (SwAV drops their gradient during the first epoch). Here, during those epochs,
 * `prepare()` hands the loss a snapshot of the (normalised) prototype weights taken outside the
 * tape, so the tape never sees the variable: no gradient is returned for it, and the optimiser
 * (which skips params without a gradient) neither moves nor decays it. The prototypes stay in
 * `trainableParams()`.
 */
import { tf } from '../engine/tf.ts';
import type { Module, Param } from '../engine/module.ts';
import { Rng } from '../engine/rng.ts';
import { Linear } from '../engine/layers/linear.ts';
import { linear2d } from '../engine/ops/linear.ts';
import { l2Normalize } from '../engine/ops/normalize.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { MlpHead } from './heads/mlp-head.ts';
import { Encoder } from './encoder.ts';
import { swavMultiCropLoss } from './losses/swav.ts';
import { type Static, Type } from '@sinclair/typebox';
import { ConfigSchema, schemaDefaults } from '../core/plugin.ts';
import { headFields } from './config-fields.ts';
import { type Framework, type FrameworkBuildContext, type StepContext, type StepOutput, type Views, defineFramework } from './framework.ts';

export const SwavSchema = ConfigSchema({
  prototypes: Type.Integer({
    minimum: 1,
    default: 3000,
    description: "number of prototypes K (3000: SwAV's ImageNet default, --nmb_prototypes)",
  }),
  temperature: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'softmax temperature of the swapped prediction (0.1, SwAV)' }),
  epsilon: Type.Number({ exclusiveMinimum: 0, default: 0.05, description: 'Sinkhorn-Knopp entropy regularisation (0.05, SwAV)' }),
  sinkhornIters: Type.Integer({ minimum: 1, default: 3, description: 'Sinkhorn-Knopp iterations (3, SwAV)' }),
  /** Epochs from the start during which the prototypes are frozen (SwAV: the first epoch, --freeze_prototypes_niters 313 at batch 4096). */
  freezePrototypesEpochs: Type.Number({
    minimum: 0,
    default: 1,
    description: 'epochs from the start with the prototypes frozen (SwAV: 1)',
  }),
  ...headFields(3, 4096, 256),
});
export type SwavConfig = Static<typeof SwavSchema>;

export const SWAV_VIT_DEFAULTS: SwavConfig = schemaDefaults(SwavSchema);

/** SwAV's prototype count at the small presets (its other fields are sizes-free). */
const SWAV_PROTOTYPES_AT: Record<string, number> = { small: 300, tiny: 100, smoke: 16 };

/** What SwAV's `prepare` hands its loss: while the prototypes are frozen, a snapshot of them (off the tape). */
export type SwavPrepared = { frozenPrototypes?: tf.Tensor2D };

export class Swav implements Framework<SwavPrepared> {
  readonly name = 'swav';
  readonly backbone: Backbone;
  readonly projector: MlpHead;
  /** Weight [outDim, K] here ([K, outDim] exported): one unit-norm prototype per column. */
  readonly prototypes: Linear;
  private readonly encoder: Encoder;
  private frozen = false;

  constructor(
    readonly config: SwavConfig,
    ctx: FrameworkBuildContext,
  ) {
    const c = config;
    const rng = new Rng(ctx.seed ^ 0x5a0a);
    this.backbone = ctx.buildBackbone(ctx.backboneName, ctx.backboneOptions, ctx.seed);
    this.projector = new MlpHead(
      'head',
      { layers: c.projLayers, inDim: this.backbone.outDim, hiddenDim: c.mlpDim, outDim: c.outDim, bn: false, lastBn: false },
      rng,
    );
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

  /** Normalises the prototypes; while they are frozen, hands the loss a snapshot of their weight. */
  prepare(_views: Views, ctx: StepContext): SwavPrepared {
    this.normalizePrototypes();
    this.frozen = ctx.iter < Math.round(this.config.freezePrototypesEpochs * ctx.itersPerEpoch);
    return this.frozen ? { frozenPrototypes: tf.clone(this.prototypes.weight.variable) as tf.Tensor2D } : {};
  }

  onlineViews({ global, local }: Views): tf.Tensor4D[] {
    return [...global, ...local];
  }

  /** Crops of one size are forwarded as one batch (SwAV's code: the two global crops as 2N, the local crops as theirs). */
  loss(views: Views, prepared: SwavPrepared, ctx: StepContext): StepOutput {
    const feats = [...(tf.split(this.backbone.apply(tf.concat([...views.global], 0) as tf.Tensor4D, true), 2, 0) as tf.Tensor2D[])];
    if (views.local.length)
      feats.push(
        ...(tf.split(this.backbone.apply(tf.concat([...views.local], 0) as tf.Tensor4D, true), views.local.length, 0) as tf.Tensor2D[]),
      );
    return this.headLoss(feats, prepared, ctx);
  }

  /**
   * The crops' features (two global, then the local ones) through the head, by size as one batch
   * each; the codes come from the global crops, every other crop predicts them.
   */
  headLoss(features: tf.Tensor2D[], prepared: SwavPrepared, _ctx: StepContext): StepOutput {
    const w = prepared.frozenPrototypes ?? (this.prototypes.weight.variable as tf.Tensor2D);
    // the prototypes' product as a linear layer's (bf16 under --precision bf16, as autocast runs nn.Linear)
    const scoresOf = (feats: tf.Tensor2D[]) =>
      tf.split(linear2d(l2Normalize(this.projector.apply(tf.concat(feats, 0) as tf.Tensor2D, true)), w), feats.length, 0) as tf.Tensor2D[];
    // a new array: tfjs's tape keeps split's own output array as the op's outputs, so it must not grow
    const scores = [...scoresOf(features.slice(0, 2))];
    if (features.length > 2) scores.push(...scoresOf(features.slice(2)));
    const c = this.config;
    const loss = swavMultiCropLoss(scores, 2, { temperature: c.temperature, epsilon: c.epsilon, sinkhornIters: c.sinkhornIters });
    return { loss, features: features[0] };
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

export const swav = defineFramework({
  name: 'swav',
  title: 'SwAV (prototypes, Sinkhorn-Knopp codes, swapped prediction; no queue)',
  schema: SwavSchema,
  multiCrop: true,
  scale: (config, preset) => (SWAV_PROTOTYPES_AT[preset] ? { ...config, prototypes: SWAV_PROTOTYPES_AT[preset] } : config),
  build: (config, ctx) => new Swav(config, ctx),
});
