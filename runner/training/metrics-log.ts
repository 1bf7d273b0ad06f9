/**
 * Scalars as they happen: one line per training step in the run folder's `metrics.jsonl` and one row
 * in `metrics.csv` (iteration, epoch, loss, lr, momentum, the kNN monitor where it was evaluated,
 * images/s, wall seconds, then one `grad_<layer>` column per monitored layer), appended and flushed
 * every step so that pandas, a plotting tool or `bench report --run DIR` can read them while the run
 * trains. A resumed run first drops the lines past its checkpoint (a killed run wrote steps the
 * checkpoint does not have), so the files always equal one uninterrupted run's. The same scalars go
 * to a TensorBoard event file (core/tfevents.ts; `tensorboard --logdir runs/`), rewritten from
 * metrics.jsonl when a run resumes, so it too holds each step once.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StepEvent, TrainCallback, LoopState } from './loop.ts';
import { METRICS_CSV, METRICS_JSONL, type MetricsRow, readMetrics } from '../../core/metrics.ts';
import { TfEventsWriter } from '../../core/tfevents.ts';

/** The TensorBoard scalars of a metrics row: tag -> value. */
export function tensorboardScalars(row: MetricsRow): Record<string, number> {
  return {
    'train/loss': row.loss,
    'train/lr': row.lr,
    ...(row.momentum === undefined ? {} : { 'train/momentum': row.momentum }),
    ...(row.knn === undefined ? {} : { 'knn_monitor/top1': row.knn }),
    'speed/images_per_s': row.images_per_s,
    ...Object.fromEntries(Object.entries(row.grad ?? {}).map(([label, v]) => [`grad_norm/${label}`, v])),
  };
}

/** The run folder's event file name: TensorBoard reads `events.out.tfevents.*`. */
export const EVENTS_PREFIX = 'events.out.tfevents.';

export { METRICS_CSV, METRICS_JSONL, type MetricsRow, readMetrics };

const num = (x: number | undefined) => (x === undefined ? '' : String(x));

/** Keeps the lines of `file` whose iteration is at most `maxIter` (lines are in iteration order). */
function truncateAfter(file: string, maxIter: number, iterOf: (line: string) => number | undefined): void {
  if (!fs.existsSync(file)) return;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const kept = lines.filter((l, i) => {
    if (!l) return false;
    const it = iterOf(l);
    return it === undefined ? i === 0 : it <= maxIter;
  });
  fs.writeFileSync(file, kept.length ? `${kept.join('\n')}\n` : '');
}

export class MetricsLog implements TrainCallback {
  readonly phase = 'metrics';
  private readonly jsonl: string;
  private readonly csv: string;
  private gradKeys?: string[];
  private last = performance.now();
  private wall = 0;
  private readonly events: TfEventsWriter;
  /** Unix seconds of wall_s 0 (events carry absolute wall times). */
  private readonly t0: number;

  /**
   * @param images images per step (two views of `batch` images count as `batch` source images)
   * @param stats the framework's diagnostics of the step just taken (`Framework.lastStats`): its
   *   `momentum` (the momentum encoder's m, for frameworks that have one) is logged
   */
  constructor(
    runDir: string,
    startIter: number,
    private readonly images: number,
    private readonly stats: (() => Record<string, number> | undefined) | undefined,
  ) {
    this.jsonl = path.join(runDir, METRICS_JSONL);
    this.csv = path.join(runDir, METRICS_CSV);
    truncateAfter(this.jsonl, startIter, (l) => {
      try {
        return (JSON.parse(l) as MetricsRow).iter;
      } catch {
        return Number.POSITIVE_INFINITY;
      }
    });
    truncateAfter(this.csv, startIter, (l) => (/^\d/.test(l) ? Number(l.slice(0, l.indexOf(','))) : undefined));
    if (fs.existsSync(this.csv) && fs.statSync(this.csv).size > 0) {
      this.gradKeys = fs
        .readFileSync(this.csv, 'utf8')
        .split('\n', 1)[0]
        .split(',')
        .filter((h) => h.startsWith('grad_'));
    }
    const rows = readMetrics(runDir);
    this.wall = rows.at(-1)?.wall_s ?? 0;
    this.t0 = Date.now() / 1000 - this.wall;
    for (const f of fs.readdirSync(runDir)) if (f.startsWith(EVENTS_PREFIX)) fs.rmSync(path.join(runDir, f));
    this.events = new TfEventsWriter(path.join(runDir, `${EVENTS_PREFIX}${Math.floor(this.t0)}.sslbench`), this.t0);
    for (const r of rows) this.events.scalars(this.t0 + r.wall_s, r.iter, tensorboardScalars(r));
  }

  onStep(e: StepEvent, { run }: LoopState): void {
    const now = performance.now();
    const seconds = (now - this.last) / 1000;
    this.last = now;
    this.wall += seconds;
    const knnPoint = run.curves.knn.at(-1);
    const row: MetricsRow = {
      iter: e.next,
      epoch: e.next / e.itersPerEpoch,
      loss: e.loss,
      lr: e.lr,
      ...momentumOf(this.stats?.()),
      ...(knnPoint?.iter === e.next ? { knn: knnPoint.value } : {}),
      images_per_s: seconds > 0 ? this.images / seconds : 0,
      wall_s: this.wall,
      ...(e.phases ? { views_s: e.phases.views, step_s: e.phases.step } : {}),
      ...(e.gradNorms ? { grad: e.gradNorms } : {}),
    };
    fs.appendFileSync(this.jsonl, `${JSON.stringify(row)}\n`);
    this.events.scalars(this.t0 + row.wall_s, row.iter, tensorboardScalars(row));
    if (!this.gradKeys) {
      this.gradKeys = Object.keys(e.gradNorms ?? {}).map((k) => `grad_${k}`);
      const header = ['iter', 'epoch', 'loss', 'lr', 'momentum', 'knn', 'images_per_s', 'wall_s', 'views_s', 'step_s', ...this.gradKeys];
      fs.writeFileSync(this.csv, `${header.join(',')}\n`);
    }
    const grads = this.gradKeys.map((k) => num(e.gradNorms?.[k.slice(5)]));
    const cells = [row.iter, row.epoch, row.loss, row.lr, row.momentum, row.knn, row.images_per_s, row.wall_s, row.views_s, row.step_s].map(
      (x) => num(x),
    );
    fs.appendFileSync(this.csv, `${[...cells, ...grads].join(',')}\n`);
  }
}

/** The momentum of a framework's step diagnostics, as a row field (none when it has none). */
function momentumOf(stats: Record<string, number> | undefined): { momentum?: number } {
  const m = stats?.momentum;
  return typeof m === 'number' && Number.isFinite(m) ? { momentum: m } : {};
}
