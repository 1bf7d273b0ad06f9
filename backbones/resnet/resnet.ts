/**
 * ResNet backbone (He et al.) with torchvision's layout and parameter names: stem `conv1` `bn1`
 * relu (+ max pool 3x3 / 2, padding 1, with the ImageNet stem), Bottleneck stages `layer1` ..
 * `layer4`, global average pool. No classifier: the output is the pooled features
 * [B, width * expansion] (2048 for ResNet-50), what torchvision feeds its `fc`.
 * Convolutions accept any image size, with PyTorch's output sizes; `imageSize` is the size the
 * counts and presets use.
 */
import { tf } from '../../engine/tf.ts';
import { Module } from '../../engine/module.ts';
import { Conv2d } from '../../engine/layers/conv2d.ts';
import { BatchNorm } from '../../engine/layers/batch-norm.ts';
import { checkpoint } from '../../engine/ops/checkpoint.ts';
import { Rng } from '../../engine/rng.ts';
import type { Backbone } from '../backbone.ts';
import { type ResnetConfig, blockShapes, resnetOutDim, stemGeometry } from './config.ts';
import { Bottleneck } from './bottleneck.ts';

export class ResNet extends Module implements Backbone {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly blocks: Bottleneck[];
  readonly outDim: number;
  readonly imageSize: number;

  constructor(
    readonly name: string,
    readonly config: ResnetConfig,
    seed: number,
  ) {
    super();
    const c = config;
    const rng = new Rng(seed);
    this.outDim = resnetOutDim(c);
    this.imageSize = c.imageSize;
    const stem = stemGeometry(c);
    this.conv1 = this.addChild(
      new Conv2d('conv1', c.inChannels, c.stemChannels, stem.kernel, rng, { stride: stem.stride, padding: stem.padding }),
    );
    this.bn1 = this.addChild(new BatchNorm('bn1', c.stemChannels, { eps: c.bnEps }));
    const o = { expansion: c.expansion, bnEps: c.bnEps, zeroInitResidual: c.zeroInitResidual };
    this.blocks = blockShapes(c).map((s) => this.addChild(new Bottleneck(s, o, rng)));
  }

  /** images [B, H, W, 3] -> pooled features [B, outDim]. */
  apply(images: tf.Tensor4D, training: boolean): tf.Tensor2D {
    let x = tf.relu(this.bn1.apply(this.conv1.apply(images), training)) as tf.Tensor4D;
    const pool = stemGeometry(this.config).pool;
    if (pool) {
      // padded cells never win the max (tfjs skips them, like PyTorch's -inf padding)
      const p = pool.padding;
      x = tf.maxPool(x, pool.size, pool.stride, [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ]);
    }
    for (const blk of this.blocks) x = checkpoint((h) => blk.apply(h as tf.Tensor4D, training), x, blk.variables) as tf.Tensor4D;
    return tf.mean(x, [1, 2]) as tf.Tensor2D;
  }
}
