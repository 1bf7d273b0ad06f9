/**
 * The linear probe of a finished pre-training cell: the measured column of every pre-training
 * suite. It runs after pre-training, from the cell's exported weights (backbone.safetensors), and
 * is cached beside them as `linear-probe-<key>.json`, the key hashing the probe config, the data
 * and the pre-training config: a finished pre-training is never re-run to add or re-run its probe,
 * and a changed probe protocol gets a new file instead of a stale one. A diverged cell has no
 * weights and no probe. What it stores (CellProbe) is report/suite-results.ts'.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Registry } from '../container/container.ts';
import { CELL } from '../container/cell-container.ts';
import type { Backbone } from '../backbones/backbone.ts';
import type { DatasetSource } from '../data/sources.ts';
import { loadWeights } from '../engine/weights.ts';
import { withPrecision } from '../engine/backend.ts';
import { type LinearProbeConfig, suiteProbeConfig } from '../recipes/evaluation.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { canonicalJson, type PretrainConfig } from '../core/config.ts';
import type { CellProbe } from '../report/suite-results.ts';
import type { LinearProbeResult } from '../evaluators/linear-probe.ts';
import { type EvalInput, runEvaluator } from '../evaluators/evaluator.ts';
import { dataIdentity } from './cell-hash.ts';

export const WEIGHTS_FILE = 'backbone.safetensors';

/** The cache key of a cell's probe: probe config, data and the pre-training config's hash. */
export function probeKey(probe: LinearProbeConfig, config: PretrainConfig, pretrainHash: string): string {
  return createHash('sha256')
    .update(canonicalJson({ probe, data: dataIdentity(config.data), seed: config.seed, pretrain: pretrainHash }))
    .digest('hex')
    .slice(0, 12);
}

export function probeFile(runDir: string, key: string): string {
  return path.join(runDir, `linear-probe-${key}.json`);
}

/** A cached probe of the cell, if there is one for this probe config. */
export function readCellProbe(runDir: string, key: string): CellProbe | undefined {
  const f = probeFile(runDir, key);
  if (!fs.existsSync(f)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')) as CellProbe;
  } catch (err) {
    throw new Error(`${f}: cannot read the cached linear probe (${(err as Error).message}); delete the file to probe again`);
  }
}

export interface CellProbeOptions {
  preset: string;
  registry: Registry;
  onProgress?: EvalInput['onProgress'];
}

/**
 * The probe of a finished, non-diverged cell: cached, or run now from `runDir/backbone.safetensors`
 * with the preset's suite probe (recipes/evaluation.ts), its head seeded with the cell's seed + 1.
 */
export async function probeCell(config: PretrainConfig, hash: string, runDir: string, o: CellProbeOptions): Promise<CellProbe> {
  const probeCfg = suiteProbeConfig(o.preset, config.backbone.name);
  const key = probeKey(probeCfg, config, hash);
  const cached = readCellProbe(runDir, key);
  if (cached) return cached;
  const weights = path.join(runDir, WEIGHTS_FILE);
  if (!fs.existsSync(weights))
    throw new Error(
      `${weights}: the cell's pre-trained weights are missing; cannot run its linear probe (delete ` +
        `${path.join(runDir, 'result.json')} to pre-train it again)`,
    );
  return withPrecision(config.precision ?? 'fp32', 'config precision (--precision)', () =>
    probeWeights(config, weights, probeFile(runDir, key), key, probeCfg, o),
  );
}

/**
 * The suite probe of the backbone in `weights` (built as the cell's, seeded like it), written to
 * `out`; runs at the precision already in force (the caller's withPrecision).
 */
export async function probeWeights(
  config: PretrainConfig,
  weights: string,
  out: string,
  key: string,
  probeCfg: LinearProbeConfig,
  o: Pick<CellProbeOptions, 'registry' | 'onProgress'>,
): Promise<CellProbe> {
  const t0 = performance.now();
  const { backbone, dataset } = pretrainedBackbone(config, weights, o.registry);
  try {
    const { train, test } = await dataset.load(config.data, config.seed);
    const { details } = await runEvaluator(
      o.registry.linearProbe(),
      {
        backbone,
        train,
        test,
        view: { viewSize: config.data.viewSize, cropFraction: config.data.evalCropFraction },
        seed: config.seed + 1,
        onProgress: o.onProgress,
      },
      probeCfg,
      'probe',
    );
    const result = toCellProbe(details!, probeCfg, key, (performance.now() - t0) / 1000);
    writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    backbone.dispose();
  }
}

/**
 * The cell's backbone as its pre-training built it (same options, same seed) with the weights in
 * `weights`, and the cell's data set, from the cell's container. The caller disposes the backbone.
 */
export function pretrainedBackbone(
  config: PretrainConfig,
  weights: string,
  registry: Registry,
): { backbone: Backbone; dataset: DatasetSource } {
  const { name, ...opts } = config.backbone;
  const cell = registry.cell(config);
  const backbone = cell.get(CELL.buildBackbone)(name, { ...opts, imageSize: config.data.viewSize }, config.seed);
  try {
    loadWeights(backbone, weights);
  } catch (err) {
    backbone.dispose();
    throw err;
  }
  return { backbone, dataset: cell.get(CELL.dataset) };
}

/** What a suite stores of a probe's result (report/suite-results.ts CellProbe). */
export function toCellProbe(r: LinearProbeResult, config: LinearProbeConfig, key: string, seconds: number): CellProbe {
  return {
    top1: r.top1,
    chosenOn: r.chosenOn,
    bestBaseLr: r.bestBaseLr,
    chosenEpoch: r.chosenEpoch,
    ...(r.valTop1 === undefined ? {} : { valTop1: r.valTop1 }),
    valCount: r.valCount,
    trainCount: r.trainCount,
    bestTestTop1: r.bestTestTop1,
    sweepExtended: r.sweepExtended,
    ...(r.sweepStopped ? { sweepStopped: r.sweepStopped } : {}),
    perLr: r.perLr.map((l) => ({
      baseLr: l.baseLr,
      bestTop1: l.bestTop1,
      ...(l.bestValTop1 === undefined ? {} : { bestValTop1: l.bestValTop1 }),
    })),
    config,
    key,
    seconds,
  };
}
