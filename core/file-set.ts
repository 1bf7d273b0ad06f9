/**
 * Writes a set of files all or nothing (a suite's md, csv, json, svg and html): every file goes to a
 * temporary `NAME.tmp-PID` first; only when all are written in full are they renamed into place. A
 * write error (disk full, read-only folder) removes the temporaries and leaves the previous set as it
 * was, and the error names the file and what failed. A journal written before the renames lets the
 * next writer finish a set whose renames a kill interrupted, so a reader never keeps a mix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pidAlive } from './pid.ts';

export interface FileToWrite {
  file: string;
  data: string | Uint8Array;
}

const JOURNAL_PREFIX = '.file-set-';

const WRITE_FAILURES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'a folder on the path does not exist',
};

/** Why a write failed, as `CODE: words` for the common causes (else the error's own message). */
export function writeFailure(err: NodeJS.ErrnoException): string {
  const text = WRITE_FAILURES[err.code ?? ''] ?? err.message;
  return `${err.code && WRITE_FAILURES[err.code] ? `${err.code}: ` : ''}${text}`;
}

/** The error for a failed write, naming the file and, for the common causes, what to do. */
export function describeWriteError(file: string, err: NodeJS.ErrnoException): Error {
  const e = new Error(`${file}: cannot write (${writeFailure(err)})`);
  (e as NodeJS.ErrnoException).code = err.code;
  return e;
}

/**
 * Finishes the sets in `dir` whose writer died during the renames (their journal is there), and
 * removes temporaries (`*.tmp-PID`) whose writer is gone. Returns what it did, a line each.
 */
export function recoverFileSets(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const done: string[] = [];
  for (const f of fs.readdirSync(dir)) {
    const m = new RegExp(`^${JOURNAL_PREFIX.replace('.', '\\.')}(\\d+)\\.json$`).exec(f);
    if (!m || pidAlive(Number(m[1]))) continue;
    const journal = path.join(dir, f);
    let renames: [string, string][] = [];
    try {
      renames = JSON.parse(fs.readFileSync(journal, 'utf8')) as [string, string][];
    } catch {}
    for (const [tmp, file] of renames) {
      if (fs.existsSync(tmp)) {
        fs.renameSync(tmp, file);
        done.push(`finished an interrupted write: ${file}`);
      }
    }
    fs.rmSync(journal, { force: true });
  }
  for (const f of removeTempFiles(dir, (pid) => !pidAlive(pid))) done.push(`removed a dead writer's temporary file ${path.join(dir, f)}`);
  return done;
}

/** Removes the temporary files (`NAME.tmp-PID`) in `dir` whose writer's pid `stale` accepts; returns their names. */
export function removeTempFiles(dir: string, stale: (pid: number) => boolean): string[] {
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const f of fs.readdirSync(dir)) {
    const m = /\.tmp-(\d+)$/.exec(f);
    if (!m || !stale(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, f), { force: true });
    removed.push(f);
  }
  return removed;
}

/** Writes `files` (all in one folder tree) as one set; see the header. */
export function writeFileSet(files: readonly FileToWrite[]): void {
  if (!files.length) return;
  const tmps: [string, string][] = [];
  const removeTemps = () => {
    for (const [tmp] of tmps) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {}
    }
  };
  for (const { file, data } of files) {
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      tmps.push([tmp, file]);
      fs.writeFileSync(tmp, data);
    } catch (err) {
      removeTemps();
      throw describeWriteError(file, err as NodeJS.ErrnoException);
    }
  }
  const journal = path.join(path.dirname(files[0].file), `${JOURNAL_PREFIX}${process.pid}.json`);
  try {
    fs.writeFileSync(journal, JSON.stringify(tmps));
  } catch (err) {
    removeTemps();
    fs.rmSync(journal, { force: true });
    throw describeWriteError(journal, err as NodeJS.ErrnoException);
  }
  for (const [tmp, file] of tmps) fs.renameSync(tmp, file);
  fs.rmSync(journal, { force: true });
}
