import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import {
  adjustBrightness,
  adjustContrast,
  adjustHue,
  adjustSaturation,
  grayscale,
  hsvToRgb,
  rgbToHsv,
  solarize,
} from '../augment/color.ts';
import { colorJitter, sampleJitter, type JitterParams } from '../augment/color-jitter.ts';

const [B, H, W, C] = [2, 5, 6, 3];
type Px = [number, number, number];

/** Random image batch plus a few hand-set pixels: gray, ties of the max channel, black, white, exactly 0.5. */
function makeImages(seed: number, n = B): Float32Array {
  const rng = new Rng(seed);
  const a = new Float32Array(n * H * W * C);
  for (let i = 0; i < a.length; i++) a[i] = rng.next();
  const special: Px[] = [
    [0.5, 0.5, 0.5],
    [0.8, 0.8, 0.2],
    [0.2, 0.8, 0.8],
    [0.8, 0.2, 0.8],
    [0, 0, 0],
    [1, 1, 1],
    [0.5, 0.25, 0.75],
  ];
  special.forEach((p, k) => {
    a.set(p, k * C);
  }); // image 0, first pixels
  return a;
}
const tensorOf = (a: Float32Array, n = B): tf.Tensor4D => tf.tensor4d(a, [n, H, W, C]);
const clamp = (v: number): number => Math.min(1, Math.max(0, v));
const lumaPx = (p: Px): number => 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];

/** Map each pixel of image b with fn(pixel, b) in plain JS. */
function mapPixels(a: Float32Array, fn: (p: Px, b: number) => Px): Float32Array {
  const out = new Float32Array(a.length);
  for (let q = 0; q < a.length / C; q++) {
    const b = Math.floor(q / (H * W));
    const p = fn([a[q * C], a[q * C + 1], a[q * C + 2]], b);
    out.set(p, q * C);
  }
  return out;
}

function imageMeanLuma(a: Float32Array, b: number): number {
  let s = 0;
  for (let q = b * H * W; q < (b + 1) * H * W; q++) s += lumaPx([a[q * C], a[q * C + 1], a[q * C + 2]]);
  return s / (H * W);
}

// Python colorsys, written out: the reference for hue.
function rgbToHsvPx([r, g, b]: Px): Px {
  const maxc = Math.max(r, g, b);
  const minc = Math.min(r, g, b);
  if (maxc === minc) return [0, 0, maxc];
  const s = (maxc - minc) / maxc;
  const rc = (maxc - r) / (maxc - minc);
  const gc = (maxc - g) / (maxc - minc);
  const bc = (maxc - b) / (maxc - minc);
  let h: number;
  if (r === maxc) h = bc - gc;
  else if (g === maxc) h = 2 + rc - bc;
  else h = 4 + gc - rc;
  h = (((h / 6) % 1) + 1) % 1;
  return [h, s, maxc];
}
function hsvToRgbPx([h, s, v]: Px): Px {
  if (s === 0) return [v, v, v];
  let i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  i = ((i % 6) + 6) % 6;
  return (
    [
      [v, t, p],
      [q, v, p],
      [p, v, t],
      [p, q, v],
      [t, p, v],
      [v, p, q],
    ] as Px[]
  )[i];
}
const hueShiftPx = (p: Px, shift: number): Px => {
  const [h, s, v] = rgbToHsvPx(p);
  return hsvToRgbPx([(((h + shift) % 1) + 1) % 1, s, v]);
};

const refBrightness = (a: Float32Array, f: number[]) => mapPixels(a, (p, b) => p.map((v) => clamp(f[b] * v)) as Px);
const refContrast = (a: Float32Array, f: number[]) => {
  const means = Array.from({ length: a.length / (H * W * C) }, (_, b) => imageMeanLuma(a, b));
  return mapPixels(a, (p, b) => p.map((v) => clamp(f[b] * v + (1 - f[b]) * means[b])) as Px);
};
const refSaturation = (a: Float32Array, f: number[]) =>
  mapPixels(a, (p, b) => p.map((v) => clamp(f[b] * v + (1 - f[b]) * lumaPx(p))) as Px);
const refHue = (a: Float32Array, h: number[]) => mapPixels(a, (p, b) => hueShiftPx(p, h[b]));

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

function run(fn: (x: tf.Tensor4D) => tf.Tensor4D, a: Float32Array, n = B): Float32Array {
  const x = tensorOf(a, n);
  const y = fn(x);
  const out = y.dataSync() as Float32Array;
  assert.deepEqual(y.shape, x.shape);
  x.dispose();
  y.dispose();
  return out;
}

test('brightness multiplies by a per-image factor and clamps', () => {
  const a = makeImages(1);
  const f = [1.37, 0.64];
  assertClose(
    run((x) => adjustBrightness(x, f), a),
    refBrightness(a, f),
    1e-6,
    'brightness',
  );
});

test('contrast blends with the mean luma of each image', () => {
  const a = makeImages(2);
  const f = [1.35, 0.62];
  assertClose(
    run((x) => adjustContrast(x, f), a),
    refContrast(a, f),
    1e-5,
    'contrast',
  );
});

test('saturation blends with the per-pixel luma', () => {
  const a = makeImages(3);
  const f = [1.18, 0.83];
  assertClose(
    run((x) => adjustSaturation(x, f), a),
    refSaturation(a, f),
    1e-5,
    'saturation',
  );
  // factor 0 is exactly grayscale
  assertClose(
    run((x) => adjustSaturation(x, [0, 0]), a),
    run((x) => grayscale(x), a),
    1e-6,
    'saturation 0',
  );
});

test('hue shift matches RGB -> HSV -> RGB per pixel', () => {
  const n = 3;
  const a = makeImages(4, n);
  const h = [0.07, -0.093, 0.5];
  assertClose(
    run((x) => adjustHue(x, h), a, n),
    refHue(a, h),
    2e-5,
    'hue',
  );
  // shift 0 is the identity (up to float error), and a hue shift keeps the luma of gray pixels
  assertClose(
    run((x) => adjustHue(x, [0, 0, 0]), a, n),
    a,
    2e-6,
    'hue 0',
  );
  assert.throws(() => run((x) => adjustHue(x, [0.6, 0, 0]), a, n), /not in/);
});

test('rgbToHsv / hsvToRgb agree with colorsys', () => {
  const a = makeImages(5);
  const x = tensorOf(a);
  const [h, s, v] = rgbToHsv(x);
  const hd = h.dataSync();
  const sd = s.dataSync();
  const vd = v.dataSync();
  for (let q = 0; q < B * H * W; q++) {
    const ref = rgbToHsvPx([a[q * C], a[q * C + 1], a[q * C + 2]]);
    // hue is circular: compare on the circle
    const dh = Math.abs(hd[q] - ref[0]);
    assert.ok(Math.min(dh, 1 - dh) < 1e-5, `h at ${q}: ${hd[q]} vs ${ref[0]}`);
    assert.ok(Math.abs(sd[q] - ref[1]) < 1e-6, `s at ${q}`);
    assert.ok(Math.abs(vd[q] - ref[2]) < 1e-7, `v at ${q}`);
  }
  const back = hsvToRgb(h, s, v);
  assertClose(back.dataSync(), a, 2e-6, 'round trip');
  tf.dispose([x, h, s, v, back]);
});

test('grayscale uses ITU-R 601 weights, 3 equal channels, only on flagged images', () => {
  const a = makeImages(6);
  const expected = mapPixels(a, (p, b) => (b === 0 ? [lumaPx(p), lumaPx(p), lumaPx(p)] : p));
  assertClose(
    run((x) => grayscale(x, [true, false]), a),
    expected,
    1e-6,
    'grayscale',
  );
});

test('solarize inverts pixels >= 0.5 on flagged images only', () => {
  const a = makeImages(7);
  const out = run((x) => solarize(x, [false, true]), a);
  const expected = mapPixels(a, (p, b) => (b === 1 ? (p.map((v) => (v >= 0.5 ? 1 - v : v)) as Px) : p));
  assertClose(out, expected, 1e-7, 'solarize');
  // threshold 0.5: 0.75 -> 0.25, 0.49 kept
  const edge = new Float32Array(H * W * C).fill(0.49);
  edge[0] = 0.5;
  edge[1] = 0.75;
  const e = run((x) => solarize(x), edge, 1);
  assert.equal(e[0], 0.5);
  assert.equal(e[1], 0.25);
  assert.ok(Math.abs(e[2] - 0.49) < 1e-7);
  // the comparison is >=, not >: at threshold 0.25 a pixel equal to 0.25 becomes 0.75
  const q = new Float32Array(H * W * C).fill(0.1);
  q[0] = 0.25;
  const s = run((x) => solarize(x, [true], 0.25), q, 1);
  assert.equal(s[0], 0.75);
  assert.ok(Math.abs(s[1] - 0.1) < 1e-7);
});

test('sampleJitter draws factors in torchvision ranges and a permutation', () => {
  const rng = new Rng(8);
  const s = { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 };
  let applied = 0;
  const N = 4000;
  const firstOp = [0, 0, 0, 0];
  for (let i = 0; i < N; i++) {
    const p = sampleJitter(rng, s, 0.8);
    if (p.apply) applied++;
    assert.deepEqual([...p.order].sort(), [0, 1, 2, 3]);
    firstOp[p.order[0]]++;
    assert.ok(p.brightness >= 0.6 && p.brightness <= 1.4);
    assert.ok(p.contrast >= 0.6 && p.contrast <= 1.4);
    assert.ok(p.saturation >= 0.8 && p.saturation <= 1.2);
    assert.ok(p.hue >= -0.1 && p.hue <= 0.1);
  }
  assert.ok(Math.abs(applied / N - 0.8) < 0.03, `apply rate ${applied / N}`);
  for (const c of firstOp) assert.ok(Math.abs(c / N - 0.25) < 0.04, `first-op distribution ${firstOp}`);
});

test('colorJitter applies each image its own ops in its own order; unapplied images unchanged', () => {
  const n = 4;
  const a = makeImages(9, n);
  const base = { brightness: 1.3, contrast: 0.7, saturation: 1.15, hue: 0.08 };
  const params: JitterParams[] = [
    { apply: true, order: [0, 1, 2, 3], ...base },
    { apply: true, order: [3, 2, 1, 0], ...base, brightness: 0.65, hue: -0.06 },
    { apply: false, order: [1, 0, 3, 2], ...base },
    { apply: true, order: [0, 1, 2, 3], ...base, contrast: 1.38 },
  ];
  const refOps = [refBrightness, refContrast, refSaturation, refHue];
  const expected = new Float32Array(a.length);
  const per = H * W * C;
  params.forEach((p, b) => {
    let img: Float32Array = a.slice(b * per, (b + 1) * per);
    if (p.apply) {
      const f = [p.brightness, p.contrast, p.saturation, p.hue];
      for (const op of p.order) img = refOps[op](img, [f[op]]);
    }
    expected.set(img, b * per);
  });
  const out = run((x) => colorJitter(x, params), a, n);
  assertClose(out, expected, 3e-5, 'colorJitter');
  // the unapplied image is bit-identical
  assert.deepEqual(out.slice(2 * per, 3 * per), a.slice(2 * per, 3 * per));
  // order matters: image 0 in reverse order differs from the reference for the forward order
  const rev = run((x) => colorJitter(x, [{ ...params[0], order: [3, 2, 1, 0] }]), a.slice(0, per), 1);
  assert.ok(
    rev.some((v, i) => Math.abs(v - expected[i]) > 1e-3),
    'reversed order gave the same result',
  );
});

test('colour ops leave no tensors behind', () => {
  const a = makeImages(10);
  const x = tensorOf(a);
  const before = tf.memory().numTensors;
  const params = [
    sampleJitter(new Rng(1), { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 }, 1),
    sampleJitter(new Rng(2), { brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 }, 1),
  ];
  for (let i = 0; i < 3; i++) {
    tf.dispose([
      adjustBrightness(x, [1.1, 0.9]),
      adjustContrast(x, [1.1, 0.9]),
      adjustSaturation(x, [1.1, 0.9]),
      adjustHue(x, [0.05, -0.05]),
      grayscale(x, [true, false]),
      solarize(x, [true, false]),
      colorJitter(x, params),
    ]);
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});
