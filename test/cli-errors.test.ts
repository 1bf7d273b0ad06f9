/**
 * One error style across commands (issue 27, item 7): `bench: error: ...` for the argument
 * parser's errors and for every command's own, never a command's name repeated after it; and
 * `bench report --run` says where a run stands.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runState } from '../report/run-metrics.ts';
import { fieldPath } from '../core/field-path.ts';
import { benchIn } from './helpers/bench-cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-errors-'));

const bench = benchIn(tmp);

describe('error style', () => {
  for (const args of [
    ['run', '--bogus'],
    ['bogus'],
    ['report'],
    ['run', 'no-such-suite'],
    ['curve', 'table2'],
    ['worker'],
    ['run', 'smoke', '--threads', 'x'],
  ]) {
    it(`bench ${args.join(' ')}: one line 'bench: error: ...', exit 1`, () => {
      const r = bench(...args);
      assert.equal(r.code, 1, r.err);
      const first = r.err.split('\n').find((l) => l.trim() !== '')!;
      assert.match(first, /^bench: error: /);
      assert.doesNotMatch(first, /^bench: error: (bench|error)\b/);
    });
  }
});

describe('bench report --run: where the run stands', () => {
  const dir = (name: string, files: Record<string, unknown>) => {
    const d = path.join(tmp, name);
    fs.mkdirSync(d, { recursive: true });
    for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(d, f), typeof v === 'string' ? v : JSON.stringify(v));
    return d;
  };
  const result = {
    iterations: 16,
    wallSeconds: 12.3,
    final: { knn: 0.5 },
    flags: { diverged: false },
    config: { optimizer: { epochs: 2 } },
  };

  it('finished, with its probe; finished, not probed; diverged with the reason; stopped at a checkpoint', () => {
    const probed = dir('probed', {
      'result.json': result,
      'linear-probe-0123456789ab.json': { top1: 0.8123, bestBaseLr: 0.3, chosenOn: 'validation', valTop1: 0.82 },
    });
    assert.equal(
      runState(probed),
      'state: finished, 16 iterations in 12 s; kNN 50.0%; linear probe 81.2% (lr 0.3, chosen on validation, validation 82.0%)',
    );
    assert.match(runState(dir('unprobed', { 'result.json': result })), /finished.*not probed yet/);
    const diverged = dir('diverged', {
      'result.json': { ...result, flags: { diverged: true, divergedAt: 16, reason: 'a parameter is not finite after the update' } },
    });
    assert.equal(runState(diverged), 'state: diverged at iteration 17 (a parameter is not finite after the update); no weights, no probe');
    assert.match(
      runState(dir('stopped', { 'checkpoint.json': { iter: 8 } })),
      /stopped at its checkpoint of iteration 8; the same bench run resumes it/,
    );
    assert.match(
      runState(dir('running', { 'run.lock': { pid: process.pid, host: os.hostname(), since: 'now' } })),
      new RegExp(`state: running \\(pid ${process.pid} on`),
    );
  });
});

describe('field paths', () => {
  it('written as --set takes them, array elements indexed', () => {
    assert.equal(fieldPath('/optimizer/batch'), 'optimizer.batch');
    assert.equal(fieldPath('/cells/2/config/pooling'), 'cells[2].config.pooling');
    assert.equal(fieldPath('/claims/0/relation'), 'claims[0].relation');
    assert.equal(fieldPath('/a~1b/c~0d'), 'a/b.c~d');
    assert.equal(fieldPath(''), '(top level)');
  });
});
