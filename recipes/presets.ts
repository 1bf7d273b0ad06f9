/**
 * Presets: the paper's recipe at its exact sizes (`paper`), and the same recipe scaled down to run
 * on a CPU (`tiny`: a real pre-training in about a quarter of an hour on 2 cores; `smoke`: under a
 * minute, for CI). Sizes change between presets: model width and depth, image size, data set,
 * batch, epochs, head width, monitor interval; so does the base lr of the short presets, whose
 * schedules are a hundred times shorter. Optimiser, schedules, loss, augmentation and evaluation
 * logic are the paper's in every preset.
 */
import type { DeepPartial, PretrainConfig } from '../runner/config.ts';
import { deepMerge } from '../runner/config.ts';
import { MOCOV3_VIT_DEFAULTS } from '../frameworks/mocov3.ts';

/** MoCo v3 ViT-B/16 on ImageNet, 300 epochs (Sec. 4-5 and the official recipe). */
export const MOCOV3_VIT_PAPER: PretrainConfig = {
  seed: 0,
  data: { dataset: 'imagenet', viewSize: 224, evalCropFraction: 224 / 256 },
  backbone: { name: 'vit-b/16', randomPatchProj: true, posEmbed: 'sincos', pooling: 'cls' },
  framework: { name: 'mocov3', ...MOCOV3_VIT_DEFAULTS },
  optimizer: { name: 'adamw', baseLr: 1.5e-4, weightDecay: 0.1, batch: 4096, epochs: 300, warmupEpochs: 40, lrScaleDivisor: 256 },
  augment: { cropMin: 0.08 },
  monitor: { every: 50, queueFraction: 0.1, k: 200, temperature: 0.07, queries: 10000 },
  knn: { k: 200, temperature: 0.07 },
  checkpointEvery: 1000,
};

const SCALE: Record<string, DeepPartial<PretrainConfig>> = {
  paper: {},
  tiny: {
    data: { dataset: 'auto', trainCount: 6000, testCount: 2000, viewSize: 28, evalCropFraction: 1 },
    backbone: { name: 'vit-tiny/7' },
    framework: { mlpDim: 512, outDim: 128 },
    // 744 iterations instead of ~94k: a 16x higher base lr (peak 6e-4 at batch 64) so that the
    // short schedule gets somewhere; warmup and cosine keep the paper's shape.
    optimizer: { batch: 64, epochs: 8, warmupEpochs: 1, baseLr: 1.5e-4 * 16 },
    monitor: { every: 25, queries: 1000 },
    checkpointEvery: 100,
  },
  smoke: {
    data: { dataset: 'synthetic', trainCount: 256, testCount: 128, viewSize: 16, evalCropFraction: 1 },
    backbone: { name: 'vit-micro/4' },
    framework: { mlpDim: 64, outDim: 32 },
    optimizer: { batch: 32, epochs: 2, warmupEpochs: 1 },
    monitor: { every: 4, queries: 128 },
    checkpointEvery: 8,
  },
};

export const PRESETS = Object.keys(SCALE);

export function presetConfig(preset: string): PretrainConfig {
  const scale = SCALE[preset];
  if (!scale) throw new Error(`--preset: unknown preset '${preset}'; known presets: ${PRESETS.join(', ')}`);
  return deepMerge(MOCOV3_VIT_PAPER, scale);
}
