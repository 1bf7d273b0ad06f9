/**
 * The child process a `bench worker` forks per job: it receives one ChildStart over IPC, runs
 * pretrain() on the cell's run folder (which resumes from the cell's last checkpoint), reports
 * progress over IPC, and exits. Training is synchronous tfjs work; running it here keeps the
 * worker's event loop free to renew the job's lock in Redis.
 *
 * If the worker dies (SIGKILL), this process notices at the next iteration (its parent changed)
 * and exits, so that it never writes to a run folder that another worker has taken over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { registryWithPlugins } from '../container/plugin-files.ts';
import { initBackend, parseBackendChoice } from '../engine/backend.ts';
import { pretrain } from '../runner/pretrain.ts';
import { localConfig } from './local-config.ts';
import type { ChildMessage, ChildStart } from './jobs.ts';

const parentPid = process.ppid;

/** Whether the worker that forked this process is still its parent (Linux: /proc; elsewhere: signal 0). */
function parentAlive(): boolean {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parentPid;
  } catch {
    try {
      process.kill(parentPid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

const send = (m: ChildMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

async function run(start: ChildStart): Promise<void> {
  await initBackend(parseBackendChoice(start.backend), { threads: start.threads, native: start.native });
  fs.mkdirSync(start.runDir, { recursive: true });
  fs.appendFileSync(path.join(start.runDir, 'queue-runs.log'), `${new Date().toISOString()} ${start.marker}\n`);
  let lastSent = 0;
  const r = await pretrain(localConfig(start), {
    runDir: start.runDir,
    registry: await registryWithPlugins(),
    // a killed worker's child may still hold the lock for one iteration before it notices and exits
    lockWaitMs: 120_000,
    log: (line) => process.send!({ type: 'log', line } satisfies ChildMessage),
    onProgress: (p) => {
      if (!parentAlive()) process.exit(1);
      if (p.iter === p.startIter) return; // the loop's start event: no step yet
      // a line per second at most, and at every kNN monitor point and the last iteration
      const now = Date.now();
      if (now - lastSent < 1000 && p.iter % start.config.monitor.every !== 0 && p.iter !== p.totalIters) return;
      lastSent = now;
      process.send!({
        type: 'progress',
        progress: { iter: p.iter, total: p.totalIters, startIter: p.startIter, loss: p.loss, knn: p.knn },
      } satisfies ChildMessage);
    },
  });
  await send({
    type: 'done',
    outcome: { hash: r.hash, knn: r.final.knn, loss: r.final.loss, diverged: r.flags.diverged, wallSeconds: r.wallSeconds },
  });
}

process.once('message', (start: ChildStart) => {
  run(start).then(
    () => process.exit(0),
    async (err: Error) => {
      await send({ type: 'error', message: err.message });
      process.exit(1);
    },
  );
});
process.once('disconnect', () => process.exit(1));
