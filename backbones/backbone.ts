/**
 * What every backbone provides, and what the container registers per backbone family: how to
 * resolve a name + overrides to a config, build a model, and count its parameters and
 * multiply-adds without building it.
 */
import type { tf } from '../engine/tf.ts';
import type { Module } from '../engine/module.ts';
import type { BackboneOptions } from '../core/config.ts';

export interface Backbone extends Module {
  /** The name it was built from, e.g. `vit-b/16`. */
  readonly name: string;
  /** Feature dimension of the output. */
  readonly outDim: number;
  /** Input image side in pixels. */
  readonly imageSize: number;
  /**
   * True when a training forward pass treats each image on its own (no batch statistics: a ViT
   * with LayerNorm only), so that frameworks may forward both views as one batch, as the official
   * code does, with the same numbers up to the order of sums. Absent or false: one view at a time
   * (BatchNorm statistics per crop batch).
   */
  readonly samplesIndependent?: boolean;
  /** images [B, H, W, 3] (NHWC, normalised) -> features [B, outDim]. */
  apply(images: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

/** What the counting tables show of a backbone's shape. */
export interface BackboneShape {
  /** Feature dimension of the output (a classifier's input). */
  outDim: number;
  /** Transformer blocks, or residual blocks. */
  blocks: number;
  /** ViT: token dimension, heads, MLP hidden dimension. */
  dim?: number;
  heads?: number;
  mlpDim?: number;
}

/** Published numbers of a backbone from outside the paper, always shown with their source. */
export interface BackboneReference {
  /** Who publishes them, e.g. `torchvision`. */
  source: string;
  /** Parameters with a 1000-class classifier, in millions. */
  paramsWithClassifierM?: number;
  /** Multiply-adds per 224x224 crop ("FLOPs"), in billions. */
  gflops?: number;
}

export interface BackboneFamily {
  /** Family name as registered, e.g. `vit-b`. */
  readonly kind: 'backbone';
  readonly family: string;
  readonly title: string;
  /** Parameter count the paper quotes (Table 2), in millions, when it has one. */
  readonly paperParamsM?: number;
  /** Reference numbers from elsewhere (e.g. torchvision's for ResNet-50), for backbones the paper does not count. */
  readonly reference?: BackboneReference;
  build(name: string, opts: BackboneOptions, seed: number): Backbone;
  /** Exact number of model parameters (buffers excluded) of the backbone without a classifier. */
  countParams(name: string, opts?: BackboneOptions): number;
  /** Multiply-adds of one forward pass on one image. */
  countMacs(name: string, opts?: BackboneOptions): number;
  /** The shape the counting tables show, without building the model. */
  describe(name: string, opts?: BackboneOptions): BackboneShape;
  /**
   * A lower bound of the bytes of activations a forward pass on `batch` images holds at its peak
   * (training: what backward keeps), for refusing sizes that cannot fit before allocating them.
   * Optional: without it no estimate is made.
   */
  activationBytes?(name: string, opts: BackboneOptions, batch: number, training: boolean): number;
}

/** A backbone family's descriptor (its `kind` filled in), as a module or a plugin file default-exports it. */
export function defineBackbone(family: Omit<BackboneFamily, 'kind'>): BackboneFamily {
  return { kind: 'backbone', ...family };
}
