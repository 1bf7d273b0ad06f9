/**
 * The views of each training step: from the in-memory set (decoded batch, then the augmentation:
 * two global views and, with multi-crop, the local crops), or from the streaming pipeline (input/:
 * crops made on worker threads, the photometric part here; two views). Each iteration draws from
 * its own seeded stream, so a resumed run sees the same views.
 */
import { tf } from '../../engine/tf.ts';
import { Rng } from '../../engine/rng.ts';
import type { PretrainConfig } from '../../core/config.ts';
import type { Views } from '../../frameworks/framework.ts';
import type { BatchLoader } from '../../data/loader.ts';
import type { AnyImageSet } from '../../data/file-image-set.ts';
import type { StreamingTwoViewLoader } from '../../input/stream-loader.ts';
import { viewTensor } from '../../input/view-tensor.ts';
import { augmentViews, type LocalCrops, photometricTwoViews } from '../../augment/policy.ts';
import { rgbTensor } from '../../evaluators/features.ts';

/** Each iteration's augmentation draws from its own stream, so a resumed run sees the same views. */
export function iterRng(seed: number, iter: number): Rng {
  return new Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(iter + 1, 0x85ebca77)) >>> 0);
}

export interface ViewSources {
  train: AnyImageSet;
  /** The in-memory set's batches (absent when streamed). */
  loader?: BatchLoader;
  stream?: StreamingTwoViewLoader;
  itersPerEpoch: number;
}

/** The function giving iteration `iter`'s views and labels (the caller disposes the views). */
export function stepViews(
  c: PretrainConfig,
  src: ViewSources,
  local: LocalCrops | undefined,
): (iter: number) => Promise<{ views: Views; labels: Int32Array }> {
  const S = c.data.viewSize;
  const batchSize = c.optimizer.batch;
  return async (iter) => {
    const epoch = Math.floor(iter / src.itersPerEpoch);
    if (src.stream) {
      const b = await src.stream.batchAt(epoch, iter % src.itersPerEpoch);
      const global = tf.tidy(() =>
        photometricTwoViews(viewTensor(b.views[0], batchSize, S), viewTensor(b.views[1], batchSize, S), iterRng(c.seed, iter)),
      );
      return { views: { global, local: [] }, labels: b.labels };
    }
    const batch = src.loader!.batchAt(epoch, iter % src.itersPerEpoch);
    const views = tf.tidy(() => {
      const x = rgbTensor(batch.images, batch.shape, src.train.name);
      const v = augmentViews(x, iterRng(c.seed, iter), { outSize: S, cropMin: c.augment.cropMin }, local);
      return [...v.global, ...v.local];
    });
    return { views: { global: [views[0], views[1]], local: views.slice(2) }, labels: batch.labels };
  };
}
