/**
 * A pre-training suite's tables and page, built from its cells' results (report/suite-results.ts):
 * the per-cell table (pretrainTable), a matrix suite's matrix (matrixTable, Table 4) and scatter
 * (scatterPoints, Fig. 7), their notes (what was measured, derived paper numbers, instability:
 * report/instability-notes.ts), the curves (report/figures.ts) and the HTML page. `bench run`
 * (runner/pretrain-suite.ts), the queue and `bench report` all write through writePretrainOutputs,
 * so a re-render writes what the run wrote.
 */
import { describeProvenance } from '../core/provenance.ts';
import type { Suite } from '../suites/schema.ts';
import { resultBaseName } from '../suites/schema.ts';
import { notRunNote } from '../suites/cell-selection.ts';
import { derivedNotes, formatPaper, paperNumber, paperValue } from '../suites/paper-values.ts';
import { describeProbe } from '../recipes/evaluation.ts';
import type { PretrainResult } from '../core/results.ts';
import type { ResultTable } from './table.ts';
import { type ScatterPoint, renderScatterPlot } from './svg-scatter.ts';
import { cellEvents, pretrainFigures } from './figures.ts';
import { writeSuiteOutputs } from './suite-outputs.ts';
import { UNSTABLE_MARK, instabilityFlag, instabilityNotes, instabilityOf } from './instability-notes.ts';
import type { ProbedResult, ResolvedCell, StoredBaseline, StoredEvaluation, StoredPretrainCell } from './suite-results.ts';

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : 'n/a');
const divergedFlag = (r: PretrainResult) => (r.flags.diverged ? `diverged at iter ${(r.flags.divergedAt ?? 0) + 1}` : '');

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
    `measured: the ${probed ? describeProbe(probed.probe!.config, probed.probe!.valCount) : 'linear probe'}, on the cell's ${r0?.config.data.dataset} ` +
      `training / held-out images; kNN beside it: weighted kNN (k ${r0?.config.knn.k}, T ${r0?.config.knn.temperature}) of ` +
      `the same frozen ` +
      `features. Paper: ImageNet linear probe of the full ` +
      `recipe${preset === 'paper' ? '' : ' (at a small preset a reference, not a target)'}.`,
  ];
}

/**
 * A matrix suite's table (Table 4): one row per row label, and for each column label the measured
 * linear-probe accuracy, the kNN accuracy and the paper's number.
 */
export function matrixTable(
  suite: Suite,
  preset: string,
  cells: ResolvedCell[],
  results: ProbedResult[],
  baselines: StoredBaseline[] = [],
): ResultTable {
  const ids = cells.map((c) => c.cell.id);
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
    // the floor pre-training must beat: kNN of the row's backbone at its random init (one value, or its range over the cells)
    const inits = cells
      .map((c, i) => (c.cell.row === rl ? results[i].final.knnRandomInit : Number.NaN))
      .filter((v) => Number.isFinite(v))
      .map((v) => pct(v));
    row.knn_init = span(inits);
    // and its linear probe at random init (runner/baselines.ts), when computed
    const ids = new Set(cells.filter((c) => c.cell.row === rl).map((c) => c.cell.id));
    row.linear_init = span(
      baselines.filter((b) => b.kind === 'random-init' && b.cells.some((id) => ids.has(id))).map((b) => pct(b.probe.top1)),
    );
    return row;
  });
  // raw pixels: no network at all, the same probe and kNN on the same images
  for (const b of baselines.filter((x) => x.kind === 'raw-pixels'))
    rows.push({ row: baselineLabel(b, baselines), backbone: b.backbone, linear_init: pct(b.probe.top1), knn_init: pct(b.knn) });
  return {
    name: resultBaseName(suite.name, preset),
    title: `${suite.title} — preset ${preset} (paper ${suite.reference})`,
    columns: [
      { key: 'row', header: 'model' },
      { key: 'backbone', header: preset === 'paper' ? 'backbone' : 'stand-in' },
      { key: 'linear_init', header: 'without pre-training: linear (%)', numeric: true },
      { key: 'knn_init', header: 'without pre-training: kNN (%)', numeric: true },
      ...colLabels.flatMap((cl) => [
        { key: key(cl), header: `${cl} linear (%)`, numeric: true },
        { key: `${key(cl)}_knn`, header: `${cl} kNN (%)`, numeric: true },
        { key: `${key(cl)}_paper`, header: `${cl} paper (linear %)`, numeric: true, decimals: 1 },
      ]),
    ],
    rows,
    notes: [
      ...measuredNotes(preset, results),
      "without pre-training: a model row's backbone at its random init (the weights its cells start from), and the raw-pixels row (the " +
        "evaluation view itself, no network), under the cells' probe and kNN on the same images.",
      ...baselineNotes(ids, results, baselines),
      ...(suite.notes ?? []),
      ...derivedNotes(
        cells.map((c) => c.cell),
        'linear_acc',
      ),
      `per-cell details (data, iterations, monitor, loss, images/s): ${resultBaseName(suite.name, preset)}-cells.md; backend: ` +
        `${results[0]?.backend.name ?? '?'}.`,
      ...probeLrNote(ids, results),
      ...probeSweepNotes(ids, results, baselines),
      ...instabilityNotes(ids, results, true),
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
    const ix = at(sc.x, col),
      iy = at(sc.y, col);
    if (ix < 0 || iy < 0) continue;
    const m = (i: number) => (results[i].flags.diverged || !results[i].probe ? Number.NaN : 100 * results[i].probe!.top1);
    out.push({ label: col, group: 'measured (linear)', x: m(ix), y: m(iy) });
    const px = paperNumber(cells[ix].cell, 'linear_acc'),
      py = paperNumber(cells[iy].cell, 'linear_acc');
    if (typeof px === 'number' && typeof py === 'number') out.push({ label: col, group: 'paper (linear)', x: px, y: py });
  }
  return out;
}

export function pretrainTable(
  suite: Suite,
  preset: string,
  cells: ResolvedCell[],
  results: ProbedResult[],
  baselines: StoredBaseline[] = [],
): ResultTable {
  const ids = cells.map((c) => c.cell.id);
  const evals = evaluationColumns(results);
  return {
    name: resultBaseName(suite.name, preset),
    title: `${suite.title} — preset ${preset} (paper ${suite.reference})`,
    columns: [
      { key: 'cell', header: 'cell' },
      { key: 'kind', header: 'kind' },
      { key: 'backbone', header: 'backbone' },
      { key: 'data', header: 'data' },
      { key: 'epochs', header: 'epochs', numeric: true },
      { key: 'iters', header: 'iters', numeric: true },
      { key: 'linear', header: 'linear probe (%)', numeric: true },
      { key: 'probe_lr', header: 'probe lr (base)', numeric: true },
      ...(preset === 'paper' ? [{ key: 'best_test', header: "best test (main_lincls's best_acc1, %)", numeric: true }] : []),
      { key: 'knn', header: 'kNN (%)', numeric: true },
      { key: 'knn_init', header: 'kNN random init (%)', numeric: true },
      { key: 'knn_monitor', header: 'kNN monitor, last (%)', numeric: true },
      ...evals.map((e) => ({ key: e.key, header: e.header, numeric: true })),
      { key: 'loss', header: 'loss, last', numeric: true },
      { key: 'ips', header: 'images/s', numeric: true, csv: 'images_per_s' },
      { key: 'paper', header: 'paper (linear %, full recipe)', numeric: true, decimals: 1 },
      { key: 'flags', header: 'flags' },
    ],
    rows: [
      ...results.map((r, i) => ({
        cell: cells[i].cell.id,
        kind: 'cell',
        backbone: r.config.backbone.name,
        data: `${r.config.data.dataset} ${r.trainImages}`,
        epochs: r.epochs,
        iters: r.iterations,
        linear: probeText(r),
        probe_lr: r.probe ? String(+r.probe.bestBaseLr.toPrecision(3)) : '',
        ...(preset === 'paper' ? { best_test: r.probe?.bestTestTop1 === undefined ? '' : pct(r.probe.bestTestTop1) } : {}),
        knn: pct(r.final.knn),
        knn_init: pct(r.final.knnRandomInit),
        knn_monitor: pct(r.final.knnMonitor),
        ...Object.fromEntries(evals.map((e) => [e.key, e.value(r)])),
        loss: r.final.loss.toFixed(3),
        ips: r.imagesPerSec.toFixed(1),
        paper: formatPaper(paperValue(cells[i].cell, 'linear_acc')),
        flags: [divergedFlag(r), instabilityFlag(instabilityOf(r)), chunkBnFlag(r)].filter(Boolean).join('; '),
      })),
      ...baselines.map((b) => ({
        cell: baselineLabel(b, baselines),
        kind: b.kind,
        backbone: b.backbone,
        data: b.data,
        linear: pct(b.probe.top1),
        probe_lr: String(+b.probe.bestBaseLr.toPrecision(3)),
        ...(preset === 'paper' ? { best_test: b.probe.bestTestTop1 === undefined ? '' : pct(b.probe.bestTestTop1) } : {}),
        knn: pct(b.knn),
      })),
    ],
    notes: [
      ...measuredNotes(preset, results),
      ...(baselines.length
        ? [
            "raw pixels: the same probe and kNN on the evaluation view itself (no network); random init: the cell's backbone at the " +
              "weights its pre-training starts from; both on the cells' images, precision and seed.",
          ]
        : []),
      ...baselineNotes(ids, results, baselines),
      ...evals.map((e) => e.note),
      `kNN: k ${results[0]?.config.knn.k}, weights exp(s/${results[0]?.config.knn.temperature}), frozen features of the ` +
        `training set ` +
        `vs the held-out set; kNN random init = the same backbone before pre-training.`,
      ...(suite.notes ?? []),
      ...derivedNotes(
        cells.map((c) => c.cell),
        'linear_acc',
      ),
      `backend: ${results[0]?.backend.name ?? '?'}; images/s = source images per second of pre-training (two views each).`,
      ...probeSweepNotes(ids, results, baselines),
      ...precisionNotes(ids, results),
      ...provenanceNotes(ids, results),
      ...instabilityNotes(ids, results, false),
    ],
  };
}

/**
 * One column per further evaluator the cells ran (a suite's `evaluators`, runner/cell-evaluations.ts),
 * in the order they first appear: its headline metric, and a note with its config.
 */
function evaluationColumns(results: readonly ProbedResult[]) {
  const first = new Map<string, StoredEvaluation>();
  for (const r of results) for (const [name, e] of Object.entries(r.evaluations ?? {})) if (!first.has(name)) first.set(name, e);
  return [...first].map(([name, e]) => ({
    key: `eval_${name}`,
    header: `${e.column.header} [${name}]`,
    value: (r: ProbedResult) => {
      const v = r.evaluations?.[name]?.metrics[e.column.metric];
      return v === undefined ? '' : e.column.percent ? pct(v) : String(+v.toPrecision(4));
    },
    note: `${e.column.header} [${name}]: evaluator '${name}' on each cell's pre-trained weights (frozen), its ${e.column.metric}; config ${JSON.stringify(e.config)}.`,
  }));
}

/** A cell trained in chunks with BatchNorm in its backbone: each chunk's statistics, not the whole batch's (optimizer.chunkBn). */
function chunkBnFlag(r: ProbedResult): string {
  const o = r.config?.optimizer;
  return o?.chunkBn === 'per-chunk' ? `BN per chunk of ${o.chunk} (not the whole batch)` : '';
}

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
/**
 * Where the cells' results came from (core/provenance.ts), one line per distinct origin; results
 * stored before provenance was recorded add nothing, so their tables re-render unchanged.
 */
export function provenanceNotes(ids: string[], results: readonly (Pick<PretrainResult, 'provenance'> | undefined)[]): string[] {
  const groups = new Map<string, string[]>();
  results.forEach((r, i) => {
    if (!r?.provenance) return;
    const line = describeProvenance(r.provenance);
    groups.set(line, [...(groups.get(line) ?? []), ids[i]]);
  });
  if (groups.size <= 1) return [...groups.keys()];
  return [...groups].map(([line, cells]) => `${cells.join(', ')}: ${line}`);
}

export function writePretrainOutputs(
  suite: Suite,
  preset: string,
  resultsDir: string,
  stored: StoredPretrainCell[],
  /** Cells that ended with an error (a queue run: after their attempts): a row (matrix: a note) each. */
  failed: { id: string; error: string; attempts: number }[] = [],
  /** Raw pixels and random init under the cells' protocol (runner/baselines.ts): rows and notes. */
  baselines: StoredBaseline[] = [],
  /** A partial run's cells not run yet (`--cells`, suites/cell-selection.ts): a row (matrix: a note) and the JSON's `notRun`. */
  notRun: { id: string; arm?: string }[] = [],
): { table: ResultTable; files: string[] } {
  const cells: ResolvedCell[] = stored.map((s) => {
    const cell = suite.cells.find((c) => c.id === s.id);
    if (!cell) throw new Error(`suite ${suite.name} has no cell '${s.id}'`);
    return { cell, config: s.config, hash: s.hash, runDir: s.runDir };
  });
  const results = stored.map(reviveFinal);
  const details = pretrainTable(suite, preset, cells, results, baselines);
  const failedNotes = failed.map((f) => `cell '${f.id}' failed after ${f.attempts} attempt(s): ${f.error}`);
  if (failed.length) {
    details.rows.push(...failed.map((f) => ({ cell: f.id, flags: `failed: ${f.error}` })));
    details.notes.push(...failedNotes);
  }
  const partialNotes = notRun.length
    ? [
        notRunNote(
          suite.name,
          notRun.map((n) => n.id),
          stored.length + notRun.length,
        ),
      ]
    : [];
  if (notRun.length) {
    details.rows.push(...notRun.map((n) => ({ cell: n.id, flags: 'not run yet (partial run)' })));
    details.notes.unshift(...partialNotes);
  }
  const json = {
    suite: suite.name,
    preset,
    cells: stored,
    ...(baselines.length ? { baselines } : {}),
    ...(failed.length ? { failed } : {}),
    ...(notRun.length ? { notRun } : {}),
  };
  // the instability summary the table notes use (recomputed from the curves for older results)
  const figCells = results.map((r, i) => ({
    id: cells[i].cell.id,
    paper: formatPaper(paperValue(cells[i].cell, 'linear_acc')),
    ...(cells[i].cell.row !== undefined && cells[i].cell.column !== undefined
      ? { row: cells[i].cell.row, column: cells[i].cell.column }
      : {}),
    result: { ...r, instability: instabilityOf(r) },
  }));
  const figures = pretrainFigures({ name: details.name, title: suite.title, preset }, figCells);
  if (suite.scatter) {
    const title = `${suite.scatter.title} (${preset})`;
    figures.splice(2, 0, {
      file: `${suite.scatter.name}-${preset}.svg`,
      title,
      caption:
        `Per column, the ${suite.scatter.x} value (x) against the ${suite.scatter.y} value (y), measured beside the paper's; ` +
        `the diagonal is y = x.`,
      svg: renderScatterPlot(scatterPoints(suite, cells, results), {
        title,
        xLabel: `${suite.scatter.x} (%)`,
        yLabel: `${suite.scatter.y} (%)`,
        diagonal: true,
        width: 560,
        height: 520,
      }),
    });
  }
  const page = {
    figures,
    events: { cells: figCells.length, flagged: figCells.map(cellEvents).filter((e) => e !== undefined) },
    meta: [
      `suite ${suite.name}, preset ${preset}; paper: ${suite.reference}`,
      ...provenanceNotes(
        cells.map((c) => c.cell.id),
        stored,
      ),
    ],
  };
  if (suite.layout !== 'matrix') return { table: details, files: writeSuiteOutputs(resultsDir, { table: details, json, ...page }) };
  const table = matrixTable(suite, preset, cells, results, baselines);
  if (failed.length) table.notes.push(...failedNotes);
  table.notes.unshift(...partialNotes);
  const files = writeSuiteOutputs(resultsDir, {
    table,
    json: { suite: suite.name, preset },
    details: { heading: 'Per-cell details', table: { ...details, name: `${details.name}-cells` }, json },
    ...page,
  });
  return { table, files };
}

/** One value, or the range of several (a row over cells that differ). */
function span(values: string[]): string | undefined {
  const distinct = [...new Set(values)].sort((a, b) => Number(a) - Number(b));
  return distinct.length <= 1 ? distinct[0] : `${distinct[0]}–${distinct[distinct.length - 1]}`;
}

/** A baseline's row label: its kind, and its data when the suite's cells read different sets. */
function baselineLabel(b: StoredBaseline, all: StoredBaseline[]): string {
  const name = b.kind === 'raw-pixels' ? 'raw pixels' : `random init of ${b.backbone}`;
  const sameKind = all.filter((x) => x.kind === b.kind && (b.kind === 'raw-pixels' || x.backbone === b.backbone));
  return sameKind.length > 1 ? `${name} (${b.data}; for ${b.cells.join(' / ')})` : name;
}

/**
 * In words, per cell: its probe and kNN against raw pixels and against its backbone at random init
 * (differences in points), and whether it beats both.
 */
function baselineNotes(ids: string[], results: ProbedResult[], baselines: StoredBaseline[]): string[] {
  if (!baselines.length) return [];
  const d = (a: number, b: number) => {
    const x = 100 * (a - b);
    return `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
  };
  const lines = ids.flatMap((id, i) => {
    const r = results[i];
    if (!r || r.flags.diverged || !r.probe) return [];
    const raw = baselines.find((b) => b.kind === 'raw-pixels' && b.cells.includes(id));
    const init = baselines.find((b) => b.kind === 'random-init' && b.cells.includes(id));
    if (!raw || !init) return [];
    // against one floor: above it on both numbers, below it on both, or above on one only
    const against = (name: string, probe: number, knn: number) => {
      const p = r.probe!.top1 > probe,
        k = r.final.knn > knn;
      return p && k ? `above ${name} on both` : !p && !k ? `below ${name} on both` : `above ${name} on the ${p ? 'probe' : 'kNN'} only`;
    };
    const verdict = `${against('raw pixels', raw.probe.top1, raw.knn)}; ${against('its random init', init.probe.top1, init.knn)}`;
    return [
      `${id}: probe ${pct(r.probe.top1)} (raw pixels ${d(r.probe.top1, raw.probe.top1)}, random init ${d(r.probe.top1, init.probe.top1)}), ` +
        `kNN ${pct(r.final.knn)} (${d(r.final.knn, raw.knn)}, ${d(r.final.knn, init.knn)}): ${verdict}.`,
    ];
  });
  return lines.length ? ['against the floors (points; probe, then kNN):', ...lines] : [];
}

/** Where a probe's sweep (a cell's, or a floor's) grew beyond its ends, or stopped with its chosen lr at one (not a maximum then). */
function probeSweepNotes(ids: string[], results: ProbedResult[], baselines: StoredBaseline[] = []): string[] {
  const fmt = (xs: number[]) => xs.map((x) => +x.toPrecision(3)).join(' / ');
  const probes = [
    ...ids.map((id, i) => ({ id, p: results[i]?.probe })),
    ...baselines.map((b) => ({ id: baselineLabel(b, baselines), p: b.probe })),
  ];
  const grown = probes.flatMap(({ id, p }) => (p?.sweepExtended?.length ? [`${id} (${fmt(p.sweepExtended)})`] : []));
  const stopped = probes.flatMap(({ id, p }) => (p?.sweepStopped ? [`${id}: ${p.sweepStopped}`] : []));
  return [
    ...(grown.length ? [`probe sweeps extended beyond their ends (the base lrs added): ${grown.join(', ')}.`] : []),
    ...stopped.map((s) => `probe sweep stopped at an end, so its number is not a maximum: ${s}.`),
  ];
}

/** The lr each cell's probe chose, for a table whose rows do not show it (Table 4's matrix). */
function probeLrNote(ids: string[], results: ProbedResult[]): string[] {
  const parts = ids.flatMap((id, i) => (results[i]?.probe ? [`${id} ${+results[i].probe!.bestBaseLr.toPrecision(3)}`] : []));
  return parts.length ? [`probe base lr chosen per cell: ${parts.join(', ')}.`] : [];
}

/** Which cells ran with bf16 products (config.precision); nothing when all are fp32. */
function precisionNotes(ids: string[], results: PretrainResult[]): string[] {
  const bf16 = ids.filter((_, i) => results[i]?.config.precision === 'bf16');
  if (!bf16.length) return [];
  return [
    `precision: ${bf16.length === ids.length ? 'every cell' : bf16.join(', ')} in bf16 (the products of the linear layers and of attention from ` +
      'bf16-rounded inputs, fp32 accumulation; everything else fp32); the others fp32.',
  ];
}
