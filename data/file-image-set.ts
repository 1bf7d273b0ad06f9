/**
 * An image set read from its files on demand, for sets too large to decode into memory (ImageNet's
 * train/ is 1.28 M images: 240 GB as floats at 224 px). It has an ImageSet's fields but no
 * `images`: `read(start, n)` decodes images start..start+n-1 (sharp, the eval geometry of
 * data/decode.ts: shorter side to `size`, centre crop) into NHWC floats in [0, 1]. Feature
 * extraction (evaluators/features.ts) reads it a batch at a time, so memory stays one batch.
 */
import { decodeImages } from './decode.ts';
import type { ImageFolderIndex } from './image-folder.ts';
import type { ImageSet } from './image-set.ts';

export interface FileImageSet extends Omit<ImageSet, 'images'> {
  readonly files: readonly string[];
  read(start: number, n: number): Promise<Float32Array>;
}

/** An in-memory set or one read from its files. */
export type AnyImageSet = ImageSet | FileImageSet;

export const isFileSet = (s: AnyImageSet): s is FileImageSet => 'read' in s;

/** The files of an ImageFolder listing as a set of `size` x `size` RGB images. */
export function fileImageSet(index: ImageFolderIndex, size: number, name: string): FileImageSet {
  return fileSet(name, index.files, index.labels, index.classNames, size);
}

function fileSet(name: string, files: readonly string[], labels: Int32Array, classNames: string[], size: number): FileImageSet {
  return {
    name,
    files,
    labels,
    count: files.length,
    height: size,
    width: size,
    channels: 3,
    numClasses: classNames.length,
    classNames,
    read: (start, n) => {
      if (!(Number.isInteger(start) && Number.isInteger(n) && start >= 0 && n >= 0 && start + n <= files.length))
        throw new Error(`${name}: images ${start}..${start + n - 1} are outside [0, ${files.length})`);
      return decodeImages(files.slice(start, start + n), { size }, name);
    },
  };
}

/** The first `n` images of a file set (the same files, fewer). */
export function firstFiles(set: FileImageSet, n: number): FileImageSet {
  const k = Math.min(n, set.count);
  return fileSet(`${set.name}[:${k}]`, set.files.slice(0, k), set.labels.subarray(0, k), set.classNames ?? [], set.height);
}
