/**
 * Runs a pre-training suite: resolves each cell's config (preset + overrides), validates and
 * hashes it, skips cells already finished, runs the rest with a progress line, and writes the
 * suite's table (Markdown, CSV, JSON) and its kNN / loss curves (SVG) under the results folder.
 */
import path from 'node:path';
import type { Suite, SuiteCell } from '../suites/schema.ts';
import { checkPretrainConfig } from '../suites/schema.ts';
import type { Registry } from '../container/container.ts';
import type { ResultTable } from '../report/table.ts';
import { writeTable, writeFileAtomic } from '../report/write.ts';
import { renderLinePlot } from '../report/svg-plot.ts';
import { Progress } from '../cli/progress.ts';
import { presetConfig } from '../recipes/presets.ts';
import { type PretrainConfig, configHash, deepMerge } from './config.ts';
import { resolveDataset } from './datasets.ts';
import { type PretrainResult, pretrain, readResult } from './pretrain.ts';

export interface SuiteRunOptions {
  preset: string;
  resultsDir: string;
  runsDir: string;
  registry: Registry;
  /** Extra overrides for every cell (e.g. --data PATH). */
  overrides?: unknown;
  log?: (line: string) => void;
  quiet?: boolean;
}

export interface ResolvedCell {
  cell: SuiteCell;
  config: PretrainConfig;
  hash: string;
  runDir: string;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

export function resolveCell(suite: Suite, cell: SuiteCell, o: Pick<SuiteRunOptions, 'preset' | 'runsDir' | 'overrides'>): ResolvedCell {
  let config = deepMerge(presetConfig(o.preset), cell.config);
  if (o.overrides) config = deepMerge(config, o.overrides);
  config = { ...config, data: resolveDataset(config.data) };
  const where = `suite ${suite.name}, cell '${cell.id}', preset ${o.preset}`;
  checkPretrainConfig(config, where);
  if (config.optimizer.warmupEpochs > config.optimizer.epochs) {
    throw new Error(`${where}: invalid config:\n  /optimizer/warmupEpochs: ${config.optimizer.warmupEpochs} exceeds /optimizer/epochs ${config.optimizer.epochs}`);
  }
  const hash = configHash(config);
  return { cell, config, hash, runDir: path.join(o.runsDir, suite.name, o.preset, `${slug(cell.id)}-${hash}`) };
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : 'n/a');

export function pretrainTable(suite: Suite, preset: string, cells: ResolvedCell[], results: PretrainResult[]): ResultTable {
  return {
    name: `${suite.name}-${preset}`,
    title: `${suite.title} — preset ${preset} (paper ${suite.reference})`,
    columns: [
      { key: 'cell', header: 'cell' },
      { key: 'backbone', header: 'backbone' },
      { key: 'data', header: 'data' },
      { key: 'epochs', header: 'epochs', numeric: true },
      { key: 'iters', header: 'iters', numeric: true },
      { key: 'knn_init', header: 'kNN random init (%)', numeric: true },
      { key: 'knn', header: 'kNN pre-trained (%)', numeric: true },
      { key: 'knn_monitor', header: 'kNN monitor, last (%)', numeric: true },
      { key: 'loss', header: 'loss, last', numeric: true },
      { key: 'ips', header: 'images/s', numeric: true },
      { key: 'paper', header: 'paper (linear %, full recipe)', numeric: true },
      { key: 'flags', header: 'flags' },
    ],
    rows: results.map((r, i) => ({
      cell: cells[i].cell.id,
      backbone: r.config.backbone.name,
      data: `${r.config.data.dataset} ${r.trainImages}`,
      epochs: r.epochs,
      iters: r.iterations,
      knn_init: pct(r.final.knnRandomInit),
      knn: pct(r.final.knn),
      knn_monitor: pct(r.final.knnMonitor),
      loss: r.final.loss.toFixed(3),
      ips: r.imagesPerSec.toFixed(1),
      paper: cells[i].cell.paper?.linear_acc,
      flags: r.flags.diverged ? 'diverged' : '',
    })),
    notes: [
      `kNN: k ${results[0]?.config.knn.k}, weights exp(s/${results[0]?.config.knn.temperature}), frozen [CLS] features of the training set vs the held-out set; random init = the same backbone before pre-training.`,
      'The paper column is the full recipe (ImageNet, 300 epochs, linear probe); at a small preset it is a reference, not a target.',
      ...(suite.notes ?? []),
      `backend: ${results[0]?.backend.name ?? '?'}; images/s = source images per second of pre-training (two views each).`,
    ],
  };
}

export async function runPretrainSuite(suite: Suite, o: SuiteRunOptions): Promise<{ table: ResultTable; results: PretrainResult[]; files: string[] }> {
  const log = o.log ?? ((l: string) => console.error(l));
  const cells = suite.cells.map((cell) => resolveCell(suite, cell, o));
  const results: PretrainResult[] = [];
  for (const rc of cells) {
    const cached = readResult(rc.runDir);
    if (cached) {
      log(`[${suite.name}/${o.preset}] ${rc.cell.id}: finished earlier (${rc.runDir}), skipped`);
      results.push(cached);
      continue;
    }
    log(`[${suite.name}/${o.preset}] ${rc.cell.id}: ${rc.config.backbone.name} on ${rc.config.data.dataset}, config ${rc.hash} -> ${rc.runDir}`);
    let bar: Progress | undefined;
    const r = await pretrain(rc.config, {
      runDir: rc.runDir,
      registry: o.registry,
      onProgress: o.quiet
        ? undefined
        : (p) => {
            bar ??= new Progress({ total: p.totalIters, label: `${suite.name} ${o.preset} ${rc.cell.id}`, startAt: p.startIter });
            bar.update(p.iter, { loss: p.loss, lr: p.lr, ...(p.knn === undefined ? {} : { knn: `${pct(p.knn)}%` }) });
          },
    });
    bar?.done();
    results.push(r);
  }
  const table = pretrainTable(suite, o.preset, cells, results);
  const files = writeTable(o.resultsDir, table, {
    suite: suite.name,
    preset: o.preset,
    cells: results.map((r, i) => ({ id: cells[i].cell.id, ...r, runDir: path.relative(process.cwd(), cells[i].runDir), weights: path.relative(process.cwd(), r.weights) })),
  });
  const knnSvg = path.join(o.resultsDir, `${table.name}-knn.svg`);
  writeFileAtomic(
    knnSvg,
    renderLinePlot(
      results.map((r, i) => ({ label: cells[i].cell.id, points: r.curves.knn.map((p) => [p.epoch, 100 * p.value] as [number, number]) })),
      { title: `${suite.title}: kNN monitor (${o.preset})`, xLabel: 'epoch', yLabel: 'kNN accuracy (%)' },
    ),
  );
  const lossSvg = path.join(o.resultsDir, `${table.name}-loss.svg`);
  writeFileAtomic(
    lossSvg,
    renderLinePlot(
      results.map((r, i) => ({ label: cells[i].cell.id, points: r.curves.loss.map((p) => [p.epoch, p.value] as [number, number]) })),
      { title: `${suite.title}: training loss (${o.preset})`, xLabel: 'epoch', yLabel: 'loss' },
    ),
  );
  return { table, results, files: [...files, knnSvg, lossSvg] };
}
