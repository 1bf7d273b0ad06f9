/**
 * ViT configurations: Table 2's sizes, small sizes for CPU presets, and the paper's ablation
 * switches. A backbone name is `vit[-bn]-SIZE[/PATCH]`, e.g. `vit-b/16`, `vit-h/14`, `vit-bn-l/7`,
 * `vit-tiny/4`.
 */
export type PosEmbed = 'sincos' | 'learned' | 'none';
/** 'cls': [CLS] after the final LN (default); 'gap-ln': no [CLS], final LN then global average pool; 'gap': no [CLS], no final LN, pool. */
export type Pooling = 'cls' | 'gap-ln' | 'gap';
/**
 * The fine-tuning builds (Table 5's transfer path, which fine-tunes a DeiT / timm ViT). Both make
 * every parameter trainable, the patch projection and the position embedding included:
 *  - 'pretrained': the pre-training ViT's layout and init (same values from the same seed), only
 *    nothing frozen; the caller then loads the pre-trained weights, which become the start values;
 *  - 'scratch': a from-scratch DeiT ViT: learned position embedding, learned patch projection and
 *    timm's init of every parameter (./deit-init.ts).
 * Absent (every pre-training build): the random patch projection and the sin-cos table are frozen.
 */
export type FinetuneBuild = 'pretrained' | 'scratch';

export interface VitConfig {
  dim: number;
  depth: number;
  heads: number;
  mlpRatio: number;
  patchSize: number;
  imageSize: number;
  inChannels: number;
  posEmbed: PosEmbed;
  pooling: Pooling;
  /** Random patch projection: the patch embedding stays at its random init (no gradient, no decay), unless `finetune` is set. */
  randomPatchProj: boolean;
  /** ViT-BN: BatchNorm instead of LayerNorm before each MLP. */
  mlpBatchNorm: boolean;
  lnEps: number;
  /** Stochastic depth: the last block's drop-path rate (timm's linear rule: block i gets i / (depth - 1) of it); 0 = off. */
  dropPath: number;
  /** Fine-tuning build (see FinetuneBuild); present only when set, so pre-training configs do not carry it. */
  finetune?: FinetuneBuild;
}

export interface VitSize {
  dim: number;
  depth: number;
  heads: number;
  patchSize: number;
  imageSize: number;
  /** Table 2's rounded parameter count, where the paper has one. */
  paperParamsM?: number;
  title: string;
}

export const VIT_SIZES: Record<string, VitSize> = {
  s: { dim: 384, depth: 12, heads: 12, patchSize: 16, imageSize: 224, paperParamsM: 22, title: 'ViT-Small' },
  b: { dim: 768, depth: 12, heads: 12, patchSize: 16, imageSize: 224, paperParamsM: 86, title: 'ViT-Base' },
  l: { dim: 1024, depth: 24, heads: 16, patchSize: 16, imageSize: 224, paperParamsM: 304, title: 'ViT-Large' },
  h: { dim: 1280, depth: 32, heads: 16, patchSize: 14, imageSize: 224, paperParamsM: 632, title: 'ViT-Huge' },
  tiny: { dim: 192, depth: 6, heads: 3, patchSize: 4, imageSize: 32, title: 'ViT-Tiny (CPU presets: stands in for ViT-B)' },
  mini: { dim: 96, depth: 6, heads: 3, patchSize: 4, imageSize: 32, title: 'ViT-Mini (CPU presets: stands in for ViT-S)' },
  micro: { dim: 64, depth: 2, heads: 2, patchSize: 4, imageSize: 32, title: 'ViT-Micro (tests, smoke)' },
};

export interface VitOverrides {
  patchSize?: number;
  imageSize?: number;
  posEmbed?: PosEmbed;
  pooling?: Pooling;
  randomPatchProj?: boolean;
  mlpBatchNorm?: boolean;
  dropPath?: number;
  finetune?: FinetuneBuild;
}

const NAME = /^vit(-bn)?-([a-z]+)(?:\/(\d+))?$/;

/** The family name without a patch suffix, e.g. `vit-bn-l` for `vit-bn-l/7`. */
export function vitFamilyOf(name: string): string | undefined {
  const m = NAME.exec(name);
  return m && VIT_SIZES[m[2]] ? `vit${m[1] ?? ''}-${m[2]}` : undefined;
}

export function vitFamilies(): string[] {
  const sizes = Object.keys(VIT_SIZES);
  return [...sizes.map((s) => `vit-${s}`), ...sizes.map((s) => `vit-bn-${s}`)];
}

/** Resolve a backbone name plus overrides to a full config. */
export function vitConfig(name: string, overrides: VitOverrides = {}): VitConfig {
  const m = NAME.exec(name);
  const size = m ? VIT_SIZES[m[2]] : undefined;
  if (!m || !size) {
    throw new Error(`backbone '${name}': not a ViT name; known: ${vitFamilies().join(', ')} (optionally /PATCH, e.g. vit-b/16)`);
  }
  const patchSize = overrides.patchSize ?? (m[3] ? Number(m[3]) : size.patchSize);
  const imageSize = overrides.imageSize ?? size.imageSize;
  // a from-scratch DeiT ViT learns its position embedding and patch projection
  const scratch = overrides.finetune === 'scratch';
  const cfg: VitConfig = {
    dim: size.dim,
    depth: size.depth,
    heads: size.heads,
    mlpRatio: 4,
    patchSize,
    imageSize,
    inChannels: 3,
    posEmbed: overrides.posEmbed ?? (scratch ? 'learned' : 'sincos'),
    pooling: overrides.pooling ?? 'cls',
    randomPatchProj: overrides.randomPatchProj ?? !scratch,
    mlpBatchNorm: overrides.mlpBatchNorm ?? m[1] === '-bn',
    lnEps: 1e-6,
    dropPath: overrides.dropPath ?? 0,
    ...(overrides.finetune !== undefined ? { finetune: overrides.finetune } : {}),
  };
  validateVitConfig(name, cfg);
  return cfg;
}

export function validateVitConfig(name: string, c: VitConfig): void {
  if (!Number.isInteger(c.patchSize) || c.patchSize < 1)
    throw new Error(`backbone '${name}': patch size must be a positive integer, got ${c.patchSize}`);
  if (c.imageSize % c.patchSize !== 0) {
    throw new Error(`backbone '${name}': image size ${c.imageSize} is not a multiple of patch size ${c.patchSize}`);
  }
  if (c.dim % c.heads !== 0) throw new Error(`backbone '${name}': dim ${c.dim} is not divisible by ${c.heads} heads`);
  if (!(typeof c.dropPath === 'number' && c.dropPath >= 0 && c.dropPath < 1))
    throw new Error(`backbone '${name}': dropPath must be a number in [0, 1), got ${c.dropPath}`);
  if (c.finetune !== undefined && c.finetune !== 'pretrained' && c.finetune !== 'scratch') {
    throw new Error(`backbone '${name}': finetune must be 'pretrained' or 'scratch', got ${String(c.finetune)}`);
  }
  if (c.finetune === 'scratch' && (c.posEmbed === 'sincos' || c.randomPatchProj)) {
    throw new Error(
      `backbone '${name}': a from-scratch DeiT ViT (finetune 'scratch') learns its position embedding and patch projection; got ` +
        `posEmbed '${c.posEmbed}', randomPatchProj ${c.randomPatchProj}`,
    );
  }
  if (c.posEmbed === 'sincos' && c.dim % 4 !== 0) {
    throw new Error(`backbone '${name}': 2-D sin-cos position embedding needs dim divisible by 4, got ${c.dim}`);
  }
}

export function gridSize(c: VitConfig): number {
  return c.imageSize / c.patchSize;
}
