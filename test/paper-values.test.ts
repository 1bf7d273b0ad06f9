import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSuite } from '../kinds/index.ts';
import { loadSuite } from '../kinds/index.ts';
import { derivedNotes, formatPaper, paperValue } from '../suites/paper-values.ts';
import { resolveCell } from '../runner/pretrain-suite.ts';
import { pretrainTable } from '../report/pretrain-tables.ts';
import { builtinRegistry } from '../container/container.ts';

describe('paper values: printed vs derived', () => {
  it('a derived value is shown as ~X with its rule (and the other reading) in the notes; a printed one as is', () => {
    const s = loadSuite('fig5:random-patch');
    const learned = s.cells.find((c) => c.id === 'learned, lr 1.5e-4')!;
    const random = s.cells.find((c) => c.id === 'random, lr 1.5e-4')!;
    assert.equal(formatPaper(paperValue(learned, 'linear_acc')), '~71.7');
    assert.equal(formatPaper(paperValue(random, 'linear_acc')), 73.4);
    const notes = derivedNotes(s.cells, 'linear_acc');
    assert.match(notes[0], /derived from the paper's text/);
    assert.ok(notes.some((n) => n.startsWith('~72.8 (random, lr 1.0e-4)') && n.includes('Other reading') && n.includes('72.6')));
    assert.ok(!notes.some((n) => n.includes('(random, lr 1.5e-4)')), 'a printed value has no note');
  });

  it('every derived value in the catalogue: fig2 lr 1.5e-4, fig3 lr 6e-4 / 8e-4, fig5 three cells', () => {
    const derived = (name: string) =>
      loadSuite(name)
        .cells.filter((c) => c.derived)
        .map((c) => c.id);
    assert.deepEqual(derived('fig2:lr'), ['lr 1.5e-4']);
    assert.deepEqual(derived('fig3:lamb'), ['lr 6e-4', 'lr 8e-4']);
    assert.deepEqual(derived('fig5:random-patch'), ['learned, lr 1.0e-4', 'random, lr 1.0e-4', 'learned, lr 1.5e-4']);
    assert.deepEqual(derived('table4'), []);
  });

  it('the schema refuses a derived entry for a value the cell does not give, or without a rule', () => {
    const base = { name: 'x', title: 'X', reference: 'r', kind: 'pretrain', cells: [{ id: 'a', config: {}, paper: { linear_acc: 1 } }] };
    assert.throws(
      () => parseSuite({ ...base, cells: [{ ...base.cells[0], derived: { top5: { rule: 'r' } } }] }, 'x.json'),
      /x\.json: invalid suite:\n {2}cells\[0\]\.derived\.top5: derives paper\.top5, which the cell does not give/,
    );
    assert.throws(
      () => parseSuite({ ...base, cells: [{ ...base.cells[0], derived: { linear_acc: {} } }] }, 'x.json'),
      /cells\[0\]\.derived\.linear_acc: missing field 'rule'/,
    );
  });

  it('a pre-training table prints ~X in the paper column and the rule under the table', () => {
    const s = loadSuite('fig2:lr');
    const cells = s.cells.map((c) => resolveCell(s, c, { registry: builtinRegistry(), preset: 'smoke', runsDir: '/tmp/none' }));
    const fake = cells.map((rc) => ({
      hash: rc.hash,
      config: rc.config,
      backend: { name: 'cpu', gpu: false, versions: {} },
      iterations: 1,
      epochs: 1,
      trainImages: 1,
      wallSeconds: 1,
      imagesPerSec: 1,
      final: { loss: 1, knnMonitor: 0.5, knn: 0.5, knnRandomInit: 0.4 },
      curves: { loss: [], knn: [], lr: [] },
      flags: { diverged: false },
      weights: '',
      finishedAt: '',
    }));
    const t = pretrainTable(s, 'smoke', cells, fake);
    assert.deepEqual(
      t.rows.map((r) => r.paper),
      [70.4, 72.2, '~71.7'],
    );
    assert.ok(t.notes.some((n) => n.startsWith('~71.7 (lr 1.5e-4): not printed in the paper;')));
    assert.deepEqual(
      t.rows.map((r) => r.linear),
      ['n/a', 'n/a', 'n/a'],
      'no probe: n/a, never the kNN',
    );
  });
});
