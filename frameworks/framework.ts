/**
 * What a self-supervised framework provides to the pre-training loop. A framework owns its
 * encoders and heads; the loop owns data, optimiser, schedules, monitoring and checkpoints.
 */
import type { Static, TObject } from '@sinclair/typebox';
import type { tf } from '../engine/tf.ts';
import { type ConfigurablePlugin, parsePluginConfig } from '../core/plugin.ts';
import type { Module, Param } from '../engine/module.ts';
import type { BackboneOptions } from '../core/config.ts';
import type { Backbone } from '../backbones/backbone.ts';

export interface StepContext {
  /** Global iteration, from 0. */
  iter: number;
  totalIters: number;
  /** Iterations per epoch (schedules expressed in epochs, e.g. SwAV's prototype freeze). */
  itersPerEpoch: number;
  /**
   * Cached-gradient training (optimizer.chunk): images per backbone call, also in `prepare`'s
   * forwards without gradient (momentum / target encoders). Absent: the whole batch at once.
   */
  chunk?: number;
}

/**
 * One step's augmented views of a batch: the two global crops (the paper's two 224-px views, at the
 * view size) and any local crops (multi-crop: smaller, `augment.multiCrop`; empty unless asked for
 * and the framework takes them).
 */
export interface Views {
  readonly global: readonly [tf.Tensor4D, tf.Tensor4D];
  readonly local: readonly tf.Tensor4D[];
}

/** Two views and no local crop, as every suite of the paper trains. */
export function twoViewSet(view1: tf.Tensor4D, view2: tf.Tensor4D): Views {
  return { global: [view1, view2], local: [] };
}

export interface StepOutput {
  loss: tf.Scalar;
  /** Backbone features of the first global view (the kNN monitor's queue input), kept outside the tape's tidy. */
  features: tf.Tensor2D;
}

/**
 * A framework's step, typed by what its `prepare` hands its `loss` (`P`: e.g. MoCo v3's keys
 * `{ k1, k2 }`; tensors in any nesting, which the loop disposes after the step).
 */
export interface Framework<P extends tf.TensorContainer = tf.TensorContainer> {
  readonly name: string;
  /** The backbone being pre-trained (exported as the pre-trained weights). */
  readonly backbone: Backbone;
  /** Everything the optimiser updates. */
  trainableParams(): Param[];
  /**
   * Work that must happen before the gradient tape of a step and needs no gradient (e.g. MoCo's
   * momentum update and keys). Returns what the loss needs; the loop disposes its tensors.
   */
  prepare(views: Views, ctx: StepContext): P;
  /** The loss of one step, computed under the gradient tape. */
  loss(views: Views, prepared: P, ctx: StepContext): StepOutput;
  /**
   * Cached-gradient training (optimizer.chunk, runner/train-step.ts): the views the online backbone
   * encodes with gradient, in the order `headLoss` takes their features. With `headLoss`, `loss` must
   * equal headLoss(the backbone's features of onlineViews).
   */
  onlineViews?(views: Views): tf.Tensor4D[];
  /** The loss from the online backbone's features of `onlineViews` (one [B, D] each): heads and loss on the whole batch. */
  headLoss?(features: tf.Tensor2D[], prepared: P, ctx: StepContext): StepOutput;
  /** Every module whose tensors a checkpoint must hold, by a stable prefix. */
  modules(): Record<string, Module>;
  /**
   * Optional scalars of the step just taken, logged with it: `momentum` (a momentum encoder's m)
   * goes to metrics.jsonl / .csv and TensorBoard. The runner reads no framework config for them.
   */
  lastStats?(): Record<string, number>;
  dispose(): void;
}

export interface FrameworkBuildContext {
  backboneName: string;
  backboneOptions: BackboneOptions;
  seed: number;
  /** Builds a backbone by name from the container. */
  buildBackbone(name: string, opts: BackboneOptions, seed: number): Backbone;
}

/**
 * A framework's descriptor: its name, its config schema (each field with its default; the type is
 * derived from it), an optional preset-scaling hook, and its factory. A framework module exports one
 * (`defineFramework`); the container registers it; a plugin file outside the tree can too (README,
 * "Adding a framework").
 */
export interface FrameworkPlugin<S extends TObject = TObject> extends ConfigurablePlugin<'framework', S> {
  /** It uses local crops (multi-crop, `augment.multiCrop`); absent: it takes the two global views only, and a config with local crops is refused. */
  readonly multiCrop?: boolean;
  build(config: Static<S>, ctx: FrameworkBuildContext): Framework;
}

export function defineFramework<S extends TObject>(plugin: Omit<FrameworkPlugin<S>, 'kind'>): FrameworkPlugin<S> {
  return { kind: 'framework', ...plugin };
}

/** A framework built from its config section (`name` left out): defaults filled in, fields validated. */
export function buildFramework(plugin: FrameworkPlugin, given: Record<string, unknown>, ctx: FrameworkBuildContext): Framework {
  const { name: _name, ...fields } = given;
  return plugin.build(parsePluginConfig(plugin.schema, fields, 'framework'), ctx);
}

/** What a framework gives itself: its hooks. `frameworkOf` derives the plumbing from its modules. */
export interface FrameworkHooks<P extends tf.TensorContainer = tf.TensorContainer> {
  readonly name: string;
  readonly backbone: Backbone;
  /**
   * Every module of the framework (the backbone among them, directly or as a child) by a stable
   * prefix: its checkpoint, its trainable parameters and its disposal all come from these.
   */
  readonly modules: Record<string, Module>;
  /** Work before the gradient tape (default: nothing). */
  prepare?(views: Views, ctx: StepContext): P;
  loss(views: Views, prepared: P, ctx: StepContext): StepOutput;
  lastStats?(): Record<string, number>;
}

/**
 * A framework from its hooks: trainable parameters are the modules' (each once), `modules` what the
 * checkpoint holds, `dispose` disposes every module, `prepare` defaults to nothing. A plugin's
 * framework is then its modules and its loss (README, "Adding a framework").
 */
export function frameworkOf<P extends tf.TensorContainer = tf.TensorContainer>(h: FrameworkHooks<P>): Framework<P> {
  const mods = Object.values(h.modules);
  if (!mods.some((m) => m.allParams().some((p) => h.backbone.allParams().includes(p))))
    throw new Error(`framework ${h.name}: its modules must hold its backbone (the checkpoint and the optimiser take them from there)`);
  return {
    name: h.name,
    backbone: h.backbone,
    trainableParams: () => [...new Set(mods.flatMap((m) => m.trainableParams()))],
    prepare: h.prepare ? (v, ctx) => h.prepare!(v, ctx) : () => ({}) as P,
    loss: (v, p, ctx) => h.loss(v, p, ctx),
    modules: () => h.modules,
    ...(h.lastStats ? { lastStats: () => h.lastStats!() } : {}),
    dispose: () => {
      for (const m of mods) m.dispose();
    },
  };
}
