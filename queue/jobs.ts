/** What a cell job carries between `bench run --queue` and `bench worker`, and what it reports. */
import type { PretrainConfig } from '../core/config.ts';

/** A pre-training cell as a queue job. Its job id is `cell-HASH` (BullMQ refuses all-digit custom ids). */
export interface CellJobData {
  suite: string;
  preset: string;
  cellId: string;
  config: PretrainConfig;
  /** The cell's run folder as the enqueuing machine names it (checkpoints, result.json). */
  runDir: string;
  /** The same folder relative to the run store (PRESET/NAME-HASH): a worker with --runs DIR uses DIR/runKey. */
  runKey: string;
  resultsDir: string;
}

/** Job progress (job.updateProgress): the cell's iteration, loss and latest kNN monitor accuracy. */
export interface CellProgress {
  iter: number;
  total: number;
  startIter: number;
  loss: number;
  knn?: number;
}

/** What a finished job returns: the headline numbers of its result.json. */
export interface CellOutcome {
  hash: string;
  knn: number;
  loss: number;
  diverged: boolean;
  wallSeconds: number;
}

export function cellJobId(hash: string): string {
  return `cell-${hash}`;
}

/** Messages from the per-job child process (queue/run-cell.ts) to its worker. */
export type ChildMessage =
  | { type: 'progress'; progress: CellProgress }
  | { type: 'done'; outcome: CellOutcome }
  | { type: 'error'; message: string }
  /** a line the cell's run says (e.g. the thread count it keeps), for the worker's log */
  | { type: 'log'; line: string };

/** The message a worker sends its child to start the cell. */
export interface ChildStart {
  config: PretrainConfig;
  runDir: string;
  backend: string;
  threads?: number;
  native: boolean;
  /** Appended to runDir/queue-runs.log: who ran this attempt. */
  marker: string;
  /** `bench worker --data`: where this machine holds the cell's data (its files must be the enqueued ones). */
  dataPath?: string;
  /** The cell's config hash as enqueued (its run folder's suffix): the data at `dataPath` must give it. */
  hash: string;
}
