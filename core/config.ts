/**
 * The resolved configuration of one pre-training cell: everything that determines its result.
 * A cell's config = its preset's recipe, deep-merged with the suite cell's overrides; the hash of
 * the resolved config names the cell's run folder, so a finished cell is found again and skipped.
 */
import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { StringEnum } from './plugin.ts';

/** Options every backbone family understands; families ignore what does not apply to them. */
const posInt = (description?: string) => Type.Integer({ minimum: 1, ...(description ? { description } : {}) });
const posNum = (description?: string) => Type.Number({ exclusiveMinimum: 0, ...(description ? { description } : {}) });

/** A backbone's switches (the ablations'); each backbone family reads the ones it has. */
export const BackboneOptionsSchema = Type.Object(
  {
    patchSize: Type.Optional(posInt()),
    imageSize: Type.Optional(posInt()),
    posEmbed: Type.Optional(StringEnum(['sincos', 'learned', 'none'] as const)),
    pooling: Type.Optional(StringEnum(['cls', 'gap-ln', 'gap'] as const)),
    randomPatchProj: Type.Optional(Type.Boolean()),
    mlpBatchNorm: Type.Optional(Type.Boolean()),
    /** ViT: stochastic depth rate of the last block (linear from 0 over the blocks; training only); default 0. */
    dropPath: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
    /** ResNet stem: 'imagenet' (7x7/2 conv + max pool) or 'cifar' (3x3/1 conv); default by image size. */
    stem: Type.Optional(StringEnum(['imagenet', 'cifar'] as const)),
    /** ResNet: each block's last BN gamma starts at 0 (torchvision's zero_init_residual). */
    zeroInitResidual: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export type BackboneOptions = Static<typeof BackboneOptionsSchema> & {
  /**
   * ViT: the fine-tuning build of Table 5's transfer path (backbones/vit/config.ts FinetuneBuild):
   * every parameter trainable ('pretrained': then load the weights; 'scratch': a from-scratch DeiT
   * ViT with timm's init). Set by the transfer path only, never in a pre-training config (so not in
   * its schema). ResNet ignores it (all its parameters train anyway).
   */
  finetune?: 'pretrained' | 'scratch';
};

export const DataConfigSchema = Type.Object(
  {
    /** A registered data set by name; 'auto': Fashion-MNIST when installed, else the embedded synthetic set. */
    dataset: Type.String({ minLength: 1 }),
    /** Folder of the data set (Fashion-MNIST IDX files; ImageNet ImageFolder root; CIFAR binary folder; Flowers-102 / Pets root). */
    path: Type.Optional(Type.String({ minLength: 1 })),
    /** Training images used (all when absent). */
    trainCount: Type.Optional(posInt()),
    /** Held-out labelled images for kNN (all when absent). */
    testCount: Type.Optional(posInt()),
    /** Side of the augmented views and of the backbone input, pixels. */
    viewSize: posInt(),
    /** Eval transform: centre crop fraction before resizing (224/256 in the paper). */
    evalCropFraction: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    /**
     * Read the image files as training goes instead of decoding the set into memory (ImageNet at
     * the paper preset): pre-training batches from the streaming pipeline (input/), kNN features a
     * batch at a time. `onCorrupt`: a file that does not decode stops the run, or is named and skipped.
     */
    stream: Type.Optional(
      Type.Object({ onCorrupt: Type.Union([Type.Literal('stop'), Type.Literal('skip')]) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type DataConfig = Static<typeof DataConfigSchema>;

/** The common fields of the optimizer section; the optimiser's own (optim/index.ts) sit beside them. */
export const OptimizerCommonSchema = Type.Object({
  /**
   * A registered optimiser (optim/index.ts), whose own fields (AdamW's beta1 / beta2 / eps, LARS's
   * momentum / trustCoefficient) may follow.
   */
  name: Type.String({ minLength: 1 }),
  baseLr: posNum(),
  weightDecay: Type.Number({ minimum: 0 }),
  batch: Type.Integer({ minimum: 2 }),
  epochs: posInt(),
  warmupEpochs: Type.Number({ minimum: 0 }),
  /** lr = baseLr x batch / lrScaleDivisor (256). */
  lrScaleDivisor: posNum(),
  /**
   * Cached-gradient training (runner/train-step.ts): the online backbone runs this many images at a
   * time and the heads and loss the whole batch; the whole batch's gradient up to summation order on
   * a backbone without BatchNorm. Absent: one pass. Not in the hash unless `chunkBn` is per-chunk.
   */
  chunk: Type.Optional(posInt()),
  /**
   * A backbone with BatchNorm (R-50, ViT-BN) sees each chunk's statistics, i.e. per-device BN, not the
   * whole batch's: refused unless this says 'per-chunk' (then the table flags the cell).
   */
  chunkBn: Type.Optional(StringEnum(['per-chunk'] as const)),
});
export type OptimizerConfig = Static<typeof OptimizerCommonSchema> & { [field: string]: unknown };

export const MonitorConfigSchema = Type.Object(
  {
    /** Evaluate the kNN monitor every this many iterations. */
    every: posInt(),
    /** Queue length as a fraction of the training set (0.1 in the paper). */
    queueFraction: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    k: posInt(),
    temperature: posNum(),
    /** Held-out images the monitor classifies (the first `queries` of the held-out split: fixed). */
    queries: posInt(),
    /**
     * A fixed kNN bank instead of the paper's queue: the first `bank` training images, centre-cropped,
     * their features re-extracted with the current backbone at each evaluation (small presets, where
     * that is affordable and the queue of stale augmented crops is noisier than the dips it should
     * show). Absent: the paper's queue (`queueFraction` of the training set).
     */
    bank: Type.Optional(posInt()),
  },
  { additionalProperties: false },
);
export type MonitorConfig = Static<typeof MonitorConfigSchema>;

/** A plugin's section (framework, optimiser) allows the plugin's own scalar fields; its schema checks them on resolution. */
const PLUGIN_FIELD = Type.Union([Type.Number(), Type.String(), Type.Boolean()]);

/**
 * The whole pre-training config: one schema that is the JSON Schema the suites validate against
 * (suites/pretrain-config-schema.ts) and, through `Static`, the type below.
 */
export const PretrainConfigSchema = Type.Object(
  {
    seed: Type.Integer({ minimum: 0 }),
    data: DataConfigSchema,
    backbone: Type.Composite([Type.Object({ name: Type.String({ minLength: 1 }) }), BackboneOptionsSchema], {
      additionalProperties: false,
    }),
    /** The framework by name, and its own fields (validated against that framework's schema). */
    framework: Type.Object({ name: Type.String({ minLength: 1 }) }, { additionalProperties: PLUGIN_FIELD }),
    optimizer: Type.Object(OptimizerCommonSchema.properties, { additionalProperties: PLUGIN_FIELD }),
    augment: Type.Object(
      {
        cropMin: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
        /**
         * Multi-crop (SwAV's): `count` local crops besides the two global views, of side `size` (default
         * 96/224 of data.viewSize) and RandomResizedCrop scale `scale` (default (0.05, 0.14)); only for a
         * framework that takes local crops. Absent (the paper's suites): two views.
         */
        multiCrop: Type.Optional(
          Type.Object(
            {
              count: Type.Integer({ minimum: 1 }),
              size: Type.Optional(posInt()),
              scale: Type.Optional(Type.Tuple([posNum(), Type.Number({ exclusiveMinimum: 0, maximum: 1 })])),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    monitor: MonitorConfigSchema,
    knn: Type.Object({ k: posInt(), temperature: posNum() }, { additionalProperties: false }),
    /** Checkpoint every this many iterations (and at the end). */
    checkpointEvery: posInt(),
    /**
     * Precision of the matrix products, the linear layers' and attention's (absent: fp32). 'bf16':
     * their inputs rounded to bf16; fp32 accumulation, master weights, optimiser state, loss, softmax
     * and normalisation (PyTorch's CPU autocast);
     * needs the native kernels with oneDNN. Set by `bench run --precision`.
     */
    precision: Type.Optional(StringEnum(['fp32', 'bf16'] as const)),
  },
  { additionalProperties: false },
);

/** A resolved config (the schema's type, the plugin sections open to their plugins' fields). */
export type PretrainConfig = Omit<Static<typeof PretrainConfigSchema>, 'backbone' | 'framework' | 'optimizer'> & {
  backbone: { name: string } & BackboneOptions;
  framework: { name: string; [field: string]: unknown };
  optimizer: OptimizerConfig;
};

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge: objects merge key by key, everything else in `over` replaces `base`. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out as T;
}

/** JSON with sorted keys, so that equal configs hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * A config's hash: it names the run folder. With `dataContent` (the fingerprint of the files at
 * `data.path`, data/content-fingerprint.ts) the data are identified by what they hold, not where
 * they are: the path is left out and the fingerprint put in. Without it (or without a path) the
 * config as it is; earlier versions hashed the path so (runner/cell-hash.ts maps such folders).
 */
export function configHash(c: PretrainConfig, dataContent?: string): string {
  return createHash('sha256')
    .update(canonicalJson(hashedConfig(c, dataContent)))
    .digest('hex')
    .slice(0, 12);
}

/** The config as its hash sees it: with `dataContent`, `data.path` replaced by `data.content`. */
export function hashedConfig(c: PretrainConfig, dataContent?: string): PretrainConfig {
  const byContent = dataContent === undefined || c.data.path === undefined ? c : { ...c, data: dataByContent(c.data, dataContent) };
  // exact chunking changes no number beyond summation order: the same cell (and run folder) as one pass
  if (byContent.optimizer.chunk === undefined || byContent.optimizer.chunkBn === 'per-chunk') return byContent;
  const { chunk: _chunk, ...optimizer } = byContent.optimizer;
  return { ...byContent, optimizer: optimizer as PretrainConfig['optimizer'] };
}

/** A data config with its path replaced by the fingerprint of what is there (the data named by content). */
export function dataByContent(d: DataConfig, content: string): DataConfig {
  const { path: _where, ...rest } = d;
  return { ...rest, content } as DataConfig;
}
