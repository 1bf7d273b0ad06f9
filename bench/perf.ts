/**
 * Throughput benchmark of a backbone on the backend in use: forward (eval) and forward+backward
 * (training mode, gradient of a scalar of the features w.r.t. every trainable parameter), in
 * images/s and achieved GFLOP/s (2 FLOPs per multiply-add; a backward pass counts as twice the
 * forward). Prints figures; asserts nothing.
 */
import { tf } from '../engine/tf.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { traceMacs } from '../engine/flops.ts';

export interface PerfResult {
  batch: number;
  macsPerImage: number;
  forwardImgPerSec: number;
  forwardGflops: number;
  trainImgPerSec: number;
  trainGflops: number;
  peakTensors: number;
}

async function timeIt(iters: number, fn: () => Promise<void>): Promise<number> {
  await fn(); // warm-up: kernel compilation, first-touch allocation
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await fn();
  return (performance.now() - t0) / 1000 / iters;
}

export async function measureBackbone(model: Backbone, batch: number, iters: number, seed = 1): Promise<PerfResult> {
  const s = model.imageSize;
  // (tfjs treats seed 0 as "no seed")
  const x = tf.randomNormal([batch, s, s, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
  const macsPerImage = traceMacs(() => tf.tidy(() => void model.apply(tf.slice(x, 0, 1) as tf.Tensor4D, false)));
  const fwd = await timeIt(iters, async () => {
    const f = tf.tidy(() => model.apply(x, false));
    await f.data();
    f.dispose();
  });
  const vars = model.trainableParams().map((p) => p.variable);
  let peak = 0;
  const train = await timeIt(iters, async () => {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(x, true))) as tf.Scalar, vars);
    await value.data();
    peak = Math.max(peak, tf.memory().numTensors);
    value.dispose();
    tf.dispose(grads);
  });
  x.dispose();
  const flopsPerImage = 2 * macsPerImage;
  return {
    batch,
    macsPerImage,
    forwardImgPerSec: batch / fwd,
    forwardGflops: (flopsPerImage * batch) / fwd / 1e9,
    trainImgPerSec: batch / train,
    trainGflops: (3 * flopsPerImage * batch) / train / 1e9,
    peakTensors: peak,
  };
}
