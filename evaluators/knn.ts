/**
 * Weighted k-nearest-neighbour classifier of Wu et al. 2018 (InstDisc), the kNN monitor used by
 * MoCo and by the MoCo v3 paper: features are L2-normalised (inside these functions), similarity is
 * the cosine (a dot product of unit vectors), the k most similar bank entries vote for their class
 * with weight exp(sim / T), and the prediction is the class with the largest summed vote.
 *
 * The similarities and tf.topk run as tensors, a chunk of queries at a time (chunk x bankSize
 * similarities live at once); the votes are summed on the CPU in float64, which is exact enough
 * and avoids a [chunk, k, numClasses] one-hot tensor. Weights are computed as
 * exp((sim - maxSim) / T) per query, the same ranking of classes as exp(sim / T) without overflow
 * at small T. Ties between classes go to the lowest class index.
 */
import { tf } from '../engine/tf.ts';
import { l2Normalize } from '../engine/ops/normalize.ts';

export interface KnnOptions {
  /** Neighbours per query (200 in Wu et al.); clipped to the bank size. */
  k?: number;
  /** Temperature of the vote weights exp(sim / T) (0.07). */
  temperature?: number;
  numClasses: number;
  /** Queries per chunk; by default about 16M similarities per chunk, at most 1024 queries. */
  chunk?: number;
}

export const KNN_DEFAULT_K = 200;
export const KNN_DEFAULT_TEMPERATURE = 0.07;

/** Validates the options shared by knnPredict and the monitor; returns k and T with defaults. */
export function checkKnnOptions(
  opts: { k?: number; temperature?: number; numClasses: number },
  who: string,
): { k: number; temperature: number } {
  const k = opts.k ?? KNN_DEFAULT_K;
  const temperature = opts.temperature ?? KNN_DEFAULT_TEMPERATURE;
  if (!Number.isInteger(k) || k < 1) throw new Error(`${who}: k must be a positive integer, got ${k}`);
  if (!(Number.isFinite(temperature) && temperature > 0))
    throw new Error(`${who}: temperature must be a positive number, got ${temperature}`);
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 1)
    throw new Error(`${who}: numClasses must be a positive integer, got ${opts.numClasses}`);
  return { k, temperature };
}

/** Throws unless every label is an integer class index in [0, numClasses). */
export function checkLabels(labels: ArrayLike<number>, numClasses: number, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses)
      throw new Error(`${what}[${i}] = ${y} is not a class index in [0, ${numClasses})`);
  }
}

/** Predicted class of each query (an Int32Array of queries.shape[0] entries). */
export async function knnPredict(bank: tf.Tensor2D, bankLabels: Int32Array, queries: tf.Tensor2D, opts: KnnOptions): Promise<Int32Array> {
  const who = 'knnPredict';
  const { temperature } = checkKnnOptions(opts, who);
  if (bank.rank !== 2 || queries.rank !== 2)
    throw new Error(`${who}: bank and queries must be 2-D [n, dim], got [${bank.shape}] and [${queries.shape}]`);
  const [n, dim] = bank.shape;
  const [nq, qdim] = queries.shape;
  if (n === 0) throw new Error(`${who}: the feature bank is empty`);
  if (qdim !== dim) throw new Error(`${who}: queries have dimension ${qdim}, the bank ${dim}`);
  if (bankLabels.length !== n) throw new Error(`${who}: ${bankLabels.length} bank labels for ${n} bank features`);
  checkLabels(bankLabels, opts.numClasses, `${who}: bankLabels`);
  const k = Math.min(opts.k ?? KNN_DEFAULT_K, n);
  const chunk = opts.chunk ?? Math.max(1, Math.min(1024, Math.floor(2 ** 24 / n)));
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`${who}: chunk must be a positive integer, got ${chunk}`);

  const out = new Int32Array(nq);
  if (nq === 0) return out;
  const bankN = l2Normalize(bank);
  const votes = new Float64Array(opts.numClasses);
  try {
    for (let start = 0; start < nq; start += chunk) {
      const c = Math.min(chunk, nq - start);
      const [values, indices] = tf.tidy(() => {
        const q = l2Normalize(tf.slice(queries, [start, 0], [c, dim]));
        const { values, indices } = tf.topk(tf.matMul(q, bankN, false, true), k, true);
        return [values, indices];
      });
      const [sims, idx] = await Promise.all([values.data(), indices.data()]);
      tf.dispose([values, indices]);
      for (let i = 0; i < c; i++) {
        votes.fill(0);
        let maxSim = -Infinity;
        for (let j = 0; j < k; j++) maxSim = Math.max(maxSim, sims[i * k + j]);
        for (let j = 0; j < k; j++) votes[bankLabels[idx[i * k + j]]] += Math.exp((sims[i * k + j] - maxSim) / temperature);
        let best = 0;
        for (let y = 1; y < votes.length; y++) if (votes[y] > votes[best]) best = y;
        out[start + i] = best;
      }
    }
  } finally {
    bankN.dispose();
  }
  return out;
}

/** Top-1 accuracy in [0, 1] of knnPredict on labelled queries. */
export async function knnAccuracy(
  bank: tf.Tensor2D,
  bankLabels: Int32Array,
  queries: tf.Tensor2D,
  queryLabels: Int32Array,
  opts: KnnOptions,
): Promise<number> {
  if (queryLabels.length !== queries.shape[0])
    throw new Error(`knnAccuracy: ${queryLabels.length} query labels for ${queries.shape[0]} queries`);
  if (queryLabels.length === 0) throw new Error('knnAccuracy: no queries');
  checkLabels(queryLabels, opts.numClasses, 'knnAccuracy: queryLabels');
  const pred = await knnPredict(bank, bankLabels, queries, opts);
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === queryLabels[i]) correct++;
  return correct / pred.length;
}
