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

export interface PlannedCell {
  id: string;
  hash: string;
  runDir: string;
  state: string;
  config: PretrainConfig;
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
  return suite.cells.map((cell) => {
    const rc = resolveCell(suite, cell, o);
    return { id: cell.id, hash: rc.hash, runDir: rc.runDir, state: state(rc.runDir), config: rc.config };
  });
}
