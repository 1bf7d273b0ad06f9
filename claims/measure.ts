/**
 * Measured values of suite cells, read from the stored results of `bench run` (nothing is run):
 * results/<suite>-<preset>.json (a matrix suite's cells in <suite>-<preset>-cells.json). A cell run
 * at several seeds (`bench run --seeds S`) is stored once per seed under the suite cell's id
 * (`arm`); its values are read per seed, so that arms of a claim can be paired by seed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { resultBaseName } from '../suites/schema.ts';
import { instabilityOf } from '../report/instability-notes.ts';
import { spikeCount } from '../evaluators/instability.ts';
import type { PretrainResult } from '../core/results.ts';
import type { Metric } from './schema.ts';

/** A stored cell: a pre-training cell (with its probe) or an evaluation cell (top1). */
export type StoredCell = { id: string; arm?: string } & Partial<PretrainResult> & {
    probe?: { top1: number };
    top1?: number;
    status?: string;
    detail?: { source?: string };
  };

/** The suite cell a stored cell measures: its `arm` (a cell run at several seeds), else its id. */
export const armOf = (c: StoredCell): string => c.arm ?? c.id;
/** The seed a stored cell ran at (evaluation cells: 0). */
export const seedOf = (c: StoredCell): number => c.config?.seed ?? 0;

function readCells(file: string, suite: string, preset: string): StoredCell[] | undefined {
  let data: { cells?: StoredCell[] };
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read stored results: ${(err as Error).message}; run \`bench run ${suite} --preset ${preset}\` again`);
  }
  return Array.isArray(data.cells) ? data.cells : undefined;
}

/** A stored cell's value of a metric; undefined when not measured (diverged, no probe, not this kind of cell). */
export function metricOf(c: StoredCell, metric: Metric): number | undefined {
  const pct = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? 100 * x : undefined);
  if (c.status !== undefined) {
    // an evaluation suite's cell (Table 1, Table 5)
    return metric === 'top1' || metric === 'linear' ? (c.status === 'measured' ? pct(c.top1) : undefined) : undefined;
  }
  if (c.flags?.diverged) return undefined;
  switch (metric) {
    case 'linear':
      return pct(c.probe?.top1);
    case 'knn':
      return pct(c.final?.knn);
    case 'top1':
      return undefined;
    case 'dips':
    case 'spikes':
    case 'firstLayerLead': {
      const s = c.curves ? instabilityOf(c as PretrainResult) : undefined;
      if (!s) return undefined;
      if (metric === 'dips') return s.dips.length;
      if (metric === 'spikes') return spikeCount(s);
      return s.firstLayerLeads.leadsCount - s.firstLayerLeads.lagsCount;
    }
  }
}

export class ResultStore {
  private readonly cache = new Map<string, StoredCell[] | undefined>();
  constructor(
    readonly resultsDir: string,
    readonly preset: string,
  ) {}

  /** Every stored cell of a suite (one per cell and seed); undefined when the suite has no results at this preset. */
  cells(suite: string): StoredCell[] | undefined {
    if (this.cache.has(suite)) return this.cache.get(suite);
    const base = path.join(this.resultsDir, resultBaseName(suite, this.preset));
    let cells: StoredCell[] | undefined;
    for (const f of [`${base}-cells.json`, `${base}.json`]) {
      if (!fs.existsSync(f)) continue;
      cells = readCells(f, suite, this.preset);
      if (cells) break;
    }
    this.cache.set(suite, cells);
    return cells;
  }

  /** The stored runs of one suite cell, by seed (the first stored per seed). */
  runs(suite: string, arm: string): Map<number, StoredCell> {
    const out = new Map<number, StoredCell>();
    for (const c of this.cells(suite) ?? []) if (armOf(c) === arm && !out.has(seedOf(c))) out.set(seedOf(c), c);
    return out;
  }

  /** A cell's metric at each seed it was measured at (empty when not measured). */
  samples(suite: string, arm: string, metric: Metric): Map<number, number> {
    const out = new Map<number, number>();
    for (const [seed, c] of this.runs(suite, arm)) {
      const v = metricOf(c, metric);
      if (v !== undefined) out.set(seed, v);
    }
    return out;
  }

  /** A cell's metric at its lowest seed; undefined when not measured. */
  value(suite: string, arm: string, metric: Metric): number | undefined {
    const s = this.samples(suite, arm, metric);
    return s.size ? s.get(Math.min(...s.keys())) : undefined;
  }

  /** Every stored pre-training cell at this preset, of every suite (for the pooled noise), with its suite. */
  allPretrainCells(): { suite: string; cell: StoredCell }[] {
    if (!fs.existsSync(this.resultsDir)) return [];
    const out: { suite: string; cell: StoredCell }[] = [];
    const suffix = new RegExp(`-${this.preset}(-cells)?\\.json$`);
    for (const f of fs.readdirSync(this.resultsDir).sort()) {
      if (!suffix.test(f)) continue;
      let data: { suite?: string; cells?: StoredCell[] };
      try {
        data = JSON.parse(fs.readFileSync(path.join(this.resultsDir, f), 'utf8'));
      } catch (err) {
        throw new Error(`${path.join(this.resultsDir, f)}: cannot read stored results: ${(err as Error).message}`);
      }
      if (typeof data.suite !== 'string' || !Array.isArray(data.cells)) continue;
      for (const c of data.cells) if (c.hash && c.config && c.status === undefined) out.push({ suite: data.suite, cell: c });
    }
    return out;
  }
}
