/**
 * The gradient monitor: which layers it picks (ViT with frozen or learned patch projection,
 * ResNet, anything else), norms equal to tf.norm and a float64 hand computation, no readback
 * beyond the step's own, and in a short pre-training run: curves recorded every iteration,
 * identical after a crash and resume, `instability` in result.json.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { Param } from '../engine/module.ts';
import { Registry } from '../container/container.ts';
import { pretrain } from '../runner/pretrain.ts';
import { TrainStep } from '../runner/train-step.ts';
import { GradMonitor, chooseMonitoredLayers } from '../evaluators/grad-monitor.ts';
import { mocov3 } from '../frameworks/mocov3.ts';
import { buildFramework } from '../frameworks/framework.ts';
import { PlainSgd, microContext, randomViews } from './helpers/frameworks.ts';
import { useBackend } from './helpers/backend.ts';
import { smallPretrainConfig } from './helpers/small-pretrain.ts';
import { twoViewSet } from '../frameworks/framework.ts';

before(async () => useBackend('wasm'));
const registry = new Registry();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-grad-monitor-'));

const labelsOf = (name: string, opts: Record<string, unknown> = {}) => {
  const b = registry.backbone(name).build(name, { imageSize: 16, ...opts }, 0);
  const labels = chooseMonitoredLayers(b.allParams()).map((l) => l.label);
  b.dispose();
  return labels;
};

describe('monitored layers', () => {
  it('ViT: first layer (or its stand-in when the patch projection is frozen), middle block, last block', () => {
    assert.deepEqual(labelsOf('vit-micro/4'), [
      'first: blocks.0.attn.qkv.weight (patch projection frozen)',
      'last: blocks.1.attn.qkv.weight',
      'last: blocks.1.mlp.fc2.weight',
    ]);
    assert.deepEqual(labelsOf('vit-mini/4', { randomPatchProj: false }), [
      'first: patch_embed.proj.weight',
      'middle: blocks.2.attn.qkv.weight',
      'last: blocks.5.attn.qkv.weight',
      'last: blocks.5.mlp.fc2.weight',
    ]);
  });

  it("ResNet: conv1, the middle stage's last conv3, the last block's conv3; other models: first and last weight matrices", () => {
    assert.deepEqual(labelsOf('resnet-micro'), ['first: conv1.weight', 'middle: layer2.0.conv3.weight', 'last: layer4.0.conv3.weight']);
    const ps = [
      new Param('a.bias', tf.zeros([3]), true),
      new Param('a.weight', tf.zeros([3, 3]), true),
      new Param('b.weight', tf.zeros([3, 3]), false),
      new Param('c.weight', tf.zeros([3, 2]), true),
    ];
    assert.deepEqual(
      chooseMonitoredLayers(ps).map((l) => l.label),
      ['first: a.weight', 'last: c.weight'],
    );
    for (const p of ps) p.variable.dispose();
  });
});

describe('gradient norms', () => {
  it('equal tf.norm and a float64 hand computation; layers without a gradient are left out', () => {
    const b = registry.backbone('vit-micro/4').build('vit-micro/4', { imageSize: 16 }, 0);
    const m = new GradMonitor(b.allParams());
    const [qkv, , fc2] = m.layers.map((l) => l.param);
    const grads = {
      [qkv.variable.name]: tf.randomNormal(qkv.shape, 0, 1, 'float32', 1),
      [fc2.variable.name]: tf.randomNormal(fc2.shape, 0, 3, 'float32', 2),
    };
    const before = tf.memory().numTensors;
    const out = m.norms(grads)!;
    assert.equal(tf.memory().numTensors, before + 1, 'one tensor: the stacked norms');
    assert.deepEqual(out.labels, [m.labels[0], m.labels[2]]);
    const got = out.norms.dataSync();
    [qkv, fc2].forEach((p, i) => {
      const g = grads[p.variable.name];
      const hand = Math.sqrt(Array.from(g.dataSync()).reduce((s, x) => s + x * x, 0));
      const ref = tf.tidy(() => tf.norm(g).dataSync()[0]);
      assert.ok(Math.abs(got[i] - hand) <= 1e-5 * hand, `${p.name}: ${got[i]} vs ${hand}`);
      assert.ok(Math.abs(got[i] - ref) <= 1e-5 * ref, `${p.name}: ${got[i]} vs tf.norm ${ref}`);
    });
    assert.equal(m.norms({}), undefined);
    tf.dispose([out.norms, ...Object.values(grads)]);
    b.dispose();
  });

  it('a training step returns the norms of its own gradients with no extra readback, and leaks nothing', async () => {
    // two identical MoCo v3 frameworks: one trained through TrainStep with the monitor, one by hand
    const build = () => buildFramework(mocov3, { mlpDim: 32, outDim: 16 }, microContext(4));
    const a = build(),
      b = build();
    const [v1, v2] = randomViews(6, 9);
    const ctx = { iter: 0, totalIters: 10, itersPerEpoch: 5 };
    const m = new GradMonitor(a.backbone.allParams());
    const stepA = new TrainStep(a, new PlainSgd());
    const stepB = new TrainStep(b, new PlainSgd());

    // reference: b's gradients, by hand
    const prepared = b.prepare(twoViewSet(v1, v2), ctx);
    const { value, grads } = tf.variableGrads(
      () => {
        const o = b.loss(twoViewSet(v1, v2), prepared, ctx);
        o.features.dispose();
        return o.loss;
      },
      b.trainableParams().map((p) => p.variable),
    );
    const byName = new Map(b.backbone.allParams().map((p) => [p.name, p]));
    const expected = m.layers.map((l) => tf.tidy(() => tf.norm(grads[byName.get(l.param.name)!.variable.name]).dataSync()[0]));
    const expectedLoss = value.dataSync()[0];
    tf.dispose([value, prepared]);
    tf.dispose(grads);

    // count readbacks: the monitored step reads back exactly as often as an unmonitored one (b's second step)
    const proto = tf.Tensor.prototype as unknown as { dataSync: () => unknown; arraySync: () => unknown; data: () => unknown };
    const orig = { dataSync: proto.dataSync, arraySync: proto.arraySync, data: proto.data };
    let reads = 0;
    proto.dataSync = function (this: unknown) {
      reads++;
      return orig.dataSync.call(this);
    };
    proto.arraySync = function (this: unknown) {
      reads++;
      return orig.arraySync.call(this);
    };
    proto.data = function (this: unknown) {
      reads++;
      return orig.data.call(this);
    };
    let monitored: Awaited<ReturnType<typeof stepA.run>>;
    let plain: Awaited<ReturnType<typeof stepB.run>>;
    let readsMonitored: number;
    let readsPlain: number;
    try {
      monitored = await stepA.run(twoViewSet(v1, v2), ctx, 0.01, m);
      readsMonitored = reads;
      reads = 0;
      plain = await stepB.run(twoViewSet(v1, v2), ctx, 0.01);
      readsPlain = reads;
    } finally {
      Object.assign(proto, orig);
    }
    assert.ok(readsPlain! >= 1, 'the spy sees the loss readback');
    assert.equal(readsMonitored, readsPlain, `readbacks with the monitor ${readsMonitored}, without ${readsPlain}`);
    assert.equal(monitored.loss, expectedLoss);
    assert.ok(Number.isFinite(plain.loss));
    assert.equal(plain.gradNorms, undefined);
    assert.deepEqual(Object.keys(monitored.gradNorms!), m.labels);
    m.labels.forEach((l, i) => {
      const got = monitored.gradNorms![l];
      assert.ok(got > 0 && Math.abs(got - expected[i]) <= 1e-4 * expected[i], `${l}: ${got} vs ${expected[i]}`);
    });
    tf.dispose([monitored.features, plain.features]);

    const counts: number[] = [];
    for (let iter = 1; iter < 4; iter++) {
      const r = await stepA.run(twoViewSet(v1, v2), { ...ctx, iter }, 0.01, m);
      r.features.dispose();
      counts.push(tf.memory().numTensors);
    }
    assert.equal(counts[2], counts[1], `no leak: ${counts.join(', ')}`);
    tf.dispose([v1, v2]);
    a.dispose();
    b.dispose();
  });
});

const small = smallPretrainConfig;

describe('gradient curves in pre-training', () => {
  it('are recorded every iteration, survive a crash and resume, and result.json carries them and `instability`', async () => {
    const c = small();
    const a = await pretrain(c, { runDir: path.join(tmp, 'a'), registry });
    const labels = [
      'first: blocks.0.attn.qkv.weight (patch projection frozen)',
      'last: blocks.1.attn.qkv.weight',
      'last: blocks.1.mlp.fc2.weight',
    ];
    assert.deepEqual(Object.keys(a.curves.grad!), labels);
    for (const l of labels) {
      const pts = a.curves.grad![l];
      assert.deepEqual(
        pts.map((p) => p.iter),
        [...Array(16).keys()],
      );
      assert.ok(
        pts.every((p) => Number.isFinite(p.value) && p.value > 0),
        l,
      );
      assert.deepEqual(
        pts.map((p) => p.epoch),
        a.curves.loss.map((p) => p.epoch),
      );
    }
    const onDisk = JSON.parse(fs.readFileSync(path.join(tmp, 'a', 'result.json'), 'utf8'));
    assert.deepEqual(onDisk.curves.grad, a.curves.grad);
    assert.deepEqual(onDisk.instability, a.instability);
    assert.equal(typeof a.instability!.unstable, 'boolean');
    assert.equal(a.instability!.thresholds.spikeFactor, 5);

    const dirB = path.join(tmp, 'b');
    await assert.rejects(pretrain(c, { runDir: dirB, registry, crashAfterIter: 6 }), /simulated crash/);
    const ckpt = JSON.parse(fs.readFileSync(path.join(dirB, 'checkpoint.json'), 'utf8'));
    assert.deepEqual(
      ckpt.json.curves.grad[labels[0]].map((p: { iter: number }) => p.iter),
      [0, 1, 2, 3],
      'checkpointed with the run',
    );
    const b = await pretrain(c, { runDir: dirB, registry });
    assert.deepEqual(b.curves.grad, a.curves.grad, 'resumed: the same curves, no duplicates');
    assert.deepEqual(b.instability, a.instability);
  });

  it('a diverged run records its gradients up to the divergence and still gets an instability summary', async () => {
    const r = await pretrain(small({ optimizer: { baseLr: 1e36 } }), { runDir: path.join(tmp, 'diverged'), registry });
    assert.equal(r.flags.diverged, true);
    for (const pts of Object.values(r.curves.grad!)) assert.equal(pts.length, r.iterations);
    assert.ok(r.instability, 'summary written');
    const onDisk = JSON.parse(fs.readFileSync(path.join(tmp, 'diverged', 'result.json'), 'utf8'));
    assert.ok(onDisk.instability && onDisk.curves.grad);
  });
});
