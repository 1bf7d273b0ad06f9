import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Param } from '../engine/module.ts';
import { Rng } from '../engine/rng.ts';
import { AdamW } from '../optim/adamw.ts';
import { adamwUpdate, adamwUpdateStock } from '../engine/ops/adamw-update.ts';
import { nativeOpsActive } from '../engine/backend.ts';
import { nativeAddon, nativeStatus } from '../engine/kernels/native-addon.ts';
import { assertClose, useBackend } from './helpers/backend.ts';

/** Independent float64 reference: torch.optim.AdamW, one element at a time. */
class RefAdamW {
  m: number[];
  v: number[];
  t = 0;
  constructor(
    public p: number[],
    readonly o: { b1: number; b2: number; eps: number; wd: number },
  ) {
    this.m = p.map(() => 0);
    this.v = p.map(() => 0);
  }
  step(g: number[], lr: number): void {
    const { b1, b2, eps, wd } = this.o;
    this.t += 1;
    for (let i = 0; i < this.p.length; i++) {
      this.p[i] -= lr * wd * this.p[i];
      this.m[i] = b1 * this.m[i] + (1 - b1) * g[i];
      this.v[i] = b2 * this.v[i] + (1 - b2) * g[i] * g[i];
      const mhat = this.m[i] / (1 - b1 ** this.t);
      const vhat = this.v[i] / (1 - b2 ** this.t);
      this.p[i] -= (lr * mhat) / (Math.sqrt(vhat) + eps);
    }
  }
}

function randn(rng: Rng, n: number, std = 1): number[] {
  return Array.from({ length: n }, () => rng.normal(0, std));
}

function makeParam(name: string, shape: number[], values: number[], trainable = true): Param {
  return new Param(name, tf.tensor(values, shape, 'float32'), trainable);
}

describe('AdamW on wasm', () => {
  before(async () => useBackend('wasm'));

  it(
    'matches a scalar torch.optim.AdamW reference over several steps (bias correction, decoupled decay, per-step lr, ' + 'skipped steps)',
    async () => {
      const rng = new Rng(11);
      const o = { b1: 0.8, b2: 0.95, eps: 1e-3, wd: 0.3 };
      const shapes = [[2, 3], [4], [1, 1, 5]];
      const init = shapes.map((s) =>
        randn(
          rng,
          s.reduce((a, b) => a * b, 1),
        ),
      );
      const params = shapes.map((s, i) => makeParam(`p${i}`, s, init[i]));
      const refs = init.map((v) => new RefAdamW([...v], o));
      const opt = new AdamW(params, { beta1: o.b1, beta2: o.b2, eps: o.eps, weightDecay: o.wd });
      const lrs = [0.05, 0.2, 0.1, 0.3, 0.01, 0.15, 0.25];
      for (let s = 0; s < lrs.length; s++) {
        const grads = new Map<Param, tf.Tensor>();
        const gs: number[][] = [];
        params.forEach((p, i) => {
          // p2 gets no gradient on steps 1 and 4: its own step count (bias correction) lags.
          if (i === 2 && (s === 1 || s === 4)) return;
          // Gradient scales differ per step so that m/v and the bias corrections matter.
          gs[i] = randn(rng, p.size, 0.1 + s);
          grads.set(p, tf.tensor(gs[i], p.shape, 'float32'));
        });
        opt.step(grads, lrs[s]);
        tf.dispose([...grads.values()]);
        refs.forEach((r, i) => {
          gs[i] && r.step(gs[i], lrs[s]);
        });
        params.forEach((p, i) => {
          assertClose(p.variable.dataSync(), refs[i].p, 1e-5, 1e-4, `${p.name} after step ${s}`);
        });
      }
      const st = await opt.stateTensors();
      assert.equal(st.get('step'), lrs.length);
      assert.equal(st.get('p0.step'), lrs.length);
      assert.equal(st.get('p2.step'), lrs.length - 2);
      params.forEach((p, i) => {
        assertClose(st.get(`${p.name}.exp_avg`) as Float32Array, refs[i].m, 1e-5, 1e-4, `${p.name}.exp_avg`);
        assertClose(st.get(`${p.name}.exp_avg_sq`) as Float32Array, refs[i].v, 1e-5, 1e-4, `${p.name}.exp_avg_sq`);
      });
      opt.dispose();
      params.forEach((p) => {
        p.variable.dispose();
      });
    },
  );

  it('decay is decoupled: a zero gradient still shrinks weights by lr * wd once Adam moments are zero', () => {
    const p = makeParam('w', [3], [1, -2, 4]);
    const opt = new AdamW([p], { weightDecay: 0.5 });
    assert.deepEqual([opt.beta1, opt.beta2, opt.eps], [0.9, 0.999, 1e-8]);
    const g = tf.zeros([3]);
    opt.step(new Map([[p, g]]), 0.1);
    // m = v = 0 -> Adam update 0; decay p *= 1 - 0.05. (Coupled L2 would give an Adam step of ~lr.)
    assertClose(p.variable.dataSync(), [0.95, -1.9, 3.8], 1e-6, 1e-6, 'decayed');
    tf.dispose([g, p.variable]);
    opt.dispose();
  });

  it('params without a gradient are untouched and get no state', async () => {
    const a = makeParam('a', [2], [1, 2]);
    const b = makeParam('b', [2], [3, 4]);
    const opt = new AdamW([a, b], { weightDecay: 0.1 });
    const g = tf.tensor([0.5, -0.5]);
    opt.step(new Map([[a, g]]), 0.1);
    opt.step(new Map([[a, g]]), 0.1);
    assert.deepEqual(Array.from(b.variable.dataSync()), [3, 4]);
    assert.notDeepEqual(Array.from(a.variable.dataSync()), [1, 2]);
    const st = await opt.stateTensors();
    assert.ok(st.has('a.exp_avg'));
    assert.ok(!st.has('b.exp_avg') && !st.has('b.step'));
    tf.dispose([g, a.variable, b.variable]);
    opt.dispose();
  });

  it('refuses frozen params, buffers, duplicate names and foreign or mis-shaped gradients', () => {
    const frozen = makeParam('blocks.0.frozen', [2], [1, 2], false);
    assert.throws(() => new AdamW([frozen], { weightDecay: 0 }), /'blocks\.0\.frozen'.*not trainable/);
    const buf = new Param('bn.running_mean', tf.zeros([2]), false, 'buffer');
    assert.throws(() => new AdamW([buf], { weightDecay: 0 }), /'bn\.running_mean' is a buffer/);
    const a = makeParam('a', [2], [1, 2]);
    const a2 = makeParam('a', [2], [1, 2]);
    assert.throws(() => new AdamW([a, a2], { weightDecay: 0 }), /two parameters are named 'a'/);
    const opt = new AdamW([a], { weightDecay: 0 });
    const g3 = tf.zeros([3]);
    const g2 = tf.zeros([2]);
    assert.throws(() => opt.step(new Map([[a, g3]]), 0.1), /shape/);
    assert.throws(() => opt.step(new Map([[a2, g2]]), 0.1), /does not hold/);
    assert.throws(() => opt.step(new Map([[a, g2]]), NaN), /lr/);
    tf.dispose([g2, g3, frozen.variable, buf.variable, a.variable, a2.variable]);
    opt.dispose();
  });

  it('state round trip: a restored optimizer continues exactly like the original', async () => {
    const rng = new Rng(5);
    const v0 = randn(rng, 6);
    const pa = makeParam('enc.w', [2, 3], v0);
    const pb = makeParam('enc.w', [2, 3], v0);
    const oa = new AdamW([pa], { weightDecay: 0.1 });
    const gs = [0, 1, 2, 3, 4].map(() => tf.tensor(randn(rng, 6), [2, 3]));
    for (const g of gs.slice(0, 3)) oa.step(new Map([[pa, g]]), 0.1);
    const ob = new AdamW([pb], { weightDecay: 0.1 });
    pb.variable.assign(pa.variable);
    ob.loadState(await oa.stateTensors());
    assert.equal(ob.stepCount, 3);
    for (const g of gs.slice(3)) {
      oa.step(new Map([[pa, g]]), 0.05);
      ob.step(new Map([[pb, g]]), 0.05);
    }
    assert.deepEqual(Array.from(pb.variable.dataSync()), Array.from(pa.variable.dataSync()));
    // Checkpoint form and validation.
    const ck = await oa.stateForCheckpoint();
    assert.deepEqual(Object.keys(ck.scalars).sort(), ['enc.w.step', 'step']);
    assert.deepEqual([...ck.tensors.keys()].sort(), ['enc.w.exp_avg', 'enc.w.exp_avg_sq']);
    ob.loadFromCheckpoint(ck);
    assert.throws(() => ob.loadState(new Map([['other.exp_avg', new Float32Array(6)]])), /unknown state entry 'other\.exp_avg'/);
    assert.throws(
      () => ob.loadState(new Map([['enc.w.exp_avg', new Float32Array(5)]])),
      /'enc\.w\.exp_avg' must be a Float32Array of 6 values/,
    );
    assert.throws(() => ob.loadState(new Map([['enc.w.exp_avg', new Float32Array(6)]])), /incomplete/);
    tf.dispose([...gs, pa.variable, pb.variable]);
    [oa, ob].forEach((o) => {
      o.dispose();
    });
  });

  it('the live tensor count does not grow over 20 steps', async () => {
    const rng = new Rng(3);
    const params = [makeParam('x', [8, 4], randn(rng, 32)), makeParam('y', [4], randn(rng, 4))];
    const opt = new AdamW(params, { weightDecay: 0.1 });
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

describe('adamwUpdate engine op', { skip: nativeAddon() ? false : `native kernels not built: ${nativeStatus()}` }, () => {
  before(async () => useBackend('wasm'));

  it('the fused native kernel and the stock tfjs path agree on one update', () => {
    assert.ok(nativeOpsActive());
    const n = 1030;
    const p = tf.randomNormal([n], 0, 1, 'float32', 1);
    const g = tf.randomNormal([n], 0, 1, 'float32', 2);
    const m = tf.randomNormal([n], 0, 0.1, 'float32', 3);
    const v = tf.square(tf.randomNormal([n], 0, 0.1, 'float32', 4));
    const h = { lr: 0.03, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, step: 3 };
    const before = tf.memory().numTensors;
    const fused = adamwUpdate(p, g, m, v, h);
    const stock = adamwUpdateStock(p, g, m, v, h);
    assert.equal(tf.memory().numTensors, before + 6, 'each path returns exactly its 3 results');
    for (const k of ['p', 'm', 'v'] as const) assertClose(fused[k].dataSync(), stock[k].dataSync(), 1e-6, 1e-5, k);
    tf.dispose([p, g, m, v, ...Object.values(fused), ...Object.values(stock)]);
  });
});
