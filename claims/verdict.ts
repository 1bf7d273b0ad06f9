/**
 * Verdicts of claims on measured values (pure). Each relation reduces to differences of cell
 * values; a difference is "within noise" when its size is at most twice its standard deviation,
 * sigma x sqrt(sum of squared coefficients) with sigma the seed standard deviation of one cell
 * (a - b: 2 sqrt(2) sigma; (a1 - b1) - (a2 - b2): 4 sigma). Event counts (dips, spikes, spike
 * ordering) and the seed spread are exact counts of the runs themselves: their sigma is 0, so an
 * equal count is "within noise" (no difference shown) and any difference decides.
 */
import type { Relation } from './schema.ts';

export type Verdict = 'reproduced' | 'contradicted' | 'within noise' | 'not run';

export interface Judged {
  verdict: Verdict;
  /** The measured values and differences, in words. */
  measured: string;
  /** The noise threshold of the relation's main difference (points or counts); 0 for exact metrics. */
  threshold: number;
}

/** The verdict of one difference d (claimed > 0) with the threshold thr. */
function sign(d: number, thr: number): Verdict {
  if (d > thr) return 'reproduced';
  if (d < -thr) return 'contradicted';
  return 'within noise';
}

/** Several pairwise differences that must all be positive. */
function all(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('contradicted')) return 'contradicted';
  return verdicts.every((v) => v === 'reproduced') ? 'reproduced' : 'within noise';
}

/**
 * Judges a relation given its cells' values `v[i]` (in cellRefs order) and labels, and sigma,
 * the standard deviation of one cell's value (0 for exact metrics).
 */
export function judge(r: Relation, v: (number | undefined)[], labels: string[], sigma: number, counts = false): Judged {
  // accuracies with one decimal; counts as integers
  const f = (x: number) => (counts && Number.isInteger(x) ? String(x) : x.toFixed(1));
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${f(x)}`;
  const missing = v.map((x, i) => (x === undefined || !Number.isFinite(x) ? labels[i] : undefined)).filter((x) => x !== undefined);
  if (missing.length) return { verdict: 'not run', measured: `no measured value for ${missing.join(', ')}`, threshold: Number.NaN };
  const x = v as number[];
  const pair = 2 * Math.SQRT2 * sigma;
  const one = 2 * sigma;
  const show = (i: number) => `${labels[i]} ${f(x[i])}`;
  switch (r.kind) {
    case 'greater': {
      const d = x[0] - x[1];
      return { verdict: sign(d, pair), measured: `${show(0)} vs ${show(1)} (${signed(d)})`, threshold: pair };
    }
    case 'notGreater': {
      const d = x[0] - x[1];
      return { verdict: d > pair ? 'contradicted' : 'reproduced', measured: `${show(0)} vs ${show(1)} (${signed(d)})`, threshold: pair };
    }
    case 'near': {
      const d = x[0] - x[1];
      return {
        verdict: Math.abs(d) <= r.tolerance + pair ? 'reproduced' : 'contradicted',
        measured: `${show(0)} vs ${show(1)} (${signed(d)}; claimed within ${f(r.tolerance)})`,
        threshold: pair,
      };
    }
    case 'best':
    case 'worst': {
      const s = r.kind === 'best' ? 1 : -1;
      const ds = x.slice(1).map((o) => s * (x[0] - o));
      return {
        verdict: all(ds.map((d) => sign(d, pair))),
        measured: `${show(0)} vs ${x
          .slice(1)
          .map((_, i) => show(i + 1))
          .join(', ')}`,
        threshold: pair,
      };
    }
    case 'order': {
      const ds = x.slice(1).map((o, i) => x[i] - o);
      return { verdict: all(ds.map((d) => sign(d, pair))), measured: x.map((_, i) => show(i)).join(' > '), threshold: pair };
    }
    case 'gainGreater': {
      const g1 = x[0] - x[1],
        g2 = x[2] - x[3];
      return {
        verdict: sign(g1 - g2, 2 * one),
        measured: `${labels[0]} - ${labels[1]} = ${signed(g1)} vs ${labels[2]} - ${labels[3]} = ${signed(g2)} (${signed(g1 - g2)})`,
        threshold: 2 * one,
      };
    }
    case 'above':
      return { verdict: sign(x[0] - r.value, one), measured: `${show(0)} (claimed above ${f(r.value)})`, threshold: one };
    case 'atMost':
      return {
        verdict: x[0] - r.value > one ? 'contradicted' : 'reproduced',
        measured: `${show(0)} (claimed at most ${f(r.value)})`,
        threshold: one,
      };
  }
}
