/** The ViT backbone families (`vit-s`, `vit-b`, ..., `vit-bn-l`, ...) as container entries. */
import type { BackboneOptions } from '../../core/config.ts';
import type { BackboneFamily } from '../backbone.ts';
import { VIT_SIZES, vitConfig, vitFamilies, vitFamilyOf } from './config.ts';
import { VisionTransformer } from './vit.ts';
import { vitMacs, vitParamCount } from './count.ts';

function checkFamily(family: string, name: string): void {
  if (vitFamilyOf(name) !== family) throw new Error(`backbone '${name}' does not belong to family '${family}'`);
}

export function vitFamily(family: string): BackboneFamily {
  const size = VIT_SIZES[family.replace(/^vit-(bn-)?/, '')];
  const bn = family.startsWith('vit-bn-');
  return {
    kind: 'backbone',
    family,
    title: bn ? size.title.replace('ViT', 'ViT-BN') : size.title,
    paperParamsM: bn ? undefined : size.paperParamsM,
    build(name: string, opts: BackboneOptions, seed: number) {
      checkFamily(family, name);
      return new VisionTransformer(name, vitConfig(name, opts), seed);
    },
    countParams(name: string, opts: BackboneOptions = {}) {
      checkFamily(family, name);
      return vitParamCount(vitConfig(name, opts));
    },
    countMacs(name: string, opts: BackboneOptions = {}) {
      checkFamily(family, name);
      return vitMacs(vitConfig(name, opts));
    },
    activationBytes(name: string, opts: BackboneOptions, batch: number, training: boolean) {
      checkFamily(family, name);
      const c = vitConfig(name, opts);
      const t = (c.imageSize / c.patchSize) ** 2 + 1;
      // one block: its input, q / k / v, the attention scores and their softmax, the MLP's hidden layer
      const block = batch * (t * c.dim * 5 + 2 * c.heads * t * t + t * c.dim * c.mlpRatio) * 4;
      // eval: one block's worth at a time; training: backward keeps every block's
      return training ? block * c.depth : block;
    },
    describe(name: string, opts: BackboneOptions = {}) {
      checkFamily(family, name);
      const c = vitConfig(name, opts);
      return { outDim: c.dim, blocks: c.depth, dim: c.dim, heads: c.heads, mlpDim: c.dim * c.mlpRatio };
    },
  };
}

export function allVitFamilies(): BackboneFamily[] {
  return vitFamilies().map(vitFamily);
}
