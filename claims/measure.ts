/**
 * Measured values of suite cells, read from the stored results of `bench run` (nothing is run):
 * results/<suite>-<preset>.json (a matrix suite's cells in <suite>-<preset>-cells.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { resultBaseName } from '../suites/schema.ts';
import { instabilityOf } from '../report/instability-notes.ts';
import { spikeCount } from '../evaluators/instability.ts';
import type { PretrainResult } from '../core/results.ts';
import type { Metric } from './schema.ts';

/** A stored cell: a pre-training cell (with its probe) or an evaluation cell (top1). */
type StoredCell = { id: string } & Partial<PretrainResult> & { probe?: { top1: number }; top1?: number; status?: string };

export class ResultStore {
  private readonly cache = new Map<string, Map<string, StoredCell> | undefined>();
  constructor(
    readonly resultsDir: string,
    readonly preset: string,
  ) {}

  /** The stored cells of a suite by id; undefined when the suite has no results at this preset. */
  cells(suite: string): Map<string, StoredCell> | undefined {
    if (this.cache.has(suite)) return this.cache.get(suite);
    const base = path.join(this.resultsDir, resultBaseName(suite, this.preset));
    let cells: StoredCell[] | undefined;
    for (const f of [`${base}-cells.json`, `${base}.json`]) {
      if (!fs.existsSync(f)) continue;
      let data: { cells?: StoredCell[] };
      try {
        data = JSON.parse(fs.readFileSync(f, 'utf8'));
      } catch (err) {
        throw new Error(
          `${f}: cannot read stored results: ${(err as Error).message}; run \`bench run ${suite} --preset ${this.preset}\` again`,
        );
      }
      if (Array.isArray(data.cells)) {
        cells = data.cells;
        break;
      }
    }
    const map = cells ? new Map(cells.map((c) => [c.id, c])) : undefined;
    this.cache.set(suite, map);
    return map;
  }

  /** A cell's metric; undefined when not measured (no results, no such cell, diverged, no probe). */
  value(suite: string, cell: string, metric: Metric): number | undefined {
    const c = this.cells(suite)?.get(cell);
    if (!c) return undefined;
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
      case 'seedSpread':
        return undefined;
    }
  }
}

/** The seed noise of a metric: sample standard deviation and spread (max - min) over the noise cells. */
export function seedNoise(
  store: ResultStore,
  suite: string,
  cells: string[],
  metric: 'linear' | 'knn',
): { sigma: number; spread: number; values: number[] } | undefined {
  const values = cells.map((c) => store.value(suite, c, metric)).filter((x): x is number => x !== undefined);
  if (values.length < 2) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sigma = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
  return { sigma, spread: Math.max(...values) - Math.min(...values), values };
}
