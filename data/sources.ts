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
}

/** What --data PATH must hold for the transfer data sets read from their official files. */
const DATA_LAYOUTS: Record<string, string> = {
  cifar10: `the CIFAR-10 binary folder ${CIFAR_LAYOUTS.cifar10.folder}/ (data_batch_1..5.bin, test_batch.bin) or its parent`,
  cifar100: `the CIFAR-100 binary folder ${CIFAR_LAYOUTS.cifar100.folder}/ (train.bin, test.bin) or its parent`,
  flowers102: `the Oxford Flowers-102 folder: ${FLOWERS102_LAYOUT}`,
  pets: `the Oxford-IIIT Pets folder: ${PETS_LAYOUT}`,
};

/** The error for a data set of DATA_LAYOUTS run without --data. */
export function pathNeeded(name: string): string {
  return `data.path: dataset '${name}' needs --data PATH to ${DATA_LAYOUTS[name]}`;
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

function cifarSource(variant: CifarVariant, title: string): DatasetSource {
  return {
    kind: 'dataset',
    name: variant,
    title,
    path: 'required',
    missingPath: pathNeeded(variant),
    imageShape: () => [32, 32, 3],
    load: (d) => {
      if (!d.path) throw new Error(pathNeeded(variant));
      return {
        train: loadCifar(variant, { root: d.path, split: 'train', limit: d.trainCount }),
        test: loadCifar(variant, { root: d.path, split: 'test', limit: d.testCount }),
      };
    },
  };
}

export const cifar10Source = cifarSource('cifar10', 'CIFAR-10 binary version (cifar-10-batches-bin/: data_batch_1..5.bin, test_batch.bin)');
export const cifar100Source = cifarSource('cifar100', 'CIFAR-100 binary version, fine labels (cifar-100-binary/: train.bin, test.bin)');

export const flowers102Source: DatasetSource = {
  kind: 'dataset',
  name: 'flowers102',
  title: 'Oxford Flowers-102 (jpg/, imagelabels.mat, setid.mat; train = trnid + valid, test = tstid)',
  path: 'required',
  missingPath: pathNeeded('flowers102'),
  load: async (d) => {
    if (!d.path) throw new Error(pathNeeded('flowers102'));
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
  missingPath: pathNeeded('pets'),
  load: async (d) => {
    if (!d.path) throw new Error(pathNeeded('pets'));
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
