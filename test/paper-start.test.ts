/**
 * `bench run mocov3 --preset paper --data IMAGENET` on an ImageFolder the test writes: the paper
 * preset streams its training images (data.stream, input/), shows its progress and ETA, stops at
 * --max-iters with a checkpoint and no table, and a second run resumes from that checkpoint. The
 * backbone and sizes are overridden (--set) so that it runs in seconds; the path is the paper's.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { benchIn } from './helpers/bench-cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-paper-'));
const data = path.join(tmp, 'imagenet');

const bench = benchIn(tmp, 300_000);

const RUN = [
  'run',
  'mocov3',
  '--preset',
  'paper',
  '--data',
  data,
  '--backend',
  'wasm',
  '--workers',
  '1',
  '--set',
  'backbone.name=vit-micro/4',
  '--set',
  'optimizer.batch=4',
  '--set',
  'data.viewSize=16',
  '--set',
  'monitor.queries=8',
  '--runs',
  path.join(tmp, 'runs'),
  '--results',
  path.join(tmp, 'results'),
];

describe('the paper preset on an ImageNet-layout folder', () => {
  before(async () => {
    const jobs: Promise<unknown>[] = [];
    for (const [split, n] of [
      ['train', 12],
      ['val', 3],
    ] as const) {
      for (let c = 0; c < 4; c++) {
        const dir = path.join(data, split, `n0000000${c}`);
        fs.mkdirSync(dir, { recursive: true });
        for (let i = 0; i < n; i++) {
          const px = Buffer.alloc(40 * 30 * 3);
          for (let k = 0; k < 40 * 30; k++) px.set([30 + 60 * c, (k * 11 + i * 5) % 256, 220 - 60 * c], 3 * k);
          jobs.push(
            sharp(px, { raw: { width: 40, height: 30, channels: 3 } })
              .jpeg()
              .toFile(path.join(dir, `img_${i}.JPEG`)),
          );
        }
      }
    }
    await Promise.all(jobs);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('streams, shows progress and ETA, stops at --max-iters with a checkpoint; a second run resumes', () => {
    const first = bench(...RUN, '--max-iters', '2');
    assert.equal(first.code, 0, first.err);
    // 300 epochs of 12 steps: the first step's line gives the rate and the ETA of the whole run
    assert.match(first.err, /\[mocov3 paper cell 1\/1 MoCo v3\] .* 1\/3600 loss \d.* \| \d+\.?\d* (s\/it|it\/s) ETA \d+:\d\d/);
    assert.match(
      first.err,
      /stopped after iteration 2 of 3600 \(--max-iters\), checkpoint written; run the same command again to resume from it/,
    );
    const runDir = path.join(tmp, 'runs', 'paper', fs.readdirSync(path.join(tmp, 'runs', 'paper'))[0]);
    const config = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')).config;
    assert.deepEqual(config.data.stream, { onCorrupt: 'stop' }, 'the paper preset streams ImageNet');
    assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint.json'), 'utf8')).iter, 2);
    assert.ok(!fs.existsSync(path.join(runDir, 'result.json')), 'no result for a stopped cell');
    assert.ok(!fs.existsSync(path.join(tmp, 'results', 'mocov3-paper.md')), 'no table for a stopped suite');

    const second = bench(...RUN, '--max-iters', '4');
    assert.equal(second.code, 0, second.err);
    assert.match(second.err, /stopped after iteration 4 of 3600/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint.json'), 'utf8')).iter, 4);
    const iters = fs
      .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).iter);
    assert.deepEqual(iters, [1, 2, 3, 4], 'iterations 1-2 from the first run, 3-4 resumed from its checkpoint');
  });
});
