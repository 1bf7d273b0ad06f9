/**
 * Batch loader over an ImageSet. Epoch e visits the images in a permutation that depends only on
 * (seed, e), so a run resumed at epoch e / step s sees exactly the batches it would have seen:
 * `batchAt(e, s)` is a pure function of its arguments. `batches()` is an async iterator with a
 * one-deep prefetch: while the consumer works on batch k, batch k+1 is gathered and passed through
 * the optional async `prepare` transform.
 */
import { Rng } from '../engine/rng.ts';
import { subset, type ImageSet } from './image-set.ts';

export interface Batch {
  /** size * height * width * channels floats, NHWC. */
  images: Float32Array;
  labels: Int32Array;
  /** Index of each image in the source set. */
  indices: Int32Array;
  epoch: number;
  step: number;
  /** [size, height, width, channels]. */
  shape: [number, number, number, number];
}

export interface LoaderOptions {
  batchSize: number;
  seed: number;
  /** Drop the last incomplete batch of each epoch (default true, as in SSL pre-training). */
  dropLast?: boolean;
  /** Visit the images in a seeded random order (default true); false keeps the set's order. */
  shuffle?: boolean;
}

export interface IterateOptions<T> {
  /** Where to start (default epoch 0, step 0); for resuming. */
  startEpoch?: number;
  startStep?: number;
  /** Stop before this epoch (exclusive). Unbounded when neither this nor maxBatches is given. */
  endEpoch?: number;
  /** Stop after this many batches. */
  maxBatches?: number;
  /** Transform applied to each batch ahead of time, e.g. augmentation or upload to a tensor. */
  prepare?: (batch: Batch) => T | Promise<T>;
}

/** Seed for the permutation of one epoch. */
export function epochSeed(seed: number, epoch: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x27d4eb2d);
  h = Math.imul(h ^ (h >>> 15) ^ (epoch >>> 0), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class BatchLoader {
  readonly set: ImageSet;
  readonly batchSize: number;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly shuffle: boolean;
  readonly stepsPerEpoch: number;
  private cachedEpoch = -1;
  private cachedPerm: Int32Array = new Int32Array(0);

  constructor(set: ImageSet, options: LoaderOptions) {
    const { batchSize, seed, dropLast = true, shuffle = true } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`BatchLoader: batchSize must be a positive integer, got ${batchSize}`);
    this.set = set;
    this.batchSize = batchSize;
    this.seed = seed;
    this.dropLast = dropLast;
    this.shuffle = shuffle;
    this.stepsPerEpoch = dropLast ? Math.floor(set.count / batchSize) : Math.ceil(set.count / batchSize);
    if (this.stepsPerEpoch === 0) {
      throw new Error(
        `BatchLoader: ${JSON.stringify(set.name)} has ${set.count} images, fewer than one batch of ${batchSize}` +
          (dropLast ? ' with drop_last' : ''),
      );
    }
  }

  /** The order in which epoch `epoch` visits the images (a fresh copy). */
  permutation(epoch: number): Int32Array {
    return this.perm(epoch).slice();
  }

  private perm(epoch: number): Int32Array {
    if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`BatchLoader: epoch must be a non-negative integer, got ${epoch}`);
    if (epoch !== this.cachedEpoch) {
      const p = new Int32Array(this.set.count);
      for (let i = 0; i < p.length; i++) p[i] = i;
      if (this.shuffle) new Rng(epochSeed(this.seed, epoch)).shuffle(p);
      this.cachedPerm = p;
      this.cachedEpoch = epoch;
    }
    return this.cachedPerm;
  }

  /** Global step number of (epoch, step). */
  globalStep(epoch: number, step: number): number {
    return epoch * this.stepsPerEpoch + step;
  }

  /** Inverse of globalStep. */
  position(globalStep: number): { epoch: number; step: number } {
    return { epoch: Math.floor(globalStep / this.stepsPerEpoch), step: globalStep % this.stepsPerEpoch };
  }

  /** Batch `step` of epoch `epoch`; depends only on the set, the options and its arguments. */
  batchAt(epoch: number, step: number): Batch {
    if (!Number.isInteger(step) || step < 0 || step >= this.stepsPerEpoch) {
      throw new Error(`BatchLoader: step must be an integer in [0, ${this.stepsPerEpoch}), got ${step}`);
    }
    const perm = this.perm(epoch);
    const start = step * this.batchSize;
    const indices = perm.slice(start, Math.min(start + this.batchSize, perm.length));
    const set = this.set;
    const { images, labels } = subset(set, indices);
    return { images, labels, indices, epoch, step, shape: [indices.length, set.height, set.width, set.channels] };
  }

  /**
   * Async iterator over batches from (startEpoch, startStep), with a one-deep prefetch: batch k+1
   * is gathered and prepared while the consumer holds batch k.
   */
  batches(options?: IterateOptions<Batch> & { prepare?: undefined }): AsyncGenerator<Batch, void, undefined>;
  batches<T>(options: IterateOptions<T> & { prepare: (batch: Batch) => T | Promise<T> }): AsyncGenerator<T, void, undefined>;
  async *batches<T>(options: IterateOptions<T> = {}): AsyncGenerator<T | Batch, void, undefined> {
    const { startEpoch = 0, startStep = 0, endEpoch = Infinity, maxBatches = Infinity, prepare } = options;
    if (!Number.isInteger(startStep) || startStep < 0 || startStep >= this.stepsPerEpoch) {
      throw new Error(`BatchLoader: startStep must be an integer in [0, ${this.stepsPerEpoch}), got ${startStep}`);
    }
    let epoch = startEpoch;
    let step = startStep;
    let produced = 0;
    const nextKey = (): { epoch: number; step: number } | undefined => {
      if (produced >= maxBatches || epoch >= endEpoch) return undefined;
      const key = { epoch, step };
      produced++;
      if (++step === this.stepsPerEpoch) {
        step = 0;
        epoch++;
      }
      return key;
    };
    const produce = async (key: { epoch: number; step: number }): Promise<T | Batch> => {
      await nextTurn(); // let the consumer run first; the gather happens while it awaits
      const batch = this.batchAt(key.epoch, key.step);
      return prepare ? prepare(batch) : batch;
    };

    const first = nextKey();
    let pending: Promise<T | Batch> | undefined = first && produce(first);
    while (pending) {
      const current = await pending;
      const key = nextKey();
      pending = key && produce(key);
      // a prefetched batch that the consumer never asks for must not become an unhandled rejection
      pending?.catch(() => undefined);
      yield current;
    }
  }
}
