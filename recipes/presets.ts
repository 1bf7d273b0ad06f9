/**
 * Presets: a recipe at the paper's exact sizes (`paper`), or the same recipe scaled down to run on
 * a CPU (`tiny`: a real pre-training in minutes on 2 cores; `smoke`: seconds, for CI). Only sizes
 * change between presets: the backbone (each paper backbone has a stand-in: ViT-B -> vit-tiny,
 * ViT-S -> vit-mini at half its width, as ViT-S is half of ViT-B; R-50 -> resnet-tiny), image
 * size, data set, batch, epochs, head widths, monitor interval, a framework's own sizes through its
 * plugin's scaling hook (SwAV's prototype count); and the
 * base lr of the short presets, multiplied by the same factor in every recipe because their
 * schedules are a hundred times shorter. Optimiser, schedules, losses, augmentation and
 * evaluation are the recipe's in every preset.
 */
import type { TObject } from '@sinclair/typebox';
import type { DeepPartial, PretrainConfig } from '../core/config.ts';
import type { ConfigurablePlugin } from '../core/plugin.ts';
import { deepMerge } from '../core/config.ts';
import { DEFAULT_RECIPE, recipe } from './recipes.ts';

interface Scale {
  overrides: DeepPartial<PretrainConfig>;
  /** Stand-in for each paper backbone (exact name, or family without the patch suffix). */
  backbones: Record<string, string>;
  /** Multiplies the recipe's base lr. */
  lrMultiplier: number;
}

const SCALES: Record<string, Scale> = {
  paper: { overrides: {}, backbones: {}, lrMultiplier: 1 },
  tiny: {
    overrides: {
      data: { dataset: 'auto', trainCount: 6000, testCount: 2000, viewSize: 28, evalCropFraction: 1 },
      framework: { mlpDim: 512, outDim: 128 },
      optimizer: { batch: 64, epochs: 8, warmupEpochs: 1 },
      // a fixed bank of 1,000 training images (features re-extracted at each evaluation) and 500 fixed
      // held-out queries: the paper's queue of stale augmented crops is too noisy at this size
      monitor: { every: 25, queries: 500, bank: 1000 },
      checkpointEvery: 100,
    },
    backbones: { 'vit-b': 'vit-tiny/7', 'vit-s': 'vit-mini/7', 'resnet-50': 'resnet-tiny' },
    // 744 iterations instead of ~94k: a 16x higher base lr (MoCo v3 ViT: peak 6e-4 at batch 64)
    lrMultiplier: 16,
  },
  // the full Fashion-MNIST (60,000 training images, 10,000 test), the tiny stand-ins, a schedule ~4x tiny's
  // length at 4x its batch: about an hour per ViT cell on 2 cores (fp32, sslbench 0.5.0)
  small: {
    overrides: {
      data: { dataset: 'fashion-mnist', trainCount: 60000, testCount: 10000, viewSize: 28, evalCropFraction: 1 },
      framework: { mlpDim: 512, outDim: 128 },
      optimizer: { batch: 256, epochs: 12, warmupEpochs: 2 },
      // a fixed bank of 2,000 training images and 1,000 fixed held-out queries, every 100 iterations (~1.5 % of a step's work)
      monitor: { every: 100, queries: 1000, bank: 2000 },
      checkpointEvery: 200,
    },
    backbones: { 'vit-b': 'vit-tiny/7', 'vit-s': 'vit-mini/7', 'resnet-50': 'resnet-tiny' },
    // 2,808 iterations at batch 256 (tiny: 744 at 64): half tiny's multiplier (MoCo v3 ViT: peak 1.2e-3 at batch 256)
    lrMultiplier: 8,
  },
  smoke: {
    overrides: {
      data: { dataset: 'synthetic', trainCount: 256, testCount: 128, viewSize: 16, evalCropFraction: 1 },
      framework: { mlpDim: 64, outDim: 32 },
      optimizer: { batch: 32, epochs: 2, warmupEpochs: 1 },
      monitor: { every: 4, queries: 128 },
      checkpointEvery: 8,
    },
    backbones: { 'vit-b': 'vit-micro/4', 'vit-s': 'vit-micro/4', 'resnet-50': 'resnet-micro' },
    lrMultiplier: 1,
  },
};

export const PRESETS = Object.keys(SCALES);

function scaleOf(preset: string): Scale {
  const s = SCALES[preset];
  if (!s) throw new Error(`--preset: unknown preset '${preset}'; known presets: ${PRESETS.join(', ')}`);
  return s;
}

/** The stand-in of a paper backbone at a preset (the name itself at `paper`). */
export function scaledBackbone(preset: string, name: string): string {
  const s = scaleOf(preset);
  if (preset === 'paper') return name;
  const hit = s.backbones[name] ?? s.backbones[name.replace(/\/\d+$/, '')];
  if (!hit) {
    throw new Error(
      `preset ${preset} has no stand-in for backbone '${name}' (it scales ${Object.keys(s.backbones).join(', ')}); run it at --preset ` +
        `paper or name a small backbone in the cell's '${preset}' overrides`,
    );
  }
  return hit;
}

/** The frameworks' preset-scaling hooks by name (a registry's `frameworks`; a plugin's `scale`). */
export interface FrameworkScalings {
  get(name: string): Pick<ConfigurablePlugin<'framework', TObject>, 'scale' | 'schema'>;
}

/**
 * A paper-scale config (a recipe with a cell's paper-scale choices) scaled to a preset: sizes
 * replaced, the backbone swapped for its stand-in (or for `opts.backbone`), the base lr multiplied,
 * then the framework's own fields scaled by its plugin's hook (e.g. SwAV's prototype count).
 */
export function scaleConfig(
  preset: string,
  paperConfig: PretrainConfig,
  frameworks: FrameworkScalings,
  opts: { backbone?: string } = {},
): PretrainConfig {
  const s = scaleOf(preset);
  if (preset === 'paper') return paperConfig;
  const framework = frameworks.get(paperConfig.framework.name);
  // the preset's framework sizes (head widths) apply to the fields this framework has
  const fields = new Set(Object.keys(framework.schema.properties));
  const fwSizes = Object.fromEntries(Object.entries(s.overrides.framework ?? {}).filter(([k]) => fields.has(k)));
  const c = deepMerge(paperConfig, { ...s.overrides, framework: fwSizes });
  // the small presets' in-memory sets are decoded once, not streamed (unless the preset says so)
  if (!s.overrides.data?.stream) delete c.data.stream;
  c.backbone = { ...c.backbone, name: opts.backbone ?? scaledBackbone(preset, paperConfig.backbone.name) };
  c.optimizer = { ...c.optimizer, baseLr: paperConfig.optimizer.baseLr * s.lrMultiplier };
  if (framework.scale) {
    const { name, ...own } = c.framework;
    c.framework = { name, ...(framework.scale(own, preset) as Record<string, unknown>) };
  }
  return c;
}

/** A recipe at a preset (default: MoCo v3 ViT-B/16). */
export function presetConfig(preset: string, frameworks: FrameworkScalings, recipeName = DEFAULT_RECIPE): PretrainConfig {
  return scaleConfig(preset, recipe(recipeName).config, frameworks);
}
