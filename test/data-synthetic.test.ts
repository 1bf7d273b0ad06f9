import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSynthetic, SYNTHETIC_CLASS_NAMES } from '../data/synthetic.ts';
import { checkImageSet, classCounts, splitHoldout, subset, toRgb, type ImageSet } from '../data/image-set.ts';
import { Rng } from '../engine/rng.ts';

// ---------- helpers: a structure-only feature (phase- and colour-invariant) and a kNN ----------

/** |2D DFT| of the per-image mean-removed grayscale, L2-normalised: ignores colour, brightness, position. */
function spectrum(set: ImageSet, images: Float32Array, i: number): Float64Array {
  const S = set.width;
  const C = set.channels;
  const off = i * S * S * C;
  const g = new Float64Array(S * S);
  let mean = 0;
  for (let p = 0; p < S * S; p++) {
    let v = 0;
    for (let c = 0; c < C; c++) v += images[off + p * C + c];
    g[p] = v / C;
    mean += g[p];
  }
  mean /= S * S;
  const cos = new Float64Array(S * S);
  const sin = new Float64Array(S * S);
  for (let k = 0; k < S; k++) {
    for (let n = 0; n < S; n++) {
      cos[k * S + n] = Math.cos((2 * Math.PI * k * n) / S);
      sin[k * S + n] = Math.sin((2 * Math.PI * k * n) / S);
    }
  }
  const re = new Float64Array(S * S);
  const im = new Float64Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let k = 0; k < S; k++) {
      let a = 0;
      let b = 0;
      for (let n = 0; n < S; n++) {
        const v = g[y * S + n] - mean;
        a += v * cos[k * S + n];
        b -= v * sin[k * S + n];
      }
      re[y * S + k] = a;
      im[y * S + k] = b;
    }
  }
  const f = new Float64Array(S * S);
  let norm = 0;
  for (let k = 0; k < S; k++) {
    for (let l = 0; l < S; l++) {
      let a = 0;
      let b = 0;
      for (let n = 0; n < S; n++) {
        const c = cos[l * S + n];
        const s = sin[l * S + n];
        a += re[n * S + k] * c + im[n * S + k] * s;
        b += im[n * S + k] * c - re[n * S + k] * s;
      }
      const v = Math.sqrt(a * a + b * b);
      f[l * S + k] = v;
      norm += v * v;
    }
  }
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < f.length; j++) f[j] /= norm;
  return f;
}

function knnAccuracy(train: ImageSet, test: ImageSet, testImages: Float32Array, k = 5): number {
  const trainF = Array.from({ length: train.count }, (_, i) => spectrum(train, train.images, i));
  let correct = 0;
  for (let i = 0; i < test.count; i++) {
    const f = spectrum(test, testImages, i);
    const sims = trainF.map((g, j) => {
      let s = 0;
      for (let d = 0; d < f.length; d++) s += f[d] * g[d];
      return { s, label: train.labels[j] };
    });
    sims.sort((a, b) => b.s - a.s);
    const votes = new Array<number>(train.numClasses).fill(0);
    for (let j = 0; j < k; j++) votes[sims[j].label]++;
    if (votes.indexOf(Math.max(...votes)) === test.labels[i]) correct++;
  }
  return correct / test.count;
}

/**
 * Per image: optional random-resized crop (area in [minScale, 1], bilinear), horizontal flip
 * (always when flipAll), brightness factor in [0.6, 1.4], grayscale with probability 0.3.
 */
function augment(set: ImageSet, rng: Rng, opts: { minScale?: number; flipAll?: boolean }): Float32Array {
  const S = set.width;
  const C = set.channels;
  const out = new Float32Array(set.images.length);
  for (let i = 0; i < set.count; i++) {
    const off = i * S * S * C;
    let w = S;
    let h = S;
    if (opts.minScale !== undefined) {
      const area = rng.uniform(opts.minScale, 1);
      const ratio = Math.exp(rng.uniform(Math.log(3 / 4), Math.log(4 / 3)));
      w = Math.min(S, Math.sqrt(area * ratio) * S);
      h = Math.min(S, Math.sqrt(area / ratio) * S);
    }
    const x0 = rng.uniform(0, S - w);
    const y0 = rng.uniform(0, S - h);
    const flip = opts.flipAll || rng.bernoulli(0.5);
    const bright = rng.uniform(0.6, 1.4);
    const gray = rng.bernoulli(0.3);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const xx = flip ? S - 1 - x : x;
        const sx = x0 + ((xx + 0.5) * w) / S - 0.5;
        const sy = y0 + ((y + 0.5) * h) / S - 0.5;
        const ix = Math.max(0, Math.min(S - 2, Math.floor(sx)));
        const iy = Math.max(0, Math.min(S - 2, Math.floor(sy)));
        const fx = Math.max(0, Math.min(1, sx - ix));
        const fy = Math.max(0, Math.min(1, sy - iy));
        const px: number[] = [];
        for (let c = 0; c < C; c++) {
          const at = (r: number, q: number): number => set.images[off + (r * S + q) * C + c];
          px.push((at(iy, ix) * (1 - fx) + at(iy, ix + 1) * fx) * (1 - fy) + (at(iy + 1, ix) * (1 - fx) + at(iy + 1, ix + 1) * fx) * fy);
        }
        const lum = px.reduce((a, b) => a + b, 0) / C;
        for (let c = 0; c < C; c++) out[off + (y * S + x) * C + c] = Math.min(1, (gray ? lum : px[c]) * bright);
      }
    }
  }
  return out;
}

// ---------- tests ----------

test('synthetic: shape, range, names and balanced labels', () => {
  const set = makeSynthetic({ count: 205, seed: 3 });
  checkImageSet(set);
  assert.equal(set.count, 205);
  assert.equal(set.height, 32);
  assert.equal(set.width, 32);
  assert.equal(set.channels, 3);
  assert.equal(set.numClasses, 10);
  assert.equal(set.images.length, 205 * 32 * 32 * 3);
  assert.deepEqual(set.classNames, [...SYNTHETIC_CLASS_NAMES]);
  assert.equal(new Set(set.classNames).size, 10);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of set.images) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  assert.ok(lo >= 0 && hi <= 1, `values in [0,1], got [${lo}, ${hi}]`);
  assert.ok(hi - lo > 0.5, 'images have contrast');
  // each block of 10 holds every class once
  for (let b = 0; b < 20; b++) {
    assert.deepEqual(
      [...set.labels.subarray(b * 10, b * 10 + 10)].sort((x, y) => x - y),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  }
  const counts = classCounts(set);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `balanced: ${counts}`);
});

test('synthetic: options (size, numClasses) and validation', () => {
  const set = makeSynthetic({ count: 12, size: 24, numClasses: 4, seed: 1 });
  assert.equal(set.height, 24);
  assert.equal(set.images.length, 12 * 24 * 24 * 3);
  assert.equal(set.numClasses, 4);
  assert.deepEqual(set.classNames, SYNTHETIC_CLASS_NAMES.slice(0, 4));
  assert.ok([...set.labels].every((l) => l >= 0 && l < 4));
  assert.throws(() => makeSynthetic({ count: 5, numClasses: 11 }), /numClasses/);
  assert.throws(() => makeSynthetic({ count: -1 }), /count/);
});

test('synthetic: deterministic by seed, different seeds differ, prefix-stable', () => {
  const a = makeSynthetic({ count: 50, seed: 7 });
  const b = makeSynthetic({ count: 50, seed: 7 });
  const c = makeSynthetic({ count: 50, seed: 8 });
  const longer = makeSynthetic({ count: 80, seed: 7 });
  assert.deepEqual(a.images, b.images);
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(longer.images.subarray(0, a.images.length), a.images);
  assert.deepEqual(longer.labels.subarray(0, 50), a.labels);
  let diff = 0;
  for (let i = 0; i < a.images.length; i++) diff += Math.abs(a.images[i] - c.images[i]);
  assert.ok(diff / a.images.length > 0.1, `seeds 7 and 8 give different images (mean |diff| ${diff / a.images.length})`);
  assert.notDeepEqual(a.labels, c.labels);
  // images within a set are not copies of each other
  const px = 32 * 32 * 3;
  assert.notDeepEqual(a.images.subarray(0, px), a.images.subarray(px, 2 * px));
});

test('synthetic: classes separable by structure after flip + brightness + grayscale', async () => {
  const train = makeSynthetic({ count: 500, seed: 11 });
  const test = makeSynthetic({ count: 200, seed: 12 });
  const acc = await knnAccuracy(train, test, augment(test, new Rng(1), { flipAll: true }));
  assert.ok(acc > 0.8, `kNN accuracy ${acc} (chance 0.1)`);
});

test('synthetic: classes still identifiable after random-resized crops (scale 0.08-1)', async () => {
  const train = makeSynthetic({ count: 500, seed: 21 });
  const test = makeSynthetic({ count: 200, seed: 22 });
  const acc = await knnAccuracy(train, test, augment(test, new Rng(2), { minScale: 0.08 }));
  assert.ok(acc > 0.45, `kNN accuracy ${acc} (chance 0.1)`);
});

test('synthetic: mean colour carries no class information', () => {
  const train = makeSynthetic({ count: 1000, seed: 31 });
  const test = makeSynthetic({ count: 500, seed: 32 });
  const meanColour = (set: ImageSet, i: number): number[] => {
    const m = [0, 0, 0];
    const n = set.height * set.width;
    for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) m[c] += set.images[(i * n + p) * 3 + c] / n;
    return m;
  };
  const centres = Array.from({ length: 10 }, () => [0, 0, 0]);
  const counts = classCounts(train);
  for (let i = 0; i < train.count; i++) {
    const m = meanColour(train, i);
    for (let c = 0; c < 3; c++) centres[train.labels[i]][c] += m[c] / counts[train.labels[i]];
  }
  let correct = 0;
  for (let i = 0; i < test.count; i++) {
    const m = meanColour(test, i);
    const d = centres.map((z) => (z[0] - m[0]) ** 2 + (z[1] - m[1]) ** 2 + (z[2] - m[2]) ** 2);
    if (d.indexOf(Math.min(...d)) === test.labels[i]) correct++;
  }
  assert.ok(correct / test.count < 0.25, `nearest mean colour accuracy ${correct / test.count} should be near chance 0.1`);
});

test('image-set: subset, splitHoldout (stratified, deterministic), toRgb, checkImageSet', () => {
  const set = makeSynthetic({ count: 100, seed: 5, size: 8 });
  const sub = subset(set, [3, 1, 3]);
  assert.equal(sub.count, 3);
  const px = 8 * 8 * 3;
  assert.deepEqual(sub.images.subarray(0, px), set.images.subarray(3 * px, 4 * px));
  assert.deepEqual(sub.images.subarray(px, 2 * px), set.images.subarray(px, 2 * px));
  assert.deepEqual([...sub.labels], [set.labels[3], set.labels[1], set.labels[3]]);
  assert.throws(() => subset(set, [100]), /index 100/);

  const s1 = splitHoldout(set, 0.2, new Rng(9));
  const s2 = splitHoldout(set, 0.2, new Rng(9));
  const s3 = splitHoldout(set, 0.2, new Rng(10));
  assert.equal(s1.test.count, 20);
  assert.equal(s1.train.count, 80);
  assert.deepEqual(classCounts(s1.test), new Array(10).fill(2));
  assert.deepEqual(s1.test.images, s2.test.images);
  assert.notDeepEqual(s1.test.images, s3.test.images);
  // train and test partition the set: every image appears exactly once
  const key = (s: ImageSet, i: number): string => Array.from(s.images.subarray(i * px, i * px + 6)).join(',');
  const all = new Set<string>();
  for (const s of [s1.train, s1.test]) for (let i = 0; i < s.count; i++) all.add(key(s, i));
  assert.equal(all.size, 100);
  checkImageSet(s1.train);
  checkImageSet(s1.test);

  const grey: ImageSet = {
    name: 'g',
    images: new Float32Array([0.1, 0.9]),
    labels: new Int32Array([0, 1]),
    count: 2,
    height: 1,
    width: 1,
    channels: 1,
    numClasses: 2,
  };
  const rgb = toRgb(grey);
  assert.equal(rgb.channels, 3);
  assert.deepEqual([...rgb.images], [0.1, 0.1, 0.1, 0.9, 0.9, 0.9].map(Math.fround));
  assert.throws(() => checkImageSet({ ...grey, count: 3 }), /"g".*images has 2 floats/);
  assert.throws(() => checkImageSet({ ...grey, labels: new Int32Array([0, 2]) }), /label 2 at index 1/);
});
