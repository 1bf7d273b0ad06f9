/**
 * Which data set a cell uses, and that the folder given is used: 'auto' means Fashion-MNIST when its
 * Debian package (or the folder given) holds it, else the embedded synthetic set. The resolved name is
 * what the cell's config (and hash) records. A `data.path` (--data) is always used or an error:
 * missing or not holding Fashion-MNIST (auto), given to a set that reads no files, or (for the sets
 * read from files) refused by the set's loader naming what is missing.
 */
import { existsSync } from 'node:fs';
import type { DataConfig } from '../core/config.ts';
import { FASHION_MNIST_DIR, fashionMnistAvailable } from '../data/fashion-mnist.ts';
import { DATASET_SOURCES, type DatasetSource } from '../data/sources.ts';

export function resolveDataset(d: DataConfig, sources: readonly DatasetSource[] = DATASET_SOURCES): DataConfig {
  if (d.dataset === 'auto') {
    if (d.path === undefined) {
      return fashionMnistAvailable(FASHION_MNIST_DIR)
        ? { ...d, dataset: 'fashion-mnist', path: FASHION_MNIST_DIR }
        : { ...d, dataset: 'synthetic', path: undefined };
    }
    if (!existsSync(d.path)) throw new Error(`data.path: ${d.path}: no such file or folder (--data)`);
    if (!fashionMnistAvailable(d.path)) {
      throw new Error(
        `data.path: ${d.path} holds no Fashion-MNIST IDX files (train- and t10k-images-idx3-ubyte, -labels-idx1-ubyte, ` +
          'optionally .gz); this suite reads Fashion-MNIST from --data, or from the Debian package without it',
      );
    }
    return { ...d, dataset: 'fashion-mnist' };
  }
  const source = sources.find((s) => s.name === d.dataset);
  if (!source) return d; // the registry's check names the unknown set with the known ones
  if (source.path === 'required' && !d.path) throw new Error(source.missingPath ?? `data.path: dataset '${d.dataset}' needs --data PATH`);
  if (source.path === 'none' && d.path !== undefined) {
    throw new Error(
      `data.path: dataset '${d.dataset}' is generated in memory and reads no files, so --data ${d.path} would be ignored; ` +
        'drop --data, or run a suite on a data set that is read from files',
    );
  }
  return d;
}
