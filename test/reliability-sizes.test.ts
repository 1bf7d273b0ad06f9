/**
 * Sizes a user can set are checked before allocation and name their field; a config that fails
 * before training leaves no run folder behind (issue 27, item 4).
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from '../container/container.ts';
import { pretrain } from '../runner/pretrain.ts';
import { checkDataSize, checkLoadedCounts } from '../runner/data-check.ts';
import { syntheticSource } from '../data/sources.ts';
import { useBackend } from './helpers/backend.ts';
import { smallPretrainConfig } from './helpers/small-pretrain.ts';

before(async () => useBackend('wasm'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-sizes-'));
const registry = new Registry();

describe('data sizes', () => {
  it('data.trainCount of 10^8 synthetic images: refused before allocation naming the field; no run folder left', async () => {
    const dir = path.join(tmp, 'huge');
    await assert.rejects(
      pretrain(smallPretrainConfig({ data: { trainCount: 100_000_000 } }), { runDir: dir, registry }),
      /^Error: data\.trainCount: 100000000 images of 32 x 32 x 3 are 307200000000 values, more than one array holds/,
    );
    assert.ok(!fs.existsSync(dir), 'nothing behind');
  });

  it('counts within one array but over the memory: the estimate and the fields', () => {
    const d = { dataset: 'synthetic', viewSize: 16, evalCropFraction: 1, trainCount: 1000, testCount: 500 };
    assert.throws(
      () => checkDataSize(d, syntheticSource, 1024 ** 2),
      /data\.trainCount 1000 \+ data\.testCount 500: the images \(32 x 32 x 3, float32\) need 0\.02 GiB, more than this machine's 0\.00 GiB/,
    );
    checkDataSize(d, syntheticSource, 1024 ** 3);
  });

  it('a count larger than the set holds is an error naming the field, not a silent cut', () => {
    const d = { dataset: 'fashion-mnist', viewSize: 28, evalCropFraction: 1, trainCount: 100_000, testCount: 10_000, path: '/data/fm' };
    assert.throws(
      () => checkLoadedCounts(d, { train: { count: 60_000 }, test: { count: 10_000 } }),
      /data\.trainCount: 100000 images asked for, but fashion-mnist \(\/data\/fm\) has 60000 training images; use at most 60000/,
    );
    assert.throws(
      () => checkLoadedCounts({ ...d, trainCount: 10 }, { train: { count: 10 }, test: { count: 9 } }),
      /data\.testCount: 10000 images asked for, .* has 9 held-out images/,
    );
    checkLoadedCounts({ ...d, trainCount: undefined, testCount: undefined }, { train: { count: 1 }, test: { count: 1 } });
  });
});
