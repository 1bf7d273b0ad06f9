/**
 * A suite's further evaluators (its `evaluators` list, or `bench run --evaluate NAME`) on each
 * finished cell: resolved by name from the container, run through the one evaluator contract
 * (evaluators/evaluator.ts) on the cell's exported weights, and cached beside them as
 * `eval-<name>-<key>.json` (the key hashes the evaluator, its config, the data and the pre-training
 * config), so that adding an evaluator to a suite never re-runs a pre-training. A diverged cell
 * has no weights and no evaluations.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Registry } from '../container/container.ts';
import { canonicalJson, type PretrainConfig } from '../core/config.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { withPrecision } from '../engine/backend.ts';
import { type EvalInput, runEvaluator } from '../evaluators/evaluator.ts';
import { parsePluginConfig } from '../core/plugin.ts';
import type { StoredEvaluation } from '../report/suite-results.ts';
import type { SuiteEvaluator } from '../suites/schema.ts';
import { dataIdentity } from './cell-hash.ts';
import { pretrainedBackbone, WEIGHTS_FILE } from './cell-probe.ts';

/** One evaluator of a suite: its name in the container and its config fields (defaults for the rest). */
export type EvaluatorSpec = SuiteEvaluator;

/** The seed of what an evaluator draws: the cell's + 3 (the probe takes + 1, fine-tuning + 2). */
export const EVALUATOR_SEED_OFFSET = 3;

export interface CellEvaluationOptions {
  registry: Registry;
  log?: (line: string) => void;
  onProgress?: (evaluator: string) => EvalInput['onProgress'];
}

/** Checks a suite's evaluator list against the container before any cell runs: names and configs. */
export function checkEvaluatorSpecs(specs: readonly EvaluatorSpec[], registry: Registry, where: string): void {
  const seen = new Set<string>();
  for (const [i, s] of specs.entries()) {
    const e = registry.evaluators.get(s.name);
    if (seen.has(s.name)) throw new Error(`${where}: evaluators[${i}]: '${s.name}' is listed twice`);
    seen.add(s.name);
    parsePluginConfig(e.schema, s.config ?? {}, `${where}: evaluators[${i}] (${s.name}).config`);
  }
}

function evaluationKey(name: string, config: unknown, c: PretrainConfig, pretrainHash: string): string {
  return createHash('sha256')
    .update(canonicalJson({ evaluator: name, config, data: dataIdentity(c.data), seed: c.seed, pretrain: pretrainHash }))
    .digest('hex')
    .slice(0, 12);
}

/** Each evaluator of `specs` on the cell in `runDir` (cached, or run now from its weights), by name. */
export async function evaluateCell(
  config: PretrainConfig,
  hash: string,
  runDir: string,
  specs: readonly EvaluatorSpec[],
  o: CellEvaluationOptions,
): Promise<Record<string, StoredEvaluation>> {
  const out: Record<string, StoredEvaluation> = {};
  for (const s of specs) {
    const e = o.registry.evaluators.get(s.name);
    const cfg = parsePluginConfig(e.schema, s.config ?? {}, `evaluator ${s.name}`);
    const key = evaluationKey(s.name, cfg, config, hash);
    const file = path.join(runDir, `eval-${s.name}-${key}.json`);
    if (fs.existsSync(file)) {
      try {
        const { details: _d, ...stored } = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredEvaluation & { details?: unknown };
        out[s.name] = stored;
        continue;
      } catch (err) {
        throw new Error(`${file}: cannot read the cached evaluation (${(err as Error).message}); delete the file to evaluate again`);
      }
    }
    const weights = path.join(runDir, WEIGHTS_FILE);
    if (!fs.existsSync(weights))
      throw new Error(`${weights}: the cell's pre-trained weights are missing; cannot run evaluator '${s.name}' on it`);
    const t0 = performance.now();
    const { backbone, dataset } = pretrainedBackbone(config, weights, o.registry);
    try {
      const { train, test } = await dataset.load(config.data, config.seed);
      const r = await withPrecision(config.precision ?? 'fp32', 'config precision (--precision)', () =>
        runEvaluator(
          e,
          {
            backbone,
            train,
            test,
            view: { viewSize: config.data.viewSize, cropFraction: config.data.evalCropFraction },
            seed: config.seed + EVALUATOR_SEED_OFFSET,
            onProgress: o.onProgress?.(s.name),
          },
          cfg,
          `evaluator ${s.name}`,
        ),
      );
      const stored: StoredEvaluation = {
        evaluator: s.name,
        column: { ...e.column },
        metrics: r.metrics,
        config: r.config,
        key,
        seconds: (performance.now() - t0) / 1000,
      };
      writeFileAtomic(file, `${JSON.stringify({ ...stored, details: r.details ?? null }, null, 2)}\n`);
      o.log?.(
        `${runDir}: evaluator ${s.name}: ${Object.entries(r.metrics)
          .map(([k, v]) => `${k} ${+v.toPrecision(4)}`)
          .join(', ')}`,
      );
      out[s.name] = stored;
    } finally {
      backbone.dispose();
    }
  }
  return out;
}
