/**
 * Fashion-MNIST from the Debian package `dataset-fashion-mnist`, which installs the four IDX files
 * under /usr/share/datasets/fashion-mnist. Returns a 28x28, 1-channel ImageSet with values / 255;
 * `toRgb` repeats the grey channel for models that take RGB.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readIdxPair } from './idx.ts';
import type { ImageSet } from './image-set.ts';

export { toRgb } from './image-set.ts';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASS_NAMES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export type FashionMnistSplit = 'train' | 'test';

export interface FashionMnistOptions {
  dir?: string;
  split: FashionMnistSplit;
  /** Keep only the first `limit` images. */
  limit?: number;
}

const PREFIX: Record<FashionMnistSplit, string> = { train: 'train', test: 't10k' };

/** The file names tried, in order, for one split's images or labels. */
export function fashionMnistCandidates(split: FashionMnistSplit, kind: 'images' | 'labels'): string[] {
  const base = `${PREFIX[split]}-${kind}-idx${kind === 'images' ? 3 : 1}-ubyte`;
  const dotted = `${PREFIX[split]}-${kind}.idx${kind === 'images' ? 3 : 1}-ubyte`;
  return [`${base}.gz`, base, `${dotted}.gz`, dotted];
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function findFile(dir: string, split: FashionMnistSplit, kind: 'images' | 'labels'): string | undefined {
  for (const name of fashionMnistCandidates(split, kind)) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** True when `dir` holds the image and label files of the given split (of both splits when omitted). */
export function fashionMnistAvailable(dir: string = FASHION_MNIST_DIR, split?: FashionMnistSplit): boolean {
  if (!isDir(dir)) return false;
  const splits: FashionMnistSplit[] = split ? [split] : ['train', 'test'];
  return splits.every((s) => findFile(dir, s, 'images') !== undefined && findFile(dir, s, 'labels') !== undefined);
}

/** Loads one split of Fashion-MNIST as a 28x28x1 ImageSet with values in [0, 1]. */
export function loadFashionMnist(options: FashionMnistOptions): ImageSet {
  const { dir = FASHION_MNIST_DIR, split, limit } = options;
  if (split !== 'train' && split !== 'test') throw new Error(`loadFashionMnist: split must be 'train' or 'test', got ${String(split)}`);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    throw new Error(`loadFashionMnist: limit must be a non-negative integer, got ${limit}`);
  }
  if (!isDir(dir)) {
    throw new Error(`${dir}: Fashion-MNIST folder not found; install it with: apt-get install dataset-fashion-mnist`);
  }
  const need = (kind: 'images' | 'labels'): string => {
    const p = findFile(dir, split, kind);
    if (p === undefined) {
      throw new Error(
        `${dir}: no Fashion-MNIST ${split} ${kind} file (tried ${fashionMnistCandidates(split, kind).join(', ')}); ` +
          `reinstall with: apt-get install --reinstall dataset-fashion-mnist`,
      );
    }
    return p;
  };
  const imagesPath = need('images');
  const labelsPath = need('labels');
  const idx = readIdxPair(imagesPath, labelsPath);
  const numClasses = FASHION_MNIST_CLASS_NAMES.length;
  const count = limit === undefined ? idx.count : Math.min(limit, idx.count);
  const size = idx.rows * idx.cols;
  const images = new Float32Array(count * size);
  for (let i = 0; i < images.length; i++) images[i] = idx.pixels[i] / 255;
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const l = idx.labels[i];
    if (l >= numClasses) throw new Error(`${labelsPath}: label ${l} at index ${i} is outside [0, ${numClasses})`);
    labels[i] = l;
  }
  return {
    name: `fashion-mnist-${split}`,
    images,
    labels,
    count,
    height: idx.rows,
    width: idx.cols,
    channels: 1,
    numClasses,
    classNames: [...FASHION_MNIST_CLASS_NAMES],
  };
}
