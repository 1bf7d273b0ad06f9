/** The ResNet backbone families (`resnet-50`, `resnet-tiny`, `resnet-micro`) as container entries. */
import type { BackboneOptions } from '../../core/config.ts';
import type { BackboneFamily } from '../backbone.ts';
import { RESNET_SIZES, resnetConfig, resnetFamilies, resnetFamilyOf, resnetOutDim } from './config.ts';
import { ResNet } from './resnet.ts';
import { resnetMacs, resnetParamCount } from './count.ts';

function checkFamily(family: string, name: string): void {
  if (resnetFamilyOf(name) !== family) throw new Error(`backbone '${name}' does not belong to family '${family}'`);
}

/** Patch, position-embedding, pooling and ViT-BN options do not apply to a ResNet and are ignored. */
function config(name: string, opts: BackboneOptions) {
  return resnetConfig(name, { imageSize: opts.imageSize, stem: opts.stem, zeroInitResidual: opts.zeroInitResidual });
}

export function resnetFamily(family: string): BackboneFamily {
  const size = RESNET_SIZES[family.replace(/^resnet-/, '')];
  if (!size) throw new Error(`unknown ResNet family '${family}'; known: ${resnetFamilies().join(', ')}`);
  return {
    kind: 'backbone',
    family,
    title: size.title,
    // The paper counts no ResNet (its Table 2 is ViTs only); torchvision's numbers are a reference.
    paperParamsM: undefined,
    reference: size.reference && { source: 'torchvision', ...size.reference },
    build(name: string, opts: BackboneOptions, seed: number) {
      checkFamily(family, name);
      return new ResNet(name, config(name, opts), seed);
    },
    countParams(name: string, opts: BackboneOptions = {}) {
      checkFamily(family, name);
      return resnetParamCount(config(name, opts));
    },
    countMacs(name: string, opts: BackboneOptions = {}) {
      checkFamily(family, name);
      return resnetMacs(config(name, opts));
    },
    describe(name: string, opts: BackboneOptions = {}) {
      checkFamily(family, name);
      const c = config(name, opts);
      return { outDim: resnetOutDim(c), blocks: c.blocks.reduce((s, n) => s + n, 0) };
    },
  };
}

export function allResnetFamilies(): BackboneFamily[] {
  return resnetFamilies().map(resnetFamily);
}
