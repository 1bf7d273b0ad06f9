import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Param } from '../engine/module.ts';
import { Rng } from '../engine/rng.ts';
import { Lars } from '../optim/lars.ts';
import { adamw, buildOptimizer, lars } from '../optim/index.ts';
import { TEST_ENGINES, assertClose, useBackend } from './helpers/backend.ts';

const norm = (x: number[]) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

/** Independent float64 reference of moco/optimizer.py's LARS for one parameter. */
class RefLars {
  mu: number[];
  constructor(
    public p: number[],
    readonly ndim: number,
    readonly o: { wd: number; momentum: number; eta: number },
  ) {
    this.mu = p.map(() => 0);
  }
  step(g: number[], lr: number): void {
    let d = [...g];
    if (this.ndim > 1) {
      d = g.map((x, i) => x + this.o.wd * this.p[i]);
      const pn = norm(this.p);
      const dn = norm(d);
      const q = pn > 0 && dn > 0 ? (this.o.eta * pn) / dn : 1;
      d = d.map((x) => x * q);
    }
    this.mu = this.mu.map((m, i) => this.o.momentum * m + d[i]);
    this.p = this.p.map((x, i) => x - lr * this.mu[i]);
  }
}

const makeParam = (name: string, shape: number[], values: number[], trainable = true) =>
  new Param(name, tf.tensor(values, shape, 'float32'), trainable);
const randn = (rng: Rng, n: number, std = 1) => Array.from({ length: n }, () => rng.normal(0, std));
const values = (p: Param) => p.variable.dataSync();

/** One step of `opt` with gradient values per param; the gradient tensors are freed. */
function stepWith(opt: Lars, grads: [Param, number[]][], lr: number): void {
  const m = new Map<Param, tf.Tensor>(grads.map(([p, g]) => [p, tf.tensor(g, p.shape, 'float32')]));
  opt.step(m, lr);
  tf.dispose([...m.values()]);
}

for (const engine of TEST_ENGINES) {
  describe(`LARS on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it('one step on a matrix: decay, then trust ratio eta * ||p|| / ||g + wd p||, then momentum (hand-computed)', async () => {
      // p = [[3, 4]] (norm 5), g = [[0.6, 0.8]] (norm 1).
      const a = makeParam('a', [1, 2], [3, 4]);
      const oa = new Lars([a], { weightDecay: 0 });
      assert.deepEqual([oa.momentum, oa.trustCoefficient], [0.9, 0.001]);
      stepWith(oa, [[a, [0.6, 0.8]]], 0.1);
      // trust = 0.001 * 5 / 1 = 0.005; mu = [0.003, 0.004]; p -= 0.1 * mu.
      assertClose(values(a), [2.9997, 3.9996], 1e-6, 0, 'wd 0');
      assertClose((await oa.stateTensors()).get('a.mu') as Float32Array, [0.003, 0.004], 1e-9, 1e-6, 'mu');

      const b = makeParam('b', [1, 2], [3, 4]);
      const ob = new Lars([b], { weightDecay: 0.5, trustCoefficient: 0.1 });
      stepWith(ob, [[b, [0.6, 0.8]]], 1);
      // d = g + 0.5 p = [2.1, 2.8] (norm 3.5); trust = 0.1 * 5 / 3.5 = 1/7; mu = d/7 = [0.3, 0.4].
      assertClose(values(b), [2.7, 3.6], 1e-6, 0, 'wd 0.5');
      tf.dispose([a.variable, b.variable]);
      [oa, ob].forEach((o) => {
        o.dispose();
      });
    });

    it('1-D params (biases, norm gamma/beta) get plain momentum SGD: no decay, no trust ratio', async () => {
      const bias = makeParam('head.bias', [2], [1, -2]);
      const w = makeParam('head.weight', [1, 3], [0, 3, 4]); // ndim 2 although one dim is 1: layer-wise
      const opt = new Lars([bias, w], { weightDecay: 0.5, trustCoefficient: 0.1 });
      stepWith(
        opt,
        [
          [bias, [0.5, 0.25]],
          [w, [0, 0.6, 0.8]],
        ],
        0.1,
      );
      assertClose(values(bias), [0.95, -2.025], 1e-6, 0, 'bias after step 1'); // p - 0.1 * g
      assertClose(values(w), [0, 2.97, 3.96], 1e-6, 0, 'weight after step 1'); // trust 1/7 as above
      stepWith(opt, [[bias, [0.1, 0.2]]], 0.1);
      // mu = 0.9 * [0.5, 0.25] + [0.1, 0.2] = [0.55, 0.425]
      assertClose(values(bias), [0.95 - 0.055, -2.025 - 0.0425], 1e-6, 0, 'bias after step 2');
      assertClose((await opt.stateTensors()).get('head.bias.mu') as Float32Array, [0.55, 0.425], 1e-7, 1e-6, 'bias mu');
      tf.dispose([bias.variable, w.variable]);
      opt.dispose();
    });

    it('zero norms give trust 1 and no NaN', async () => {
      // ||p|| = 0: trust 1, decay adds nothing, p = -lr * g.
      const z = makeParam('z', [2, 2], [0, 0, 0, 0]);
      // ||g + wd p|| = 0: trust 1, update 0.
      const s = makeParam('s', [1, 2], [3, 4]);
      // both zero.
      const zz = makeParam('zz', [2, 1], [0, 0]);
      const opt = new Lars([z, s, zz], { weightDecay: 0.5 });
      stepWith(
        opt,
        [
          [z, [1, -2, 3, -4]],
          [s, [-1.5, -2]],
          [zz, [0, 0]],
        ],
        0.1,
      ); // s: g = -wd * p
      assertClose(values(z), [-0.1, 0.2, -0.3, 0.4], 1e-7, 1e-6, 'zero param');
      assertClose(values(s), [3, 4], 1e-7, 0, 'zero update');
      assert.deepEqual(Array.from(values(zz)), [0, 0]);
      for (const v of (await opt.stateTensors()).values()) if (typeof v !== 'number') assert.ok(v.every(Number.isFinite));
      tf.dispose([z.variable, s.variable, zz.variable]);
      opt.dispose();
    });

    it('matches the float64 reference over several steps (momentum accumulates, trust recomputed, skipped params keep their state)', async () => {
      const rng = new Rng(17);
      const o = { wd: 0.05, momentum: 0.8, eta: 0.02 };
      const shapes = [[3, 2], [4], [2, 1, 2, 1]];
      const init = shapes.map((s) =>
        randn(
          rng,
          s.reduce((x, y) => x * y, 1),
        ),
      );
      const params = shapes.map((s, i) => makeParam(`p${i}`, s, init[i]));
      const refs = init.map((v, i) => new RefLars([...v], shapes[i].length, o));
      const opt = new Lars(params, { weightDecay: o.wd, momentum: o.momentum, trustCoefficient: o.eta });
      const lrs = [0.5, 1.5, 1, 0.2, 2];
      for (let s = 0; s < lrs.length; s++) {
        const grads: [Param, number[]][] = [];
        params.forEach((p, i) => {
          if (i === 0 && s === 2) return; // no gradient: untouched, momentum kept for later
          grads.push([p, randn(rng, p.size, 0.1 + s)]);
        });
        stepWith(opt, grads, lrs[s]);
        for (const [p, g] of grads) refs[params.indexOf(p)].step(g, lrs[s]);
        params.forEach((p, i) => {
          assertClose(values(p), refs[i].p, 1e-5, 1e-4, `${p.name} after step ${s}`);
        });
      }
      const st = await opt.stateTensors();
      assert.equal(st.get('step'), lrs.length);
      params.forEach((p, i) => {
        assertClose(st.get(`${p.name}.mu`) as Float32Array, refs[i].mu, 1e-5, 1e-4, `${p.name}.mu`);
      });
      tf.dispose(params.map((p) => p.variable));
      opt.dispose();
    });

    it('state round trip: a restored optimizer continues exactly like the original', async () => {
      const rng = new Rng(5);
      const v0 = [randn(rng, 6), randn(rng, 3)];
      const mk = () => [makeParam('enc.w', [2, 3], v0[0]), makeParam('enc.b', [3], v0[1])];
      const [pa, pb] = [mk(), mk()];
      const oa = new Lars(pa, { weightDecay: 0.1, trustCoefficient: 0.01 });
      const gs = [0, 1, 2, 3, 4].map(() => [randn(rng, 6), randn(rng, 3)]);
      for (const g of gs.slice(0, 3))
        stepWith(
          oa,
          [
            [pa[0], g[0]],
            [pa[1], g[1]],
          ],
          0.5,
        );
      const ob = new Lars(pb, { weightDecay: 0.1, trustCoefficient: 0.01 });
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
          0.3,
        );
        stepWith(
          ob,
          [
            [pb[0], g[0]],
            [pb[1], g[1]],
          ],
          0.3,
        );
      }
      pa.forEach((p, i) => {
        assert.deepEqual(Array.from(values(pb[i])), Array.from(values(p)));
      });
      const ck = await oa.stateForCheckpoint();
      assert.deepEqual(ck.scalars, { step: 5 });
      assert.deepEqual([...ck.tensors.keys()].sort(), ['enc.b.mu', 'enc.w.mu']);
      ob.loadState(await oa.stateTensors());
      assert.throws(() => ob.loadState(new Map([['enc.w.momentum', new Float32Array(6)]])), /unknown state entry 'enc\.w\.momentum'/);
      assert.throws(() => ob.loadState(new Map([['enc.w.mu', new Float32Array(5)]])), /'enc\.w\.mu' must be a Float32Array of 6 values/);
      assert.throws(() => ob.loadState(new Map([['step', 1.5]])), /'step' must be an integer/);
      tf.dispose([...pa, ...pb].map((p) => p.variable));
      [oa, ob].forEach((o) => {
        o.dispose();
      });
    });

    it('rejects bad options, naming them, and bad params or gradients', () => {
      const a = makeParam('a', [2, 2], [1, 2, 3, 4]);
      assert.throws(() => new Lars([a], { weightDecay: -1 }), /LARS: weightDecay must be a number >= 0, got -1/);
      assert.throws(() => new Lars([a], { weightDecay: NaN }), /weightDecay/);
      assert.throws(() => new Lars([a], { weightDecay: 0, momentum: 1 }), /LARS: momentum must lie in \[0, 1\), got 1/);
      assert.throws(() => new Lars([a], { weightDecay: 0, momentum: -0.1 }), /momentum/);
      assert.throws(() => new Lars([a], { weightDecay: 0, trustCoefficient: 0 }), /LARS: trustCoefficient must be a number > 0, got 0/);
      assert.throws(
        () => buildOptimizer(lars, [a], { weightDecay: 0, beta1: 0.9 }),
        /optimizer: unknown field 'beta1' \(fields: momentum, trustCoefficient\)/,
      );
      assert.throws(
        () => buildOptimizer(adamw, [a], { weightDecay: 0, momentum: 0.9 }),
        /optimizer: unknown field 'momentum' \(fields: beta1, beta2, eps\)/,
      );
      assert.throws(() => buildOptimizer(lars, [a], { weightDecay: 0, momentum: 1 }), /optimizer\.momentum: must be < 1/);
      const frozen = makeParam('f', [2], [1, 2], false);
      assert.throws(() => new Lars([frozen], { weightDecay: 0 }), /'f'.*not trainable/);
      const opt = new Lars([a], { weightDecay: 0 });
      const g = tf.zeros([4]);
      assert.throws(() => opt.step(new Map([[a, g]]), 0.1), /gradient of 'a' has shape \[4\]/);
      assert.throws(() => opt.step(new Map(), -1), /lr must be/);
      opt.dispose();
      assert.throws(() => opt.step(new Map(), 0.1), /after dispose/);
      tf.dispose([g, a.variable, frozen.variable]);
    });

    it('factory builds with the recipe defaults; the live tensor count does not grow over 20 steps', async () => {
      assert.equal(lars.name, 'lars');
      const rng = new Rng(3);
      const params = [makeParam('x', [8, 4], randn(rng, 32)), makeParam('y', [4], randn(rng, 4))];
      const opt = buildOptimizer(lars, params, { weightDecay: 1e-6 }) as Lars;
      assert.deepEqual([opt.momentum, opt.trustCoefficient, opt.weightDecay], [0.9, 0.001, 1e-6]);
      const grads = new Map<Param, tf.Tensor>(params.map((p) => [p, tf.randomNormal(p.shape, 0, 1, 'float32', 1)]));
      opt.step(grads, 0.1); // creates mu (1 per param)
      const after1 = tf.memory().numTensors;
      for (let s = 0; s < 20; s++) opt.step(grads, 0.1 * (s + 1));
      assert.equal(tf.memory().numTensors, after1);
      opt.loadState(await opt.stateTensors());
      assert.equal(tf.memory().numTensors, after1, 'loadState');
      opt.dispose();
      assert.equal(tf.memory().numTensors, after1 - 2, 'dispose frees mu');
      tf.dispose([...grads.values(), ...params.map((p) => p.variable)]);
    });
  });
}
