/** frameworkOf: a framework from its hooks, the plumbing (parameters, checkpoint, disposal) from its modules. */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { Linear } from '../engine/layers/linear.ts';
import { frameworkOf, twoViewSet } from '../frameworks/framework.ts';
import { vitFamily } from '../backbones/vit/index.ts';
import { useBackend } from './helpers/backend.ts';

describe('frameworkOf', () => {
  before(() => useBackend('cpu'));

  it("derives trainable parameters (each once), modules, disposal and an empty prepare from the framework's modules", () => {
    const backbone = vitFamily('vit-micro').build('vit-micro/4', { imageSize: 16 }, 0);
    const head = new Linear('head', backbone.outDim, 8, new Rng(1));
    const fw = frameworkOf({
      name: 'hooks',
      backbone,
      // the backbone twice (as itself and inside no other module): its parameters still count once
      modules: { backbone, head, again: backbone },
      loss: ({ global: [v1] }) => {
        const f = backbone.apply(v1, true);
        return { loss: tf.mean(head.apply(f)) as tf.Scalar, features: f };
      },
    });
    const want = [...backbone.trainableParams(), ...head.trainableParams()];
    assert.deepEqual(fw.trainableParams(), want);
    assert.deepEqual(Object.keys(fw.modules()), ['backbone', 'head', 'again']);
    const v = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    assert.deepEqual(fw.prepare(twoViewSet(v, v), { iter: 0, totalIters: 1, itersPerEpoch: 1 }), {});
    const out = fw.loss(twoViewSet(v, v), {}, { iter: 0, totalIters: 1, itersPerEpoch: 1 });
    assert.ok(Number.isFinite(out.loss.dataSync()[0]));
    assert.equal(fw.lastStats, undefined);
    fw.dispose();
    assert.ok(want.every((p) => p.variable.isDisposed));
    tf.dispose([v, out.loss, out.features]);
  });

  it('refuses modules that do not hold its backbone', () => {
    const backbone = vitFamily('vit-micro').build('vit-micro/4', { imageSize: 16 }, 0);
    const head = new Linear('head', backbone.outDim, 8, new Rng(1));
    assert.throws(
      () => frameworkOf({ name: 'hooks', backbone, modules: { head }, loss: () => ({}) as never }),
      /framework hooks: its modules must hold its backbone/,
    );
    backbone.dispose();
    head.dispose();
  });
});
