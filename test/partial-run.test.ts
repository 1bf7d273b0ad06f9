/**
 * A partial run (`bench run SUITE --cells ID`, suites/cell-selection.ts): only the named cells train
 * (at every seed of the run); the others are read where finished and listed as not run otherwise,
 * in the tables and in the stored results, which `bench report` re-renders and the scorecard reads;
 * a later run without --cells trains the rest and reuses what is finished.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { selectedArms, isSelected } from '../suites/cell-selection.ts';
import { withSeeds } from '../suites/seeds.ts';
import { parseSuite } from '../suites/schema.ts';
import { ResultStore } from '../claims/measure.ts';
import { benchIn } from './helpers/bench-cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-partial-run-'));
const bench = benchIn(tmp);

const suiteJson = {
  name: 'partial',
  title: 'two arms',
  reference: 'Alg. 1',
  kind: 'pretrain',
  preset: 'smoke',
  cells: [
    { id: 'm 0.99', config: { framework: { m0: 0.99 } } },
    { id: 'm 0.9', config: { framework: { m0: 0.9 } } },
  ],
};
const suiteFile = path.join(tmp, 'partial.json');
fs.writeFileSync(suiteFile, JSON.stringify(suiteJson));
const runs = path.join(tmp, 'runs');
const res = path.join(tmp, 'res');
const storedJson = () => JSON.parse(fs.readFileSync(path.join(res, 'partial-smoke.json'), 'utf8'));
const ids = (cells: { id: string }[]) => cells.map((c) => c.id);

describe('partial runs (--cells)', () => {
  it("selects arms by id (every seed of an arm), and names the flag and the suite's ids for an unknown one", () => {
    const suite = withSeeds(parseSuite(suiteJson, suiteFile), 2);
    const only = selectedArms(suite, ['m 0.9']);
    assert.deepEqual(
      suite.cells.map((c) => isSelected(only, c)),
      [false, false, true, true],
    );
    assert.equal(selectedArms(suite, undefined), undefined);
    assert.equal(selectedArms(suite, []), undefined);
    assert.ok(suite.cells.every((c) => isSelected(undefined, c)));
    assert.throws(() => selectedArms(suite, ['m 0.5']), /--cells: suite partial has no cell 'm 0\.5'; its cells: 'm 0\.99', 'm 0\.9'/);
    // a seeded id is not an arm
    assert.throws(() => selectedArms(suite, ['m 0.9 · seed 1']), /--cells: suite partial has no cell 'm 0\.9 · seed 1'/);
  });

  it('--dry-run lists the other cells as not selected and counts only the selected ones', () => {
    const r = bench('run', suiteFile, '--seeds', '2', '--cells', 'm 0.9', '--runs', runs, '--dry-run');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines.filter((l) => l.includes('not selected (--cells)')).length, 2, r.out);
    assert.ok(
      lines.some((l) => l.startsWith('  m 0.9 ') && l.includes(' new ')),
      r.out,
    );
    assert.match(r.out, /training to do: 2 run\(s\)/);
  });

  it('trains only the selected arm, stores the rest as not run; bench report keeps them; a full run then trains the rest', () => {
    const r = bench('run', suiteFile, '--seeds', '2', '--cells', 'm 0.9', '--runs', runs, '--results', res, '--quiet');
    assert.equal(r.code, 0, r.err);
    assert.equal(fs.readdirSync(path.join(runs, 'smoke')).filter((d) => d.startsWith('mocov3-')).length, 2, 'two runs trained');
    // its progress counts the cells it measures (2), not the suite's 4
    assert.match(r.err, /suite 2\/2 done/);
    assert.doesNotMatch(r.err, /\/4 done/);
    const stored = storedJson();
    assert.deepEqual(ids(stored.cells), ['m 0.9', 'm 0.9 · seed 1']);
    assert.deepEqual(stored.notRun, [
      { id: 'm 0.99', arm: 'm 0.99' },
      { id: 'm 0.99 · seed 1', arm: 'm 0.99' },
    ]);
    const md = fs.readFileSync(path.join(res, 'partial-smoke.md'), 'utf8');
    assert.match(md, /partial run .*2 of 4 cells measured; not run yet: 'm 0\.99', 'm 0\.99 · seed 1'/);
    assert.match(md, /\| m 0\.99 · seed 1 \|.*not run yet \(partial run\)/);
    // the scorecard reads what is there: one arm at two seeds, the other not measured
    const store = new ResultStore(res, 'smoke');
    assert.deepEqual([...store.samples('partial', 'm 0.9', 'linear').keys()], [0, 1]);
    assert.equal(store.samples('partial', 'm 0.99', 'linear').size, 0);

    const before = fs.readFileSync(path.join(res, 'partial-smoke.json'), 'utf8');
    const report = bench('report', suiteFile, '--preset', 'smoke', '--results', res);
    assert.equal(report.code, 0, report.err);
    assert.equal(fs.readFileSync(path.join(res, 'partial-smoke.json'), 'utf8'), before, 'the re-render writes what the run wrote');

    const full = bench('run', suiteFile, '--seeds', '2', '--runs', runs, '--results', res);
    assert.equal(full.code, 0, full.err);
    assert.equal(full.err.match(/finished earlier/g)?.length, 2, full.err);
    const all = storedJson();
    assert.deepEqual(ids(all.cells), ['m 0.99', 'm 0.99 · seed 1', 'm 0.9', 'm 0.9 · seed 1']);
    assert.equal(all.notRun, undefined);
    assert.doesNotMatch(fs.readFileSync(path.join(res, 'partial-smoke.md'), 'utf8'), /not run yet/);
  });

  it('refuses --cells with an unknown id, with --queue, and on a suite that trains nothing', () => {
    const unknown = bench('run', suiteFile, '--cells', 'nope', '--runs', runs, '--results', res);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.err, /--cells: suite partial has no cell 'nope'/);
    const queued = bench('run', suiteFile, '--cells', 'm 0.9', '--queue', 'redis://127.0.0.1:1', '--runs', runs, '--results', res);
    assert.notEqual(queued.code, 0);
    assert.match(queued.err, /--cells: a queued run \(--queue\) runs the whole suite/);
    const counting = bench('run', 'table2', '--cells', 'ViT-S');
    assert.notEqual(counting.code, 0);
    assert.match(counting.err, /--cells/);
  });
});
