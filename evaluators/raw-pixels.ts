/**
 * Raw pixels as a "backbone": the evaluation view itself (centre crop, resize, ImageNet
 * normalisation), flattened to S x S x 3 values. The floor a learned representation is judged
 * against: the same linear probe and kNN on it, with no network at all.
 */
import { tf } from '../engine/tf.ts';
import { Module } from '../engine/module.ts';
import type { Backbone } from '../backbones/backbone.ts';

export class RawPixels extends Module implements Backbone {
  readonly name = 'raw-pixels';
  readonly outDim: number;
  readonly samplesIndependent = true;

  constructor(readonly imageSize: number) {
    super();
    this.outDim = imageSize * imageSize * 3;
  }

  apply(images: tf.Tensor4D, _training: boolean): tf.Tensor2D {
    const [b, h, w, c] = images.shape;
    if (h !== this.imageSize || w !== this.imageSize || c !== 3)
      throw new Error(`raw pixels: expects ${this.imageSize}x${this.imageSize} RGB views, got [${images.shape}]`);
    return tf.reshape(images, [b, h * w * c]) as tf.Tensor2D;
  }
}
