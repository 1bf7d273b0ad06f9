/**
 * Every shipped suite: it validates; every cell of a training suite resolves at every preset; the
 * ablation and figure suites (Sec. 4, 6.2, 6.3) vary only what the paper varies, carry the paper's
 * numbers, keep the paper's ratios at `tiny`, and fit a CPU budget there.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SUITES_DIR, listSuites, loadSuite, readSuiteFile } from '../kinds/index.ts';
import type { Suite } from '../suites/schema.ts';
import { resolveCell } from '../runner/pretrain-suite.ts';
import type { ResolvedCell } from '../report/suite-results.ts';
import { PRESETS } from '../recipes/presets.ts';
import { vitConfig } from '../backbones/vit/config.ts';
import { vitMacs } from '../backbones/vit/count.ts';
import { builtinRegistry } from '../container/container.ts';

const runsDir = path.join(os.tmpdir(), 'sslbench-suites-all-test');
const imagenet = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-all-imagenet-'));
for (const split of ['train', 'val']) fs.mkdirSync(path.join(imagenet, split, 'n01440764'), { recursive: true });
const overridesAt = (preset: string) => (preset === 'paper' ? { data: { path: imagenet } } : undefined);
const resolveAll = (s: Suite, preset: string) =>
  s.cells.map((c) => resolveCell(s, c, { registry: builtinRegistry(), preset, runsDir, overrides: overridesAt(preset) }));
const TRAINS = new Set(['pretrain', 'linear', 'transfer']);

/** Leaf paths (a.b.c) whose values differ between two configs. */
function diffPaths(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(a) || !isObj(b)) return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((k) => diffPaths(a[k], b[k], prefix ? `${prefix}.${k}` : k));
}

/** Each cell against the first: the config fields they differ in. */
function diffs(cells: ResolvedCell[]): Record<string, string[]> {
  return Object.fromEntries(cells.slice(1).map((c) => [c.cell.id, diffPaths(cells[0].config, c.config)]));
}

const byId = (cells: ResolvedCell[], id: string) => {
  const c = cells.find((x) => x.cell.id === id);
  assert.ok(c, `no cell '${id}'`);
  return c;
};
const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe('every suite file', () => {
  it('validates, under a unique name', () => {
    const files = fs.readdirSync(SUITES_DIR).filter((f) => f.endsWith('.json'));
    const names = files.map((f) => readSuiteFile(path.join(SUITES_DIR, f)).name);
    assert.equal(new Set(names).size, names.length, `duplicate suite names: ${names.join(', ')}`);
    assert.equal(listSuites().length, files.length);
  });

  it('every cell of a training suite resolves at every preset (linear/transfer: or is a reference, or has no stand-in there)', () => {
    for (const s of listSuites().filter((x) => TRAINS.has(x.kind))) {
      for (const preset of PRESETS) {
        for (const cell of s.cells) {
          if (s.kind !== 'pretrain' && cell.reference) continue;
          try {
            resolveCell(s, cell, { registry: builtinRegistry(), preset, runsDir, overrides: overridesAt(preset) });
          } catch (err) {
            // the evaluation runner reports such a cell as not run; a pre-training suite must run all
            const skippable = s.kind !== 'pretrain' && preset !== 'paper' && /has no stand-in/.test((err as Error).message);
            if (!skippable) throw new Error(`suite ${s.name}, cell '${cell.id}', preset ${preset}: ${(err as Error).message}`);
          }
        }
      }
    }
  });
});

/** Suites of the paper's ablations and figures: each cell's varied fields, at paper and at tiny. */
const ABLATIONS: Record<
  string,
  { cells: number; paper: Record<string, string[]>; tiny?: Record<string, string[]>; acc: Record<string, number | undefined> }
> = {
  'ablation:pos-embed': {
    cells: 3,
    paper: { learned: ['backbone.posEmbed'], none: ['backbone.posEmbed'] },
    acc: { 'sin-cos': 76.5, learned: 76.1, none: 74.9 },
  },
  'ablation:cls-token': {
    cells: 3,
    paper: { 'w/o [CLS]; LN+pool': ['backbone.pooling'], 'w/o [CLS]; pool': ['backbone.pooling'] },
    acc: { 'w/ [CLS]': 76.5, 'w/o [CLS]; LN+pool': 69.7, 'w/o [CLS]; pool': 76.3 },
  },
  'ablation:bn-heads': {
    cells: 3,
    paper: { 'heads w/o BN (batch 2048)': ['framework.headBn', 'optimizer.batch'], 'heads w/o BN (batch 4096)': ['framework.headBn'] },
    acc: { 'heads w/ BN': 76.5, 'heads w/o BN (batch 2048)': 74.4, 'heads w/o BN (batch 4096)': undefined },
  },
  'ablation:warmup': {
    cells: 2,
    paper: { 'warmup 10 ep': ['optimizer.warmupEpochs'] },
    acc: { 'warmup 40 ep': 76.5, 'warmup 10 ep': undefined },
  },
  'ablation:predictor': {
    cells: 2,
    paper: { 'w/o pred. MLP': ['framework.predictor'] },
    acc: { 'w/ pred. MLP': 76.5, 'w/o pred. MLP': 75.5 },
  },
  'ablation:momentum': {
    cells: 4,
    // against m = 0 (constant): the cosine cells differ in m0 and the schedule
    paper: {
      'm = 0.9': ['framework.m0', 'framework.momentumSchedule'],
      'm = 0.99': ['framework.m0', 'framework.momentumSchedule'],
      'm = 0.999': ['framework.m0', 'framework.momentumSchedule'],
    },
    acc: { 'm = 0': 74.3, 'm = 0.9': 75.6, 'm = 0.99': 76.5, 'm = 0.999': 75.0 },
  },
  'ablation:train-length': {
    cells: 4,
    paper: {
      'ViT-S/16, 600-ep': ['optimizer.epochs'],
      'ViT-B/16, 300-ep': ['backbone.name'],
      'ViT-B/16, 600-ep': ['backbone.name', 'optimizer.epochs'],
    },
    acc: { 'ViT-S/16, 300-ep': 72.5, 'ViT-S/16, 600-ep': 73.4, 'ViT-B/16, 300-ep': 76.5, 'ViT-B/16, 600-ep': 76.7 },
  },
  'fig1:batch-size': {
    cells: 4,
    paper: { 'batch 2k': ['optimizer.batch'], 'batch 4k': ['optimizer.batch'], 'batch 6k': ['optimizer.batch'] },
    // at tiny the kNN monitor interval follows the batch (the same resolution in epochs)
    tiny: {
      'batch 2k': ['monitor.every', 'optimizer.batch'],
      'batch 4k': ['monitor.every', 'optimizer.batch'],
      'batch 6k': ['monitor.every', 'optimizer.batch'],
    },
    acc: { 'batch 1k': 71.5, 'batch 2k': 72.6, 'batch 4k': 72.2, 'batch 6k': 69.7 },
  },
  'fig2:lr': {
    cells: 3,
    paper: { 'lr 1.0e-4': ['optimizer.baseLr'], 'lr 1.5e-4': ['optimizer.baseLr'] },
    acc: { 'lr 0.5e-4': 70.4, 'lr 1.0e-4': 72.2, 'lr 1.5e-4': 71.7 },
  },
  'fig3:lamb': {
    cells: 3,
    paper: { 'lr 6e-4': ['optimizer.baseLr'], 'lr 8e-4': ['optimizer.baseLr'] },
    acc: { 'lr 5e-4': 72.5, 'lr 6e-4': 70.9, 'lr 8e-4': 66.5 },
  },
  'fig4:grad-spike': { cells: 1, paper: {}, acc: { 'learned patch proj., lr 1.5e-4 (tiny: 4x lr)': undefined } },
  'fig5:random-patch': {
    cells: 8,
    paper: {
      'random, lr 1.0e-4': ['backbone.randomPatchProj'],
      'learned, lr 1.5e-4': ['optimizer.baseLr'],
      'random, lr 1.5e-4': ['backbone.randomPatchProj', 'optimizer.baseLr'],
      'learned, lr 1.5e-4 (tiny: 4x lr)': ['optimizer.baseLr'],
      'random, lr 1.5e-4 (tiny: 4x lr)': ['backbone.randomPatchProj', 'optimizer.baseLr'],
      'learned, lr 1.5e-4 (tiny: 16x lr)': ['optimizer.baseLr'],
      'random, lr 1.5e-4 (tiny: 16x lr)': ['backbone.randomPatchProj', 'optimizer.baseLr'],
    },
    acc: {
      'learned, lr 1.0e-4': 72.2,
      'random, lr 1.0e-4': 72.8,
      'learned, lr 1.5e-4': 71.7,
      'random, lr 1.5e-4': 73.4,
      'learned, lr 1.5e-4 (tiny: 4x lr)': undefined,
      'random, lr 1.5e-4 (tiny: 4x lr)': undefined,
      'learned, lr 1.5e-4 (tiny: 16x lr)': undefined,
      'random, lr 1.5e-4 (tiny: 16x lr)': undefined,
    },
  },
  'fig6:frameworks-random-patch': {
    cells: 6,
    paper: {},
    acc: {
      'SimCLR, learned patch proj.': undefined,
      'SimCLR, random patch proj.': undefined,
      'BYOL, learned patch proj.': undefined,
      'BYOL, random patch proj.': undefined,
      'SwAV, learned patch proj.': 65.8,
      'SwAV, random patch proj.': 66.4,
    },
  },
  'fig8:vit-bn': {
    cells: 8,
    paper: {
      'ViT-L': ['backbone.name'],
      'ViT-H': ['backbone.name'],
      'ViT-BN-B': ['backbone.name'],
      'ViT-BN-L': ['backbone.name'],
      'ViT-BN-H': ['backbone.name'],
      'ViT-BN-B/7': ['backbone.name'],
      'ViT-BN-L/7': ['backbone.name'],
    },
    acc: {
      'ViT-B': 76.7,
      'ViT-L': 77.6,
      'ViT-H': 78.1,
      'ViT-BN-B': undefined,
      'ViT-BN-L': undefined,
      'ViT-BN-H': 79.1,
      'ViT-BN-B/7': undefined,
      'ViT-BN-L/7': 81.0,
    },
  },
};

describe('ablation and figure suites', () => {
  it('exist under the names users type, as tiny pre-training suites with a title, reference and notes', () => {
    for (const name of Object.keys(ABLATIONS)) {
      const s = loadSuite(name);
      assert.equal(s.kind, 'pretrain', name);
      assert.equal(s.preset, 'tiny', name);
      assert.ok(s.title && s.reference && (s.notes?.length ?? 0) > 0, name);
      assert.equal(s.cells.length, ABLATIONS[name].cells, name);
    }
  });

  for (const [name, want] of Object.entries(ABLATIONS)) {
    it(`${name}: cells vary only the intended fields (paper and tiny), with the paper's values`, () => {
      const s = loadSuite(name);
      // fig6's two frameworks differ in their whole recipes: its pairs are checked below
      if (name !== 'fig6:frameworks-random-patch') {
        const sorted = (d: Record<string, string[]>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, [...v].sort()]));
        assert.deepEqual(diffs(resolveAll(s, 'paper')), sorted(want.paper));
        assert.deepEqual(diffs(resolveAll(s, 'tiny')), sorted(want.tiny ?? want.paper));
      }
      assert.deepEqual(
        s.cells.map((c) => c.id),
        Object.keys(want.acc),
      );
      for (const c of s.cells) assert.equal(c.paper?.linear_acc, want.acc[c.id], `${name} / ${c.id}`);
    });
  }

  it(
    'the 300-epoch ablations use random patch projection and the recipe; the Sec. 4 figures are 100-epoch, learned patch projection ' +
      '(fig5/fig6 switch it)',
    () => {
      for (const name of [
        'ablation:pos-embed',
        'ablation:cls-token',
        'ablation:bn-heads',
        'ablation:predictor',
        'ablation:momentum',
        'ablation:train-length',
        'fig8:vit-bn',
      ]) {
        for (const c of resolveAll(loadSuite(name), 'paper')) {
          assert.equal(c.config.backbone.randomPatchProj, true, `${name} / ${c.cell.id}`);
          assert.equal(c.config.optimizer.name, 'adamw');
          assert.equal(c.config.optimizer.warmupEpochs, 40);
          if (name !== 'ablation:train-length') assert.equal(c.config.optimizer.epochs, 300, `${name} / ${c.cell.id}`);
        }
      }
      for (const name of ['fig1:batch-size', 'fig2:lr', 'fig3:lamb', 'fig4:grad-spike']) {
        for (const c of resolveAll(loadSuite(name), 'paper')) {
          assert.equal(c.config.backbone.randomPatchProj, false, `${name} / ${c.cell.id}`);
          assert.equal(c.config.backbone.name, 'vit-b/16');
          assert.equal(c.config.optimizer.epochs, 100);
          assert.equal(c.config.optimizer.warmupEpochs, 40);
        }
      }
      const fig1 = resolveAll(loadSuite('fig1:batch-size'), 'paper');
      assert.deepEqual(
        fig1.map((c) => c.config.optimizer.batch),
        [1024, 2048, 4096, 6144],
      );
      for (const c of fig1) close(c.config.optimizer.baseLr, 1e-4, c.cell.id);
      assert.deepEqual(
        resolveAll(loadSuite('fig2:lr'), 'paper').map((c) => c.config.optimizer.baseLr),
        [5e-5, 1e-4, 1.5e-4],
      );
      const lamb = resolveAll(loadSuite('fig3:lamb'), 'paper');
      assert.deepEqual(
        lamb.map((c) => [c.config.optimizer.name, c.config.optimizer.weightDecay, c.config.optimizer.baseLr, c.config.optimizer.batch]),
        [
          ['lamb', 1e-3, 5e-4, 4096],
          ['lamb', 1e-3, 6e-4, 4096],
          ['lamb', 1e-3, 8e-4, 4096],
        ],
      );
      const fig6 = resolveAll(loadSuite('fig6:frameworks-random-patch'), 'paper');
      assert.deepEqual(
        fig6.map((c) => [
          c.cell.id,
          c.config.framework.name,
          c.config.optimizer.baseLr,
          c.config.optimizer.weightDecay,
          c.config.optimizer.epochs,
          c.config.backbone.randomPatchProj,
        ]),
        [
          ['SimCLR, learned patch proj.', 'simclr', 2e-4, 0.1, 100, false],
          ['SimCLR, random patch proj.', 'simclr', 2e-4, 0.1, 100, true],
          ['BYOL, learned patch proj.', 'byol', 1e-4, 0.03, 100, false],
          ['BYOL, random patch proj.', 'byol', 1e-4, 0.03, 100, true],
          ['SwAV, learned patch proj.', 'swav', 1e-4, 0.1, 100, false],
          ['SwAV, random patch proj.', 'swav', 1e-4, 0.1, 100, true],
        ],
      );
      assert.deepEqual(diffPaths(fig6[0].config, fig6[1].config), ['backbone.randomPatchProj']);
      assert.deepEqual(diffPaths(fig6[2].config, fig6[3].config), ['backbone.randomPatchProj']);
      assert.deepEqual(diffPaths(fig6[4].config, fig6[5].config), ['backbone.randomPatchProj']);
      assert.deepEqual(
        loadSuite('fig6:frameworks-random-patch').cells.map((c) => c.paper?.linear_acc_gain),
        [undefined, 0.8, undefined, 1.3, undefined, undefined],
      );
    },
  );

  it("momentum: m is the cosine schedule's m0, and m = 0 is a constant 0 (the key encoder is the query encoder)", () => {
    const cells = resolveAll(loadSuite('ablation:momentum'), 'paper');
    assert.deepEqual(
      cells.map((c) => [c.config.framework.m0, c.config.framework.momentumSchedule]),
      [
        [0, 'constant'],
        [0.9, 'cosine'],
        [0.99, 'cosine'],
        [0.999, 'cosine'],
      ],
    );
  });

  it("bn-heads: without BN the heads have no BN and the batch is 2048 (tiny: half the preset's)", () => {
    const s = loadSuite('ablation:bn-heads');
    const [bn, noBn] = resolveAll(s, 'paper');
    assert.deepEqual(
      [bn.config.framework.headBn, bn.config.optimizer.batch, noBn.config.framework.headBn, noBn.config.optimizer.batch],
      [true, 4096, false, 2048],
    );
    const [tbn, tno] = resolveAll(s, 'tiny');
    assert.equal(tno.config.optimizer.batch * 2, tbn.config.optimizer.batch);
  });

  it("tiny keeps the paper's ratios: batches 1:2:4:6, epochs 1:2, lrs as at paper, warmup 40 % of the 100-epoch runs", () => {
    const fig1 = resolveAll(loadSuite('fig1:batch-size'), 'tiny');
    assert.deepEqual(
      fig1.map((c) => c.config.optimizer.batch),
      [16, 32, 64, 96],
    );
    for (const c of fig1)
      assert.ok(
        Math.abs(c.config.optimizer.batch * c.config.monitor.every - 640) <= 0.05 * 640,
        `${c.cell.id}: kNN monitor every ${c.config.monitor.every} iterations`,
      );
    const tl = resolveAll(loadSuite('ablation:train-length'), 'tiny');
    assert.deepEqual(
      tl.map((c) => [c.config.backbone.name, c.config.optimizer.epochs, c.config.optimizer.warmupEpochs]),
      [
        ['vit-mini/7', 5, 1],
        ['vit-mini/7', 10, 1],
        ['vit-tiny/7', 5, 1],
        ['vit-tiny/7', 10, 1],
      ],
    );
    for (const name of ['fig1:batch-size', 'fig2:lr', 'fig3:lamb', 'fig5:random-patch', 'fig6:frameworks-random-patch']) {
      const paper = resolveAll(loadSuite(name), 'paper');
      const tiny = resolveAll(loadSuite(name), 'tiny');
      tiny.forEach((c, i) => {
        close(
          c.config.optimizer.warmupEpochs / c.config.optimizer.epochs,
          paper[i].config.optimizer.warmupEpochs / paper[i].config.optimizer.epochs,
          `${name} / ${c.cell.id} warmup ratio`,
        );
        if (!/tiny: \d+x lr/.test(c.cell.id))
          close(c.config.optimizer.baseLr / paper[i].config.optimizer.baseLr, 16, `${name} / ${c.cell.id} lr`);
      });
    }
  });

  it("fig4 / fig5: the tiny-only cells run at 4x the scaled lr; fig4's run is fig5's learned one; shared runs across suites", () => {
    const fig5 = resolveAll(loadSuite('fig5:random-patch'), 'tiny');
    const lr = (id: string) => byId(fig5, id).config.optimizer.baseLr;
    close(lr('learned, lr 1.5e-4 (tiny: 4x lr)') / lr('learned, lr 1.5e-4'), 4, 'learned');
    close(lr('random, lr 1.5e-4 (tiny: 4x lr)') / lr('random, lr 1.5e-4'), 4, 'random');
    close(lr('learned, lr 1.5e-4 (tiny: 16x lr)') / lr('learned, lr 1.5e-4'), 16, 'learned 16x');
    close(lr('learned, lr 1.5e-4') / lr('learned, lr 1.0e-4'), 1.5, 'lr ratio');
    // at the paper preset the tiny-only cells are the lr 1.5e-4 runs
    const p5 = resolveAll(loadSuite('fig5:random-patch'), 'paper');
    assert.equal(byId(p5, 'learned, lr 1.5e-4 (tiny: 4x lr)').hash, byId(p5, 'learned, lr 1.5e-4').hash);
    const [fig4] = resolveAll(loadSuite('fig4:grad-spike'), 'tiny');
    assert.equal(fig4.config.backbone.randomPatchProj, false);
    assert.equal(fig4.runDir, byId(fig5, 'learned, lr 1.5e-4 (tiny: 4x lr)').runDir);
    const fig2 = resolveAll(loadSuite('fig2:lr'), 'tiny');
    const fig1 = resolveAll(loadSuite('fig1:batch-size'), 'tiny');
    assert.equal(byId(fig1, 'batch 4k').runDir, byId(fig2, 'lr 1.0e-4').runDir);
    assert.equal(byId(fig2, 'lr 1.0e-4').runDir, byId(fig5, 'learned, lr 1.0e-4').runDir);
    assert.equal(byId(fig2, 'lr 1.5e-4').runDir, byId(fig5, 'learned, lr 1.5e-4').runDir);
    // the ablations' default cell is Table 4's ViT-B MoCo v3 run
    const table4 = byId(resolveAll(loadSuite('table4'), 'tiny'), 'ViT-B / MoCo v3').runDir;
    for (const [name, id] of [
      ['ablation:pos-embed', 'sin-cos'],
      ['ablation:cls-token', 'w/ [CLS]'],
      ['ablation:bn-heads', 'heads w/ BN'],
      ['ablation:predictor', 'w/ pred. MLP'],
      ['ablation:momentum', 'm = 0.99'],
      ['ablation:train-length', 'ViT-B/16, 300-ep'],
      ['ablation:warmup', 'warmup 40 ep'],
    ]) {
      assert.equal(byId(resolveAll(loadSuite(name), 'tiny'), id).runDir, table4, `${name} / ${id}`);
    }
  });

  it('fig8: ViT, ViT-BN and /7 backbones at paper; a ladder of stand-ins in the same order at tiny', () => {
    const s = loadSuite('fig8:vit-bn');
    const paper = resolveAll(s, 'paper');
    assert.deepEqual(
      paper.map((c) => c.config.backbone.name),
      ['vit-b/16', 'vit-l/16', 'vit-h/14', 'vit-bn-b/16', 'vit-bn-l/16', 'vit-bn-h/14', 'vit-bn-b/7', 'vit-bn-l/7'],
    );
    const tiny = resolveAll(s, 'tiny');
    const macs = (c: ResolvedCell) => vitMacs(vitConfig(c.config.backbone.name, { imageSize: c.config.data.viewSize }));
    const at = (id: string) => macs(byId(tiny, id));
    assert.ok(at('ViT-B') < at('ViT-L') && at('ViT-L') < at('ViT-H'));
    assert.ok(at('ViT-BN-B') < at('ViT-BN-B/7') && at('ViT-BN-L') < at('ViT-BN-L/7'));
    for (const c of tiny)
      assert.equal(vitConfig(c.config.backbone.name, { imageSize: 28 }).mlpBatchNorm, c.cell.id.startsWith('ViT-BN'), c.cell.id);
    const table4 = resolveAll(loadSuite('table4'), 'tiny');
    assert.equal(byId(tiny, 'ViT-L').runDir, byId(table4, 'ViT-S / MoCo v3').runDir);
    assert.equal(byId(tiny, 'ViT-H').runDir, byId(table4, 'ViT-B / MoCo v3').runDir);
    assert.deepEqual(
      s.cells.filter((c) => c.paper).map((c) => [c.id, c.paper?.params_m]),
      [
        ['ViT-B', 86],
        ['ViT-L', 304],
        ['ViT-H', 632],
        ['ViT-BN-H', 632],
        ['ViT-BN-L/7', 304],
      ],
    );
  });

  it('tiny runtime proxy: each suite under 125k training images of vit-tiny/7 equivalents (~20 min on 2 cores)', () => {
    // vit-tiny/7 at 28 px trains ~100 source images/s on 2 cores (wasm); a smaller model is costed
    // by its multiply-adds, with a floor of a quarter for the per-op overhead of small tensors
    const ref = vitMacs(vitConfig('vit-tiny/7', { imageSize: 28 }));
    const budget = 125_000; // fig5:random-patch at tiny: eight cells
    for (const name of Object.keys(ABLATIONS)) {
      const cells = resolveAll(loadSuite(name), 'tiny');
      let images = 0;
      let iterations = 0;
      for (const c of cells) {
        const { optimizer: o, data: d, backbone: b } = c.config;
        const iters = Math.floor(d.trainCount! / o.batch) * o.epochs;
        const cost = Math.max(0.25, vitMacs(vitConfig(b.name, { ...b, imageSize: d.viewSize })) / ref);
        iterations += iters;
        images += iters * o.batch * cost;
      }
      assert.ok(
        images <= budget,
        `${name}: ${Math.round(images)} vit-tiny/7 image-equivalents (${iterations} iterations) at tiny > ${budget}`,
      );
      assert.ok(iterations <= 3000, `${name}: ${iterations} iterations`);
    }
  });
});
