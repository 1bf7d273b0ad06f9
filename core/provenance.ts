/**
 * Where a result came from, recorded in every result.json and shown under every table and on every
 * HTML page: sslbench's version and git commit, the command line, the engine (backend, native
 * kernels and threads), the machine (CPU, cores), Node and tfjs versions, seed and wall time.
 * `EngineId` is the part that changes numbers: a finished or checkpointed cell is reused only on the
 * same engine (runner/engine-check.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installRoot } from './install-root.ts';

export interface EngineId {
  /** tfjs backend name: wasm, cpu, tensorflow, ... */
  backend: string;
  /** Whether sslbench's native kernels replaced the stock ones. */
  native: boolean;
  /** sslbench's version (kernels and recipes change with it). */
  sslbench: string;
  /** The native GEMM's libraries ('openblas', 'oneDNN 2.6.3 (...)'); absent on stock kernels and in older records. */
  gemm?: string;
  /** The native kernels' threads: the GEMM libraries split some sums by thread, so the count changes numbers; absent on stock kernels. */
  threads?: number;
}

export interface Provenance {
  sslbench: string;
  /** The checkout's commit and whether it had uncommitted changes; absent outside a git checkout. */
  git?: { commit: string; dirty: boolean };
  command: string;
  engine: EngineId & { gpu: boolean; nativeThreads: number; versions: Record<string, string> };
  machine: { cpu: string; cores: number; platform: string; node: string };
  seed?: number;
  wallSeconds?: number;
  at: string;
}

const ROOT = installRoot();

let version: string | undefined;
/** sslbench's version, from its package.json. */
export function sslbenchVersion(): string {
  version ??= (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

let git: Provenance['git'] | null | undefined;
/** The checkout's git commit and dirtiness (computed once per process); undefined outside a checkout. */
export function gitState(): Provenance['git'] {
  if (git === undefined) {
    try {
      const run = (args: string[]) =>
        execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      git = { commit: run(['rev-parse', 'HEAD']), dirty: run(['status', '--porcelain', '--untracked-files=no']) !== '' };
    } catch {
      git = null;
    }
  }
  return git ?? undefined;
}

/**
 * A command line as results record it, with no machine's absolute paths: a path inside the working
 * folder relative to it, one elsewhere as `…/` and its last component (where it was is the
 * user's business; what it was stays readable). Also inside `--flag=/path` and `path=/x` values.
 */
export function portableCommand(args: readonly string[], cwd = process.cwd()): string {
  const portable = (p: string) => {
    const rel = path.relative(cwd, p);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : `…/${path.basename(p)}`;
  };
  return args
    .map((a) => {
      const eq = a.indexOf('=');
      if (path.isAbsolute(a)) return portable(a);
      if (eq > 0 && path.isAbsolute(a.slice(eq + 1))) return `${a.slice(0, eq + 1)}${portable(a.slice(eq + 1))}`;
      return a;
    })
    .join(' ');
}

/** What the caller knows of the engine (engine/backend.ts's report) turned into a record. */
export function provenance(
  engine: { name: string; gpu: boolean; versions: Record<string, string>; native: { kernels: string[]; threads: number; gemm?: string } },
  extra: { seed?: number; wallSeconds?: number } = {},
): Provenance {
  const g = gitState();
  return {
    sslbench: sslbenchVersion(),
    ...(g ? { git: g } : {}),
    command: portableCommand(['bench', ...process.argv.slice(2)]),
    engine: {
      backend: engine.name,
      native: engine.native.kernels.length > 0,
      sslbench: sslbenchVersion(),
      ...(engine.native.kernels.length && engine.native.gemm ? { gemm: engine.native.gemm } : {}),
      gpu: engine.gpu,
      nativeThreads: engine.native.kernels.length ? engine.native.threads : 0,
      versions: engine.versions,
    },
    machine: {
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      cores: os.cpus().length,
      platform: `${os.platform()} ${os.arch()}`,
      node: process.version,
    },
    ...extra,
    at: new Date().toISOString(),
  };
}

export function engineId(p: Pick<Provenance, 'engine'>): EngineId {
  return {
    backend: p.engine.backend,
    native: p.engine.native,
    sslbench: p.engine.sslbench,
    ...(p.engine.gemm ? { gemm: p.engine.gemm } : {}),
    ...(p.engine.native && p.engine.nativeThreads > 0 ? { threads: p.engine.nativeThreads } : {}),
  };
}

export function describeEngine(e: EngineId): string {
  return `${e.backend}${e.native ? ` + native kernels${e.threads ? ` x${e.threads} threads` : ''}${e.gemm ? ` (GEMM: ${e.gemm})` : ''}` : ''}, sslbench ${e.sslbench}`;
}

/** One line for a table's notes and a page's header. */
export function describeProvenance(p: Provenance): string {
  const tfjs = p.engine.versions['tfjs-core'] ?? p.engine.versions.tfjs ?? Object.values(p.engine.versions)[0];
  return (
    `provenance: sslbench ${p.sslbench}${p.git ? ` (git ${p.git.commit.slice(0, 10)}${p.git.dirty ? ', uncommitted changes' : ''})` : ''}; ` +
    `${p.engine.backend}${p.engine.gpu ? ' (GPU)' : ''}` +
    `${p.engine.native ? `, native kernels x${p.engine.nativeThreads} threads${p.engine.gemm ? ` (GEMM: ${p.engine.gemm})` : ''}` : ', stock kernels'}` +
    `${tfjs ? `, tfjs ${tfjs}` : ''}; ${p.machine.cpu} (${p.machine.cores} cores), Node ${p.machine.node}; \`${portableCommand(p.command.split(' '))}\``
  );
}
