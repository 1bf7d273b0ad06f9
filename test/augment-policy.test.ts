import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import {
  applyViewParams,
  augmentView,
  centerCropResize,
  CROP_FLIP_VIEW,
  MOCO_V3_VIEWS,
  sampleViewParams,
  twoViews,
  type ImageAugParams,
  type ViewSpec,
} from '../augment/policy.ts';
import { cropAndResize } from '../augment/random-resized-crop.ts';
import { colorJitter } from '../augment/color-jitter.ts';
import { grayscale, solarize } from '../augment/color.ts';
import { blurKernelSize, gaussianBlur } from '../augment/blur.ts';
import { flipHorizontal } from '../augment/flip.ts';
import { denormalize, normalize, IMAGENET_MEAN, IMAGENET_STD } from '../augment/normalize.ts';

const [B, H, W, C] = [4, 20, 24, 3];
const OPTS = { outSize: 20, cropMin: 0.08 }; // 20 px: blur kernel 3 (under 20 px the kernel is 1)

function randomImages(seed: number, n = B, h = H, w = W): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(
    Float32Array.from({ length: n * h * w * C }, () => rng.next()),
    [n, h, w, C],
  );
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.equal(x.length, y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

test('MOCO_V3_VIEWS encodes the paper table', () => {
  const [v1, v2] = MOCO_V3_VIEWS;
  for (const v of [v1, v2]) {
    assert.deepEqual(v.ratio, [3 / 4, 4 / 3]);
    assert.deepEqual([v.jitter.p, v.jitter.brightness, v.jitter.contrast, v.jitter.saturation, v.jitter.hue], [0.8, 0.4, 0.4, 0.2, 0.1]);
    assert.equal(v.grayscaleP, 0.2);
    assert.deepEqual(v.blur.sigma, [0.1, 2.0]);
    assert.equal(v.solarize.threshold, 0.5);
    assert.equal(v.flipP, 0.5);
  }
  assert.deepEqual([v1.blur.p, v2.blur.p], [1.0, 0.1]);
  assert.deepEqual([v1.solarize.p, v2.solarize.p], [0, 0.2]);
});

test('twoViews: shapes, normalised ranges, views differ', () => {
  const x = randomImages(1);
  const [a, b] = twoViews(x, new Rng(7), OPTS);
  for (const v of [a, b]) {
    assert.deepEqual(v.shape, [B, 20, 20, C]);
    const d = v.dataSync();
    for (let i = 0; i < d.length; i++) {
      const c = i % 3;
      const lo = (0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
      const hi = (1 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
      assert.ok(d[i] >= lo - 1e-5 && d[i] <= hi + 1e-5, `value ${d[i]} outside [${lo}, ${hi}]`);
    }
  }
  assert.ok(maxAbsDiff(a, b) > 0.1, 'the two views are the same');
  tf.dispose([x, a, b]);
});

test('twoViews: same seed same output, different seed different output', () => {
  const x = randomImages(2);
  const [a1, b1] = twoViews(x, new Rng(3), OPTS);
  const [a2, b2] = twoViews(x, new Rng(3), OPTS);
  const [a3, b3] = twoViews(x, new Rng(4), OPTS);
  assert.deepEqual(a1.dataSync(), a2.dataSync());
  assert.deepEqual(b1.dataSync(), b2.dataSync());
  assert.ok(maxAbsDiff(a1, a3) > 0.1);
  assert.ok(maxAbsDiff(b1, b3) > 0.1);
  tf.dispose([x, a1, b1, a2, b2, a3, b3]);
});

test('twoViews draws view 1 and view 2 from two forks of rng, in that order', () => {
  const x = randomImages(16);
  const [a, b] = twoViews(x, new Rng(21), OPTS);
  const r = new Rng(21);
  const f1 = r.fork();
  const f2 = r.fork();
  const a2 = augmentView(x, f1, MOCO_V3_VIEWS[0], OPTS);
  const b2 = augmentView(x, f2, MOCO_V3_VIEWS[1], OPTS);
  assert.deepEqual(a.dataSync(), a2.dataSync());
  assert.deepEqual(b.dataSync(), b2.dataSync());
  tf.dispose([x, a, b, a2, b2]);
});

test('sampled probabilities follow the table (view 1 vs view 2)', () => {
  const N = 20000;
  const rate = (ps: ImageAugParams[], f: (p: ImageAugParams) => boolean) => ps.filter(f).length / ps.length;
  const p1 = sampleViewParams(new Rng(5), N, 224, 224, MOCO_V3_VIEWS[0], { outSize: 224, cropMin: 0.08 });
  const p2 = sampleViewParams(new Rng(6), N, 224, 224, MOCO_V3_VIEWS[1], { outSize: 224, cropMin: 0.08 });
  const tol = 0.015; // > 4 standard errors at N = 20000
  for (const [ps, blur, sol] of [
    [p1, 1.0, 0],
    [p2, 0.1, 0.2],
  ] as [ImageAugParams[], number, number][]) {
    assert.ok(Math.abs(rate(ps, (p) => p.jitter.apply) - 0.8) < tol, 'jitter');
    assert.ok(Math.abs(rate(ps, (p) => p.grayscale) - 0.2) < tol, 'grayscale');
    assert.ok(Math.abs(rate(ps, (p) => p.blur) - blur) < tol, `blur ${rate(ps, (p) => p.blur)}`);
    assert.ok(Math.abs(rate(ps, (p) => p.solarize) - sol) < tol, `solarize ${rate(ps, (p) => p.solarize)}`);
    assert.ok(Math.abs(rate(ps, (p) => p.flip) - 0.5) < tol, 'flip');
    for (const p of ps) assert.ok(p.sigma >= 0.1 && p.sigma <= 2.0);
    const meanSigma = ps.reduce((s, p) => s + p.sigma, 0) / N;
    assert.ok(Math.abs(meanSigma - 1.05) < 0.02, `mean sigma ${meanSigma}`);
  }
  assert.equal(
    rate(p1, (p) => p.blur),
    1,
  );
  assert.equal(
    rate(p1, (p) => p.solarize),
    0,
  );
  // cropMin is the lower end of the area range
  const small = sampleViewParams(new Rng(7), 2000, 224, 224, MOCO_V3_VIEWS[0], { outSize: 224, cropMin: 0.2 });
  for (const p of small) if (!p.crop.fallback) assert.ok(p.crop.height * p.crop.width >= 0.2 * 224 * 224 * 0.97);
  assert.ok(small.some((p) => p.crop.height * p.crop.width < 0.25 * 224 * 224));
});

/** Parameters with everything off and the whole image as the crop. */
function identityParams(n: number, h: number, w: number): ImageAugParams[] {
  return Array.from({ length: n }, () => ({
    crop: { top: 0, left: 0, height: h, width: w, fallback: false },
    jitter: { apply: false, order: [0, 1, 2, 3], brightness: 1, contrast: 1, saturation: 1, hue: 0 },
    grayscale: false,
    blur: false,
    sigma: 1,
    solarize: false,
    flip: false,
  }));
}

test('applyViewParams: all-off parameters at the input size give normalize(x)', () => {
  const x = randomImages(8, 2, 16, 16);
  const y = applyViewParams(x, identityParams(2, 16, 16), MOCO_V3_VIEWS[1], { outSize: 16 });
  const ref = normalize(x);
  assert.ok(maxAbsDiff(y, ref) < 1e-6);
  tf.dispose([x, y, ref]);
});

test('applyViewParams runs crop -> jitter -> grayscale -> blur -> solarize -> flip -> normalise', () => {
  const x = randomImages(9);
  const spec = MOCO_V3_VIEWS[1];
  // force a mix of every per-image branch
  const params = sampleViewParams(new Rng(10), B, H, W, spec, OPTS).map((p, b) => ({
    ...p,
    jitter: { ...p.jitter, apply: b !== 1 },
    grayscale: b === 2,
    blur: b === 0 || b === 3,
    solarize: b === 1 || b === 3,
    flip: b % 2 === 0,
  }));
  const y = applyViewParams(x, params, spec, OPTS);
  const ref = tf.tidy(() => {
    let r = cropAndResize(
      x,
      params.map((p) => p.crop),
      OPTS.outSize,
    );
    r = colorJitter(
      r,
      params.map((p) => p.jitter),
    );
    r = grayscale(
      r,
      params.map((p) => p.grayscale),
    );
    const blurred = gaussianBlur(
      r,
      params.map((p) => p.sigma),
      blurKernelSize(OPTS.outSize),
    );
    r = tf.stack(params.map((p, b) => (p.blur ? blurred : r).gather([b]).squeeze([0]))) as tf.Tensor4D;
    r = solarize(
      r,
      params.map((p) => p.solarize),
    );
    r = flipHorizontal(
      r,
      params.map((p) => p.flip),
    );
    return normalize(r);
  });
  assert.ok(maxAbsDiff(y, ref) < 1e-5, `max diff ${maxAbsDiff(y, ref)}`);
  // and blur really happened: without it the result differs
  const noBlur = applyViewParams(
    x,
    params.map((p) => ({ ...p, blur: false })),
    spec,
    OPTS,
  );
  assert.equal(blurKernelSize(OPTS.outSize), 3);
  assert.ok(maxAbsDiff(y, noBlur) > 1e-3, 'blur had no effect');
  tf.dispose([x, y, ref, noBlur]);
});

const onlySpec = (over: Partial<ViewSpec>): ViewSpec => ({ ...CROP_FLIP_VIEW, flipP: 0, ...over });

test('augmentView: solarize p=1 leaves no value above 0.5; p=0 does', () => {
  const x = randomImages(11);
  const on = augmentView(x, new Rng(1), onlySpec({ solarize: { p: 1, threshold: 0.5 } }), OPTS);
  const off = augmentView(x, new Rng(1), onlySpec({}), OPTS);
  const max = (t: tf.Tensor4D) => tf.tidy(() => denormalize(t).max().dataSync()[0]);
  assert.ok(max(on) <= 0.5 + 1e-5, `max ${max(on)}`);
  assert.ok(max(off) > 0.9);
  tf.dispose([x, on, off]);
});

test('augmentView: grayscale p=1 gives equal channels; flip p=1 mirrors', () => {
  const x = randomImages(12);
  const g = augmentView(x, new Rng(2), onlySpec({ grayscaleP: 1 }), OPTS);
  const gd = tf.tidy(() => denormalize(g).dataSync());
  for (let i = 0; i < gd.length; i += 3) {
    assert.ok(Math.abs(gd[i] - gd[i + 1]) < 1e-5 && Math.abs(gd[i] - gd[i + 2]) < 1e-5, `pixel ${i / 3}`);
  }
  // same rng seed -> same crops; flipped view = mirror of the unflipped one
  const f = augmentView(x, new Rng(3), onlySpec({ flipP: 1 }), OPTS);
  const n = augmentView(x, new Rng(3), onlySpec({}), OPTS);
  const mirrored = tf.reverse(n, 2);
  assert.ok(maxAbsDiff(f, mirrored) < 1e-6);
  assert.ok(maxAbsDiff(f, n) > 0.1);
  tf.dispose([x, g, f, n, mirrored]);
});

test('solarize fraction in view 2 outputs is about 0.2 (0 in view 1)', () => {
  // per image: solarized iff no denormalised value exceeds 0.5 (random inputs always have some)
  const x = randomImages(13, 64, 12, 12);
  const opts = { outSize: 8, cropMin: 0.5 };
  const frac = (spec: ViewSpec, seed: number) => {
    const v = augmentView(
      x,
      new Rng(seed),
      { ...spec, jitter: { ...spec.jitter, p: 0 }, grayscaleP: 0, blur: { ...spec.blur, p: 0 } },
      opts,
    );
    const maxes = tf.tidy(() => denormalize(v).max([1, 2, 3]).dataSync());
    v.dispose();
    return Array.from(maxes).filter((m) => m <= 0.5 + 1e-5).length / maxes.length;
  };
  let s2 = 0;
  let s1 = 0;
  for (let seed = 0; seed < 5; seed++) {
    s2 += frac(MOCO_V3_VIEWS[1], seed) / 5;
    s1 += frac(MOCO_V3_VIEWS[0], seed) / 5;
  }
  assert.equal(s1, 0);
  assert.ok(Math.abs(s2 - 0.2) < 0.07, `view-2 solarized fraction ${s2}`);
});

test('augmentation leaves no tensors behind', () => {
  const x = randomImages(14);
  const before = tf.memory().numTensors;
  const rng = new Rng(15);
  for (let i = 0; i < 4; i++) {
    const [a, b] = twoViews(x, rng, OPTS);
    tf.dispose([a, b]);
    augmentView(x, rng, CROP_FLIP_VIEW, { outSize: 12, cropMin: 0.2 }).dispose();
    centerCropResize(x, 16).dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

test('bad input is rejected', () => {
  const x = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
  assert.throws(() => augmentView(x, new Rng(1), MOCO_V3_VIEWS[0], OPTS), /\[B,H,W,3\]/);
  const y = randomImages(1, 2, 8, 8);
  assert.throws(() => augmentView(y, new Rng(1), MOCO_V3_VIEWS[0], { outSize: 8, cropMin: 0 }), /cropMin/);
  tf.dispose([x, y]);
});
