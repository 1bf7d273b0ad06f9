/**
 * Batched bilinear resampling with PyTorch's pixel-centre convention (`F.interpolate(...,
 * mode='bilinear', align_corners=False, antialias=False)`, which is what torchvision's tensor
 * `resized_crop` runs): output pixel i of an axis resized from `srcLen` to `dstLen` samples the
 * source at `max(0, (i + 0.5) * srcLen / dstLen - 0.5)` (half-pixel centres), the upper neighbour
 * clamped to the last source pixel. Each image of the batch has its own row and column mapping, so
 * one call crops-and-resizes every image to its own box.
 *
 * Implemented as row gathers (rows, then columns after a transpose) and lerps, ops every tfjs
 * backend has.
 */
import { tf } from '../engine/tf.ts';
import { gatherRows } from './batch-select.ts';

/** One axis of one image: for each output position, the two source indices and the weight of the second. */
export interface AxisSamples {
  i0: Int32Array;
  i1: Int32Array;
  /** Weight of `i1`; `i0` gets `1 - w1`. */
  w1: Float32Array;
}

/**
 * Sample positions along one axis. The source segment `[srcStart, srcStart + srcLen)` is resized
 * to `dstLen` pixels and `count` of them are kept, starting at output pixel `dstOffset` (a crop of
 * the resized axis, as Resize + CenterCrop do). Indices are absolute (include `srcStart`) and never
 * leave the segment.
 */
export function bilinearAxis(srcLen: number, dstLen: number, count = dstLen, dstOffset = 0, srcStart = 0): AxisSamples {
  if (!(srcLen >= 1 && dstLen >= 1)) throw new Error(`bilinearAxis: bad sizes ${srcLen} -> ${dstLen}`);
  const i0 = new Int32Array(count);
  const i1 = new Int32Array(count);
  const w1 = new Float32Array(count);
  const scale = srcLen / dstLen;
  for (let k = 0; k < count; k++) {
    const src = Math.max(0, (k + dstOffset + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(src), srcLen - 1);
    i0[k] = srcStart + lo;
    i1[k] = srcStart + Math.min(lo + 1, srcLen - 1);
    w1[k] = src - lo;
  }
  return { i0, i1, w1 };
}

/**
 * Resample every image b of `images` [B,H,W,C] with `rows[b]` (output height = its length) and
 * `cols[b]` (output width). All rows[b] must share one length, likewise cols[b].
 */
export function resampleBilinear(images: tf.Tensor4D, rows: readonly AxisSamples[], cols: readonly AxisSamples[]): tf.Tensor4D {
  const [B, H, W, C] = images.shape;
  if (rows.length !== B || cols.length !== B) {
    throw new Error(`resampleBilinear: ${rows.length} row maps / ${cols.length} column maps for a batch of ${B}`);
  }
  if (B === 0) throw new Error('resampleBilinear: empty batch');
  const outH = rows[0].i0.length;
  const outW = cols[0].i0.length;
  const r0 = new Int32Array(B * outH);
  const r1 = new Int32Array(B * outH);
  const rw = new Float32Array(B * outH);
  const c0 = new Int32Array(B * outW);
  const c1 = new Int32Array(B * outW);
  const cw = new Float32Array(B * outW);
  for (let b = 0; b < B; b++) {
    const r = rows[b];
    const c = cols[b];
    if (r.i0.length !== outH || c.i0.length !== outW) throw new Error('resampleBilinear: ragged output size');
    for (let i = 0; i < outH; i++) {
      if (r.i0[i] < 0 || r.i1[i] >= H) throw new Error(`resampleBilinear: row index out of [0, ${H})`);
      r0[b * outH + i] = b * H + r.i0[i];
      r1[b * outH + i] = b * H + r.i1[i];
      rw[b * outH + i] = r.w1[i];
    }
    for (let j = 0; j < outW; j++) {
      if (c.i0[j] < 0 || c.i1[j] >= W) throw new Error(`resampleBilinear: column index out of [0, ${W})`);
      c0[b * outW + j] = b * W + c.i0[j];
      c1[b * outW + j] = b * W + c.i1[j];
      cw[b * outW + j] = c.w1[j];
    }
  }
  return tf.tidy(() => {
    const lerp = (flat: tf.Tensor2D, a: Int32Array, b: Int32Array, w: Float32Array): tf.Tensor2D => {
      const wt = tf.tensor2d(w, [w.length, 1]);
      const lo = gatherRows(flat, a);
      const hi = gatherRows(flat, b);
      return tf.add(tf.mul(lo, tf.sub(1, wt)), tf.mul(hi, wt));
    };
    // rows: [B*H, W*C] -> [B*outH, W*C]
    const y = lerp(tf.reshape(images, [B * H, W * C]), r0, r1, rw);
    // columns: [B, outH, W, C] -> [B*W, outH*C] -> [B*outW, outH*C]
    const t = tf.reshape(tf.transpose(tf.reshape(y, [B, outH, W, C]), [0, 2, 1, 3]), [B * W, outH * C]);
    const z = lerp(t as tf.Tensor2D, c0, c1, cw);
    return tf.transpose(tf.reshape(z, [B, outW, outH, C]), [0, 2, 1, 3]) as tf.Tensor4D;
  });
}
