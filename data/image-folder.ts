/**
 * ImageFolder, torchvision's generic layout: `root/<class>/<image>` with one sub-folder per class
 * (files may sit in nested folders below it). Classes are the sub-folder names sorted by code
 * point, labels their index, as torchvision's `ImageFolder`; images are the files ending in .jpg,
 * .jpeg, .png or .webp (any case), found recursively and sorted by folder then file name.
 * ImageNet's train/ and val/ folders (val sorted into class folders) are ImageFolder roots.
 *
 * `scanImageFolder` lists the files (synchronously, no decoding); `loadImageFolder` decodes them
 * with `decodeImages` (sharp) into an RGB ImageSet of side `size`, after checking the memory the
 * set will take. Limits keep the first files in sorted order: `limitPerClass` per class; `limit`
 * in total, balanced over classes (the i-th file of every class comes before the (i+1)-th of any).
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DEFAULT_MAX_BYTES, checkMemory, decodeImages, type DecodeOptions } from './decode.ts';
import type { ImageSet } from './image-set.ts';

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];

export interface ImageFolderIndex {
  root: string;
  classNames: string[];
  /** Image paths, sorted by class then path. */
  files: string[];
  /** Class index of each file. */
  labels: Int32Array;
}

export interface ScanOptions {
  /** Keep the first N files of each class. */
  limitPerClass?: number;
  /** Keep N files in total, balanced over classes (see the header). */
  limit?: number;
  /** Use this class list (e.g. a val/ folder takes train/'s); every sub-folder must be in it. */
  classNames?: readonly string[];
}

export type ImageFolderOptions = ScanOptions & DecodeOptions & { name?: string };

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function checkCount(what: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`${what} must be a non-negative integer, got ${v}`);
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Image files under `dir`, recursively: folders sorted by path, then files sorted by name within
 * each folder (torchvision's `sorted(os.walk(...))` loop).
 */
function listImages(dir: string): string[] {
  const folders: string[] = [];
  const walk = (d: string): void => {
    folders.push(d);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && isDir(p))) walk(p);
    }
  };
  walk(dir);
  const out: string[] = [];
  for (const d of folders.sort(byCodePoint)) {
    const names = readdirSync(d, { withFileTypes: true })
      .filter(
        (e) => (e.isFile() || (e.isSymbolicLink() && !isDir(join(d, e.name)))) && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase()),
      )
      .map((e) => e.name)
      .sort(byCodePoint);
    for (const n of names) out.push(join(d, n));
  }
  return out;
}

/**
 * Indices kept by a total `limit` balanced over classes, in their original order: rounds take the
 * next item of each class in turn (classes in label order) until `limit` items are taken, so
 * within a class the earliest items are kept.
 */
export function balancedFirst(labels: ArrayLike<number>, limit: number): number[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const members = byClass.get(labels[i]);
    if (members) members.push(i);
    else byClass.set(labels[i], [i]);
  }
  const groups = [...byClass.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m);
  const keep: number[] = [];
  for (let round = 0; keep.length < Math.min(limit, labels.length); round++) {
    for (const m of groups) {
      if (round < m.length && keep.length < limit) keep.push(m[round]);
    }
  }
  return keep.sort((a, b) => a - b);
}

/** Lists an ImageFolder: class names and image files (nothing is decoded). */
export function scanImageFolder(root: string, o: ScanOptions = {}): ImageFolderIndex {
  checkCount('scanImageFolder: limitPerClass', o.limitPerClass);
  checkCount('scanImageFolder: limit', o.limit);
  if (!isDir(root)) throw new Error(`${root}: ImageFolder root not found (expected root/<class>/<image files>)`);
  const dirs = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDir(join(root, e.name))))
    .map((e) => e.name)
    .sort(byCodePoint);
  if (dirs.length === 0) throw new Error(`${root}: no class sub-folders (expected root/<class>/<image files>)`);
  const classNames = o.classNames ? [...o.classNames] : dirs;
  const classIndex = new Map(classNames.map((n, i) => [n, i]));
  const unknown = dirs.filter((d) => !classIndex.has(d));
  if (unknown.length) {
    throw new Error(
      `${root}: class folder${unknown.length > 1 ? 's' : ''} ${unknown
        .slice(0, 5)
        .map((d) => `'${d}'`)
        .join(', ')}${unknown.length > 5 ? ', ...' : ''} not among the ${classNames.length} expected classes`,
    );
  }
  const files: string[] = [];
  const labels: number[] = [];
  const empty: string[] = [];
  for (const d of dirs) {
    let found = listImages(join(root, d));
    if (found.length === 0) empty.push(d);
    if (o.limitPerClass !== undefined) found = found.slice(0, o.limitPerClass);
    const label = classIndex.get(d)!;
    for (const file of found) {
      files.push(file);
      labels.push(label);
    }
  }
  if (empty.length) {
    throw new Error(
      `${root}: no image files (${IMAGE_EXTENSIONS.join(', ')}) in class folder${empty.length > 1 ? 's' : ''} ` +
        `${empty
          .slice(0, 5)
          .map((d) => join(root, d))
          .join(', ')}${empty.length > 5 ? `, ... (${empty.length} in all)` : ''}`,
    );
  }
  if (o.limit !== undefined && o.limit < files.length) {
    const keep = balancedFirst(labels, o.limit);
    return { root, classNames, files: keep.map((i) => files[i]), labels: Int32Array.from(keep, (i) => labels[i]) };
  }
  return { root, classNames, files, labels: Int32Array.from(labels) };
}

/** Decodes the images of an index into an ImageSet (checks the memory first). */
export async function decodeIndex(index: ImageFolderIndex, o: DecodeOptions & { name?: string }, limitHint = 'a limit'): Promise<ImageSet> {
  const count = index.files.length;
  checkMemory(count, o.size, o.maxBytes ?? DEFAULT_MAX_BYTES, index.root, limitHint);
  const images = await decodeImages(index.files, o, index.root);
  return {
    name: o.name ?? index.root,
    images,
    labels: index.labels,
    count,
    height: o.size,
    width: o.size,
    channels: 3,
    numClasses: index.classNames.length,
    classNames: index.classNames,
  };
}

/** Loads an ImageFolder as an RGB ImageSet of side `size` (see the header for order and limits). */
export async function loadImageFolder(root: string, o: ImageFolderOptions): Promise<ImageSet> {
  const index = scanImageFolder(root, o);
  return decodeIndex(index, o, 'a limit (limit or limitPerClass)');
}
