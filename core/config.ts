/**
 * The resolved configuration of one pre-training cell: everything that determines its result.
 * A cell's config = its preset's recipe, deep-merged with the suite cell's overrides; the hash of
 * the resolved config names the cell's run folder, so a finished cell is found again and skipped.
 */
import { createHash } from 'node:crypto';

/** Options every backbone family understands; families ignore what does not apply to them. */
export interface BackboneOptions {
  patchSize?: number;
  imageSize?: number;
  posEmbed?: 'sincos' | 'learned' | 'none';
  pooling?: 'cls' | 'gap-ln' | 'gap';
  randomPatchProj?: boolean;
  mlpBatchNorm?: boolean;
  /** ViT: stochastic depth rate of the last block (linear from 0 over the blocks; training only); default 0. */
  dropPath?: number;
  /** ResNet stem: 'imagenet' (7x7/2 conv + max pool) or 'cifar' (3x3/1 conv); default by image size. */
  stem?: 'imagenet' | 'cifar';
  /** ResNet: each block's last BN gamma starts at 0 (torchvision's zero_init_residual). */
  zeroInitResidual?: boolean;
  /**
   * ViT: the fine-tuning build of Table 5's transfer path (backbones/vit/config.ts FinetuneBuild):
   * every parameter trainable ('pretrained': then load the weights; 'scratch': a from-scratch DeiT
   * ViT with timm's init). Set by the transfer path only, never in a pre-training config. ResNet
   * ignores it (all its parameters train anyway).
   */
  finetune?: 'pretrained' | 'scratch';
}

export type DatasetName = 'auto' | 'synthetic' | 'fashion-mnist' | 'imagenet' | 'cifar10' | 'cifar100' | 'flowers102' | 'pets';

export interface DataConfig {
  /** 'auto': Fashion-MNIST when installed, else the embedded synthetic set. */
  dataset: DatasetName;
  /** Folder of the data set (Fashion-MNIST IDX files; ImageNet ImageFolder root; CIFAR binary folder; Flowers-102 / Pets root). */
  path?: string;
  /** Training images used (all when absent). */
  trainCount?: number;
  /** Held-out labelled images for kNN (all when absent). */
  testCount?: number;
  /** Side of the augmented views and of the backbone input, pixels. */
  viewSize: number;
  /** Eval transform: centre crop fraction before resizing (224/256 in the paper). */
  evalCropFraction: number;
}


/**
 * The optimiser by name (a registered optimiser plugin, optim/index.ts), the common fields, and the
 * optimiser's own fields (e.g. AdamW's beta1 / beta2 / eps, LARS's momentum / trustCoefficient;
 * each optimiser's default when absent), validated against that optimiser's schema.
 */
export interface OptimizerConfig {
  name: string;
  baseLr: number;
  weightDecay: number;
  batch: number;
  epochs: number;
  warmupEpochs: number;
  /** lr = baseLr x batch / lrScaleDivisor (256). */
  lrScaleDivisor: number;
  [field: string]: unknown;
}

export interface MonitorConfig {
  /** Evaluate the kNN monitor every this many iterations. */
  every: number;
  /** Queue length as a fraction of the training set (0.1 in the paper). */
  queueFraction: number;
  k: number;
  temperature: number;
  /** Held-out images the monitor classifies (the first `queries` of the held-out split: fixed). */
  queries: number;
  /**
   * A fixed kNN bank instead of the paper's queue: the first `bank` training images, centre-cropped,
   * their features re-extracted with the current backbone at each evaluation (small presets, where
   * that is affordable and the queue of stale augmented crops is noisier than the dips it should
   * show). Absent: the paper's queue (`queueFraction` of the training set).
   */
  bank?: number;
}

export interface PretrainConfig {
  seed: number;
  data: DataConfig;
  backbone: { name: string } & BackboneOptions;
  /** The framework by name, and its own fields (validated against that framework's schema). */
  framework: { name: string; [field: string]: unknown };
  optimizer: OptimizerConfig;
  augment: { cropMin: number };
  monitor: MonitorConfig;
  knn: { k: number; temperature: number };
  /** Checkpoint every this many iterations (and at the end). */
  checkpointEvery: number;
}

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

export function configHash(c: PretrainConfig): string {
  return createHash('sha256').update(canonicalJson(c)).digest('hex').slice(0, 12);
}
