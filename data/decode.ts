/**
 * Decodes image files (JPEG, PNG, WebP, ... anything libvips reads) into one NHWC Float32Array of
 * RGB values in [0, 1], with `sharp`. Shared by the ImageFolder, Flowers-102 and Pets readers.
 *
 * Geometry, as torchvision's eval transform: `Resize(resize)` (shorter side to `resize`, the longer
 * side int(resize * long / short)) then `CenterCrop(size)` (offsets round((h - size) / 2)); or, with
 * `mode: 'squash'`, a direct resize to size x size. Alpha is dropped (as PIL's convert('RGB')),
 * grey and CMYK are converted to sRGB, 16-bit images to 8-bit; EXIF orientation is not applied
 * (PIL does not apply it either).
 *
 * Before anything is decoded the output's memory (count * size * size * 3 * 4 bytes) is checked
 * against `maxBytes` (8 GiB by default). Files are decoded `concurrency` at a time (4 by default).
 */
import type { Sharp } from 'sharp';

type SharpFactory = (input: string, options: { failOn: 'error' }) => Sharp;
let sharpModule: Promise<SharpFactory> | undefined;

/** sharp, loaded on first use, so that commands that decode no image files never load its native binary. */
function loadSharp(): Promise<SharpFactory> {
  sharpModule ??= import('sharp').then(
    (m) => m.default as unknown as SharpFactory,
    (e: Error) => {
      sharpModule = undefined;
      throw new Error(`the npm package sharp (image decoding) could not be loaded: ${e.message}; reinstall with: npm ci`);
    },
  );
  return sharpModule;
}

export const DEFAULT_MAX_BYTES = 8 * 1024 ** 3;
export const DEFAULT_CONCURRENCY = 4;

export interface DecodeOptions {
  /** Side of the square output images, pixels. */
  size: number;
  /** 'resize-crop' (default): shorter side to `resize`, then centre crop `size`. 'squash': resize straight to size x size. */
  mode?: 'resize-crop' | 'squash';
  /** Shorter side before the centre crop (default: `size`); at least `size`. */
  resize?: number;
  /** Interpolation: 'linear' (default, as torchvision's bilinear), 'cubic', 'lanczos3', 'nearest'. */
  kernel?: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
  /** Files decoded at the same time (default 4). */
  concurrency?: number;
  /** Largest output allowed, bytes (default 8 GiB). */
  maxBytes?: number;
  /** Called after each decoded file with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** Bytes of `count` float32 RGB images of side `size`. */
export function imageBytes(count: number, size: number): number {
  return count * size * size * 3 * 4;
}

const gib = (b: number): string => `${(b / 1024 ** 3).toFixed(2)} GiB`;

/**
 * Throws when `count` images of side `size` would exceed `maxBytes`; `where` (the folder) and
 * `limitHint` (how to read fewer images) go into the message.
 */
export function checkMemory(count: number, size: number, maxBytes: number, where: string, limitHint = 'a limit'): void {
  const need = imageBytes(count, size);
  if (need > maxBytes) {
    const fits = Math.floor(maxBytes / imageBytes(1, size));
    throw new Error(
      `${where}: ${count} images at ${size}x${size} RGB need ${gib(need)} as float32 (count*size*size*3*4 bytes), ` +
        `more than the ${gib(maxBytes)} allowed; pass ${limitHint} (at most ${fits} images fit at this size), ` +
        `a smaller size, or a larger memory limit (maxBytes)`,
    );
  }
}

/** Validates the geometry options; returns the resize side and mode. */
function geometry(o: DecodeOptions): { mode: 'resize-crop' | 'squash'; resize: number } {
  const { size, mode = 'resize-crop', resize = size } = o;
  if (!Number.isInteger(size) || size < 1) throw new Error(`decodeImages: size must be a positive integer, got ${size}`);
  if (mode !== 'resize-crop' && mode !== 'squash')
    throw new Error(`decodeImages: mode must be 'resize-crop' or 'squash', got ${String(mode)}`);
  if (mode === 'resize-crop' && !(Number.isInteger(resize) && resize >= size)) {
    throw new Error(`decodeImages: resize must be an integer >= size (${size}), got ${resize}`);
  }
  return { mode, resize };
}

/** Output width and height after Resize(resize) of a w x h image (torchvision's rule). */
export function resizedShape(w: number, h: number, resize: number): { width: number; height: number } {
  if (w <= h) return { width: resize, height: Math.max(1, Math.trunc((resize * h) / w)) };
  return { width: Math.max(1, Math.trunc((resize * w) / h)), height: resize };
}

/** Decodes one file to size*size*3 bytes of RGB (HWC). Errors name the file. */
export async function decodeImageRgb(file: string, o: DecodeOptions): Promise<Uint8Array> {
  const { mode, resize } = geometry(o);
  const { size, kernel = 'linear' } = o;
  const sharp = await loadSharp();
  try {
    let img = sharp(file, { failOn: 'error' });
    if (mode === 'squash') {
      img = img.resize(size, size, { fit: 'fill', kernel });
    } else {
      const meta = await img.metadata();
      if (!meta.width || !meta.height) throw new Error('no image size in the file');
      const r = resizedShape(meta.width, meta.height, resize);
      img = img
        .resize(r.width, r.height, { fit: 'fill', kernel })
        .extract({ left: Math.round((r.width - size) / 2), top: Math.round((r.height - size) / 2), width: size, height: size });
    }
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.width !== size || info.height !== size || info.channels !== 3 || data.length !== size * size * 3) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
    }
    return data;
  } catch (e) {
    throw new Error(`${file}: cannot decode image: ${(e as Error).message}`);
  }
}

/**
 * Decodes `files` in order into one NHWC Float32Array (files.length * size * size * 3, values / 255),
 * at most `concurrency` at a time. Checks the memory first (`where` names the data in that error).
 */
export async function decodeImages(files: readonly string[], o: DecodeOptions, where = 'decodeImages'): Promise<Float32Array> {
  geometry(o);
  const { size, concurrency = DEFAULT_CONCURRENCY, maxBytes = DEFAULT_MAX_BYTES } = o;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`decodeImages: concurrency must be a positive integer, got ${concurrency}`);
  checkMemory(files.length, size, maxBytes, where);
  const per = size * size * 3;
  const out = new Float32Array(files.length * per);
  let nextIndex = 0;
  let done = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && nextIndex < files.length) {
      const i = nextIndex++;
      try {
        const rgb = await decodeImageRgb(files[i], o);
        const base = i * per;
        for (let j = 0; j < per; j++) out[base + j] = rgb[j] / 255;
      } catch (e) {
        failed = true;
        throw e;
      }
      o.onProgress?.(++done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return out;
}
