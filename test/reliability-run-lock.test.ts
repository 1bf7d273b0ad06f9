/**
 * Fault probe 2 of the reliability work: two processes on one run folder. A cell being trained is
 * locked (run.lock: pid, host, start, command); a second `bench run` goes on with other cells, waits
 * for the locked one and reports it; a dead owner's lock is taken over; leftovers of a killed writer
 * are removed by the next owner.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deadPid, findFile } from './helpers/processes.ts';
import { LOCK_FILE, lockOwner, lockRunDir, removeStaleTempFiles, RunLockedError } from '../core/run-lock.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-lock-'));

describe('run folder lock', () => {
  it('one owner at a time; the error names the owner; release frees it', () => {
    const dir = path.join(tmp, 'a');
    const lock = lockRunDir(dir);
    assert.throws(
      () => lockRunDir(dir),
      (e: Error) => {
        assert.ok(e instanceof RunLockedError);
        assert.match(e.message, new RegExp(`${LOCK_FILE}: the run folder is in use by pid ${process.pid} on ${os.hostname()}`));
        return true;
      },
    );
    assert.equal(lockOwner(dir)?.pid, process.pid);
    lock.release();
    assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false);
    lockRunDir(dir).release();
  });

  it("a dead owner's lock (same host: its pid is gone; another host: not refreshed) is taken over", () => {
    const dir = path.join(tmp, 'b');
    fs.mkdirSync(dir);
    const file = path.join(dir, LOCK_FILE);
    fs.writeFileSync(file, JSON.stringify({ pid: deadPid(), host: os.hostname(), since: 'then', command: 'bench run' }));
    assert.equal(lockOwner(dir), undefined);
    lockRunDir(dir).release();
    // another host's lock: live while refreshed, stale after staleMs
    fs.writeFileSync(file, JSON.stringify({ pid: 1, host: 'elsewhere', since: 'now', command: 'bench worker' }));
    assert.throws(() => lockRunDir(dir, { staleMs: 60_000 }), /in use by pid 1 on elsewhere \(bench worker/);
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(file, old, old);
    lockRunDir(dir, { staleMs: 60_000 }).release();
  });

  it("a killed writer's temporary files are removed, nothing else", () => {
    const dir = path.join(tmp, 'c');
    fs.mkdirSync(dir);
    for (const f of ['ckpt-4.safetensors.tmp-12345', 'checkpoint.json.tmp-99', 'checkpoint.json', 'ckpt-2.safetensors']) {
      fs.writeFileSync(path.join(dir, f), 'x');
    }
    assert.deepEqual(removeStaleTempFiles(dir).sort(), ['checkpoint.json.tmp-99', 'ckpt-4.safetensors.tmp-12345']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['checkpoint.json', 'ckpt-2.safetensors']);
  });

  it('two `bench run` on one run folder: the cell is trained once, the second waits for it, both write the same table', async () => {
    const suite = path.join(tmp, 'lock-suite.json');
    fs.writeFileSync(
      suite,
      JSON.stringify({
        name: 'lock-probe',
        title: 'two processes, one run folder',
        reference: 'issue 14',
        kind: 'pretrain',
        preset: 'smoke',
        // long enough (at preset smoke: its `scaled` sizes) that the second process starts while the first trains
        cells: [{ id: 'MoCo v3', config: {}, scaled: { smoke: { optimizer: { epochs: 16 }, checkpointEvery: 1 } } }],
      }),
    );
    const runs = path.join(tmp, 'runs');
    const start = (results: string) => {
      const p = spawn(process.execPath, [path.join(root, 'bin/bench.mjs'), 'run', suite, '--runs', runs, '--results', results, '--quiet'], {
        cwd: tmp,
      });
      let err = '';
      p.stderr.on('data', (d) => {
        err += d;
      });
      const done = new Promise<{ code: number | null; err: string }>((resolve) => p.on('close', (code) => resolve({ code, err })));
      return done;
    };
    const a = start(path.join(tmp, 'res-a'));
    // the second process starts once the first holds the cell's lock
    const findLock = (dir: string) => findFile(dir, LOCK_FILE);
    const t0 = Date.now();
    while (!findLock(runs) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    const lockFile = findLock(runs);
    assert.ok(lockFile, 'the first process locks the cell');
    const b = start(path.join(tmp, 'res-b'));
    const [ra, rb] = await Promise.all([a, b]);
    assert.equal(ra.code, 0, ra.err);
    assert.equal(rb.code, 0, rb.err);
    assert.match(ra.err, /MoCo v3: vit-micro\/4 on synthetic, config \w+ ->/);
    assert.match(rb.err, /MoCo v3: being trained by pid \d+ on .*run\.lock\); going on with the other cells, then waiting for it/);
    assert.match(rb.err, /MoCo v3: finished by the other process/);
    assert.doesNotMatch(rb.err, /on synthetic, config/, 'the second process trains nothing');
    assert.equal(fs.existsSync(lockFile), false, 'the lock is gone after the run');
    const dir = path.dirname(lockFile);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => /\.tmp-\d+$/.test(f)),
      [],
    );
    // the same numbers (the probe may run in both processes once the cell is done: only its timing differs)
    const table = (r: string) => JSON.parse(fs.readFileSync(path.join(tmp, r, 'lock-probe-smoke.json'), 'utf8')).table.rows;
    assert.deepEqual(table('res-b'), table('res-a'));
  });
});
