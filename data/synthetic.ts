/**
 * An embedded synthetic RGB image set, drawn procedurally at run time and deterministic from a seed.
 *
 * Each class is a family of spatial structure (stripes at a class-specific orientation, rings,
 * spokes, checkerboards, dot lattices, ...). Every image draws its own frequency, phase, position,
 * small rotation, foreground/background colours (either may be the lighter one) and pixel noise,
 * so class identity lives in the spatial structure, not in colour or brightness: it survives
 * random-resized crops, horizontal flips (no class is the mirror image of another), colour jitter
 * and grayscale.
 *
 * Image i depends only on (seed, i, size, numClasses), so a larger `count` extends a smaller one.
 * Labels are balanced: each consecutive block of `numClasses` images holds every class once, in a
 * seeded order.
 */
import { Rng } from '../engine/rng.ts';
import type { ImageSet } from './image-set.ts';

/** Class names, in label order; a set with numClasses = k uses the first k. */
export const SYNTHETIC_CLASS_NAMES: readonly string[] = [
  'horizontal-stripes',
  'vertical-stripes',
  'diagonal-stripes',
  'checkerboard',
  'rings',
  'spokes',
  'dots',
  'grid',
  'blobs',
  'zigzag',
];

export interface SyntheticOptions {
  count: number;
  /** Height and width in pixels (default 32). */
  size?: number;
  /** 1..10 (default 10). */
  numClasses?: number;
  seed?: number;
  /** Scale of the per-pixel noise; each image draws its amplitude in [0.25, 1] * noise (default 0.08). */
  noise?: number;
  name?: string;
}

const DEG = Math.PI / 180;

/** 32-bit hash of (a, b, tag): independent streams for each image and each label block. */
function hash3(a: number, b: number, tag: number): number {
  let h = Math.imul((a >>> 0) ^ 0x27d4eb2d, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15) ^ (b >>> 0), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ Math.imul(tag, 0x9e3779b1), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const clamp01 = (v: number): number => (v < 0 ? 0 : Math.min(v, 1));
/** Maps a value in [-1, 1] to [0, 1] with a steeper edge (sharpness >= 1). */
const edge = (v: number, sharpness: number): number => clamp01(0.5 + 0.5 * sharpness * v);
/** Triangle wave with period 1, range [-1, 1]. */
const tri = (t: number): number => 4 * Math.abs(t - Math.floor(t + 0.5)) - 1;

/**
 * Fills `p` (size*size, row-major) with the pattern of class `cls` in [0, 1], drawing the
 * per-image parameters from `rng`. Coordinates x, y run over [-1, 1]; y points down.
 */
function drawPattern(cls: number, size: number, rng: Rng, p: Float32Array): void {
  const step = 2 / size;
  const x0 = -1 + step / 2;
  const sharp = rng.uniform(1, 3);
  const phase = rng.uniform(0, 2 * Math.PI);
  switch (cls) {
    case 0: // horizontal stripes
    case 1: // vertical stripes
    case 2: {
      // diagonal stripes, either diagonal (so the family is closed under horizontal flip)
      let theta = rng.uniform(-12, 12) * DEG;
      if (cls === 1) theta += 90 * DEG;
      if (cls === 2) theta = (rng.bernoulli(0.5) ? 45 : 135) * DEG + rng.uniform(-8, 8) * DEG;
      const w = Math.PI * rng.uniform(2.5, 5); // 2.5..5 cycles across the image
      const cx = w * Math.sin(theta);
      const cy = w * Math.cos(theta);
      for (let j = 0, k = 0; j < size; j++) {
        const y = x0 + j * step;
        for (let i = 0; i < size; i++, k++) p[k] = edge(Math.sin(cx * (x0 + i * step) + cy * y + phase), sharp);
      }
      return;
    }
    case 3: {
      // checkerboard
      const theta = rng.uniform(-12, 12) * DEG;
      const w = Math.PI * rng.uniform(1.5, 3);
      const c = Math.cos(theta);
      const s = Math.sin(theta);
      const phase2 = rng.uniform(0, 2 * Math.PI);
      for (let j = 0, k = 0; j < size; j++) {
        const y = x0 + j * step;
        for (let i = 0; i < size; i++, k++) {
          const x = x0 + i * step;
          const v = Math.sin(w * (c * x - s * y) + phase) * Math.sin(w * (s * x + c * y) + phase2);
          p[k] = edge(v, 2 * sharp);
        }
      }
      return;
    }
    case 4: {
      // concentric rings around a random centre
      const mx = rng.uniform(-0.6, 0.6);
      const my = rng.uniform(-0.6, 0.6);
      const w = Math.PI * rng.uniform(2.5, 5);
      for (let j = 0, k = 0; j < size; j++) {
        const dy = x0 + j * step - my;
        for (let i = 0; i < size; i++, k++) {
          const dx = x0 + i * step - mx;
          p[k] = edge(Math.sin(w * Math.sqrt(dx * dx + dy * dy) + phase), sharp);
        }
      }
      return;
    }
    case 5: {
      // spokes radiating from a random centre
      const mx = rng.uniform(-0.4, 0.4);
      const my = rng.uniform(-0.4, 0.4);
      const n = 5 + rng.int(6);
      for (let j = 0, k = 0; j < size; j++) {
        const dy = x0 + j * step - my;
        for (let i = 0; i < size; i++, k++) p[k] = edge(Math.sin(n * Math.atan2(dy, x0 + i * step - mx) + phase), sharp);
      }
      return;
    }
    case 6:
    case 7: {
      // 6: lattice of round dots; 7: grid of thin lines
      const theta = rng.uniform(-15, 15) * DEG;
      const f = rng.uniform(1.5, 3); // cells per unit length (3..6 across the image)
      const c = Math.cos(theta) * f;
      const s = Math.sin(theta) * f;
      const ox = rng.next();
      const oy = rng.next();
      const r = cls === 6 ? rng.uniform(0.2, 0.32) : rng.uniform(0.06, 0.1);
      const soft = 0.05;
      for (let j = 0, k = 0; j < size; j++) {
        const y = x0 + j * step;
        for (let i = 0; i < size; i++, k++) {
          const x = x0 + i * step;
          let u = c * x - s * y + ox;
          let v = s * x + c * y + oy;
          u -= Math.floor(u) + 0.5; // distance to the cell centre, in [-0.5, 0.5)
          v -= Math.floor(v) + 0.5;
          const d = cls === 6 ? Math.sqrt(u * u + v * v) : 0.5 - Math.max(Math.abs(u), Math.abs(v)); // distance to the nearest grid line
          p[k] = clamp01((r - d) / soft + 0.5);
        }
      }
      return;
    }
    case 8: {
      // a few large soft blobs
      const n = 2 + rng.int(3);
      const bx: number[] = [];
      const by: number[] = [];
      const bs: number[] = [];
      for (let b = 0; b < n; b++) {
        bx.push(rng.uniform(-0.8, 0.8));
        by.push(rng.uniform(-0.8, 0.8));
        const sd = rng.uniform(0.18, 0.35);
        bs.push(1 / (2 * sd * sd));
      }
      for (let j = 0, k = 0; j < size; j++) {
        const y = x0 + j * step;
        for (let i = 0; i < size; i++, k++) {
          const x = x0 + i * step;
          let v = 0;
          for (let b = 0; b < n; b++) {
            const dx = x - bx[b];
            const dy = y - by[b];
            v += Math.exp(-(dx * dx + dy * dy) * bs[b]);
          }
          p[k] = clamp01(1.3 * v);
        }
      }
      return;
    }
    case 9: {
      // zigzag: horizontal stripes displaced by a triangle wave along x
      const w = Math.PI * rng.uniform(2.5, 4);
      const amp = rng.uniform(0.15, 0.3);
      const g = rng.uniform(1, 2); // zigzag periods per unit length
      const off = rng.next();
      for (let j = 0, k = 0; j < size; j++) {
        const y = x0 + j * step;
        for (let i = 0; i < size; i++, k++) {
          const u = y + amp * tri(g * (x0 + i * step) + off);
          p[k] = edge(Math.sin(w * u + phase), sharp);
        }
      }
      return;
    }
    default:
      throw new Error(`synthetic: no pattern for class ${cls}`);
  }
}

/** A random colour whose mean is `lum` (so that grayscale keeps the contrast). */
function colour(rng: Rng, lum: number): [number, number, number] {
  const a = rng.uniform(-0.25, 0.25);
  const b = rng.uniform(-0.25, 0.25);
  const c = -(a + b);
  return [clamp01(lum + a), clamp01(lum + b), clamp01(lum + c)];
}

/** Builds the synthetic set described at the top of this file. */
export function makeSynthetic(options: SyntheticOptions): ImageSet {
  const { count, size = 32, numClasses = 10, seed = 0, noise = 0.08 } = options;
  if (!Number.isInteger(count) || count < 0) throw new Error(`makeSynthetic: count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(size) || size < 4) throw new Error(`makeSynthetic: size must be an integer >= 4, got ${size}`);
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > SYNTHETIC_CLASS_NAMES.length) {
    throw new Error(`makeSynthetic: numClasses must be an integer in [1, ${SYNTHETIC_CLASS_NAMES.length}], got ${numClasses}`);
  }
  if (!(noise >= 0)) throw new Error(`makeSynthetic: noise must be >= 0, got ${noise}`);

  const pixels = size * size;
  const images = new Float32Array(count * pixels * 3);
  const labels = new Int32Array(count);
  const pattern = new Float32Array(pixels);
  const order = new Int32Array(numClasses);

  for (let i = 0; i < count; i++) {
    const block = Math.floor(i / numClasses);
    if (i % numClasses === 0) {
      for (let c = 0; c < numClasses; c++) order[c] = c;
      new Rng(hash3(seed, block, 1)).shuffle(order);
    }
    const cls = order[i % numClasses];
    labels[i] = cls;

    const rng = new Rng(hash3(seed, i, 2));
    drawPattern(cls, size, rng, pattern);
    const dark = rng.uniform(0.05, 0.35);
    const light = rng.uniform(0.65, 0.95);
    const lightFg = rng.bernoulli(0.5);
    const fg = colour(rng, lightFg ? light : dark);
    const bg = colour(rng, lightFg ? dark : light);
    const amp = 2 * noise * rng.uniform(0.25, 1); // uniform noise in [-amp/2, amp/2)

    let o = i * pixels * 3;
    for (let k = 0; k < pixels; k++) {
      const t = pattern[k];
      images[o] = clamp01(bg[0] + (fg[0] - bg[0]) * t + amp * (rng.next() - 0.5));
      images[o + 1] = clamp01(bg[1] + (fg[1] - bg[1]) * t + amp * (rng.next() - 0.5));
      images[o + 2] = clamp01(bg[2] + (fg[2] - bg[2]) * t + amp * (rng.next() - 0.5));
      o += 3;
    }
  }

  return {
    name: options.name ?? `synthetic${numClasses}-${size}px-seed${seed}`,
    images,
    labels,
    count,
    height: size,
    width: size,
    channels: 3,
    numClasses,
    classNames: SYNTHETIC_CLASS_NAMES.slice(0, numClasses),
  };
}
