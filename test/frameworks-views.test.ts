import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Registry } from '../container/container.ts';
import { backboneOnViews } from '../frameworks/views.ts';
import type { Backbone } from '../backbones/backbone.ts';
import { useBackend } from './helpers/backend.ts';

before(async () => useBackend('wasm'));

const registry = new Registry();
const build = (name: string): Backbone => registry.backbone(name).build(name, { imageSize: 16 }, 3);
const views = () => [1, 2].map((s) => tf.randomNormal([5, 16, 16, 3], 0, 1, 'float32', s) as tf.Tensor4D);

/** Counts the backbone's calls and the batch each one saw. */
function counted(b: Backbone): { backbone: Backbone; batches: number[] } {
  const batches: number[] = [];
  const apply = b.apply.bind(b);
  b.apply = (x, training) => {
    batches.push(x.shape[0]);
    return apply(x, training);
  };
  return { backbone: b, batches };
}

describe('backboneOnViews', () => {
  it('forwards both views of a ViT as one batch, with each view its own features', () => {
    const vit = build('vit-micro/4');
    assert.equal(vit.samplesIndependent, true);
    const [v1, v2] = views();
    const alone = [vit.apply(v1, true), vit.apply(v2, true)];
    const c = counted(vit);
    const both = backboneOnViews(c.backbone, [v1, v2], true);
    assert.deepEqual(c.batches, [10]);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(both[i].shape, [5, vit.outDim]);
      const diff = tf.max(tf.abs(tf.sub(both[i], alone[i]))).dataSync()[0];
      assert.ok(diff < 1e-5, `view ${i + 1}: max difference ${diff}`);
    }
    vit.dispose();
  });

  it('keeps one call per view for backbones with batch statistics (ViT-BN, ResNet)', () => {
    for (const name of ['vit-bn-micro/4', 'resnet-micro']) {
      const b = build(name);
      assert.ok(!b.samplesIndependent, name);
      const [v1, v2] = views();
      const c = counted(b);
      const feats = backboneOnViews(c.backbone, [v1, v2], true);
      assert.deepEqual(c.batches, [5, 5], name);
      // per crop batch: each view's BatchNorm statistics are its own, so the features equal the view alone
      const alone = b.apply(v2, true);
      assert.ok(tf.max(tf.abs(tf.sub(feats[1], alone))).dataSync()[0] === 0, name);
      b.dispose();
    }
  });
});
