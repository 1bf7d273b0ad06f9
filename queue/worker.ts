/**
 * A queue worker: takes cell jobs from Redis (BullMQ Worker) and runs each in a child process
 * (queue/run-cell.ts, forked through tsx), forwarding the child's progress to job.updateProgress.
 * The cell's run folder is on a filesystem every worker shares, so a job that stalls (its worker
 * killed: the lock is not renewed) is moved back to the queue by BullMQ and resumed by another
 * worker from the cell's last checkpoint. A cell that throws is retried (the job's attempts, set at
 * enqueue), then marked failed with its error.
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { type Job, Worker } from 'bullmq';
import { checkRedis, connectionOptions, DEFAULT_QUEUE_NAME } from './connection.ts';
import type { CellJobData, CellOutcome, ChildMessage, ChildStart } from './jobs.ts';
import { scriptEntry } from '../core/install-root.ts';

export interface CellWorkerOptions {
  url: string;
  queueName?: string;
  /** Jobs run at once, each in its own child process (default 1). */
  concurrency?: number;
  backend?: string;
  threads?: number;
  native?: boolean;
  /** The run store on this machine; default: each job's runDir as enqueued. */
  runsDir?: string;
  /** Where this machine holds the cells' data (`data.path`); default: the path as enqueued. */
  dataPath?: string;
  /** Milliseconds a job's lock lasts without renewal (BullMQ default 30 s); a killed worker's job stalls after it. */
  lockDuration?: number;
  /** Milliseconds between checks for stalled jobs (BullMQ default 30 s). */
  stalledInterval?: number;
  log?: (line: string) => void;
  /**
   * An idle worker gives up when Redis has not answered for this long (milliseconds; default 300 s,
   * `bench worker --queue-timeout`): `gaveUp` resolves with why. A worker running a cell goes on.
   */
  queueTimeoutMs?: number;
  /** How often Redis is checked (milliseconds; default 2 s). */
  pingMs?: number;
}

/** Errors that mean Redis is unreachable (logged once per outage, not at every reconnection). */
const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Connection is closed|cannot reach Redis/;

/** Runs one job's cell in a child process; resolves with its outcome, rejects with its error. */
function runInChild(
  job: Job<CellJobData>,
  o: CellWorkerOptions,
  children: Set<import('node:child_process').ChildProcess>,
  log: (line: string) => void,
): Promise<CellOutcome> {
  const runDir = o.runsDir ? path.join(o.runsDir, job.data.runKey) : job.data.runDir;
  const start: ChildStart = {
    config: job.data.config,
    runDir,
    backend: o.backend ?? 'auto',
    threads: o.threads,
    native: o.native ?? true,
    marker: `host ${os.hostname()} pid ${process.pid} job ${job.id} attempt ${job.attemptsMade + 1}`,
    hash: job.data.runKey.slice(job.data.runKey.lastIndexOf('-') + 1),
    ...(o.dataPath ? { dataPath: o.dataPath } : {}),
  };
  return new Promise((resolve, reject) => {
    const { file, execArgv } = scriptEntry('queue/run-cell.ts', 'run-cell');
    const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    let outcome: CellOutcome | undefined;
    let error: string | undefined;
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'progress') job.updateProgress({ ...m.progress }).catch(() => {});
      else if (m.type === 'done') outcome = m.outcome;
      else if (m.type === 'log') log(`[worker ${process.pid}] ${job.data.cellId}: ${m.line}`);
      else error = m.message;
    });
    child.once('error', (e) => (error ??= e.message));
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (outcome) resolve(outcome);
      else reject(new Error(error ?? `cell process ended without a result (${signal ? `signal ${signal}` : `exit code ${code}`})`));
    });
    child.send(start);
  });
}

/**
 * Starts a worker on the queue (after checking that Redis answers). `close()` stops taking jobs,
 * ends the running cells' processes (their jobs stall and go back to the queue) and disconnects.
 */
export async function startCellWorker(
  o: CellWorkerOptions,
): Promise<{ worker: Worker<CellJobData, CellOutcome>; close: () => Promise<void>; gaveUp: Promise<string> }> {
  await checkRedis(o.url);
  const log = o.log ?? ((l: string) => console.error(l));
  const children = new Set<import('node:child_process').ChildProcess>();
  const worker = new Worker<CellJobData, CellOutcome>(o.queueName ?? DEFAULT_QUEUE_NAME, (job) => runInChild(job, o, children, log), {
    connection: connectionOptions(o.url),
    concurrency: o.concurrency ?? 1,
    lockDuration: o.lockDuration ?? 30_000,
    stalledInterval: o.stalledInterval ?? 30_000,
    // a worker killed twice on the same cell is not the cell's fault: allow a few
    maxStalledCount: 3,
  });
  const timeoutMs = o.queueTimeoutMs ?? 300_000;
  let downSince: number | undefined;
  /** The first sign of an outage is logged; its reconnection errors are not (the watchdog ends it). */
  const markDown = (message: string) => {
    if (downSince !== undefined) return;
    downSince = Date.now();
    log(`worker: ${message}; waiting up to ${timeoutMs / 1000} s for Redis (--queue-timeout)`);
  };
  worker.on('error', (e) => {
    if (CONNECTION_ERROR.test(e.message)) markDown(e.message);
    else log(`worker: ${e.message}`);
  });
  worker.on('active', (job) =>
    log(
      `[worker ${process.pid}] ${job.data.suite}/${job.data.preset} ${job.data.cellId}: started (attempt ${job.attemptsMade + 1}, job ` +
        `${job.id})`,
    ),
  );
  worker.on('completed', (job, r) =>
    log(`[worker ${process.pid}] ${job.data.cellId}: finished, kNN ${(100 * r.knn).toFixed(1)}%${r.diverged ? ' (diverged)' : ''}`),
  );
  worker.on('failed', (job, e) =>
    log(`[worker ${process.pid}] ${job?.data.cellId ?? '?'}: failed (attempt ${job?.attemptsMade ?? '?'}): ${e.message}`),
  );
  await worker.waitUntilReady();
  let watchdog: NodeJS.Timeout | undefined;
  const close = async () => {
    clearInterval(watchdog);
    // close first: the killed cells' jobs then stall (back to the queue) rather than fail
    await worker.close(true);
    for (const c of children) c.kill('SIGTERM');
  };
  const gaveUp = new Promise<string>((resolve) => {
    let checking = false;
    watchdog = setInterval(() => {
      if (checking) return;
      checking = true;
      checkRedis(o.url, Math.min(3000, o.pingMs ?? 2000))
        .then(
          () => {
            if (downSince !== undefined) log(`worker: Redis at ${o.url} answers again`);
            downSince = undefined;
          },
          (e: Error) => {
            const now = Date.now();
            markDown(e.message);
            if (children.size === 0 && now - downSince! >= timeoutMs) {
              const why =
                `Redis at ${o.url} has not answered for ${((now - downSince!) / 1000).toFixed(0)} s (--queue-timeout ` +
                `${timeoutMs / 1000}) and no cell is running here; stopping`;
              clearInterval(watchdog);
              resolve(why);
            }
          },
        )
        .finally(() => {
          checking = false;
        });
    }, o.pingMs ?? 2000);
    watchdog.unref();
  });
  return { worker, close, gaveUp };
}
