import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { balancedFirst, loadImageFolder, scanImageFolder } from '../data/image-folder.ts';
import { checkMemory, decodeImages, imageBytes, resizedShape } from '../data/decode.ts';
import { checkImageSet } from '../data/image-set.ts';
import { IMAGENET_NEEDED, imagenetSource } from '../data/sources.ts';
import type { DataConfig } from '../core/config.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sslbench-imagefolder-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

type Rgb = [number, number, number];

/** Writes a w x h image whose pixel (x, y) is `color(x, y)`, in the format of the file's extension. */
async function writeImage(
  path: string,
  w: number,
  h: number,
  color: (x: number, y: number) => number[],
  channels: 1 | 3 | 4 = 3,
): Promise<string> {
  mkdirSync(dirname(path), { recursive: true });
  const raw = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(color(x, y), (y * w + x) * channels);
  const img = sharp(raw, { raw: { width: w, height: h, channels } });
  const ext = path.slice(path.lastIndexOf('.')).toLowerCase();
  const out =
    ext === '.png' ? img.png() : ext === '.webp' ? img.webp({ lossless: true }) : img.jpeg({ quality: 100, chromaSubsampling: '4:4:4' });
  await out.toFile(path);
  return path;
}

const solid = (path: string, c: Rgb, w = 6, h = 6): Promise<string> => writeImage(path, w, h, () => c);

/** The RGB floats of image n of a set, at (y, x). */
function pixel(images: Float32Array, size: number, n: number, y: number, x: number): number[] {
  const o = ((n * size + y) * size + x) * 3;
  return [images[o], images[o + 1], images[o + 2]];
}

const f = (c: number[]): number[] => c.map((v) => Math.fround(v / 255));

function near(got: number[], want: number[], tol: number, what: string): void {
  got.forEach((g, i) => {
    assert.ok(Math.abs(g - want[i] / 255) <= tol / 255, `${what}: got ${got.map((v) => Math.round(v * 255))}, want ${want}`);
  });
}

test('imagefolder: classes sorted by code point, recursive sorted files, extensions filtered', async () => {
  const root = join(tmp, 'sorted');
  await solid(join(root, 'b_cls', 'z.png'), [0, 0, 255]);
  await solid(join(root, 'b_cls', 'a.JPG'), [10, 20, 30]);
  await solid(join(root, 'b_cls', 'sub', 'm.webp'), [5, 5, 5]);
  await solid(join(root, 'B_upper', 'x.jpeg'), [1, 2, 3]);
  await solid(join(root, 'a_cls', 'only.png'), [255, 0, 0]);
  writeFileSync(join(root, 'a_cls', 'notes.txt'), 'not an image');
  writeFileSync(join(root, 'stray.png'), 'files directly under the root are not classes');
  const idx = scanImageFolder(root);
  assert.deepEqual(idx.classNames, ['B_upper', 'a_cls', 'b_cls']);
  assert.deepEqual(
    idx.files.map((p) => p.slice(root.length + 1)),
    ['B_upper/x.jpeg', 'a_cls/only.png', 'b_cls/a.JPG', 'b_cls/z.png', 'b_cls/sub/m.webp'],
  );
  assert.deepEqual([...idx.labels], [0, 1, 2, 2, 2]);

  const set = checkImageSet(await loadImageFolder(root, { size: 4 }));
  assert.deepEqual([set.count, set.height, set.width, set.channels, set.numClasses], [5, 4, 4, 3, 3]);
  assert.deepEqual(set.classNames, ['B_upper', 'a_cls', 'b_cls']);
  assert.deepEqual(pixel(set.images, 4, 1, 2, 2), f([255, 0, 0])); // PNG: exact
  assert.deepEqual(pixel(set.images, 4, 3, 0, 3), f([0, 0, 255]));
  assert.deepEqual(pixel(set.images, 4, 4, 3, 3), f([5, 5, 5])); // lossless WebP: exact
  near(pixel(set.images, 4, 2, 1, 1), [10, 20, 30], 3, 'jpeg'); // JPEG q100, 4:4:4: within 3 levels
});

test('imagefolder: shorter side to `resize`, then centre crop; squash mode; grey and RGBA give RGB', async () => {
  // 12x4: columns 0-3 red, 4-7 green, 8-11 blue. Resize(4) keeps it 12x4; CenterCrop(4) takes x 4..7.
  const bands = (x: number): number[] => (x < 4 ? [255, 0, 0] : x < 8 ? [0, 255, 0] : [0, 0, 255]);
  const wide = await writeImage(join(tmp, 'geo', 'wide.png'), 12, 4, bands);
  const crop = await decodeImages([wide], { size: 4 });
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) assert.deepEqual(pixel(crop, 4, 0, y, x), f([0, 255, 0]));
  // Portrait 4x12 (rows banded): Resize(8) -> 8x24, CenterCrop(8) keeps rows 8..15 of 24, the middle band.
  const tall = await writeImage(join(tmp, 'geo', 'tall.png'), 4, 12, (_x, y) => bands(y));
  const crop2 = await decodeImages([tall], { size: 8, resize: 8 });
  // (The rows next to the band edges blend neighbours when upsampling: no blue on top, no red below.)
  for (const y of [1, 3, 6]) for (const x of [0, 7]) near(pixel(crop2, 8, 0, y, x), [0, 255, 0], 1, `tall (${y}, ${x})`);
  assert.ok(pixel(crop2, 8, 0, 0, 3)[2] === 0 && pixel(crop2, 8, 0, 0, 3)[1] > 0.4, 'top row: green, maybe red, no blue');
  assert.ok(pixel(crop2, 8, 0, 7, 3)[0] === 0 && pixel(crop2, 8, 0, 7, 3)[1] > 0.4, 'bottom row: green, maybe blue, no red');
  // Squash keeps all three bands: left column red, middle green, right blue.
  const sq = await decodeImages([wide], { size: 3, mode: 'squash' });
  assert.ok(pixel(sq, 3, 0, 1, 1)[1] > 0.7 && pixel(sq, 3, 0, 1, 1)[0] < 0.2 && pixel(sq, 3, 0, 1, 1)[2] < 0.2, 'middle is green');
  assert.ok(pixel(sq, 3, 0, 1, 0)[0] > 0.5 && pixel(sq, 3, 0, 1, 0)[1] < 0.5, 'left is red');
  assert.ok(pixel(sq, 3, 0, 1, 2)[2] > 0.5 && pixel(sq, 3, 0, 1, 2)[1] < 0.5, 'right is blue');
  // Grey PNG: 3 equal channels. RGBA PNG: alpha dropped, colour kept.
  const grey = await writeImage(join(tmp, 'geo', 'grey.png'), 5, 7, () => [77], 1);
  const rgba = await writeImage(join(tmp, 'geo', 'rgba.png'), 5, 5, () => [200, 100, 50, 255], 4);
  const gr = await decodeImages([grey, rgba], { size: 5 });
  assert.equal(gr.length, 2 * 5 * 5 * 3);
  assert.deepEqual(pixel(gr, 5, 0, 4, 4), f([77, 77, 77]));
  assert.deepEqual(pixel(gr, 5, 1, 2, 2), f([200, 100, 50]));
  // torchvision's Resize rule for the longer side: int(resize * long / short).
  assert.deepEqual(resizedShape(500, 375, 256), { width: 341, height: 256 });
  assert.deepEqual(resizedShape(375, 500, 256), { width: 256, height: 341 });
  assert.deepEqual(resizedShape(7, 7, 3), { width: 3, height: 3 });
  await assert.rejects(decodeImages([wide], { size: 4, resize: 3 }), /resize must be an integer >= size \(4\), got 3/);
});

test('imagefolder: output order is file order at any concurrency; progress is reported', async () => {
  const root = join(tmp, 'order');
  const colors: Rgb[] = Array.from({ length: 9 }, (_, i) => [i * 20, 255 - i * 20, (i * 37) % 256]);
  for (let i = 0; i < colors.length; i++) await solid(join(root, `c${i % 3}`, `img${i}.png`), colors[i], 3 + i, 4);
  const idx = scanImageFolder(root);
  let calls = 0;
  const images = await decodeImages(idx.files, {
    size: 3,
    concurrency: 3,
    onProgress: (done, total) => {
      calls++;
      assert.equal(total, 9);
      assert.ok(done <= total);
    },
  });
  assert.equal(calls, 9);
  idx.files.forEach((file, n) => {
    const i = Number(/img(\d)/.exec(file)![1]);
    assert.deepEqual(pixel(images, 3, n, 1, 1), f(colors[i]), file);
  });
});

test('imagefolder: per-class and balanced total limits keep the first files in sorted order', async () => {
  const root = join(tmp, 'limits');
  for (const [cls, n] of [
    ['a', 5],
    ['b', 1],
    ['c', 3],
  ] as const) {
    for (let i = 0; i < n; i++) await solid(join(root, cls, `${i}.png`), [i, i, i], 2, 2);
  }
  const per = scanImageFolder(root, { limitPerClass: 2 });
  assert.deepEqual(
    per.files.map((p) => p.slice(root.length + 1)),
    ['a/0.png', 'a/1.png', 'b/0.png', 'c/0.png', 'c/1.png'],
  );
  const tot = scanImageFolder(root, { limit: 6 });
  // Rounds: a0 b0 c0 | a1 c1 | a2 -> 6 files, kept in sorted order.
  assert.deepEqual(
    tot.files.map((p) => p.slice(root.length + 1)),
    ['a/0.png', 'a/1.png', 'a/2.png', 'b/0.png', 'c/0.png', 'c/1.png'],
  );
  assert.deepEqual([...tot.labels], [0, 0, 0, 1, 2, 2]);
  assert.equal(tot.classNames.length, 3);
  assert.deepEqual(balancedFirst([2, 2, 0, 0, 1], 3), [0, 2, 4]);
  assert.deepEqual(balancedFirst([0, 0, 1], 10), [0, 1, 2]);
  const set = await loadImageFolder(root, { size: 2, limit: 2 });
  assert.equal(set.count, 2);
  assert.equal(set.numClasses, 3);
  assert.deepEqual([...set.labels], [0, 1]);
});

test('imagefolder: the memory estimate is checked before anything is decoded', async () => {
  const root = join(tmp, 'mem');
  for (const c of ['x', 'y']) for (let i = 0; i < 3; i++) await solid(join(root, c, `${i}.png`), [1, 2, 3], 2, 2);
  writeFileSync(join(root, 'x', '9.png'), 'not a png'); // would fail if decoding had started
  assert.equal(imageBytes(7, 224), 7 * 224 * 224 * 3 * 4);
  await assert.rejects(loadImageFolder(root, { size: 64, maxBytes: 64 * 64 * 3 * 4 * 5 }), (e: Error) => {
    assert.match(
      e.message,
      new RegExp(
        `^${root}: 7 images at 64x64 RGB need 0\\.00 GiB as float32 \\(count\\*size\\*size\\*3\\*4 bytes\\), more than the ` +
          `0\\.00 GiB ` +
          `allowed; pass a limit \\(limit or limitPerClass\\) \\(at most 5 images fit at this size\\), a smaller size, or a ` +
          `larger memory limit ` +
          `\\(maxBytes\\)$`,
      ),
    );
    return true;
  });
  // ImageNet-1k train at 224 px is far over the 8 GiB default.
  assert.throws(
    () => checkMemory(1_281_167, 224, 8 * 1024 ** 3, '/data/imagenet/train'),
    (e: Error) => {
      assert.match(String(e), /^Error: \/data\/imagenet\/train: 1281167 images at 224x224 RGB need 718\.43 GiB .* more than /);
      assert.match(String(e), / more than the 8\.00 GiB allowed; pass a limit \(at most 14266 images fit/);
      return true;
    },
  );
});

test('imagefolder: errors for a missing root, empty class folders, unknown classes and undecodable files', async () => {
  const missing = join(tmp, 'no-such-root');
  await assert.rejects(loadImageFolder(missing, { size: 4 }), {
    message: `${missing}: ImageFolder root not found (expected root/<class>/<image files>)`,
  });
  const flat = join(tmp, 'flat');
  await solid(join(flat, 'a.png'), [1, 1, 1]);
  assert.throws(() => scanImageFolder(flat), { message: `${flat}: no class sub-folders (expected root/<class>/<image files>)` });
  const empty = join(tmp, 'empty');
  await solid(join(empty, 'full', 'a.png'), [1, 1, 1]);
  mkdirSync(join(empty, 'void'));
  mkdirSync(join(empty, 'txt-only'));
  writeFileSync(join(empty, 'txt-only', 'readme.txt'), 'x');
  assert.throws(() => scanImageFolder(empty), {
    message:
      `${empty}: no image files (.jpg, .jpeg, .png, .webp) in ` +
      `class folders ` +
      `${join(empty, 'txt-only')}, ` +
      `${join(empty, 'void')}`,
  });
  const val = join(tmp, 'val');
  await solid(join(val, 'n01', 'a.png'), [1, 1, 1]);
  await solid(join(val, 'n99', 'a.png'), [1, 1, 1]);
  assert.throws(() => scanImageFolder(val, { classNames: ['n01', 'n02'] }), {
    message: `${val}: class folder 'n99' not among the 2 expected classes`,
  });
  assert.deepEqual([...scanImageFolder(join(tmp, 'val'), { classNames: ['n00', 'n01', 'n99'] }).labels], [1, 2]);
  const bad = join(tmp, 'bad');
  await solid(join(bad, 'c', 'good.png'), [1, 1, 1]);
  writeFileSync(join(bad, 'c', 'broken.jpg'), Buffer.from('this is not a JPEG'));
  await assert.rejects(loadImageFolder(bad, { size: 4 }), (e: Error) =>
    e.message.startsWith(`${join(bad, 'c', 'broken.jpg')}: cannot decode image:`),
  );
});

test('imagenet source: train/ and val/ ImageFolders, trainCount/testCount limits, val takes train classes', async () => {
  const root = join(tmp, 'imagenet');
  for (const wnid of ['n01440764', 'n01443537', 'n01484850']) {
    for (let i = 0; i < 3; i++) await solid(join(root, 'train', wnid, `${wnid}_${i}.JPEG`), [50, 100, 150], 10, 8);
    await solid(join(root, 'val', wnid, `ILSVRC2012_val_${wnid}.JPEG`), [50, 100, 150], 8, 10);
  }
  const d: DataConfig = { dataset: 'imagenet', path: root, trainCount: 4, testCount: 2, viewSize: 7, evalCropFraction: 7 / 8 };
  const { train, test: val } = await imagenetSource.load(d, 0);
  checkImageSet(train);
  checkImageSet(val);
  // Decoded at round(viewSize / evalCropFraction) = 8.
  assert.deepEqual([train.count, train.height, train.channels, train.numClasses], [4, 8, 3, 3]);
  assert.deepEqual([...train.labels], [0, 0, 1, 2]);
  assert.deepEqual([...val.labels], [0, 1]);
  assert.deepEqual(val.classNames, train.classNames);
  near(pixel(train.images, 8, 0, 4, 4), [50, 100, 150], 3, 'imagenet jpeg');
  await assert.rejects(async () => imagenetSource.load({ ...d, path: undefined }, 0), { message: IMAGENET_NEEDED });
  rmSync(join(root, 'val'), { recursive: true });
  await assert.rejects(
    async () => imagenetSource.load(d, 0),
    (e: Error) => e.message.startsWith(`${join(root, 'val')}: missing; --data for imagenet is an ImageFolder root with train/ and val/`),
  );
});
