/**
 * The offline bundle (packaging/bundle.mjs): built into a temporary folder with no node_modules
 * above it, it is under 60 MiB and runs `bench` with Node alone: `bench env`, `bench run smoke`
 * giving the numbers of the checkout's own run, and the streaming pipeline's decode workers
 * (`bench perf --data`).
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-bundle-')));
const out = path.join(tmp, 'sslbench');

function run(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NODE_PATH: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function folderBytes(p: string): number {
  const s = fs.lstatSync(p);
  return s.isDirectory() ? fs.readdirSync(p).reduce((a, f) => a + folderBytes(path.join(p, f)), 0) : s.size;
}

describe('the offline bundle', () => {
  let built: ReturnType<typeof run>;
  before(() => {
    built = run(root, [path.join(root, 'packaging/bundle.mjs'), '--out', out]);
  });

  it('builds one folder under 60 MiB, with no node_modules above it', () => {
    assert.equal(built.code, 0, built.err);
    assert.match(built.out, /bundle in .*: \d+\.\d MiB \(limit 60 MiB\)/);
    assert.ok(folderBytes(out) < 60 * 2 ** 20, `${(folderBytes(out) / 2 ** 20).toFixed(1)} MiB`);
    for (let d = tmp; path.dirname(d) !== d; d = path.dirname(d))
      assert.ok(!fs.existsSync(path.join(d, 'node_modules')), `${d}/node_modules`);
    for (const f of [
      'bench.mjs',
      'run-cell.mjs',
      'package.json',
      'suites/table4.json',
      'claims/claims.json',
      'native/build.mjs',
      'native/addon.c',
    ])
      assert.ok(fs.existsSync(path.join(out, f)), f);
  });

  it('runs bench env and bench run smoke with Node alone, giving the checkout run numbers', () => {
    const env = run(tmp, [path.join(out, 'bench.mjs'), 'env', '--backend', 'wasm']);
    assert.equal(env.code, 0, env.err);
    assert.match(env.out, /^backend: +wasm/m);
    // the bundle's native kernels are not built here: both run the stock wasm kernels (the same engine)
    const smoke = (cwd: string, bench: string, name: string) => {
      const r = run(cwd, [
        bench,
        'run',
        'smoke',
        '--backend',
        'wasm',
        '--no-native',
        '--runs',
        path.join(tmp, `runs-${name}`),
        '--results',
        path.join(tmp, name),
      ]);
      assert.equal(r.code, 0, r.err);
      return JSON.parse(fs.readFileSync(path.join(tmp, name, 'smoke-smoke.json'), 'utf8')).cells[0];
    };
    const bundled = smoke(tmp, path.join(out, 'bench.mjs'), 'bundle');
    const checkout = smoke(tmp, path.join(root, 'bin/bench.mjs'), 'checkout');
    assert.equal(bundled.hash, checkout.hash, 'same config');
    assert.deepEqual(bundled.final, checkout.final, 'same final metrics');
    assert.equal(bundled.probe.top1, checkout.probe.top1, 'same linear probe');
  });

  it('runs the streaming pipeline (its decode workers, sharp) from the bundle: bench perf --data', async () => {
    const tree = path.join(tmp, 'images');
    for (const c of ['a', 'b']) {
      fs.mkdirSync(path.join(tree, c), { recursive: true });
      for (let i = 0; i < 20; i++) {
        const px = Buffer.alloc(20 * 20 * 3, c === 'a' ? 40 + i : 200 - i);
        await sharp(px, { raw: { width: 20, height: 20, channels: 3 } })
          .jpeg()
          .toFile(path.join(tree, c, `${i}.jpg`));
      }
    }
    const r = run(tmp, [
      path.join(out, 'bench.mjs'),
      'perf',
      '--data',
      tree,
      '--batch',
      '8',
      '--view-size',
      '16',
      '--iters',
      '3',
      '--workers',
      '1',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /data pipeline: .*: 40 files, 2 classes; 1 decode worker/);
    assert.match(r.out, /\d+\.\d images\/s \(two 16 px views each\), 3 batches of 8/);
  });
});
