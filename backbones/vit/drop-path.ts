/**
 * Stochastic depth ("drop path", Huang et al. 2016) as timm applies it to a ViT: each residual
 * branch (attention and MLP) of block i is dropped per sample with probability
 * p_i = i / (depth - 1) * rate (timm's `torch.linspace(0, drop_path_rate, depth)`), and a kept
 * branch is scaled by 1 / (1 - p_i) so that its expectation is unchanged. Training mode only.
 * Transfer fine-tuning (Table 5; MoCo v3's transfer/README.md, `--drop-path`) uses rate 0.1 (0 for Pets).
 *
 * The per-sample decisions are drawn in JS from a seeded `Rng` (not from tfjs random ops), as a
 * Float32Array of scales (0 or 1 / (1 - p)). The scales are drawn before a checkpointed block runs
 * and turned into a tensor inside it, so a recomputed forward pass (engine/ops/checkpoint.ts)
 * applies exactly the same mask as the first one.
 */
import { tf } from '../../engine/tf.ts';
import type { Rng } from '../../engine/rng.ts';

/** Throws unless `rate` is a valid drop-path rate, [0, 1). */
export function checkDropPathRate(rate: number, who = 'dropPath'): void {
  if (!(typeof rate === 'number' && rate >= 0 && rate < 1)) throw new Error(`${who}: rate must be a number in [0, 1), got ${rate}`);
}

/** Rate of each of `depth` blocks: linear from 0 (first block) to `rate` (last block). */
export function dropPathRates(depth: number, rate: number): number[] {
  checkDropPathRate(rate);
  if (!(Number.isInteger(depth) && depth >= 1)) throw new Error(`dropPathRates: depth must be a positive integer, got ${depth}`);
  // linspace(0, rate, 1) is [0]
  return Array.from({ length: depth }, (_, i) => (depth === 1 ? 0 : (i * rate) / (depth - 1)));
}

/**
 * Per-sample branch scales for a batch: 1 / (1 - p) with probability 1 - p (kept), else 0
 * (dropped). Draws exactly `batch` values from `rng`.
 */
export function sampleDropPathScales(rng: Rng, batch: number, p: number): Float32Array {
  checkDropPathRate(p, 'sampleDropPathScales');
  const keep = 1 - p;
  const out = new Float32Array(batch);
  for (let b = 0; b < batch; b++) out[b] = rng.next() < keep ? 1 / keep : 0;
  return out;
}

/**
 * branch [B, ...] times its sample's scale. Without scales (eval mode, rate 0) the branch is
 * returned as is. Gradients reach the branch only through kept samples (scaled by 1 / (1 - p)).
 */
export function dropPath(branch: tf.Tensor, scales?: Float32Array): tf.Tensor {
  if (!scales) return branch;
  const b = branch.shape[0];
  if (scales.length !== b) throw new Error(`dropPath: ${scales.length} scales for a batch of ${b}`);
  return tf.mul(branch, tf.tensor(scales, [b, ...branch.shape.slice(1).map(() => 1)], 'float32'));
}
