/** The tests' way to run the `bench` command: this checkout's bin/bench.mjs in a child process, in a given folder. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export interface BenchRun {
  code: number | null;
  out: string;
  err: string;
}

/** A function running `bench ARGS...` in `cwd` to its end (optionally with a time limit in ms), returning exit code, stdout, stderr. */
export function benchIn(cwd: string, timeout?: number): (...args: string[]) => BenchRun {
  return (...args) => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin/bench.mjs'), ...args], {
      cwd,
      encoding: 'utf8',
      ...(timeout ? { timeout } : {}),
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
}
