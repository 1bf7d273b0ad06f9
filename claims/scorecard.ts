/**
 * `bench claims`: the paper's claims (claims/claims.json) judged on the stored results of a preset,
 * written as results/claims-PRESET.{md,csv,json,html}. Each claim's contrasts get an interval:
 * paired over seeds where its arms share two or more seeds, else from the noise pooled over every
 * repeated configuration in the store (claims/verdict.ts, claims/noise.ts). A claim the preset
 * cannot test is `not testable`, with the reason (claims/testable.ts).
 */
import path from 'node:path';
import { loadClaims, cellRefs, resolveRef, type Claim, type ClaimsFile, type Metric } from './schema.ts';
import { judge, VERDICTS, type Judged, type Verdict } from './verdict.ts';
import { ResultStore } from './measure.ts';
import { pooledNoise, type NoiseMetric, type PooledNoise } from './noise.ts';
import { untestableReason } from './testable.ts';
import { CONFIDENCE } from './stats.ts';
import type { ResultTable } from '../report/table.ts';
import { writeSuiteOutputs } from '../report/suite-outputs.ts';
import { loadSuite } from '../suites/index.ts';

export interface ScoredClaim extends Judged {
  id: string;
  claim: string;
  section: string;
  metric: Metric;
  paper: string;
  quote: string;
  /** The suites whose results it read. */
  suites: string[];
}

export interface Scorecard {
  preset: string;
  noise: PooledNoise;
  claims: ScoredClaim[];
  counts: Record<Verdict, number>;
}

const COUNTED: readonly Metric[] = ['dips', 'spikes', 'firstLayerLead'];

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

/** The pooled noise of a claim's metric (top-1 of fine-tuning: the probe's, no fine-tuning repeats are stored). */
function noiseMetric(m: Metric): NoiseMetric {
  return m === 'top1' ? 'linear' : m;
}

export function scoreClaims(file: ClaimsFile, store: ResultStore): Scorecard {
  const noise = pooledNoise(store);
  const claims = file.claims.map((c: Claim): ScoredClaim => {
    const metric = c.metric ?? 'linear';
    const refs = cellRefs(c.relation).map((r) => resolveRef(r, c));
    const suites = [...new Set(refs.map((r) => r.suite))];
    const multi = suites.length > 1;
    const labels = refs.map((r) => (multi ? `${r.suite}/${r.cell}` : r.cell));
    const base = { id: c.id, claim: c.claim, section: c.section, metric, paper: c.paper, quote: c.quote, suites };
    const stored = refs.map((r) => [...store.runs(r.suite, r.cell).values()][0]);
    const reason = untestableReason(c, store.preset, stored, labels);
    if (reason) return { ...base, verdict: 'not testable', measured: reason, interval: '', basis: '' };
    const samples = refs.map((r) => store.samples(r.suite, r.cell, metric));
    return { ...base, ...judge(c.relation, samples, labels, noise.byMetric[noiseMetric(metric)], { counts: COUNTED.includes(metric) }) };
  });
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const c of claims) counts[c.verdict]++;
  return { preset: store.preset, noise, claims, counts };
}

const METRIC_WORDS: Record<Metric, string> = {
  linear: 'linear probe (%)',
  knn: 'kNN (%)',
  top1: 'top-1 (%)',
  dips: 'kNN dips',
  spikes: 'gradient spikes',
  firstLayerLead: 'first-layer-first spike pairs',
};

/** `reproduced 16, contradicted 12, ...` in the verdicts' order, zero counts included. */
export function countsText(s: Scorecard): string {
  return `${s.claims.length} claims: ${VERDICTS.map((v) => `${s.counts[v]} ${v}`).join(', ')}`;
}

function noiseNotes(s: Scorecard): string[] {
  const n = s.noise;
  const f = (x: number) => x.toFixed(2);
  const pct = Math.round(CONFIDENCE * 100);
  const line = (m: NoiseMetric, words: string) => {
    const p = n.byMetric[m];
    return p ? `${words} sigma ${f(p.sigma)} (${pct} % interval ${f(p.lo)} to ${f(p.hi)}; ${p.dof} d.o.f.)` : undefined;
  };
  const metrics = [line('linear', 'linear probe'), line('knn', 'kNN'), line('dips', 'kNN dips'), line('spikes', 'gradient spikes')].filter(
    (x) => x !== undefined,
  );
  const seedsOnly = n.groups.filter((g) => g.rehashed === 0).length;
  const rehashed = n.groups.reduce((a, g) => a + g.rehashed, 0);
  return [
    n.groups.length
      ? `Noise: pooled over every repeated configuration stored at ${s.preset}: ${n.groups.length} configurations run more than ` +
        `once (${n.groups.reduce((a, g) => a + g.runs, 0)} runs; ${seedsOnly} repeated by seed only, ${rehashed} re-measurements of ` +
        `the same config hash on another host or session; one probe protocol per group): ${metrics.join('; ')}. Each value's ` +
        `standard deviation is that sigma; ` +
        `fine-tuning top-1 uses the probe's (no fine-tuning repeats are stored).`
      : `Noise: no configuration is stored more than once at ${s.preset} (run a suite with \`--seeds 3\`, or \`bench run seeds ` +
        `--preset ${s.preset}\`): claims without paired seeds are not judged.`,
    ...(n.groups.length
      ? [
          `Repeated configurations: ${n.groups.map((g) => `${g.cells.join(' = ')} (${g.runs} runs, seeds ${g.seeds.join(', ')})`).join('; ')}.`,
        ]
      : []),
    `Hosts and engines of the stored runs: ${n.hosts.map((h) => `${h.host}: ${h.runs} runs`).join('; ') || 'none'}.`,
  ];
}

export function scorecardTable(s: Scorecard): ResultTable {
  const pct = Math.round(CONFIDENCE * 100);
  return {
    name: `claims-${s.preset}`,
    title: `The paper's claims, judged at preset ${s.preset}`,
    columns: [
      { key: 'id', header: 'claim' },
      { key: 'section', header: 'paper section' },
      { key: 'claim', header: 'what the paper says' },
      { key: 'metric', header: 'metric' },
      { key: 'measured', header: 'measured' },
      { key: 'interval', header: `contrast (${pct} % interval)` },
      { key: 'basis', header: 'interval from' },
      { key: 'paper', header: 'paper' },
      { key: 'verdict', header: 'verdict', verdict: true },
    ],
    rows: s.claims.map((c) => ({
      id: c.id,
      section: c.section,
      claim: c.claim,
      metric: METRIC_WORDS[c.metric],
      measured: c.measured,
      interval: c.interval,
      basis: c.basis,
      paper: c.paper,
      verdict: c.verdict,
    })),
    notes: [
      `${countsText(s)} (not run: a suite without results at this preset).`,
      ...noiseNotes(s),
      `Verdicts: each claim reduces to contrasts claimed positive (a − b, a difference of differences, a cell against a ` +
        `constant, the best of one group against the best of another). A contrast whose arms share two or more seeds is ` +
        `judged paired: its value seed by seed, and the t interval of their mean; otherwise its arms' means with the pooled ` +
        `sigma and a t quantile on the noise's degrees of freedom. reproduced = every contrast's ${pct} % interval lies above 0; ` +
        `contradicted = one lies below 0; within noise = otherwise. "Not better" is reproduced when the interval lies at or ` +
        `below 0, "near" when it lies inside the tolerance, "at most" when it lies at or below the bound; each is contradicted ` +
        `when the interval lies wholly on the other side. The contrast shown is the one nearest to failing.`,
      'Event claims (kNN dips, gradient spikes, which layer spikes first) count events after the lr warm-up only, with the ' +
        'pooled noise of those counts; a claim whose only events lie inside the warm-up is not testable.',
      'not testable: the preset cannot test the claim (reason in the measured column): stand-in transfer data, arms that ' +
        'are the same configuration at the preset, probes chosen under different protocols (on the test set in results ' +
        'stored before the held-out split, on held-out training images since), events only inside warm-up, or a reason ' +
        'the claims file gives.',
      'At a small preset the cells are stand-ins trained for minutes to an hour: a contradicted or within-noise verdict says ' +
        'what this preset shows, not that the paper is wrong.',
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
      `${countsText(scorecard)}.`,
      `preset ${o.preset}; claims from claims/claims.json; values from the stored results in ` +
        `${path.relative(process.cwd(), o.resultsDir) || '.'}`,
    ],
  });
  return { table, scorecard, files };
}
