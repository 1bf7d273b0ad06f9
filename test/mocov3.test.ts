import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { contrastiveLoss } from '../frameworks/losses/contrastive.ts';
import { MocoV3, MOCOV3_VIT_DEFAULTS, mocoMomentum, type MocoV3Config } from '../frameworks/mocov3.ts';
import { MlpHead } from '../frameworks/heads/mlp-head.ts';
import { emaUpdate, pairParams } from '../frameworks/momentum.ts';
import { Registry } from '../container/container.ts';
import { Rng } from '../engine/rng.ts';
import { useBackend } from './helpers/backend.ts';
import type { VisionTransformer } from '../backbones/vit/vit.ts';
import { twoViewSet } from '../frameworks/framework.ts';

before(async () => useBackend('wasm'));

const registry = new Registry();
function buildMoco(over: Partial<MocoV3Config> = {}, seed = 0): MocoV3 {
  return new MocoV3(
    { ...MOCOV3_VIT_DEFAULTS, mlpDim: 32, outDim: 16, ...over },
    {
      backboneName: 'vit-micro/4',
      backboneOptions: { imageSize: 16 },
      seed,
      buildBackbone: (n, o, s) => registry.backbone(n).build(n, o, s),
    },
  );
}

describe('contrastive loss', () => {
  it('matches a hand computation of 2 tau x CE(q_n k_n^T / tau, diag)', () => {
    const q = [
      [1, 2],
      [0, -1],
      [3, 1],
    ];
    const k = [
      [2, 1],
      [1, -1],
      [-1, 2],
    ];
    const tau = 0.5;
    const norm = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const qn = q.map(norm),
      kn = k.map(norm);
    let ce = 0;
    for (let i = 0; i < 3; i++) {
      const logits = kn.map((kr) => (qn[i][0] * kr[0] + qn[i][1] * kr[1]) / tau);
      const lse = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0));
      ce += lse - logits[i];
    }
    const expected = (2 * tau * ce) / 3;
    const got = contrastiveLoss(tf.tensor2d(q), tf.tensor2d(k), tau).dataSync()[0];
    assert.ok(Math.abs(got - expected) < 1e-5, `${got} vs ${expected}`);
  });

  it('is 2 tau ln N per direction when all logits are equal, so the symmetrised loss is 4 tau ln N', () => {
    const n = 64,
      tau = 0.2;
    const same = tf.ones([n, 8]) as tf.Tensor2D;
    const sym = tf.add(contrastiveLoss(same, same, tau), contrastiveLoss(same, same, tau)).dataSync()[0];
    assert.ok(Math.abs(sym - 4 * tau * Math.log(n)) < 1e-4, `${sym} vs ${4 * tau * Math.log(n)}`);
  });

  it('a fresh MoCo v3 (256-d output, as in the paper) starts near 4 tau ln N on random images', () => {
    const m = buildMoco({ outDim: 256 });
    const v1 = tf.randomNormal([32, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const v2 = tf.randomNormal([32, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const ctx = { iter: 0, totalIters: 10, itersPerEpoch: 1 };
    const prepared = m.prepare(twoViewSet(v1, v2), ctx);
    const loss = m.loss(twoViewSet(v1, v2), prepared, ctx).loss.dataSync()[0];
    const ref = 4 * 0.2 * Math.log(32);
    assert.ok(Math.abs(loss - ref) < 0.1 * ref, `initial loss ${loss} vs 4 tau ln N = ${ref}`);
    m.dispose();
  });
});

describe('momentum encoder', () => {
  it('momentum schedule: m0 at the start, 1 at the end, halfway in between; constant stays m0', () => {
    assert.equal(mocoMomentum(0, 100, 0.99, 'cosine'), 0.99);
    assert.equal(mocoMomentum(100, 100, 0.99, 'cosine'), 1);
    assert.ok(Math.abs(mocoMomentum(50, 100, 0.99, 'cosine') - 0.995) < 1e-12);
    assert.equal(mocoMomentum(70, 100, 0.9, 'constant'), 0.9);
  });

  it('starts as an exact copy and follows p_k = m p_k + (1 - m) p_q; BN running stats are not averaged', () => {
    const m = buildMoco();
    const q = m.backbone.parameters(),
      k = m.momentumBackbone.parameters();
    q.forEach((p, i) => {
      assert.deepEqual(k[i].variable.dataSync(), p.variable.dataSync(), `${p.name} copied`);
    });
    // move the query encoder, then apply one EMA step by hand and through the framework
    const qs = m.backbone.parameters().filter((p) => p.trainable);
    qs.forEach((p, i) => {
      p.variable.assign(tf.add(p.variable, tf.randomNormal(p.shape, 0, 0.1, 'float32', i)));
    });
    const before = k.map((p) => p.variable.dataSync().slice());
    const qv = q.map((p) => p.variable.dataSync().slice());
    const mm = 0.9;
    emaUpdate(pairParams(m.backbone, m.momentumBackbone), mm);
    k.forEach((p, i) => {
      const got = p.variable.dataSync();
      for (let j = 0; j < got.length; j += Math.max(1, Math.floor(got.length / 7))) {
        const want = mm * before[i][j] + (1 - mm) * qv[i][j];
        assert.ok(Math.abs(got[j] - want) < 1e-6, `${p.name}[${j}]: ${got[j]} vs ${want}`);
      }
    });
    const bn = (mod: MlpHead) =>
      mod
        .allParams()
        .filter((p) => p.kind === 'buffer')
        .map((p) => p.name);
    assert.ok(bn(m.projector).length > 0);
    assert.ok(
      !pairParams(m.projector, m.momentumProjector).some(([a]) => m.projector.allParams().find((p) => p.variable === a)?.kind === 'buffer'),
    );
    m.dispose();
  });
});

describe('MoCo v3 heads', () => {
  it('projector 3 layers and predictor 2 layers: no-bias Linears, BN+ReLU hidden, last BN without affine', () => {
    const m = buildMoco();
    const names = m.projector.torchEntries().map((e) => `${e.name}${JSON.stringify(e.shape)}`);
    assert.deepEqual(names, [
      'head.0.weight[32,64]',
      'head.1.weight[32]',
      'head.1.bias[32]',
      'head.1.running_mean[32]',
      'head.1.running_var[32]',
      'head.1.num_batches_tracked[]',
      'head.3.weight[32,32]',
      'head.4.weight[32]',
      'head.4.bias[32]',
      'head.4.running_mean[32]',
      'head.4.running_var[32]',
      'head.4.num_batches_tracked[]',
      'head.6.weight[16,32]',
      'head.7.running_mean[16]',
      'head.7.running_var[16]',
      'head.7.num_batches_tracked[]',
    ]);
    assert.deepEqual(
      m
        .predictor!.torchEntries()
        .filter((e) => e.name.endsWith('weight'))
        .map((e) => e.name),
      ['predictor.0.weight', 'predictor.1.weight', 'predictor.3.weight'],
    );
    m.dispose();
  });

  it('ablation switches: no predictor; heads without BN (plain MLP with biases)', () => {
    const a = buildMoco({ predictor: false });
    assert.equal(a.predictor, undefined);
    assert.ok(!Object.keys(a.modules()).includes('predictor'));
    a.dispose();
    const b = new MlpHead('h', { layers: 3, inDim: 8, hiddenDim: 16, outDim: 4, bn: false, lastBn: false }, new Rng(0));
    assert.deepEqual(
      b.torchEntries().map((e) => e.name),
      ['h.0.weight', 'h.0.bias', 'h.2.weight', 'h.2.bias', 'h.4.weight', 'h.4.bias'],
    );
  });
});

describe('one MoCo v3 training step', () => {
  it('changes every trainable parameter except the frozen patch projection, and moves the momentum encoder', () => {
    // Two exceptions by mathematics, in PyTorch too: softmax(q (k + b)^T) does not depend on the
    // key bias b (it adds q.b to a whole row of scores), and the final LayerNorm's bias only shifts
    // every [CLS] feature by a constant, which the projector's first BatchNorm (batch statistics)
    // removes. Both get a zero gradient; the test checks that it is zero.
    const invariant = (name: string) => name === 'norm.bias';
    const d = 64; // vit-micro: the k third of qkv.bias is the invariant one
    const m = buildMoco();
    const params = m.trainableParams();
    const all = [...m.backbone.allParams(), ...params];
    const before = new Map(all.map((p) => [p, p.variable.dataSync().slice()]));
    const kBefore = m.momentumBackbone.parameters().map((p) => p.variable.dataSync().slice());
    const v1 = tf.randomNormal([16, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const v2 = tf.randomNormal([16, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    for (const iter of [0, 1]) {
      const ctx = { iter, totalIters: 4, itersPerEpoch: 1 };
      const prepared = m.prepare(twoViewSet(v1, v2), ctx);
      const { grads } = tf.variableGrads(
        () => m.loss(twoViewSet(v1, v2), prepared, ctx).loss,
        params.map((p) => p.variable),
      );
      for (const p of params) {
        const g = grads[p.variable.name];
        assert.ok(g, `${p.name} has a gradient`);
        if (invariant(p.name)) {
          assert.ok(tf.max(tf.abs(g)).dataSync()[0] < 1e-6, `${p.name}: gradient must vanish`);
          continue;
        }
        if (p.name.endsWith('attn.qkv.bias')) {
          const gv = g.dataSync();
          assert.ok(
            gv.subarray(d, 2 * d).every((x) => Math.abs(x) < 1e-6),
            `${p.name}: the key bias gets no gradient`,
          );
          assert.ok(
            gv.subarray(0, d).some((x) => Math.abs(x) > 1e-6) && gv.subarray(2 * d).some((x) => Math.abs(x) > 1e-6),
            `${p.name}: q and v biases do`,
          );
        }
        p.variable.assign(tf.sub(p.variable, tf.mul(tf.sign(g), 1e-2)));
      }
    }
    const patch = (m.backbone as VisionTransformer).patchEmbed.proj.weight;
    assert.ok(!params.includes(patch), 'patch projection is not optimised');
    for (const p of params) if (!invariant(p.name)) assert.notDeepEqual(p.variable.dataSync(), before.get(p), `${p.name} changed`);
    assert.deepEqual(patch.variable.dataSync(), before.get(patch), 'frozen patch projection unchanged');
    const moved = m.momentumBackbone
      .parameters()
      .filter((p, i) => p.trainable && p.variable.dataSync().some((v, j) => v !== kBefore[i][j]));
    assert.ok(moved.length > 0, 'momentum encoder followed the encoder');
    m.dispose();
  });
});
