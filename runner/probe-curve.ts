/**
 * The probe-vs-iterations curve of a pre-training cell (issue 26: a schedule is chosen from
 * validation accuracy, and the curve it was chosen from is written down): the preset's suite probe
 * of each backbone snapshot the run took (runner/snapshots.ts), of its final weights, and of its
 * random init (iteration 0: the random-init floor, runner/baselines.ts), with the raw-pixel floor
 * beside them. Each point's probe chooses lr and epoch on the validation split held out of the
 * training images, as the cell's own probe does; its validation accuracy is what a schedule is
 * chosen on, its test accuracy is reported only. Snapshot probes are cached beside the snapshots
 * (`snapshots/linear-probe-iter-<I>-<key>.json`); the final one is the cell's own cached probe.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from '../container/container.ts';
import type { PretrainConfig } from '../core/config.ts';
import { withPrecision } from '../engine/backend.ts';
import { suiteProbeConfig } from '../recipes/evaluation.ts';
import type { CellProbe } from '../report/suite-results.ts';
import type { CurvePoint, ProbeCurve } from '../report/probe-curve.ts';
import { suiteBaselines } from './baselines.ts';
import { probeCell, probeKey, probeWeights } from './cell-probe.ts';
import { listSnapshots, SNAPSHOT_DIR } from './snapshots.ts';

export interface ProbeCurveOptions {
  preset: string;
  runsDir: string;
  registry: Registry;
  log?: (line: string) => void;
}

export function snapshotProbeFile(runDir: string, iter: number, key: string): string {
  return path.join(runDir, SNAPSHOT_DIR, `linear-probe-iter-${iter}-${key}.json`);
}

function point(iter: number, itersPerEpoch: number, source: CurvePoint['source'], p: CellProbe): CurvePoint {
  return {
    iter,
    epoch: iter / itersPerEpoch,
    source,
    ...(p.valTop1 === undefined ? {} : { valTop1: p.valTop1 }),
    top1: p.top1,
    bestBaseLr: p.bestBaseLr,
    ...(p.chosenEpoch === undefined ? {} : { chosenEpoch: p.chosenEpoch }),
  };
}

/**
 * The curve of a finished cell (`runDir` holds result.json's backbone.safetensors and the
 * snapshots); probes not cached yet run now. A cell without snapshots is an error naming the flag.
 */
export async function probeCurve(
  config: PretrainConfig,
  hash: string,
  runDir: string,
  run: { iterations: number; epochs: number },
  o: ProbeCurveOptions,
): Promise<ProbeCurve> {
  const snaps = listSnapshots(runDir);
  if (snaps.length === 0)
    throw new Error(`${runDir}: no backbone snapshots (${SNAPSHOT_DIR}/); pre-train the cell with \`bench run --snapshots N\``);
  const itersPerEpoch = run.iterations / run.epochs;
  const probeCfg = suiteProbeConfig(o.preset, config.backbone.name);
  const key = probeKey(probeCfg, config, hash);
  const points: CurvePoint[] = [];
  const floors = await suiteBaselines([{ id: hash, config }], { preset: o.preset, runsDir: o.runsDir, registry: o.registry, log: o.log });
  const raw = floors.find((b) => b.kind === 'raw-pixels')!;
  const init = floors.find((b) => b.kind === 'random-init')!;
  points.push(point(0, itersPerEpoch, 'random-init', init.probe));
  for (const s of snaps) {
    const file = snapshotProbeFile(runDir, s.iter, key);
    let p: CellProbe;
    if (fs.existsSync(file)) p = JSON.parse(fs.readFileSync(file, 'utf8')) as CellProbe;
    else {
      o.log?.(`[curve/${o.preset}] ${hash}: probing the snapshot at iteration ${s.iter}`);
      p = await withPrecision(config.precision ?? 'fp32', 'config precision (--precision)', () =>
        probeWeights(config, s.file, file, key, probeCfg, { registry: o.registry }),
      );
    }
    points.push(point(s.iter, itersPerEpoch, 'snapshot', p));
  }
  const final = await probeCell(config, hash, runDir, { preset: o.preset, registry: o.registry });
  points.push(point(run.iterations, itersPerEpoch, 'final', final));
  const bestOnValidation = points.reduce((a, b) => ((b.valTop1 ?? -1) > (a.valTop1 ?? -1) ? b : a));
  return {
    hash,
    ...(config.precision ? { precision: config.precision } : {}),
    itersPerEpoch,
    totalIters: run.iterations,
    points,
    rawPixels: { top1: raw.probe.top1, ...(raw.probe.valTop1 === undefined ? {} : { valTop1: raw.probe.valTop1 }) },
    bestOnValidation,
  };
}
