/**
 * Runs a pre-training suite: resolves each cell's config (preset + overrides), validates and
 * hashes it, skips cells already finished, runs the rest with a progress line, and writes the
 * suite's table (Markdown, CSV, JSON), its curves (SVG) and its HTML page under the results folder.
 * Unstable cells (kNN dips, gradient spikes: runner/instability-notes.ts) are flagged, and their
 * events listed in the table notes.
 */
import path from 'node:path';
import type { Suite, SuiteCell } from '../suites/schema.ts';
import { resultBaseName } from '../suites/schema.ts';
import { checkPretrainConfig } from '../suites/schema.ts';
import { type Registry, builtinRegistry } from '../container/container.ts';
import type { ResultTable } from '../report/table.ts';
import { type ScatterPoint, renderScatterPlot } from '../report/svg-scatter.ts';
import { cellEvents, pretrainFigures } from '../report/figures.ts';
import { writeSuiteOutputs } from '../report/suite-outputs.ts';
import { Progress } from '../core/progress.ts';
import { scaleConfig } from '../recipes/presets.ts';
import { DEFAULT_RECIPE, recipe } from '../recipes/recipes.ts';
import { type PretrainConfig, configHash, deepMerge } from '../core/config.ts';
import { resolveDataset } from './datasets.ts';
import type { PretrainResult } from '../core/results.ts';
import { pretrain, readResult } from './pretrain.ts';
import { UNSTABLE_MARK, instabilityFlag, instabilityNotes, instabilityOf } from './instability-notes.ts';
import { type CellProbe, probeCell } from './cell-probe.ts';
import { derivedNotes, formatPaper, paperNumber, paperValue } from '../suites/paper-values.ts';
import { describeProbe } from '../recipes/evaluation.ts';

export interface SuiteRunOptions {
  preset: string;
  resultsDir: string;
  runsDir: string;
  registry: Registry;
  /** Extra overrides for every cell (e.g. --data PATH). */
  overrides?: unknown;
  /** Transfer suites: folder holding the target data sets in their official layouts (--data-root). */
  dataRoot?: string;
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

/**
 * A cell's config: its recipe, with the cell's paper-scale choices, scaled to the preset; then the
 * suite's and the cell's overrides for that preset, then the command line's.
 */
export function resolveCell(suite: Suite, cell: SuiteCell, o: Pick<SuiteRunOptions, 'preset' | 'runsDir' | 'overrides'> & { registry?: Registry }): ResolvedCell {
  const reg = o.registry ?? builtinRegistry();
  const base = recipe(cell.recipe ?? suite.recipe ?? DEFAULT_RECIPE).config;
  // a cell naming another framework than its recipe's (e.g. a plugin's) starts from that framework's
  // defaults: the recipe's framework fields belong to the recipe's framework
  const fwName = (cell.config.framework as { name?: string } | undefined)?.name;
  let config = deepMerge(fwName && fwName !== base.framework.name ? { ...base, framework: { name: fwName } } : base, cell.config);
  const named = (over: Record<string, unknown> | undefined) => (over?.backbone as { name?: string } | undefined)?.name;
  config = scaleConfig(o.preset, config, reg.frameworks, { backbone: named(cell.scaled?.[o.preset]) ?? named(suite.scale?.[o.preset]) });
  config = deepMerge(config, suite.scale?.[o.preset]);
  // an evaluation suite's cell may also scale its evaluation (`probe`, `transfer`): not pre-training fields
  const { probe: _probe, transfer: _transfer, ...scaledPretrain } = cell.scaled?.[o.preset] ?? {};
  config = deepMerge(config, scaledPretrain);
  if (o.overrides) config = deepMerge(config, o.overrides);
  config = { ...config, data: resolveDataset(config.data) };
  const where = `suite ${suite.name}, cell '${cell.id}', preset ${o.preset}`;
  checkPretrainConfig(config, where, (n) => ({ framework: reg.frameworks.get(n.framework), optimizer: reg.optimizers.get(n.optimizer) }));
  if (config.optimizer.warmupEpochs > config.optimizer.epochs) {
    throw new Error(`${where}: invalid config:\n  /optimizer/warmupEpochs: ${config.optimizer.warmupEpochs} exceeds /optimizer/epochs ${config.optimizer.epochs}`);
  }
  const hash = configHash(config);
  // named by the config alone, so that suites sharing a cell (Table 4 and Fig. 7) share its run
  return { cell, config, hash, runDir: path.join(o.runsDir, o.preset, `${config.framework.name}-${slug(config.backbone.name)}-${hash}`) };
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : 'n/a');
const divergedFlag = (r: PretrainResult) => (r.flags.diverged ? `diverged at iter ${(r.flags.divergedAt ?? 0) + 1}` : '');

/** A pre-training cell's result with its linear probe (absent for a diverged cell). */
export type ProbedResult = PretrainResult & { probe?: CellProbe };

/** The measured value of a cell: its linear probe top-1 (%), or why there is none. */
function probeText(r: ProbedResult): string {
  if (r.flags.diverged) return `NaN (${divergedFlag(r)})`;
  return r.probe ? pct(r.probe.top1) : 'n/a';
}

/** What the measured columns are, for a table's notes. */
function measuredNotes(preset: string, results: ProbedResult[]): string[] {
  const probed = results.find((r) => r.probe);
  const r0 = results[0];
  return [
    `measured: the ${probed ? describeProbe(probed.probe!.config) : 'linear probe'}, on the cell's ${r0?.config.data.dataset} training / held-out images; kNN beside it: weighted kNN (k ${r0?.config.knn.k}, T ${r0?.config.knn.temperature}) of the same frozen features. Paper: ImageNet linear probe of the full recipe${preset === 'paper' ? '' : ' (at a small preset a reference, not a target)'}.`,
  ];
}

/**
 * A matrix suite's table (Table 4): one row per row label, and for each column label the measured
 * linear-probe accuracy, the kNN accuracy and the paper's number.
 */
export function matrixTable(suite: Suite, preset: string, cells: ResolvedCell[], results: ProbedResult[]): ResultTable {
  const rowLabels = [...new Set(cells.map((c) => c.cell.row!))];
  const colLabels = [...new Set(cells.map((c) => c.cell.column!))];
  const key = (c: string) => slug(c);
  const rows = rowLabels.map((rl) => {
    const row: Record<string, string | number | undefined> = { row: rl };
    for (const cl of colLabels) {
      const i = cells.findIndex((c) => c.cell.row === rl && c.cell.column === cl);
      if (i < 0) continue;
      const r = results[i];
      const mark = instabilityOf(r)?.unstable ? UNSTABLE_MARK : '';
      row[key(cl)] = r.flags.diverged ? probeText(r) : `${probeText(r)}${mark}`;
      row[`${key(cl)}_knn`] = r.flags.diverged ? 'NaN' : pct(r.final.knn);
      row[`${key(cl)}_paper`] = formatPaper(paperValue(cells[i].cell, 'linear_acc'));
    }
    const first = cells.find((c) => c.cell.row === rl)!;
    row.backbone = first.config.backbone.name;
    return row;
  });
  return {
    name: resultBaseName(suite.name, preset),
    title: `${suite.title} — preset ${preset} (paper ${suite.reference})`,
    columns: [
      { key: 'row', header: 'model' },
      { key: 'backbone', header: preset === 'paper' ? 'backbone' : 'stand-in' },
      ...colLabels.flatMap((cl) => [
        { key: key(cl), header: `${cl} linear (%)`, numeric: true },
        { key: `${key(cl)}_knn`, header: `${cl} kNN (%)`, numeric: true },
        { key: `${key(cl)}_paper`, header: `${cl} paper (linear %)`, numeric: true },
      ]),
    ],
    rows,
    notes: [
      ...measuredNotes(preset, results),
      ...(suite.notes ?? []),
      ...derivedNotes(cells.map((c) => c.cell), 'linear_acc'),
      `per-cell details (data, iterations, monitor, loss, images/s): ${resultBaseName(suite.name, preset)}-cells.md; backend: ${results[0]?.backend.name ?? '?'}.`,
      ...instabilityNotes(cells.map((c) => c.cell.id), results, true),
    ],
  };
}

/** The suite's scatter (Fig. 7): per column, the row-x value against the row-y value, measured and paper. */
export function scatterPoints(suite: Suite, cells: ResolvedCell[], results: ProbedResult[]): ScatterPoint[] {
  const sc = suite.scatter!;
  const cols = [...new Set(cells.map((c) => c.cell.column!))];
  const at = (row: string, col: string) => cells.findIndex((c) => c.cell.row === row && c.cell.column === col);
  const out: ScatterPoint[] = [];
  for (const col of cols) {
    const ix = at(sc.x, col), iy = at(sc.y, col);
    if (ix < 0 || iy < 0) continue;
    const m = (i: number) => (results[i].flags.diverged || !results[i].probe ? Number.NaN : 100 * results[i].probe!.top1);
    out.push({ label: col, group: 'measured (linear)', x: m(ix), y: m(iy) });
    const px = paperNumber(cells[ix].cell, 'linear_acc'), py = paperNumber(cells[iy].cell, 'linear_acc');
    if (typeof px === 'number' && typeof py === 'number') out.push({ label: col, group: 'paper (linear)', x: px, y: py });
  }
  return out;
}

export function pretrainTable(suite: Suite, preset: string, cells: ResolvedCell[], results: ProbedResult[]): ResultTable {
  return {
    name: resultBaseName(suite.name, preset),
    title: `${suite.title} — preset ${preset} (paper ${suite.reference})`,
    columns: [
      { key: 'cell', header: 'cell' },
      { key: 'backbone', header: 'backbone' },
      { key: 'data', header: 'data' },
      { key: 'epochs', header: 'epochs', numeric: true },
      { key: 'iters', header: 'iters', numeric: true },
      { key: 'linear', header: 'linear probe (%)', numeric: true },
      { key: 'knn', header: 'kNN (%)', numeric: true },
      { key: 'knn_init', header: 'kNN random init (%)', numeric: true },
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
      linear: probeText(r),
      knn: pct(r.final.knn),
      knn_init: pct(r.final.knnRandomInit),
      knn_monitor: pct(r.final.knnMonitor),
      loss: r.final.loss.toFixed(3),
      ips: r.imagesPerSec.toFixed(1),
      paper: formatPaper(paperValue(cells[i].cell, 'linear_acc')),
      flags: [divergedFlag(r), instabilityFlag(instabilityOf(r))].filter(Boolean).join('; '),
    })),
    notes: [
      ...measuredNotes(preset, results),
      `kNN: k ${results[0]?.config.knn.k}, weights exp(s/${results[0]?.config.knn.temperature}), frozen features of the training set vs the held-out set; kNN random init = the same backbone before pre-training.`,
      ...(suite.notes ?? []),
      ...derivedNotes(cells.map((c) => c.cell), 'linear_acc'),
      `backend: ${results[0]?.backend.name ?? '?'}; images/s = source images per second of pre-training (two views each).`,
      ...instabilityNotes(cells.map((c) => c.cell.id), results, false),
    ],
  };
}

/**
 * A finished cell's result with its linear probe (cached beside the weights, or run now); a
 * diverged cell has none.
 */
export async function withProbe(suite: Suite, rc: ResolvedCell, r: PretrainResult, o: Pick<SuiteRunOptions, 'preset' | 'registry' | 'quiet'>): Promise<ProbedResult> {
  if (r.flags.diverged) return r;
  let bar: Progress | undefined;
  const probe = await probeCell(r.config, r.hash, rc.runDir, {
    preset: o.preset,
    registry: o.registry,
    onEpoch: o.quiet
      ? undefined
      : (epoch, epochs, top1) => {
          bar ??= new Progress({ total: epochs, label: `${suite.name} ${o.preset} ${rc.cell.id}: linear probe` });
          bar.update(epoch + 1, top1 === undefined ? {} : { top1: `${pct(top1)}%` });
        },
  });
  bar?.done();
  return { ...r, probe };
}

export async function runPretrainSuite(suite: Suite, o: SuiteRunOptions): Promise<{ table: ResultTable; results: ProbedResult[]; files: string[] }> {
  const log = o.log ?? ((l: string) => console.error(l));
  const cells = suite.cells.map((cell) => resolveCell(suite, cell, o));
  const results: ProbedResult[] = [];
  for (const rc of cells) {
    const cached = readResult(rc.runDir);
    if (cached) {
      log(`[${suite.name}/${o.preset}] ${rc.cell.id}: finished earlier (${rc.runDir}), skipped`);
      results.push(await withProbe(suite, rc, cached, o));
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
    results.push(await withProbe(suite, rc, r, o));
  }
  const stored = results.map((r, i) => ({ id: cells[i].cell.id, ...r, runDir: path.relative(process.cwd(), cells[i].runDir), weights: path.relative(process.cwd(), r.weights) }));
  return { ...writePretrainOutputs(suite, o.preset, o.resultsDir, stored), results };
}

/** A cell's result as the suite's JSON stores it: paths relative to the working folder. */
export type StoredPretrainCell = ProbedResult & { id: string; runDir: string };

/** JSON stores NaN as null: the final metrics as numbers again (NaN), for the table builders. */
function reviveFinal<T extends PretrainResult>(r: T): T {
  const f = r.final as Record<string, number | null>;
  return { ...r, final: Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v ?? Number.NaN])) as PretrainResult['final'] };
}

/**
 * Writes a pre-training suite's outputs from its cells' results (in suite order): the table
 * (matrix suites: the matrix, and the per-cell table as NAME-cells.*), the JSON with every cell's
 * result, the curves (report/figures.ts), the scatter, and the HTML page. `bench report` calls it
 * on the stored JSON, so a re-render writes what the run wrote.
 */
export function writePretrainOutputs(
  suite: Suite,
  preset: string,
  resultsDir: string,
  stored: StoredPretrainCell[],
  /** Cells that ended with an error (a queue run: after their attempts): a row (matrix: a note) each. */
  failed: { id: string; error: string; attempts: number }[] = [],
): { table: ResultTable; files: string[] } {
  const cells: ResolvedCell[] = stored.map((s) => {
    const cell = suite.cells.find((c) => c.id === s.id);
    if (!cell) throw new Error(`suite ${suite.name} has no cell '${s.id}'`);
    return { cell, config: s.config, hash: s.hash, runDir: s.runDir };
  });
  const results = stored.map(reviveFinal);
  const details = pretrainTable(suite, preset, cells, results);
  const failedNotes = failed.map((f) => `cell '${f.id}' failed after ${f.attempts} attempt(s): ${f.error}`);
  if (failed.length) {
    details.rows.push(...failed.map((f) => ({ cell: f.id, flags: `failed: ${f.error}` })));
    details.notes.push(...failedNotes);
  }
  const json = { suite: suite.name, preset, cells: stored, ...(failed.length ? { failed } : {}) };
  // the instability summary the table notes use (recomputed from the curves for older results)
  const figCells = results.map((r, i) => ({ id: cells[i].cell.id, paper: formatPaper(paperValue(cells[i].cell, 'linear_acc')), result: { ...r, instability: instabilityOf(r) } }));
  const figures = pretrainFigures({ name: details.name, title: suite.title, preset }, figCells);
  if (suite.scatter) {
    const title = `${suite.scatter.title} (${preset})`;
    figures.splice(2, 0, {
      file: `${suite.scatter.name}-${preset}.svg`,
      title,
      caption: `Per column, the ${suite.scatter.x} value (x) against the ${suite.scatter.y} value (y), measured beside the paper's; the diagonal is y = x.`,
      svg: renderScatterPlot(scatterPoints(suite, cells, results), { title, xLabel: `${suite.scatter.x} (%)`, yLabel: `${suite.scatter.y} (%)`, diagonal: true, width: 560, height: 520 }),
    });
  }
  const page = {
    figures,
    events: { cells: figCells.length, flagged: figCells.map(cellEvents).filter((e) => e !== undefined) },
    meta: [`suite ${suite.name}, preset ${preset}; paper: ${suite.reference}`],
  };
  if (suite.layout !== 'matrix') return { table: details, files: writeSuiteOutputs(resultsDir, { table: details, json, ...page }) };
  const table = matrixTable(suite, preset, cells, results);
  if (failed.length) table.notes.push(...failedNotes);
  const files = writeSuiteOutputs(resultsDir, {
    table,
    json: { suite: suite.name, preset },
    details: { heading: 'Per-cell details', table: { ...details, name: `${details.name}-cells` }, json },
    ...page,
  });
  return { table, files };
}
