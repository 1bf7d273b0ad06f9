/**
 * Named training configurations for `bench perf --config NAME`: a framework, backbone, head sizes,
 * batch and optimiser, measured as a whole training step.
 */
import type { MocoV3Config } from '../frameworks/mocov3.ts';
import type { BackboneOptions } from '../core/config.ts';

export interface PerfConfig {
  title: string;
  backbone: string;
  backboneOptions: BackboneOptions;
  framework: 'mocov3';
  frameworkConfig: Partial<MocoV3Config>;
  batch: number;
  weightDecay: number;
}

export const PERF_CONFIGS: Record<string, PerfConfig> = {
  /** Issue 4's reference step: PyTorch CPU does 44 images/s on 1 thread, 58 on 2. */
  'vit-tiny-32': {
    title: 'MoCo v3, ViT dim 192 / depth 6 / 3 heads, 32x32 input, patch 4, projector 3 x 1024 -> 256, predictor 1024 -> 256, AdamW',
    backbone: 'vit-tiny/4',
    backboneOptions: { imageSize: 32 },
    framework: 'mocov3',
    frameworkConfig: { mlpDim: 1024, outDim: 256 },
    batch: 128,
    weightDecay: 0.1,
  },
  /** The tiny preset's step (Fashion-MNIST 28 px, patch 7). */
  'vit-tiny-28': {
    title: 'MoCo v3 tiny preset: ViT dim 192 / depth 6, 28x28 input, patch 7, heads 512 -> 128',
    backbone: 'vit-tiny/7',
    backboneOptions: { imageSize: 28 },
    framework: 'mocov3',
    frameworkConfig: { mlpDim: 512, outDim: 128 },
    batch: 128,
    weightDecay: 0.1,
  },
  /** ViT-S/16 at 224 px, the paper's smallest model (heavy on a CPU: use a small --batch). */
  'vit-s-224': {
    title: 'MoCo v3, ViT-S/16, 224x224, heads 4096 -> 256',
    backbone: 'vit-s/16',
    backboneOptions: { imageSize: 224 },
    framework: 'mocov3',
    frameworkConfig: {},
    batch: 8,
    weightDecay: 0.1,
  },
};
