/**
 * Injection that wires (container/cell-container.ts): each cell's child container builds that
 * cell's framework once, hands the optimiser that framework's parameters and the framework its
 * backbone factory, builds nothing it is not asked for, and lets a caller rebind a part for one
 * cell without touching the root or the other cells.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry, buildContainer } from '../container/container.ts';
import { CELL } from '../container/cell-container.ts';
import { defineFramework } from '../frameworks/framework.ts';
import { mocov3 } from '../frameworks/mocov3.ts';
import { syntheticSource } from '../data/sources.ts';
import { loadSuite } from '../kinds/index.ts';
import { resolveCell } from '../runner/pretrain-suite.ts';
import { pretrain } from '../runner/pretrain.ts';
import { useBackend } from './helpers/backend.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-cell-container-'));
let builds = 0;
/** MoCo v3 under another name, counting its builds. */
const counted = defineFramework({ ...mocov3, name: 'counted-moco', build: (c, ctx) => (builds++, mocov3.build(c, ctx)) });

describe('per-cell containers', () => {
  before(() => useBackend('cpu'));
  const registry = new Registry(buildContainer([counted]));
  const suite = loadSuite('smoke');
  const config = (seed: number) =>
    resolveCell(suite, suite.cells[0], {
      preset: 'smoke',
      runsDir: tmp,
      registry,
      overrides: {
        seed,
        framework: { name: 'counted-moco' },
        data: { trainCount: 48, testCount: 24 },
        optimizer: { batch: 16, epochs: 1 },
      },
    }).config;

  it("builds a cell's framework once, on demand; its optimiser gets that framework's parameters; another cell its own", () => {
    const a = registry.cell(config(0));
    assert.equal(builds, 0, 'nothing built before it is asked for');
    const opt = a.get(CELL.optimizer);
    assert.equal(builds, 1, 'the optimiser asked for the framework');
    const fw = a.get(CELL.framework);
    assert.equal(a.get(CELL.framework), fw, 'one framework per cell');
    assert.equal(builds, 1);
    // the optimiser updates exactly the framework's parameters (its state keys them by name)
    assert.ok(fw.trainableParams().length > 0 && opt !== undefined);
    const b = registry.cell(config(1));
    assert.notEqual(b.get(CELL.framework), fw, 'a second cell builds its own');
    assert.equal(builds, 2);
    assert.equal(a.get(CELL.dataset), syntheticSource, 'plugins come from the root');
    fw.dispose();
    b.get(CELL.framework).dispose();
  });

  it('an unknown name is an error listing the known ones', () => {
    const c = registry.cell({ ...config(0), optimizer: { ...config(0).optimizer, name: 'adam' } });
    assert.throws(() => c.get(CELL.optimizer), /unknown optimizer 'adam'; known optimizers: adamw, lars, lamb/);
  });

  it('a part rebound in one cell (here its data set) is used by that run, and the root is untouched', async () => {
    let loads = 0;
    const standIn = { ...syntheticSource, load: (...a: Parameters<typeof syntheticSource.load>) => (loads++, syntheticSource.load(...a)) };
    const c = config(2);
    const r = await pretrain(c, {
      runDir: path.join(tmp, 'rebound'),
      registry,
      bindCell: (cell) => cell.rebind(CELL.dataset).toConstantValue(standIn),
    });
    assert.equal(loads, 1);
    assert.equal(r.trainImages, 48);
    assert.equal(registry.cell(c).get(CELL.dataset), syntheticSource);
  });
});
