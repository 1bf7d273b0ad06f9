/**
 * `bench report` and its pieces: figures (one line per cell, final accuracies in the legend,
 * instability markers), the standalone HTML page (balanced tags, escaped text, inline SVG), and
 * re-rendering from stored results (identical bytes run after run and to what `bench run` wrote)
 * for pre-training (list and matrix + scatter), evaluation and counting suites.
 */
import { layoutPlot, renderLinePlot, titleLines } from '../report/svg-plot.ts';
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from '../container/container.ts';
import { loadSuite } from '../kinds/index.ts';
import type { Suite } from '../suites/schema.ts';
import { presetConfig } from '../recipes/presets.ts';
import { builtinRegistry } from '../container/container.ts';
import { type FigureCell, gradFigures, knnFigure, cellEvents } from '../report/figures.ts';
import { inlineSvg } from '../report/html.ts';
import { rerenderSuite } from '../kinds/index.ts';
import { runPretrainSuite } from '../runner/pretrain-suite.ts';
import { linearTable, transferTable, writeEvalOutputs } from '../report/eval-tables.ts';
import type { EvalCellResult } from '../report/suite-results.ts';
import { flopsTable, writeCountOutputs } from '../report/count-tables.ts';
import { detectInstability } from '../evaluators/instability.ts';
import { useBackend } from './helpers/backend.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-report-'));
const registry = new Registry();

/** Every file under `dir`, name -> bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  return new Map(
    fs
      .readdirSync(dir)
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(dir, f))]),
  );
}

function assertSameFiles(a: Map<string, Buffer>, b: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...b.keys()], [...a.keys()], `${what}: same files`);
  for (const [f, bytes] of a) assert.ok(bytes.equals(b.get(f)!), `${what}: ${f} differs`);
}

const VOID = new Set(['meta', 'br', 'path', 'line', 'rect', 'circle', 'polyline']);

/** Tags balance (void elements self-closed), attributes quoted, no raw < or bare & in text. */
function checkHtml(html: string): void {
  assert.ok(html.startsWith('<!DOCTYPE html>\n'), 'doctype');
  assert.ok(!html.includes('<?xml'), 'no XML declaration inline');
  const body = html.slice('<!DOCTYPE html>'.length);
  const stack: string[] = [];
  const bareAmp = /&(?!(?:amp|lt|gt|quot|apos|#\d+);)/;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const text = body.slice(i, lt < 0 ? body.length : lt);
    assert.ok(!text.includes('>'), `stray > in text: ${text.slice(0, 60)}`);
    assert.ok(!bareAmp.test(text), `bare & in text: ${text.slice(0, 60)}`);
    if (lt < 0) break;
    const gt = body.indexOf('>', lt);
    assert.ok(gt > 0, 'unclosed tag');
    const tag = body.slice(lt + 1, gt);
    assert.ok(!tag.includes('<'), `< inside a tag: ${tag}`);
    if (tag.startsWith('/')) assert.equal(stack.pop(), tag.slice(1), `</${tag.slice(1)}> closes the wrong element`);
    else {
      const m = /^([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)$/.exec(tag);
      assert.ok(m, `malformed tag <${tag}>`);
      for (const a of m[2].matchAll(/="([^"]*)"/g))
        assert.ok(!bareAmp.test(a[1]) && !a[1].includes('<'), `unescaped attribute in <${tag}>`);
      if (!m[3]) {
        assert.ok(!VOID.has(m[1]) || m[1] === 'path', `void <${m[1]}> not self-closed`);
        stack.push(m[1]);
      }
    }
    i = gt + 1;
  }
  assert.deepEqual(stack, [], 'every element closed');
}

const curve = (n: number, f: (i: number) => number | null, perEpoch = 10) =>
  Array.from({ length: n }, (_, i) => ({ iter: i, epoch: i / perEpoch, value: f(i) }));

/** A stored pre-training cell (the JSON `bench run` writes) with synthetic curves. */
function storedCell(id: string, o: { knn: (i: number) => number; grad?: boolean; diverged?: number }) {
  const config = presetConfig('smoke', builtinRegistry().frameworks);
  const iters = o.diverged ?? 200;
  const knn = curve(20, (i) => o.knn(i * 10)).map((p) => ({ ...p, iter: p.iter * 10, epoch: p.iter }));
  const grad = o.grad
    ? {
        'first: blocks.0.attn.qkv.weight (patch projection frozen)': curve(iters, (i) => (i === 120 ? 9 : 1 + 0.01 * (i % 3))),
        'last: blocks.1.mlp.fc2.weight': curve(iters, (i) => (i === 135 ? 8 : 0.5 + 0.01 * (i % 2))),
      }
    : undefined;
  const curves = {
    loss: curve(iters, (i) => (o.diverged && i === iters - 1 ? null : 5 - i / 100)),
    knn,
    lr: curve(iters, () => 1e-3),
    ...(grad ? { grad } : {}),
  };
  return {
    id,
    hash: 'abc123',
    config,
    backend: { name: 'cpu', gpu: false, versions: {} },
    iterations: iters,
    epochs: 20,
    trainImages: 256,
    wallSeconds: 10,
    imagesPerSec: 51.2,
    final: { loss: o.diverged ? null : 3, knnMonitor: knn.at(-1)!.value, knn: o.diverged ? null : 0.717, knnRandomInit: 0.3 },
    curves,
    flags: o.diverged ? { diverged: true, divergedAt: iters - 1 } : { diverged: false },
    weights: 'runs/x/backbone.safetensors',
    finishedAt: '2025-01-01T00:00:00.000Z',
    ...(grad ? { instability: JSON.parse(JSON.stringify(detectInstability(curves))) } : {}),
    runDir: 'runs/x',
  };
}

const SPECIAL = 'lr 1.5e-4 <b>&"x"';
const listSuite: Suite = {
  name: 'syn',
  title: 'Synthetic <suite> & co',
  reference: 'Fig. 4',
  kind: 'pretrain',
  notes: ['a note with <tags> & ampersands'],
  cells: [
    { id: SPECIAL, config: {}, paper: { linear_acc: 71.7 } },
    { id: 'stable', config: {} },
    { id: 'diverged', config: {}, paper: { linear_acc: 70 } },
  ],
};

function writeStore(dir: string, file: string, data: unknown): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, file), `${JSON.stringify(data, null, 2)}\n`);
}

describe('figures', () => {
  const dip = {
    peak: 30,
    peakValue: 0.68,
    start: 40,
    end: 50,
    bottom: 50,
    bottomValue: 0.6,
    depth: 0.08,
    drop: 0.08,
    recovered: true,
    recoveredAt: 70,
  };
  const cells: FigureCell[] = [
    { id: 'lr 1.5e-4', paper: 71.7, result: { ...storedCell('a', { knn: () => 0.717 }), probe: { top1: 0.734 } } },
    { id: 'lr 3e-4', result: storedCell('b', { knn: (i) => 0.5 + i / 1000 }) },
    // a dip as the detector reports it (core/instability.ts' InstabilitySummary)
    {
      id: 'dippy',
      result: { ...storedCell('c', { knn: (_i) => 0.6 }), instability: { ...detectInstability({}), unstable: true, dips: [dip] } },
    },
  ];

  it("kNN figure: one line per cell, the legend gives each final accuracy beside the paper's, dips marked", () => {
    const f = knnFigure({ name: 'x-tiny', title: 'X', preset: 'tiny' }, cells);
    assert.equal(f.file, 'x-tiny-knn.svg');
    assert.equal((f.svg.match(/<g class="series"/g) ?? []).length, 3);
    assert.match(f.svg, />lr 1\.5e-4: linear 73\.4%, kNN 71\.7% \(paper 71\.7\)</);
    assert.match(f.svg, />lr 3e-4: kNN 71\.7%</, 'a cell without a probe shows its kNN only');
    assert.equal((f.svg.match(/data-kind="accuracy dip"/g) ?? []).length, 1);
    assert.match(
      f.svg,
      /dippy: dip from iter 40 to 50, 8\.0 points under its trend \(bottom 8\.0 pts below the 68\.0% at iter 30\), recovered at iter 70/,
    );
    // a dip on a steep rise can bottom above the top before it: said so, with no double minus
    const stall = knnFigure({ name: 'x', title: 'X', preset: 'tiny' }, [
      { ...cells[2], result: { ...cells[2].result, instability: { ...cells[2].result.instability!, dips: [{ ...dip, depth: -0.012 }] } } },
    ]);
    assert.match(stall.svg, /\(bottom 1\.2 pts above the 68\.0% at iter 30\)/);
    assert.doesNotMatch(stall.svg, /--/);
    assert.match(f.svg, />accuracy dip</, 'the marker kind has a legend entry');
    assert.equal(knnFigure({ name: 'x', title: 'X', preset: 'tiny' }, cells).svg, f.svg, 'deterministic');
    const plain = knnFigure({ name: 'x', title: 'X', preset: 'tiny' }, cells.slice(0, 2));
    assert.ok(!plain.svg.includes('class="markers"') && !plain.caption.includes('Triangles'), 'no markers without events');
    // the random-init baseline: one dashed line per distinct value, naming the cells when they differ
    const base = (c: FigureCell, v: number): FigureCell => ({
      ...c,
      result: { ...c.result, final: { ...c.result.final, knnMonitorRandomInit: v } },
    });
    // the full-set floor is another protocol than the monitor's: no line from it
    const other = knnFigure({ name: 'x', title: 'X', preset: 'tiny' }, [
      { ...cells[0], result: { ...cells[0].result, final: { ...cells[0].result.final, knnRandomInit: 0.2 } } },
    ]);
    const hLineCount = (svg: string) => (svg.match(/<line [^>]*stroke="#777777" stroke-width="1" stroke-dasharray="4 4"\/>/g) ?? []).length;
    assert.equal(hLineCount(other.svg), 0);
    assert.ok(!other.svg.includes('class="hlines"'));
    assert.match(other.caption, /floor was not measured for these runs/);
    const same = knnFigure({ name: 'x', title: 'X', preset: 'tiny' }, [base(cells[0], 0.2), base(cells[1], 0.2)]);
    assert.equal(hLineCount(same.svg), 1);
    assert.match(same.svg, />random init 20\.0%</);
    assert.match(same.caption, /random init/);
    const two = knnFigure({ name: 'x', title: 'X', preset: 'tiny' }, [base(cells[0], 0.2), base(cells[1], 0.25)]);
    assert.match(two.svg, />random init 20\.0% \(lr 1\.5e-4\)</);
    assert.match(two.svg, />random init 25\.0% \(lr 3e-4\)</);
  });

  it('a long plot title wraps onto lines that fit the width (none is clipped)', () => {
    const title = 'Fig. 6: frameworks with random patch projection (ViT-B/16, batch 4096, 100 epochs): kNN accuracy (tiny)';
    const lines = titleLines(title, 640);
    assert.ok(lines.length >= 2);
    assert.equal(lines.join(' '), title);
    assert.ok(
      lines.every((l) => l.length * 8.6 <= 640 - 24),
      lines.join(' | '),
    );
    const svg = renderLinePlot(
      [
        {
          label: 'a',
          points: [
            [0, 1],
            [1, 2],
          ],
        },
      ],
      { title, xLabel: 'x', yLabel: 'y' },
    );
    assert.equal((svg.match(/<tspan /g) ?? []).length, lines.length);
    const short = renderLinePlot(
      [
        {
          label: 'a',
          points: [
            [0, 1],
            [1, 2],
          ],
        },
      ],
      { title: 'short', xLabel: 'x', yLabel: 'y' },
    );
    assert.ok(
      layoutPlot([], { title, xLabel: 'x', yLabel: 'y' }).plot.top > layoutPlot([], { title: 'short', xLabel: 'x', yLabel: 'y' }).plot.top,
    );
    assert.equal((short.match(/<tspan /g) ?? []).length, 1);
  });

  it('gradient figure (Fig. 4) per cell with gradient curves: one line per layer, spikes marked; none without', () => {
    const withGrad: FigureCell = { id: 'g', result: storedCell('g', { knn: () => 0.5, grad: true }) };
    const figs = gradFigures({ name: 'x-tiny', title: 'X', preset: 'tiny' }, [...cells, withGrad]);
    assert.equal(figs.length, 1);
    assert.equal(figs[0].file, 'x-tiny-grad-g.svg');
    assert.equal((figs[0].svg.match(/<g class="series"/g) ?? []).length, 2);
    assert.equal((figs[0].svg.match(/data-kind="gradient spike"/g) ?? []).length, 2);
    assert.match(figs[0].svg, /spike at iter 120/);
    assert.equal(gradFigures({ name: 'x', title: 'X', preset: 'tiny' }, cells).length, 0);
    assert.equal(cellEvents(cells[0]), undefined, 'no events, no entry');
    assert.deepEqual(cellEvents(cells[2])?.instability?.dips, [dip]);
  });
});

describe('bench report', () => {
  before(async () => useBackend('wasm'));

  it(
    'a synthetic store with gradient curves and instability events: same bytes twice, a well-formed page with every cell, ' +
      'figure and event',
    () => {
      const dir = path.join(tmp, 'syn');
      writeStore(dir, 'syn-tiny.json', {
        suite: 'syn',
        preset: 'tiny',
        cells: [
          storedCell(SPECIAL, { knn: (i) => (i >= 60 && i < 90 ? 0.3 : 0.7), grad: true }),
          storedCell('stable', { knn: () => 0.6 }),
          storedCell('diverged', { knn: () => 0.2, diverged: 50 }),
        ],
      });
      const first = rerenderSuite(listSuite, { preset: 'tiny', resultsDir: dir, registry });
      const a = snapshot(dir);
      rerenderSuite(listSuite, { preset: 'tiny', resultsDir: dir, registry });
      assertSameFiles(a, snapshot(dir), 'second report');
      const grad = [...a.keys()].filter((f) => f.includes('-grad-'));
      assert.deepEqual(grad, ['syn-tiny-grad-lr-1-5e-4-b-x.svg']);
      const html = first.html;
      assert.equal(html, a.get('syn-tiny.html')!.toString());
      checkHtml(html);
      assert.ok(html.includes('lr 1.5e-4 &lt;b&gt;&amp;&quot;x&quot;') && !html.includes('<b>&'), 'cell id escaped');
      assert.ok(html.includes('a note with &lt;tags&gt; &amp; ampersands'));
      for (const id of ['stable', 'diverged']) assert.ok(html.includes(`<td>${id}</td>`), id);
      for (const f of [...a.keys()].filter((x) => x.endsWith('.svg')))
        assert.ok(html.includes(inlineSvg(a.get(f)!.toString())), `${f} inline`);
      const events = html.slice(html.indexOf('<h2>Instability events</h2>'));
      assert.match(events, /2 of 3 cells flagged/);
      assert.match(events, /<h3>diverged<\/h3>\n<p>Diverged at iteration 50: the loss became non-finite/);
      assert.match(
        events,
        /<td class="num">60<\/td><td class="num">60<\/td><td class="num">\d+\.\d points<\/td><td>40\.0 pts below the [\d.]+% at iter \d+<\/td><td>yes<\/td><td class="num">90<\/td>/,
        'the dip: start, bottom, fall under its trend, against the top before, recovery',
      );
      assert.match(events, /first: blocks\.0\.attn\.qkv\.weight \(patch projection frozen\): iter 120/);
      assert.match(events, /First layer leads: in 1 of 1 spike pairs the first layer spiked first/);
      assert.match(a.get('syn-tiny-knn.svg')!.toString(), /data-kind="accuracy dip"/);
      assert.match(a.get('syn-tiny-knn.svg')!.toString(), />diverged: diverged at iter 50 \(paper 70\.0\)</);
    },
  );

  it('a matrix suite: the matrix and per-cell tables, the Fig. 7 scatter, from the -cells store', () => {
    const suite: Suite = {
      name: 'mx',
      title: 'Matrix',
      reference: 'Table 4',
      kind: 'pretrain',
      layout: 'matrix',
      scatter: { name: 'fig7', title: 'Fig. 7', x: 'R', y: 'V' },
      cells: ['R', 'V'].flatMap((row) =>
        ['A', 'B'].map((column) => ({ id: `${row} / ${column}`, row, column, config: {}, paper: { linear_acc: 70 } })),
      ),
    };
    const dir = path.join(tmp, 'mx');
    writeStore(dir, 'mx-tiny.json', { suite: 'mx', preset: 'tiny', table: {} });
    writeStore(dir, 'mx-tiny-cells.json', {
      suite: 'mx',
      preset: 'tiny',
      cells: suite.cells.map((c, i) => storedCell(c.id, { knn: () => 0.5 + i / 100 })),
    });
    const r = rerenderSuite(suite, { resultsDir: dir, registry });
    const a = snapshot(dir);
    assert.deepEqual(
      [...a.keys()],
      [
        'fig7-tiny.svg',
        'mx-tiny-cells.csv',
        'mx-tiny-cells.json',
        'mx-tiny-cells.md',
        'mx-tiny-knn.svg',
        'mx-tiny-loss.svg',
        'mx-tiny.csv',
        'mx-tiny.html',
        'mx-tiny.json',
        'mx-tiny.md',
      ],
    );
    assert.deepEqual(
      r.table.rows.map((x) => x.row),
      ['R', 'V'],
    );
    checkHtml(r.html);
    assert.match(r.html, /<h2>Per-cell details<\/h2>/);
    assert.ok(r.html.includes(inlineSvg(a.get('fig7-tiny.svg')!.toString())));
    rerenderSuite(suite, { resultsDir: dir, registry });
    assertSameFiles(a, snapshot(dir), 'second report');
  });

  it('evaluation and counting suites re-render to the bytes their runners wrote', () => {
    const dir = path.join(tmp, 'eval');
    for (const name of ['table1', 'table5']) {
      const suite = loadSuite(name);
      const results: EvalCellResult[] = suite.cells.map((c, i) =>
        c.reference
          ? { id: c.id, status: 'reference' }
          : i % 2
            ? { id: c.id, status: 'skipped', reason: 'no stand-in' }
            : { id: c.id, status: 'measured', top1: 0.5 + i / 100, backbone: 'vit-tiny/7', init: 'pretrained', pretrainKnn: 0.4 },
      );
      writeEvalOutputs(suite, 'tiny', dir, results, name === 'table5' ? transferTable : linearTable);
    }
    writeCountOutputs(loadSuite('table3'), registry, dir, flopsTable);
    const ran = snapshot(dir);
    for (const name of ['table1', 'table5', 'table3']) {
      const r = rerenderSuite(loadSuite(name), { resultsDir: dir, registry });
      checkHtml(r.html);
    }
    assertSameFiles(ran, snapshot(dir), 'report after run');
  });

  it('no stored results: an error naming the file and the command to run', () => {
    const dir = path.join(tmp, 'empty');
    assert.throws(
      () => rerenderSuite(loadSuite('mocov3'), { preset: 'smoke', resultsDir: dir, registry }),
      (e: Error) =>
        e.message.includes(path.join(dir, 'mocov3-smoke.json')) && e.message.includes('run `bench run mocov3 --preset smoke` first'),
    );
    assert.throws(
      () => rerenderSuite(loadSuite('table2'), { resultsDir: dir, registry }),
      /table2\.json does not exist; run `bench run table2` first/,
    );
    const mx = path.join(tmp, 'mx-only');
    writeStore(mx, 'table4-tiny.json', { suite: 'table4', preset: 'tiny', table: {} });
    assert.throws(() => rerenderSuite(loadSuite('table4'), { resultsDir: mx, registry }), /table4-tiny-cells\.json does not exist/);
  });

  it('a real smoke run: report writes what `bench run` wrote, byte for byte; the CLI prints the table in each format', async () => {
    const dir = path.join(tmp, 'smoke-res');
    const suite = loadSuite('smoke');
    await runPretrainSuite(suite, {
      preset: 'smoke',
      resultsDir: dir,
      runsDir: path.join(tmp, 'smoke-runs'),
      registry,
      quiet: true,
      log: () => {},
      overrides: {
        data: { trainCount: 128, testCount: 64 },
        optimizer: { batch: 16, epochs: 2, warmupEpochs: 1 },
        monitor: { every: 4, queries: 64 },
        checkpointEvery: 16,
      },
    });
    const ran = snapshot(dir);
    assert.ok(ran.has('smoke-smoke.html') && ran.has('smoke-smoke-knn.svg'));
    checkHtml(ran.get('smoke-smoke.html')!.toString());
    rerenderSuite(suite, { preset: 'smoke', resultsDir: dir, registry });
    assertSameFiles(ran, snapshot(dir), 'report after run');
    const bench = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(root, 'bin/bench.mjs'), 'report', 'smoke', '--results', dir, ...args], { encoding: 'utf8' });
    const csv = bench('--format', 'csv');
    assert.equal(csv.status, 0, csv.stderr);
    assert.equal(csv.stdout, ran.get('smoke-smoke.csv')!.toString());
    assert.match(csv.stderr, /wrote .*smoke-smoke\.html/);
    assertSameFiles(ran, snapshot(dir), 'CLI report after run');
    const missing = bench('--preset', 'tiny');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /smoke-tiny\.json does not exist; run `bench run smoke --preset tiny` first/);
  });
});

describe('robust y ranges', () => {
  it('an outlier sets no axis: the top is 1.2 x the 99th percentile when the maximum is over 1.5 x it', async () => {
    const { robustTop } = await import('../report/figures.ts');
    const flat = Array.from({ length: 200 }, (_, i) => 4 - i / 100);
    assert.equal(robustTop(flat), undefined, 'no outlier: the full range');
    const spiked = [...flat, 15];
    const p99 = [...spiked].sort((a, b) => a - b)[Math.floor(0.99 * (spiked.length - 1))];
    assert.equal(robustTop(spiked), 1.2 * p99);
    assert.equal(robustTop([1, 2, 100]), undefined, 'too few points to call one an outlier');
  });
});

describe('matrix figures', () => {
  it('12 cells of 3 rows x 4 columns: one colour per column, one dash per row, no two lines alike', async () => {
    const { knnFigure } = await import('../report/figures.ts');
    const cells = [];
    for (const row of ['R-50', 'ViT-S', 'ViT-B'])
      for (const column of ['MoCo v3', 'SimCLR', 'BYOL', 'SwAV'])
        cells.push({
          id: `${row} / ${column}`,
          row,
          column,
          result: {
            final: { knn: 0.5 },
            flags: { diverged: false },
            curves: {
              loss: [],
              knn: [
                { iter: 0, epoch: 0, value: 0.4 },
                { iter: 10, epoch: 1, value: 0.5 },
              ],
            },
          },
        });
    const f = knnFigure({ name: 'm', title: 'M', preset: 'tiny' }, cells);
    const styles = [
      ...f.svg.matchAll(/<g class="series" data-label="[^"]*" stroke="(#[0-9A-Fa-f]{6})"( stroke-dasharray="([^"]+)")?>/g),
    ].map((m) => `${m[1]} ${m[3] ?? 'solid'}`);
    assert.equal(styles.length, 12);
    assert.equal(new Set(styles).size, 12, styles.join(', '));
    assert.equal(new Set(styles.map((s) => s.split(' ')[0])).size, 4, 'four colours, one per framework');
    assert.match(f.caption, /Colour: the column/);
  });
});
