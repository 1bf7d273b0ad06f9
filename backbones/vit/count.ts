/**
 * Exact parameter and multiply-add counts of a ViT config, from its shapes alone (no model built).
 * Parameters: the backbone without a classifier, [CLS] and position embedding included (timm
 * counts the fixed sin-cos table as a parameter with requires_grad=False; so do we).
 * Multiply-adds: every matrix product of one forward pass (patch projection, q/k/v/proj, q k^T,
 * attn v, MLP); normalisation, softmax, GELU and additions are not counted (the usual convention,
 * and Table 3's).
 */
import { type VitConfig, gridSize } from './config.ts';

export function vitParamCount(c: VitConfig): number {
  const d = c.dim;
  const hidden = d * c.mlpRatio;
  const withCls = c.pooling === 'cls';
  const patches = gridSize(c) ** 2;
  const tokens = patches + (withCls ? 1 : 0);
  const patch = c.inChannels * c.patchSize ** 2 * d + d;
  const cls = withCls ? d : 0;
  const pos = c.posEmbed === 'none' ? 0 : tokens * d;
  const attn = 3 * (d * d + d) + (d * d + d);
  const mlp = d * hidden + hidden + hidden * d + d;
  const norms = 2 * d + 2 * d; // norm1 + norm2 (BatchNorm's gamma/beta count the same; its running stats are buffers)
  const finalNorm = c.pooling === 'gap' ? 0 : 2 * d;
  return patch + cls + pos + c.depth * (attn + mlp + norms) + finalNorm;
}

export function vitMacs(c: VitConfig): number {
  const d = c.dim;
  const hidden = d * c.mlpRatio;
  const patches = gridSize(c) ** 2;
  const t = patches + (c.pooling === 'cls' ? 1 : 0);
  const patch = patches * c.inChannels * c.patchSize ** 2 * d;
  const block = 4 * t * d * d + 2 * t * t * d + 2 * t * d * hidden;
  return patch + c.depth * block;
}
