import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { ntXentLoss } from '../frameworks/losses/nt-xent.ts';
import { type Simclr, SIMCLR_VIT_DEFAULTS, simclr, type SimclrConfig } from '../frameworks/simclr.ts';
import { buildFramework } from '../frameworks/framework.ts';
import { TEST_ENGINES, useBackend } from './helpers/backend.ts';
import { dot, maxAbsDiff, microContext, randomViews, snapshot, trainSteps, unit } from './helpers/frameworks.ts';
import { twoViewSet } from '../frameworks/framework.ts';

/** NT-Xent by hand: 2N anchors, positive i <-> i + N, self excluded, mean cross-entropy. */
function refNtXent(z1: number[][], z2: number[][], tau: number): number {
  const z = [...z1, ...z2].map(unit);
  const n2 = z.length;
  let total = 0;
  for (let i = 0; i < n2; i++) {
    const pos = (i + n2 / 2) % n2;
    let sum = 0;
    for (let j = 0; j < n2; j++) if (j !== i) sum += Math.exp(dot(z[i], z[j]) / tau);
    total += Math.log(sum) - dot(z[i], z[pos]) / tau;
  }
  return total / n2;
}

function buildSimclr(over: Partial<SimclrConfig> = {}, seed = 0): Simclr {
  return buildFramework(simclr, { mlpDim: 32, outDim: 16, ...over }, microContext(seed)) as Simclr;
}

for (const engine of TEST_ENGINES) {
  describe(`SimCLR on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it('NT-Xent matches a hand computation (N = 2 and N = 3, self-similarity excluded)', () => {
      const cases: [number[][], number[][], number][] = [
        [
          [
            [1, 2],
            [0, -1],
          ],
          [
            [2, 1],
            [1, 1],
          ],
          0.5,
        ],
        [
          [
            [1, 0, 2],
            [0.5, -1, 1],
            [3, 1, -1],
          ],
          [
            [1, 1, 1],
            [-1, 0, 2],
            [2, 2, -0.5],
          ],
          0.1,
        ],
      ];
      for (const [z1, z2, tau] of cases) {
        const got = ntXentLoss(tf.tensor2d(z1), tf.tensor2d(z2), tau).dataSync()[0];
        const want = refNtXent(z1, z2, tau);
        assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, want), `tau ${tau}: ${got} vs ${want}`);
      }
    });

    it('is ln(2N - 1) at chance (all projections equal): the self-similarity is not a candidate', () => {
      const n = 8;
      const same = tf.ones([n, 4]) as tf.Tensor2D;
      const got = ntXentLoss(same, same, 0.1).dataSync()[0];
      assert.ok(Math.abs(got - Math.log(2 * n - 1)) < 1e-4, `${got} vs ${Math.log(2 * n - 1)}`);
    });

    it('returns NaN for NaN projections without throwing', () => {
      const z = tf.tensor2d([
        [Number.NaN, 1],
        [0, 1],
      ]);
      assert.ok(Number.isNaN(ntXentLoss(z, z, 0.1).dataSync()[0]));
    });

    it('head: 3 layers, no-bias Linears, BN+ReLU hidden, last BN without affine; defaults from the paper', () => {
      assert.deepEqual(SIMCLR_VIT_DEFAULTS, { tau: 0.1, projLayers: 3, mlpDim: 4096, outDim: 256 });
      const m = buildSimclr();
      assert.deepEqual(
        m.projector
          .torchEntries()
          .filter((e) => !e.name.endsWith('num_batches_tracked'))
          .map((e) => `${e.name}${JSON.stringify(e.shape)}`),
        [
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
          'head.7.running_mean[16]',
          'head.7.running_var[16]',
        ],
      );
      assert.deepEqual(Object.keys(m.modules()), ['encoder']);
      m.dispose();
    });

    it('BN batching option (i): both views go through one forward of 2N; the loss is NT-Xent of that batch', async () => {
      const m = buildSimclr();
      const [v1, v2] = randomViews(4, 11);
      const ctx = { iter: 0, totalIters: 4, itersPerEpoch: 1 };
      const out = m.loss(twoViewSet(v1, v2), m.prepare(), ctx);
      const tracked = m.projector.torchEntries().find((e) => e.name === 'head.1.num_batches_tracked')!;
      assert.deepEqual(await tracked.read(), BigInt64Array.of(1n), 'one BN update per step: one batch of 2N');
      assert.deepEqual(out.features.shape, [4, 64], 'features: the first view only');
      // the same numbers from an explicit concatenated forward
      const z = m.projector.apply(m.backbone.apply(tf.concat([v1, v2]) as tf.Tensor4D, true), true);
      const [z1, z2] = tf.split(z, 2, 0) as tf.Tensor2D[];
      const want = refNtXent(z1.arraySync() as number[][], z2.arraySync() as number[][], 0.1);
      assert.ok(Math.abs(out.loss.dataSync()[0] - want) < 1e-3, `${out.loss.dataSync()[0]} vs ${want}`);
      const f = m.backbone.apply(v1, true);
      assert.ok(maxAbsDiff(out.features.dataSync(), f.dataSync()) < 1e-4, 'features are the backbone features of view 1');
      m.dispose();
    });

    it('validates its config, naming the field', () => {
      assert.throws(() => buildSimclr({ tau: 0 }), /framework\.tau: must be > 0/);
      assert.throws(() => buildSimclr({ mlpDim: 1.5 }), /framework\.mlpDim: must be integer/);
      assert.throws(() => buildSimclr({ projLayers: 0 }), /framework\.projLayers/);
    });

    it('trains: finite loss, every parameter but the frozen patch projection moves, no tensor leak', async () => {
      assert.equal(simclr.name, 'simclr');
      const m = buildFramework(simclr, { mlpDim: 32, outDim: 16, projLayers: 2 }, microContext(1));
      const params = m.trainableParams();
      const before = snapshot(params);
      const [v1, v2] = randomViews(8, 21);
      const { losses, tensors } = await trainSteps(m, v1, v2, 3);
      assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
      assert.equal(tensors[2], tensors[1], `live tensors after step 2 (${tensors[1]}) and step 3 (${tensors[2]})`);
      const after = snapshot(params);
      const still = params.filter((_p, i) => maxAbsDiff(before[i], after[i]) === 0).map((p) => p.name);
      // zero gradient by mathematics (see test/mocov3.test.ts): the key bias cancels in softmax, and
      // norm.bias only shifts every feature, which the head's first BN removes
      assert.deepEqual(
        still.filter((n) => n !== 'norm.bias' && !n.endsWith('attn.k.bias')),
        [],
      );
      tf.dispose([v1, v2]);
      m.dispose();
    });
  });
}
