/**
 * The scorecard on planted effects: synthetic stored results where arm B is arm A plus a known
 * effect (+2 points, 0, -2), at 3 paired seeds that share a seed effect (common random numbers)
 * plus each run's own noise. Over many draws the verdicts must find the true effect, call the null
 * one reproduced or contradicted at about the intervals' 5 %, and contradict the reversed one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../engine/rng.ts';
import { ResultStore } from '../claims/measure.ts';
import { scoreClaims } from '../claims/scorecard.ts';
import { judge } from '../claims/verdict.ts';
import type { ClaimsFile } from '../claims/schema.ts';
import type { PooledSd } from '../claims/stats.ts';

const claim = (id: string, a: string) => ({
  id,
  claim: `${a} beats base`,
  section: 'test',
  suite: 'planted',
  paper: '-',
  quote: 'a planted effect of known size',
  relation: { kind: 'greater' as const, a, b: 'base' },
});
const FILE: ClaimsFile = { claims: [claim('plus2', 'plus 2'), claim('null', 'same'), claim('minus2', 'minus 2')] };
const ARMS: Record<string, number> = { base: 0, 'plus 2': 2, same: 0, 'minus 2': -2 };

/** One draw: every arm at seeds 0-2, value = 70 + seed effect (sd 1, shared) + arm effect + own noise (sd `noise`). */
function writeDraw(dir: string, rng: Rng, noise: number): void {
  const seedEffect = [0, 1, 2].map(() => rng.normal(0, 1));
  const cells = Object.entries(ARMS).flatMap(([arm, effect]) =>
    [0, 1, 2].map((k) => ({
      id: k ? `${arm} · seed ${k}` : arm,
      arm,
      hash: `${arm}-${k}`,
      config: { seed: k, arm },
      finishedAt: `${arm}-${k}`,
      probe: { top1: (70 + seedEffect[k] + effect + rng.normal(0, noise)) / 100 },
      final: { knn: 0.5 },
      flags: { diverged: false },
      curves: { loss: [], lr: [], knn: [] },
    })),
  );
  fs.writeFileSync(path.join(dir, 'planted-tiny.json'), JSON.stringify({ suite: 'planted', cells }));
}

describe('the scorecard on planted effects', () => {
  it('paired seeds through stored results: +2 found, the null rarely called, -2 contradicted (400 draws)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-planted-'));
    const rng = new Rng(20261207);
    const tally: Record<string, Record<string, number>> = { plus2: {}, null: {}, minus2: {} };
    const draws = 400;
    for (let d = 0; d < draws; d++) {
      writeDraw(dir, rng, 0.4);
      for (const c of scoreClaims(FILE, new ResultStore(dir, 'tiny')).claims) {
        assert.equal(c.basis, 'paired over 3 seeds');
        tally[c.id][c.verdict] = (tally[c.id][c.verdict] ?? 0) + 1;
      }
    }
    const rate = (id: string, v: string) => (tally[id][v] ?? 0) / draws;
    // per-seed differences have sd 0.4 sqrt 2 = 0.57: the 3-seed t interval is +-1.4, so +2 is found most of the time
    assert.ok(rate('plus2', 'reproduced') > 0.7, JSON.stringify(tally.plus2));
    assert.equal(rate('plus2', 'contradicted'), 0);
    assert.ok(rate('minus2', 'contradicted') > 0.7, JSON.stringify(tally.minus2));
    assert.equal(rate('minus2', 'reproduced'), 0);
    // the null effect: a verdict either way only at about the 95 % interval's 5 % (binomial sd at 400 draws: 1.1 %)
    const falsePositive = rate('null', 'reproduced') + rate('null', 'contradicted');
    if (process.env.SSLBENCH_PRINT_RATES) console.log(JSON.stringify(tally));
    assert.ok(falsePositive > 0.015 && falsePositive < 0.09, `false-positive rate ${falsePositive} (${JSON.stringify(tally.null)})`);
    // the shared seed effect (sd 1) cancels in the pairs: the same test unpaired would rarely find +2
  });

  it('a single seed with the pooled noise: false-positive rate near 5 % on its degrees of freedom, the +2 effect found (4,000 draws)', () => {
    const rng = new Rng(7);
    const sigma = 0.7;
    // the pooled noise is itself estimated: sigma-hat from 12 d.o.f. each draw
    let fp = 0;
    let found = 0;
    const draws = 4000;
    for (let d = 0; d < draws; d++) {
      const ss = Array.from({ length: 12 }, () => rng.normal(0, sigma) ** 2).reduce((a, b) => a + b, 0);
      const noise: PooledSd = { sigma: Math.sqrt(ss / 12), dof: 12, groups: 4, lo: 0, hi: 0 };
      const at = (x: number) => new Map([[0, x]]);
      const base = 70 + rng.normal(0, sigma);
      const same = 70 + rng.normal(0, sigma);
      const plus = 72 + rng.normal(0, sigma);
      const v0 = judge({ kind: 'greater', a: 'a', b: 'b' }, [at(same), at(base)], ['a', 'b'], noise).verdict;
      if (v0 !== 'within noise') fp++;
      if (judge({ kind: 'greater', a: 'a', b: 'b' }, [at(plus), at(base)], ['a', 'b'], noise).verdict === 'reproduced') found++;
    }
    if (process.env.SSLBENCH_PRINT_RATES) console.log({ fp: fp / draws, power: found / draws });
    assert.ok(Math.abs(fp / draws - 0.05) < 0.015, `false-positive rate ${fp / draws}`);
    // power of a 2-point effect against sqrt(2) x 0.7 = 0.99 per difference: about 0.45
    assert.ok(found / draws > 0.3 && found / draws < 0.65, `power ${found / draws}`);
  });
});
