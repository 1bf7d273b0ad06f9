import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { sinkhorn } from '../frameworks/losses/sinkhorn.ts';
import { swavLoss, swavMultiCropLoss } from '../frameworks/losses/swav.ts';
import { l2Normalize } from '../engine/ops/normalize.ts';
import { type Swav, SWAV_VIT_DEFAULTS, swav, type SwavConfig } from '../frameworks/swav.ts';
import { buildFramework } from '../frameworks/framework.ts';
import { TEST_ENGINES, assertClose, useBackend } from './helpers/backend.ts';
import { maxAbsDiff, microContext, randomViews, rows, snapshot, trainSteps } from './helpers/frameworks.ts';
import { twoViewSet } from '../frameworks/framework.ts';

/** SwAV's Sinkhorn-Knopp, written out in its own [K, B] layout in float64; returns [B, K]. */
function refSinkhorn(scores: number[][], eps: number, iters: number): number[][] {
  const b = scores.length;
  const k = scores[0].length;
  const q = Array.from({ length: k }, (_, p) => scores.map((row) => Math.exp(row[p] / eps)));
  const total = q.flat().reduce((s, v) => s + v, 0);
  q.forEach((r) => {
    r.forEach((_, j) => {
      r[j] /= total;
    });
  });
  for (let it = 0; it < iters; it++) {
    for (const r of q) {
      const sum = r.reduce((s, v) => s + v, 0);
      r.forEach((_, j) => {
        r[j] /= sum * k;
      });
    }
    for (let j = 0; j < b; j++) {
      const sum = q.reduce((s, r) => s + r[j], 0);
      q.forEach((r) => {
        r[j] /= sum * b;
      });
    }
  }
  return scores.map((_, j) => q.map((r) => r[j] * b));
}

const logSoftmax = (x: number[]) => {
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
  return x.map((v) => v - lse);
};

/** Swapped prediction by hand: (l(2 predicts q1) + l(1 predicts q2)) / 2. */
function refSwavLoss(s1: number[][], s2: number[][], t: number, eps: number, iters: number): number {
  const l = (q: number[][], s: number[][]) =>
    -q.reduce((acc, qb, i) => acc + logSoftmax(s[i].map((v) => v / t)).reduce((a, lp, k) => a + qb[k] * lp, 0), 0) / q.length;
  return 0.5 * (l(refSinkhorn(s1, eps, iters), s2) + l(refSinkhorn(s2, eps, iters), s1));
}

const S1 = [
  [0.9, -0.2, 0.1, 0.4],
  [0.3, 0.8, -0.5, 0.0],
  [-0.1, 0.2, 0.7, -0.6],
];
const S2 = [
  [0.5, 0.1, -0.3, 0.6],
  [0.2, 0.9, 0.1, -0.4],
  [0.0, -0.2, 0.8, 0.3],
];

function buildSwav(over: Partial<SwavConfig> = {}, seed = 0): Swav {
  return buildFramework(swav, { mlpDim: 32, outDim: 16, prototypes: 10, ...over }, microContext(seed)) as Swav;
}

const columnNorms = (w: tf.Tensor) => tf.norm(w, 'euclidean', 0).dataSync();

for (const engine of TEST_ENGINES) {
  describe(`SwAV on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it("Sinkhorn-Knopp matches SwAV's algorithm written out by hand (B = 3, K = 4, eps 0.05, 3 iterations)", () => {
      const got = sinkhorn(tf.tensor2d(S1), 0.05, 3).dataSync();
      assertClose(got, refSinkhorn(S1, 0.05, 3).flat(), 1e-5, 1e-4, 'codes');
    });

    it("Sinkhorn marginals: each sample's code sums to 1 exactly; the prototypes' to B/K, reached as iterations grow", () => {
      const s = tf.randomUniform([8, 5], -1, 1, 'float32', 3) as tf.Tensor2D;
      const q3 = sinkhorn(s, 0.05, 3);
      assertClose(tf.sum(q3, 1).dataSync(), new Array(8).fill(1), 1e-5, 0, 'sample sums');
      assert.ok(q3.dataSync().every((v) => v >= 0));
      const dev = [3, 10, 30, 300].map((it) => maxAbsDiff(tf.sum(sinkhorn(s, 0.05, it), 0).dataSync(), new Array(5).fill(8 / 5)));
      for (let i = 1; i < dev.length; i++) assert.ok(dev[i] < dev[i - 1], `prototype marginal error decreases: ${dev}`);
      assert.ok(dev[0] > 1e-2, `3 iterations leave the prototype marginals approximate: ${dev[0]}`);
      assert.ok(dev[3] < 1e-3, `converged after 300 iterations: ${dev[3]}`);
    });

    it('Sinkhorn is shift-invariant (max subtraction: exp(8 / 0.05) would overflow), NaN (no throw) for NaN', () => {
      assertClose(
        sinkhorn(tf.add(tf.tensor2d(S1), 7) as tf.Tensor2D, 0.05, 3).dataSync(),
        sinkhorn(tf.tensor2d(S1), 0.05, 3).dataSync(),
        1e-5,
        1e-4,
        'shifted',
      );
      const nan = tf.tensor2d([
        [Number.NaN, 0],
        [0, 1],
      ]);
      assert.ok(Number.isNaN(swavLoss(nan, nan, { temperature: 0.1, epsilon: 0.05, sinkhornIters: 3 }).dataSync()[0]));
    });

    it('swapped prediction loss matches a hand computation', () => {
      const got = swavLoss(tf.tensor2d(S1), tf.tensor2d(S2), { temperature: 0.1, epsilon: 0.05, sinkhornIters: 3 }).dataSync()[0];
      const want = refSwavLoss(S1, S2, 0.1, 0.05, 3);
      assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, want), `${got} vs ${want}`);
    });

    it('codes carry no gradient: d loss / d scores1 = (softmax(scores1 / T) - q2) / (2 B T)', () => {
      const t = 0.1;
      const s2 = tf.tensor2d(S2);
      const g = tf.grad((s: tf.Tensor) => swavLoss(s as tf.Tensor2D, s2, { temperature: t, epsilon: 0.05, sinkhornIters: 3 }))(
        tf.tensor2d(S1),
      );
      const q2 = refSinkhorn(S2, 0.05, 3);
      const want = S1.flatMap((row, b) =>
        logSoftmax(row.map((v) => v / t)).map((lp, k) => (Math.exp(lp) - q2[b][k]) / (2 * S1.length * t)),
      );
      assertClose(g.dataSync(), want, 1e-5, 1e-3, 'gradient');
    });

    it('heads without BN (Linears with biases); defaults from SwAV and the paper', () => {
      assert.deepEqual(SWAV_VIT_DEFAULTS, {
        prototypes: 3000,
        temperature: 0.1,
        epsilon: 0.05,
        sinkhornIters: 3,
        freezePrototypesEpochs: 1,
        projLayers: 3,
        mlpDim: 4096,
        outDim: 256,
      });
      const m = buildSwav();
      assert.deepEqual(
        m.projector.torchEntries().map((e) => `${e.name}${JSON.stringify(e.shape)}`),
        ['head.0.weight[32,64]', 'head.0.bias[32]', 'head.2.weight[32,32]', 'head.2.bias[32]', 'head.4.weight[16,32]', 'head.4.bias[16]'],
      );
      const protos = m
        .modules()
        .encoder.torchEntries()
        .filter((e) => e.name.startsWith('prototypes'));
      assert.deepEqual(
        protos.map((e) => `${e.name}${JSON.stringify(e.shape)}`),
        ['prototypes.weight[10,16]'],
      );
      m.dispose();
    });

    it('prototypes are unit vectors at init and are renormalised before every step', async () => {
      const m = buildSwav();
      const w = m.prototypes.weight.variable;
      assertClose(columnNorms(w), new Array(10).fill(1), 1e-5, 0, 'init norms');
      w.assign(tf.add(tf.mul(w, 3), tf.randomNormal(w.shape, 0, 0.5, 'float32', 4)));
      const [v1, v2] = randomViews(4, 3);
      tf.dispose(m.prepare(twoViewSet(v1, v2), { iter: 400, totalIters: 1000, itersPerEpoch: 1 }));
      assertClose(columnNorms(w), new Array(10).fill(1), 1e-5, 0, 'norms after prepare');
      // exported as SwAV's prototypes.weight [K, D]: rows are the prototypes
      const e = m
        .modules()
        .encoder.torchEntries()
        .find((x) => x.name === 'prototypes.weight')!;
      const d = (await e.read()) as Float32Array;
      for (let k = 0; k < 10; k++) assert.ok(Math.abs(Math.hypot(...d.subarray(k * 16, (k + 1) * 16)) - 1) < 1e-5);
      tf.dispose([v1, v2]);
      m.dispose();
    });

    it("the loss is the swapped prediction of the normalised projections' scores against the prototypes", () => {
      const m = buildSwav({ freezePrototypesEpochs: 0 });
      const [v1, v2] = randomViews(4, 13);
      const ctx = { iter: 0, totalIters: 4, itersPerEpoch: 1 };
      const prepared = m.prepare(twoViewSet(v1, v2), ctx);
      assert.equal(prepared.frozenPrototypes, undefined);
      const out = m.loss(twoViewSet(v1, v2), prepared, ctx);
      const z = l2Normalize(m.projector.apply(m.backbone.apply(tf.concat([v1, v2]) as tf.Tensor4D, true), true));
      const s = rows(tf.matMul(z, m.prototypes.weight.variable));
      const want = refSwavLoss(s.slice(0, 4), s.slice(4), 0.1, 0.05, 3);
      assert.ok(Math.abs(out.loss.dataSync()[0] - want) < 1e-3 * Math.max(1, want), `${out.loss.dataSync()[0]} vs ${want}`);
      assert.deepEqual(out.features.shape, [4, 64]);
      tf.dispose([v1, v2]);
      m.dispose();
    });

    it('prototypes are frozen (no gradient, no update) for freezePrototypesEpochs iterations, then trained', async () => {
      const m = buildSwav({ freezePrototypesEpochs: 2 });
      const proto = m.prototypes.weight;
      assert.ok(m.trainableParams().includes(proto), 'prototypes stay in trainableParams()');
      const vars = m.trainableParams().map((p) => p.variable);
      const [v1, v2] = randomViews(8, 17);
      const gradsAt = (iter: number) => {
        const ctx = { iter, totalIters: 10, itersPerEpoch: 1 };
        const prepared = m.prepare(twoViewSet(v1, v2), ctx);
        const { value, grads } = tf.variableGrads(() => m.loss(twoViewSet(v1, v2), prepared, ctx).loss, vars);
        const g = grads[proto.variable.name];
        const r = { has: g !== undefined, norm: g ? tf.norm(g).dataSync()[0] : 0, frozen: m.lastStats().prototypesFrozen };
        tf.dispose([value, prepared, ...Object.values(grads)]);
        return r;
      };
      assert.deepEqual(gradsAt(1), { has: false, norm: 0, frozen: 1 });
      const open = gradsAt(2);
      assert.ok(open.has && open.norm > 0 && open.frozen === 0, `gradient at iteration 2: ${JSON.stringify(open)}`);

      const head = m.projector.trainableParams();
      const p0 = proto.variable.dataSync().slice();
      const h0 = snapshot(head);
      await trainSteps(m, v1, v2, 2, { from: 0, lr: 0.5 });
      assert.ok(maxAbsDiff(proto.variable.dataSync(), p0) < 1e-6, 'frozen prototypes unchanged (up to renormalisation)');
      assert.ok(
        head.some((p, i) => maxAbsDiff(p.variable.dataSync(), h0[i]) > 1e-6),
        'the head trained meanwhile',
      );
      await trainSteps(m, v1, v2, 1, { from: 2, lr: 0.5 });
      assert.ok(maxAbsDiff(proto.variable.dataSync(), p0) > 1e-5, 'prototypes updated after the freeze');
      tf.dispose([v1, v2]);
      m.dispose();
    });

    it('validates its config, naming the field', () => {
      assert.throws(() => buildSwav({ temperature: 0 }), /framework\.temperature: must be > 0/);
      assert.throws(() => buildSwav({ epsilon: -1 }), /framework\.epsilon: must be > 0/);
      assert.throws(() => buildSwav({ sinkhornIters: 0 }), /framework\.sinkhornIters: must be >= 1/);
      assert.throws(() => buildSwav({ freezePrototypesEpochs: -1 }), /framework\.freezePrototypesEpochs/);
      assert.throws(() => buildSwav({ prototypes: 2.5 }), /framework\.prototypes/);
    });

    it('trains: finite loss, no tensor leak', async () => {
      assert.equal(swav.name, 'swav');
      const m = buildFramework(swav, { mlpDim: 32, outDim: 16, prototypes: 20, freezePrototypesEpochs: 1 }, microContext(3));
      const [v1, v2] = randomViews(8, 41);
      const { losses, tensors } = await trainSteps(m, v1, v2, 3);
      assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
      assert.ok(losses[0] > 0 && losses[0] < 2 * Math.log(20) + 1, `loss ${losses[0]}`);
      assert.equal(tensors[2], tensors[1], `live tensors after step 2 (${tensors[1]}) and step 3 (${tensors[2]})`);
      tf.dispose([v1, v2]);
      m.dispose();
    });
  });
}

describe('SwAV multi-crop (local crops: off in the paper, a --set away)', () => {
  before(async () => useBackend('cpu'));
  const S3 = [
    [0.1, 0.4, -0.2, 0.3],
    [-0.6, 0.2, 0.5, 0.1],
    [0.4, -0.3, 0.2, 0.9],
  ];
  const o = { temperature: 0.1, epsilon: 0.05, sinkhornIters: 3 };
  const l = (q: number[][], s: number[][]) =>
    -q.reduce((acc, qb, i) => acc + logSoftmax(s[i].map((v) => v / 0.1)).reduce((a, lp, k) => a + qb[k] * lp, 0), 0) / q.length;

  it('two crops: exactly the two-view loss; three: codes of the two global crops, each predicted by the other two', () => {
    const t = [S1, S2, S3].map((s) => tf.tensor2d(s));
    assert.equal(swavMultiCropLoss(t.slice(0, 2), 2, o).dataSync()[0], swavLoss(t[0], t[1], o).dataSync()[0]);
    const q1 = refSinkhorn(S1, 0.05, 3);
    const q2 = refSinkhorn(S2, 0.05, 3);
    const want = ((l(q1, S2) + l(q1, S3)) / 2 + (l(q2, S1) + l(q2, S3)) / 2) / 2;
    const got = swavMultiCropLoss(t, 2, o).dataSync()[0];
    assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, want), `${got} vs ${want}`);
    assert.throws(() => swavMultiCropLoss(t, 4, o), /4 assigned crops of 3/);
    tf.dispose(t);
  });

  it('the framework forwards the local crops at their own side and their scores enter the loss; gradients reach the backbone', () => {
    const m = buildSwav({ freezePrototypesEpochs: 0 });
    const [v1, v2] = randomViews(4, 21);
    const locals = [8, 9].map((seed) => tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', seed) as tf.Tensor4D);
    const ctx = { iter: 0, totalIters: 4, itersPerEpoch: 1 };
    const views = { global: [v1, v2] as [tf.Tensor4D, tf.Tensor4D], local: locals };
    const out = m.loss(views, m.prepare(views, ctx), ctx);
    const proto = m.prototypes.weight.variable;
    const scores = (x: tf.Tensor4D) => rows(tf.matMul(l2Normalize(m.projector.apply(m.backbone.apply(x, true), true)), proto));
    const g = scores(tf.concat([v1, v2]) as tf.Tensor4D);
    const loc = scores(tf.concat(locals) as tf.Tensor4D);
    const crops = [g.slice(0, 4), g.slice(4), loc.slice(0, 4), loc.slice(4)];
    const q = crops.slice(0, 2).map((s) => refSinkhorn(s, 0.05, 3));
    const want = q.map((qs, s) => crops.filter((_, t) => t !== s).reduce((a, c) => a + l(qs, c), 0) / 3).reduce((a, b) => a + b) / 2;
    const got = out.loss.dataSync()[0];
    assert.ok(Math.abs(got - want) < 1e-3 * Math.max(1, want), `${got} vs ${want}`);
    assert.deepEqual(out.features.shape, [4, 64], 'features of the first global view');
    const vars = m.trainableParams().map((p) => p.variable);
    const { grads } = tf.variableGrads(() => m.loss(views, {}, ctx).loss, vars);
    assert.ok(Object.values(grads).some((gr) => tf.norm(gr).dataSync()[0] > 0));
    tf.dispose([v1, v2, ...locals, out.loss, out.features, ...Object.values(grads)]);
    m.dispose();
  });
});
