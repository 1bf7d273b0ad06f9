/**
 * Results are reused only on the engine that made them. A cell finished (or checkpointed) on one
 * backend, with or without the native kernels, or by another sslbench version, gives numbers another
 * engine would not reproduce bit for bit: mixing them in one table would be silent. Such a reuse is
 * an error that names both engines, unless the user allows it (--allow-engine-mix).
 */
import type { PretrainResult } from '../core/results.ts';
import { type EngineId, describeEngine, engineId, sslbenchVersion } from '../core/provenance.ts';
import { activeBackend } from '../engine/backend.ts';

/** The engine this process computes on; undefined before the engine is initialised (a queue orchestrator). */
export function currentEngine(): EngineId | undefined {
  const b = activeBackend();
  if (!b) return undefined;
  const native = b.native.kernels.length > 0;
  return {
    backend: b.name,
    native,
    sslbench: sslbenchVersion(),
    ...(native && b.native.gemm ? { gemm: b.native.gemm } : {}),
    ...(native ? { threads: b.native.threads } : {}),
  };
}

/** What a stored result says of its engine (results from before provenance was recorded: the backend only). */
export function recordedEngine(r: PretrainResult): Partial<EngineId> & { backend: string } {
  return r.provenance ? engineId(r.provenance) : { backend: r.backend.name };
}

/**
 * Throws when `recorded` is not the current engine (fields the record lacks are not compared). The
 * native kernels' thread count is not compared: it is the cell's own, fixed when it first starts
 * (a resumed cell continues on the count it recorded, runner/pretrain.ts; a finished one is what
 * it is), so machines with different CPUs share a run store.
 */
export function checkEngine(what: string, recorded: (Partial<EngineId> & { backend: string }) | undefined, allowMix = false): void {
  const now = currentEngine();
  if (!now || !recorded || allowMix) return;
  const differs = (['backend', 'native', 'sslbench', 'gemm'] as const).filter((k) => recorded[k] !== undefined && recorded[k] !== now[k]);
  if (!differs.length) return;
  const then =
    `${recorded.backend}${recorded.native === undefined ? '' : recorded.native ? ' + native kernels' : ''}` +
    `${recorded.threads ? ` x${recorded.threads} threads` : ''}` +
    `${recorded.gemm ? ` (GEMM: ${recorded.gemm})` : ''}${recorded.sslbench ? `, sslbench ${recorded.sslbench}` : ''}`;
  throw new Error(
    `${what} was computed on ${then}; this run computes on ${describeEngine(now)} (${differs.join(', ')} differ), and the two do not ` +
      'give the same numbers. Run it on the same engine (--backend, --no-native, --gemm, --threads), use another --runs folder, or pass ' +
      '--allow-engine-mix to reuse it anyway',
  );
}
