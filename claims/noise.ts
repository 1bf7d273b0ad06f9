/**
 * The scorecard's noise: one standard deviation per metric, pooled over every repeated
 * configuration in the store at a preset. A repeat is a run of the same config (seed aside) that
 * is not the same run: other seeds of a cell, and the same config hash measured again (another
 * host, thread count or session). Each group of repeats contributes its deviations from its own
 * mean; the pooled sigma comes with its chi-square interval (claims/stats.ts).
 */
import { canonicalJson } from '../core/config.ts';
import { metricOf, type ResultStore, type StoredCell } from './measure.ts';
import { pooledSd, type PooledSd } from './stats.ts';
import type { Metric } from './schema.ts';

export const NOISE_METRICS = ['linear', 'knn', 'dips', 'spikes', 'firstLayerLead'] as const satisfies readonly Metric[];
export type NoiseMetric = (typeof NOISE_METRICS)[number];

/** One group of repeats: the suite cells it was stored under, seeds, and whether the same hash was measured twice. */
export interface RepeatGroup {
  cells: string[];
  runs: number;
  seeds: number[];
  /** Runs of one config hash stored more than once (re-measured, not copied). */
  rehashed: number;
}

/** Where the store's cells ran: machine and engine, with how many distinct runs each produced. */
export interface HostCount {
  host: string;
  runs: number;
}

export interface PooledNoise {
  byMetric: Partial<Record<NoiseMetric, PooledSd>>;
  groups: RepeatGroup[];
  hosts: HostCount[];
}

/** How a stored cell's probe chose its lr and epoch, and with what config (older results: on the test set). */
export function probeProtocol(c: StoredCell): string {
  const p = c.probe as { chosenOn?: string; config?: unknown } | undefined;
  return p ? `${p.chosenOn ?? 'test'} ${canonicalJson(p.config ?? null)}` : 'none';
}

/** A run's identity: the same hash finished at the same moment is one run stored twice (a shared cell), not a repeat. */
const runKey = (c: StoredCell) => `${c.hash}@${c.finishedAt ?? ''}`;

/** The machine and engine a cell ran on, in words. */
export function hostOf(c: StoredCell): string {
  const p = c.provenance;
  if (!p) return 'unrecorded host';
  const e = p.engine;
  const threads = e.native ? `, native kernels x${e.nativeThreads}` : ', stock kernels';
  return `${p.machine.cpu} (${p.machine.cores} cores), ${e.backend}${threads}${e.gpu ? ', GPU' : ''}`;
}

export function pooledNoise(store: ResultStore): PooledNoise {
  const byConfig = new Map<string, { cells: Set<string>; runs: Map<string, StoredCell> }>();
  const hostRuns = new Map<string, Set<string>>();
  for (const { suite, cell } of store.allPretrainCells()) {
    // one configuration under one probe protocol: probes chosen on the test set (older results) and
    // on held-out training images differ by more than the noise, so they never pool together
    const { seed: _seed, ...rest } = cell.config!;
    const key = canonicalJson({ config: rest, probe: probeProtocol(cell) });
    const g = byConfig.get(key) ?? { cells: new Set<string>(), runs: new Map<string, StoredCell>() };
    g.cells.add(`${suite}/${cell.arm ?? cell.id}`);
    if (!g.runs.has(runKey(cell))) g.runs.set(runKey(cell), cell);
    byConfig.set(key, g);
    const h = hostOf(cell);
    hostRuns.set(h, (hostRuns.get(h) ?? new Set()).add(runKey(cell)));
  }
  const repeated = [...byConfig.values()].filter((g) => g.runs.size >= 2);
  const byMetric: Partial<Record<NoiseMetric, PooledSd>> = {};
  for (const m of NOISE_METRICS) {
    const values = repeated.map((g) => [...g.runs.values()].map((c) => metricOf(c, m)).filter((x): x is number => x !== undefined));
    const p = pooledSd(values);
    if (p) byMetric[m] = p;
  }
  const groups = repeated.map((g): RepeatGroup => {
    const runs = [...g.runs.values()];
    const hashes = runs.map((c) => c.hash!);
    return {
      cells: [...g.cells].sort(),
      runs: runs.length,
      seeds: [...new Set(runs.map((c) => c.config!.seed))].sort((a, b) => a - b),
      rehashed: hashes.length - new Set(hashes).size,
    };
  });
  const hosts = [...hostRuns].map(([host, runs]) => ({ host, runs: runs.size })).sort((a, b) => b.runs - a.runs);
  return { byMetric, groups, hosts };
}
