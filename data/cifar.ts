/**
 * CIFAR-10 and CIFAR-100, "binary version" (the official cifar-10-binary.tar.gz and
 * cifar-100-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * CIFAR-10, folder `cifar-10-batches-bin/`: data_batch_1.bin .. data_batch_5.bin (train, 10,000
 * records each), test_batch.bin, batches.meta.txt (the 10 class names, one a line). A record is
 * 3073 bytes: the label (0..9), then 3072 pixel bytes: the 1024 red values, the 1024 green, the
 * 1024 blue, each plane 32x32 row-major.
 *
 * CIFAR-100, folder `cifar-100-binary/`: train.bin (50,000 records), test.bin (10,000),
 * coarse_label_names.txt, fine_label_names.txt. A record is 3074 bytes: the coarse label (0..19),
 * the fine label (0..99), then the same 3072 pixel bytes. sslbench uses the fine labels (100 classes).
 *
 * `root` may be that folder or its parent. Images come out 32x32x3 NHWC with values / 255, labels
 * as stored; class names come from the names file when it is there. `limit` keeps the first N
 * records (only the files needed are read). Every error message names the file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageSet } from './image-set.ts';

export type CifarVariant = 'cifar10' | 'cifar100';
export type CifarSplit = 'train' | 'test';

export interface CifarOptions {
  /** The binary folder (cifar-10-batches-bin / cifar-100-binary) or its parent. */
  root: string;
  split: CifarSplit;
  /** Keep only the first `limit` records. */
  limit?: number;
}

interface Layout {
  title: string;
  folder: string;
  archive: string;
  files: Record<CifarSplit, string[]>;
  namesFile: string;
  /** Bytes before the pixels, and which of them is the label. */
  labelBytes: number;
  labelOffset: number;
  numClasses: number;
}

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = 3 * PLANE;

export const CIFAR_LAYOUTS: Record<CifarVariant, Layout> = {
  cifar10: {
    title: 'CIFAR-10 binary',
    folder: 'cifar-10-batches-bin',
    archive: 'cifar-10-binary.tar.gz',
    files: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] },
    namesFile: 'batches.meta.txt',
    labelBytes: 1,
    labelOffset: 0,
    numClasses: 10,
  },
  cifar100: {
    title: 'CIFAR-100 binary',
    folder: 'cifar-100-binary',
    archive: 'cifar-100-binary.tar.gz',
    files: { train: ['train.bin'], test: ['test.bin'] },
    namesFile: 'fine_label_names.txt',
    labelBytes: 2,
    labelOffset: 1,
    numClasses: 100,
  },
};

/** Bytes of one record: the label byte(s) and 3072 pixel bytes. */
export function cifarRecordBytes(variant: CifarVariant): number {
  return CIFAR_LAYOUTS[variant].labelBytes + PIXELS;
}

/** The data folder of `variant` under `root` (root itself or root/<official folder>), or an Error saying what is expected. */
export function cifarDir(root: string, variant: CifarVariant): string {
  const L = CIFAR_LAYOUTS[variant];
  const all = [...L.files.train, ...L.files.test];
  const holds = (d: string): boolean => all.some((f) => existsSync(join(d, f)));
  if (holds(root)) return root;
  if (holds(join(root, L.folder))) return join(root, L.folder);
  throw new Error(
    `${root}: ${existsSync(root) ? 'not a' : 'no such folder; need a'} ${L.title} folder holding ${L.files.train.join(', ')}, ` +
      `${L.files.test.join(', ')} ` +
      `(in it or in ${join(root, L.folder)}; unpack ${L.archive} from https://www.cs.toronto.edu/~kriz/cifar.html)`,
  );
}

/** Class names from a names file (one a line, blank lines ignored), or undefined when the file is absent. */
function readNames(path: string, numClasses: number): string[] | undefined {
  if (!existsSync(path)) return undefined;
  const names = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== numClasses) throw new Error(`${path}: expected ${numClasses} class names (one a line), found ${names.length}`);
  return names;
}

/**
 * Decodes `count` records from `bytes` into `images` / `labels` starting at record `at`:
 * pixel (y, x) of plane c goes to NHWC index ((n * 32 + y) * 32 + x) * 3 + c.
 */
export function decodeCifarRecords(
  bytes: Uint8Array,
  count: number,
  variant: CifarVariant,
  images: Float32Array,
  labels: Int32Array,
  at: number,
  source: string,
): void {
  const L = CIFAR_LAYOUTS[variant];
  const rec = L.labelBytes + PIXELS;
  for (let r = 0; r < count; r++) {
    const off = r * rec;
    const label = bytes[off + L.labelOffset];
    if (label >= L.numClasses) throw new Error(`${source}: record ${r} has label ${label}, outside [0, ${L.numClasses})`);
    labels[at + r] = label;
    const px = off + L.labelBytes;
    const base = (at + r) * PIXELS;
    for (let i = 0; i < PLANE; i++) {
      const o = base + 3 * i;
      images[o] = bytes[px + i] / 255;
      images[o + 1] = bytes[px + PLANE + i] / 255;
      images[o + 2] = bytes[px + 2 * PLANE + i] / 255;
    }
  }
}

/** Loads one split of CIFAR-10 or CIFAR-100 (fine labels) as a 32x32x3 ImageSet. */
export function loadCifar(variant: CifarVariant, o: CifarOptions): ImageSet {
  const L = CIFAR_LAYOUTS[variant];
  if (!L) throw new Error(`loadCifar: variant must be 'cifar10' or 'cifar100', got ${String(variant)}`);
  if (o.split !== 'train' && o.split !== 'test') throw new Error(`loadCifar: split must be 'train' or 'test', got ${String(o.split)}`);
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 0)) {
    throw new Error(`loadCifar: limit must be a non-negative integer, got ${o.limit}`);
  }
  const dir = cifarDir(o.root, variant);
  const rec = cifarRecordBytes(variant);
  // Sizes first (stat only), so the output is allocated once and unneeded files are not read.
  const parts: { path: string; records: number }[] = [];
  let total = 0;
  for (const f of L.files[o.split]) {
    if (o.limit !== undefined && total >= o.limit) break;
    const path = join(dir, f);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw new Error(`${path}: missing (${L.title}: ${o.split} needs ${L.files[o.split].join(', ')} in ${dir})`);
    }
    if (size === 0) throw new Error(`${path}: empty file (0 bytes), expected ${rec}-byte records`);
    if (size % rec !== 0) throw new Error(`${path}: ${size} bytes is not a whole number of ${rec}-byte records`);
    const records = o.limit === undefined ? size / rec : Math.min(size / rec, o.limit - total);
    parts.push({ path, records });
    total += records;
  }
  const images = new Float32Array(total * PIXELS);
  const labels = new Int32Array(total);
  let at = 0;
  for (const { path, records } of parts) {
    const bytes = readFileSync(path);
    decodeCifarRecords(bytes, records, variant, images, labels, at, path);
    at += records;
  }
  const classNames = readNames(join(dir, L.namesFile), L.numClasses);
  return {
    name: `${variant}-${o.split}`,
    images,
    labels,
    count: total,
    height: SIDE,
    width: SIDE,
    channels: 3,
    numClasses: L.numClasses,
    ...(classNames ? { classNames } : {}),
  };
}

/** CIFAR-10 (binary version): 10 classes. */
export function loadCifar10(o: CifarOptions): ImageSet {
  return loadCifar('cifar10', o);
}

/** CIFAR-100 (binary version) with its 100 fine labels. */
export function loadCifar100(o: CifarOptions): ImageSet {
  return loadCifar('cifar100', o);
}
