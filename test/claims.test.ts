import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { judge, type Samples } from '../claims/verdict.ts';
import { pooledSd, tCritical, tInterval, type PooledSd } from '../claims/stats.ts';
import { cellRefs, loadClaims, parseClaims, resolveRef } from '../claims/schema.ts';
import { ResultStore } from '../claims/measure.ts';
import { checkClaimRefs, runClaims, scoreClaims } from '../claims/scorecard.ts';

const one = (...xs: number[]): Samples => new Map(xs.map((x, i) => [i, x]));
const at = (x: number): Samples => new Map([[0, x]]);
/** Pooled noise of sigma on `dof` degrees of freedom (the interval is not used by judge). */
const pooled = (sigma: number, dof = 1e6): PooledSd => ({ sigma, dof, groups: 1, lo: sigma, hi: sigma });

describe('claim verdicts', () => {
  const L = ['a', 'b', 'c', 'd'];
  it('single seed: the interval of a - b is the difference +- t(dof) sqrt(2) sigma; reproduced above 0, contradicted below, else within noise', () => {
    const half = tCritical(1e6) * Math.SQRT2 * 0.5; // 1.386
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [at(76), at(74.5)], L, pooled(0.5)).verdict, 'reproduced');
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [at(76), at(74.7)], L, pooled(0.5)).verdict, 'within noise', `1.3 < ${half}`);
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [at(74.5), at(76)], L, pooled(0.5)).verdict, 'contradicted');
    const j = judge({ kind: 'greater', a: 'a', b: 'b' }, [at(76), at(74)], L, pooled(0.5, 10));
    assert.equal(
      j.interval,
      `+2.0 (+${(2 - tCritical(10) * Math.SQRT2 * 0.5).toFixed(1)} to +${(2 + tCritical(10) * Math.SQRT2 * 0.5).toFixed(1)})`,
    );
    assert.equal(j.basis, '1 seed, pooled sigma 0.50 (10 d.o.f.)');
    assert.equal(j.measured, 'a 76.0 vs b 74.0');
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [at(3), at(1)], L, pooled(0), { counts: true }).measured, 'a 3 vs b 1');
  });
  it('paired seeds: the t interval of the per-seed differences, whatever the pooled noise', () => {
    // differences 1.0 / 1.2 / 0.8: mean 1, sd 0.2, t(2) 4.30 -> 1 +- 0.50
    const j = judge({ kind: 'greater', a: 'a', b: 'b' }, [one(71, 72.2, 70.8), one(70, 71, 70)], L, undefined);
    assert.equal(j.verdict, 'reproduced');
    assert.equal(j.basis, 'paired over 3 seeds');
    assert.match(j.interval, /^\+1\.0 \(\+0\.5 to \+1\.5\); per seed \+1\.0 \/ \+1\.2 \/ \+0\.8$/);
    // the same means, a difference that changes sign across seeds: within noise
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [one(73, 70, 70), one(70, 71, 69)], L, pooled(0.01)).verdict, 'within noise');
    // seeds that do not match fall back to the pooled noise on the means
    const unpaired = judge(
      { kind: 'greater', a: 'a', b: 'b' },
      [
        new Map([
          [0, 72],
          [1, 72],
        ]),
        new Map([
          [2, 70],
          [3, 70],
        ]),
      ],
      L,
      pooled(1, 100),
    );
    assert.equal(unpaired.basis, '2 seeds, unpaired, pooled sigma 1.00 (100 d.o.f.)');
    assert.equal(unpaired.verdict, 'reproduced', `2 > t x sqrt(1/2 + 1/2) = ${tCritical(100).toFixed(2)}`);
  });
  it('every relation can be within noise: notGreater, near, atMost, above', () => {
    const s = pooled(0.5);
    assert.equal(judge({ kind: 'notGreater', a: 'a', b: 'b' }, [at(76), at(76)], L, s).verdict, 'within noise');
    assert.equal(judge({ kind: 'notGreater', a: 'a', b: 'b' }, [at(74), at(76)], L, s).verdict, 'reproduced');
    assert.equal(judge({ kind: 'notGreater', a: 'a', b: 'b' }, [at(78), at(76)], L, s).verdict, 'contradicted');
    assert.equal(
      judge({ kind: 'near', a: 'a', b: 'b', tolerance: 3 }, [at(75), at(75.5)], L, s).verdict,
      'reproduced',
      '|-0.5 +- 1.39| inside 3',
    );
    assert.equal(judge({ kind: 'near', a: 'a', b: 'b', tolerance: 1 }, [at(75), at(76)], L, s).verdict, 'within noise');
    assert.equal(judge({ kind: 'near', a: 'a', b: 'b', tolerance: 1 }, [at(75), at(78)], L, s).verdict, 'contradicted');
    assert.equal(judge({ kind: 'atMost', a: 'a', value: 70 }, [at(70)], L, s).verdict, 'within noise');
    assert.equal(judge({ kind: 'atMost', a: 'a', value: 70 }, [at(68)], L, s).verdict, 'reproduced');
    assert.equal(judge({ kind: 'atMost', a: 'a', value: 70 }, [at(72)], L, s).verdict, 'contradicted');
    assert.equal(judge({ kind: 'above', a: 'a', value: 70 }, [at(70.5)], L, s).verdict, 'within noise', '0.5 < 1.96 x 0.5');
    // exact counts (sigma 0): equal is within noise, any difference decides
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [at(2), at(2)], L, pooled(0)).verdict, 'within noise');
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [at(3), at(2)], L, pooled(0)).verdict, 'reproduced');
  });
  it('gainGreater: the variance of four cells (2 sigma); order / best / worst / allGreater: every contrast must hold', () => {
    const s = pooled(0.25);
    // gain 2 vs 1: 1 against 1.96 x 0.5
    assert.equal(
      judge({ kind: 'gainGreater', a1: 'a', b1: 'b', a2: 'c', b2: 'd' }, [at(73), at(71), at(72), at(71)], L, s).verdict,
      'reproduced',
    );
    assert.equal(
      judge({ kind: 'gainGreater', a1: 'a', b1: 'b', a2: 'c', b2: 'd' }, [at(73), at(71), at(72), at(70.5)], L, s).verdict,
      'within noise',
    );
    assert.equal(judge({ kind: 'order', cells: ['a', 'b', 'c'] }, [at(76), at(74), at(72)], L, s).verdict, 'reproduced');
    assert.equal(judge({ kind: 'order', cells: ['a', 'b', 'c'] }, [at(76), at(75.9), at(72)], L, s).verdict, 'within noise');
    assert.equal(judge({ kind: 'order', cells: ['a', 'b', 'c'] }, [at(76), at(78), at(72)], L, s).verdict, 'contradicted');
    assert.equal(judge({ kind: 'best', a: 'a', others: ['b', 'c'] }, [at(76), at(74), at(72)], L, s).verdict, 'reproduced');
    assert.equal(judge({ kind: 'worst', a: 'a', others: ['b', 'c'] }, [at(76), at(74), at(72)], L, s).verdict, 'contradicted');
    assert.equal(judge({ kind: 'worst', a: 'a', others: ['b', 'c'] }, [at(70), at(74), at(72)], L, s).verdict, 'reproduced');
    const pairs: [string, string][] = [
      ['a', 'b'],
      ['c', 'd'],
    ];
    assert.equal(judge({ kind: 'allGreater', pairs }, [at(76), at(74), at(72), at(70)], L, s).verdict, 'reproduced');
    assert.equal(judge({ kind: 'allGreater', pairs }, [at(76), at(74), at(70), at(72)], L, s).verdict, 'contradicted');
  });
  it("bestOfGreater compares each group's best, seed by seed when paired", () => {
    const r = { kind: 'bestOfGreater' as const, a: ['a', 'b'], b: ['c', 'd'] };
    assert.equal(judge(r, [at(70), at(75), at(73), at(72)], L, pooled(0.5)).verdict, 'reproduced', '75 - 73 = 2 > 1.39');
    // seed by seed: max(a) - max(b) = +2 / +2 / +1
    const j = judge(r, [one(70, 74, 71), one(75, 72, 71), one(73, 72, 70), one(70, 71, 69)], L, undefined);
    assert.match(j.interval, /per seed \+2\.0 \/ \+2\.0 \/ \+1\.0$/);
  });
  it('noiseAtMost: a second trial differs on average by 2 sigma / sqrt(pi), judged with the noise interval', () => {
    const noise: PooledSd = { sigma: 0.2, dof: 20, groups: 3, lo: 0.15, hi: 0.25 };
    const j = judge({ kind: 'noiseAtMost', value: 0.3 }, [], L, noise);
    assert.equal(j.verdict, 'reproduced', `${(0.25 * 2) / Math.sqrt(Math.PI)} <= 0.3`);
    assert.equal(j.interval, `${((0.2 * 2) / Math.sqrt(Math.PI)).toFixed(2)} (0.17 to 0.28)`);
    assert.equal(judge({ kind: 'noiseAtMost', value: 0.3 }, [], L, { ...noise, hi: 0.5 }).verdict, 'within noise');
    assert.equal(judge({ kind: 'noiseAtMost', value: 0.1 }, [], L, noise).verdict, 'contradicted');
  });
  it('a cell without a value is not run, naming it; no pairs and no noise is not run too', () => {
    const j = judge({ kind: 'greater', a: 'a', b: 'b' }, [at(76), new Map()], L, pooled(0.5));
    assert.equal(j.verdict, 'not run');
    assert.match(j.measured, /no measured value for b/);
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [at(76), at(70)], L, undefined).verdict, 'not run');
  });
});

describe('statistics', () => {
  it("t and chi-square quantiles match the tables; the pooled sd's interval brackets it", () => {
    assert.ok(Math.abs(tCritical(2) - 4.302653) < 1e-5);
    assert.ok(Math.abs(tCritical(1) - 12.706205) < 1e-5);
    assert.ok(Math.abs(tCritical(1e7) - 1.959964) < 1e-5);
    const p = pooledSd([[1, 2, 3], [10, 12], [5]])!;
    // deviations: 1 + 0 + 1 and 1 + 1: ss 4 on 1 + 2 = 3 d.o.f.
    assert.equal(p.dof, 3);
    assert.equal(p.groups, 2);
    assert.ok(Math.abs(p.sigma - Math.sqrt(4 / 3)) < 1e-12);
    // chi-square(3) quantiles 0.2158 and 9.3484
    assert.ok(Math.abs(p.lo - Math.sqrt(4 / 9.348404)) < 1e-5 && Math.abs(p.hi - Math.sqrt(4 / 0.215795)) < 1e-4);
    assert.equal(pooledSd([[1], [2]]), undefined);
    const t = tInterval([1, 1.2, 0.8]);
    assert.ok(Math.abs(t.hi - (1 + (4.302653 * 0.2) / Math.sqrt(3))) < 1e-5);
  });
});

describe('the claims file', () => {
  it('validates, names existing suites and cells, and covers the paper (>= 15 claims over every Sec. 4, 6 topic)', () => {
    const f = loadClaims();
    checkClaimRefs(f);
    assert.ok(f.claims.length >= 15, `${f.claims.length} claims`);
    const suites = new Set(f.claims.flatMap((c) => cellRefs(c.relation).map((r) => resolveRef(r, c).suite)));
    for (const c of f.claims) {
      assert.ok(c.quote.length >= 10, `${c.id} quotes the paper`);
      for (const p of Object.keys(c.untestable ?? {})) assert.ok(['paper', 'small', 'tiny', 'smoke'].includes(p), `${c.id}: ${p}`);
    }
    for (const s of [
      'ablation:pos-embed',
      'ablation:cls-token',
      'ablation:bn-heads',
      'ablation:predictor',
      'ablation:momentum',
      'ablation:train-length',
      'table4',
      'fig1:batch-size',
      'fig2:lr',
      'fig3:lamb',
      'fig4:grad-spike',
      'fig5:random-patch',
      'fig6:frameworks-random-patch',
      'fig8:vit-bn',
      'table5',
      'table1',
      'ablation:warmup',
    ]) {
      assert.ok(suites.has(s), `a claim tests ${s}`);
    }
  });
  it('bad files are refused with the field named', () => {
    assert.throws(
      () =>
        parseClaims(
          {
            claims: [
              { id: 'x', claim: 'c', section: 's', paper: 'p', quote: 'the words of the paper', relation: { kind: 'greater', a: 'a' } },
            ],
          },
          'c.json',
        ),
      /c\.json: invalid claims file:\n {2}claims\[0\]\.relation: must have required property 'b'/,
    );
    assert.throws(
      () =>
        parseClaims(
          {
            claims: [
              {
                id: 'x',
                claim: 'c',
                section: 's',
                paper: 'p',
                quote: 'the words of the paper',
                relation: { kind: 'greater', a: 'a', b: 'b' },
              },
            ],
          },
          'c.json',
        ),
      /cell 'a' names no suite and the claim has no 'suite'/,
    );
    const dup = {
      id: 'x',
      claim: 'c',
      section: 's',
      suite: 's',
      paper: 'p',
      quote: 'the words of the paper',
      relation: { kind: 'greater', a: 'a', b: 'b' },
    };
    assert.throws(() => parseClaims({ claims: [dup, dup] }, 'c.json'), /duplicate claim id 'x'/);
    assert.throws(
      () => parseClaims({ claims: [{ ...dup, untestable: { huge: 'no such preset' } }] }, 'c.json'),
      /c\.json: \/claims\/0\/untestable: unknown preset 'huge'/,
    );
    assert.throws(
      () => checkClaimRefs(parseClaims({ claims: [{ ...dup, suite: 'ablation:pos-embed' }] }, 'c.json'), 'c.json'),
      /claim 'x': suite ablation:pos-embed has no cell 'a'/,
    );
  });
});

describe('scorecard on stored results', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-claims-'));
  /** A stored pre-training cell: its config (seed aside) names its configuration, finishedAt its run. */
  const cell = (id: string, probe: number, o: { seed?: number; cfg?: string; arm?: string; at?: string } = {}) => ({
    id,
    ...(o.arm ? { arm: o.arm } : {}),
    hash: `${o.cfg ?? id}-${o.seed ?? 0}`,
    config: { seed: o.seed ?? 0, which: o.cfg ?? id },
    finishedAt: o.at ?? `${id}-${o.seed ?? 0}`,
    probe: { top1: probe },
    final: { knn: 0.5 },
    flags: { diverged: false },
    curves: { loss: [], lr: [], knn: [] },
  });
  const write = (file: string, suite: string, cells: unknown[]) => fs.writeFileSync(path.join(dir, file), JSON.stringify({ suite, cells }));
  // the default cell at three seeds (sd 1), stored again by another suite (the same run: not a repeat)
  write('seeds-tiny.json', 'seeds', [
    cell('seed 0', 0.7, { cfg: 'default' }),
    cell('seed 1', 0.71, { cfg: 'default', seed: 1 }),
    cell('seed 2', 0.72, { cfg: 'default', seed: 2 }),
  ]);
  write('ablation-pos-embed-tiny.json', 'ablation:pos-embed', [
    cell('sin-cos', 0.7, { cfg: 'default', at: 'seed 0-0' }),
    cell('learned', 0.695),
    cell('none', 0.64),
  ]);
  // paired arms at three seeds
  write('ablation-predictor-tiny.json', 'ablation:predictor', [
    ...[0, 1, 2].map((k) =>
      cell(k ? `w/ pred. MLP · seed ${k}` : 'w/ pred. MLP', 0.7 + 0.01 * k, { seed: k, arm: 'w/ pred. MLP', cfg: 'pred' }),
    ),
    ...[0, 1, 2].map((k) =>
      cell(k ? `w/o pred. MLP · seed ${k}` : 'w/o pred. MLP', 0.69 + 0.01 * k + [0, 0.001, -0.001][k], {
        seed: k,
        arm: 'w/o pred. MLP',
        cfg: 'nopred',
      }),
    ),
  ]);
  write('table4-tiny-cells.json', 'table4', [cell('ViT-B / MoCo v3', 0.6), { ...cell('ViT-B / SimCLR', 0), flags: { diverged: true } }]);
  // at this preset two sizes collapse to one stand-in
  write('fig8-vit-bn-tiny.json', 'fig8:vit-bn', [
    cell('ViT-H', 0.7, { cfg: 'tiny' }),
    cell('ViT-L', 0.69, { cfg: 'tiny', at: 'x' }),
    cell('ViT-B', 0.6),
  ]);
  write('table5-tiny.json', 'table5', [
    { id: 'ImNet self-sup., MoCo v3 / CIFAR-10 ViT-B', status: 'measured', top1: 0.9, detail: { source: 'synthetic stand-in' } },
    { id: 'random init. / CIFAR-10 ViT-B', status: 'measured', top1: 0.8, detail: { source: 'synthetic stand-in' } },
  ]);

  it('pools the noise over repeated configurations, pairs arms by seed, and says what it cannot test', () => {
    const s = scoreClaims(loadClaims(), new ResultStore(dir, 'tiny'));
    const lin = s.noise.byMetric.linear!;
    // seeds 70 / 71 / 72 (squares 2, 2 d.o.f.); fig8's ViT-H and ViT-L, one config measured twice: 70, 69 (0.5, 1);
    // each predictor arm at 3 seeds: 70 / 71 / 72 (2, 2) and 69 / 70.1 / 70.9 (1.82, 2)
    assert.equal(lin.dof, 7);
    assert.ok(Math.abs(lin.sigma - Math.sqrt((2 + 0.5 + 2 + 1.82) / 7)) < 1e-9, `${lin.sigma}`);
    assert.equal(s.noise.groups.length, 4);
    assert.equal(s.noise.groups.filter((g) => g.rehashed === 0).length, 3, 'the pos-embed copy of seed 0 is the same run, not a repeat');
    const by = (id: string) => s.claims.find((c) => c.id === id)!;
    assert.equal(by('predictor:helps').basis, 'paired over 3 seeds');
    assert.equal(by('predictor:helps').verdict, 'reproduced', 'differences 1.0 / 0.9 / 1.1 over 3 seeds');
    assert.equal(by('pos-embed:learned-not-better').verdict, 'within noise');
    assert.equal(
      by('pos-embed:none-worst').verdict,
      'reproduced',
      `5.5 and 6 points against t(3) sqrt(2) sigma = ${(tCritical(3) * Math.SQRT2 * lin.sigma).toFixed(2)}`,
    );
    assert.equal(by('seeds:small-variation').verdict, 'contradicted', 'a second trial differs by ~1 point, not 0.3');
    assert.equal(by('frameworks:mocov3-best-vit-b').verdict, 'not run');
    assert.match(by('frameworks:mocov3-best-vit-b').measured, /ViT-B \/ SimCLR/);
    assert.equal(by('fig8:bigger-better').verdict, 'not testable');
    assert.match(by('fig8:bigger-better').measured, /ViT-H and ViT-L are the same configuration at tiny/);
    assert.equal(by('transfer:beats-scratch-cifar10').verdict, 'not testable');
    assert.match(by('transfer:beats-scratch-cifar10').measured, /synthetic stand-in/);
    assert.equal(by('table1:vit-l-above-supervised').verdict, 'not testable', "the claims file's reason at tiny");
    assert.equal(
      Object.values(s.counts).reduce((a, b) => a + b, 0),
      s.claims.length,
    );
  });

  it('writes results/claims-PRESET.{md,csv,json,html} with the counts and the noise in the notes', () => {
    const r = runClaims({ preset: 'tiny', resultsDir: dir });
    for (const ext of ['md', 'csv', 'json', 'html']) assert.ok(fs.existsSync(path.join(dir, `claims-tiny.${ext}`)), ext);
    assert.match(r.table.notes[0], /^\d+ claims: \d+ reproduced, \d+ contradicted, \d+ within noise, \d+ not testable, \d+ not run/);
    assert.match(
      r.table.notes[1],
      /4 configurations run more than once \(11 runs;.*linear probe sigma 0\.95 \(95 % interval 0\.63 to 1\.93; 7 d\.o\.f\.\)/,
    );
    assert.match(fs.readFileSync(path.join(dir, 'claims-tiny.md'), 'utf8'), /pos-embed:none-decent/);
  });

  it('never pools or compares probes chosen under different protocols (on test in older results, on held-out images since)', () => {
    const d2 = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-claims-protocol-'));
    const probed = (id: string, top1: number, seed: number, chosenOn?: string) => ({
      ...cell(id, top1, { cfg: 'default', seed }),
      probe: { top1, ...(chosenOn ? { chosenOn, config: { valFraction: 0.1 } } : {}) },
    });
    fs.writeFileSync(
      path.join(d2, 'seeds-tiny.json'),
      JSON.stringify({ suite: 'seeds', cells: [probed('seed 0', 0.75, 0), probed('seed 1', 0.76, 1)] }),
    );
    // the same config, re-run under the held-out protocol: 3 points lower, not a repeat of the two above
    fs.writeFileSync(
      path.join(d2, 'ablation-bn-heads-tiny.json'),
      JSON.stringify({
        suite: 'ablation:bn-heads',
        cells: [probed('heads w/ BN', 0.72, 0, 'validation'), { ...cell('heads w/o BN (batch 2048)', 0.74), probe: { top1: 0.74 } }],
      }),
    );
    const s = scoreClaims(loadClaims(), new ResultStore(d2, 'tiny'));
    assert.equal(s.noise.byMetric.linear!.dof, 1, 'only the two test-chosen seeds pool');
    assert.ok(Math.abs(s.noise.byMetric.linear!.sigma - Math.SQRT1_2) < 1e-9);
    const c = s.claims.find((x) => x.id === 'bn-heads:helps')!;
    assert.equal(c.verdict, 'not testable');
    assert.match(c.measured, /heads w\/o BN \(batch 2048\)'s probe chose its lr on the test set/);
  });
});
