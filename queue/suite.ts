/**
 * `bench run SUITE --queue URL`: puts every unfinished pre-training cell of the suite on the queue
 * (job id = cell-HASH: enqueueing twice adds nothing), prints each cell's progress as workers
 * report it, waits for all, and writes the suite's outputs as a local run would: runPretrainSuite
 * finds every cell finished and only writes. Cells that failed after their attempts are listed in
 * the table as failed, with their error.
 */
import { lockOwner } from '../core/run-lock.ts';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { Suite } from '../suites/schema.ts';
import type { ResultTable } from '../report/table.ts';
import type { ResolvedCell } from '../report/suite-results.ts';
import { writePretrainOutputs } from '../report/pretrain-tables.ts';
import { type SuiteRunOptions, resolveCell, withProbe } from '../runner/pretrain-suite.ts';
import { adoptLegacyRunDir } from '../runner/cell-hash.ts';
import { readResult } from '../runner/pretrain.ts';
import { suiteBaselines } from '../runner/baselines.ts';
import { checkRedis, connectionOptions, DEFAULT_QUEUE_NAME } from './connection.ts';
import { type CellJobData, type CellOutcome, type CellProgress, cellJobId } from './jobs.ts';

export interface QueueRunOptions extends SuiteRunOptions {
  url: string;
  queueName?: string;
  /** Tries per cell before it is marked failed (default 2). */
  attempts?: number;
  /** Give up when Redis has not answered for this long (ms, default 5 min). */
  timeoutMs?: number;
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
  for (const rc of cells) adoptLegacyRunDir(rc.config, rc.runDir, o.log ?? ((l: string) => console.error(l)));
  const pending = cells.filter((rc) => !readResult(rc.runDir));
  let added = 0;
  for (const rc of pending) if (await enqueueCell(queue, suite, rc, o)) added++;
  return { pending, added };
}

/** Puts one cell on the queue unless its job is already waiting or running; true when a job was added. */
async function enqueueCell(queue: Queue<CellJobData, CellOutcome>, suite: Suite, rc: ResolvedCell, o: QueueRunOptions): Promise<boolean> {
  const id = cellJobId(rc.hash);
  const old = await queue.getJob(id);
  const state = old ? await old.getState() : undefined;
  // a job that completed elsewhere (another run store) or failed earlier: run it again
  if (old && (state === 'completed' || state === 'failed')) await old.remove();
  else if (old) return false; // waiting, delayed or active: already on its way
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
  return true;
}

const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(1)}%`);

/** How waitForCells watches the queue. */
export interface WaitOptions {
  /** The Redis URL (for messages). */
  url: string;
  /** Give up when Redis has been unreachable this long (ms). */
  timeoutMs: number;
  /** How often the cells are checked (ms, default 1000). */
  pollMs?: number;
  /** Puts a cell on the queue again (its job vanished from Redis). */
  reenqueue(rc: ResolvedCell): Promise<boolean>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Redis call that may hang while the connection is down (BullMQ retries forever): bounded here. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Waits until every pending cell is finished (its result.json in the run store) or failed for good,
 * printing a progress line per cell at each tenth of its iterations. The run store is the truth, not
 * Redis: a cell whose job vanished (Redis restarted without its data) is enqueued again unless a
 * process is training it (the run folder's lock), and a Redis unreachable for longer than
 * `timeoutMs` ends the wait with an error naming the URL and the cells still pending. Returns the
 * cells that failed.
 */
export async function waitForCells(
  queue: Queue<CellJobData, CellOutcome>,
  events: QueueEvents,
  suite: Suite,
  preset: string,
  pending: ResolvedCell[],
  log: (l: string) => void,
  w: WaitOptions,
): Promise<FailedCell[]> {
  const left = new Map(pending.map((rc) => [cellJobId(rc.hash), rc]));
  const shown = new Map<string, number>();
  const tag = (rc: ResolvedCell) => `[${suite.name}/${preset}] ${rc.cell.id}`;
  const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
    const rc = left.get(jobId);
    const p = data as CellProgress;
    if (!rc || typeof p !== 'object' || p === null || !('iter' in p)) return;
    const tenth = Math.floor((10 * p.iter) / p.total);
    if (tenth <= (shown.get(jobId) ?? -1) && p.iter !== p.total) return;
    shown.set(jobId, tenth);
    log(
      `${tag(rc)}: iter ${p.iter}/${p.total} loss ${p.loss.toFixed(3)} knn ${pct(p.knn)}${p.startIter ? ` (resumed at ${p.startIter})` : ''}`,
    );
  };
  events.on('progress', onProgress);
  const failed: FailedCell[] = [];
  let downSince: number | undefined;
  const callMs = Math.min(5000, w.timeoutMs);
  try {
    while (left.size) {
      for (const [id, rc] of left) {
        const r = readResult(rc.runDir);
        if (!r) continue;
        log(`${tag(rc)}: finished, kNN ${pct(r.final.knn)}${r.flags.diverged ? ' (diverged)' : ''}`);
        left.delete(id);
      }
      if (!left.size) break;
      try {
        for (const [id, rc] of left) {
          const job = await bounded(queue.getJob(id), callMs, `getJob(${id})`);
          if (!job) {
            if (lockOwner(rc.runDir)) continue; // a worker still trains it; its result will appear
            if (await bounded(w.reenqueue(rc), callMs, `add(${id})`)) {
              log(`${tag(rc)}: its job is no longer in Redis (restarted without its data?); enqueued again`);
            }
            continue;
          }
          const state = await bounded(job.getState(), callMs, `getState(${id})`);
          if (state === 'failed') {
            failed.push({ id: rc.cell.id, error: job.failedReason, attempts: job.attemptsMade });
            log(`${tag(rc)}: failed after ${job.attemptsMade} attempt(s): ${job.failedReason}`);
            left.delete(id);
          } else if (state === 'completed' && !readResult(rc.runDir)) {
            left.delete(id); // listed as missing by the caller
          }
        }
        if (downSince !== undefined) log(`queue: Redis at ${w.url} is back after ${((Date.now() - downSince) / 1000).toFixed(0)} s`);
        downSince = undefined;
      } catch (err) {
        if (downSince === undefined) {
          downSince = Date.now();
          log(`queue: Redis at ${w.url} does not answer (${(err as Error).message}); retrying for up to ${w.timeoutMs / 1000} s`);
        }
        if (Date.now() - downSince >= w.timeoutMs) {
          throw new Error(
            `${w.url}: Redis has not answered for ${((Date.now() - downSince) / 1000).toFixed(0)} s (--queue-timeout ${w.timeoutMs / 1000}); ` +
              `cells still pending: ${[...left.values()].map((rc) => rc.cell.id).join(', ')}. Finished cells and checkpoints are kept ` +
              'in the run store: run the same command again once Redis is up, and it goes on from there',
          );
        }
      }
      await sleep(w.pollMs ?? 1000);
    }
  } finally {
    events.off('progress', onProgress);
  }
  return failed;
}

/**
 * Enqueue, wait, and write a pre-training suite's outputs from the cells' result.json files (failed
 * cells listed as such); the pre-training kind's queue hook (kinds/pretrain.ts).
 */
export async function runSuiteOnQueue(
  suite: Suite,
  o: QueueRunOptions,
): Promise<{ table: ResultTable; files: string[]; failed: FailedCell[]; added: number }> {
  const log = o.log ?? ((l: string) => console.error(l));
  await checkRedis(o.url);
  const name = o.queueName ?? DEFAULT_QUEUE_NAME;
  const queue = new Queue<CellJobData, CellOutcome>(name, { connection: connectionOptions(o.url) });
  const events = new QueueEvents(name, { connection: connectionOptions(o.url) });
  // the connection's errors repeat every second while Redis is down: say each once a minute
  const said = new Map<string, number>();
  const once = (what: string) => (e: Error) => {
    const line = `${what}: ${e.message}`;
    if (Date.now() - (said.get(line) ?? 0) < 60_000) return;
    said.set(line, Date.now());
    log(line);
  };
  queue.on('error', once('queue'));
  events.on('error', once('queue events'));
  try {
    await events.waitUntilReady();
    const { pending, added } = await enqueueSuite(queue, suite, o);
    log(
      `[${suite.name}/${o.preset}] ${suite.cells.length - pending.length} cell(s) finished earlier; ${pending.length} on queue ` +
        `'${name}' at ${o.url} (${added} new job(s)); waiting for workers (bench worker --queue ${o.url})`,
    );
    const failed = await waitForCells(queue, events, suite, o.preset, pending, log, {
      url: o.url,
      timeoutMs: o.timeoutMs ?? 300_000,
      reenqueue: (rc) => enqueueCell(queue, suite, rc, o),
    });
    // every cell that did not fail has its result.json in the shared run store
    const cells = suite.cells.map((cell) => resolveCell(suite, cell, o));
    // the linear probes (seconds each at the small presets) run here, from the weights in the run store
    const stored = [];
    for (const rc of cells) {
      const r = readResult(rc.runDir);
      if (!r) continue;
      const probed = await withProbe(suite, rc, r, { preset: o.preset, registry: o.registry, evaluators: o.evaluators, quiet: true });
      stored.push({
        id: rc.cell.id,
        ...(rc.cell.arm ? { arm: rc.cell.arm } : {}),
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
    // the floors, computed here (the coordinator reads the same data and run store as the workers)
    const baselines = await suiteBaselines(
      cells.map((c) => ({ id: c.cell.id, config: c.config })),
      { preset: o.preset, runsDir: o.runsDir, registry: o.registry },
    );
    const { table, files } = writePretrainOutputs(suite, o.preset, o.resultsDir, stored, failed, baselines);
    return { table, files, failed, added };
  } finally {
    // closing waits for Redis; with Redis gone, drop the connections instead of waiting for ever
    const closed = await Promise.race([Promise.all([events.close(), queue.close()]).then(() => true), sleep(3000).then(() => false)]);
    if (!closed) {
      // not awaited: with the server gone these never settle
      events.disconnect().catch(() => {});
      queue.disconnect().catch(() => {});
    }
  }
}
