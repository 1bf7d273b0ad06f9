/**
 * Plots of one run from its metrics.jsonl, readable while it trains (`bench report --run DIR`):
 * loss, kNN monitor and lr against the iteration, written as SVG beside the metrics.
 */
import fs from 'node:fs';
import path from 'node:path';
import { peekCheckpointIndex } from '../core/checkpoint.ts';
import { lockOwner } from '../core/run-lock.ts';
import type { PretrainResult } from '../core/results.ts';
import { type MetricsRow, readMetrics } from '../core/metrics.ts';
import { renderLinePlot } from './svg-plot.ts';
import { writeFileSet } from '../core/file-set.ts';

export interface RunPlots {
  files: string[];
  summary: string;
}

export function plotRunMetrics(runDir: string): RunPlots {
  const rows = readMetrics(runDir);
  if (!rows.length)
    throw new Error(`${path.join(runDir, 'metrics.jsonl')}: no metrics yet (is this a run folder, and has its first step run?)`);
  const name = path.basename(runDir);
  const plot = (key: 'loss' | 'knn' | 'lr', yLabel: string, scale = 1) => {
    const points = rows.filter((r) => r[key] !== undefined).map((r) => [r.iter, (r[key] as number) * scale] as [number, number]);
    return renderLinePlot([{ label: name, points }], {
      title: `${name}: ${yLabel} (${rows.length} iterations so far)`,
      xLabel: 'iteration',
      yLabel,
    });
  };
  const files = [
    { file: path.join(runDir, 'metrics-loss.svg'), data: plot('loss', 'training loss') },
    { file: path.join(runDir, 'metrics-lr.svg'), data: plot('lr', 'learning rate') },
  ];
  if (rows.some((r) => r.knn !== undefined))
    files.push({ file: path.join(runDir, 'metrics-knn.svg'), data: plot('knn', 'kNN monitor top-1 (%)', 100) });
  writeFileSet(files);
  const last = rows[rows.length - 1];
  const knn = rows.filter((r) => r.knn !== undefined).at(-1)?.knn;
  const recent = rows.slice(-20);
  const ips = recent.reduce((a, r) => a + r.images_per_s, 0) / recent.length;
  return {
    files: files.map((f) => f.file),
    summary:
      `${name}: iteration ${last.iter} (epoch ${last.epoch.toFixed(2)}), loss ${last.loss.toFixed(4)}, lr ${last.lr.toPrecision(3)}` +
      `${knn === undefined ? '' : `, kNN ${(100 * knn).toFixed(1)}%`}, ${ips.toFixed(1)} images/s, ${last.wall_s.toFixed(0)} s of training` +
      phaseSplit(recent) +
      `\n${runState(runDir)}`,
  };
}

/**
 * Where the run stands, in words: finished (with its linear probe when there is one), diverged
 * (where and why), being trained (by whom), or stopped at a checkpoint (and how to resume).
 */
export function runState(runDir: string): string {
  const read = <T>(f: string): T | undefined => {
    try {
      return JSON.parse(fs.readFileSync(path.join(runDir, f), 'utf8')) as T;
    } catch {
      return undefined;
    }
  };
  const result = read<PretrainResult>('result.json');
  if (result?.flags.diverged) {
    return (
      `state: diverged at iteration ${(result.flags.divergedAt ?? 0) + 1} (${result.flags.reason ?? 'the loss became non-finite'}); ` +
      'no weights, no probe'
    );
  }
  if (result) {
    const probes = fs
      .readdirSync(runDir)
      .filter((f) => /^linear-probe-[0-9a-f]+\.json$/.test(f))
      .map((f) => ({ f, t: fs.statSync(path.join(runDir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    const probe = probes.length ? read<{ top1: number; bestBaseLr: number; chosenOn?: string; valTop1?: number }>(probes[0].f) : undefined;
    return (
      `state: finished, ${result.iterations} iterations in ${result.wallSeconds.toFixed(0)} s; kNN ${(100 * result.final.knn).toFixed(1)}%` +
      (probe
        ? `; linear probe ${(100 * probe.top1).toFixed(1)}% (lr ${probe.bestBaseLr}, chosen on ${probe.chosenOn ?? 'test'}` +
          `${probe.valTop1 === undefined ? '' : `, validation ${(100 * probe.valTop1).toFixed(1)}%`})`
        : '; not probed yet (bench run probes it)')
    );
  }
  const owner = lockOwner(runDir);
  if (owner) return `state: running (pid ${owner.pid} on ${owner.host}, since ${owner.since})`;
  const ckpt = peekCheckpointIndex(runDir);
  if (ckpt && 'meta' in ckpt) return `state: stopped at its checkpoint of iteration ${ckpt.meta.iter}; the same bench run resumes it`;
  return 'state: stopped before its first checkpoint; bench run starts it again';
}

/** The share of the recent iterations' wall time spent augmenting (views_s) and in the training step (step_s), the rest in monitor, checkpoints and logging. */
function phaseSplit(recent: MetricsRow[]): string {
  const timed = recent.filter((r) => r.views_s !== undefined && r.step_s !== undefined);
  if (timed.length < 2 || timed.length !== recent.length) return '';
  const wall = recent[recent.length - 1].wall_s - recent[0].wall_s;
  if (!(wall > 0)) return '';
  const rest = recent.slice(1);
  const pct = (f: (r: MetricsRow) => number) => ((100 * rest.reduce((a, r) => a + f(r), 0)) / wall).toFixed(0);
  return ` (last ${rest.length} iterations: augmentation ${pct((r) => r.views_s!)} %, training step ${pct((r) => r.step_s!)} %, the rest monitor, checkpoints and logging)`;
}
