/**
 * ResNet configurations: torchvision's ResNet-50 (Bottleneck blocks, stride on the 3x3 conv, i.e.
 * ResNet v1.5) and width-scaled small sizes for CPU presets and tests. A backbone name is
 * `resnet-SIZE`: `resnet-50`, `resnet-tiny`, `resnet-micro`.
 *
 * Stem: 'imagenet' is torchvision's 7x7 stride-2 conv + 3x3 stride-2 max pool (224 px -> 56);
 * 'cifar' is a 3x3 stride-1 conv and no max pool, the usual stem for small images (the ImageNet
 * stem would shrink a 32 px image to 8 px before the first block). Unless set, the stem is
 * 'cifar' for images of 64 px or less and 'imagenet' above.
 */
export type ResnetStem = 'imagenet' | 'cifar';

export interface ResnetConfig {
  /** Bottleneck blocks per stage (layer1..layer4). */
  blocks: number[];
  /** Bottleneck width (the 3x3 conv's channels) per stage; a stage outputs width * expansion. */
  widths: number[];
  /** Output channels of the stem conv. */
  stemChannels: number;
  expansion: number;
  imageSize: number;
  inChannels: number;
  stem: ResnetStem;
  /** torchvision's zero_init_residual: each block's last BN starts with gamma = 0. */
  zeroInitResidual: boolean;
  bnEps: number;
}

export interface ResnetSize {
  blocks: number[];
  /** Reference numbers published by torchvision (the paper has none for ResNets). */
  reference?: { paramsWithClassifierM: number; gflops: number };
  /** Stem channels and layer1's width; stage i has width baseWidth * 2^i. */
  baseWidth: number;
  imageSize: number;
  title: string;
}

export const RESNET_SIZES: Record<string, ResnetSize> = {
  '50': {
    blocks: [3, 4, 6, 3],
    baseWidth: 64,
    imageSize: 224,
    title: 'ResNet-50 (torchvision)',
    reference: { paramsWithClassifierM: 25.6, gflops: 4.1 },
  },
  tiny: { blocks: [1, 1, 1, 1], baseWidth: 16, imageSize: 32, title: 'ResNet-Tiny (CPU presets)' },
  micro: { blocks: [1, 1, 1, 1], baseWidth: 8, imageSize: 32, title: 'ResNet-Micro (tests, smoke)' },
};

export interface ResnetOverrides {
  imageSize?: number;
  stem?: ResnetStem;
  zeroInitResidual?: boolean;
}

const NAME = /^resnet-([a-z0-9]+)$/;

/** Images of this side or smaller get the 'cifar' stem unless a stem is given. */
export const SMALL_IMAGE_MAX = 64;

export function resnetFamilies(): string[] {
  return Object.keys(RESNET_SIZES).map((s) => `resnet-${s}`);
}

/** The family of a name (the name itself: ResNet names have no suffix), or undefined. */
export function resnetFamilyOf(name: string): string | undefined {
  const m = NAME.exec(name);
  return m && RESNET_SIZES[m[1]] ? name : undefined;
}

/** Resolve a backbone name plus overrides to a full config. */
export function resnetConfig(name: string, overrides: ResnetOverrides = {}): ResnetConfig {
  const m = NAME.exec(name);
  const size = m ? RESNET_SIZES[m[1]] : undefined;
  if (!m || !size) throw new Error(`backbone '${name}': not a ResNet name; known: ${resnetFamilies().join(', ')}`);
  const imageSize = overrides.imageSize ?? size.imageSize;
  if (!Number.isInteger(imageSize) || imageSize < 1)
    throw new Error(`backbone '${name}': image size must be a positive integer, got ${imageSize}`);
  if (overrides.stem !== undefined && overrides.stem !== 'imagenet' && overrides.stem !== 'cifar') {
    throw new Error(`backbone '${name}': stem must be 'imagenet' or 'cifar', got '${overrides.stem}'`);
  }
  const b = size.baseWidth;
  return {
    blocks: [...size.blocks],
    widths: size.blocks.map((_, i) => b * 2 ** i),
    stemChannels: b,
    expansion: 4,
    imageSize,
    inChannels: 3,
    stem: overrides.stem ?? (imageSize <= SMALL_IMAGE_MAX ? 'cifar' : 'imagenet'),
    zeroInitResidual: overrides.zeroInitResidual ?? false,
    bnEps: 1e-5,
  };
}

/** Channels of the pooled output: the last stage's width * expansion. */
export function resnetOutDim(c: ResnetConfig): number {
  return c.widths[c.widths.length - 1] * c.expansion;
}

export interface StemGeometry {
  kernel: number;
  stride: number;
  padding: number;
  /** The ImageNet stem's max pool (3x3, stride 2, padding 1); none for the 'cifar' stem. */
  pool?: { size: number; stride: number; padding: number };
}

/** The stem conv (and max pool) of a config. */
export function stemGeometry(c: ResnetConfig): StemGeometry {
  return c.stem === 'imagenet'
    ? { kernel: 7, stride: 2, padding: 3, pool: { size: 3, stride: 2, padding: 1 } }
    : { kernel: 3, stride: 1, padding: 1 };
}

/** Stride of stage i's first block (torchvision: 1 for layer1, 2 after). */
export function stageStride(stage: number): number {
  return stage === 0 ? 1 : 2;
}

export interface BlockShape {
  /** torchvision name, e.g. `layer2.0`. */
  name: string;
  inChannels: number;
  width: number;
  stride: number;
  /** A 1x1 conv + BN on the shortcut (stride or channel change). */
  downsample: boolean;
}

/** Every Bottleneck block of a config, in order, with its channels and stride. */
export function blockShapes(c: ResnetConfig): BlockShape[] {
  const out: BlockShape[] = [];
  let inChannels = c.stemChannels;
  c.blocks.forEach((n, stage) => {
    const width = c.widths[stage];
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? stageStride(stage) : 1;
      out.push({
        name: `layer${stage + 1}.${i}`,
        inChannels,
        width,
        stride,
        downsample: stride !== 1 || inChannels !== width * c.expansion,
      });
      inChannels = width * c.expansion;
    }
  });
  return out;
}
