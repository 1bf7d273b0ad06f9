/**
 * The ResNet Bottleneck block with torchvision's names: conv1 (1x1) bn1 relu, conv2 (3x3, the
 * block's stride: ResNet v1.5) bn2 relu, conv3 (1x1, width * expansion) bn3, plus the shortcut
 * (identity, or `downsample.0` 1x1 strided conv + `downsample.1` BN), then relu.
 */
import { tf } from '../../engine/tf.ts';
import { Module } from '../../engine/module.ts';
import { Conv2d } from '../../engine/layers/conv2d.ts';
import { BatchNorm } from '../../engine/layers/batch-norm.ts';
import { zeros } from '../../engine/init.ts';
import type { Rng } from '../../engine/rng.ts';
import type { BlockShape } from './config.ts';

export interface BottleneckOptions {
  expansion: number;
  bnEps: number;
  /** Start bn3's gamma at 0, so that the block starts as its shortcut (torchvision's zero_init_residual). */
  zeroInitResidual: boolean;
}

export class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm;
  readonly downsample?: { conv: Conv2d; bn: BatchNorm };

  constructor(
    readonly shape: BlockShape,
    o: BottleneckOptions,
    rng: Rng,
  ) {
    super();
    const { name, inChannels, width, stride } = shape;
    const out = width * o.expansion;
    const bn = (n: string, dim: number) => this.addChild(new BatchNorm(`${name}.${n}`, dim, { eps: o.bnEps }));
    this.conv1 = this.addChild(new Conv2d(`${name}.conv1`, inChannels, width, 1, rng));
    this.bn1 = bn('bn1', width);
    this.conv2 = this.addChild(new Conv2d(`${name}.conv2`, width, width, 3, rng, { stride }));
    this.bn2 = bn('bn2', width);
    this.conv3 = this.addChild(new Conv2d(`${name}.conv3`, width, out, 1, rng));
    this.bn3 = bn('bn3', out);
    if (o.zeroInitResidual) tf.tidy(() => this.bn3.weight!.variable.assign(tf.tensor1d(zeros(out))));
    if (shape.downsample) {
      const conv = this.addChild(new Conv2d(`${name}.downsample.0`, inChannels, out, 1, rng, { stride }));
      this.downsample = { conv, bn: bn('downsample.1', out) };
    }
  }

  /** x [B, H, W, in] -> [B, H / stride, W / stride, width * expansion] (PyTorch's rounding). */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let h = tf.relu(this.bn1.apply(this.conv1.apply(x), training)) as tf.Tensor4D;
    h = tf.relu(this.bn2.apply(this.conv2.apply(h), training)) as tf.Tensor4D;
    const main = this.bn3.apply(this.conv3.apply(h), training);
    const shortcut = this.downsample ? this.downsample.bn.apply(this.downsample.conv.apply(x), training) : x;
    return tf.relu(tf.add(main, shortcut)) as tf.Tensor4D;
  }
}
