/**
 * One image's two RandomResizedCrops, as the streaming pipeline's workers make them: decode the
 * file with sharp (alpha dropped, grey / CMYK to sRGB, 8 bit; no EXIF rotation, as PIL), draw each
 * view's crop box with torchvision's `RandomResizedCrop.get_params` from that view's own seed
 * (augment/random-resized-crop.ts), and resample the box to `outSize` x `outSize` (bilinear,
 * antialiased when shrinking). Returns HWC RGB bytes per view. The crop is drawn here because it
 * needs the image's size; everything else of the augmentation (colour, blur, solarize, flip)
 * runs batched on the engine (augment/policy.ts `photometricTwoViews`).
 */
import type { Sharp } from 'sharp';
import { Rng } from '../engine/rng.ts';
import { DEFAULT_RATIO, sampleResizedCropBox, type CropBox } from '../augment/random-resized-crop.ts';

export interface TwoCropJob {
  file: string;
  /** One seed per view. */
  seeds: [number, number];
  outSize: number;
  cropMin: number;
}

export type TwoCropResult =
  | { ok: true; views: [Uint8Array, Uint8Array]; boxes: [CropBox, CropBox]; height: number; width: number }
  | { ok: false; error: string };

type SharpFactory = (input: string | Buffer, options?: object) => Sharp;

export async function twoCrops(sharp: SharpFactory, job: TwoCropJob): Promise<TwoCropResult> {
  try {
    const { data, info } = await sharp(job.file, { failOn: 'error' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const { width, height } = info;
    const views: Uint8Array[] = [];
    const boxes: CropBox[] = [];
    for (const seed of job.seeds) {
      const b = sampleResizedCropBox(new Rng(seed), height, width, [job.cropMin, 1], DEFAULT_RATIO);
      const out = await sharp(data, { raw: { width, height, channels: 3 } })
        .extract({ left: b.left, top: b.top, width: b.width, height: b.height })
        .resize(job.outSize, job.outSize, { fit: 'fill', kernel: 'linear' })
        .raw()
        .toBuffer();
      views.push(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      boxes.push({ top: b.top, left: b.left, height: b.height, width: b.width });
    }
    return { ok: true, views: [views[0], views[1]], boxes: [boxes[0], boxes[1]], height, width };
  } catch (err) {
    return { ok: false, error: (err as Error).message.split('\n')[0] };
  }
}
