import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { judge } from '../claims/verdict.ts';
import { loadClaims, parseClaims } from '../claims/schema.ts';
import { ResultStore } from '../claims/measure.ts';
import { checkClaimRefs, runClaims, scoreClaims } from '../claims/scorecard.ts';

describe('claim verdicts', () => {
  const L = ['a', 'b', 'c', 'd'];
  it('greater: reproduced beyond 2 sqrt 2 sigma, contradicted beyond it the other way, else within noise', () => {
    const thr = 2 * Math.SQRT2 * 0.5; // 1.414
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [76, 74.5], L, 0.5).verdict, 'reproduced');
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [76, 74.6], L, 0.5).verdict, 'within noise', `1.4 < ${thr}`);
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [74.5, 76], L, 0.5).verdict, 'contradicted');
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [76, 74.6], L, 0.5).threshold, thr);
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [76, 74], L, 0).measured, 'a 76.0 vs b 74.0 (+2.0)');
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [3, 1], L, 0, true).measured, 'a 3 vs b 1 (+2)', 'counts as integers');
  });
  it('exact counts (sigma 0): equal is within noise, any difference decides', () => {
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [2, 2], L, 0).verdict, 'within noise');
    assert.equal(judge({ kind: 'greater', a: 'a', b: 'b' }, [3, 2], L, 0).verdict, 'reproduced');
    assert.equal(judge({ kind: 'above', a: 'a', value: 0 }, [0], L, 0).verdict, 'within noise');
    assert.equal(judge({ kind: 'above', a: 'a', value: 0 }, [-1], L, 0).verdict, 'contradicted');
    assert.equal(judge({ kind: 'atMost', a: 'a', value: 0 }, [0], L, 0).verdict, 'reproduced');
    assert.equal(judge({ kind: 'atMost', a: 'a', value: 0.3 }, [0.31], L, 0).verdict, 'contradicted');
  });
  it('gainGreater uses 4 sigma; near uses the tolerance plus the noise; notGreater only fails beyond the noise', () => {
    assert.equal(
      judge({ kind: 'gainGreater', a1: 'a', b1: 'b', a2: 'c', b2: 'd' }, [73, 71, 72, 71], L, 0.25).verdict,
      'within noise',
      'gain 2 vs 1: 1 <= 4 x 0.25',
    );
    assert.equal(judge({ kind: 'gainGreater', a1: 'a', b1: 'b', a2: 'c', b2: 'd' }, [73, 71, 72, 71.9], L, 0.25).verdict, 'reproduced');
    assert.equal(judge({ kind: 'near', a: 'a', b: 'b', tolerance: 1 }, [75, 76.8], L, 0.3).verdict, 'reproduced', '1.8 <= 1 + 0.85');
    assert.equal(judge({ kind: 'near', a: 'a', b: 'b', tolerance: 1 }, [75, 77], L, 0.3).verdict, 'contradicted');
    assert.equal(judge({ kind: 'notGreater', a: 'a', b: 'b' }, [76.5, 76], L, 0.5).verdict, 'reproduced');
    assert.equal(judge({ kind: 'notGreater', a: 'a', b: 'b' }, [78, 76], L, 0.5).verdict, 'contradicted');
  });
  it('order / best / worst: every pair must hold; one contradicted pair contradicts', () => {
    assert.equal(judge({ kind: 'order', cells: ['a', 'b', 'c'] }, [76, 74, 72], L, 0.3).verdict, 'reproduced');
    assert.equal(judge({ kind: 'order', cells: ['a', 'b', 'c'] }, [76, 75.9, 72], L, 0.3).verdict, 'within noise');
    assert.equal(judge({ kind: 'order', cells: ['a', 'b', 'c'] }, [76, 78, 72], L, 0.3).verdict, 'contradicted');
    assert.equal(judge({ kind: 'best', a: 'a', others: ['b', 'c'] }, [76, 74, 72], L, 0.3).verdict, 'reproduced');
    assert.equal(judge({ kind: 'worst', a: 'a', others: ['b', 'c'] }, [76, 74, 72], L, 0.3).verdict, 'contradicted');
    assert.equal(judge({ kind: 'worst', a: 'a', others: ['b', 'c'] }, [70, 74, 72], L, 0.3).verdict, 'reproduced');
  });
  it('a missing or NaN value is not run, naming the cell', () => {
    const j = judge({ kind: 'greater', a: 'a', b: 'b' }, [76, Number.NaN], L, 0.5);
    assert.equal(j.verdict, 'not run');
    assert.match(j.measured, /no measured value for b/);
  });
});

describe('the claims file', () => {
  it('validates, names existing suites and cells, and covers the paper (>= 15 claims over every Sec. 4, 6 topic)', () => {
    const f = loadClaims();
    checkClaimRefs(f);
    assert.ok(f.claims.length >= 15, `${f.claims.length} claims`);
    const suites = new Set(
      f.claims.flatMap((c) => [c.suite, ...('a' in c.relation && typeof c.relation.a === 'object' ? [c.relation.a.suite] : [])]),
    );
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
    ]) {
      assert.ok(suites.has(s), `a claim tests ${s}`);
    }
  });
  it('bad files are refused with the field named', () => {
    assert.throws(
      () =>
        parseClaims(
          {
            noise: { suite: 's', cells: ['a', 'b'] },
            claims: [{ id: 'x', claim: 'c', section: 's', paper: 'p', relation: { kind: 'greater', a: 'a' } }],
          },
          'c.json',
        ),
      /c\.json: invalid claims file:\n {2}claims\[0\]\.relation: must have required property 'b'/,
    );
    assert.throws(
      () =>
        parseClaims(
          {
            noise: { suite: 's', cells: ['a', 'b'] },
            claims: [{ id: 'x', claim: 'c', section: 's', paper: 'p', relation: { kind: 'greater', a: 'a', b: 'b' } }],
          },
          'c.json',
        ),
      /cell 'a' names no suite and the claim has no 'suite'/,
    );
    const dup = { id: 'x', claim: 'c', section: 's', suite: 's', paper: 'p', relation: { kind: 'greater', a: 'a', b: 'b' } };
    assert.throws(() => parseClaims({ noise: { suite: 's', cells: ['a', 'b'] }, claims: [dup, dup] }, 'c.json'), /duplicate claim id 'x'/);
    assert.throws(
      () =>
        checkClaimRefs(
          parseClaims({ noise: { suite: 's', cells: ['a', 'b'] }, claims: [{ ...dup, suite: 'ablation:pos-embed' }] }, 'c.json'),
          'c.json',
        ),
      /claim 'x': suite ablation:pos-embed has no cell 'a'/,
    );
  });
});

describe('scorecard on stored results', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-claims-'));
  const cell = (id: string, probe: number, knn = 0.5) => ({
    id,
    probe: { top1: probe },
    final: { knn },
    flags: { diverged: false },
    curves: { loss: [], lr: [], knn: [] },
  });
  fs.writeFileSync(
    path.join(dir, 'seeds-tiny.json'),
    JSON.stringify({ cells: [cell('seed 0', 0.7), cell('seed 1', 0.71), cell('seed 2', 0.72)] }),
  );
  fs.writeFileSync(
    path.join(dir, 'ablation-pos-embed-tiny.json'),
    JSON.stringify({ cells: [cell('sin-cos', 0.76), cell('learned', 0.755), cell('none', 0.7)] }),
  );
  fs.writeFileSync(
    path.join(dir, 'table4-tiny-cells.json'),
    JSON.stringify({ cells: [cell('ViT-B / MoCo v3', 0.6), { ...cell('ViT-B / SimCLR', 0), flags: { diverged: true } }] }),
  );

  it('reads probe values, the seed sigma, and judges; diverged or absent cells are not run', () => {
    const s = scoreClaims(loadClaims(), new ResultStore(dir, 'tiny'));
    assert.ok(Math.abs(s.noise!.linear.sigma - 1) < 1e-9, 'sample std of 70 / 71 / 72');
    assert.ok(Math.abs(s.noise!.linear.spread - 2) < 1e-9);
    const by = (id: string) => s.claims.find((c) => c.id === id)!;
    // 76 vs 75.5: within 2.83; 75.5 vs 70: beyond -> the order is within noise (one pair undecided)
    assert.equal(by('pos-embed:order').verdict, 'within noise');
    assert.equal(by('pos-embed:learned-not-better').verdict, 'reproduced');
    assert.equal(by('pos-embed:none-decent').verdict, 'contradicted', '6 points > 2 + 2.83');
    assert.equal(by('seeds:small-variation').verdict, 'contradicted', 'spread 2 > 0.3');
    assert.equal(by('frameworks:mocov3-best-vit-b').verdict, 'not run');
    assert.match(by('frameworks:mocov3-best-vit-b').measured, /ViT-B \/ SimCLR/);
    assert.equal(s.counts.reproduced + s.counts.contradicted + s.counts['within noise'] + s.counts['not run'], s.claims.length);
  });

  it('writes results/claims-PRESET.{md,csv,json,html} with the counts in the notes', () => {
    const r = runClaims({ preset: 'tiny', resultsDir: dir });
    for (const ext of ['md', 'csv', 'json', 'html']) assert.ok(fs.existsSync(path.join(dir, `claims-tiny.${ext}`)), ext);
    assert.match(r.table.notes[0], /^\d+ claims: 1 reproduced, 2 contradicted, 1 within noise, \d+ not run/);
    assert.match(fs.readFileSync(path.join(dir, 'claims-tiny.md'), 'utf8'), /pos-embed:none-decent/);
  });
});
