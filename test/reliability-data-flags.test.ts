/**
 * Fault probe 3 of the reliability work: a --data path (or any flag) the user gives is used or is an
 * error naming it, never silently dropped; nothing under the results folder is written when it fails.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveDataset } from '../runner/datasets.ts';
import type { DataConfig } from '../core/config.ts';
import { writeIdx } from './helpers/idx.ts';
import { benchIn } from './helpers/bench-cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-data-flags-'));

const bench = benchIn(tmp);

const base: DataConfig = { dataset: 'auto', viewSize: 28, evalCropFraction: 1 };

describe('a data path given is used or refused', () => {
  it('auto: a missing folder, an empty one, one without the test split: each an error naming the path', () => {
    assert.throws(
      () => resolveDataset({ ...base, path: '/nonexistent/dir' }),
      /^Error: data\.path: \/nonexistent\/dir: no such file or folder/,
    );
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    assert.throws(
      () => resolveDataset({ ...base, path: empty }),
      new RegExp(`^Error: data\\.path: ${empty} holds no Fashion-MNIST IDX files`),
    );
    const trainOnly = fs.mkdtempSync(path.join(tmp, 'train-only-'));
    writeIdx(path.join(trainOnly, 'train-images-idx3-ubyte'), [4, 28, 28], new Uint8Array(4 * 28 * 28));
    writeIdx(path.join(trainOnly, 'train-labels-idx1-ubyte'), [4], new Uint8Array(4));
    assert.throws(() => resolveDataset({ ...base, path: trainOnly }), /holds no Fashion-MNIST IDX files/);
    // with both splits the folder given is what the cell records and reads
    writeIdx(path.join(trainOnly, 't10k-images-idx3-ubyte'), [2, 28, 28], new Uint8Array(2 * 28 * 28));
    writeIdx(path.join(trainOnly, 't10k-labels-idx1-ubyte'), [2], new Uint8Array(2));
    assert.deepEqual(resolveDataset({ ...base, path: trainOnly }), { ...base, dataset: 'fashion-mnist', path: trainOnly });
  });

  it('a generated set refuses a path; a set read from files needs one', () => {
    assert.throws(
      () => resolveDataset({ ...base, dataset: 'synthetic', path: tmp }),
      /dataset 'synthetic' is generated in memory and reads no files/,
    );
    assert.throws(() => resolveDataset({ ...base, dataset: 'cifar10' }), /^Error: data\.path: dataset 'cifar10' needs --data PATH/);
    assert.throws(() => resolveDataset({ ...base, dataset: 'imagenet' }), /this preset pre-trains on ImageNet/);
  });

  it('the CLI: bad --data, flags a suite ignores, unknown choices and suite names fail before anything is written', () => {
    const results = path.join(tmp, 'results');
    const cases: [string[], RegExp][] = [
      [['run', 'mocov3', '--data', '/nonexistent/dir'], /data\.path: \/nonexistent\/dir: no such file or folder/],
      [['run', 'smoke', '--data', tmp], /dataset 'synthetic' is generated in memory/],
      [['run', 'table2', '--preset', 'tiny'], /--preset: suite table2 \(kind params\) counts parameters .* drop them/],
      [['run', 'table3', '--data', tmp, '--backend', 'wasm'], /--data, --backend: suite table3 \(kind flops\) counts FLOPs/],
      // each kind takes its own flags (kinds/*.ts runFlags): one it does not take is named, not ignored
      [
        ['run', 'mocov3', '--data-root', tmp],
        /--data-root: suite mocov3 \(kind pretrain\) a pre-training suite has no use for them; drop them/,
      ],
      [['run', 'table1', '--max-iters', '3', '--queue', 'redis://x:1'], /--queue, --max-iters: suite table1 \(kind linear\)/],
      [['run', 'table5', '--evaluate', 'knn'], /--evaluate: suite table5 \(kind transfer\)/],
      [
        ['run', 'smoke', '--backend', 'cuda'],
        /option '--backend <name>' argument 'cuda' is invalid\. Allowed choices are auto, tensorflow, webgpu, wasm, cpu/,
      ],
      [
        ['run', 'smoke', '--preset', 'huge'],
        /option '--preset <name>' argument 'huge' is invalid\. Allowed choices are paper, tiny, small, smoke/,
      ],
      [['run', 'tabel4'], /unknown suite 'tabel4' \(did you mean 'table4'\?\)/],
    ];
    for (const [args, want] of cases) {
      const r = bench(...args, '--results', results);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, want, args.join(' '));
    }
    assert.equal(fs.existsSync(results), false, 'no results written');
    assert.equal(fs.existsSync(path.join(tmp, 'runs')), false, 'no run folder made');
  });
});
