/**
 * Fault probe 1 of the reliability work: Redis lost under a queued run. A real redis-server (no
 * persistence) is killed with -9 mid-cell and restarted: `bench run --queue` still ends, with the
 * cell's result read from the run store; Redis killed and left down: the run ends within the
 * --queue-timeout bound, naming the URL and the cells still pending, and keeps what is finished.
 * Skipped when redis-server is missing.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFile, freePort } from './helpers/processes.ts';
import { checkRedis } from '../queue/connection.ts';

const root = path.resolve(import.meta.dirname, '..');
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const skip = hasRedis ? false : 'redis-server is not installed (apt-get install redis-server)';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-redis-fault-'));
const procs: ChildProcess[] = [];

async function startRedis(port: number): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  procs.push(p);
  for (let i = 0; i < 50; i++) {
    try {
      await checkRedis(`redis://127.0.0.1:${port}`, 500);
      return p;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('redis-server did not start');
}

function writeSuite(file: string, epochs: number): string {
  const suite = {
    name: 'redis-fault',
    title: 'Redis lost mid-run',
    reference: 'issue 14',
    kind: 'pretrain',
    preset: 'smoke',
    scale: {
      smoke: {
        data: { trainCount: 128, testCount: 64 },
        optimizer: { batch: 16, epochs, warmupEpochs: 1 },
        monitor: { every: 4, queries: 64 },
        checkpointEvery: 4,
      },
    },
    cells: [{ id: 'seed 0', config: {} }],
  };
  fs.writeFileSync(file, JSON.stringify(suite));
  return file;
}

function bench(args: string[]) {
  const p = spawn(process.execPath, [path.join(root, 'bin/bench.mjs'), ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(p);
  let out = '';
  p.stdout!.on('data', (d) => {
    out += d;
  });
  p.stderr!.on('data', (d) => {
    out += d;
  });
  const done = new Promise<{ code: number | null; out: string; seconds: number }>((resolve) => {
    const t0 = Date.now();
    p.on('close', (code) => resolve({ code, out, seconds: (Date.now() - t0) / 1000 }));
  });
  return { p, done, out: () => out };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
});

describe('Redis lost under a queued run', { skip }, () => {
  it('killed -9 mid-cell and restarted: the run still ends, with the cell read from the run store', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    let redis = await startRedis(port);
    const runs = path.join(tmp, 'runs-a');
    const suite = writeSuite(path.join(tmp, 'a.json'), 6);
    bench(['worker', '--queue', url, '--queue-name', 'a', '--backend', 'wasm', '--threads', '1']);
    const run = bench([
      'run',
      suite,
      '--queue',
      url,
      '--queue-name',
      'a',
      '--queue-timeout',
      '60',
      '--runs',
      runs,
      '--results',
      path.join(tmp, 'res-a'),
    ]);
    // mid-cell: after its first checkpoint
    await until(() => findFile(runs, 'checkpoint.json') !== undefined, 60_000, 'the first checkpoint');
    redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    redis = await startRedis(port);
    const r = await run.done;
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /seed 0: finished, kNN/);
    assert.ok(findFile(runs, 'result.json'), 'the cell finished in the run store');
    assert.ok(fs.existsSync(path.join(tmp, 'res-a', 'redis-fault-smoke.md')));
    redis.kill('SIGKILL');
  });

  it('killed and left down: the run fails within its --queue-timeout, naming the URL and the pending cells', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const redis = await startRedis(port);
    const runs = path.join(tmp, 'runs-b');
    // no worker: the cell stays pending
    const run = bench([
      'run',
      writeSuite(path.join(tmp, 'b.json'), 2),
      '--queue',
      url,
      '--queue-name',
      'b',
      '--queue-timeout',
      '3',
      '--runs',
      runs,
    ]);
    await until(() => run.out().includes('waiting for workers'), 30_000, 'the run to enqueue');
    redis.kill('SIGKILL');
    const t0 = Date.now();
    const r = await run.done;
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`${url}: Redis has not answered for \\d+ s \\(--queue-timeout 3\\); cells still pending: seed 0\\.`));
    assert.ok(seconds < 20, `ended ${seconds.toFixed(1)} s after Redis went down`);
    const refused = r.out.split('\n').filter((l) => /ECONNREFUSED/.test(l)).length;
    assert.ok(refused <= 2, `connection errors said once, not every second (${refused} lines)`);
  });

  it('an idle worker with Redis gone: one message, then it stops within its --queue-timeout (exit 1), naming the URL', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const redis = await startRedis(port);
    const w = bench(['worker', '--queue', url, '--queue-name', 'idle', '--backend', 'wasm', '--threads', '1', '--queue-timeout', '3']);
    await until(() => /waiting for cells/.test(w.out()), 60_000, 'the worker to start');
    redis.kill('SIGKILL');
    const r = await w.done;
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      new RegExp(`Redis at ${url} has not answered for \\d+ s \\(--queue-timeout 3\\) and no cell is running here; stopping`),
    );
    assert.ok(r.out.split('\n').filter((l) => /ECONNREFUSED/.test(l)).length <= 2, `no ECONNREFUSED every 2 s:\n${r.out}`);
  });
});
