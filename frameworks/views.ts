/**
 * A backbone over the views of a step: one batch when the backbone treats each image on its own
 * (`Backbone.samplesIndependent`: a ViT, as the official MoCo v3 code batches both crops), else
 * one call per view, so that BatchNorm statistics stay per crop batch. Returns each view's features.
 */
import { tf } from '../engine/tf.ts';
import type { Backbone } from '../backbones/backbone.ts';

export function backboneOnViews(backbone: Backbone, views: tf.Tensor4D[], training: boolean, chunk?: number): tf.Tensor2D[] {
  if (!backbone.samplesIndependent || views.length < 2) return views.map((v) => inChunks(backbone, v, training, chunk));
  const feats = inChunks(backbone, tf.concat(views, 0) as tf.Tensor4D, training, chunk);
  return tf.split(
    feats,
    views.map((v) => v.shape[0]),
    0,
  ) as tf.Tensor2D[];
}

/**
 * The backbone on `x` a `chunk` of images at a time, the features concatenated (no chunk, or one at
 * least the batch: one call). For forwards without gradient (a momentum or target encoder): with a
 * backbone whose images are independent the numbers are those of one call, up to summation order;
 * with BatchNorm each chunk has its own statistics (optimizer.chunkBn 'per-chunk').
 */
export function inChunks(backbone: Backbone, x: tf.Tensor4D, training: boolean, chunk?: number): tf.Tensor2D {
  const n = x.shape[0];
  if (chunk === undefined || chunk >= n) return backbone.apply(x, training);
  const parts: tf.Tensor2D[] = [];
  // each chunk in its own scope: its intermediates are freed before the next chunk runs
  for (let i = 0; i < n; i += chunk)
    parts.push(tf.tidy(() => backbone.apply(tf.slice(x, [i, 0, 0, 0], [Math.min(chunk, n - i), -1, -1, -1]), training)));
  return tf.concat(parts, 0) as tf.Tensor2D;
}
