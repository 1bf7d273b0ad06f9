import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { byolRegressionLoss } from '../frameworks/losses/byol.ts';
import { type Byol, BYOL_VIT_DEFAULTS, byol, type ByolConfig } from '../frameworks/byol.ts';
import { buildFramework } from '../frameworks/framework.ts';
import { momentumAt } from '../frameworks/momentum.ts';
import { TEST_ENGINES, useBackend } from './helpers/backend.ts';
import { dot, maxAbsDiff, microContext, randomViews, rows, snapshot, trainSteps, unit } from './helpers/frameworks.ts';
import { twoViewSet } from '../frameworks/framework.ts';

/** mean over rows of 2 - 2 cos(p_i, z_i), by hand. */
function refRegression(p: number[][], z: number[][]): number {
  return p.reduce((s, pi, i) => s + 2 - 2 * dot(unit(pi), unit(z[i])), 0) / p.length;
}

function buildByol(over: Partial<ByolConfig> = {}, seed = 0): Byol {
  return buildFramework(byol, { mlpDim: 32, outDim: 16, ...over }, microContext(seed)) as Byol;
}

for (const engine of TEST_ENGINES) {
  describe(`BYOL on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it('regression loss matches a hand computation of mean(2 - 2 cos(p, z))', () => {
      const p = [
        [1, 2, 0],
        [0, 1, 1],
        [-1, 0.5, 2],
      ];
      const z = [
        [2, 1, 1],
        [1, -1, 0],
        [-2, 1, 3],
      ];
      const got = byolRegressionLoss(tf.tensor2d(p), tf.tensor2d(z)).dataSync()[0];
      const want = refRegression(p, z);
      assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
      // 2 - 2 cos: 0 for parallel vectors, 4 for opposite ones
      assert.ok(Math.abs(byolRegressionLoss(tf.tensor2d([[1, 1]]), tf.tensor2d([[3, 3]])).dataSync()[0]) < 1e-6);
      assert.ok(Math.abs(byolRegressionLoss(tf.tensor2d([[1, 1]]), tf.tensor2d([[-2, -2]])).dataSync()[0] - 4) < 1e-6);
      assert.ok(Number.isNaN(byolRegressionLoss(tf.tensor2d([[Number.NaN, 1]]), tf.tensor2d([[1, 1]])).dataSync()[0]), 'NaN in, NaN out');
    });

    it('heads: BN in hidden layers only, output Linear with bias; projector 3 layers, predictor 2', () => {
      assert.deepEqual(BYOL_VIT_DEFAULTS, {
        m0: 0.99,
        momentumSchedule: 'cosine',
        projLayers: 3,
        predictorLayers: 2,
        mlpDim: 4096,
        outDim: 256,
      });
      const m = buildByol();
      const names = (h: { torchEntries(): { name: string; shape: number[] }[] }) =>
        h
          .torchEntries()
          .filter((e) => !e.name.endsWith('num_batches_tracked'))
          .map((e) => `${e.name}${JSON.stringify(e.shape)}`);
      assert.deepEqual(names(m.projector), [
        'head.0.weight[32,64]',
        'head.1.weight[32]',
        'head.1.bias[32]',
        'head.1.running_mean[32]',
        'head.1.running_var[32]',
        'head.3.weight[32,32]',
        'head.4.weight[32]',
        'head.4.bias[32]',
        'head.4.running_mean[32]',
        'head.4.running_var[32]',
        'head.6.weight[16,32]',
        'head.6.bias[16]',
      ]);
      assert.deepEqual(names(m.predictor), [
        'predictor.0.weight[32,16]',
        'predictor.1.weight[32]',
        'predictor.1.bias[32]',
        'predictor.1.running_mean[32]',
        'predictor.1.running_var[32]',
        'predictor.3.weight[16,32]',
        'predictor.3.bias[16]',
      ]);
      const two = buildByol({ projLayers: 2 });
      assert.equal(two.projector.torchEntries().filter((e) => e.name.endsWith('.weight') && e.shape.length === 2).length, 2);
      two.dispose();
      m.dispose();
    });

    it("targets come from the target network; loss = reg(p1, z'2) + reg(p2, z'1)", () => {
      const m = buildByol();
      const [v1, v2] = randomViews(4, 5);
      const ctx = { iter: 0, totalIters: 10, itersPerEpoch: 1 };
      const prepared = m.prepare(twoViewSet(v1, v2), ctx);
      // at iteration 0 the target is an exact copy of the online encoder
      const z1 = m.projector.apply(m.backbone.apply(v1, true), true);
      assert.ok(maxAbsDiff(prepared.t1.dataSync(), z1.dataSync()) < 1e-4, "z'1 = online projection of view 1 at init");
      const loss = m.loss(twoViewSet(v1, v2), prepared, ctx).loss.dataSync()[0];
      const p1 = m.predictor.apply(m.projector.apply(m.backbone.apply(v1, true), true), true);
      const p2 = m.predictor.apply(m.projector.apply(m.backbone.apply(v2, true), true), true);
      const want = refRegression(rows(p1), rows(prepared.t2)) + refRegression(rows(p2), rows(prepared.t1));
      assert.ok(Math.abs(loss - want) < 1e-4, `${loss} vs ${want}`);
      tf.dispose(prepared);
      m.dispose();
    });

    it('EMA: the target follows p_t = m p_t + (1 - m) p_o with the cosine schedule', () => {
      const m = buildByol();
      const online = [...m.backbone.parameters(), ...m.projector.parameters()];
      const target = [...m.targetBackbone.parameters(), ...m.targetProjector.parameters()];
      online.forEach((p, i) => {
        assert.deepEqual(target[i].variable.dataSync(), p.variable.dataSync(), `${p.name} starts as a copy`);
      });
      online
        .filter((p) => p.trainable)
        .forEach((p, i) => {
          p.variable.assign(tf.add(p.variable, tf.randomNormal(p.shape, 0, 0.1, 'float32', i)));
        });
      const t0 = snapshot(target);
      const o0 = snapshot(online);
      const [v1, v2] = randomViews(4, 7);
      tf.dispose(m.prepare(twoViewSet(v1, v2), { iter: 3, totalIters: 10, itersPerEpoch: 1 }));
      const mm = 1 - 0.5 * (1 + Math.cos((Math.PI * 3) / 10)) * (1 - 0.99);
      assert.ok(Math.abs(m.lastStats().momentum - mm) < 1e-12);
      assert.equal(momentumAt(3, 10, 0.99), mm);
      target.forEach((p, i) => {
        const got = p.variable.dataSync();
        for (let j = 0; j < got.length; j += Math.max(1, Math.floor(got.length / 5))) {
          const want = mm * t0[i][j] + (1 - mm) * o0[i][j];
          assert.ok(Math.abs(got[j] - want) < 1e-6, `${p.name}[${j}]: ${got[j]} vs ${want}`);
        }
      });
      assert.ok(
        target.some((p, i) => maxAbsDiff(p.variable.dataSync(), t0[i]) > 1e-5),
        'the target moved',
      );
      const constant = buildByol({ momentumSchedule: 'constant', m0: 0.9 });
      tf.dispose(constant.prepare(twoViewSet(v1, v2), { iter: 5, totalIters: 10, itersPerEpoch: 1 }));
      assert.equal(constant.lastStats().momentum, 0.9);
      constant.dispose();
      tf.dispose([v1, v2]);
      m.dispose();
    });

    it('the target gets no gradient and is not optimised', () => {
      const m = buildByol();
      const targetVars = [...m.targetBackbone.parameters(), ...m.targetProjector.parameters()].map((p) => p.variable);
      const trainable = new Set(m.trainableParams().map((p) => p.variable));
      assert.ok(
        targetVars.every((v) => !trainable.has(v)),
        'no target parameter in trainableParams()',
      );
      assert.ok(
        m.predictor.trainableParams().every((p) => trainable.has(p.variable)),
        'the predictor is trained',
      );
      const [v1, v2] = randomViews(4, 9);
      const ctx = { iter: 1, totalIters: 10, itersPerEpoch: 1 };
      const prepared = m.prepare(twoViewSet(v1, v2), ctx);
      const { grads } = tf.variableGrads(
        () => m.loss(twoViewSet(v1, v2), prepared, ctx).loss,
        [...[...trainable].filter((v) => v.trainable), ...targetVars.filter((v) => v.trainable)],
      );
      assert.ok(
        targetVars.every((v) => !(v.name in grads)),
        'no gradient reaches a target parameter',
      );
      assert.ok(Object.keys(grads).length > 0);
      tf.dispose(prepared);
      m.dispose();
    });

    it('validates its config, naming the field', () => {
      assert.throws(() => buildByol({ m0: 1.5 }), /framework\.m0: must be <= 1/);
      assert.throws(() => buildByol({ momentumSchedule: 'linear' as never }), /framework\.momentumSchedule/);
      assert.throws(() => buildByol({ outDim: 0 }), /framework\.outDim: must be >= 1/);
      assert.throws(() => buildByol({ predictorLayers: 0 }), /framework\.predictorLayers/);
    });

    it('trains: finite loss, online parameters move, the target follows, no tensor leak', async () => {
      assert.equal(byol.name, 'byol');
      const m = buildFramework(byol, { mlpDim: 32, outDim: 16, projLayers: 2 }, microContext(2));
      const params = m.trainableParams();
      const before = snapshot(params);
      const target = (m as Byol).targetBackbone.parameters().filter((p) => p.trainable);
      const tBefore = snapshot(target);
      const [v1, v2] = randomViews(8, 31);
      const { losses, tensors } = await trainSteps(m, v1, v2, 3);
      assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
      assert.ok(losses[0] > 0 && losses[0] < 8, `2 x (2 - 2 cos) lies in [0, 8]: ${losses[0]}`);
      assert.equal(tensors[2], tensors[1], `live tensors after step 2 (${tensors[1]}) and step 3 (${tensors[2]})`);
      const after = snapshot(params);
      const still = params.filter((_p, i) => maxAbsDiff(before[i], after[i]) === 0).map((p) => p.name);
      assert.deepEqual(
        still.filter((n) => n !== 'norm.bias' && !n.endsWith('attn.k.bias')),
        [],
      );
      assert.ok(
        target.some((p, i) => maxAbsDiff(p.variable.dataSync(), tBefore[i]) > 0),
        'the target followed',
      );
      tf.dispose([v1, v2]);
      m.dispose();
    });
  });
}
