/**
 * The in-memory image set that every data source in sslbench produces and every consumer reads:
 * images as one flat Float32Array in NHWC order with values in [0, 1], one Int32Array of labels.
 * Helpers here are plain typed-array code (no tfjs).
 */
import type { Rng } from '../engine/rng.ts';

export interface ImageSet {
  name: string;
  /** count * height * width * channels floats, NHWC, values in [0, 1]. */
  images: Float32Array;
  /** count labels in [0, numClasses). */
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  classNames?: string[];
}

/** Floats in one image (height * width * channels). */
export function imageSize(set: ImageSet): number {
  return set.height * set.width * set.channels;
}

/** Throws an Error naming the set and the first inconsistency found; returns the set otherwise. */
export function checkImageSet(set: ImageSet): ImageSet {
  const bad = (what: string): never => {
    throw new Error(`image set ${JSON.stringify(set.name)}: ${what}`);
  };
  for (const k of ['count', 'height', 'width', 'channels', 'numClasses'] as const) {
    if (!Number.isInteger(set[k]) || set[k] < 0) bad(`${k} must be a non-negative integer, got ${set[k]}`);
  }
  if (set.images.length !== set.count * imageSize(set)) {
    bad(
      `images has ${set.images.length} floats, expected count*height*width*channels = ` +
        `${set.count}*${set.height}*${set.width}*${set.channels} = ${set.count * imageSize(set)}`,
    );
  }
  if (set.labels.length !== set.count) bad(`labels has ${set.labels.length} entries, expected count = ${set.count}`);
  for (let i = 0; i < set.count; i++) {
    const l = set.labels[i];
    if (l < 0 || l >= set.numClasses) bad(`label ${l} at index ${i} is outside [0, ${set.numClasses})`);
  }
  if (set.classNames !== undefined && set.classNames.length !== set.numClasses) {
    bad(`classNames has ${set.classNames.length} names, expected numClasses = ${set.numClasses}`);
  }
  return set;
}

/** Number of images of each class. */
export function classCounts(set: ImageSet): number[] {
  const counts = new Array<number>(set.numClasses).fill(0);
  for (let i = 0; i < set.count; i++) counts[set.labels[i]]++;
  return counts;
}

/** A new set holding copies of the images at `indices`, in that order. */
export function subset(set: ImageSet, indices: ArrayLike<number>, name = set.name): ImageSet {
  const size = imageSize(set);
  const n = indices.length;
  const images = new Float32Array(n * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const src = indices[i];
    if (!Number.isInteger(src) || src < 0 || src >= set.count) {
      throw new Error(`subset of ${JSON.stringify(set.name)}: index ${src} is outside [0, ${set.count})`);
    }
    images.set(set.images.subarray(src * size, (src + 1) * size), i * size);
    labels[i] = set.labels[src];
  }
  return { ...set, name, images, labels, count: n };
}

/**
 * Stratified, deterministic holdout split: for each class, round(fraction * classCount) of its
 * images (chosen by `rng`) go to `test`, the rest to `train`. Both keep the original order.
 */
export function splitHoldout(set: ImageSet, fraction: number, rng: Rng): { train: ImageSet; test: ImageSet } {
  if (!(fraction >= 0 && fraction <= 1)) {
    throw new Error(`splitHoldout of ${JSON.stringify(set.name)}: fraction must be in [0, 1], got ${fraction}`);
  }
  const byClass: number[][] = Array.from({ length: set.numClasses }, () => []);
  for (let i = 0; i < set.count; i++) byClass[set.labels[i]].push(i);
  const isTest = new Uint8Array(set.count);
  for (const members of byClass) {
    rng.shuffle(members);
    const k = Math.round(fraction * members.length);
    for (let j = 0; j < k; j++) isTest[members[j]] = 1;
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < set.count; i++) (isTest[i] ? test : train).push(i);
  return { train: subset(set, train, `${set.name}/train`), test: subset(set, test, `${set.name}/holdout`) };
}

/** Repeats the single grey channel to 3 channels (the ViT takes RGB). A 3-channel set is returned as is. */
export function toRgb(set: ImageSet): ImageSet {
  if (set.channels === 3) return set;
  if (set.channels !== 1) {
    throw new Error(`toRgb of ${JSON.stringify(set.name)}: expected 1 channel, got ${set.channels}`);
  }
  const src = set.images;
  const out = new Float32Array(src.length * 3);
  for (let i = 0, j = 0; i < src.length; i++, j += 3) {
    const v = src[i];
    out[j] = v;
    out[j + 1] = v;
    out[j + 2] = v;
  }
  return { ...set, images: out, channels: 3 };
}
