/**
 * Oxford Flowers-102 in its official layout (https://www.robots.ox.ac.uk/~vgg/data/flowers/102/):
 *
 *   root/jpg/image_00001.jpg .. image_08189.jpg   (102flowers.tgz)
 *   root/imagelabels.mat                          (variable `labels`: 1 x 8189, classes 1..102)
 *   root/setid.mat                                (`trnid`, `valid`, `tstid`: 1-based image ids)
 *
 * As in the MoCo v3 transfer recipe, 'train' is trnid + valid (2,040 images) and 'test' is tstid
 * (6,149); labels 1..102 become 0..101. Images are decoded and resized with `decodeImages`.
 * `limit` keeps that many images of the split, balanced over classes (`balancedFirst`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_BYTES, checkMemory, decodeImages, type DecodeOptions } from './decode.ts';
import { balancedFirst } from './image-folder.ts';
import type { ImageSet } from './image-set.ts';
import { matVariable, readMat } from './matlab-v5.ts';

export const FLOWERS102_CLASSES = 102;
export const FLOWERS102_LAYOUT =
  'root/jpg/image_NNNNN.jpg, root/imagelabels.mat, root/setid.mat (from https://www.robots.ox.ac.uk/~vgg/data/flowers/102/)';

export type Flowers102Split = 'train' | 'test';

export type Flowers102Options = DecodeOptions & {
  root: string;
  split: Flowers102Split;
  /** Keep this many images of the split, balanced over classes. */
  limit?: number;
};

export interface Flowers102Ids {
  /** 1-based image ids, in the order of the set ids (trnid then valid for 'train'). */
  ids: number[];
  /** Class 0..101 of each id. */
  labels: Int32Array;
}

/** Path of image `id` (1-based). */
export function flowers102Image(root: string, id: number): string {
  return join(root, 'jpg', `image_${String(id).padStart(5, '0')}.jpg`);
}

function need(path: string): string {
  if (!existsSync(path)) throw new Error(`${path}: missing; Oxford Flowers-102 expects ${FLOWERS102_LAYOUT}`);
  return path;
}

/** Reads imagelabels.mat and setid.mat: the ids and 0-based labels of one split. */
export function readFlowers102Split(root: string, split: Flowers102Split): Flowers102Ids {
  if (split !== 'train' && split !== 'test') throw new Error(`readFlowers102Split: split must be 'train' or 'test', got ${String(split)}`);
  const labelsPath = need(join(root, 'imagelabels.mat'));
  const setidPath = need(join(root, 'setid.mat'));
  const labelValues = matVariable(readMat(labelsPath), 'labels', labelsPath).data;
  for (let i = 0; i < labelValues.length; i++) {
    const l = labelValues[i];
    if (!Number.isInteger(l) || l < 1 || l > FLOWERS102_CLASSES) {
      throw new Error(`${labelsPath}: labels(${i + 1}) = ${l} is not a class in 1..${FLOWERS102_CLASSES}`);
    }
  }
  const sets = readMat(setidPath);
  const names = split === 'train' ? ['trnid', 'valid'] : ['tstid'];
  const ids: number[] = [];
  for (const n of names) {
    for (const id of matVariable(sets, n, setidPath).data) {
      if (!Number.isInteger(id) || id < 1 || id > labelValues.length) {
        throw new Error(`${setidPath}: ${n} holds image id ${id}, outside 1..${labelValues.length} (the images in imagelabels.mat)`);
      }
      ids.push(id);
    }
  }
  return { ids, labels: Int32Array.from(ids, (id) => labelValues[id - 1] - 1) };
}

/** Loads one split of Flowers-102 as an RGB ImageSet of side `size`. */
export async function loadFlowers102(o: Flowers102Options): Promise<ImageSet> {
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 0)) {
    throw new Error(`loadFlowers102: limit must be a non-negative integer, got ${o.limit}`);
  }
  if (!existsSync(o.root)) throw new Error(`${o.root}: no such folder; Oxford Flowers-102 expects ${FLOWERS102_LAYOUT}`);
  let { ids, labels } = readFlowers102Split(o.root, o.split);
  if (o.limit !== undefined && o.limit < ids.length) {
    const keep = balancedFirst(labels, o.limit);
    ids = keep.map((i) => ids[i]);
    labels = Int32Array.from(keep, (i) => labels[i]);
  }
  const files = ids.map((id) => flowers102Image(o.root, id));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) {
    throw new Error(
      `${missing[0]}: missing${missing.length > 1 ? ` (and ${missing.length - 1} more images of the ${o.split} split)` : ''}; Oxford ` +
        `Flowers-102 expects ${FLOWERS102_LAYOUT}`,
    );
  }
  checkMemory(files.length, o.size, o.maxBytes ?? DEFAULT_MAX_BYTES, o.root, 'a limit');
  const images = await decodeImages(files, o, o.root);
  return {
    name: `flowers102-${o.split}`,
    images,
    labels,
    count: files.length,
    height: o.size,
    width: o.size,
    channels: 3,
    numClasses: FLOWERS102_CLASSES,
  };
}
