/** `bench run` overrides and inspection (--set, --print-config, --dry-run) and the per-step metrics files. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseSet, collectSet } from '../cli/set-overrides.ts';
import { MetricsLog, readMetrics, METRICS_CSV } from '../runner/training/metrics-log.ts';
import type { StepEvent } from '../runner/training/loop.ts';
import { benchIn } from './helpers/bench-cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-run-config-'));

const bench = benchIn(tmp);

describe('--set', () => {
  it('parses dotted paths and JSON values; later flags win; malformed flags name themselves', () => {
    assert.deepEqual(parseSet('optimizer.batch=128'), { optimizer: { batch: 128 } });
    assert.deepEqual(parseSet('backbone.name=vit-s/16'), { backbone: { name: 'vit-s/16' } });
    assert.deepEqual(parseSet('framework.m0=0.996'), { framework: { m0: 0.996 } });
    assert.deepEqual(parseSet('monitor.bank=false'), { monitor: { bank: false } });
    const both = collectSet('optimizer.epochs=3', collectSet('optimizer.batch=8', collectSet('optimizer.batch=4')));
    assert.deepEqual(both, { optimizer: { batch: 8, epochs: 3 } });
    assert.throws(() => parseSet('optimizer.batch'), /--set 'optimizer.batch': expected PATH=VALUE/);
    assert.throws(() => parseSet('.x=1'), /expected PATH=VALUE/);
  });

  it('--print-config shows the override in every cell and a new hash; a bad field or value is an error naming it', () => {
    const plain = JSON.parse(bench('run', 'smoke', '--print-config').out);
    const set = JSON.parse(bench('run', 'smoke', '--print-config', '--set', 'optimizer.batch=8', '--set', 'seed=3').out);
    assert.equal(set[0].config.optimizer.batch, 8);
    assert.equal(set[0].config.seed, 3);
    assert.notEqual(set[0].hash, plain[0].hash);
    assert.deepEqual(
      { ...set[0].config, seed: 0, optimizer: { ...set[0].config.optimizer, batch: plain[0].config.optimizer.batch } },
      plain[0].config,
    );
    const unknown = bench('run', 'smoke', '--dry-run', '--set', 'optimizer.batchh=8');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /optimizer: unknown field 'batchh' .*fields of every optimizer: baseLr, weightDecay, batch/);
    const bad = bench('run', 'smoke', '--dry-run', '--set', 'optimizer.batch=1');
    assert.match(bad.err, /optimizer\.batch: must be >= 2/);
  });

  it('--dry-run lists cells, hashes, run folders and state; a run then writes metrics.jsonl / metrics.csv per step', () => {
    const runs = path.join(tmp, 'runs');
    const dry = bench('run', 'smoke', '--dry-run', '--runs', runs);
    assert.equal(dry.code, 0, dry.err);
    const hash = JSON.parse(bench('run', 'smoke', '--print-config').out)[0].hash;
    assert.match(dry.out, new RegExp(`MoCo v3 +${hash} +new +runs/smoke/mocov3-vit-micro-4-${hash}`));
    const run = bench('run', 'smoke', '--runs', runs, '--results', path.join(tmp, 'res'), '--quiet');
    assert.equal(run.code, 0, run.err);
    assert.match(bench('run', 'smoke', '--dry-run', '--runs', runs).out, new RegExp(`${hash} +finished \\(cached\\)`));
    // the table's floors: raw pixels and the random init, as rows with a kind column in the CSV
    const table = fs
      .readFileSync(path.join(tmp, 'res', 'smoke-smoke.csv'), 'utf8')
      .trim()
      .split('\n');
    assert.match(table[0], /^cell,kind,backbone,/);
    assert.deepEqual(
      table.slice(1).map((l) => l.split(',')[1]),
      ['cell', 'raw-pixels', 'random-init'],
    );
    // a stored table without its floors gets them back from the run store: bench report --baselines
    const store = path.join(tmp, 'res', 'smoke-smoke.json');
    const { baselines, ...bare } = JSON.parse(fs.readFileSync(store, 'utf8'));
    fs.writeFileSync(store, JSON.stringify(bare));
    assert.doesNotMatch(bench('report', 'smoke', '--results', path.join(tmp, 'res')).out, /raw pixels/);
    const rep0 = bench('report', 'smoke', '--results', path.join(tmp, 'res'), '--runs', runs, '--baselines');
    assert.equal(rep0.code, 0, rep0.err);
    assert.match(rep0.out, /\| raw pixels \| raw-pixels \|/);
    assert.deepEqual(JSON.parse(fs.readFileSync(store, 'utf8')).baselines, baselines);
    const runDir = path.join(runs, 'smoke', `mocov3-vit-micro-4-${hash}`);
    const rows = readMetrics(runDir);
    const result = JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8'));
    assert.equal(rows.length, result.iterations);
    assert.deepEqual(
      rows.map((r) => r.iter),
      result.curves.loss.map((p: { iter: number }) => p.iter + 1),
    );
    assert.deepEqual(
      rows.map((r) => r.loss),
      result.curves.loss.map((p: { value: number }) => p.value),
    );
    // the kNN monitor where it was evaluated, the momentum schedule (cosine from m0), images/s
    const knn = rows.filter((r) => r.knn !== undefined).map((r) => [r.iter, r.knn]);
    assert.deepEqual(
      knn,
      result.curves.knn.map((p: { iter: number; value: number }) => [p.iter, p.value]),
    );
    assert.equal(rows[0].momentum, result.config.framework.m0);
    assert.ok(rows.every((r) => r.images_per_s > 0 && Number.isFinite(r.wall_s)));
    const csv = fs.readFileSync(path.join(runDir, METRICS_CSV), 'utf8').trim().split('\n');
    assert.match(csv[0], /^iter,epoch,loss,lr,momentum,knn,images_per_s,wall_s,views_s,step_s,grad_/);
    // where the time went: each step's augmentation and training step, and the run's totals per phase
    assert.ok(rows.every((r) => r.views_s! > 0 && r.step_s! > 0 && r.views_s! + r.step_s! < r.wall_s));
    const phases = result.phaseSeconds as Record<string, number>;
    assert.deepEqual(Object.keys(phases).sort(), ['checkpoint', 'knn-monitor', 'metrics', 'step', 'views']);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(phases.step - sum(rows.map((r) => r.step_s!))) < 1e-6, 'step total = the steps');
    // (the last checkpoint is written after the training time is taken)
    assert.ok(sum(Object.values(phases)) - phases.checkpoint <= result.wallSeconds + 1e-6, 'phases within the training time');
    assert.equal(csv.length, rows.length + 1);
    assert.ok(csv.slice(1).every((l) => l.split(',').length === csv[0].split(',').length));
    // bench report --run plots the run from its metrics (also while it trains)
    const rep = bench('report', '--run', runDir);
    assert.equal(rep.code, 0, rep.err);
    assert.match(rep.out, new RegExp(`iteration ${result.iterations} \\(epoch \\d\\.\\d\\d\\), loss \\d\\.\\d{4}, lr .*, kNN \\d+\\.\\d%`));
    assert.match(rep.out, /\(last \d+ iterations: augmentation \d+ %, training step \d+ %, the rest monitor, checkpoints and logging\)/);
    for (const f of ['metrics-loss.svg', 'metrics-lr.svg', 'metrics-knn.svg'])
      assert.match(fs.readFileSync(path.join(runDir, f), 'utf8'), /<polyline/);
    assert.match(bench('report', '--run', tmp).err, /metrics\.jsonl: no metrics yet/);
    // the finished cell is not reused on another engine, unless asked; provenance is in result.json and under the table
    const mix = bench('run', 'smoke', '--runs', runs, '--results', path.join(tmp, 'res-cpu'), '--backend', 'cpu', '--quiet');
    assert.equal(mix.code, 1);
    assert.match(
      mix.err,
      /finished earlier, was computed on wasm \+ native kernels( x\d+ threads)?( \(GEMM: [^)]*\))?, sslbench \d+\.\d+\.\d+; this run computes on cpu.*\(backend differ\).*--allow-engine-mix/,
    );
    // at another thread count of the native kernels it is reused: the count is the cell's own (recorded)
    const threads = result.provenance.engine.nativeThreads as number;
    if (threads > 0) {
      const other = bench(
        'run',
        'smoke',
        '--runs',
        runs,
        '--results',
        path.join(tmp, 'res-t'),
        '--threads',
        String(threads === 1 ? 2 : 1),
        '--quiet',
      );
      assert.equal(other.code, 0, other.err);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8')).provenance.engine.nativeThreads, threads);
    }
    const allowed = bench(
      'run',
      'smoke',
      '--runs',
      runs,
      '--results',
      path.join(tmp, 'res-cpu'),
      '--backend',
      'cpu',
      '--quiet',
      '--allow-engine-mix',
    );
    assert.equal(allowed.code, 0, allowed.err);
    assert.equal(result.provenance.engine.backend, 'wasm');
    assert.equal(result.provenance.seed, 0);
    assert.match(result.provenance.command, /^bench run smoke --runs /);
    assert.match(
      fs.readFileSync(path.join(tmp, 'res', 'smoke-smoke.md'), 'utf8'),
      /provenance: sslbench \d+\.\d+\.\d+.*; wasm, .*Node v\d+/,
    );
    assert.match(run.err, /cell 1\/1 MoCo v3: probe \d+\.\d%, kNN \d+\.\d%, \d+ s of training; suite 1\/1 done/);
  });

  it('a resumed run drops the metrics lines past its checkpoint', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'resume-'));
    const event = (iter: number): StepEvent =>
      ({ iter, next: iter + 1, startIter: 0, totalIters: 10, itersPerEpoch: 5, epoch: iter / 5, loss: iter, lr: 0.1 }) as StepEvent;
    const state = { run: { curves: { loss: [], knn: [], lr: [], grad: {} } }, stop: false } as never;
    const a = new MetricsLog(dir, 0, 16, undefined);
    for (let i = 0; i < 7; i++) a.onStep(event(i), state);
    // killed after 7 steps; the checkpoint is at iteration 4
    const b = new MetricsLog(dir, 4, 16, undefined);
    assert.deepEqual(
      readMetrics(dir).map((r) => r.iter),
      [1, 2, 3, 4],
    );
    for (let i = 4; i < 10; i++) b.onStep(event(i), state);
    assert.deepEqual(
      readMetrics(dir).map((r) => r.iter),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    const csv = fs.readFileSync(path.join(dir, METRICS_CSV), 'utf8').trim().split('\n');
    assert.deepEqual(
      csv.map((l) => l.split(',')[0]),
      ['iter', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10'],
    );
  });
});

describe('--precision', () => {
  it('bf16 is in every cell config and hash; fp32, stated or not, is the default config; a bad value names the flag', () => {
    const plain = JSON.parse(bench('run', 'smoke', '--print-config').out);
    const fp32 = JSON.parse(bench('run', 'smoke', '--print-config', '--precision', 'fp32').out);
    const setFp32 = JSON.parse(bench('run', 'smoke', '--print-config', '--set', 'precision=fp32').out);
    const bf16 = JSON.parse(bench('run', 'smoke', '--print-config', '--precision', 'bf16').out);
    assert.equal(plain[0].config.precision, undefined);
    assert.equal(fp32[0].hash, plain[0].hash);
    assert.equal(setFp32[0].hash, plain[0].hash);
    assert.equal(bf16[0].config.precision, 'bf16');
    assert.notEqual(bf16[0].hash, plain[0].hash);
    assert.deepEqual({ ...bf16[0].config, precision: undefined }, { ...plain[0].config, precision: undefined });
    const bad = bench('run', 'smoke', '--dry-run', '--precision', 'fp16');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--precision <p>' argument 'fp16' is invalid\. Allowed choices are fp32, bf16/);
    const badSet = bench('run', 'smoke', '--dry-run', '--set', 'precision=fp8');
    assert.equal(badSet.code, 1);
    assert.match(badSet.err, /\n {2}precision: must be equal to one of the allowed values \(fp32, bf16\)/);
  });

  it('bf16 on the stock kernels is an error naming the flag and why (bench run and bench perf)', () => {
    const runs = path.join(tmp, 'runs-bf16-stock');
    const r = bench(
      'run',
      'smoke',
      '--precision',
      'bf16',
      '--no-native',
      '--runs',
      runs,
      '--results',
      path.join(tmp, 'res-bf16'),
      '--quiet',
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /precision.* bf16: needs oneDNN on the native CPU kernels/);
    const perf = bench('perf', '--config', 'vit-tiny-28', '--batch', '4', '--iters', '1', '--precision', 'bf16', '--no-native');
    assert.equal(perf.code, 1);
    assert.match(perf.err, /--precision bf16: needs oneDNN on the native CPU kernels, and .*not active/);
  });
});
