/**
 * `bench run SUITE --queue URL`: puts every unfinished pre-training cell of the suite on the queue
 * (job id = cell-HASH: enqueueing twice adds nothing), prints each cell's progress as workers
 * report it, waits for all, and writes the suite's outputs as a local run would: runPretrainSuite
 * finds every cell finished and only writes. Cells that failed after their attempts are listed in
 * the table as failed, with their error.
 */
import path from 'node:path';
import { type Job, Queue, QueueEvents } from 'bullmq';
import type { Suite } from '../suites/schema.ts';
import type { ResultTable } from '../report/table.ts';
import type { ResolvedCell } from '../report/suite-results.ts';
import { writePretrainOutputs } from '../report/pretrain-tables.ts';
import { type SuiteRunOptions, resolveCell, withProbe } from '../runner/pretrain-suite.ts';
import { readResult } from '../runner/pretrain.ts';
import { checkRedis, connectionOptions, DEFAULT_QUEUE_NAME } from './connection.ts';
import { type CellJobData, type CellOutcome, type CellProgress, cellJobId } from './jobs.ts';

export interface QueueRunOptions extends SuiteRunOptions {
  url: string;
  queueName?: string;
  /** Tries per cell before it is marked failed (default 2). */
  attempts?: number;
}

export interface FailedCell {
  id: string;
  error: string;
  attempts: number;
}

/** Adds the suite's unfinished cells as jobs; returns the cells and how many jobs were new. */
export async function enqueueSuite(
  queue: Queue<CellJobData, CellOutcome>,
  suite: Suite,
  o: QueueRunOptions,
): Promise<{ pending: ResolvedCell[]; added: number }> {
  const cells = suite.cells.map((cell) => resolveCell(suite, cell, o));
  const pending = cells.filter((rc) => !readResult(rc.runDir));
  let added = 0;
  for (const rc of pending) {
    const id = cellJobId(rc.hash);
    const old = await queue.getJob(id);
    const state = old ? await old.getState() : undefined;
    // a job that completed elsewhere (another run store) or failed earlier: run it again
    if (old && (state === 'completed' || state === 'failed')) await old.remove();
    else if (old) continue; // waiting, delayed or active: already on its way
    const data: CellJobData = {
      suite: suite.name,
      preset: o.preset,
      cellId: rc.cell.id,
      config: rc.config,
      runDir: rc.runDir,
      runKey: path.relative(o.runsDir, rc.runDir),
      resultsDir: o.resultsDir,
    };
    await queue.add(rc.cell.id, data, {
      jobId: id,
      attempts: o.attempts ?? 2,
      backoff: { type: 'fixed', delay: 1000 },
      removeOnComplete: false,
      removeOnFail: false,
    });
    added++;
  }
  return { pending, added };
}

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`);

/**
 * Waits until every pending cell's job has finished (completed or failed for good), printing a
 * progress line per cell at each tenth of its iterations. Returns the cells that failed.
 */
export async function waitForCells(
  queue: Queue<CellJobData, CellOutcome>,
  events: QueueEvents,
  suite: Suite,
  preset: string,
  pending: ResolvedCell[],
  log: (l: string) => void,
): Promise<FailedCell[]> {
  const byId = new Map(pending.map((rc) => [cellJobId(rc.hash), rc]));
  const shown = new Map<string, number>();
  const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
    const rc = byId.get(jobId);
    const p = data as CellProgress;
    if (!rc || typeof p !== 'object' || p === null || !('iter' in p)) return;
    const tenth = Math.floor((10 * p.iter) / p.total);
    if (tenth <= (shown.get(jobId) ?? -1) && p.iter !== p.total) return;
    shown.set(jobId, tenth);
    log(
      `[${suite.name}/${preset}] ${rc.cell.id}: iter ${p.iter}/${p.total} loss ${p.loss.toFixed(3)} knn ` +
        `${pct(p.knn)}${p.startIter ? ` (resumed at ${p.startIter})` : ''}`,
    );
  };
  events.on('progress', onProgress);
  const failed: FailedCell[] = [];
  try {
    await Promise.all(
      [...byId].map(async ([id, rc]) => {
        const job = (await queue.getJob(id)) as Job<CellJobData, CellOutcome>;
        try {
          const r = await job.waitUntilFinished(events);
          log(`[${suite.name}/${preset}] ${rc.cell.id}: finished, kNN ${pct(r.knn)}${r.diverged ? ' (diverged)' : ''}`);
        } catch (err) {
          const after = (await queue.getJob(id)) ?? job;
          failed.push({ id: rc.cell.id, error: (err as Error).message, attempts: after.attemptsMade });
          log(`[${suite.name}/${preset}] ${rc.cell.id}: failed after ${after.attemptsMade} attempt(s): ${(err as Error).message}`);
        }
      }),
    );
  } finally {
    events.off('progress', onProgress);
  }
  return failed;
}

/** Enqueue, wait, and write the suite's outputs from the cells' result.json files (failed cells listed as such). */
export async function runSuiteOnQueue(
  suite: Suite,
  o: QueueRunOptions,
): Promise<{ table: ResultTable; files: string[]; failed: FailedCell[]; added: number }> {
  if (suite.kind !== 'pretrain')
    throw new Error(`--queue runs pre-training suites only; suite ${suite.name} is of kind '${suite.kind}': run it without --queue`);
  const log = o.log ?? ((l: string) => console.error(l));
  await checkRedis(o.url);
  const name = o.queueName ?? DEFAULT_QUEUE_NAME;
  const queue = new Queue<CellJobData, CellOutcome>(name, { connection: connectionOptions(o.url) });
  const events = new QueueEvents(name, { connection: connectionOptions(o.url) });
  queue.on('error', (e) => log(`queue: ${e.message}`));
  events.on('error', (e) => log(`queue events: ${e.message}`));
  try {
    await events.waitUntilReady();
    const { pending, added } = await enqueueSuite(queue, suite, o);
    log(
      `[${suite.name}/${o.preset}] ${suite.cells.length - pending.length} cell(s) finished earlier; ${pending.length} on queue ` +
        `'${name}' at ${o.url} (${added} new job(s)); waiting for workers (bench worker --queue ${o.url})`,
    );
    const failed = await waitForCells(queue, events, suite, o.preset, pending, log);
    // every cell that did not fail has its result.json in the shared run store
    const cells = suite.cells.map((cell) => resolveCell(suite, cell, o));
    // the linear probes (seconds each at the small presets) run here, from the weights in the run store
    const stored = [];
    for (const rc of cells) {
      const r = readResult(rc.runDir);
      if (!r) continue;
      const probed = await withProbe(suite, rc, r, { preset: o.preset, registry: o.registry, quiet: true });
      stored.push({
        id: rc.cell.id,
        ...probed,
        runDir: path.relative(process.cwd(), rc.runDir),
        weights: path.relative(process.cwd(), r.weights),
      });
    }
    const missing = cells.filter((rc) => !readResult(rc.runDir) && !failed.some((f) => f.id === rc.cell.id));
    for (const rc of missing)
      failed.push({
        id: rc.cell.id,
        error: `its job completed but ${path.join(rc.runDir, 'result.json')} is missing: do the workers share this run store (--runs)?`,
        attempts: 0,
      });
    const { table, files } = writePretrainOutputs(suite, o.preset, o.resultsDir, stored, failed);
    return { table, files, failed, added };
  } finally {
    await events.close();
    await queue.close();
  }
}
