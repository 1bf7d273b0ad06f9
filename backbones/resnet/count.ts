/**
 * Exact parameter and multiply-add counts of a ResNet config, from its shapes alone (no model
 * built). Parameters: every conv kernel and BN gamma/beta of the backbone without `fc` (the BN
 * running statistics are buffers). Multiply-adds: every convolution of one forward pass on one
 * imageSize x imageSize image (BN, relu, pooling and additions not counted, like the ViT counts).
 */
import { convOutputSize } from '../../engine/layers/conv2d.ts';
import { type ResnetConfig, blockShapes, resnetOutDim, stemGeometry } from './config.ts';

export function resnetParamCount(c: ResnetConfig): number {
  const k = stemGeometry(c).kernel;
  let n = c.inChannels * k * k * c.stemChannels + 2 * c.stemChannels;
  for (const b of blockShapes(c)) {
    const out = b.width * c.expansion;
    n += b.inChannels * b.width + 9 * b.width * b.width + b.width * out; // conv1..conv3
    n += 2 * (b.width + b.width + out); // bn1..bn3
    if (b.downsample) n += b.inChannels * out + 2 * out;
  }
  return n;
}

/** Parameters of torchvision's classifier on top (`fc`: outDim x classes + bias). */
export function resnetClassifierParams(c: ResnetConfig, classes = 1000): number {
  return resnetOutDim(c) * classes + classes;
}

export function resnetMacs(c: ResnetConfig): number {
  const stem = stemGeometry(c);
  const k = stem.kernel;
  let side = convOutputSize(c.imageSize, k, stem.stride, stem.padding);
  let macs = side * side * c.inChannels * k * k * c.stemChannels;
  if (stem.pool) side = convOutputSize(side, stem.pool.size, stem.pool.stride, stem.pool.padding);
  for (const b of blockShapes(c)) {
    const out = b.width * c.expansion;
    const next = convOutputSize(side, 3, b.stride, 1);
    macs += side * side * b.inChannels * b.width; // conv1, 1x1 at the input resolution
    macs += next * next * (9 * b.width * b.width + b.width * out); // conv2 (strided), conv3
    if (b.downsample) macs += convOutputSize(side, 1, b.stride, 0) ** 2 * b.inChannels * out;
    side = next;
  }
  return macs;
}
