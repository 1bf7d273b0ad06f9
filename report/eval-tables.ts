/**
 * An evaluation suite's table and page from its cells' results (report/suite-results.ts
 * EvalCellResult): Table 1's layout (linearTable: framework, model, measured linear-probe top-1
 * beside the paper's) and Table 5's (transferTable: pre-training x data set and model, fine-tuning
 * top-1 beside the paper's). `bench run` (runner/eval-suite.ts) and `bench report` both write
 * through writeEvalOutputs.
 */
import type { LinearProbeResult } from '../evaluators/linear-probe.ts';
import type { Suite, SuiteCell } from '../suites/schema.ts';
import { resultBaseName } from '../suites/schema.ts';
import type { ResultTable } from './table.ts';
import { writeSuiteOutputs } from './suite-outputs.ts';
import type { EvalCellResult } from './suite-results.ts';

const pct = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? (100 * x).toFixed(1) : 'n/a');

/** Table 5's layout: rows (random init / supervised / MoCo v3) x columns (data set x model), measured beside the paper's. */
export function transferTable(suite: Suite, preset: string, results: EvalCellResult[]): ResultTable {
  // a list-layout suite's cell is its own row, its target data set the column
  const rowOf = (c: SuiteCell) => c.row ?? c.id;
  const colOf = (c: SuiteCell) => c.column ?? String((c.transfer as { dataset?: string } | undefined)?.dataset ?? 'fine-tuning');
  const rows = [...new Set(suite.cells.map(rowOf))];
  const cols = [...new Set(suite.cells.map(colOf))];
  const key = (c: string) => c.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const usedCols = cols.filter((col) =>
    suite.cells.some((c, i) => colOf(c) === col && (results[i].status !== 'skipped' || c.paper?.acc !== undefined)),
  );
  return {
    name: resultBaseName(suite.name, preset),
    title: `${suite.title} — preset ${preset} (paper ${suite.reference})`,
    columns: [
      { key: 'row', header: 'pre-train' },
      ...usedCols.flatMap((col) => [
        { key: key(col), header: `${col} (%)`, numeric: true },
        { key: `${key(col)}_paper`, header: `${col} paper`, numeric: true, decimals: 1 },
      ]),
    ],
    rows: rows.map((rl) => {
      const row: Record<string, string | number | undefined> = { row: rl };
      for (const col of usedCols) {
        const i = suite.cells.findIndex((c) => rowOf(c) === rl && colOf(c) === col);
        if (i < 0) continue;
        const r = results[i];
        row[key(col)] = r.status === 'measured' ? pct(r.top1) : r.status === 'skipped' ? 'not run' : '';
        row[`${key(col)}_paper`] = suite.cells[i].paper?.acc ?? 'n/a';
      }
      return row;
    }),
    notes: [...(suite.notes ?? [])],
  };
}

/** Table 1's layout: framework, model, params, measured top-1 beside the paper's. */
export function linearTable(suite: Suite, preset: string, results: EvalCellResult[]): ResultTable {
  return {
    name: resultBaseName(suite.name, preset),
    title: `${suite.title} — preset ${preset} (paper ${suite.reference})`,
    columns: [
      { key: 'cell', header: 'framework / model' },
      { key: 'backbone', header: preset === 'paper' ? 'backbone' : 'stand-in' },
      { key: 'init', header: 'backbone' },
      { key: 'acc', header: 'linear probe top-1 (%)', numeric: true },
      { key: 'lr', header: 'probe lr (base)', numeric: true },
      ...(preset === 'paper' ? [{ key: 'best_test', header: "best test (main_lincls's best_acc1, %)", numeric: true }] : []),
      { key: 'paper', header: 'paper (%)', numeric: true, decimals: 1 },
      { key: 'note', header: 'note' },
    ],
    rows: suite.cells.map((c, i) => {
      const r = results[i];
      const d = r.status === 'measured' ? (r.detail as Partial<LinearProbeResult> | undefined) : undefined;
      return {
        cell: c.id,
        backbone: r.backbone ?? '',
        init: r.status === 'measured' ? (r.init === 'random' ? 'random init' : `pre-trained (kNN ${pct(r.pretrainKnn)}%)`) : '',
        acc: r.status === 'measured' ? pct(r.top1) : '',
        lr: d?.bestBaseLr === undefined ? '' : String(+d.bestBaseLr.toPrecision(3)),
        ...(preset === 'paper' ? { best_test: d?.bestTestTop1 === undefined ? '' : pct(d.bestTestTop1) } : {}),
        paper: c.paper?.acc,
        note: r.status === 'reference' ? "the paper's reference row (not run)" : r.status === 'skipped' ? r.reason : '',
      };
    }),
    notes: [...probeChoiceNotes(results), ...(suite.notes ?? [])],
  };
}

/** How the measured probes chose their lr and epoch (one line per distinct rule). */
function probeChoiceNotes(results: EvalCellResult[]): string[] {
  const lines = new Set<string>();
  for (const r of results) {
    const d = r.status === 'measured' ? (r.detail as Partial<LinearProbeResult> | undefined) : undefined;
    if (!d) continue;
    if (d.chosenOn === 'validation')
      lines.add(
        `probe lr and epoch chosen on ${d.valCount} training images held out (stratified, never trained on; ${d.trainCount} trained on); ` +
          'the test top-1 reported at that choice.',
      );
    else lines.add("probe: the best test top-1 over lrs and epochs (main_lincls's best_acc1).");
    if (d.sweepStopped) lines.add(`${r.id}: probe sweep stopped at an end, so its number is not a maximum: ${d.sweepStopped}.`);
  }
  return [...lines];
}

/** An evaluation suite's table from its cells' results (transferTable, linearTable: the kind's choice, kinds/). */
export type EvalTableBuilder = (suite: Suite, preset: string, results: EvalCellResult[]) => ResultTable;

/**
 * Writes an evaluation suite's table (Markdown, CSV, JSON with every cell's result, one per suite
 * cell in order) and its HTML page. `bench report` calls it on the stored JSON.
 */
export function writeEvalOutputs(
  suite: Suite,
  preset: string,
  resultsDir: string,
  results: EvalCellResult[],
  tableOf: EvalTableBuilder,
): { table: ResultTable; files: string[] } {
  const table = tableOf(suite, preset, results);
  const files = writeSuiteOutputs(resultsDir, {
    table,
    json: { suite: suite.name, preset, cells: results },
    meta: [`suite ${suite.name}, preset ${preset}; paper: ${suite.reference}`],
  });
  return { table, files };
}
