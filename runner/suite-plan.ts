/**
 * What `bench run SUITE` would do, without doing it: every cell's resolved config, its hash, its
 * run folder and its state there (finished, being trained by a live process, resumable from a
 * checkpoint, or new). Used by --dry-run and --print-config.
 */
import fs from 'node:fs';
import path from 'node:path';
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
  const latest = path.join(runDir, 'checkpoint.json');
  const meta = fs.existsSync(latest) ? latest : path.join(runDir, 'checkpoint.prev.json');
  if (fs.existsSync(meta)) {
    try {
      return `resumes at iteration ${(JSON.parse(fs.readFileSync(meta, 'utf8')) as { iter: number }).iter}`;
    } catch {
      return 'has an unreadable checkpoint index';
    }
  }
  return 'new';
}

export function planSuite(suite: Suite, o: Pick<SuiteRunOptions, 'preset' | 'runsDir' | 'overrides' | 'registry'>): PlannedCell[] {
  return suite.cells.map((cell) => {
    const rc = resolveCell(suite, cell, o);
    return { id: cell.id, hash: rc.hash, runDir: rc.runDir, state: state(rc.runDir), config: rc.config };
  });
}
