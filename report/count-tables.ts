/**
 * Suites that need no training: Table 2 (configurations and parameter counts) and Table 3
 * (multiply-adds per crop), computed from each backbone's shapes (its family's counts, resolved
 * through the registry) and set beside the paper's values. A backbone the paper does not count
 * (ResNet-50 in Table 3) is set beside its family's reference numbers, labelled with their source.
 * Nothing is trained, so there is no runner: `bench run` and `bench report` both call
 * writeCountOutputs.
 */
import type { Suite, SuiteCell } from '../suites/schema.ts';
import { resultBaseName } from '../suites/schema.ts';
import type { ResultTable } from './table.ts';
import type { Registry } from '../container/container.ts';
import type { BackboneOptions } from '../core/config.ts';
import type { BackboneReference } from '../backbones/backbone.ts';
import { writeSuiteOutputs } from './suite-outputs.ts';

/** ResNet-50's multiply-adds per 224 crop as the paper quotes it (Table 3 caption). */
export const PAPER_R50_GMACS = 4.1;

function cellBackbone(cell: SuiteCell): { name: string; opts: BackboneOptions } {
  const { backbone, ...opts } = cell.config as unknown as { backbone: string } & BackboneOptions;
  return { name: backbone, opts };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** A 1000-class linear classifier on `dim` features: weight and bias. */
const classifierParams = (dim: number) => dim * 1000 + 1000;

export function paramsTable(suite: Suite, registry: Registry): ResultTable {
  const rows = suite.cells.map((cell) => {
    const { name, opts } = cellBackbone(cell);
    const family = registry.backbone(name);
    const shape = family.describe(name, opts);
    const params = family.countParams(name, opts);
    const withHead = params + classifierParams(shape.outDim);
    return {
      model: cell.id,
      backbone: name,
      blocks: shape.blocks,
      dim: shape.dim,
      heads: shape.heads,
      mlp: shape.mlpDim,
      paper_params_m: cell.paper?.params_m,
      params: params.toLocaleString('en-US'),
      params_m: round(params / 1e6, 1),
      params_head_m: round(withHead / 1e6, 1),
    };
  });
  return {
    name: resultBaseName(suite.name),
    title: `${suite.title} (paper ${suite.reference} beside measured)`,
    columns: [
      { key: 'model', header: 'model' },
      { key: 'backbone', header: 'backbone' },
      { key: 'blocks', header: 'blocks', numeric: true },
      { key: 'dim', header: 'dim', numeric: true },
      { key: 'heads', header: 'heads', numeric: true },
      { key: 'mlp', header: 'MLP dim', numeric: true },
      { key: 'paper_params_m', header: 'params (paper, M)', numeric: true },
      { key: 'params', header: 'params (measured, exact)', numeric: true },
      { key: 'params_m', header: 'params (measured, M)', numeric: true },
      { key: 'params_head_m', header: '+1000-class head (M)', numeric: true },
    ],
    rows,
    notes: suite.notes ?? [],
  };
}

export function flopsTable(suite: Suite, registry: Registry): ResultTable {
  const notes: string[] = [];
  const rows = suite.cells.map((cell) => {
    const { name, opts } = cellBackbone(cell);
    const family = registry.backbone(name);
    const macs = family.countMacs(name, opts);
    const g = macs / 1e9;
    const paper = typeof cell.paper?.flops_g === 'number' ? cell.paper.flops_g : undefined;
    const ref = paper === undefined ? family.reference : undefined;
    const versus = paper ?? ref?.gflops;
    if (ref) notes.push(referenceNote(cell.id, ref, family.countParams(name, opts), family.describe(name, opts).outDim, g));
    return {
      model: cell.id,
      paper_flops_g: paper ?? (ref?.gflops === undefined ? undefined : `${ref.gflops} (${ref.source})`),
      flops_g: round(g, 2),
      diff: versus === undefined ? undefined : `${((g / versus - 1) * 100).toFixed(2)} %`,
      paper_vs_r50: typeof cell.paper?.vs_r50 === 'number' ? `${cell.paper.vs_r50.toFixed(1)}x` : undefined,
      vs_r50: `${(g / PAPER_R50_GMACS).toFixed(1)}x`,
      tpus: cell.paper?.tpus,
      hours: cell.paper?.hours,
    };
  });
  return {
    name: resultBaseName(suite.name),
    title: `${suite.title} (paper ${suite.reference} beside measured)`,
    columns: [
      { key: 'model', header: 'model' },
      { key: 'paper_flops_g', header: 'FLOPs (paper, G)', numeric: true },
      { key: 'flops_g', header: 'FLOPs (measured, G)', numeric: true },
      { key: 'diff', header: 'diff', numeric: true },
      { key: 'paper_vs_r50', header: 'vs. R50 (paper)', numeric: true },
      { key: 'vs_r50', header: 'vs. R50 (measured)', numeric: true },
      { key: 'tpus', header: 'TPUs (paper)', numeric: true },
      { key: 'hours', header: 'hours/100 ep (paper)', numeric: true },
    ],
    rows,
    notes: [...(suite.notes ?? []), ...notes],
  };
}

/** The note under a row set beside reference numbers instead of the paper's. */
function referenceNote(id: string, ref: BackboneReference, params: number, outDim: number, gmacs: number): string {
  const quoted = [
    ref.gflops === undefined ? undefined : `${ref.gflops} G FLOPs`,
    ref.paramsWithClassifierM === undefined ? undefined : `${ref.paramsWithClassifierM} M parameters with the 1000-class classifier`,
  ]
    .filter(Boolean)
    .join(' and ');
  const withHead = params + classifierParams(outDim);
  return (
    `${id}: no row in the paper's table; ${quoted} are ${ref.source}'s reference numbers, not the paper's. ` +
    `Measured: ${round(gmacs, 2)} G multiply-adds, ${withHead.toLocaleString('en-US')} parameters with the classifier ` +
    `(${params.toLocaleString('en-US')} without).`
  );
}

/** A counting suite's table (paramsTable, flopsTable: the kind's choice, kinds/). */
export type CountTableBuilder = (suite: Suite, registry: Registry) => ResultTable;

/** Computes a counting suite's table and writes it (Markdown, CSV, JSON) and its HTML page under `dir`. */
export function writeCountOutputs(
  suite: Suite,
  registry: Registry,
  dir: string,
  tableOf: CountTableBuilder,
): { table: ResultTable; files: string[] } {
  const table = tableOf(suite, registry);
  return {
    table,
    files: writeSuiteOutputs(dir, {
      table,
      json: { suite: suite.name, reference: suite.reference },
      meta: [`suite ${suite.name}; paper: ${suite.reference}`],
    }),
  };
}
