/**
 * torchvision `ColorJitter(brightness, contrast, saturation, hue)` wrapped in `RandomApply(p)`,
 * batched. Per image: applied with probability p; a random order of the four ops (torchvision's
 * `randperm(4)` over brightness, contrast, saturation, hue); factors brightness ~ U[max(0, 1-b),
 * 1+b], contrast ~ U[max(0, 1-c), 1+c], saturation ~ U[max(0, 1-s), 1+s], hue shift ~ U[-h, h].
 * Images sharing an order are jittered together; an image whose jitter is not applied is left
 * exactly unchanged.
 */
import { tf } from '../engine/tf.ts';
import type { Rng } from '../engine/rng.ts';
import { applyByGroup } from './batch-select.ts';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation } from './color.ts';

/** Op ids, in torchvision's `fn_idx` numbering: 0 brightness, 1 contrast, 2 saturation, 3 hue. */
export type JitterOp = 0 | 1 | 2 | 3;

export interface JitterStrength {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

export interface JitterParams {
  apply: boolean;
  /** A permutation of 0..3: the order in which the ops run. */
  order: JitterOp[];
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

/** One image's jitter. Always draws the same number of values (1 + 3 + 4), whatever is applied. */
export function sampleJitter(rng: Rng, strength: JitterStrength, p: number): JitterParams {
  if (!(strength.hue >= 0 && strength.hue <= 0.5)) throw new Error(`sampleJitter: hue ${strength.hue} not in [0, 0.5]`);
  const apply = rng.bernoulli(p);
  const order = rng.shuffle([0, 1, 2, 3] as JitterOp[]) as JitterOp[];
  const factor = (k: number): number => rng.uniform(Math.max(0, 1 - k), 1 + k);
  const brightness = factor(strength.brightness);
  const contrast = factor(strength.contrast);
  const saturation = factor(strength.saturation);
  const hue = rng.uniform(-strength.hue, strength.hue);
  return { apply, order, brightness, contrast, saturation, hue };
}

/** Apply one jitter op to a sub-batch with that sub-batch's parameters. */
export function applyJitterOp(images: tf.Tensor4D, op: JitterOp, params: readonly JitterParams[]): tf.Tensor4D {
  switch (op) {
    case 0:
      return adjustBrightness(
        images,
        params.map((p) => p.brightness),
      );
    case 1:
      return adjustContrast(
        images,
        params.map((p) => p.contrast),
      );
    case 2:
      return adjustSaturation(
        images,
        params.map((p) => p.saturation),
      );
    case 3:
      return adjustHue(
        images,
        params.map((p) => p.hue),
      );
  }
}

/** Jitter image b with `params[b]`. Returns a new tensor. */
export function colorJitter(images: tf.Tensor4D, params: readonly JitterParams[]): tf.Tensor4D {
  const keys = params.map((p) => (p.apply ? p.order.join('') : null));
  return applyByGroup(images, keys, (sub, idx) =>
    tf.tidy(() => {
      const ps = idx.map((b) => params[b]);
      let x = sub;
      for (const op of ps[0].order) x = applyJitterOp(x, op, ps);
      return x;
    }),
  );
}
