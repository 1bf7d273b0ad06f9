/**
 * The statistics the scorecard rests on (pure): a t interval of a mean, a pooled standard deviation
 * with its chi-square confidence interval, and the quantiles behind them (jstat's Student t and
 * chi-square inverses).
 */
/// <reference path="./jstat.d.ts" />
import jstat from 'jstat';

const { jStat } = jstat;

/** Two-sided coverage of every interval the scorecard prints. */
export const CONFIDENCE = 0.95;

/** The t quantile that bounds a two-sided CONFIDENCE interval with `dof` degrees of freedom. */
export function tCritical(dof: number, confidence = CONFIDENCE): number {
  if (!(dof >= 1)) throw new Error(`t quantile: degrees of freedom must be >= 1 (got ${dof})`);
  return jStat.studentt.inv(1 - (1 - confidence) / 2, dof);
}

export interface Interval {
  lo: number;
  hi: number;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); NaN below two values. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** The mean of n >= 2 values with its t interval (n - 1 degrees of freedom). */
export function tInterval(xs: readonly number[], confidence = CONFIDENCE): { mean: number; sd: number; n: number } & Interval {
  if (xs.length < 2) throw new Error(`t interval: needs at least 2 values (got ${xs.length})`);
  const m = mean(xs);
  const sd = sampleSd(xs);
  const half = (tCritical(xs.length - 1, confidence) * sd) / Math.sqrt(xs.length);
  return { mean: m, sd, n: xs.length, lo: m - half, hi: m + half };
}

/** A pooled standard deviation: its value, degrees of freedom and CONFIDENCE interval. */
export interface PooledSd extends Interval {
  sigma: number;
  dof: number;
  /** How many groups of repeats contributed (each with >= 2 values). */
  groups: number;
}

/**
 * The standard deviation pooled over groups of repeated measurements of the same quantity (each
 * group its own mean): sqrt(sum of squared deviations / sum of (n_g - 1)), with the chi-square
 * interval of a variance on that many degrees of freedom. Groups of one value add nothing.
 */
export function pooledSd(groups: readonly (readonly number[])[], confidence = CONFIDENCE): PooledSd | undefined {
  let ss = 0;
  let dof = 0;
  let used = 0;
  for (const g of groups) {
    if (g.length < 2) continue;
    const m = mean(g);
    ss += g.reduce((a, b) => a + (b - m) ** 2, 0);
    dof += g.length - 1;
    used++;
  }
  if (dof === 0) return undefined;
  const sigma = Math.sqrt(ss / dof);
  const a = (1 - confidence) / 2;
  return {
    sigma,
    dof,
    groups: used,
    lo: Math.sqrt(ss / jStat.chisquare.inv(1 - a, dof)),
    hi: Math.sqrt(ss / jStat.chisquare.inv(a, dof)),
  };
}
