import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Param } from '../engine/module.ts';
import { Rng } from '../engine/rng.ts';
import { Lamb } from '../optim/lamb.ts';
import { buildOptimizer, lamb } from '../optim/index.ts';
import { TEST_ENGINES, assertClose, useBackend } from './helpers/backend.ts';

const norm = (x: number[]) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
const EPS = 1e-6;

/** Independent float64 reference of LAMB as documented in optim/lamb.ts, for one parameter. */
class RefLamb {
  m: number[];
  v: number[];
  t = 0;
  constructor(
    public p: number[],
    readonly ndim: number,
    readonly o: { b1: number; b2: number; eps: number; wd: number },
  ) {
    this.m = p.map(() => 0);
    this.v = p.map(() => 0);
  }
  step(g: number[], lr: number): void {
    const { b1, b2, eps, wd } = this.o;
    this.t += 1;
    this.m = this.m.map((m, i) => b1 * m + (1 - b1) * g[i]);
    this.v = this.v.map((v, i) => b2 * v + (1 - b2) * g[i] * g[i]);
    let u = this.m.map((m, i) => m / (1 - b1 ** this.t) / (Math.sqrt(this.v[i] / (1 - b2 ** this.t)) + eps));
    let trust = 1;
    if (this.ndim > 1) {
      u = u.map((x, i) => x + wd * this.p[i]);
      const pn = norm(this.p);
      const un = norm(u);
      trust = pn > 0 && un > 0 ? pn / un : 1;
    }
    this.p = this.p.map((x, i) => x - lr * trust * u[i]);
  }
}

const makeParam = (name: string, shape: number[], values: number[], trainable = true) =>
  new Param(name, tf.tensor(values, shape, 'float32'), trainable);
const randn = (rng: Rng, n: number, std = 1) => Array.from({ length: n }, () => rng.normal(0, std));
const values = (p: Param) => p.variable.dataSync();

function stepWith(opt: Lamb, grads: [Param, number[]][], lr: number): void {
  const m = new Map<Param, tf.Tensor>(grads.map(([p, g]) => [p, tf.tensor(g, p.shape, 'float32')]));
  opt.step(m, lr);
  tf.dispose([...m.values()]);
}

for (const engine of TEST_ENGINES) {
  describe(`LAMB on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it('one step on a matrix: bias-corrected Adam direction, decay inside, trust ||p|| / ||u|| (hand-computed)', async () => {
      // Step 1: mhat = g, vhat = g^2, so the Adam direction is g / (|g| + eps), about sign(g).
      const a = makeParam('a', [1, 2], [3, 4]);
      const oa = new Lamb([a], { weightDecay: 0 });
      assert.deepEqual([oa.beta1, oa.beta2, oa.eps], [0.9, 0.999, 1e-6]);
      stepWith(oa, [[a, [0.6, 0.8]]], 0.1);
      const u0 = [0.6 / (0.6 + EPS), 0.8 / (0.8 + EPS)];
      const t0 = 5 / norm(u0); // about 5 / sqrt(2)
      assertClose(values(a), [3 - 0.1 * t0 * u0[0], 4 - 0.1 * t0 * u0[1]], 1e-6, 0, 'wd 0');
      assertClose(values(a), [3 - 0.5 / Math.SQRT2, 4 - 0.5 / Math.SQRT2], 1e-5, 0, 'wd 0, about sign(g)');
      const st = await oa.stateTensors();
      assertClose(st.get('a.exp_avg') as Float32Array, [0.06, 0.08], 1e-8, 1e-6, 'exp_avg');
      assertClose(st.get('a.exp_avg_sq') as Float32Array, [0.001 * 0.36, 0.001 * 0.64], 1e-10, 1e-5, 'exp_avg_sq');
      assert.equal(st.get('a.step'), 1);

      const b = makeParam('b', [1, 2], [3, 4]);
      const ob = new Lamb([b], { weightDecay: 0.5 });
      stepWith(ob, [[b, [0.6, 0.8]]], 0.1);
      const u1 = [u0[0] + 1.5, u0[1] + 2]; // about [2.5, 3]
      const t1 = 5 / norm(u1); // about 5 / sqrt(15.25)
      assertClose(values(b), [3 - 0.1 * t1 * u1[0], 4 - 0.1 * t1 * u1[1]], 1e-6, 0, 'wd 0.5');
      tf.dispose([a.variable, b.variable]);
      [oa, ob].forEach((o) => {
        o.dispose();
      });
    });

    it('1-D params get plain bias-corrected Adam: no decay, no trust ratio', () => {
      const bias = makeParam('norm.bias', [2], [1, -2]);
      const opt = new Lamb([bias], { weightDecay: 0.5 });
      stepWith(opt, [[bias, [0.5, -0.25]]], 0.1);
      assertClose(values(bias), [1 - 0.1 * (0.5 / (0.5 + EPS)), -2 + 0.1 * (0.25 / (0.25 + EPS))], 1e-6, 0, 'bias'); // about [0.9, -1.9]
      tf.dispose([bias.variable]);
      opt.dispose();
    });

    it('zero norms give trust 1 and no NaN; a zero gradient with decay shrinks p by (1 - lr)', async () => {
      const z = makeParam('z', [2, 2], [0, 0, 0, 0]); // ||p|| = 0: trust 1, p = -lr * u
      const s = makeParam('s', [1, 2], [3, 4]); // g = 0, wd = 0 below: u = 0, trust 1, unchanged
      const opt = new Lamb([z, s], { weightDecay: 0 });
      stepWith(
        opt,
        [
          [z, [1, -2, 3, -4]],
          [s, [0, 0]],
        ],
        0.1,
      );
      assertClose(
        values(z),
        [1, -2, 3, -4].map((g) => (-0.1 * g) / (Math.abs(g) + EPS)),
        1e-7,
        1e-6,
        'zero param',
      );
      assert.deepEqual(Array.from(values(s)), [3, 4]);
      // g = 0, wd > 0: u = wd * p, trust = ||p|| / (wd ||p||) = 1 / wd, so p -= lr * p.
      const d = makeParam('d', [1, 2], [3, 4]);
      const od = new Lamb([d], { weightDecay: 0.5 });
      stepWith(od, [[d, [0, 0]]], 0.1);
      assertClose(values(d), [2.7, 3.6], 1e-6, 0, 'decay only');
      for (const o of [opt, od])
        for (const v of (await o.stateTensors()).values()) if (typeof v !== 'number') assert.ok(v.every(Number.isFinite));
      tf.dispose([z.variable, s.variable, d.variable]);
      [opt, od].forEach((o) => {
        o.dispose();
      });
    });

    it('matches the float64 reference over several steps (moments accumulate, per-parameter step counts)', async () => {
      const rng = new Rng(23);
      const o = { b1: 0.8, b2: 0.95, eps: 1e-3, wd: 0.2 };
      const shapes = [[3, 2], [4], [2, 1, 2, 1]];
      const init = shapes.map((s) =>
        randn(
          rng,
          s.reduce((x, y) => x * y, 1),
        ),
      );
      const params = shapes.map((s, i) => makeParam(`p${i}`, s, init[i]));
      const refs = init.map((v, i) => new RefLamb([...v], shapes[i].length, o));
      const opt = new Lamb(params, { beta1: o.b1, beta2: o.b2, eps: o.eps, weightDecay: o.wd });
      const lrs = [0.05, 0.2, 0.1, 0.3, 0.01, 0.15];
      for (let s = 0; s < lrs.length; s++) {
        const grads: [Param, number[]][] = [];
        params.forEach((p, i) => {
          if (i === 2 && (s === 1 || s === 4)) return; // its own step count (bias correction) lags
          grads.push([p, randn(rng, p.size, 0.1 + s)]);
        });
        stepWith(opt, grads, lrs[s]);
        for (const [p, g] of grads) refs[params.indexOf(p)].step(g, lrs[s]);
        params.forEach((p, i) => {
          assertClose(values(p), refs[i].p, 1e-5, 1e-4, `${p.name} after step ${s}`);
        });
      }
      const st = await opt.stateTensors();
      assert.deepEqual([st.get('step'), st.get('p0.step'), st.get('p2.step')], [lrs.length, lrs.length, lrs.length - 2]);
      params.forEach((p, i) => {
        assertClose(st.get(`${p.name}.exp_avg`) as Float32Array, refs[i].m, 1e-5, 1e-4, `${p.name}.exp_avg`);
        assertClose(st.get(`${p.name}.exp_avg_sq`) as Float32Array, refs[i].v, 1e-5, 1e-4, `${p.name}.exp_avg_sq`);
      });
      tf.dispose(params.map((p) => p.variable));
      opt.dispose();
    });

    it('state round trip: a restored optimizer continues exactly like the original', async () => {
      const rng = new Rng(5);
      const v0 = [randn(rng, 6), randn(rng, 3)];
      const mk = () => [makeParam('enc.w', [2, 3], v0[0]), makeParam('enc.b', [3], v0[1])];
      const [pa, pb] = [mk(), mk()];
      const oa = new Lamb(pa, { weightDecay: 0.1 });
      const gs = [0, 1, 2, 3, 4].map(() => [randn(rng, 6), randn(rng, 3)]);
      for (const g of gs.slice(0, 3))
        stepWith(
          oa,
          [
            [pa[0], g[0]],
            [pa[1], g[1]],
          ],
          0.1,
        );
      const ob = new Lamb(pb, { weightDecay: 0.1 });
      pb.forEach((p, i) => {
        p.variable.assign(pa[i].variable);
      });
      ob.loadFromCheckpoint(await oa.stateForCheckpoint());
      assert.equal(ob.stepCount, 3);
      for (const g of gs.slice(3)) {
        stepWith(
          oa,
          [
            [pa[0], g[0]],
            [pa[1], g[1]],
          ],
          0.05,
        );
        stepWith(
          ob,
          [
            [pb[0], g[0]],
            [pb[1], g[1]],
          ],
          0.05,
        );
      }
      pa.forEach((p, i) => {
        assert.deepEqual(Array.from(values(pb[i])), Array.from(values(p)));
      });
      const ck = await oa.stateForCheckpoint();
      assert.deepEqual(ck.scalars, { step: 5, 'enc.w.step': 5, 'enc.b.step': 5 });
      assert.deepEqual([...ck.tensors.keys()].sort(), ['enc.b.exp_avg', 'enc.b.exp_avg_sq', 'enc.w.exp_avg', 'enc.w.exp_avg_sq']);
      ob.loadState(await oa.stateTensors());
      assert.throws(() => ob.loadState(new Map([['other.exp_avg', new Float32Array(6)]])), /unknown state entry 'other\.exp_avg'/);
      assert.throws(
        () => ob.loadState(new Map([['enc.w.exp_avg', new Float32Array(5)]])),
        /'enc\.w\.exp_avg' must be a Float32Array of 6 values/,
      );
      assert.throws(
        () => ob.loadState(new Map([['enc.w.exp_avg', new Float32Array(6)]])),
        /incomplete \(missing 'enc\.w\.exp_avg_sq', 'enc\.w\.step'\)/,
      );
      assert.throws(() => ob.loadState(new Map([['enc.w.step', 0]])), /'enc\.w\.step' must be an integer >= 1/);
      tf.dispose([...pa, ...pb].map((p) => p.variable));
      [oa, ob].forEach((o) => {
        o.dispose();
      });
    });

    it('rejects bad options, naming them, and bad params or gradients', () => {
      const a = makeParam('a', [2, 2], [1, 2, 3, 4]);
      assert.throws(() => new Lamb([a], { weightDecay: -0.1 }), /LAMB: weightDecay must be a number >= 0, got -0.1/);
      assert.throws(() => new Lamb([a], { weightDecay: 0, beta1: 1 }), /LAMB: beta1 must lie in \[0, 1\), got 1/);
      assert.throws(() => new Lamb([a], { weightDecay: 0, beta2: -0.5 }), /LAMB: beta2 must lie in \[0, 1\)/);
      assert.throws(() => new Lamb([a], { weightDecay: 0, eps: 0 }), /LAMB: eps must be a number > 0, got 0/);
      assert.throws(
        () => buildOptimizer(lamb, [a], { weightDecay: 0, trustCoefficient: 0.001 }),
        /optimizer: unknown field 'trustCoefficient'/,
      );
      const buf = new Param('bn.running_var', tf.ones([2]), false, 'buffer');
      assert.throws(() => new Lamb([buf], { weightDecay: 0 }), /'bn\.running_var' is a buffer/);
      const a2 = makeParam('a', [2, 2], [1, 2, 3, 4]);
      assert.throws(() => new Lamb([a, a2], { weightDecay: 0 }), /two parameters are named 'a'/);
      const opt = new Lamb([a], { weightDecay: 0 });
      const g = tf.zeros([2, 2]);
      assert.throws(() => opt.step(new Map([[a2, g]]), 0.1), /does not hold/);
      opt.dispose();
      tf.dispose([g, a.variable, a2.variable, buf.variable]);
    });

    it('factory builds with the documented defaults; the live tensor count does not grow over 20 steps', async () => {
      assert.equal(lamb.name, 'lamb');
      const rng = new Rng(3);
      const params = [makeParam('x', [8, 4], randn(rng, 32)), makeParam('y', [4], randn(rng, 4))];
      const opt = buildOptimizer(lamb, params, { weightDecay: 0.1 }) as Lamb;
      assert.deepEqual([opt.beta1, opt.beta2, opt.eps, opt.weightDecay], [0.9, 0.999, 1e-6, 0.1]);
      const grads = new Map<Param, tf.Tensor>(params.map((p) => [p, tf.randomNormal(p.shape, 0, 1, 'float32', 1)]));
      opt.step(grads, 0.01); // creates the moments (2 per param)
      const after1 = tf.memory().numTensors;
      for (let s = 0; s < 20; s++) opt.step(grads, 0.01 * (s + 1));
      assert.equal(tf.memory().numTensors, after1);
      opt.loadState(await opt.stateTensors());
      assert.equal(tf.memory().numTensors, after1, 'loadState');
      opt.dispose();
      assert.equal(tf.memory().numTensors, after1 - 4, 'dispose frees the moments');
      tf.dispose([...grads.values(), ...params.map((p) => p.variable)]);
    });
  });
}
