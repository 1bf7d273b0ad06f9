/**
 * What `bench run SUITE` would do, without doing it: every cell's resolved config, its hash, its
 * run folder and its state there (finished, being trained by a live process, resumable from a
 * checkpoint, or new). Used by --dry-run and --print-config.
 */
import { peekCheckpointIndex } from '../core/checkpoint.ts';
import type { Suite } from '../suites/schema.ts';
import type { PretrainConfig } from '../core/config.ts';
import { lockOwner } from '../core/run-lock.ts';
import { type SuiteRunOptions, resolveCell } from './pretrain-suite.ts';
import { readResult } from './pretrain.ts';
import { estimateTraining, finishedRuns, type TimeEstimate } from './time-estimate.ts';

export interface PlannedCell {
  id: string;
  hash: string;
  runDir: string;
  state: string;
  config: PretrainConfig;
  /** Training still to do, estimated from the run store's measured rates (runner/time-estimate.ts); absent when finished. */
  estimate?: TimeEstimate;
}

function state(runDir: string): string {
  if (readResult(runDir)) return 'finished (cached)';
  const owner = lockOwner(runDir);
  if (owner) return `being trained by pid ${owner.pid} on ${owner.host}`;
  const peek = peekCheckpointIndex(runDir);
  if (!peek) return 'new';
  return 'meta' in peek ? `resumes at iteration ${peek.meta.iter}` : 'has an unreadable checkpoint index';
}

export function planSuite(suite: Suite, o: Pick<SuiteRunOptions, 'preset' | 'runsDir' | 'overrides' | 'registry'>): PlannedCell[] {
  const finished = finishedRuns(o.runsDir, o.preset);
  return suite.cells.map((cell) => {
    const rc = resolveCell(suite, cell, o);
    const st = state(rc.runDir);
    const estimate = st.startsWith('finished') ? undefined : estimateTraining(rc.config, finished);
    return { id: cell.id, hash: rc.hash, runDir: rc.runDir, state: st, config: rc.config, ...(estimate ? { estimate } : {}) };
  });
}
