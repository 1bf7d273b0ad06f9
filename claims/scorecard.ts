/**
 * `bench claims`: the paper's claims (claims/claims.json) judged on the stored results of a preset,
 * written as results/claims-PRESET.{md,csv,json,html}. Accuracy claims are judged against the
 * measured seed noise (the noise cells' linear-probe standard deviation, claims/verdict.ts); event
 * claims (dips, spikes, spike order) on exact counts.
 */
import path from 'node:path';
import { loadClaims, cellRefs, resolveRef, type Claim, type ClaimsFile, type Metric } from './schema.ts';
import { judge, type Judged, type Verdict } from './verdict.ts';
import { ResultStore, seedNoise } from './measure.ts';
import type { ResultTable } from '../report/table.ts';
import { writeSuiteOutputs } from '../report/suite-outputs.ts';
import { loadSuite } from '../suites/index.ts';

export interface ScoredClaim extends Judged {
  id: string;
  claim: string;
  section: string;
  metric: Metric;
  paper: string;
  /** The suites whose results it read. */
  suites: string[];
}

export interface Scorecard {
  preset: string;
  noise?: {
    suite: string;
    cells: string[];
    linear: { sigma: number; spread: number; values: number[] };
    knn?: { sigma: number; spread: number; values: number[] };
  };
  claims: ScoredClaim[];
  counts: Record<Verdict, number>;
}

const EXACT: readonly Metric[] = ['dips', 'spikes', 'firstLayerLead', 'seedSpread'];

/** Checks that every referenced suite and cell exists, so a typo is an error, not a 'not run'. */
export function checkClaimRefs(file: ClaimsFile, source = 'claims/claims.json'): void {
  for (const c of file.claims) {
    for (const r of cellRefs(c.relation)) {
      const { suite, cell } = resolveRef(r, c);
      let s: ReturnType<typeof loadSuite>;
      try {
        s = loadSuite(suite);
      } catch (err) {
        throw new Error(`${source}: claim '${c.id}': ${(err as Error).message}`);
      }
      if (!s.cells.some((x) => x.id === cell))
        throw new Error(
          `${source}: claim '${c.id}': suite ${suite} has no cell '${cell}' (cells: ` + `${s.cells.map((x) => x.id).join(', ')})`,
        );
    }
  }
}

export function scoreClaims(file: ClaimsFile, store: ResultStore): Scorecard {
  const linear = seedNoise(store, file.noise.suite, file.noise.cells, 'linear');
  const knn = seedNoise(store, file.noise.suite, file.noise.cells, 'knn');
  const claims = file.claims.map((c: Claim): ScoredClaim => {
    const metric = c.metric ?? 'linear';
    const refs = cellRefs(c.relation).map((r) => resolveRef(r, c));
    const suites = [...new Set(refs.map((r) => r.suite))];
    const multi = suites.length > 1;
    const labels = metric === 'seedSpread' ? ['seed spread'] : refs.map((r) => (multi ? `${r.suite}/${r.cell}` : r.cell));
    const values = refs.map((r) => (metric === 'seedSpread' ? linear?.spread : store.value(r.suite, r.cell, metric)));
    const sigma = EXACT.includes(metric) ? 0 : metric === 'knn' ? knn?.sigma : linear?.sigma;
    const base = { id: c.id, claim: c.claim, section: c.section, metric, paper: c.paper, suites };
    if (sigma === undefined) {
      return {
        ...base,
        verdict: 'not run',
        measured: `no seed noise: run \`bench run ${file.noise.suite} --preset ${store.preset}\``,
        threshold: Number.NaN,
      };
    }
    return { ...base, ...judge(c.relation, values, labels, sigma, ['dips', 'spikes', 'firstLayerLead'].includes(metric)) };
  });
  const counts: Record<Verdict, number> = { reproduced: 0, contradicted: 0, 'within noise': 0, 'not run': 0 };
  for (const c of claims) counts[c.verdict]++;
  return {
    preset: store.preset,
    ...(linear ? { noise: { suite: file.noise.suite, cells: file.noise.cells, linear, ...(knn ? { knn } : {}) } } : {}),
    claims,
    counts,
  };
}

const METRIC_WORDS: Record<Metric, string> = {
  linear: 'linear probe (%)',
  knn: 'kNN (%)',
  top1: 'top-1 (%)',
  dips: 'kNN dips',
  spikes: 'gradient spikes',
  firstLayerLead: 'first-layer-first spike pairs',
  seedSpread: 'seed spread (points)',
};

export function scorecardTable(s: Scorecard): ResultTable {
  const n = s.noise;
  const f = (x: number) => x.toFixed(2);
  return {
    name: `claims-${s.preset}`,
    title: `The paper's claims, judged at preset ${s.preset}`,
    columns: [
      { key: 'id', header: 'claim' },
      { key: 'section', header: 'paper section' },
      { key: 'claim', header: 'what the paper says' },
      { key: 'metric', header: 'metric' },
      { key: 'measured', header: 'measured' },
      { key: 'paper', header: 'paper' },
      { key: 'noise', header: 'noise (±)', numeric: true },
      { key: 'verdict', header: 'verdict', verdict: true },
    ],
    rows: s.claims.map((c) => ({
      id: c.id,
      section: c.section,
      claim: c.claim,
      metric: METRIC_WORDS[c.metric],
      measured: c.measured,
      paper: c.paper,
      noise: Number.isFinite(c.threshold) ? (c.threshold === 0 ? 'exact' : f(c.threshold)) : '',
      verdict: c.verdict,
    })),
    notes: [
      `${s.claims.length} claims: ${s.counts.reproduced} reproduced, ${s.counts.contradicted} contradicted, ` +
        `${s.counts['within noise']} within noise, ${s.counts['not run']} not run (their suites have no results at this preset).`,
      n
        ? `Noise: the linear probe of ${n.cells.length} seeds of the default cell (suite ${n.suite}: ` +
          `${n.linear.values.map((v) => v.toFixed(1)).join(' / ')} %) has standard deviation sigma ${f(n.linear.sigma)} ` +
          `and spread ` +
          `${f(n.linear.spread)} points${n.knn ? ` (kNN: sigma ${f(n.knn.sigma)}, spread ${f(n.knn.spread)})` : ''}. A ` +
          `difference of two cells ` +
          `is within noise when it is at most 2 sqrt(2) sigma (${f(2 * Math.SQRT2 * n.linear.sigma)} points), a difference of ` +
          `two differences ` +
          `at most 4 sigma, one cell against a constant at most 2 sigma; fine-tuning (top-1) claims use the probe's sigma (no ` +
          `fine-tuning seeds ` +
          `were run).`
        : `Noise: no seed spread measured at this preset (run \`bench run seeds --preset ${s.preset}\`); accuracy claims are ` +
          `not judged.`,
      'Verdicts: reproduced = the measured relation holds by more than the noise; contradicted = the opposite holds by ' +
        'more than the ' +
        'noise; within noise = the difference is not larger than the noise. "not better" claims are reproduced unless the ' +
        'opposite holds by ' +
        'more than the noise; "near" claims are reproduced when the difference is within the paper\'s tolerance plus the noise.',
      'Event claims (kNN dips, gradient spikes, which layer spikes first) compare exact counts from the stored curves with the ' +
        'current detector: equal counts are within noise (no difference shown).',
      'At a small preset the cells are stand-ins trained for minutes: a contradicted or within-noise verdict says what ' +
        'this preset ' +
        'shows, not that the paper is wrong.',
    ],
  };
}

export interface ClaimsRunOptions {
  preset: string;
  resultsDir: string;
  claimsFile?: string;
}

export function runClaims(o: ClaimsRunOptions): { table: ResultTable; scorecard: Scorecard; files: string[] } {
  const file = loadClaims(o.claimsFile);
  checkClaimRefs(file, o.claimsFile);
  const scorecard = scoreClaims(file, new ResultStore(o.resultsDir, o.preset));
  const table = scorecardTable(scorecard);
  const files = writeSuiteOutputs(o.resultsDir, {
    table,
    json: { preset: o.preset, scorecard },
    meta: [
      // the summary first, then where it comes from (a path relative to the working folder: no machine's absolute path)
      `${scorecard.claims.length} claims: ${scorecard.counts.reproduced} reproduced, ${scorecard.counts.contradicted} contradicted, ` +
        `${scorecard.counts['within noise']} within noise, ${scorecard.counts['not run']} not run.`,
      `preset ${o.preset}; claims from claims/claims.json; values from the stored results in ` +
        `${path.relative(process.cwd(), o.resultsDir) || '.'}`,
    ],
  });
  return { table, scorecard, files };
}
