/**
 * Data sets by name, as the container registers them: each loads a training set and a held-out
 * labelled set for a pre-training cell from its data config.
 */
import type { DataConfig } from '../runner/config.ts';
import type { ImageSet } from './image-set.ts';
import { makeSynthetic } from './synthetic.ts';
import { FASHION_MNIST_DIR, loadFashionMnist } from './fashion-mnist.ts';

export interface DatasetSource {
  readonly name: string;
  readonly title: string;
  load(d: DataConfig, seed: number): { train: ImageSet; test: ImageSet };
}

export const IMAGENET_NEEDED =
  'data.path: this preset pre-trains on ImageNet; pass --data PATH to an ImageFolder root with train/ and val/ (one sub-folder of images per class), or use --preset tiny or smoke';

export const syntheticSource: DatasetSource = {
  name: 'synthetic',
  title: 'embedded procedural image set (10 shape/texture classes, 32 px RGB)',
  load: (d, seed) => ({
    train: makeSynthetic({ count: d.trainCount ?? 10000, size: 32, seed, name: 'synthetic-train' }),
    test: makeSynthetic({ count: d.testCount ?? 2000, size: 32, seed: seed + 1_000_003, name: 'synthetic-test' }),
  }),
};

export const fashionMnistSource: DatasetSource = {
  name: 'fashion-mnist',
  title: 'Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)',
  load: (d) => {
    const dir = d.path ?? FASHION_MNIST_DIR;
    return {
      train: loadFashionMnist({ dir, split: 'train', limit: d.trainCount }),
      test: loadFashionMnist({ dir, split: 'test', limit: d.testCount }),
    };
  },
};

export const imagenetSource: DatasetSource = {
  name: 'imagenet',
  title: 'ImageNet-1k ImageFolder (train/ and val/)',
  load: (d) => {
    if (!d.path) throw new Error(IMAGENET_NEEDED);
    throw new Error(`${d.path}: reading ImageNet ImageFolder data is not implemented yet (real data formats are issue 6); use --preset tiny or smoke`);
  },
};

export const DATASET_SOURCES: DatasetSource[] = [syntheticSource, fashionMnistSource, imagenetSource];
