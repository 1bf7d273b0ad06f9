/** The per-step metrics files of a run folder (written by runner/training/metrics-log.ts) and their reader. */
import fs from 'node:fs';
import path from 'node:path';

export const METRICS_JSONL = 'metrics.jsonl';
export const METRICS_CSV = 'metrics.csv';

export interface MetricsRow {
  iter: number;
  epoch: number;
  loss: number;
  lr: number;
  momentum?: number;
  knn?: number;
  images_per_s: number;
  wall_s: number;
  /** Seconds of the step's augmentation (the two views) and of the training step itself. */
  views_s?: number;
  step_s?: number;
  grad?: Record<string, number>;
}

/** Reads a run's metrics.jsonl (what has been written so far). */
export function readMetrics(runDir: string): MetricsRow[] {
  const file = path.join(runDir, METRICS_JSONL);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as MetricsRow];
      } catch {
        return []; // a line being written right now
      }
    });
}
