/**
 * Paired seeds (suites/seeds.ts): `--seeds S` runs every cell at S consecutive seeds, the seed-0
 * cell unchanged (a single-seed run reuses it), the others named `ID · seed k` with `arm: ID`; the
 * stored results carry the arm so the scorecard pairs arms by seed. Arms at one seed share the
 * backbone's initial weights when their configs build the same backbone.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withSeeds, suiteAtSeeds, seedCellId, storedSeeds } from '../suites/seeds.ts';
import { loadSuite } from '../kinds/index.ts';
import { Registry, buildContainer } from '../container/container.ts';
import { CELL } from '../container/cell-container.ts';
import { resolveCell } from '../runner/pretrain-suite.ts';
import { ResultStore } from '../claims/measure.ts';
import { useBackend } from './helpers/backend.ts';
import { benchIn } from './helpers/bench-cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-paired-seeds-'));
const bench = benchIn(tmp);

describe('paired seeds', () => {
  it('withSeeds: S cells per cell, seed = own seed + k, the seed-0 cell unchanged, ids and matrix columns per seed', () => {
    const s = loadSuite('ablation:predictor');
    const three = withSeeds(s, 3);
    assert.deepEqual(
      three.cells.map((c) => c.id),
      [
        'w/ pred. MLP',
        'w/ pred. MLP · seed 1',
        'w/ pred. MLP · seed 2',
        'w/o pred. MLP',
        'w/o pred. MLP · seed 1',
        'w/o pred. MLP · seed 2',
      ],
    );
    assert.deepEqual(
      three.cells.map((c) => [c.arm, c.config.seed]),
      [
        ['w/ pred. MLP', undefined],
        ['w/ pred. MLP', 1],
        ['w/ pred. MLP', 2],
        ['w/o pred. MLP', undefined],
        ['w/o pred. MLP', 1],
        ['w/o pred. MLP', 2],
      ],
    );
    assert.equal(withSeeds(s, 1), s);
    // a cell with its own seed counts from it
    const seeds = withSeeds(loadSuite('seeds'), 2);
    assert.deepEqual(
      seeds.cells.map((c) => [c.id, c.config.seed]),
      [
        ['seed 0', 0],
        ['seed 0 · seed 1', 1],
        ['seed 1', 1],
        ['seed 1 · seed 1', 2],
        ['seed 2', 2],
        ['seed 2 · seed 1', 3],
      ],
    );
    const matrix = withSeeds(loadSuite('fig6:frameworks-random-patch'), 2);
    assert.equal(matrix.cells[1].column, 'learned patch proj. · seed 1');
    assert.equal(seedCellId('x', 0), 'x');
    assert.throws(() => withSeeds(s, 0), /--seeds: must be a whole number >= 1/);
  });

  it('refuses --set seed beside several seeds, and seeds on a suite whose kind repeats nothing', () => {
    const s = loadSuite('ablation:predictor');
    assert.throws(() => suiteAtSeeds(s, 3, { seed: 4 }, true), /--set seed: a run at 3 seeds \(--seeds\) sets each cell's seed itself/);
    assert.equal(suiteAtSeeds(s, undefined, { seed: 4 }, true), s);
    assert.equal(suiteAtSeeds({ ...s, seeds: 2 }, undefined, {}, true).cells.length, 4, "the suite's own seeds field");
    assert.throws(
      () => suiteAtSeeds({ ...s, seeds: 2 }, undefined, {}, false),
      /seeds: its kind \(pretrain\) pre-trains no cells to repeat/,
    );
    const count = bench('run', 'table2', '--seeds', '2');
    assert.equal(count.code, 1);
    assert.match(count.err, /--seeds: suite table2 \(kind params\)/);
  });

  it('--print-config: the seed-0 cell has the single-seed hash; the others differ in the seed only', () => {
    const one = JSON.parse(bench('run', 'smoke', '--print-config').out);
    const two = JSON.parse(bench('run', 'smoke', '--print-config', '--seeds', '2').out);
    assert.equal(two.length, 2);
    assert.equal(two[0].hash, one[0].hash);
    assert.equal(two[1].id, `${one[0].id} · seed 1`);
    assert.deepEqual({ ...two[1].config, seed: 0 }, one[0].config);
  });

  describe('arms at one seed', () => {
    before(() => useBackend('cpu'));
    it('share the backbone init when their configs build the same backbone (MoCo v3 with and without predictor)', () => {
      const registry = new Registry(buildContainer());
      const suite = loadSuite('ablation:predictor');
      const weights = (cellIndex: number, seed: number) => {
        const { config } = resolveCell(suite, suite.cells[cellIndex], { preset: 'smoke', runsDir: tmp, registry, overrides: { seed } });
        const fw = registry.cell(config).get(CELL.framework);
        const w = fw.backbone.allParams().map((p) => Array.from(p.variable.dataSync()));
        fw.dispose();
        return w;
      };
      assert.deepEqual(weights(0, 1), weights(1, 1), 'w/ and w/o predictor: one init at seed 1');
      assert.notDeepEqual(weights(0, 1), weights(0, 2), 'another seed, another init');
    });
  });

  it('a run at 2 seeds stores each cell per seed with its arm; the scorecard reads both seeds', () => {
    const res = path.join(tmp, 'res');
    const run = bench('run', 'smoke', '--seeds', '2', '--runs', path.join(tmp, 'runs'), '--results', res, '--quiet');
    assert.equal(run.code, 0, run.err);
    const stored = JSON.parse(fs.readFileSync(path.join(res, 'smoke-smoke.json'), 'utf8'));
    assert.deepEqual(
      stored.cells.map((c: { id: string; arm: string; config: { seed: number } }) => [c.id, c.arm, c.config.seed]),
      [
        ['MoCo v3', 'MoCo v3', 0],
        ['MoCo v3 · seed 1', 'MoCo v3', 1],
      ],
    );
    const samples = new ResultStore(res, 'smoke').samples('smoke', 'MoCo v3', 'linear');
    assert.deepEqual([...samples.keys()], [0, 1]);
    // bench report re-renders every seed it finds stored, not only the suite's seed-0 cells
    const report = bench('report', 'smoke', '--preset', 'smoke', '--results', res);
    assert.equal(report.code, 0, report.err);
    const again = JSON.parse(fs.readFileSync(path.join(res, 'smoke-smoke.json'), 'utf8'));
    assert.deepEqual(
      again.cells.map((c: { id: string }) => c.id),
      ['MoCo v3', 'MoCo v3 · seed 1'],
    );
    assert.equal(storedSeeds(again.cells), 2);
  });
});
