/**
 * The paper's pre-training recipes at their exact sizes, one per framework and backbone kind. A
 * suite cell names its recipe (default `mocov3-vit`); presets then scale sizes only
 * (recipes/presets.ts). Where the paper does not give a value, the comment says where it comes from.
 */
import type { PretrainConfig } from '../core/config.ts';
import { MOCOV3_VIT_DEFAULTS } from '../frameworks/mocov3.ts';

export interface Recipe {
  name: string;
  title: string;
  /** Where its numbers come from. */
  source: string;
  config: PretrainConfig;
}

const VIT_BASE: Omit<PretrainConfig, 'framework' | 'optimizer'> = {
  seed: 0,
  // ImageNet read from its files as training goes (input/): 1.28 M images do not fit in memory
  data: { dataset: 'imagenet', viewSize: 224, evalCropFraction: 224 / 256, stream: { onCorrupt: 'stop' } },
  // random patch projection in every framework (Sec. 6.1: "the same random projection trick in all cases")
  backbone: { name: 'vit-b/16', randomPatchProj: true, posEmbed: 'sincos', pooling: 'cls' },
  augment: { cropMin: 0.08 },
  monitor: { every: 50, queueFraction: 0.1, k: 200, temperature: 0.07, queries: 10000 },
  knn: { k: 200, temperature: 0.07 },
  checkpointEvery: 1000,
};

const R50_BASE: Omit<PretrainConfig, 'framework' | 'optimizer'> = {
  ...VIT_BASE,
  // MoCo v3 builds its ResNet with zero_init_residual (each block's last BN gamma starts at 0)
  backbone: { name: 'resnet-50', zeroInitResidual: true },
  augment: { cropMin: 0.2 },
};

/** ViT: AdamW, batch 4096, 300 epochs, 40 warmup (Sec. 4-5; Table 4's ViT rows are 300 epochs). */
const vitAdamw = (baseLr: number, weightDecay: number): PretrainConfig['optimizer'] => ({
  name: 'adamw',
  baseLr,
  weightDecay,
  batch: 4096,
  epochs: 300,
  warmupEpochs: 40,
  lrScaleDivisor: 256,
});

/** R-50: LARS, batch 4096, 800 epochs (Table 4's R-50 row), 10 warmup. */
const r50Lars = (baseLr: number, weightDecay: number): PretrainConfig['optimizer'] => ({
  name: 'lars',
  baseLr,
  weightDecay,
  batch: 4096,
  epochs: 800,
  warmupEpochs: 10,
  lrScaleDivisor: 256,
});

const list: Recipe[] = [
  {
    name: 'mocov3-vit',
    title: 'MoCo v3, ViT',
    source: 'Sec. 4-5 and the official release: AdamW lr 1.5e-4, wd 0.1, tau 0.2, m0 0.99',
    config: { ...VIT_BASE, framework: { name: 'mocov3', ...MOCOV3_VIT_DEFAULTS }, optimizer: vitAdamw(1.5e-4, 0.1) },
  },
  {
    name: 'mocov3-r50',
    title: 'MoCo v3, ResNet-50',
    source: 'Appendix "MoCo v3 for ResNet-50": LARS lr 0.3, wd 1.5e-6, tau 1.0, m0 0.996; 2-layer projector, no last BN in the predictor',
    config: {
      ...R50_BASE,
      framework: { name: 'mocov3', ...MOCOV3_VIT_DEFAULTS, tau: 1.0, m0: 0.996, projLayers: 2, predictorLastBn: false },
      optimizer: r50Lars(0.3, 1.5e-6),
    },
  },
  {
    name: 'simclr-vit',
    title: 'SimCLR, ViT',
    source: 'Fig. 6 caption (ViT-B/16): AdamW lr 2e-4, wd 0.1; temperature 0.1 (SimCLR at batch 4096, not stated in the paper)',
    config: {
      ...VIT_BASE,
      framework: { name: 'simclr', tau: 0.1, projLayers: 3, mlpDim: 4096, outDim: 256 },
      optimizer: vitAdamw(2e-4, 0.1),
    },
  },
  {
    name: 'simclr-r50',
    title: 'SimCLR, ResNet-50',
    source: "not in the paper (its R-50 number is quoted from [13]); SimCLR's LARS recipe: lr 0.3 x batch/256, wd 1e-6, temperature 0.1",
    config: {
      ...R50_BASE,
      framework: { name: 'simclr', tau: 0.1, projLayers: 2, mlpDim: 4096, outDim: 256 },
      optimizer: r50Lars(0.3, 1e-6),
    },
  },
  {
    name: 'byol-vit',
    title: 'BYOL, ViT',
    source: 'Fig. 6 caption (ViT-B/16): AdamW lr 1e-4, wd 0.03; m0 0.99 as MoCo v3 ViT (not stated for BYOL)',
    config: {
      ...VIT_BASE,
      framework: { name: 'byol', m0: 0.99, projLayers: 3, mlpDim: 4096, outDim: 256 },
      optimizer: vitAdamw(1e-4, 0.03),
    },
  },
  {
    name: 'byol-r50',
    title: 'BYOL, ResNet-50',
    source: "not in the paper (quoted from [13]); BYOL's LARS recipe: lr 0.2 x batch/256, wd 1.5e-6, m0 0.996, 2-layer heads",
    config: {
      ...R50_BASE,
      framework: { name: 'byol', m0: 0.996, projLayers: 2, mlpDim: 4096, outDim: 256 },
      optimizer: r50Lars(0.2, 1.5e-6),
    },
  },
  {
    name: 'swav-vit',
    title: 'SwAV, ViT',
    source:
      'Sec. 6.1 / appendix: no BN in the heads; lr and wd are not stated (the largest stable lr): AdamW lr 1e-4, wd 0.1 here; SwAV: ' +
      '3000 prototypes, eps 0.05, 3 Sinkhorn iterations, temperature 0.1, prototypes frozen for the first epoch',
    config: {
      ...VIT_BASE,
      framework: {
        name: 'swav',
        projLayers: 3,
        mlpDim: 4096,
        outDim: 256,
        prototypes: 3000,
        temperature: 0.1,
        epsilon: 0.05,
        sinkhornIters: 3,
        freezePrototypesEpochs: 1,
      },
      optimizer: vitAdamw(1e-4, 0.1),
    },
  },
  {
    name: 'swav-r50',
    title: 'SwAV, ResNet-50',
    source:
      "not in the paper (quoted from [13]); SwAV's LARS recipe: lr 0.3 x batch/256, wd 1e-6, 3000 prototypes, eps 0.05, temperature " +
      '0.1, 2-layer head 2048 -> 128',
    config: {
      ...R50_BASE,
      framework: {
        name: 'swav',
        projLayers: 2,
        mlpDim: 2048,
        outDim: 128,
        prototypes: 3000,
        temperature: 0.1,
        epsilon: 0.05,
        sinkhornIters: 3,
        freezePrototypesEpochs: 1,
      },
      optimizer: r50Lars(0.3, 1e-6),
    },
  },
];

export const RECIPES: Record<string, Recipe> = Object.fromEntries(list.map((r) => [r.name, r]));
export const RECIPE_NAMES = list.map((r) => r.name);
export const DEFAULT_RECIPE = 'mocov3-vit';

export function recipe(name: string): Recipe {
  const r = RECIPES[name];
  if (!r) throw new Error(`unknown recipe '${name}'; known recipes: ${RECIPE_NAMES.join(', ')}`);
  return r;
}
