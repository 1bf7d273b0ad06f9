/**
 * Which data set a cell uses: 'auto' means Fashion-MNIST when its Debian package is installed,
 * else the embedded synthetic set. The resolved name is what the cell's config (and hash) records.
 */
import type { DataConfig } from '../core/config.ts';
import { FASHION_MNIST_DIR, fashionMnistAvailable } from '../data/fashion-mnist.ts';
import { DATA_LAYOUTS, IMAGENET_NEEDED, pathNeeded } from '../data/sources.ts';

export function resolveDataset(d: DataConfig): DataConfig {
  if (d.dataset === 'imagenet' && !d.path) throw new Error(IMAGENET_NEEDED);
  if (d.dataset in DATA_LAYOUTS && !d.path) throw new Error(pathNeeded(d.dataset));
  if (d.dataset !== 'auto') return d;
  const dir = d.path ?? FASHION_MNIST_DIR;
  return fashionMnistAvailable(dir) ? { ...d, dataset: 'fashion-mnist', path: dir } : { ...d, dataset: 'synthetic', path: undefined };
}
