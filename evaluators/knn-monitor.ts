/**
 * The dense kNN monitor of the MoCo v3 paper (appendix): a FIFO queue of L2-normalised features of
 * the augmented training crops seen during pre-training (10% of the training set in the paper;
 * [CLS] features, so it is independent of the head), updated every iteration with no extra
 * feature extraction, and evaluated every few tens of iterations by weighted kNN (Wu et al. 2018,
 * see knn.ts) of a held-out labelled split against the current queue.
 *
 * Storage: the queue lives on the CPU as a Float32Array ring buffer of [capacity, dim] rows plus an
 * Int32Array of labels, not as a tensor. A push downloads one batch of features (batch x dim);
 * tfjs has no in-place row assignment, so a tensor queue would be rebuilt (capacity x dim copied)
 * on every push. `evaluate` uploads the queue once per evaluation. The monitor holds no tensors.
 *
 * Ring layout: row `head` is the next to be written; the `size` valid rows end just before it, the
 * oldest being row (head - size) mod capacity. Until the queue first fills, rows 0..size-1 are the
 * valid ones and head === size.
 */
import { tf } from '../engine/tf.ts';
import { checkKnnOptions, checkLabels, knnAccuracy } from './knn.ts';
import { l2Normalize } from '../engine/ops/normalize.ts';

export interface KnnMonitorOptions {
  /** Queue length in features (10% of the training set in the paper). */
  capacity: number;
  /** Feature dimension. */
  dim: number;
  numClasses: number;
  /** Neighbours (200). */
  k?: number;
  /** Vote temperature (0.07). */
  temperature?: number;
}

export interface KnnMonitorState {
  /** The ring buffer, [capacity * dim] (rows beyond `size` before the first wrap are zero). */
  features: Float32Array;
  /** Labels of the ring rows, [capacity]. */
  labels: Int32Array;
  head: number;
  size: number;
}

export class KnnMonitor {
  readonly capacity: number;
  readonly dim: number;
  readonly numClasses: number;
  readonly k: number;
  readonly temperature: number;
  private features: Float32Array;
  private labels: Int32Array;
  private head = 0;
  private count = 0;
  private disposed = false;

  constructor(opts: KnnMonitorOptions) {
    const { k, temperature } = checkKnnOptions(opts, 'KnnMonitor');
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1)
      throw new Error(`KnnMonitor: capacity must be a positive integer, got ${opts.capacity}`);
    if (!Number.isInteger(opts.dim) || opts.dim < 1) throw new Error(`KnnMonitor: dim must be a positive integer, got ${opts.dim}`);
    this.capacity = opts.capacity;
    this.dim = opts.dim;
    this.numClasses = opts.numClasses;
    this.k = k;
    this.temperature = temperature;
    this.features = new Float32Array(this.capacity * this.dim);
    this.labels = new Int32Array(this.capacity);
  }

  /** Number of features in the queue (at most capacity). */
  get size(): number {
    return this.count;
  }

  /**
   * Enqueues a batch [b, dim] (L2-normalised here) with its labels, overwriting the oldest entries
   * once full. The caller keeps ownership of `features`.
   */
  async push(features: tf.Tensor2D, labels: Int32Array): Promise<void> {
    this.checkAlive();
    if (features.rank !== 2 || features.shape[1] !== this.dim)
      throw new Error(`KnnMonitor.push: features must be [batch, ${this.dim}], got [${features.shape}]`);
    const b = features.shape[0];
    if (labels.length !== b) throw new Error(`KnnMonitor.push: ${labels.length} labels for ${b} features`);
    checkLabels(labels, this.numClasses, 'KnnMonitor.push: labels');
    if (b === 0) return;
    const normed = l2Normalize(features);
    const data = (await normed.data()) as Float32Array;
    normed.dispose();
    // Only the newest `capacity` rows of an oversized batch survive.
    for (let r = Math.max(0, b - this.capacity); r < b; r++) {
      this.features.set(data.subarray(r * this.dim, (r + 1) * this.dim), this.head * this.dim);
      this.labels[this.head] = labels[r];
      this.head = (this.head + 1) % this.capacity;
      this.count = Math.min(this.count + 1, this.capacity);
    }
  }

  /** kNN top-1 accuracy in [0, 1] of labelled queries [n, dim] against the current queue. */
  async evaluate(queryFeatures: tf.Tensor2D, queryLabels: Int32Array): Promise<number> {
    this.checkAlive();
    if (this.count === 0) throw new Error('KnnMonitor.evaluate: the queue is empty; push features first');
    const n = this.count;
    const bank = tf.tensor2d(this.features.subarray(0, n * this.dim), [n, this.dim], 'float32');
    try {
      return await knnAccuracy(bank, this.labels.subarray(0, n), queryFeatures, queryLabels, {
        k: this.k,
        temperature: this.temperature,
        numClasses: this.numClasses,
      });
    } finally {
      bank.dispose();
    }
  }

  /** A copy of the queue for checkpoints. */
  state(): KnnMonitorState {
    this.checkAlive();
    return { features: this.features.slice(), labels: this.labels.slice(), head: this.head, size: this.count };
  }

  /** Restores a state from `state()` of a monitor with the same capacity and dim (copied). */
  loadState(s: KnnMonitorState): void {
    this.checkAlive();
    const who = 'KnnMonitor.loadState';
    if (!(s.features instanceof Float32Array) || s.features.length !== this.capacity * this.dim) {
      throw new Error(
        `${who}: features must be a Float32Array of capacity x dim = ${this.capacity} x ${this.dim} values, got ${s.features?.length}`,
      );
    }
    if (!(s.labels instanceof Int32Array) || s.labels.length !== this.capacity) {
      throw new Error(`${who}: labels must be an Int32Array of capacity = ${this.capacity} values, got ${s.labels?.length}`);
    }
    if (!Number.isInteger(s.size) || s.size < 0 || s.size > this.capacity)
      throw new Error(`${who}: size ${s.size} is not in [0, ${this.capacity}]`);
    if (!Number.isInteger(s.head) || s.head < 0 || s.head >= this.capacity)
      throw new Error(`${who}: head ${s.head} is not in [0, ${this.capacity})`);
    if (s.size < this.capacity && s.head !== s.size)
      throw new Error(`${who}: a queue that is not full must have head === size, got head ${s.head}, size ${s.size}`);
    const used = s.size === this.capacity ? s.labels : s.labels.subarray(0, s.size);
    checkLabels(used, this.numClasses, `${who}: labels`);
    this.features = s.features.slice();
    this.labels = s.labels.slice();
    this.head = s.head;
    this.count = s.size;
  }

  /** A new monitor with `opts` holding `state`. */
  static fromState(opts: KnnMonitorOptions, state: KnnMonitorState): KnnMonitor {
    const m = new KnnMonitor(opts);
    m.loadState(state);
    return m;
  }

  /** The state in the form `runner/checkpoint.ts` stores. */
  async stateForCheckpoint(): Promise<{ tensors: Map<string, Float32Array | Int32Array>; scalars: Record<string, number> }> {
    const s = this.state();
    return {
      tensors: new Map<string, Float32Array | Int32Array>([
        ['features', s.features],
        ['labels', s.labels],
      ]),
      scalars: { head: s.head, size: s.size },
    };
  }

  loadFromCheckpoint(c: { tensors: Map<string, Float32Array | Int32Array>; scalars: Record<string, number> }): void {
    const features = c.tensors.get('features');
    const labels = c.tensors.get('labels');
    if (!(features instanceof Float32Array)) throw new Error("KnnMonitor.loadFromCheckpoint: no float32 'features' tensor");
    if (!(labels instanceof Int32Array)) throw new Error("KnnMonitor.loadFromCheckpoint: no int32 'labels' tensor");
    this.loadState({ features, labels, head: c.scalars.head, size: c.scalars.size });
  }

  /** Releases the queue; the monitor cannot be used afterwards. */
  dispose(): void {
    this.features = new Float32Array(0);
    this.labels = new Int32Array(0);
    this.count = 0;
    this.disposed = true;
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('KnnMonitor: used after dispose()');
  }
}
