/**
 * A cell's data sizes, checked before and after loading (issue 27): the images `data.trainCount`
 * and `data.testCount` ask for are estimated before anything is allocated (a count that cannot fit
 * is an error naming the fields, the estimate and the machine's memory, not `Invalid typed array
 * length`), and a count larger than the set holds is an error naming the field, never a silent cut.
 */
import os from 'node:os';
import type { DataConfig } from '../core/config.ts';
import type { DatasetSource } from '../data/sources.ts';
import { gib } from './memory-check.ts';

/** The largest typed array V8 allocates, in elements (2^32 - 1 on 64-bit Node); a larger set cannot be held as one. */
const MAX_ELEMENTS = 2 ** 32 - 1;

export function checkDataSize(d: DataConfig, source: DatasetSource, limitBytes = os.totalmem()): void {
  const shape = source.imageShape?.(d);
  if (!shape) return;
  const per = shape[0] * shape[1] * shape[2];
  const asked = [
    ['data.trainCount', d.trainCount],
    ['data.testCount', d.testCount],
  ].filter((x): x is [string, number] => x[1] !== undefined);
  for (const [field, n] of asked) {
    if (n * per > MAX_ELEMENTS) {
      throw new Error(
        `${field}: ${n} images of ${shape.join(' x ')} are ${n * per} values, more than one array holds (${MAX_ELEMENTS}); use fewer images`,
      );
    }
  }
  const bytes = asked.reduce((s, [, n]) => s + n * per * 4, 0);
  if (bytes > limitBytes) {
    throw new Error(
      `${asked.map(([f, n]) => `${f} ${n}`).join(' + ')}: the images (${shape.join(' x ')}, float32) need ${gib(bytes)}, more than ` +
        `this machine's ${gib(limitBytes)} of memory; use fewer images`,
    );
  }
}

/** After loading: a count the set could not give in full is an error naming the field. */
export function checkLoadedCounts(d: DataConfig, loaded: { train: { count: number }; test: { count: number } }): void {
  for (const [field, asked, got, split] of [
    ['data.trainCount', d.trainCount, loaded.train.count, 'training'],
    ['data.testCount', d.testCount, loaded.test.count, 'held-out'],
  ] as const) {
    if (asked !== undefined && got < asked) {
      throw new Error(
        `${field}: ${asked} images asked for, but ${d.dataset}${d.path ? ` (${d.path})` : ''} has ${got} ${split} images; ` +
          `use at most ${got} (or leave ${field} out for all)`,
      );
    }
  }
}
