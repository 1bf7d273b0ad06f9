/**
 * The geometry of a tfjs 2-D convolution (NHWC data, HWIO filter) from a kernel's shapes and
 * attributes, through tfjs's own `computeConv2DInfo` (so 'same', 'valid', explicit and numeric
 * padding resolve exactly as the stock kernels resolve them).
 */
import { tf } from '../tf.ts';

export interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** undefined for layouts the native kernels do not serve (NCHW). */
export function conv2dInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs): Conv2DInfo | undefined {
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || xShape.length !== 4 || filterShape.length !== 4) return undefined;
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** [B, H, W, C, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL], as native/conv.c takes it. */
export function nativeGeometry(c: Conv2DInfo): number[] {
  return [
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
  ];
}
