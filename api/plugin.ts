/**
 * `sslbench/plugin`: what a plugin file imports to add a framework or a backbone (README, "Adding a
 * framework"), by package name instead of internal paths. Everything here is stable surface:
 * internal modules may move, these names stay.
 */
export { Type, type Static, type TObject } from '@sinclair/typebox';
// tensors and layers (the same tfjs instance sslbench runs on)
export { tf } from '../engine/tf.ts';
export { Module, Param } from '../engine/module.ts';
export { Rng } from '../engine/rng.ts';
export { Linear } from '../engine/layers/linear.ts';
export { LayerNorm } from '../engine/layers/layer-norm.ts';
export { BatchNorm } from '../engine/layers/batch-norm.ts';
export { l2Normalize } from '../engine/ops/normalize.ts';
// config schemas: each field with its default; validation names the field
export { ConfigSchema, StringEnum } from '../core/plugin.ts';
// frameworks
export {
  defineFramework,
  frameworkOf,
  type FrameworkHooks,
  type Views,
  type Framework,
  type FrameworkBuildContext,
  type FrameworkPlugin,
  type StepContext,
  type StepOutput,
} from '../frameworks/framework.ts';
// evaluators: features in, metrics out (a column of every pre-training suite that lists it)
export {
  defineEvaluator,
  type EvalColumn,
  type EvalInput,
  type EvalOutput,
  type EvalView,
  type Evaluator,
} from '../evaluators/evaluator.ts';
// data sets: a reader, and for a transfer target its folder, splits, recipe and stand-in
export { defineDataset, pathNeeded, type DatasetSource, type SplitSets, type TransferSpec } from '../data/sources.ts';
export { checkImageSet, type ImageSet } from '../data/image-set.ts';
export type { DataConfig } from '../core/config.ts';
// backbones
export { defineBackbone, type Backbone, type BackboneFamily, type BackboneShape } from '../backbones/backbone.ts';
export type { BackboneOptions } from '../core/config.ts';
