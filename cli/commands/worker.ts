/**
 * `bench worker --queue redis://HOST:PORT`: runs pre-training cells that `bench run SUITE --queue`
 * put on the queue, each in its own process, until stopped (Ctrl-C). Workers on several machines
 * share the run store (--runs on a network filesystem); a killed worker's cell resumes elsewhere
 * from its last checkpoint.
 */
import { Command } from 'commander';
import path from 'node:path';
import { backendOption, intOption } from '../options.ts';
import { DEFAULT_QUEUE_NAME } from '../../queue/connection.ts';
import { startCellWorker } from '../../queue/worker.ts';

interface WorkerFlags {
  queue: string;
  queueName: string;
  concurrency: number;
  backend: string;
  threads?: number;
  native: boolean;
  runs?: string;
  data?: string;
  lockDuration: number;
  stalledInterval: number;
  queueTimeout: number;
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('run pre-training cells from a Redis queue (see `bench run SUITE --queue`) until stopped')
    .requiredOption('--queue <url>', 'the Redis queue: redis://HOST:PORT')
    .option('--queue-name <name>', 'queue name', DEFAULT_QUEUE_NAME)
    .option('--concurrency <n>', 'cells run at once, one process each', intOption('--concurrency', 1), 1)
    .addOption(backendOption())
    .option('--threads <n>', 'threads of the native GEMM per cell (default: all CPUs)', intOption('--threads', 1))
    .option('--no-native', 'use the stock tfjs kernels even when the native GEMM is built')
    .option('--runs <dir>', "run store on this machine (default: the enqueuing machine's path of each cell)")
    .option(
      '--data <path>',
      "where this machine holds the cells' data folder (default: the enqueuing machine's --data); the files must be the same " +
        '(cells name their data by content)',
    )
    .option(
      '--lock-duration <ms>',
      "a job's lock without renewal: a killed worker's cell goes back to the queue after it",
      intOption('--lock-duration', 1000),
      30_000,
    )
    .option(
      '--queue-timeout <seconds>',
      'an idle worker stops (exit 1) when Redis has not answered for this long',
      intOption('--queue-timeout', 1),
      300,
    )
    .option('--stalled-interval <ms>', 'how often this worker looks for stalled cells', intOption('--stalled-interval', 100), 30_000)
    .action(async (o: WorkerFlags) => {
      const { close, gaveUp } = await startCellWorker({
        url: o.queue,
        queueName: o.queueName,
        concurrency: o.concurrency,
        backend: o.backend,
        threads: o.threads,
        native: o.native,
        runsDir: o.runs ? path.resolve(o.runs) : undefined,
        dataPath: o.data ? path.resolve(o.data) : undefined,
        lockDuration: o.lockDuration,
        stalledInterval: o.stalledInterval,
        queueTimeoutMs: o.queueTimeout * 1000,
      });
      console.error(
        `worker ${process.pid}: waiting for cells on queue '${o.queueName}' at ${o.queue} (concurrency ${o.concurrency}, backend ` +
          `${o.backend}); Ctrl-C stops`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          console.error(`worker ${process.pid}: stopping; running cells go back to the queue`);
          close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        void gaveUp.then((why) => {
          console.error(`bench: error: worker ${process.pid}: ${why}`);
          process.exitCode = 1;
          // the connection is gone: do not wait on it to close
          void close().catch(() => {});
          resolve();
        });
      });
    });
}
