/**
 * A backbone over the views of a step: one batch when the backbone treats each image on its own
 * (`Backbone.samplesIndependent`: a ViT, as the official MoCo v3 code batches both crops), else
 * one call per view, so that BatchNorm statistics stay per crop batch. Returns each view's features.
 */
import { tf } from '../engine/tf.ts';
import type { Backbone } from '../backbones/backbone.ts';

export function backboneOnViews(backbone: Backbone, views: tf.Tensor4D[], training: boolean): tf.Tensor2D[] {
  if (!backbone.samplesIndependent || views.length < 2) return views.map((v) => backbone.apply(v, training));
  const feats = backbone.apply(tf.concat(views, 0) as tf.Tensor4D, training);
  return tf.split(
    feats,
    views.map((v) => v.shape[0]),
    0,
  ) as tf.Tensor2D[];
}
