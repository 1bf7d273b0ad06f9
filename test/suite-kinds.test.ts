/**
 * Suite kinds as descriptors (kinds/): each kind checks its own suites, names the `bench run` flags
 * it takes, and is the only place its behaviour lives; an unknown kind is an error naming the known ones.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SUITE_KINDS, listSuites, loadSuite, parseSuite, suiteKind } from '../kinds/index.ts';
import { runCommand } from '../cli/commands/run.ts';

describe('suite kinds', () => {
  it('every catalogue suite has a kind descriptor; an unknown kind names the known ones', () => {
    for (const s of listSuites()) assert.equal(suiteKind(s).name, s.kind);
    const base = loadSuite('smoke');
    assert.throws(
      () => parseSuite({ ...base, kind: 'sweep' }, 'sweep.json'),
      /sweep\.json: invalid suite:\n {2}kind: unknown kind 'sweep' \(known: params, flops, pretrain, linear, transfer\)/,
    );
    assert.throws(() => suiteKind({ name: 'x', kind: 'sweep' }), /suite x: unknown kind 'sweep'; known kinds: params, flops, pretrain/);
  });

  it("each kind's run flags are options of `bench run`; counting kinds take none and have no plan or queue", () => {
    const options = new Set(runCommand().options.map((o) => o.attributeName()));
    for (const k of SUITE_KINDS) {
      for (const f of k.runFlags) assert.ok(options.has(f), `${k.name}: '${f}' is not a bench run option`);
      assert.equal(k.counts, k.runFlags.length === 0, k.name);
      assert.equal(k.counts, k.plan === undefined, k.name);
    }
    assert.deepEqual(
      SUITE_KINDS.filter((k) => k.queue).map((k) => k.name),
      ['pretrain'],
    );
  });

  it("each kind checks its cells: a count cell's backbone, a training cell's config, a transfer cell's target", () => {
    const table2 = loadSuite('table2');
    assert.throws(
      () => parseSuite({ ...table2, cells: [{ id: 'a', config: { backbone: 'vit-s', optimizer: { batch: 4 } } }] }, 't2.json'),
      /cells\[0\]\.config: unknown field 'optimizer'/,
    );
    const smoke = loadSuite('smoke');
    assert.throws(
      () => parseSuite({ ...smoke, cells: [{ id: 'a', config: { backbone: 'vit-s' } }] }, 's.json'),
      /cells\[0\]\.config\.backbone: must be object/,
    );
    const table5 = loadSuite('table5');
    const cell = table5.cells.find((c) => !c.reference)!;
    assert.throws(
      () => parseSuite({ ...table5, cells: [{ ...cell, transfer: {} }] }, 't5.json'),
      /cells\[0\]\.transfer\.dataset: a transfer cell names its target data set/,
    );
    assert.throws(() => parseSuite({ ...table5, evaluators: [{ name: 'knn' }] }, 't5.json'), /evaluators: only a pretrain suite/);
    // the pre-training kind takes a cell's `scaled` pre-training fields only; an evaluation kind also its probe / transfer
    assert.throws(
      () => parseSuite({ ...smoke, cells: [{ ...smoke.cells[0], scaled: { tiny: { transfer: {} } } }] }, 's.json'),
      /cells\[0\]\.scaled\.tiny: unknown field 'transfer'/,
    );
    assert.doesNotThrow(() => parseSuite({ ...table5, cells: [{ ...cell, scaled: { tiny: { transfer: { epochs: 2 } } } }] }, 't5.json'));
  });
});
