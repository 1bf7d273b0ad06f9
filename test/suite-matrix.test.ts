/** Matrix suites (Table 4): resolution of recipe + preset + overrides, the matrix table, the Fig. 7 scatter. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSuite } from '../kinds/index.ts';
import { resolveCell } from '../runner/pretrain-suite.ts';
import { matrixTable, scatterPoints } from '../report/pretrain-tables.ts';
import type { ProbedResult } from '../report/suite-results.ts';
import { suiteProbeConfig } from '../recipes/evaluation.ts';
import { renderScatterPlot } from '../report/svg-scatter.ts';
import { scaledBackbone } from '../recipes/presets.ts';
import { builtinRegistry } from '../container/container.ts';

const runsDir = path.join(os.tmpdir(), 'sslbench-matrix-test');
// an ImageNet folder to name: cells identify their data by its files (runner/cell-hash.ts)
const imagenet = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-matrix-imagenet-'));
for (const split of ['train', 'val']) fs.mkdirSync(path.join(imagenet, split, 'n01440764'), { recursive: true });

/** A finished cell: kNN `knn`, linear probe knn + 0.2 (a probe sits above kNN). */
function fakeResult(knn: number, diverged = false): ProbedResult {
  return {
    final: { knn, loss: 1, knnMonitor: knn, knnRandomInit: 0.1 },
    flags: diverged ? { diverged: true, divergedAt: 6 } : { diverged: false },
    config: { knn: { k: 200, temperature: 0.07 }, data: { dataset: 'fashion-mnist' } },
    backend: { name: 'cpu', gpu: false, versions: {} },
    ...(diverged
      ? {}
      : { probe: { top1: knn + 0.2, bestBaseLr: 1, perLr: [], config: suiteProbeConfig('tiny', 'vit-tiny/7'), key: 'k', seconds: 1 } }),
  } as unknown as ProbedResult;
}

describe('table4 suite', () => {
  const suite = loadSuite('table4');

  it('resolves every cell from its recipe: per-framework optimiser and heads, backbone stand-ins at tiny', () => {
    const cells = suite.cells.map((c) => resolveCell(suite, c, { registry: builtinRegistry(), preset: 'tiny', runsDir }));
    assert.equal(cells.length, 12);
    const get = (id: string) => cells.find((c) => c.cell.id === id)!.config;
    assert.equal(get('R-50 / MoCo v3').optimizer.name, 'lars');
    assert.equal(get('R-50 / MoCo v3').framework.tau, 1.0);
    assert.equal(get('R-50 / MoCo v3').framework.projLayers, 2);
    assert.equal(get('R-50 / MoCo v3').backbone.name, 'resnet-tiny');
    assert.equal(get('ViT-S / SimCLR').backbone.name, 'vit-mini/7');
    assert.equal(get('ViT-B / BYOL').backbone.name, 'vit-tiny/7');
    assert.equal(get('ViT-B / BYOL').optimizer.name, 'adamw');
    // every recipe's base lr scaled by the same factor; the suite's tiny overrides applied
    assert.ok(Math.abs(get('ViT-B / SimCLR').optimizer.baseLr - 2e-4 * 16) < 1e-12);
    assert.ok(Math.abs(get('ViT-B / BYOL').optimizer.baseLr - 1e-4 * 16) < 1e-12);
    assert.equal(get('ViT-B / SwAV').framework.prototypes, 100);
    for (const c of cells) {
      assert.equal(c.config.data.trainCount, 3000);
      assert.equal(c.config.optimizer.epochs, 5);
      assert.equal(c.config.framework.mlpDim, 512);
    }
    // distinct configs get distinct run folders
    assert.equal(new Set(cells.map((c) => c.runDir)).size, 12);
  });

  it('at the paper preset keeps the paper backbones and recipes', () => {
    const c = resolveCell(suite, suite.cells.find((x) => x.id === 'ViT-B / SimCLR')!, {
      registry: builtinRegistry(),
      preset: 'paper',
      runsDir,
      overrides: { data: { path: imagenet } },
    });
    assert.equal(c.config.backbone.name, 'vit-b/16');
    assert.equal(c.config.backbone.randomPatchProj, true);
    assert.equal(c.config.optimizer.baseLr, 2e-4);
    assert.equal(c.config.optimizer.batch, 4096);
    assert.equal(c.config.optimizer.epochs, 300);
    const r = resolveCell(suite, suite.cells.find((x) => x.id === 'R-50 / MoCo v3')!, {
      registry: builtinRegistry(),
      preset: 'paper',
      runsDir,
      overrides: { data: { path: imagenet } },
    });
    assert.equal(r.config.optimizer.epochs, 800);
    assert.equal(r.config.framework.m0, 0.996);
  });

  it('a preset without a stand-in says so', () => {
    assert.throws(() => scaledBackbone('tiny', 'vit-h/14'), /preset tiny has no stand-in for backbone 'vit-h\/14'/);
  });

  it('Fig. 7 shares Table 4 runs (same configs, same folders)', () => {
    const fig = loadSuite('fig7');
    const a = fig.cells.map((c) => resolveCell(fig, c, { registry: builtinRegistry(), preset: 'tiny', runsDir }).runDir);
    const b = new Set(suite.cells.map((c) => resolveCell(suite, c, { registry: builtinRegistry(), preset: 'tiny', runsDir }).runDir));
    assert.equal(a.length, 8);
    for (const d of a) assert.ok(b.has(d), d);
  });

  it('lays the table out as rows x frameworks with paper numbers beside, and a diverged cell as such', () => {
    const cells = suite.cells.map((c) => resolveCell(suite, c, { registry: builtinRegistry(), preset: 'tiny', runsDir }));
    const results = cells.map((_, i) => fakeResult(0.5 + i / 100, i === 11));
    // the floors: each row's backbone at random init, and a raw-pixels row (runner/baselines.ts)
    const probe = (top1: number) => ({ ...results[0].probe!, top1 });
    const ids = (row: string) => cells.filter((c) => c.cell.row === row).map((c) => c.cell.id);
    const baselines = [
      {
        kind: 'raw-pixels' as const,
        key: 'p',
        backbone: 'none (2352 pixel values)',
        data: 'fashion-mnist 3000',
        probe: probe(0.84),
        knn: 0.72,
        cells: cells.map((c) => c.cell.id),
      },
      {
        kind: 'random-init' as const,
        key: 'r',
        backbone: 'resnet-tiny',
        data: 'fashion-mnist 3000',
        probe: probe(0.4),
        knn: 0.1,
        cells: ids('R-50, 800-ep'),
      },
    ];
    const t = matrixTable(suite, 'tiny', cells, results, baselines);
    assert.deepEqual(
      t.rows.map((r) => r.row),
      ['R-50, 800-ep', 'ViT-S, 300-ep', 'ViT-B, 300-ep', 'raw pixels'],
    );
    assert.deepEqual(t.columns.map((c) => c.key).slice(2, 10), [
      'linear_init',
      'knn_init',
      'moco-v3',
      'moco-v3_knn',
      'moco-v3_paper',
      'simclr',
      'simclr_knn',
      'simclr_paper',
    ]);
    assert.equal(t.columns[2].header, 'without pre-training: linear (%)');
    assert.equal(t.columns[3].header, 'without pre-training: kNN (%)');
    assert.equal(t.columns[4].header, 'MoCo v3 linear (%)');
    assert.equal(t.rows[0].linear_init, '40.0');
    assert.deepEqual([t.rows[3].linear_init, t.rows[3].knn_init, t.rows[3]['moco-v3']], ['84.0', '72.0', undefined]);
    // in words, per cell: R-50 / MoCo v3 (probe 70, kNN 50) is below raw pixels on both and above its random init on both
    assert.ok(
      t.notes!.some((n) =>
        /^R-50 \/ MoCo v3: probe 70\.0 \(raw pixels −14\.0, random init \+30\.0\), kNN 50\.0 \(−22\.0, \+40\.0\): below raw pixels on both; above its random init on both\.$/.test(
          n,
        ),
      ),
      t.notes!.join('\n'),
    );
    assert.equal(t.rows[0]['moco-v3'], '70.0');
    assert.equal(t.rows[0]['moco-v3_knn'], '50.0');
    assert.equal(t.rows[0]['moco-v3_paper'], 73.8);
    assert.equal(t.rows[0].knn_init, '10.0', 'the row backbone at its random init');
    assert.equal(t.rows[1].simclr, '75.0');
    assert.equal(t.rows[1].simclr_knn, '55.0');
    assert.match(t.notes![0], /^measured: the linear probe: .*50 epochs.*fashion-mnist.*kNN beside it: weighted kNN \(k 200, T 0.07\)/);
    assert.equal(t.rows[2].swav, 'NaN (diverged at iter 7)');
    assert.equal(t.rows[2].swav_paper, 71.6);
  });

  it('scatters R-50 (x) against ViT-B (y) per framework, measured and paper', () => {
    const cells = suite.cells.map((c) => resolveCell(suite, c, { registry: builtinRegistry(), preset: 'tiny', runsDir }));
    const results = cells.map((_, i) => fakeResult(0.5 + i / 100));
    const pts = scatterPoints(suite, cells, results);
    const moco = pts.filter((p) => p.label === 'MoCo v3');
    assert.deepEqual(
      moco.map((p) => [p.group, +p.x.toFixed(6), +p.y.toFixed(6)]),
      [
        ['measured (linear)', 70, 78],
        ['paper (linear)', 73.8, 76.5],
      ],
    );
    const svg = renderScatterPlot(pts, { title: 'Fig. 7', xLabel: 'R-50', yLabel: 'ViT-B', diagonal: true });
    assert.equal((svg.match(/<circle [^>]*data-group/g) ?? []).length, 8);
    assert.match(svg, /class="diagonal"/);
    const nan = renderScatterPlot(
      [
        { label: 'a', group: 'g', x: Number.NaN, y: 1 },
        { label: 'b', group: 'g', x: 2, y: 3 },
      ],
      { title: 't', xLabel: 'x', yLabel: 'y' },
    );
    assert.equal((nan.match(/<circle [^>]*data-group/g) ?? []).length, 1);
  });
});
