/**
 * Evaluation protocols at each preset: the paper's linear probe (Table 1, 4, ...) and transfer
 * fine-tuning (Table 5). `paper` is the protocol itself; the small presets keep its logic (frozen
 * eval-mode backbone, SGD + cosine, lr sweep, crop + flip; AdamW + warmup + cosine, mixup/cutmix,
 * label smoothing, drop-path) and shrink epochs, batch and data.
 */
import type { DeepPartial } from '../core/config.ts';
import { deepMerge } from '../core/config.ts';
import { type Static, Type } from '@sinclair/typebox';
import { ConfigSchema, parsePluginConfig, schemaDefaults } from '../core/plugin.ts';
import { cifar10Source, cifar100Source, type DatasetSource, flowers102Source, petsSource } from '../data/sources.ts';
import { type FinetuneRecipe, FinetuneRecipeSchema } from '../evaluators/finetune.ts';
import { type LinearProbeConfig, LinearProbeConfigSchema } from '../evaluators/linear-probe.ts';

export type { LinearProbeConfig };

const TRANSFER = schemaDefaults(FinetuneRecipeSchema);

/** A transfer target's fine-tuning recipe at `paper`: the common one with its descriptor's fields (Table 5). */
export function finetuneRecipe(source: DatasetSource): FinetuneRecipe {
  if (!source.transfer) throw new Error(`transfer.dataset: '${source.name}' is not a transfer data set (its descriptor has no 'transfer')`);
  return parsePluginConfig(FinetuneRecipeSchema, { ...TRANSFER, ...source.transfer.recipe }, `dataset ${source.name}: transfer.recipe`);
}

/** Table 5's per-dataset fine-tuning settings of the built-in targets (MoCo v3's transfer instructions), at `paper`. */
export const FINETUNE_RECIPES: Readonly<Record<'cifar10' | 'cifar100' | 'flowers102' | 'pets', Readonly<FinetuneRecipe>>> = {
  cifar10: finetuneRecipe(cifar10Source),
  cifar100: finetuneRecipe(cifar100Source),
  flowers102: finetuneRecipe(flowers102Source),
  pets: finetuneRecipe(petsSource),
};

// validation splits: 1 % of ImageNet's 1.28 M (12.8 k images), 10 % at tiny (600 of 6,000), a quarter of smoke's few
const LINEAR_SCALE: Record<string, DeepPartial<LinearProbeConfig>> = {
  paper: {},
  tiny: { epochs: 10, batch: 256, baseLrs: [0.3, 1, 3], valFraction: 0.1 },
  small: { epochs: 20, batch: 512, baseLrs: [0.3, 1, 3], valFraction: 0.1 },
  smoke: { epochs: 2, batch: 64, baseLrs: [1, 3], valFraction: 0.25 },
};

/** main_lincls scaled by a preset's table of probe sizes. */
function scaledProbe(
  scales: Record<string, DeepPartial<LinearProbeConfig>>,
  preset: string,
  backboneName: string,
  over: Record<string, unknown> = {},
): LinearProbeConfig {
  const scale = scales[preset];
  if (!scale) throw new Error(`--preset: unknown preset '${preset}'`);
  // main_lincls for a ViT (the schema's defaults: SGD 0.9, wd 0, batch 1024, 90 epochs, lr swept around 3.0)
  const c = deepMerge<LinearProbeConfig>(schemaDefaults(LinearProbeConfigSchema), scale);
  // R-50's probe lr is 0.1 in the paper's protocol, 30x below ViT's: the same sweep, scaled
  if (backboneName.startsWith('resnet')) c.baseLrs = c.baseLrs.map((lr) => lr / 30);
  return parsePluginConfig(LinearProbeConfigSchema, { ...c, ...over }, 'probe');
}

/** Table 1's probe: main_lincls, with crop + flip at every preset; `over`: a cell's own probe fields. */
export function linearProbeConfig(preset: string, backboneName: string, over: Record<string, unknown> = {}): LinearProbeConfig {
  return scaledProbe(LINEAR_SCALE, preset, backboneName, over);
}

/**
 * The probe behind every pre-training suite's measured column. At `paper` it is main_lincls
 * (linearProbeConfig('paper'): 90 epochs, crop + flip, batch 1024, lr sweep). At the small presets
 * the same probe code runs on features computed once (centre crop, no augmentation) so that a probe
 * costs seconds, not minutes: `cacheFeatures` departs from the paper's augmentation, and each table
 * says so in its notes (describeProbe).
 */
const SUITE_PROBE_SCALE: Record<string, DeepPartial<LinearProbeConfig>> = {
  paper: {},
  tiny: { epochs: 50, batch: 256, baseLrs: [0.1, 0.3, 1, 3], augment: false, cacheFeatures: true, valFraction: 0.1 },
  // 6,000 of the 60,000 training images held out to choose lr and epoch on
  small: { epochs: 50, batch: 1024, baseLrs: [0.1, 0.3, 1, 3], augment: false, cacheFeatures: true, valFraction: 0.1 },
  smoke: { epochs: 5, batch: 64, baseLrs: [0.3, 3], augment: false, cacheFeatures: true, valFraction: 0.25 },
};

export function suiteProbeConfig(preset: string, backboneName: string): LinearProbeConfig {
  return scaledProbe(SUITE_PROBE_SCALE, preset, backboneName);
}

/** One line that says exactly what a probe was (for table notes); `valCount`: the validation images, when known. */
export function describeProbe(c: LinearProbeConfig, valCount?: number): string {
  const view = c.augment ? 'RandomResizedCrop + flip training views' : 'centre-crop training views (no augmentation)';
  const cache = c.cacheFeatures ? ', features computed once and cached' : '';
  const lrs = `base lr swept over ${c.baseLrs.map((x) => +x.toPrecision(3)).join(' / ')} (x batch/256)`;
  // probes stored before the validation split have no valFraction: the test set chose, as main_lincls
  const vf = c.valFraction ?? 0;
  const choice =
    vf > 0
      ? `${lrs}, extended beyond an end while the chosen lr sits there (up to ${c.extendSweep} more); lr and epoch chosen on ` +
        `${Math.round(100 * vf)} % of the training images held out (stratified${valCount ? `, ${valCount} images` : ''}, never trained ` +
        'on), test top-1 reported at that choice'
      : `${lrs}, best test top-1 over epochs and lrs reported (main_lincls's best_acc1)`;
  return (
    `linear probe: frozen eval-mode backbone, linear head N(0, 0.01)${c.batchNorm ? ' after BatchNorm without affine' : ''}, SGD ` +
    `momentum 0.9, wd 0, batch ${c.batch}, ${c.epochs} epochs, cosine per epoch, ${view}${cache}, centre-crop test; ${choice}`
  );
}

/** A transfer cell's config: the fine-tuning recipe, the target data set and how much of it is used. */
export const TransferConfigSchema = ConfigSchema({
  ...FinetuneRecipeSchema.properties,
  /** The target: a registered data set whose descriptor has a `transfer` section. */
  dataset: Type.String({ minLength: 1 }),
  /** Images used of the target's training / test split (all when absent). */
  trainCount: Type.Optional(Type.Integer({ minimum: 1 })),
  testCount: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type TransferConfig = Static<typeof TransferConfigSchema>;

/** Table 5's protocol per data set at the paper's sizes; smaller presets shrink epochs and batch. */
const TRANSFER_SCALE: Record<string, Partial<TransferConfig>> = {
  paper: {},
  // 16x the base lr, as the pre-training presets do for their short schedules
  tiny: { epochs: 8, batch: 64, warmupEpochs: 1, baseLr: 3e-4 * 16, trainCount: 2000, testCount: 1000 },
  small: { epochs: 20, batch: 128, warmupEpochs: 2, baseLr: 3e-4 * 8, trainCount: 10000, testCount: 2000 },
  smoke: { epochs: 1, batch: 16, warmupEpochs: 0, trainCount: 64, testCount: 32 },
};

/** A transfer cell's config for the target `source` at a preset: its recipe, the preset's sizes, the cell's fields. */
export function transferConfig(preset: string, source: DatasetSource, over: Record<string, unknown> = {}): TransferConfig {
  const recipe = finetuneRecipe(source);
  const scale = TRANSFER_SCALE[preset];
  if (!scale) throw new Error(`--preset: unknown preset '${preset}'`);
  return parsePluginConfig(TransferConfigSchema, { ...recipe, ...scale, ...over, dataset: source.name }, 'transfer');
}
