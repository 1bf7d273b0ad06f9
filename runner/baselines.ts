/**
 * The floors every pre-training table is read against (issue 26): the linear probe and kNN of
 * raw pixels (evaluators/raw-pixels.ts) and of each cell's backbone at its random init (the very
 * weights pre-training starts from: the same name, options and seed), under the cells' own
 * protocol (the preset's suite probe, the cell's kNN, the same images, precision and seed). Each
 * is computed once per data configuration (and backbone) and cached in the run store as
 * `PRESET/baselines/<kind>-<key>.json`, the key hashing everything it depends on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Registry } from '../container/container.ts';
import { canonicalJson, type PretrainConfig } from '../core/config.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { withPrecision } from '../engine/backend.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { RawPixels } from '../evaluators/raw-pixels.ts';
import { runEvaluator } from '../evaluators/evaluator.ts';
import { headlineMetric } from '../evaluators/index.ts';
import { type LinearProbeConfig, suiteProbeConfig } from '../recipes/evaluation.ts';
import type { BaselineKind, StoredBaseline } from '../report/suite-results.ts';
import { toCellProbe } from './cell-probe.ts';
import { dataIdentity } from './cell-hash.ts';

/**
 * The probe of a baseline: the preset's suite probe for its backbone (raw pixels sweep a ViT's
 * lrs), with the choice rule of the cells' own probe when given (a stored table's cells were
 * probed by an earlier rule: their floors are probed by the same one).
 */
export function baselineProbe(kind: BaselineKind, c: PretrainConfig, preset: string, cellProbe?: LinearProbeConfig): LinearProbeConfig {
  const p = suiteProbeConfig(preset, kind === 'raw-pixels' ? 'raw-pixels' : c.backbone.name);
  if (!cellProbe) return p;
  const { baseLrs: _lrs, ...rule } = cellProbe;
  return { ...p, ...rule, valFraction: cellProbe.valFraction ?? 0, extendSweep: cellProbe.extendSweep ?? 0 };
}

/** What a baseline depends on, for one cell: its key hashes exactly this. */
function baselineSpec(kind: BaselineKind, c: PretrainConfig, probe: LinearProbeConfig) {
  return {
    kind,
    data: dataIdentity(c.data),
    seed: c.seed,
    knn: c.knn,
    precision: c.precision ?? 'fp32',
    probe,
    ...(kind === 'random-init' ? { backbone: c.backbone } : {}),
  };
}

export function baselineKey(kind: BaselineKind, c: PretrainConfig, probe: LinearProbeConfig): string {
  return createHash('sha256')
    .update(canonicalJson(baselineSpec(kind, c, probe)))
    .digest('hex')
    .slice(0, 12);
}

export function baselineFile(runsDir: string, preset: string, kind: BaselineKind, key: string): string {
  return path.join(runsDir, preset, 'baselines', `${kind}-${key}.json`);
}

export interface BaselineOptions {
  preset: string;
  runsDir: string;
  registry: Registry;
  log?: (line: string) => void;
}

/**
 * The baselines of a suite's cells (configs in suite order, with their ids): one raw-pixel
 * baseline per distinct data configuration and one random-init baseline per distinct backbone on
 * it, each listing the cells it applies to; cached ones are read, the others computed now.
 */
export async function suiteBaselines(
  cells: { id: string; config: PretrainConfig; probe?: LinearProbeConfig }[],
  o: BaselineOptions,
): Promise<StoredBaseline[]> {
  const groups = new Map<string, { kind: BaselineKind; key: string; config: PretrainConfig; probe: LinearProbeConfig; cells: string[] }>();
  for (const { id, config, probe: cellProbe } of cells)
    for (const kind of ['raw-pixels', 'random-init'] as const) {
      const probe = baselineProbe(kind, config, o.preset, cellProbe);
      const key = baselineKey(kind, config, probe);
      const g = groups.get(`${kind}-${key}`) ?? { kind, key, config, probe, cells: [] };
      g.cells.push(id);
      groups.set(`${kind}-${key}`, g);
    }
  const out: StoredBaseline[] = [];
  for (const g of groups.values()) {
    const file = baselineFile(o.runsDir, o.preset, g.kind, g.key);
    let b: StoredBaseline | undefined;
    if (fs.existsSync(file)) {
      try {
        b = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredBaseline;
      } catch (err) {
        throw new Error(`${file}: cannot read the cached baseline (${(err as Error).message}); delete the file to compute it again`);
      }
    } else {
      o.log?.(`[baselines/${o.preset}] ${g.kind} on ${g.config.data.dataset} ${g.config.data.trainCount ?? ''}: computing (${file})`);
      b = await computeBaseline(g.kind, g.key, g.config, g.probe, o);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, `${JSON.stringify(b, null, 2)}\n`);
    }
    out.push({ ...b, cells: g.cells });
  }
  return out;
}

async function computeBaseline(
  kind: BaselineKind,
  key: string,
  c: PretrainConfig,
  probeCfg: LinearProbeConfig,
  o: BaselineOptions,
): Promise<StoredBaseline> {
  const t0 = performance.now();
  const { train, test } = await o.registry.datasets.get(c.data.dataset).load(c.data, c.seed);
  const { name, ...opts } = c.backbone;
  const backbone: Backbone =
    kind === 'raw-pixels'
      ? new RawPixels(c.data.viewSize)
      : o.registry.backbone(name).build(name, { ...opts, imageSize: c.data.viewSize }, c.seed);
  try {
    return await withPrecision(c.precision ?? 'fp32', 'config precision (--precision)', async () => {
      const view = { viewSize: c.data.viewSize, cropFraction: c.data.evalCropFraction };
      const setup = { backbone, train, test, view, seed: c.seed + 1 };
      const { details: r } = await runEvaluator(o.registry.linearProbe(), setup, probeCfg, 'probe');
      const knn = await headlineMetric(o.registry.evaluators.get('knn'), setup, { k: c.knn.k, temperature: c.knn.temperature });
      return {
        kind,
        key,
        backbone: kind === 'raw-pixels' ? `none (${backbone.outDim} pixel values)` : name,
        data: `${c.data.dataset} ${train.count}`,
        probe: toCellProbe(r!, probeCfg, key, (performance.now() - t0) / 1000),
        knn,
        cells: [],
      };
    });
  } finally {
    backbone.dispose();
  }
}
