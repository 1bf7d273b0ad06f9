/**
 * Ctrl-C during `bench run` (issue 27, item 4): the step finishes, a checkpoint is written, the
 * command says where it stopped and how to resume, exits 130 and leaves no lock; the same command
 * then resumes from that checkpoint.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFile } from './helpers/processes.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-signals-'));
const ARGS = ['run', 'smoke', '--runs', 'runs', '--results', 'res', '--quiet', '--set', 'optimizer.epochs=400', '--threads', '1'];

describe('a signal during a run', () => {
  it('SIGINT: stops after the step with a checkpoint, says how to resume, exits 130, releases the lock; the rerun resumes', async () => {
    const child = spawn(process.execPath, [path.join(root, 'bin/bench.mjs'), ...ARGS], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // wait for training: the first iterations' metrics
    const deadline = Date.now() + 120_000;
    for (;;) {
      const m = findFile(path.join(tmp, 'runs'), 'metrics.jsonl');
      if (m && fs.readFileSync(m, 'utf8').split('\n').length > 3) break;
      assert.ok(Date.now() < deadline, `no training after 120 s: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 130, err);
    assert.match(err, /SIGINT: stopping after this step, with a checkpoint/);
    const m = /stopped after iteration (\d+) of (\d+) \(SIGINT\), checkpoint written; run the same command again to resume/.exec(err);
    assert.ok(m, err);
    const runDir = path.dirname(findFile(path.join(tmp, 'runs'), 'metrics.jsonl')!);
    assert.ok(!fs.existsSync(path.join(runDir, 'run.lock')), 'lock released');
    assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint.json'), 'utf8')).iter, Number(m[1]));
    assert.ok(!fs.existsSync(path.join(runDir, 'result.json')));
    const again = spawnSync(process.execPath, [path.join(root, 'bin/bench.mjs'), ...ARGS, '--max-iters', String(Number(m[1]) + 2)], {
      cwd: tmp,
      encoding: 'utf8',
    });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`stopped after iteration ${Number(m[1]) + 2} of ${m[2]} \\(--max-iters\\)`));
  });
});
