import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cifarDir, cifarRecordBytes, loadCifar10, loadCifar100 } from '../data/cifar.ts';
import { checkImageSet } from '../data/image-set.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sslbench-cifar-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Pixel byte of record `seed` at plane c (0 R, 1 G, 2 B), row y, column x: a pattern that differs everywhere. */
const px = (seed: number, c: number, y: number, x: number): number => (seed * 31 + c * 85 + y * 7 + x * 3) % 256;

/** One record in the official layout: label byte(s), then the R plane, G plane, B plane, each 32x32 row-major. */
function record(labels: number[], seed: number): Buffer {
  const b = Buffer.alloc(labels.length + 3072);
  labels.forEach((l, i) => {
    b[i] = l;
  });
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) b[labels.length + c * 1024 + y * 32 + x] = px(seed, c, y, x);
  return b;
}

/** CIFAR-10: 5 train batches of `per` records (labels (batch*per + r) % 10) and a test batch of 3. */
function makeCifar10(parent: string, per = 2): string {
  const dir = join(parent, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) {
    const recs = Array.from({ length: per }, (_, r) => record([((b - 1) * per + r) % 10], (b - 1) * per + r));
    writeFileSync(join(dir, `data_batch_${b}.bin`), Buffer.concat(recs));
  }
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.concat([record([9], 100), record([0], 101), record([4], 102)]));
  writeFileSync(join(dir, 'batches.meta.txt'), `${CIFAR10_NAMES.join('\n')}\n\n`);
  return dir;
}

test('cifar10: a record maps R, G, B planes to the right NHWC floats', () => {
  const dir = makeCifar10(join(tmp, 'c10'));
  const set = checkImageSet(loadCifar10({ root: dir, split: 'test' }));
  assert.equal(set.count, 3);
  assert.deepEqual([set.height, set.width, set.channels, set.numClasses], [32, 32, 3, 10]);
  assert.deepEqual([...set.labels], [9, 0, 4]);
  assert.deepEqual(set.classNames, CIFAR10_NAMES);
  for (let n = 0; n < 3; n++) {
    for (const [y, x] of [
      [0, 0],
      [0, 31],
      [5, 17],
      [31, 0],
      [31, 31],
    ]) {
      for (let c = 0; c < 3; c++) {
        const got = set.images[((n * 32 + y) * 32 + x) * 3 + c];
        assert.equal(got, Math.fround(px(100 + n, c, y, x) / 255), `image ${n} (${y}, ${x}) channel ${c}`);
      }
    }
  }
  // Every value of image 1, exhaustively.
  for (let i = 0; i < 1024; i++) {
    const y = Math.floor(i / 32),
      x = i % 32;
    for (let c = 0; c < 3; c++) assert.equal(set.images[(1024 + i) * 3 + c], Math.fround(px(101, c, y, x) / 255));
  }
});

test('cifar10: train reads the five batches in order; the parent folder works; limit reads the first records', () => {
  const parent = join(tmp, 'c10b');
  makeCifar10(parent);
  assert.equal(cifarDir(parent, 'cifar10'), join(parent, 'cifar-10-batches-bin'));
  const train = checkImageSet(loadCifar10({ root: parent, split: 'train' }));
  assert.equal(train.name, 'cifar10-train');
  assert.equal(train.count, 10);
  assert.deepEqual([...train.labels], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Record 7 (batch 4, second record): its first R value.
  assert.equal(train.images[7 * 3072], Math.fround(px(7, 0, 0, 0) / 255));
  const lim = loadCifar10({ root: parent, split: 'train', limit: 3 });
  assert.equal(lim.count, 3);
  assert.deepEqual([...lim.labels], [0, 1, 2]);
  assert.deepEqual(lim.images, train.images.subarray(0, 3 * 3072));
  assert.equal(loadCifar10({ root: parent, split: 'train', limit: 0 }).count, 0);
});

test('cifar100: fine labels (second byte), coarse ignored; names from fine_label_names.txt', () => {
  const dir = join(tmp, 'c100', 'cifar-100-binary');
  mkdirSync(dir, { recursive: true });
  assert.equal(cifarRecordBytes('cifar100'), 3074);
  writeFileSync(join(dir, 'train.bin'), Buffer.concat([record([19, 99], 1), record([0, 42], 2)]));
  writeFileSync(join(dir, 'test.bin'), record([3, 7], 3));
  const fine = Array.from({ length: 100 }, (_, i) => `fine${i}`);
  writeFileSync(join(dir, 'fine_label_names.txt'), `${fine.join('\n')}\n`);
  writeFileSync(join(dir, 'coarse_label_names.txt'), `${Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\n')}\n`);
  const train = checkImageSet(loadCifar100({ root: join(tmp, 'c100'), split: 'train' }));
  assert.deepEqual([...train.labels], [99, 42]);
  assert.equal(train.numClasses, 100);
  assert.deepEqual(train.classNames, fine);
  // Pixel bytes start after both label bytes.
  assert.equal(train.images[0], Math.fround(px(1, 0, 0, 0) / 255));
  assert.equal(train.images[3072 + 3 * 33 + 2], Math.fround(px(2, 2, 1, 1) / 255));
  const t = loadCifar100({ root: dir, split: 'test' });
  assert.deepEqual([...t.labels], [7]);
});

test('cifar: errors name the missing or truncated file', () => {
  const dir = makeCifar10(join(tmp, 'bad'));
  // 30000 bytes is not a whole number of 3073-byte records.
  writeFileSync(join(dir, 'data_batch_3.bin'), Buffer.alloc(30000));
  assert.throws(() => loadCifar10({ root: dir, split: 'train' }), {
    message: `${join(dir, 'data_batch_3.bin')}: 30000 bytes is not a whole number of 3073-byte records`,
  });
  // A limit inside the first two batches does not read batch 3.
  assert.equal(loadCifar10({ root: dir, split: 'train', limit: 4 }).count, 4);
  rmSync(join(dir, 'data_batch_3.bin'));
  assert.throws(
    () => loadCifar10({ root: dir, split: 'train' }),
    (e: Error) => e.message.startsWith(`${join(dir, 'data_batch_3.bin')}: missing (CIFAR-10 binary: train needs data_batch_1.bin,`),
  );
  writeFileSync(join(dir, 'test_batch.bin'), Buffer.alloc(0));
  assert.throws(() => loadCifar10({ root: dir, split: 'test' }), {
    message: `${join(dir, 'test_batch.bin')}: empty file (0 bytes), expected 3073-byte records`,
  });
  writeFileSync(join(dir, 'test_batch.bin'), record([10], 0));
  assert.throws(() => loadCifar10({ root: dir, split: 'test' }), {
    message: `${join(dir, 'test_batch.bin')}: record 0 has label 10, outside [0, 10)`,
  });
  writeFileSync(join(dir, 'test_batch.bin'), record([1], 0));
  writeFileSync(join(dir, 'batches.meta.txt'), 'a\nb\n');
  assert.throws(() => loadCifar10({ root: dir, split: 'test' }), {
    message: `${join(dir, 'batches.meta.txt')}: expected 10 class names (one a line), found 2`,
  });
  // Not a CIFAR folder at all; and one that does not exist.
  assert.throws(
    () => loadCifar100({ root: tmp, split: 'train' }),
    (e: Error) =>
      e.message.startsWith(
        `${tmp}: not a CIFAR-100 binary folder holding train.bin, test.bin (in it or in ${join(tmp, 'cifar-100-binary')}`,
      ),
  );
  const none = join(tmp, 'absent');
  assert.throws(
    () => loadCifar10({ root: none, split: 'train' }),
    (e: Error) => e.message.startsWith(`${none}: no such folder; need a CIFAR-10 binary folder`),
  );
});
