/**
 * The streaming two-view loader for pre-training at ImageNet scale: nothing is decoded ahead of
 * time, so memory does not grow with the set. Batch (epoch, step) takes its images in the epoch's
 * permutation (the same seeded permutation as data/loader.ts), and a pool of worker threads
 * (piscina, input/crop-worker.ts) decodes each file with sharp and makes its two
 * RandomResizedCrops. The rest of the augmentation runs on the engine (augment/policy.ts
 * `photometricTwoViews`).
 *
 * - Deterministic: an image's crop seeds depend only on (seed, epoch, position in the epoch), never on
 *   which worker ran it or when; the same batch comes out with 1 worker or 8.
 * - Resumable mid-epoch: `batchAt(epoch, step)` is a function of its arguments, so a run resumed at
 *   iteration i asks for exactly the batch it would have had.
 * - Prefetch: asking for batch g starts batches g+1..g+prefetch on the pool, so decoding overlaps
 *   the training step; batches before g are dropped. At most `prefetch + 1` batches are held.
 * - Corrupt files (`onCorrupt`): 'stop' rejects naming the file; 'skip' names it once (log) and takes
 *   the next candidate position of the permutation instead (a fixed sequence, so the choice is
 *   deterministic too). The label is always the label of the file actually decoded.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import { Rng } from '../engine/rng.ts';
import { scriptEntry } from '../core/install-root.ts';
import { epochSeed } from '../data/loader.ts';
import type { ImageFolderIndex } from '../data/image-folder.ts';
import type { TwoCropJob, TwoCropResult } from './two-crops.ts';

export type OnCorrupt = 'skip' | 'stop';

export interface StreamLoaderOptions {
  batchSize: number;
  seed: number;
  /** Side of the square views, pixels. */
  outSize: number;
  /** RandomResizedCrop's lower scale (0.08 for ViT, 0.2 for R-50). */
  cropMin: number;
  /** Decode worker threads (default: the machine's CPUs). */
  workers?: number;
  /** Batches decoded ahead of the one asked for (default 2). */
  prefetch?: number;
  onCorrupt?: OnCorrupt;
  /** Where a skipped file is reported (default: stderr). */
  log?: (line: string) => void;
}

export interface StreamBatch {
  epoch: number;
  step: number;
  /** Each view NHWC RGB bytes [batch, outSize, outSize, 3]. */
  views: [Uint8Array, Uint8Array];
  labels: Int32Array;
  /** The files decoded, in batch order (a skipped file's replacement in its place). */
  files: string[];
}

/** A 32-bit mix of the seed and up to three integers (crop seeds; independent of scheduling). */
function mix(seed: number, a: number, b: number, c: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  for (const x of [a, b, c]) {
    h = Math.imul(h ^ (x >>> 0), 0xcc9e2d51);
    h = Math.imul((h << 15) | (h >>> 17), 0x1b873593);
    h ^= h >>> 13;
  }
  return (h ^ (h >>> 16)) >>> 0;
}

/** The stride between a corrupt position and its candidate replacements (a prime: it visits every position). */
const REPLACEMENT_STRIDE = 7919;

export class StreamingTwoViewLoader {
  readonly stepsPerEpoch: number;
  readonly batchSize: number;
  private readonly pool: Piscina<TwoCropJob, TwoCropResult>;
  private readonly held = new Map<number, Promise<StreamBatch>>();
  /** Every batch still decoding, held or dropped (close waits for them). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly reported = new Set<string>();
  private permEpoch = -1;
  private perm = new Int32Array(0);
  private closed = false;

  constructor(
    private readonly index: ImageFolderIndex,
    private readonly o: StreamLoaderOptions,
  ) {
    const n = index.files.length;
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
      throw new Error(`streaming loader: batchSize must be a positive integer, got ${o.batchSize}`);
    this.batchSize = o.batchSize;
    this.stepsPerEpoch = Math.floor(n / o.batchSize);
    if (this.stepsPerEpoch === 0) throw new Error(`${index.root}: ${n} images, fewer than one batch of ${o.batchSize}`);
    const workers = o.workers ?? os.availableParallelism();
    if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers: must be a positive integer, got ${workers}`);
    const prefetch = o.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new Error(`prefetch must be a non-negative integer, got ${prefetch}`);
    const { file, execArgv } = scriptEntry('input/crop-worker.ts', 'crop-worker');
    this.pool = new Piscina({ filename: file, execArgv, minThreads: workers, maxThreads: workers, idleTimeout: 60_000 });
  }

  /** The order in which epoch `epoch` visits the files. */
  permutation(epoch: number): Int32Array {
    if (epoch !== this.permEpoch) {
      const p = new Int32Array(this.index.files.length);
      for (let i = 0; i < p.length; i++) p[i] = i;
      new Rng(epochSeed(this.o.seed, epoch)).shuffle(p);
      [this.perm, this.permEpoch] = [p, epoch];
    }
    return this.perm;
  }

  /** Batches decoded or being decoded (at most prefetch + 1). */
  heldBatches(): number {
    return this.held.size;
  }

  /** Batch `step` of epoch `epoch` (waits for its decoding); starts the next ones. */
  batchAt(epoch: number, step: number): Promise<StreamBatch> {
    if (this.closed) throw new Error('streaming loader: closed');
    if (!Number.isInteger(step) || step < 0 || step >= this.stepsPerEpoch)
      throw new Error(`streaming loader: step ${step} is not in [0, ${this.stepsPerEpoch})`);
    const g = epoch * this.stepsPerEpoch + step;
    for (const k of this.held.keys()) if (k < g) this.held.delete(k);
    const prefetch = this.o.prefetch ?? 2;
    for (let k = g; k <= g + prefetch; k++) {
      if (this.held.has(k)) continue;
      const p = this.decodeBatch(Math.floor(k / this.stepsPerEpoch), k % this.stepsPerEpoch);
      // a prefetched batch that fails is reported when it is asked for, not as an unhandled rejection
      const settled: Promise<unknown> = p.then(
        (): boolean => this.inFlight.delete(settled),
        (): boolean => this.inFlight.delete(settled),
      );
      this.inFlight.add(settled);
      this.held.set(k, p);
    }
    const own = this.held.get(g)!;
    // a batch asked for out of order (a resume) must not keep batches from the old position
    for (const k of this.held.keys()) if (k > g + prefetch) this.held.delete(k);
    return own;
  }

  private async decodeBatch(epoch: number, step: number): Promise<StreamBatch> {
    const B = this.batchSize;
    const S = this.o.outSize;
    const px = S * S * 3;
    const all = this.permutation(epoch);
    const views: [Uint8Array, Uint8Array] = [new Uint8Array(B * px), new Uint8Array(B * px)];
    const labels = new Int32Array(B);
    const files = new Array<string>(B);
    await Promise.all(
      Array.from({ length: B }, async (_, i) => {
        const pos = step * B + i;
        for (let attempt = 0; ; attempt++) {
          if (attempt >= all.length) throw new Error(`${this.index.root}: no image of the set could be decoded`);
          const fileIndex = all[(pos + attempt * REPLACEMENT_STRIDE) % all.length];
          const file = this.index.files[fileIndex];
          const s = mix(this.o.seed, epoch, pos, attempt);
          const r = await this.pool.run({ file, seeds: [mix(s, 1, 0, 0), mix(s, 2, 0, 0)], outSize: S, cropMin: this.o.cropMin });
          if (r.ok) {
            views[0].set(r.views[0], i * px);
            views[1].set(r.views[1], i * px);
            labels[i] = this.index.labels[fileIndex];
            files[i] = file;
            return;
          }
          if ((this.o.onCorrupt ?? 'stop') === 'stop') {
            throw new Error(`${file}: cannot decode (${r.error}); --on-corrupt skip leaves such files out (each one named)`);
          }
          if (!this.reported.has(file)) {
            this.reported.add(file);
            (this.o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`${file}: cannot decode (${r.error}); skipped`);
          }
        }
      }),
    );
    return { epoch, step, views, labels, files };
  }

  /** The files found corrupt so far (each reported once). */
  skippedFiles(): string[] {
    return [...this.reported];
  }

  /** Waits for the batches still decoding, then stops the workers. */
  async close(): Promise<void> {
    this.closed = true;
    this.held.clear();
    await Promise.all(this.inFlight);
    await this.pool.destroy();
  }
}
