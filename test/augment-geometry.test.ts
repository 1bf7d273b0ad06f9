import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { bilinearAxis, resampleBilinear } from '../augment/bilinear.ts';
import { cropAndResize, sampleResizedCropBox, type CropBox } from '../augment/random-resized-crop.ts';
import { centerCropGeometry, centerCropResize, centerCropResizeRaw } from '../augment/center-crop.ts';
import { flipHorizontal } from '../augment/flip.ts';
import { denormalize, normalize, IMAGENET_MEAN, IMAGENET_STD } from '../augment/normalize.ts';
import { roundHalfEven } from '../augment/rounding.ts';
import { applyByGroup, gatherRows, selectPerImage } from '../augment/batch-select.ts';

const C = 3;

function randomArray(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.next());
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

/**
 * Reference: PyTorch F.interpolate(bilinear, align_corners=False, antialias=False) of the crop
 * box, per output pixel. Source coordinate (i + 0.5) * in / out - 0.5, clamped at 0; upper
 * neighbour clamped to the box.
 */
function refCropResize(a: Float32Array, [B, H, W]: number[], boxes: CropBox[], outH: number, outW: number): Float32Array {
  const out = new Float32Array(B * outH * outW * C);
  const px = (b: number, y: number, x: number, c: number) => a[((b * H + y) * W + x) * C + c];
  for (let b = 0; b < B; b++) {
    const bx = boxes[b];
    for (let i = 0; i < outH; i++) {
      const sy = Math.max(0, ((i + 0.5) * bx.height) / outH - 0.5);
      const y0 = Math.floor(sy);
      const y1 = Math.min(y0 + 1, bx.height - 1);
      const ly = sy - y0;
      for (let j = 0; j < outW; j++) {
        const sx = Math.max(0, ((j + 0.5) * bx.width) / outW - 0.5);
        const x0 = Math.floor(sx);
        const x1 = Math.min(x0 + 1, bx.width - 1);
        const lx = sx - x0;
        for (let c = 0; c < C; c++) {
          const p = (y: number, x: number) => px(b, bx.top + y, bx.left + x, c);
          out[((b * outH + i) * outW + j) * C + c] =
            (1 - ly) * ((1 - lx) * p(y0, x0) + lx * p(y0, x1)) + ly * ((1 - lx) * p(y1, x0) + lx * p(y1, x1));
        }
      }
    }
  }
  return out;
}

test('roundHalfEven is Python round', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -1.5, 58.5, 2.4999, 2.5001, 3].map(roundHalfEven), [0, 2, 2, -2, 58, 2, 3, 3]);
});

test('bilinearAxis uses half-pixel centres (align_corners=False)', () => {
  // downsample 8 -> 4: each output pixel sits exactly between source pixels 2i and 2i+1
  const d = bilinearAxis(8, 4);
  assert.deepEqual([...d.i0], [0, 2, 4, 6]);
  assert.deepEqual([...d.i1], [1, 3, 5, 7]);
  assert.deepEqual([...d.w1], [0.5, 0.5, 0.5, 0.5]);
  // upsample 2 -> 4: positions -0.25 (clamped to 0), 0.25, 0.75, 1.25 (upper clamped)
  const u = bilinearAxis(2, 4);
  assert.deepEqual([...u.i0], [0, 0, 0, 1]);
  assert.deepEqual([...u.i1], [1, 1, 1, 1]);
  assertClose(u.w1, [0, 0.25, 0.75, 0.25], 1e-7, 'upsample weights');
  // identity
  const id = bilinearAxis(5, 5, 5, 0, 3);
  assert.deepEqual([...id.i0], [3, 4, 5, 6, 7]);
  assert.deepEqual([...id.w1], [0, 0, 0, 0, 0]);
});

test('cropAndResize matches the per-pixel bilinear formula for given boxes', () => {
  const shape = [2, 5, 6];
  const a = randomArray(1, 2 * 5 * 6 * C);
  const boxes: CropBox[] = [
    { top: 1, left: 2, height: 3, width: 4 }, // upsample
    { top: 0, left: 1, height: 5, width: 5 }, // mixed
  ];
  const x = tf.tensor4d(a, [2, 5, 6, C]);
  for (const [oh, ow] of [
    [4, 7],
    [2, 3],
    [5, 5],
  ]) {
    const y = cropAndResize(x, boxes, [oh, ow]);
    assert.deepEqual(y.shape, [2, oh, ow, C]);
    assertClose(y.dataSync(), refCropResize(a, shape, boxes, oh, ow), 1e-6, `crop to ${oh}x${ow}`);
    y.dispose();
  }
  x.dispose();
});

test('cropAndResize: 2x downsampling of the whole image averages 2x2 blocks; same size is the identity', () => {
  const a = randomArray(2, 1 * 8 * 6 * C);
  const x = tf.tensor4d(a, [1, 8, 6, C]);
  const y = cropAndResize(x, [{ top: 0, left: 0, height: 8, width: 6 }], [4, 3]);
  const yd = y.dataSync();
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 3; j++)
      for (let c = 0; c < C; c++) {
        const p = (r: number, s: number) => a[(r * 6 + s) * C + c];
        const avg = (p(2 * i, 2 * j) + p(2 * i, 2 * j + 1) + p(2 * i + 1, 2 * j) + p(2 * i + 1, 2 * j + 1)) / 4;
        assert.ok(Math.abs(yd[(i * 3 + j) * C + c] - avg) < 1e-6, `block (${i},${j},${c})`);
      }
  const same = cropAndResize(x, [{ top: 0, left: 0, height: 8, width: 6 }], [8, 6]);
  assert.deepEqual(same.dataSync(), x.dataSync());
  // a 1x1 box fills the output with that pixel
  const one = cropAndResize(x, [{ top: 3, left: 4, height: 1, width: 1 }], 2);
  assertClose(one.dataSync(), Array.from({ length: 4 }, () => [...a.slice((3 * 6 + 4) * C, (3 * 6 + 4) * C + 3)]).flat(), 0, '1x1');
  tf.dispose([x, y, same, one]);
});

test('full-image resize agrees with tf.image.resizeBilinear(halfPixelCenters=true)', () => {
  const a = randomArray(3, 2 * 5 * 6 * C);
  const x = tf.tensor4d(a, [2, 5, 6, C]);
  const full = { top: 0, left: 0, height: 5, width: 6 };
  for (const [oh, ow] of [
    [7, 4],
    [3, 9],
  ]) {
    const ours = cropAndResize(x, [full, full], [oh, ow]);
    const theirs = tf.image.resizeBilinear(x, [oh, ow], false, true);
    assertClose(ours.dataSync(), theirs.dataSync(), 1e-6, `resize ${oh}x${ow}`);
    tf.dispose([ours, theirs]);
  }
  x.dispose();
});

test('cropAndResize rejects boxes outside the image', () => {
  const x = tf.zeros([1, 5, 6, C]) as tf.Tensor4D;
  assert.throws(() => cropAndResize(x, [{ top: 3, left: 0, height: 3, width: 2 }], 4), /out of/);
  assert.throws(() => cropAndResize(x, [{ top: 0, left: -1, height: 3, width: 2 }], 4), /out of/);
  x.dispose();
});

test('RandomResizedCrop sampler: boxes in bounds, area and aspect in range, fallback rare', () => {
  for (const [H, W, scale] of [
    [224, 224, [0.08, 1]],
    [375, 500, [0.2, 1]],
    [32, 32, [0.08, 1]],
  ] as [number, number, [number, number]][]) {
    const rng = new Rng(H * 7 + W);
    let fallbacks = 0;
    let areaSum = 0;
    const N = 3000;
    for (let k = 0; k < N; k++) {
      const b = sampleResizedCropBox(rng, H, W, scale, [3 / 4, 4 / 3]);
      assert.ok(Number.isInteger(b.top) && Number.isInteger(b.left) && Number.isInteger(b.height) && Number.isInteger(b.width));
      assert.ok(b.top >= 0 && b.left >= 0 && b.height >= 1 && b.width >= 1, JSON.stringify(b));
      assert.ok(b.top + b.height <= H && b.left + b.width <= W, JSON.stringify(b));
      areaSum += (b.height * b.width) / (H * W);
      if (b.fallback) {
        fallbacks++;
        continue;
      }
      // w = round(sqrt(T r)), h = round(sqrt(T / r)) for some T in scale * area, r in ratio:
      // so T lies in [(w - .5)(h - .5), (w + .5)(h + .5)] and r in [(w - .5)/(h + .5), (w + .5)/(h - .5)]
      const area = H * W;
      assert.ok((b.width + 0.5) * (b.height + 0.5) >= scale[0] * area, `area too small ${JSON.stringify(b)}`);
      assert.ok((b.width - 0.5) * (b.height - 0.5) <= scale[1] * area, `area too big ${JSON.stringify(b)}`);
      assert.ok((b.width + 0.5) / (b.height - 0.5) >= 3 / 4, `too tall ${JSON.stringify(b)}`);
      assert.ok((b.width - 0.5) / (b.height + 0.5) <= 4 / 3, `too wide ${JSON.stringify(b)}`);
      if (H >= 224) {
        const frac = (b.height * b.width) / area;
        assert.ok(frac >= scale[0] * 0.97 && frac <= 1, `area fraction ${frac}`);
        const r = b.width / b.height;
        assert.ok(r >= 0.75 * 0.98 && r <= (4 / 3) * 1.02, `aspect ${r}`);
      }
    }
    assert.ok(fallbacks / N < 0.01, `fallback rate ${fallbacks / N}`);
    // mean area fraction sits inside the scale range, well away from both ends
    const mean = areaSum / N;
    assert.ok(mean > scale[0] + 0.1 && mean < 0.95, `mean area fraction ${mean}`);
  }
});

test('RandomResizedCrop sampler: torchvision fallback', () => {
  // scale (1, 1) on a wide image never fits in 10 attempts: centre crop clipped to ratio 4/3
  const wide = sampleResizedCropBox(new Rng(1), 10, 100, [1, 1]);
  assert.deepEqual(wide, { top: 0, left: 43, height: 10, width: 13, fallback: true });
  const tall = sampleResizedCropBox(new Rng(1), 100, 10, [1, 1]);
  assert.deepEqual(tall, { top: 43, left: 0, height: 13, width: 10, fallback: true });
  // in-ratio image: whole image (either an attempt that happens to fit or the fallback)
  const sq = sampleResizedCropBox(new Rng(1), 20, 20, [1, 1]);
  assert.deepEqual([sq.top, sq.left, sq.height, sq.width], [0, 0, 20, 20]);
});

test('RandomResizedCrop sampler is deterministic by seed', () => {
  const draw = (seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: 50 }, () => sampleResizedCropBox(rng, 64, 48, [0.08, 1]));
  };
  assert.deepEqual(draw(11), draw(11));
  assert.notDeepEqual(draw(11), draw(12));
});

test('flipHorizontal mirrors the width axis of flagged images only', () => {
  const [B, H, W] = [2, 5, 6];
  const a = randomArray(4, B * H * W * C);
  const x = tf.tensor4d(a, [B, H, W, C]);
  const y = flipHorizontal(x, [true, false]);
  const yd = y.dataSync();
  for (let b = 0; b < B; b++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let c = 0; c < C; c++) {
          const src = b === 0 ? W - 1 - j : j;
          assert.equal(yd[((b * H + i) * W + j) * C + c], a[((b * H + i) * W + src) * C + c]);
        }
  tf.dispose([x, y]);
});

test('normalize uses the ImageNet mean/std per channel; denormalize inverts it', () => {
  const a = randomArray(5, 2 * 3 * 4 * C);
  const x = tf.tensor4d(a, [2, 3, 4, C]);
  const y = normalize(x);
  const expected = Array.from(a, (v, i) => (v - [0.485, 0.456, 0.406][i % 3]) / [0.229, 0.224, 0.225][i % 3]);
  assertClose(y.dataSync(), expected, 1e-6, 'normalize');
  assert.deepEqual([...IMAGENET_MEAN, ...IMAGENET_STD], [0.485, 0.456, 0.406, 0.229, 0.224, 0.225]);
  const back = denormalize(y);
  assertClose(back.dataSync(), a, 1e-6, 'denormalize');
  tf.dispose([x, y, back]);
});

test('centerCropGeometry follows torchvision Resize(shorter side) + CenterCrop', () => {
  // 500x375 landscape (H 375, W 500): resize to 256 x int(256*500/375)=341, crop offsets round(16), round(58.5)=58
  assert.deepEqual(centerCropGeometry(375, 500, 224), { resizedHeight: 256, resizedWidth: 341, top: 16, left: 58 });
  assert.deepEqual(centerCropGeometry(500, 375, 224), { resizedHeight: 341, resizedWidth: 256, top: 58, left: 16 });
  assert.deepEqual(centerCropGeometry(32, 32, 28, 0.875), { resizedHeight: 32, resizedWidth: 32, top: 2, left: 2 });
  assert.throws(() => centerCropGeometry(32, 32, 28, 1.2), /cropFraction/);
});

test('centerCropResize = full bilinear resize, then slice the centre, then normalise', () => {
  const [B, H, W] = [2, 10, 13];
  const a = randomArray(6, B * H * W * C);
  const x = tf.tensor4d(a, [B, H, W, C]);
  // out 7, fraction 7/8: shorter side 8 -> 8 x int(8*13/10)=10; centre offsets round(0.5)=0, round(1.5)=2
  const g = centerCropGeometry(H, W, 7, 7 / 8);
  assert.deepEqual(g, { resizedHeight: 8, resizedWidth: 10, top: 0, left: 2 });
  const full = refCropResize(
    a,
    [B, H, W],
    [0, 1].map(() => ({ top: 0, left: 0, height: H, width: W })),
    8,
    10,
  );
  const expected: number[] = [];
  for (let b = 0; b < B; b++)
    for (let i = 0; i < 7; i++)
      for (let j = 0; j < 7; j++) for (let c = 0; c < C; c++) expected.push(full[((b * 8 + i + g.top) * 10 + j + g.left) * C + c]);
  const raw = centerCropResizeRaw(x, 7, 7 / 8);
  assert.deepEqual(raw.shape, [B, 7, 7, C]);
  assertClose(raw.dataSync(), expected, 1e-6, 'centerCropResizeRaw');
  const y = centerCropResize(x, 7, 7 / 8);
  const norm = expected.map((v, i) => (v - IMAGENET_MEAN[i % 3]) / IMAGENET_STD[i % 3]);
  assertClose(y.dataSync(), norm, 1e-5, 'centerCropResize');
  // default fraction is 224/256
  const d = centerCropResizeRaw(x, 7);
  const d2 = centerCropResizeRaw(x, 7, 224 / 256);
  assert.deepEqual(d.dataSync(), d2.dataSync());
  tf.dispose([x, raw, y, d, d2]);
});

test('applyByGroup runs each group once on its own images and puts them back in place', () => {
  const x = tf.tensor4d(randomArray(8, 5 * 2 * 2 * C), [5, 2, 2, C]);
  const seen: string[] = [];
  const add = { a: 10, b: 100 } as Record<string, number>;
  const y = applyByGroup(x, ['a', null, 'b', 'a', null], (sub, idx, key) => {
    seen.push(`${key}:${idx.join(',')}:${sub.shape[0]}`);
    return tf.add(sub, add[key]) as tf.Tensor4D;
  });
  assert.deepEqual(seen, ['a:0,3:2', 'b:2:1']);
  const xd = x.dataSync();
  const yd = y.dataSync();
  const per = 2 * 2 * C;
  [10, 0, 100, 10, 0].forEach((d, b) => {
    for (let i = b * per; i < (b + 1) * per; i++) assert.ok(Math.abs(yd[i] - xd[i] - d) < 1e-4, `image ${b}`);
  });
  const g = gatherRows(x, [4, 0, 4]);
  assert.deepEqual(g.shape, [3, 2, 2, C]);
  assert.deepEqual(Array.from(g.dataSync()), [...xd.slice(4 * per, 5 * per), ...xd.slice(0, per), ...xd.slice(4 * per, 5 * per)]);
  const z = tf.zerosLike(x) as tf.Tensor4D;
  const s = selectPerImage([true, false, false, true, false], x, z);
  const sd = s.dataSync();
  [1, 0, 0, 1, 0].forEach((m, b) => {
    for (let i = b * per; i < (b + 1) * per; i++) assert.equal(sd[i], m ? xd[i] : 0);
  });
  tf.dispose([x, y, g, z, s]);
});

test('geometry ops leave no tensors behind', () => {
  const x = tf.tensor4d(randomArray(7, 2 * 9 * 11 * C), [2, 9, 11, C]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.dispose([
      cropAndResize(
        x,
        [
          { top: 1, left: 2, height: 5, width: 7 },
          { top: 0, left: 0, height: 9, width: 11 },
        ],
        6,
      ),
      centerCropResize(x, 8),
      flipHorizontal(x, [false, true]),
      normalize(x),
    ]);
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

test('centerCropResizeRaw without resize or crop returns the images bit for bit, as the resampling would', () => {
  const x = tf.randomUniform([3, 12, 12, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const g = centerCropGeometry(12, 12, 12, 1);
  const rows = bilinearAxis(12, g.resizedHeight, 12, g.top);
  const cols = bilinearAxis(12, g.resizedWidth, 12, g.left);
  const resampled = resampleBilinear(x, [rows, rows, rows], [cols, cols, cols]).dataSync();
  const got = centerCropResizeRaw(x, 12, 1).dataSync();
  assert.deepEqual(Array.from(got), Array.from(x.dataSync()));
  assert.deepEqual(Array.from(got), Array.from(resampled));
});
