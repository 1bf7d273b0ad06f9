/**
 * The streaming two-view loader (input/) on an ImageFolder tree the test writes: 2,000 small
 * JPEGs of 4 classes (each class its own colour, so a label can be checked against the pixels)
 * and 5 corrupt files. Deterministic whatever the worker count and prefetch; resumable mid-epoch;
 * at most prefetch + 1 batches held; a corrupt file stops the run naming it, or is named once and
 * skipped; a label is always its decoded file's. And the engine's photometric half of the views.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { scanImageFolder, type ImageFolderIndex } from '../data/image-folder.ts';
import { StreamingTwoViewLoader, type StreamLoaderOptions } from '../input/stream-loader.ts';
import { photometricTwoViews } from '../augment/policy.ts';
import { Rng } from '../engine/rng.ts';
import { tf } from '../engine/tf.ts';
import { useBackend } from './helpers/backend.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-stream-'));
const CLASSES = 4;
const PER_CLASS = 500;
const CORRUPT = ['class0/x-truncated.jpg', 'class1/x-text.jpg', 'class2/x-empty.jpg', 'class3/x-header.jpg', 'class3/x-zeros.jpg'];
/** The red level of class c (blue is its mirror): far apart enough to survive JPEG and resampling. */
const red = (c: number) => 20 + 70 * c;

async function writeTree(): Promise<void> {
  const jobs: Promise<unknown>[] = [];
  for (let c = 0; c < CLASSES; c++) {
    fs.mkdirSync(path.join(root, `class${c}`), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) {
      const w = 24 + (i % 11);
      const h = 20 + (i % 7);
      const px = Buffer.alloc(w * h * 3);
      for (let k = 0; k < w * h; k++) px.set([red(c), (k * 13 + i * 7) % 256, 255 - red(c)], 3 * k);
      jobs.push(
        sharp(px, { raw: { width: w, height: h, channels: 3 } })
          .jpeg({ quality: 95 })
          .toFile(path.join(root, `class${c}`, `img${i}.jpg`)),
      );
    }
  }
  await Promise.all(jobs);
  const good = fs.readFileSync(path.join(root, 'class0', 'img0.jpg'));
  fs.writeFileSync(path.join(root, CORRUPT[0]), good.subarray(0, good.length >> 2));
  fs.writeFileSync(path.join(root, CORRUPT[1]), 'this is not a JPEG');
  fs.writeFileSync(path.join(root, CORRUPT[2]), '');
  fs.writeFileSync(path.join(root, CORRUPT[3]), good.subarray(0, 20));
  fs.writeFileSync(path.join(root, CORRUPT[4]), Buffer.alloc(4096));
}

const BASE: StreamLoaderOptions = {
  batchSize: 32,
  seed: 7,
  outSize: 16,
  cropMin: 0.2,
  workers: 2,
  prefetch: 2,
  onCorrupt: 'skip',
  log: () => {},
};

describe('streaming ImageFolder loader', () => {
  let index: ImageFolderIndex;
  const loaders: StreamingTwoViewLoader[] = [];
  const open = (o: Partial<StreamLoaderOptions> = {}) => {
    const l = new StreamingTwoViewLoader(index, { ...BASE, ...o });
    loaders.push(l);
    return l;
  };
  before(async () => {
    await writeTree();
    index = scanImageFolder(root);
  });
  after(async () => {
    await Promise.all(loaders.map((l) => l.close()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('lists 2,005 files of 4 classes; batches have two views of the asked size', async () => {
    assert.equal(index.files.length, CLASSES * PER_CLASS + CORRUPT.length);
    const l = open();
    assert.equal(l.stepsPerEpoch, Math.floor(index.files.length / 32));
    const b = await l.batchAt(0, 0);
    assert.equal(b.views[0].length, 32 * 16 * 16 * 3);
    assert.equal(b.views[1].length, 32 * 16 * 16 * 3);
    assert.notDeepEqual(b.views[0], b.views[1], 'the two views are different crops');
  });

  it('the same batches with 1 worker and no prefetch as with 3 workers and prefetch 4; another seed differs', async () => {
    const a = open({ workers: 1, prefetch: 0 });
    const b = open({ workers: 3, prefetch: 4 });
    for (const [e, s] of [
      [0, 0],
      [0, 5],
      [1, 2],
    ]) {
      const x = await a.batchAt(e, s);
      const y = await b.batchAt(e, s);
      assert.deepEqual(y.files, x.files, `files of (${e}, ${s})`);
      assert.deepEqual(y.labels, x.labels);
      assert.ok(Buffer.from(y.views[0]).equals(Buffer.from(x.views[0])), `view 1 of (${e}, ${s})`);
      assert.ok(Buffer.from(y.views[1]).equals(Buffer.from(x.views[1])), `view 2 of (${e}, ${s})`);
    }
    const c = await open({ seed: 8 }).batchAt(0, 0);
    assert.notDeepEqual(c.files, (await a.batchAt(0, 0)).files);
  });

  it('resumes mid-epoch: batch (1, 7) asked first equals the one reached by walking there', async () => {
    const walked = open();
    let last: Awaited<ReturnType<StreamingTwoViewLoader['batchAt']>> | undefined;
    for (let s = 0; s < walked.stepsPerEpoch; s++) await walked.batchAt(0, s);
    for (let s = 0; s <= 7; s++) last = await walked.batchAt(1, s);
    const resumed = await open().batchAt(1, 7);
    assert.deepEqual(resumed.files, last!.files);
    assert.ok(Buffer.from(resumed.views[0]).equals(Buffer.from(last!.views[0])));
  });

  it('holds at most prefetch + 1 batches through an epoch; every label is its pixels; corrupt files are skipped, named once', async () => {
    const logged: string[] = [];
    const l = open({ prefetch: 3, log: (line) => logged.push(line) });
    const seen = new Set<string>();
    for (let s = 0; s < l.stepsPerEpoch; s++) {
      const b = await l.batchAt(0, s);
      assert.ok(l.heldBatches() <= 4, `${l.heldBatches()} batches held at step ${s}`);
      for (let i = 0; i < 32; i++) {
        seen.add(b.files[i]);
        assert.equal(b.labels[i], index.labels[index.files.indexOf(b.files[i])], `${b.files[i]}'s label`);
        let r = 0;
        for (let p = 0; p < 256; p++) r += b.views[0][(i * 256 + p) * 3];
        assert.ok(Math.abs(r / 256 - red(b.labels[i])) < 15, `${b.files[i]}: red ${r / 256} for class ${b.labels[i]}`);
      }
    }
    for (const f of CORRUPT) assert.ok(!seen.has(path.join(root, f)), `${f} never in a batch`);
    // the epoch visits 62 of 63 batches' worth of positions: the corrupt files it met were each named once
    const named = logged.map((line) => line.split(':')[0]);
    assert.equal(new Set(named).size, named.length, 'each named once');
    for (const f of named) assert.ok(CORRUPT.map((c) => path.join(root, c)).includes(f), f);
    assert.ok(named.length >= 4, `${named.length} corrupt files met in the epoch`);
    assert.match(logged[0], /: cannot decode \(.+\); skipped$/);
    assert.deepEqual(l.skippedFiles().sort(), [...named].sort());
  });

  it("onCorrupt 'stop' fails the batch naming the file", async () => {
    const l = open({ onCorrupt: 'stop' });
    let failed: Error | undefined;
    for (let s = 0; s < l.stepsPerEpoch && !failed; s++) {
      try {
        await l.batchAt(0, s);
      } catch (err) {
        failed = err as Error;
      }
    }
    assert.ok(failed, 'an epoch meets a corrupt file');
    assert.match(
      failed.message,
      /x-(truncated|text|empty|header|zeros)\.jpg: cannot decode \(.+\); --on-corrupt skip leaves such files out/,
    );
  });

  it('rejects bad options, naming them', () => {
    assert.throws(() => open({ batchSize: 0 }), /batchSize must be a positive integer/);
    assert.throws(() => open({ batchSize: 5000 }), /2005 images, fewer than one batch of 5000/);
    assert.throws(() => open({ workers: 0 }), /--workers: must be a positive integer/);
  });

  it('the photometric half on the engine: two normalised views, deterministic given the seed', async () => {
    await useBackend('wasm');
    const b = await open().batchAt(0, 1);
    const toTensor = (u8: Uint8Array) =>
      tf.tidy(() => tf.div(tf.tensor4d(Int32Array.from(u8), [32, 16, 16, 3], 'int32'), 255) as tf.Tensor4D);
    const [x1, x2] = [toTensor(b.views[0]), toTensor(b.views[1])];
    const [a1, a2] = photometricTwoViews(x1, x2, new Rng(3));
    const [c1] = photometricTwoViews(x1, x2, new Rng(3));
    const [d1] = photometricTwoViews(x1, x2, new Rng(4));
    assert.deepEqual(a1.shape, [32, 16, 16, 3]);
    assert.deepEqual(await a1.data(), await c1.data());
    assert.notDeepEqual(await a1.data(), await d1.data());
    assert.notDeepEqual(await a1.data(), await a2.data());
    tf.dispose([x1, x2, a1, a2, c1, d1]);
  });
});
