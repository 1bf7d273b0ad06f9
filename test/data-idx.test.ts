import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx, readIdx, readIdxImages, readIdxLabels, readIdxPair } from '../data/idx.ts';
import { FASHION_MNIST_CLASS_NAMES, FASHION_MNIST_DIR, fashionMnistAvailable, loadFashionMnist, toRgb } from '../data/fashion-mnist.ts';
import { checkImageSet, classCounts } from '../data/image-set.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sslbench-idx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Two 2x3 images written by hand: magic 0x00000803, dims 2, 2, 3, then 12 pixel bytes.
const IMAGE_BYTES = Buffer.from([
  0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0, 1, 2, 3, 4, 5, 255, 128, 64, 32, 16, 8,
]);
// Two labels: magic 0x00000801, dim 2, then 3 and 7.
const LABEL_BYTES = Buffer.from([0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x02, 3, 7]);

function write(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

test('idx: reads a hand-written raw file', () => {
  const p = write('raw-images-idx3-ubyte', IMAGE_BYTES);
  const arr = readIdx(p);
  assert.equal(arr.dtype, 'ubyte');
  assert.deepEqual(arr.dims, [2, 2, 3]);
  assert.deepEqual([...arr.data], [0, 1, 2, 3, 4, 5, 255, 128, 64, 32, 16, 8]);
  const images = readIdxImages(p);
  assert.deepEqual([images.count, images.rows, images.cols], [2, 2, 3]);
  assert.deepEqual([...readIdxLabels(write('raw-labels-idx1-ubyte', LABEL_BYTES))], [3, 7]);
});

test('idx: reads the same file gzipped', () => {
  const p = write('gz-images-idx3-ubyte.gz', gzipSync(IMAGE_BYTES));
  const arr = readIdx(p);
  assert.deepEqual(arr.dims, [2, 2, 3]);
  assert.deepEqual([...arr.data], [0, 1, 2, 3, 4, 5, 255, 128, 64, 32, 16, 8]);
  const pair = readIdxPair(p, write('gz-labels-idx1-ubyte.gz', gzipSync(LABEL_BYTES)));
  assert.equal(pair.count, 2);
  assert.deepEqual([...pair.labels], [3, 7]);
});

test('idx: encodeIdx writes exactly the hand-written bytes, and round-trips gzipped', () => {
  const data = Uint8Array.from([0, 1, 2, 3, 4, 5, 255, 128, 64, 32, 16, 8]);
  assert.deepEqual(encodeIdx([2, 2, 3], data), IMAGE_BYTES);
  assert.deepEqual(encodeIdx([2], Uint8Array.from([3, 7])), LABEL_BYTES);
  const gz = encodeIdx([2, 2, 3], data, { gzip: true });
  assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b]);
  assert.deepEqual([...parseIdx(gz, 'mem').data], [...data]);
  assert.throws(() => encodeIdx([2, 2], data), /2x2 = 4 bytes, data has 12/);
});

test('idx: truncated data names the file and the sizes', () => {
  const p = write('trunc-images-idx3-ubyte', IMAGE_BYTES.subarray(0, IMAGE_BYTES.length - 5));
  assert.throws(() => readIdx(p), {
    message: `${p}: truncated: header says 2x2x3 = 12 bytes of data, file has 7`,
  });
  const gz = write('trunc2-images-idx3-ubyte.gz', gzipSync(IMAGE_BYTES.subarray(0, IMAGE_BYTES.length - 5)));
  assert.throws(() => readIdx(gz), {
    message: `${gz}: truncated: header says 2x2x3 = 12 bytes of data, file has 7 after gunzip`,
  });
});

test('idx: truncated gzip stream and truncated header', () => {
  const full = gzipSync(IMAGE_BYTES);
  const p = write('cut-images-idx3-ubyte.gz', full.subarray(0, full.length - 6));
  assert.throws(
    () => readIdx(p),
    (e: Error) => e.message.startsWith(`${p}: truncated or corrupt gzip data`),
  );
  const h = write('header-images-idx3-ubyte', IMAGE_BYTES.subarray(0, 10));
  assert.throws(() => readIdx(h), { message: `${h}: truncated header: 3 dimensions need 16 header bytes, file has 10` });
  const tiny = write('tiny', Buffer.from([0, 0]));
  assert.throws(
    () => readIdx(tiny),
    (e: Error) => e.message.startsWith(`${tiny}: truncated: 2 bytes`),
  );
});

test('idx: extra trailing bytes are an error', () => {
  const p = write('long-images-idx3-ubyte', Buffer.concat([IMAGE_BYTES, Buffer.from([9, 9])]));
  assert.throws(() => readIdx(p), {
    message: `${p}: length mismatch: header says 2x2x3 = 12 bytes of data, file has 14 (2 extra)`,
  });
});

test('idx: bad magic and unsupported dtype name the file', () => {
  const bad = Buffer.from(IMAGE_BYTES);
  bad[0] = 0x50;
  bad[1] = 0x4b;
  const p = write('bad-magic', bad);
  assert.throws(() => readIdx(p), { message: `${p}: not an IDX file: bad magic 0x504b0803 (the first two bytes must be 0)` });
  const f32 = Buffer.from(IMAGE_BYTES);
  f32[2] = 0x0d;
  const q = write('float-idx', f32);
  assert.throws(() => readIdx(q), {
    message: `${q}: unsupported IDX data type 0x0d (float32); only 0x08 (unsigned byte) is supported`,
  });
});

test('idx: wrong number of dimensions and label/image count mismatch', () => {
  const labels = write('dims-labels-idx1-ubyte', LABEL_BYTES);
  assert.throws(
    () => readIdxImages(labels),
    (e: Error) => e.message.startsWith(`${labels}: expected images with 3 dimensions (magic 0x00000803), file has 1`),
  );
  const images = write('dims-images-idx3-ubyte', IMAGE_BYTES);
  assert.throws(
    () => readIdxLabels(images),
    (e: Error) => e.message.startsWith(`${images}: expected labels with 1 dimension`),
  );
  const three = write('three-labels-idx1-ubyte', encodeIdx([3], Uint8Array.from([1, 2, 3])));
  assert.throws(() => readIdxPair(images, three), {
    message: `${three}: has 3 labels but ${images} has 2 images`,
  });
});

test('idx: a missing file names the path', () => {
  const p = join(tmp, 'nope-idx3-ubyte');
  assert.throws(
    () => readIdx(p),
    (e: Error) => e.message.startsWith(`${p}: cannot read:`) && /ENOENT/.test(e.message),
  );
});

// ---------- Fashion-MNIST loader on a small fake dataset ----------

function fakeFashionDir(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  // train: 3 images of 4x5, gzipped names; test: 2 images, un-gzipped names
  const train = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 17) % 256);
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), encodeIdx([3, 4, 5], train, { gzip: true }));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), encodeIdx([3], Uint8Array.from([9, 0, 4]), { gzip: true }));
  writeFileSync(
    join(dir, 't10k-images-idx3-ubyte'),
    encodeIdx(
      [2, 4, 5],
      Uint8Array.from({ length: 40 }, (_, i) => 255 - i),
    ),
  );
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([2], Uint8Array.from([1, 2])));
  return dir;
}

test('fashion-mnist: loads gzipped and raw files from a folder', () => {
  const dir = fakeFashionDir('fake1');
  assert.equal(fashionMnistAvailable(dir), true);
  const train = loadFashionMnist({ dir, split: 'train' });
  checkImageSet(train);
  assert.equal(train.name, 'fashion-mnist-train');
  assert.deepEqual([train.count, train.height, train.width, train.channels, train.numClasses], [3, 4, 5, 1, 10]);
  assert.deepEqual([...train.labels], [9, 0, 4]);
  assert.equal(train.images[1], Math.fround(17 / 255));
  assert.equal(train.images[15], Math.fround(255 / 255));
  assert.deepEqual(train.classNames, [...FASHION_MNIST_CLASS_NAMES]);
  assert.equal(train.classNames?.[0], 'T-shirt/top');
  assert.equal(train.classNames?.[9], 'Ankle boot');

  const test2 = loadFashionMnist({ dir, split: 'test', limit: 1 });
  assert.equal(test2.count, 1);
  assert.equal(test2.images.length, 20);
  assert.deepEqual([...test2.labels], [1]);
  assert.equal(test2.images[0], 1);
  assert.equal(test2.images[19], Math.fround(236 / 255));

  const rgb = toRgb(test2);
  assert.equal(rgb.channels, 3);
  assert.equal(rgb.images.length, 60);
  assert.deepEqual([...rgb.images.subarray(57, 60)], [test2.images[19], test2.images[19], test2.images[19]]);
});

test('fashion-mnist: missing folder, missing file and bad label give clear errors', () => {
  const missing = join(tmp, 'no-such-dir');
  assert.equal(fashionMnistAvailable(missing), false);
  assert.throws(
    () => loadFashionMnist({ dir: missing, split: 'train' }),
    (e: Error) => e.message.startsWith(missing) && e.message.includes('apt-get install dataset-fashion-mnist'),
  );
  const dir = fakeFashionDir('fake2');
  rmSync(join(dir, 't10k-labels-idx1-ubyte'));
  assert.equal(fashionMnistAvailable(dir), false);
  assert.equal(fashionMnistAvailable(dir, 'train'), true);
  assert.throws(
    () => loadFashionMnist({ dir, split: 'test' }),
    (e: Error) => e.message.startsWith(`${dir}: no Fashion-MNIST test labels file`) && e.message.includes('t10k-labels-idx1-ubyte.gz'),
  );
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([2], Uint8Array.from([1, 10])));
  assert.throws(() => loadFashionMnist({ dir, split: 'test' }), /t10k-labels-idx1-ubyte: label 10 at index 1/);
});

// ---------- the real dataset, when the Debian package is installed ----------

const real = fashionMnistAvailable();
const skipReal = real ? false : `${FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)`;

test('fashion-mnist (installed): test split has 10000 28x28 images, 1000 per class', { skip: skipReal }, () => {
  const set = loadFashionMnist({ split: 'test' });
  checkImageSet(set);
  assert.deepEqual([set.count, set.height, set.width, set.channels], [10000, 28, 28, 1]);
  assert.deepEqual(classCounts(set), new Array(10).fill(1000));
  let sum = 0;
  let max = 0;
  for (const v of set.images) {
    sum += v;
    if (v > max) max = v;
  }
  const mean = sum / set.images.length;
  assert.ok(mean > 0.25 && mean < 0.32, `pixel mean ${mean} (Fashion-MNIST is about 0.286)`);
  assert.equal(max, 1);
});

test('fashion-mnist (installed): train split with limit', { skip: skipReal }, () => {
  const set = loadFashionMnist({ split: 'train', limit: 100 });
  assert.equal(set.count, 100);
  assert.equal(set.images.length, 100 * 28 * 28);
  assert.ok([...set.labels].every((l) => l >= 0 && l < 10));
  assert.ok(new Set(set.labels).size >= 8, 'first 100 training images span most classes');
});
