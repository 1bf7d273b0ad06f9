/**
 * Backbone snapshots taken during pre-training (`bench run --snapshots N`: every N epochs), for the
 * probe-vs-iterations curve (runner/probe-curve.ts, `bench curve`): `RUN/snapshots/iter-<I>.safetensors`,
 * the backbone's weights after I iterations, in the same format as the final backbone.safetensors.
 * Snapshots change no number of the run (they are not in its config or hash).
 */
import fs from 'node:fs';
import path from 'node:path';

export const SNAPSHOT_DIR = 'snapshots';

export function snapshotFile(runDir: string, iter: number): string {
  return path.join(runDir, SNAPSHOT_DIR, `iter-${iter}.safetensors`);
}

/** The run's snapshots, by iteration (none when it took none). */
export function listSnapshots(runDir: string): { iter: number; file: string }[] {
  const dir = path.join(runDir, SNAPSHOT_DIR);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((f) => ({ m: /^iter-(\d+)\.safetensors$/.exec(f), f }))
    .filter((x): x is { m: RegExpExecArray; f: string } => x.m !== null)
    .map(({ m, f }) => ({ iter: Number(m[1]), file: path.join(dir, f) }))
    .sort((a, b) => a.iter - b.iter);
}

/** The iterations a run of `totalIters` snapshots at, every `everyEpochs` epochs (the last iteration's weights are backbone.safetensors). */
export function snapshotIters(everyEpochs: number, itersPerEpoch: number, totalIters: number): number[] {
  if (!(everyEpochs > 0)) throw new Error(`--snapshots: ${everyEpochs} is not a positive number of epochs`);
  const every = Math.max(1, Math.round(everyEpochs * itersPerEpoch));
  const out: number[] = [];
  for (let i = every; i < totalIters; i += every) out.push(i);
  return out;
}
