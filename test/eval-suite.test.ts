/** Evaluation suites (Table 1's kind): reference rows, rows without a stand-in, measured rows, caching. */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from '../container/container.ts';
import { parseSuite } from '../kinds/index.ts';
import { loadSuite } from '../kinds/index.ts';
import { suiteKind } from '../kinds/index.ts';
import { linearProbeConfig } from '../recipes/evaluation.ts';
import { useBackend } from './helpers/backend.ts';

before(async () => useBackend('wasm'));

const small = {
  data: { trainCount: 96, testCount: 48 },
  optimizer: { batch: 16, epochs: 1, warmupEpochs: 0 },
  monitor: { every: 100, queries: 48 },
};

describe('linear-probe suites', () => {
  it('table1 validates: reference rows, MoCo v3 rows, a random-init baseline', () => {
    const t = loadSuite('table1');
    assert.equal(t.kind, 'linear');
    assert.equal(t.cells.filter((c) => c.reference).length, 3);
    assert.equal(t.cells.find((c) => c.id === 'MoCo v3 ViT-BN-L/7')?.paper?.acc, 81.0);
    assert.equal(t.cells.filter((c) => c.init === 'random').length, 1);
  });

  it("probe protocol per preset: the paper's at paper, R-50's lr 30x below ViT's", () => {
    assert.deepEqual(linearProbeConfig('paper', 'vit-b/16'), {
      epochs: 90,
      batch: 1024,
      baseLrs: [1, 3, 10],
      batchNorm: false,
      augment: true,
      cacheFeatures: false,
      // lr and epoch chosen on 1 % of the training images (12.8 k of ImageNet's), the sweep extended past an end up to 4 lrs
      valFraction: 0.01,
      extendSweep: 4,
    });
    assert.deepEqual(
      linearProbeConfig('paper', 'resnet-50').baseLrs.map((x) => +x.toFixed(4)),
      [0.0333, 0.1, 0.3333],
    );
    assert.equal(linearProbeConfig('tiny', 'vit-b/16').epochs, 10);
  });

  it('runs measured cells (pre-trained and random init), shows references, skips backbones without a stand-in, and caches', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-eval-'));
    const suite = parseSuite(
      {
        name: 't1',
        title: 't',
        reference: 'Table 1',
        kind: 'linear',
        scale: { smoke: small },
        cells: [
          { id: 'ref', reference: true, config: {}, paper: { acc: 69 } },
          { id: 'moco', config: { backbone: { name: 'vit-b/16' } }, scaled: { smoke: { probe: { epochs: 1 } } }, paper: { acc: 76.7 } },
          { id: 'large', config: { backbone: { name: 'vit-l/16' } }, paper: { acc: 77.6 } },
          { id: 'random', init: 'random', config: { backbone: { name: 'vit-b/16' } }, scaled: { smoke: { probe: { epochs: 1 } } } },
        ],
      },
      'inline',
    );
    const o = {
      preset: 'smoke',
      resultsDir: path.join(dir, 'results'),
      runsDir: path.join(dir, 'runs'),
      registry: new Registry(),
      quiet: true,
      log: () => {},
    };
    const { table } = await suiteKind(suite).run(suite, o);
    const row = (id: string) => table.rows.find((r) => r.cell === id)!;
    assert.equal(row('ref').paper, 69);
    assert.match(String(row('ref').note), /reference row/);
    assert.match(String(row('large').note), /no stand-in/);
    for (const id of ['moco', 'random']) {
      const acc = Number(row(id).acc);
      assert.ok(acc >= 0 && acc <= 100, `${id}: ${row(id).acc}`);
      assert.equal(row(id).backbone, 'vit-micro/4');
    }
    assert.match(String(row('moco').init), /pre-trained/);
    assert.equal(row('random').init, 'random init');
    assert.ok(fs.existsSync(path.join(o.resultsDir, 't1-smoke.md')));
    // a second run reuses the pre-training and the probe results
    const lines: string[] = [];
    const again = await suiteKind(suite).run(suite, { ...o, log: (l) => lines.push(l) });
    assert.equal(lines.filter((l) => /linear probe finished earlier/.test(l)).length, 2);
    assert.deepEqual(again.table.rows, table.rows);
  });
});
