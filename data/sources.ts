/**
 * Data sets by name, as the container registers them: each loads a training set and a held-out
 * labelled set for a pre-training cell from its data config (synchronously for the in-memory and
 * byte-format sets, asynchronously for those decoded from image files).
 *
 * Image-file sets (ImageNet, Flowers-102, Pets) are decoded at side round(viewSize /
 * evalCropFraction) (256 for 224 / (224/256)): shorter side to that, centre crop; the evaluation's
 * centre crop of evalCropFraction then gives viewSize, as the paper's resize 256 / crop 224.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DataConfig } from '../core/config.ts';
import type { ImageSet } from './image-set.ts';
import { makeSynthetic } from './synthetic.ts';
import { FASHION_MNIST_DIR, loadFashionMnist } from './fashion-mnist.ts';
import { CIFAR_LAYOUTS, loadCifar, type CifarVariant } from './cifar.ts';
import { loadImageFolder, scanImageFolder, type ImageFolderIndex } from './image-folder.ts';
import { fileImageSet, type FileImageSet } from './file-image-set.ts';
import { FLOWERS102_LAYOUT, loadFlowers102 } from './flowers102.ts';
import { PETS_LAYOUT, loadPets } from './pets.ts';

export interface SplitSets {
  train: ImageSet;
  test: ImageSet;
}

/**
 * A transfer target's descriptor (Table 5): everything the fine-tuning suites need besides the reader,
 * so that a new target is its reader plus this.
 */
export interface TransferSpec {
  /** Its folder under `--data-root`, as the official archive unpacks. */
  readonly folder: string;
  /** What that folder holds (said in errors). */
  readonly layout: string;
  /** The official splits `load` reads as train and test. */
  readonly splits: { readonly train: string; readonly test: string };
  /**
   * Fine-tuning fields at `paper` that differ from the common transfer recipe (recipes/evaluation.ts,
   * evaluators/finetune.ts FinetuneRecipeSchema), e.g. weight decay and mixup; checked by that schema.
   */
  readonly recipe: Readonly<Record<string, number>>;
  /**
   * The synthetic stand-in the small presets fine-tune on without `--data-root` (data/synthetic.ts:
   * classes up to the generator's 10, its seed and noise).
   */
  readonly standin: { readonly classes: number; readonly seed: number; readonly noise: number };
}

export interface DatasetSource {
  readonly kind: 'dataset';
  readonly name: string;
  readonly title: string;
  /**
   * What `data.path` (--data) means for this set: `required` (the set is read from the user's copy;
   * without a path `missingPath` is the error), `optional` (a default folder), `none` (generated in
   * memory: a path given is an error, never ignored).
   */
  readonly path: 'required' | 'optional' | 'none';
  /** The error when a `required` path is missing: what --data must hold. */
  readonly missingPath?: string;
  load(d: DataConfig, seed: number): SplitSets | Promise<SplitSets>;
  /**
   * Height, width and channels of the images `load` holds in memory (float32), for the estimate
   * made before loading (runner/data-check.ts); absent where it is not known up front.
   */
  imageShape?(d: DataConfig): [number, number, number];
  /**
   * The set as files read on demand (`data.stream`): the training files' listing for the streaming
   * pipeline, and both splits as file-backed sets for the kNN evaluations. Absent for sets that are
   * not image files.
   */
  files?(d: DataConfig): { trainIndex: ImageFolderIndex; train: FileImageSet; test: FileImageSet };
  /** Present for a fine-tuning target of the transfer suites (Table 5). */
  readonly transfer?: TransferSpec;
}

/**
 * A data set descriptor, its shape checked (for plugin files: `defineDataset({...})`): a name, what
 * `data.path` means for it, its reader, and (a transfer target) its `transfer` section.
 */
export function defineDataset(d: Omit<DatasetSource, 'kind'>): DatasetSource {
  const who = `dataset '${(d as { name?: unknown }).name}'`;
  if (typeof d.name !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(d.name))
    throw new Error(`${who}: name must be lower-case letters, digits, '-' or '_'`);
  if (typeof d.load !== 'function') throw new Error(`${who}: load(data, seed) is missing`);
  if (!['required', 'optional', 'none'].includes(d.path)) throw new Error(`${who}: path must be 'required', 'optional' or 'none'`);
  const t = d.transfer;
  if (t) {
    for (const k of ['folder', 'layout'] as const)
      if (typeof t[k] !== 'string' || !t[k]) throw new Error(`${who}: transfer.${k} must be a non-empty string`);
    if (typeof t.splits?.train !== 'string' || typeof t.splits?.test !== 'string')
      throw new Error(`${who}: transfer.splits must name the train and test splits`);
    if (typeof t.recipe !== 'object' || t.recipe === null) throw new Error(`${who}: transfer.recipe must be an object of recipe fields`);
    if (![t.standin?.classes, t.standin?.seed, t.standin?.noise].every((v) => typeof v === 'number'))
      throw new Error(`${who}: transfer.standin must give classes, seed and noise`);
  }
  return { kind: 'dataset', ...d };
}

/** The error for a data set read from the user's copy (`layout`: what it holds) run without --data. */
export function pathNeeded(name: string, layout: string): string {
  return `data.path: dataset '${name}' needs --data PATH to ${layout}`;
}

/** Side at which image files are decoded for a data config: round(viewSize / evalCropFraction). */
export function decodeSize(d: DataConfig): number {
  return Math.max(d.viewSize, Math.round(d.viewSize / d.evalCropFraction));
}

export const IMAGENET_NEEDED =
  'data.path: this preset pre-trains on ImageNet; pass --data PATH to an ImageFolder root with train/ and val/ (one sub-folder of ' +
  'images per class), or use --preset tiny or smoke';

export const syntheticSource: DatasetSource = {
  kind: 'dataset',
  name: 'synthetic',
  title: 'embedded procedural image set (10 shape/texture classes, 32 px RGB)',
  path: 'none',
  imageShape: () => [32, 32, 3],
  load: (d, seed) => ({
    train: makeSynthetic({ count: d.trainCount ?? 10000, size: 32, seed, name: 'synthetic-train' }),
    test: makeSynthetic({ count: d.testCount ?? 2000, size: 32, seed: seed + 1_000_003, name: 'synthetic-test' }),
  }),
};

export const fashionMnistSource: DatasetSource = {
  kind: 'dataset',
  name: 'fashion-mnist',
  title: 'Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)',
  path: 'optional',
  imageShape: () => [28, 28, 1],
  load: (d) => {
    const dir = d.path ?? FASHION_MNIST_DIR;
    return {
      train: loadFashionMnist({ dir, split: 'train', limit: d.trainCount }),
      test: loadFashionMnist({ dir, split: 'test', limit: d.testCount }),
    };
  },
};

/** --data's ImageNet root, with its train/ and val/ checked. */
function imagenetRoot(d: DataConfig): string {
  if (!d.path) throw new Error(IMAGENET_NEEDED);
  for (const sub of ['train', 'val']) {
    if (!existsSync(join(d.path, sub))) {
      throw new Error(
        `${join(d.path, sub)}: missing; --data for imagenet is an ImageFolder root with train/ and val/ (each ` +
          `root/<split>/<class>/<image>)`,
      );
    }
  }
  return d.path;
}

export const imagenetSource: DatasetSource = {
  kind: 'dataset',
  name: 'imagenet',
  title: 'ImageNet-1k ImageFolder (train/ and val/, one sub-folder of images per class)',
  path: 'required',
  missingPath: IMAGENET_NEEDED,
  files: (d) => {
    const root = imagenetRoot(d);
    const trainIndex = scanImageFolder(join(root, 'train'), { limit: d.trainCount });
    const testIndex = scanImageFolder(join(root, 'val'), { limit: d.testCount, classNames: trainIndex.classNames });
    const size = decodeSize(d);
    return { trainIndex, train: fileImageSet(trainIndex, size, 'imagenet-train'), test: fileImageSet(testIndex, size, 'imagenet-val') };
  },
  load: async (d) => {
    const root = imagenetRoot(d);
    const size = decodeSize(d);
    const train = await loadImageFolder(join(root, 'train'), { size, limit: d.trainCount, name: 'imagenet-train' });
    // val/ takes train/'s class list, so that labels agree.
    const test = await loadImageFolder(join(root, 'val'), {
      size,
      limit: d.testCount,
      classNames: train.classNames,
      name: 'imagenet-val',
    });
    return { train, test };
  },
};

function cifarSource(variant: CifarVariant, title: string, transfer: Omit<TransferSpec, 'folder' | 'layout'>): DatasetSource {
  const layout =
    variant === 'cifar10'
      ? `the CIFAR-10 binary folder ${CIFAR_LAYOUTS.cifar10.folder}/ (data_batch_1..5.bin, test_batch.bin) or its parent`
      : `the CIFAR-100 binary folder ${CIFAR_LAYOUTS.cifar100.folder}/ (train.bin, test.bin) or its parent`;
  const missing = pathNeeded(variant, layout);
  return {
    kind: 'dataset',
    name: variant,
    title,
    path: 'required',
    missingPath: missing,
    transfer: { folder: CIFAR_LAYOUTS[variant].folder, layout, ...transfer },
    imageShape: () => [32, 32, 3],
    load: (d) => {
      if (!d.path) throw new Error(missing);
      return {
        train: loadCifar(variant, { root: d.path, split: 'train', limit: d.trainCount }),
        test: loadCifar(variant, { root: d.path, split: 'test', limit: d.testCount }),
      };
    },
  };
}

// Table 5's per-dataset fine-tuning settings (MoCo v3's transfer instructions, transfer/README.md)
export const cifar10Source = cifarSource(
  'cifar10',
  'CIFAR-10 binary version (cifar-10-batches-bin/: data_batch_1..5.bin, test_batch.bin)',
  {
    splits: { train: 'data_batch_1..5 (50,000)', test: 'test_batch (10,000)' },
    recipe: { weightDecay: 0.1, mixupAlpha: 0.8, cutmixAlpha: 1, dropPath: 0.1 },
    standin: { classes: 10, seed: 101, noise: 0.08 },
  },
);
export const cifar100Source = cifarSource('cifar100', 'CIFAR-100 binary version, fine labels (cifar-100-binary/: train.bin, test.bin)', {
  splits: { train: 'train (50,000)', test: 'test (10,000)' },
  recipe: { weightDecay: 0.1, mixupAlpha: 0.5, cutmixAlpha: 1, dropPath: 0.1 },
  standin: { classes: 100, seed: 202, noise: 0.16 },
});

const FLOWERS_LAYOUT = `the Oxford Flowers-102 folder: ${FLOWERS102_LAYOUT}`;
const PETS_FOLDER_LAYOUT = `the Oxford-IIIT Pets folder: ${PETS_LAYOUT}`;

export const flowers102Source: DatasetSource = {
  kind: 'dataset',
  name: 'flowers102',
  title: 'Oxford Flowers-102 (jpg/, imagelabels.mat, setid.mat; train = trnid + valid, test = tstid)',
  path: 'required',
  missingPath: pathNeeded('flowers102', FLOWERS_LAYOUT),
  transfer: {
    folder: 'flowers-102',
    layout: FLOWERS_LAYOUT,
    splits: { train: 'trnid + valid (2,040)', test: 'tstid (6,149)' },
    recipe: { weightDecay: 0.3, mixupAlpha: 0, cutmixAlpha: 0, dropPath: 0.1 },
    standin: { classes: 102, seed: 303, noise: 0.12 },
  },
  load: async (d) => {
    if (!d.path) throw new Error(pathNeeded('flowers102', FLOWERS_LAYOUT));
    const size = decodeSize(d);
    return {
      train: await loadFlowers102({ root: d.path, split: 'train', size, limit: d.trainCount }),
      test: await loadFlowers102({ root: d.path, split: 'test', size, limit: d.testCount }),
    };
  },
};

export const petsSource: DatasetSource = {
  kind: 'dataset',
  name: 'pets',
  title: 'Oxford-IIIT Pets (images/, annotations/trainval.txt and test.txt)',
  path: 'required',
  missingPath: pathNeeded('pets', PETS_FOLDER_LAYOUT),
  transfer: {
    folder: 'oxford-iiit-pet',
    layout: PETS_FOLDER_LAYOUT,
    splits: { train: 'trainval (3,680)', test: 'test (3,669)' },
    recipe: { weightDecay: 0.1, mixupAlpha: 0.8, cutmixAlpha: 0, dropPath: 0 },
    standin: { classes: 37, seed: 404, noise: 0.2 },
  },
  load: async (d) => {
    if (!d.path) throw new Error(pathNeeded('pets', PETS_FOLDER_LAYOUT));
    const size = decodeSize(d);
    return {
      train: await loadPets({ root: d.path, split: 'train', size, limit: d.trainCount }),
      test: await loadPets({ root: d.path, split: 'test', size, limit: d.testCount }),
    };
  },
};

export const DATASET_SOURCES: DatasetSource[] = [
  syntheticSource,
  fashionMnistSource,
  imagenetSource,
  cifar10Source,
  cifar100Source,
  flowers102Source,
  petsSource,
];
