/**
 * What a self-supervised framework provides to the pre-training loop. A framework owns its
 * encoders and heads; the loop owns data, optimiser, schedules, monitoring and checkpoints.
 */
import type { tf } from '../engine/tf.ts';
import type { Module, Param } from '../engine/module.ts';
import type { BackboneOptions } from '../core/config.ts';
import type { Backbone } from '../backbones/backbone.ts';

export interface StepContext {
  /** Global iteration, from 0. */
  iter: number;
  totalIters: number;
  /** Iterations per epoch (schedules expressed in epochs, e.g. SwAV's prototype freeze). */
  itersPerEpoch: number;
}

export interface StepOutput {
  loss: tf.Scalar;
  /** Backbone features of the first view (the kNN monitor's queue input), kept outside the tape's tidy. */
  features: tf.Tensor2D;
}

export interface Framework {
  readonly name: string;
  /** The backbone being pre-trained (exported as the pre-trained weights). */
  readonly backbone: Backbone;
  /** Everything the optimiser updates. */
  trainableParams(): Param[];
  /**
   * Work that must happen before the gradient tape of a step and needs no gradient (e.g. MoCo's
   * momentum update and keys). Returns tensors the loss needs; the loop disposes them.
   */
  prepare(view1: tf.Tensor4D, view2: tf.Tensor4D, ctx: StepContext): tf.Tensor[];
  /** The loss of one step, computed under the gradient tape. */
  loss(view1: tf.Tensor4D, view2: tf.Tensor4D, prepared: tf.Tensor[], ctx: StepContext): StepOutput;
  /** Every module whose tensors a checkpoint must hold, by a stable prefix. */
  modules(): Record<string, Module>;
  /** Scalars worth logging for the last step (e.g. the momentum coefficient). */
  lastStats(): Record<string, number>;
  dispose(): void;
}

export interface FrameworkBuildContext {
  backboneName: string;
  backboneOptions: BackboneOptions;
  seed: number;
  /** Builds a backbone by name from the container. */
  buildBackbone(name: string, opts: BackboneOptions, seed: number): Backbone;
}

export interface FrameworkFactory<C = Record<string, unknown>> {
  readonly name: string;
  readonly title: string;
  build(config: C, ctx: FrameworkBuildContext): Framework;
}
