/**
 * Suites that need no training: Table 2 (configurations and parameter counts) and Table 3
 * (multiply-adds per crop), computed from each backbone's shapes and set beside the paper's values.
 */
import type { Suite, SuiteCell } from '../suites/schema.ts';
import type { ResultTable } from '../report/table.ts';
import type { Registry } from '../container/container.ts';
import type { BackboneOptions } from '../backbones/backbone.ts';
import { vitConfig } from '../backbones/vit/config.ts';

/** ResNet-50's multiply-adds per 224 crop as the paper quotes it (Table 3 caption). */
export const PAPER_R50_GMACS = 4.1;

function cellBackbone(cell: SuiteCell): { name: string; opts: BackboneOptions } {
  const { backbone, ...opts } = cell.config as unknown as { backbone: string } & BackboneOptions;
  return { name: backbone, opts };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

export function paramsTable(suite: Suite, registry: Registry): ResultTable {
  const rows = suite.cells.map((cell) => {
    const { name, opts } = cellBackbone(cell);
    const family = registry.backbone(name);
    const cfg = vitConfig(name, opts);
    const params = family.countParams(name, opts);
    const withHead = params + cfg.dim * 1000 + 1000;
    return {
      model: cell.id,
      backbone: name,
      blocks: cfg.depth,
      dim: cfg.dim,
      heads: cfg.heads,
      mlp: cfg.dim * cfg.mlpRatio,
      paper_params_m: cell.paper?.params_m,
      params: params.toLocaleString('en-US'),
      params_m: round(params / 1e6, 1),
      params_head_m: round(withHead / 1e6, 1),
    };
  });
  return {
    name: suite.name,
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
  const rows = suite.cells.map((cell) => {
    const { name, opts } = cellBackbone(cell);
    const macs = registry.backbone(name).countMacs(name, opts);
    const g = macs / 1e9;
    const paper = typeof cell.paper?.flops_g === 'number' ? cell.paper.flops_g : undefined;
    return {
      model: cell.id,
      paper_flops_g: paper,
      flops_g: round(g, 2),
      diff: paper === undefined ? undefined : `${((g / paper - 1) * 100).toFixed(2)} %`,
      paper_vs_r50: typeof cell.paper?.vs_r50 === 'number' ? `${cell.paper.vs_r50.toFixed(1)}x` : undefined,
      vs_r50: `${(g / PAPER_R50_GMACS).toFixed(1)}x`,
      tpus: cell.paper?.tpus,
      hours: cell.paper?.hours,
    };
  });
  return {
    name: suite.name,
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
    notes: suite.notes ?? [],
  };
}

export function countTable(suite: Suite, registry: Registry): ResultTable {
  switch (suite.kind) {
    case 'params':
      return paramsTable(suite, registry);
    case 'flops':
      return flopsTable(suite, registry);
    default:
      throw new Error(`suite '${suite.name}': kind '${suite.kind}' is not a counting suite`);
  }
}
