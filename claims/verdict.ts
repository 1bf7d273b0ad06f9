/**
 * Verdicts of claims on measured values (pure). Each relation reduces to contrasts of cell values
 * (a - b, (a1 - b1) - (a2 - b2), a - constant, the best of one group - the best of another), each
 * claimed positive, and each contrast gets a CONFIDENCE interval:
 *
 * - **paired**, when every cell of the contrast was measured at the same two or more seeds (arms at
 *   one seed share init, data order and augmentation draws where their configs allow): the
 *   contrast is computed seed by seed and the interval is the t interval of its mean over seeds;
 * - **pooled**, otherwise (a single seed, or seeds that do not match): the contrast of the cells'
 *   means, with the pooled noise sigma (claims/noise.ts) as each value's standard deviation and a
 *   t quantile on the pooled noise's degrees of freedom.
 *
 * A contrast holds when its interval lies above 0, is reversed when it lies below, and is within
 * noise otherwise. Every relation can come out within noise: "not greater" holds only when the
 * interval lies at or below 0, "near" when it lies inside the tolerance, "at most" when it lies at
 * or below the bound, each reversed when the interval lies wholly on the other side.
 */
import type { Relation } from './schema.ts';
import { mean, sampleSd, tCritical, tInterval, type PooledSd } from './stats.ts';

export type Verdict = 'reproduced' | 'contradicted' | 'within noise' | 'not testable' | 'not run';
export const VERDICTS: readonly Verdict[] = ['reproduced', 'contradicted', 'within noise', 'not testable', 'not run'];

export interface Judged {
  verdict: Verdict;
  /** The measured values and contrasts in words, with the per-seed contrasts where paired. */
  measured: string;
  /** The main contrast's estimate and interval in words, e.g. `+1.2 (-0.4 to +2.8)`; '' when not judged. */
  interval: string;
  /** How the interval was formed: `paired over 3 seeds`, `1 seed, pooled sigma 0.67 (14 d.o.f.)`, or why none. */
  basis: string;
}

/** A cell's measured values by seed. */
export type Samples = ReadonlyMap<number, number>;

/** An estimate with its interval; `perSeed` when paired. */
export interface Contrast {
  est: number;
  lo: number;
  hi: number;
  paired: boolean;
  seeds: number;
  perSeed?: number[];
}

/** Seeds at which every listed cell was measured, ascending. */
function commonSeeds(cells: readonly Samples[]): number[] {
  const [first, ...rest] = cells;
  return [...first.keys()].filter((s) => rest.every((c) => c.has(s))).sort((a, b) => a - b);
}

/**
 * A contrast sum(coef_i x_i) - constant over the cells in `terms`; paired over common seeds where
 * there are two or more, else from the cells' means with the pooled sigma. `perSeedValue` replaces
 * the linear form seed by seed (e.g. a max over a group), `terms` then giving the coefficients of
 * the single-seed approximation.
 */
export function contrast(
  terms: readonly { cell: Samples; coef: number }[],
  noise: PooledSd | undefined,
  constant = 0,
  perSeedValue?: (seed: number) => number,
): Contrast | undefined {
  const seeds = commonSeeds(terms.map((t) => t.cell));
  if (seeds.length >= 2) {
    const perSeed = seeds.map((s) => (perSeedValue ? perSeedValue(s) : terms.reduce((a, t) => a + t.coef * t.cell.get(s)!, 0) - constant));
    const sd = sampleSd(perSeed);
    if (sd === 0) return { est: perSeed[0], lo: perSeed[0], hi: perSeed[0], paired: true, seeds: seeds.length, perSeed };
    const t = tInterval(perSeed);
    return { est: t.mean, lo: t.lo, hi: t.hi, paired: true, seeds: seeds.length, perSeed };
  }
  if (!noise) return undefined;
  const est = terms.reduce((a, t) => a + t.coef * mean([...t.cell.values()]), 0) - constant;
  const se = noise.sigma * Math.sqrt(terms.reduce((a, t) => a + t.coef ** 2 / t.cell.size, 0));
  const half = se === 0 ? 0 : tCritical(noise.dof) * se;
  return { est, lo: est - half, hi: est + half, paired: false, seeds: Math.min(...terms.map((t) => t.cell.size)) };
}

/** The verdict of a contrast claimed positive. */
function positive(c: Contrast): Verdict {
  if (c.lo > 0) return 'reproduced';
  if (c.hi < 0) return 'contradicted';
  return 'within noise';
}

/** Several contrasts that must all hold: one reversed contradicts, all holding reproduces. */
function all(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('contradicted')) return 'contradicted';
  return verdicts.every((v) => v === 'reproduced') ? 'reproduced' : 'within noise';
}

export interface JudgeOptions {
  /** Counts (dips, spikes): integers shown without decimals. */
  counts?: boolean;
}

/**
 * Judges a relation given its cells' samples (in cellRefs order), their labels and the pooled noise
 * of the metric (undefined: none measured, so a claim without paired seeds is not judged).
 */
export function judge(r: Relation, cells: readonly Samples[], labels: string[], noise: PooledSd | undefined, o: JudgeOptions = {}): Judged {
  const f = (x: number) => (o.counts && Number.isInteger(x) ? String(x) : x.toFixed(1));
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${f(Math.abs(x))}`;
  const missing = [...new Set(cells.map((c, i) => (c.size === 0 ? labels[i] : undefined)).filter((x) => x !== undefined))];
  if (missing.length) return { verdict: 'not run', measured: `no measured value for ${missing.join(', ')}`, interval: '', basis: '' };
  const shown = (i: number) => {
    const v = [...cells[i].values()];
    return `${labels[i]} ${f(mean(v))}${v.length > 1 ? ` (mean of ${v.length} seeds)` : ''}`;
  };
  const pair = (a: number, b: number) =>
    contrast(
      [
        { cell: cells[a], coef: 1 },
        { cell: cells[b], coef: -1 },
      ],
      noise,
    );
  const noNoise: Judged = {
    verdict: 'not run',
    measured: 'no paired seeds and no repeated configuration at this preset to measure the noise',
    interval: '',
    basis: 'no noise estimate',
  };
  const basis = (c: Contrast) =>
    c.paired
      ? `paired over ${c.seeds} seeds`
      : `${c.seeds === 1 ? '1 seed' : `${c.seeds} seeds, unpaired`}, pooled sigma ${noise!.sigma.toFixed(2)} (${noise!.dof} d.o.f.)`;
  const ival = (c: Contrast) =>
    `${signed(c.est)} (${signed(c.lo)} to ${signed(c.hi)})${c.perSeed ? `; per seed ${c.perSeed.map(signed).join(' / ')}` : ''}`;
  // several contrasts: the one nearest to failing is the main one shown
  const many = (cs: (Contrast | undefined)[], measured: string, rule: (c: Contrast) => Verdict = positive): Judged => {
    if (cs.some((c) => c === undefined)) return noNoise;
    const ok = cs as Contrast[];
    const main = ok.reduce((m, c) => (c.lo < m.lo ? c : m));
    return { verdict: all(ok.map(rule)), measured, interval: ival(main), basis: basis(main) };
  };
  switch (r.kind) {
    case 'greater':
      return many([pair(0, 1)], `${shown(0)} vs ${shown(1)}`);
    case 'allGreater': {
      const cs = r.pairs.map((_, k) => pair(2 * k, 2 * k + 1));
      return many(cs, r.pairs.map((_, k) => `${shown(2 * k)} vs ${shown(2 * k + 1)}`).join('; '));
    }
    case 'notGreater':
      // a <= b: shown when the interval of a - b lies at or below 0
      return many([pair(0, 1)], `${shown(0)} vs ${shown(1)}`, (c) =>
        c.hi <= 0 ? 'reproduced' : c.lo > 0 ? 'contradicted' : 'within noise',
      );
    case 'near': {
      const t = r.tolerance;
      return many([pair(0, 1)], `${shown(0)} vs ${shown(1)} (claimed within ${f(t)})`, (c) =>
        c.lo >= -t && c.hi <= t ? 'reproduced' : c.lo > t || c.hi < -t ? 'contradicted' : 'within noise',
      );
    }
    case 'best':
    case 'worst': {
      const s = r.kind === 'best' ? 1 : -1;
      const cs = cells.slice(1).map((_, i) => (s > 0 ? pair(0, i + 1) : pair(i + 1, 0)));
      return many(
        cs,
        `${shown(0)} vs ${cells
          .slice(1)
          .map((_, i) => shown(i + 1))
          .join(', ')}`,
      );
    }
    case 'order': {
      const cs = cells.slice(1).map((_, i) => pair(i, i + 1));
      return many(cs, cells.map((_, i) => shown(i)).join(' > '));
    }
    case 'gainGreater': {
      const c = contrast(
        [
          { cell: cells[0], coef: 1 },
          { cell: cells[1], coef: -1 },
          { cell: cells[2], coef: -1 },
          { cell: cells[3], coef: 1 },
        ],
        noise,
      );
      const g = (a: number, b: number) => mean([...cells[a].values()]) - mean([...cells[b].values()]);
      return many([c], `${labels[0]} − ${labels[1]} = ${signed(g(0, 1))} vs ${labels[2]} − ${labels[3]} = ${signed(g(2, 3))}`);
    }
    case 'bestOfGreater': {
      // the best of group a against the best of group b, seed by seed where paired
      const na = r.a.length;
      const ia = [...Array(na).keys()];
      const ib = r.b.map((_, k) => na + k);
      const seedMax = (ix: number[], s: number) => Math.max(...ix.map((i) => cells[i].get(s)!));
      const meanOf = (i: number) => mean([...cells[i].values()]);
      const argmax = (ix: number[]) => ix.reduce((m, i) => (meanOf(i) > meanOf(m) ? i : m));
      const [ba, bb] = [argmax(ia), argmax(ib)];
      const c = contrast(
        [...ia, ...ib].map((i) => ({ cell: cells[i], coef: i === ba ? 1 : i === bb ? -1 : 0 })),
        noise,
        0,
        (s) => seedMax(ia, s) - seedMax(ib, s),
      );
      return many([c], `best of ${ia.map(shown).join(', ')} vs best of ${ib.map(shown).join(', ')}`);
    }
    case 'above': {
      const c = contrast([{ cell: cells[0], coef: 1 }], noise, r.value);
      return many([c], `${shown(0)} (claimed above ${f(r.value)})`);
    }
    case 'atMost': {
      const c = contrast([{ cell: cells[0], coef: 1 }], noise, r.value);
      return many([c], `${shown(0)} (claimed at most ${f(r.value)})`, (x) =>
        x.hi <= 0 ? 'reproduced' : x.lo > 0 ? 'contradicted' : 'within noise',
      );
    }
    case 'noiseAtMost': {
      // a second trial of one config differs by |X1 - X2|, X1 - X2 ~ N(0, 2 sigma^2): on average 2 sigma / sqrt(pi)
      if (!noise) return noNoise;
      const k = 2 / Math.sqrt(Math.PI);
      const [d, lo, hi] = [noise.sigma, noise.lo, noise.hi].map((x) => k * x);
      const verdict: Verdict = hi <= r.value ? 'reproduced' : lo > r.value ? 'contradicted' : 'within noise';
      return {
        verdict,
        measured:
          `pooled sigma ${noise.sigma.toFixed(2)} over ${noise.groups} repeated configurations; a second trial differs on ` +
          `average by ${d.toFixed(2)} (claimed at most ${r.value.toFixed(1)})`,
        interval: `${d.toFixed(2)} (${lo.toFixed(2)} to ${hi.toFixed(2)})`,
        basis: `pooled noise, ${noise.dof} d.o.f. (chi-square interval)`,
      };
    }
  }
}
