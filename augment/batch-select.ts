/**
 * Apply a function to groups of images of a batch and put the results back in place: the batched
 * way to run a per-image choice (which jitter order, blur or not) as a few big tensor ops.
 */
import { tf } from '../engine/tf.ts';

/**
 * `keys[b]` names image b's group (`null`: leave the image unchanged). For each group, the images
 * are gathered, passed to `fn(sub, indices, key)` (which must keep the H, W, C of its input) and
 * scattered back. Returns a new tensor; `images` is not disposed.
 */
export function applyByGroup(
  images: tf.Tensor4D,
  keys: readonly (string | null)[],
  fn: (sub: tf.Tensor4D, indices: number[], key: string) => tf.Tensor4D,
): tf.Tensor4D {
  const B = images.shape[0];
  if (keys.length !== B) throw new Error(`applyByGroup: ${keys.length} keys for a batch of ${B}`);
  const groups = new Map<string, number[]>();
  const keep: number[] = [];
  keys.forEach((k, b) => {
    if (k === null) keep.push(b);
    else {
      const g = groups.get(k);
      if (g) g.push(b);
      else groups.set(k, [b]);
    }
  });
  return tf.tidy(() => {
    if (groups.size === 0) return tf.clone(images);
    if (groups.size === 1 && keep.length === 0) {
      const [[key, idx]] = [...groups];
      return fn(images, idx, key);
    }
    const parts: tf.Tensor4D[] = [];
    const order: number[] = [];
    for (const [key, idx] of groups) {
      parts.push(fn(gatherRows(images, idx), idx, key));
      order.push(...idx);
    }
    if (keep.length > 0) {
      parts.push(gatherRows(images, keep));
      order.push(...keep);
    }
    const inverse = new Int32Array(B);
    order.forEach((b, pos) => {
      inverse[b] = pos;
    });
    return gatherRows(tf.concat(parts, 0), inverse);
  });
}

/**
 * `x` indexed along axis 0 by `indices` (= tf.gather(x, indices)). Uses tf.gatherND, which copies
 * whole rows: on wasm it is ~8x faster than tf.gather (an element-wise loop there); slower only on
 * the pure-JS cpu backend.
 */
export function gatherRows<T extends tf.Tensor>(x: T, indices: ArrayLike<number>): T {
  return tf.gatherND(x, tf.tensor2d(Int32Array.from(indices), [indices.length, 1], 'int32')) as T;
}

/** A [B,1,1,1] float32 tensor of per-image values (factors, shifts). */
export function perImage(values: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(values), [values.length, 1, 1, 1]);
}

/**
 * Per image, `a` where `flags[b]`, else `b` (same shapes). Arithmetic blend with a 0/1 weight,
 * exact for finite values (1 * a + 0 * b = a), because a broadcast `tf.where` runs a slow Tile on
 * wasm. Returns a new tensor.
 */
export function selectPerImage(flags: ArrayLike<boolean>, a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  if (flags.length !== a.shape[0]) throw new Error(`selectPerImage: ${flags.length} flags for a batch of ${a.shape[0]}`);
  const fl = Array.from(flags);
  if (fl.every((f) => f)) return tf.clone(a);
  if (!fl.some((f) => f)) return tf.clone(b);
  return tf.tidy(() => {
    const m = perImage(fl.map((f) => (f ? 1 : 0)));
    return tf.add(tf.mul(a, m), tf.mul(b, tf.sub(1, m))) as tf.Tensor4D;
  });
}
