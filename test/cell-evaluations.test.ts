/**
 * A suite's further evaluators (runner/cell-evaluations.ts): resolved by name from the container,
 * run through the evaluator contract on each cell's weights, cached beside them, shown as a column
 * of the suite's table; bad names and configs are errors before any training.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { Registry, buildContainer } from '../container/container.ts';
import { loadSuite } from '../kinds/index.ts';
import { parseSuite } from '../kinds/index.ts';
import { runPretrainSuite } from '../runner/pretrain-suite.ts';
import { rerenderSuite } from '../kinds/index.ts';
import { ConfigSchema } from '../core/plugin.ts';
import { defineEvaluator } from '../evaluators/evaluator.ts';
import { headlineMetric, knnEvaluator } from '../evaluators/index.ts';
import { readResult } from '../runner/pretrain.ts';
import { useBackend } from './helpers/backend.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-cell-evals-'));
let calls = 0;
/** Nearest class mean on the frozen features: a plugin-style evaluator with one config field. */
const nearestMean = defineEvaluator({
  name: 'nearest-mean',
  title: 'nearest class mean of frozen features (test)',
  schema: ConfigSchema({ normalise: Type.Boolean({ default: true }) }),
  column: { metric: 'top1', header: 'nearest mean (%)', percent: true },
  async evaluate(input, c) {
    calls++;
    const train = (await input.features('train')).arraySync();
    const test = (await input.features('test')).arraySync();
    const unit = (v: number[]) => {
      const n = c.normalise ? Math.hypot(...v) || 1 : 1;
      return v.map((x) => x / n);
    };
    const C = input.train.numClasses;
    const means = Array.from({ length: C }, () => new Array<number>(train[0].length).fill(0));
    const counts = new Array<number>(C).fill(0);
    train.forEach((v, i) => {
      const y = input.train.labels[i];
      counts[y]++;
      for (const [j, x] of unit(v).entries()) means[y][j] += x;
    });
    let right = 0;
    test.forEach((v, i) => {
      const u = unit(v);
      let best = -1;
      let bestD = Number.POSITIVE_INFINITY;
      means.forEach((m, y) => {
        if (!counts[y]) return;
        const d = m.reduce((s, x, j) => s + (x / counts[y] - u[j]) ** 2, 0);
        if (d < bestD) [best, bestD] = [y, d];
      });
      if (best === input.test.labels[i]) right++;
    });
    return { metrics: { top1: right / test.length, classes: C }, details: { counts } };
  },
});

const overrides = {
  data: { trainCount: 96, testCount: 48 },
  optimizer: { batch: 16, epochs: 1, warmupEpochs: 0 },
  monitor: { every: 4, queries: 48 },
  checkpointEvery: 16,
};

describe('suite evaluators: a plugin evaluator runs on every cell and is a column of the table', () => {
  before(() => useBackend('cpu'));
  const registry = new Registry(buildContainer([nearestMean]));
  const base = loadSuite('smoke');
  const suite = parseSuite({ ...base, evaluators: [{ name: 'nearest-mean', config: { normalise: false } }] }, 'test suite');
  const opts = {
    preset: 'smoke',
    resultsDir: path.join(tmp, 'res'),
    runsDir: path.join(tmp, 'runs'),
    registry,
    quiet: true,
    log: () => {},
    overrides,
  };

  it('runs it once per cell, caches it beside the weights, writes its column, and re-renders the same table', async () => {
    const { table, results } = await runPretrainSuite(suite, opts);
    assert.equal(calls, results.length);
    const col = table.columns.find((c) => c.key === 'eval_nearest-mean');
    assert.ok(col, `columns: ${table.columns.map((c) => c.key)}`);
    assert.equal(col.header, 'nearest mean (%) [nearest-mean]');
    for (const [i, r] of results.entries()) {
      const e = r.evaluations!['nearest-mean'];
      assert.deepEqual(e.config, { normalise: false });
      assert.ok(e.metrics.top1 >= 0 && e.metrics.top1 <= 1);
      assert.equal(table.rows[i]['eval_nearest-mean'], (100 * e.metrics.top1).toFixed(1));
      const runDir = path.join(
        opts.runsDir,
        'smoke',
        fs.readdirSync(path.join(opts.runsDir, 'smoke')).find((d) => readResult(path.join(opts.runsDir, 'smoke', d))?.hash === r.hash)!,
      );
      const cached = fs.readdirSync(runDir).filter((f) => f.startsWith('eval-nearest-mean-'));
      assert.equal(cached.length, 1);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(runDir, cached[0]), 'utf8')).details.counts.length, e.metrics.classes);
    }
    assert.ok(table.notes.some((n) => n.includes("evaluator 'nearest-mean'") && n.includes('"normalise":false')));
    const md = fs.readFileSync(path.join(opts.resultsDir, 'smoke-smoke.md'), 'utf8');
    assert.match(md, /nearest mean \(%\) \[nearest-mean\]/);
    // a second run reads the cache: the evaluator is not called again
    await runPretrainSuite(suite, opts);
    assert.equal(calls, results.length);
    const before = fs.readFileSync(path.join(opts.resultsDir, 'smoke-smoke.md'), 'utf8');
    rerenderSuite(suite, { preset: 'smoke', resultsDir: opts.resultsDir, registry });
    assert.equal(fs.readFileSync(path.join(opts.resultsDir, 'smoke-smoke.md'), 'utf8'), before);
  });

  it('a changed config is a new evaluation (a new cache file), the pre-training is not re-run', async () => {
    const n = calls;
    const s2 = parseSuite({ ...base, evaluators: [{ name: 'nearest-mean' }] }, 'test suite');
    const { results } = await runPretrainSuite(s2, opts);
    assert.equal(calls, n + results.length);
    assert.deepEqual(results[0].evaluations!['nearest-mean'].config, { normalise: true });
  });

  it('the run-wide list (--evaluate) adds evaluators to any pre-training suite; built-in kNN through the same contract', async () => {
    const { table, results } = await runPretrainSuite(base, { ...opts, evaluators: [{ name: 'knn', config: { k: 5 } }] });
    assert.ok(table.columns.some((c) => c.key === 'eval_knn'));
    assert.ok(results.every((r) => r.evaluations?.knn.metrics.top1 !== undefined));
  });

  it('an unknown evaluator, a bad config field and a kind that cannot take them are errors naming what is wrong, before training', async () => {
    const runs = path.join(tmp, 'none');
    await assert.rejects(
      runPretrainSuite(parseSuite({ ...base, evaluators: [{ name: 'nope' }] }, 's'), { ...opts, runsDir: runs }),
      /unknown evaluator 'nope'; known evaluators: knn, linear-probe, nearest-mean/,
    );
    await assert.rejects(
      runPretrainSuite(parseSuite({ ...base, evaluators: [{ name: 'nearest-mean', config: { normalize: 1 } }] }, 's'), {
        ...opts,
        runsDir: runs,
      }),
      /suite smoke: evaluators\[0\] \(nearest-mean\)\.config: unknown field 'normalize'/,
    );
    assert.equal(fs.existsSync(runs), false, 'nothing trained');
    assert.throws(
      () => parseSuite({ ...loadSuite('table1'), evaluators: [{ name: 'knn' }] }, 'x.json'),
      /evaluators: only a pretrain suite/,
    );
  });

  it('the contract checks what comes back: a non-finite metric or a missing column metric is an error naming the evaluator', async () => {
    const { makeSynthetic } = await import('../data/synthetic.ts');
    const { RawPixels } = await import('../evaluators/raw-pixels.ts');
    const set = makeSynthetic({ count: 20, size: 8, seed: 1, name: 's' });
    const setup = { backbone: new RawPixels(8), train: set, test: set, view: { viewSize: 8, cropFraction: 1 }, seed: 0 };
    const bad = (metrics: Record<string, number>) =>
      defineEvaluator({
        name: 'bad',
        title: 'bad',
        schema: ConfigSchema({}),
        column: { metric: 'top1', header: 'x', percent: true },
        evaluate: async () => ({ metrics }),
      });
    await assert.rejects(headlineMetric(bad({ top1: Number.NaN }), setup, {}), /evaluator bad: metric top1 = NaN is not a finite number/);
    await assert.rejects(headlineMetric(bad({ acc: 1 }), setup, {}), /evaluator bad: evaluate\(\) returned no 'top1'/);
    assert.equal(await headlineMetric(knnEvaluator, setup, { k: 1 }), 1, 'kNN of a set against itself at k 1');
    setup.backbone.dispose();
  });
});
