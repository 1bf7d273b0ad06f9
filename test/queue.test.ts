/**
 * Scale-out over a Redis queue (queue/): a real redis-server on a free port, three workers on a
 * small three-cell suite (each cell run once; enqueueing twice adds nothing), a worker killed
 * mid-cell (its cell resumes on another worker from its checkpoint, with the same final metrics),
 * and an unreachable Redis (a clear error within seconds). Skipped when redis-server is missing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Registry } from '../container/container.ts';
import { readSuiteFile } from '../kinds/index.ts';
import { freePort } from './helpers/processes.ts';
import { readResult } from '../runner/pretrain.ts';
import { checkRedis, connectionOptions } from '../queue/connection.ts';
import { enqueueSuite, runSuiteOnQueue } from '../queue/suite.ts';
import { startCellWorker } from '../queue/worker.ts';
import type { CellJobData, CellOutcome, CellProgress } from '../queue/jobs.ts';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const skip = hasRedis ? false : 'redis-server is not installed (apt-get install redis-server)';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-queue-'));

/** The small pre-training config of test/helpers/small-pretrain.ts, as a suite at preset smoke. */
function writeSuite(file: string, seeds: number[]): string {
  const suite = {
    name: 'queue-test',
    title: 'queue test',
    reference: 'Alg. 1',
    kind: 'pretrain',
    preset: 'smoke',
    scale: {
      smoke: {
        data: { trainCount: 128, testCount: 64 },
        optimizer: { batch: 16, epochs: 2, warmupEpochs: 1 },
        monitor: { every: 4, queries: 64 },
        checkpointEvery: 4,
      },
    },
    cells: seeds.map((seed) => ({ id: `seed ${seed}`, config: {}, scaled: { smoke: { seed } } })),
  };
  fs.writeFileSync(file, JSON.stringify(suite));
  return file;
}

const bench = (args: string[]) =>
  spawn(process.execPath, [path.join(root, 'bin/bench.mjs'), ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
const runsLog = (runDir: string) => fs.readFileSync(path.join(runDir, 'queue-runs.log'), 'utf8').trim().split('\n');

let redis: ChildProcess | undefined;
let url = '';
const procs: ChildProcess[] = [];

before(async () => {
  if (!hasRedis) return;
  const port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      await checkRedis(url, 500);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('redis-server did not start');
});

after(() => {
  for (const p of procs) p.kill('SIGKILL');
  redis?.kill('SIGTERM');
});

describe('cells on a Redis queue', { skip }, () => {
  const base = { preset: 'smoke', registry: new Registry(), log: () => {} };
  const suite3 = () => readSuiteFile(writeSuite(path.join(tmp, 'three.json'), [0, 1, 2]));
  let reference: ReturnType<typeof readResult>;

  it('three workers finish a three-cell suite, each cell once; enqueueing twice adds no jobs', async () => {
    const suite = suite3();
    const o = { ...base, url, queueName: 'three', resultsDir: path.join(tmp, 'results'), runsDir: path.join(tmp, 'runs') };
    const queue = new Queue<CellJobData, CellOutcome>('three', { connection: connectionOptions(url) });
    assert.equal((await enqueueSuite(queue, suite, o)).added, 3);
    assert.equal((await enqueueSuite(queue, suite, o)).added, 0, 'the same cells again: no new jobs');
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      3,
    );
    await queue.close();
    // two workers in this process (each cell in its own child process) and one as a CLI process
    const workers = [
      await startCellWorker({ url, queueName: 'three', backend: 'wasm', threads: 1, log: () => {} }),
      await startCellWorker({ url, queueName: 'three', backend: 'wasm', threads: 1, log: () => {} }),
    ];
    procs.push(bench(['worker', '--queue', url, '--queue-name', 'three', '--backend', 'wasm', '--threads', '1']));
    try {
      const { table, failed, added } = await runSuiteOnQueue(suite, o);
      assert.equal(added, 0, 'the run found the jobs already queued');
      assert.deepEqual(failed, []);
      // the cells, then the floors of each seed's data (raw pixels, random init), computed by the coordinator
      assert.deepEqual(
        table.rows.filter((r) => r.kind === 'cell').map((r) => r.cell),
        ['seed 0', 'seed 1', 'seed 2'],
      );
      assert.deepEqual(
        table.rows.filter((r) => r.kind !== 'cell').map((r) => r.kind),
        ['raw-pixels', 'random-init', 'raw-pixels', 'random-init', 'raw-pixels', 'random-init'],
      );
      assert.ok(fs.existsSync(path.join(tmp, 'results', 'queue-test-smoke.md')));
      const json = JSON.parse(fs.readFileSync(path.join(tmp, 'results', 'queue-test-smoke.json'), 'utf8'));
      for (const c of json.cells) {
        const runDir = path.resolve(c.runDir);
        assert.equal(runsLog(runDir).length, 1, `${c.id} ran once: ${runsLog(runDir).join(' | ')}`);
        assert.equal(c.iterations, 16);
      }
      reference = readResult(path.resolve(json.cells[0].runDir));
    } finally {
      for (const w of workers) await w.close();
    }
  });

  it('a 2-thread worker killed mid-cell: a 1-thread worker resumes it from its checkpoint on 2 threads, same final metrics', async () => {
    assert.ok(reference, 'needs the previous test');
    const suite = readSuiteFile(writeSuite(path.join(tmp, 'one.json'), [0]));
    const o = { ...base, url, queueName: 'kill', resultsDir: path.join(tmp, 'results-kill'), runsDir: path.join(tmp, 'runs-kill') };
    const victim = bench([
      'worker',
      '--queue',
      url,
      '--queue-name',
      'kill',
      '--backend',
      'wasm',
      '--threads',
      '2',
      '--lock-duration',
      '1500',
      '--stalled-interval',
      '500',
    ]);
    procs.push(victim);
    const events = new QueueEvents('kill', { connection: connectionOptions(url) });
    await events.waitUntilReady();
    let rescuer: Awaited<ReturnType<typeof startCellWorker>> | undefined;
    let rescueError: unknown;
    let resumedAt = 0;
    const rescuerLog: string[] = [];
    // kill the 2-thread worker once its cell is past its first checkpoint, then start another worker
    events.on('progress', ({ data }) => {
      const p = data as CellProgress;
      if (p.startIter > 0) resumedAt = p.startIter;
      if (p.iter >= 5 && p.iter < p.total && victim.exitCode === null && !victim.killed) {
        victim.kill('SIGKILL');
        startCellWorker({
          url,
          queueName: 'kill',
          backend: 'wasm',
          threads: 1,
          lockDuration: 1500,
          stalledInterval: 500,
          log: (m: string) => rescuerLog.push(m),
        })
          .then((w) => (rescuer = w))
          .catch((err: unknown) => (rescueError = err));
      }
    });
    try {
      const { failed } = await runSuiteOnQueue(suite, o);
      assert.deepEqual(failed, []);
      assert.equal(rescueError, undefined, 'the second worker started');
      assert.ok(victim.killed, 'the first worker was killed mid-cell');
      assert.ok(resumedAt >= 4, `resumed from a checkpoint (iteration ${resumedAt})`);
      // the 1-thread worker continues on the 2 threads the cell started with, and says so
      assert.match(rescuerLog.join('\n'), /started with 2 native threads; it continues with 2/);
      const runDir = path.join(o.runsDir, 'smoke', path.basename(path.dirname(reference!.weights)));
      const lines = runsLog(runDir);
      assert.equal(lines.length, 2, `started twice: ${lines.join(' | ')}`);
      const resumed = readResult(runDir)!;
      assert.deepEqual(resumed.final, reference!.final, 'same final metrics as the uninterrupted run');
      assert.deepEqual(
        resumed.curves.loss.map((p) => p.value),
        reference!.curves.loss.map((p) => p.value),
      );
    } finally {
      await events.close();
      await rescuer?.close();
    }
  });

  it('an unreachable Redis is a clear error naming the URL, within seconds', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const t0 = Date.now();
    await assert.rejects(checkRedis(dead), new RegExp(`cannot reach Redis at ${dead}`));
    const r = spawnSync(process.execPath, [path.join(root, 'bin/bench.mjs'), 'worker', '--queue', dead], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`bench: error: cannot reach Redis at ${dead} \\(ECONNREFUSED\\)`));
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
  });
});
