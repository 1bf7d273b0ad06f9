/**
 * One process at a time in a run folder. `run.lock` holds the owner (pid, host, start time, command);
 * it is created with O_EXCL, so two processes cannot both take it. A lock is stale, and is taken
 * over, when its owner is gone: on the same host when the pid no longer runs (kill -9 included), on
 * another host (a shared file system) when the owner has not refreshed it for `staleMs`. The owner
 * refreshes it while it holds it and removes it when done (and at exit).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive } from './pid.ts';
import { removeTempFiles } from './file-set.ts';

export const LOCK_FILE = 'run.lock';

/** How long another host's lock may go unrefreshed before it counts as stale. */
const DEFAULT_STALE_MS = 30 * 60_000;

export interface LockOwner {
  pid: number;
  host: string;
  since: string;
  command: string;
}

export interface RunLock {
  readonly file: string;
  /** Removes the lock if it is still this process's. */
  release(): void;
}

export class RunLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner | undefined,
  ) {
    super(
      `${path.join(dir, LOCK_FILE)}: the run folder is in use by ${owner ? `pid ${owner.pid} on ${owner.host} (${owner.command}, since ${owner.since})` : 'another process'}; ` +
        'one process per run folder (remove the lock file only if that process is gone)',
    );
  }
}

export interface LockOptions {
  /** How long a lock from another host may go without a refresh before it counts as stale (default 30 min). */
  staleMs?: number;
  /** How often the owner refreshes its lock (default 60 s). */
  refreshMs?: number;
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock in `file` belongs to nobody alive. */
function isStale(file: string, staleMs: number): boolean {
  let mtime: number;
  try {
    mtime = fs.statSync(file).mtimeMs;
  } catch {
    return true; // gone meanwhile
  }
  const owner = readOwner(file);
  // an unreadable lock is one being written right now, or the leftover of a crash while writing it
  if (!owner) return Date.now() - mtime > 10_000;
  if (owner.host === os.hostname()) return owner.pid !== process.pid && !pidAlive(owner.pid);
  return Date.now() - mtime > staleMs;
}

/** The current owner of a run folder's lock, if a live one holds it. */
export function lockOwner(dir: string, o: LockOptions = {}): LockOwner | undefined {
  const file = path.join(dir, LOCK_FILE);
  if (!fs.existsSync(file) || isStale(file, o.staleMs ?? DEFAULT_STALE_MS)) return undefined;
  return readOwner(file);
}

/** Takes the run folder's lock, or throws RunLockedError naming its owner. */
export function lockRunDir(dir: string, o: LockOptions = {}): RunLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, JSON.stringify(me));
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (attempt < 3 && isStale(file, o.staleMs ?? DEFAULT_STALE_MS)) {
        // take over a dead owner's lock: rename it away first, so that two takers cannot both remove a fresh one
        const aside = `${file}.stale-${process.pid}`;
        try {
          fs.renameSync(file, aside);
          fs.rmSync(aside, { force: true });
        } catch {}
        continue;
      }
      throw new RunLockedError(dir, readOwner(file));
    }
  }
  const mine = () => {
    const owner = readOwner(file);
    return owner?.pid === me.pid && owner.host === me.host && owner.since === me.since;
  };
  const timer = setInterval(() => {
    try {
      if (mine()) fs.utimesSync(file, new Date(), new Date());
    } catch {}
  }, o.refreshMs ?? 60_000);
  timer.unref();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(timer);
    process.off('exit', release);
    try {
      if (mine()) fs.rmSync(file, { force: true });
    } catch {}
  };
  process.on('exit', release);
  return { file, release };
}

/** Removes the temporary files (`NAME.tmp-PID`) that a killed writer left in `dir`; call with the folder's lock held. */
export function removeStaleTempFiles(dir: string): string[] {
  // with the lock held nobody else writes here: every temporary is a dead writer's
  return removeTempFiles(dir, () => true);
}
