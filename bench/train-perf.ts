/**
 * Throughput of a whole training step (framework + optimiser) on the backend in use: train-step
 * images/s, forward images/s, achieved GFLOP/s, the share of time per kernel, and the live tensor
 * count after N steps. Prints figures; asserts nothing.
 */
import { tf } from '../engine/tf.ts';
import { traceMacs } from '../engine/flops.ts';
import type { Registry } from '../container/container.ts';
import { buildFramework, twoViewSet } from '../frameworks/framework.ts';
import { buildOptimizer } from '../optim/index.ts';
import { TrainStep } from '../runner/train-step.ts';
import type { PerfConfig } from './perf-configs.ts';

export interface TrainPerfResult {
  batch: number;
  stepImgPerSec: number;
  stepGflops: number;
  forwardImgPerSec: number;
  macsPerImageStep: number;
  kernelShare: { kernel: string; ms: number; share: number }[];
  tensorsAfter: { step: number; tensors: number }[];
  /** Bytes of tensors alive at once at the peak of one profiled step. */
  peakBytes: number;
}

export async function measureTrainStep(
  cfg: PerfConfig,
  batch: number,
  steps: number,
  registry: Registry,
  chunk?: number,
): Promise<TrainPerfResult> {
  const fw = buildFramework(registry.frameworks.get(cfg.framework), cfg.frameworkConfig, {
    backboneName: cfg.backbone,
    backboneOptions: cfg.backboneOptions,
    seed: 1,
    buildBackbone: (n, o, s) => registry.backbone(n).build(n, o, s),
  });
  const optimizer = buildOptimizer(registry.optimizers.get('adamw'), fw.trainableParams(), { weightDecay: cfg.weightDecay });
  const step = new TrainStep(fw, optimizer, chunk);
  const s = fw.backbone.imageSize;
  const v1 = tf.randomNormal([batch, s, s, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const v2 = tf.randomNormal([batch, s, s, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const warmup = 2;
  const total = steps + warmup + 1;
  const views = twoViewSet(v1, v2);
  const run = async (iter: number) => tf.dispose((await step.run(views, { iter, totalIters: total, itersPerEpoch: total }, 1e-4)).features);

  // multiply-adds: keys (forward only) + queries (forward, and backward = 2 x forward)
  let keyMacs = 0;
  let queryMacs = 0;
  tf.tidy(() => {
    let prepared: tf.TensorContainer = {};
    keyMacs = traceMacs(() => (prepared = fw.prepare(views, { iter: 0, totalIters: total, itersPerEpoch: total })));
    queryMacs = traceMacs(() => void fw.loss(views, prepared, { iter: 0, totalIters: total, itersPerEpoch: total }));
  });
  const macsPerStep = keyMacs + 3 * queryMacs;

  for (let i = 0; i < warmup; i++) await run(i); // heap growth, first-touch pages
  const tensorsAfter: { step: number; tensors: number }[] = [{ step: warmup, tensors: tf.memory().numTensors }];
  const t0 = performance.now();
  for (let i = warmup; i < warmup + steps; i++) await run(i);
  const dt = (performance.now() - t0) / 1000 / steps;
  tensorsAfter.push({ step: warmup + steps, tensors: tf.memory().numTensors });

  const profile = await tf.profile(() => run(warmup + steps));
  // only registered kernels: tf.profile also lists the scopes of custom ops and op wrappers, whose
  // time is the sum of the kernels inside them
  const backend = tf.getBackend();
  const byKernel = new Map<string, number>();
  for (const k of profile.kernels) {
    if (!tf.getKernel(k.name, backend)) continue;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  }
  const kernelTotal = [...byKernel.values()].reduce((a, b) => a + b, 0);
  const kernelShare = [...byKernel].map(([kernel, ms]) => ({ kernel, ms, share: ms / kernelTotal })).sort((a, b) => b.ms - a.ms);

  const fwdStart = performance.now();
  const fwdIters = 3;
  for (let i = 0; i < fwdIters; i++) {
    const f = tf.tidy(() => fw.backbone.apply(v1, false));
    await f.data();
    f.dispose();
  }
  const fwdDt = (performance.now() - fwdStart) / 1000 / fwdIters;

  tf.dispose([v1, v2]);
  fw.dispose();
  optimizer.dispose();
  return {
    batch,
    stepImgPerSec: batch / dt,
    stepGflops: (2 * macsPerStep) / dt / 1e9,
    forwardImgPerSec: batch / fwdDt,
    macsPerImageStep: macsPerStep / batch,
    kernelShare,
    tensorsAfter,
    peakBytes: profile.peakBytes,
  };
}
