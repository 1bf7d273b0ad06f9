/** End-to-end fine-tuning (evaluators/finetune.ts): loss, parameter groups, training, recipes. */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { VisionTransformer } from '../backbones/vit/vit.ts';
import { vitConfig } from '../backbones/vit/config.ts';
import type { BackboneOptions } from '../core/config.ts';
import type { ImageSet } from '../data/image-set.ts';
import { makeSynthetic } from '../data/synthetic.ts';
import { FINETUNE_RECIPES } from '../recipes/evaluation.ts';
import {
  finetune,
  finetuneEvaluator,
  softTargetCrossEntropy,
  transferBackboneOptions,
  weightDecayGroups,
  type FinetuneOptions,
} from '../evaluators/finetune.ts';
import { TEST_ENGINES, assertClose, useBackend } from './helpers/backend.ts';

/** `count` 16x16 RGB images of 3 classes told apart by their dominant colour, with pixel noise. */
function colourSet(count: number, seed: number, name: string): ImageSet {
  const rng = new Rng(seed);
  const size = 16;
  const images = new Float32Array(count * size * size * 3);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const c = i % 3;
    labels[i] = c;
    const shift = rng.uniform(-0.1, 0.1);
    for (let p = 0; p < size * size; p++) {
      for (let ch = 0; ch < 3; ch++)
        images[(i * size * size + p) * 3 + ch] = Math.min(1, Math.max(0, (ch === c ? 0.75 : 0.3) + shift + rng.uniform(-0.2, 0.2)));
    }
  }
  return { name, images, labels, count, height: size, width: size, channels: 3, numClasses: 3 };
}

const microVit = (opts: BackboneOptions = {}, seed = 1) =>
  new VisionTransformer('vit-micro', vitConfig('vit-micro', { imageSize: 16, ...opts }), seed);

const small = (over: Partial<FinetuneOptions>): FinetuneOptions => ({
  ...FINETUNE_RECIPES.cifar10,
  epochs: 1,
  batch: 16,
  baseLr: 1e-3,
  lrScaleDivisor: 16,
  warmupEpochs: 0,
  seed: 1,
  viewSize: 16,
  cropFraction: 1,
  evalBatch: 64,
  ...over,
});

describe('fine-tuning pieces (no training)', () => {
  before(async () => useBackend('cpu'));

  it('soft-target cross-entropy equals the hand-computed value; with smoothed one-hots it is label-smoothing CE', () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const targets = tf.tensor2d([
      [0.1, 0.2, 0.7],
      [1, 0, 0],
    ]);
    const loss = softTargetCrossEntropy(logits, targets);
    // row 0: lse = 3 + ln(1 + e^-1 + e^-2); row 1: ln 3
    const lse = 3 + Math.log(1 + Math.exp(-1) + Math.exp(-2));
    const row0 = 0.1 * (lse - 1) + 0.2 * (lse - 2) + 0.7 * (lse - 3);
    assert.ok(Math.abs(row0 - 0.80760596) < 1e-7);
    assertClose(loss.dataSync(), [(row0 + Math.log(3)) / 2], 1e-6);
    // eps 0.1, 3 classes, label 2: (1 - eps) nll + eps * mean(-log p)
    const smooth = tf.tensor2d([[0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3]]);
    const first = tf.slice(logits, [0, 0], [1, 3]) as tf.Tensor2D;
    const ls = softTargetCrossEntropy(first, smooth);
    assertClose(ls.dataSync(), [0.9 * (lse - 3) + (0.1 / 3) * (3 * lse - 6)], 1e-6);
    tf.dispose([logits, targets, loss, smooth, first, ls]);
  });

  it('splits weight decay like DeiT: no decay for 1-D params, biases, pos_embed and cls_token', () => {
    const m = microVit({ posEmbed: 'learned', randomPatchProj: false });
    const { decay, noDecay } = weightDecayGroups(m.trainableParams());
    const names = (ps: typeof decay) => new Set(ps.map((p) => p.name));
    const nd = names(noDecay);
    const d = names(decay);
    for (const n of [
      'pos_embed',
      'cls_token',
      'blocks.0.norm1.weight',
      'blocks.0.norm1.bias',
      'blocks.1.attn.qkv.bias',
      'norm.weight',
      'patch_embed.proj.bias',
    ])
      assert.ok(nd.has(n), `${n} not decayed`);
    for (const n of ['blocks.0.attn.qkv.weight', 'blocks.1.mlp.fc2.weight', 'patch_embed.proj.weight']) assert.ok(d.has(n), `${n} decayed`);
    assert.equal(decay.length + noDecay.length, m.trainableParams().length);
    assert.ok(decay.every((p) => p.shape.length > 1));
    m.dispose();
  });

  it("holds Table 5's per-dataset recipe", () => {
    const common = { epochs: 100, batch: 1024, baseLr: 3e-4, lrScaleDivisor: 512, warmupEpochs: 3, labelSmoothing: 0.1, cropMin: 0.05 };
    assert.deepEqual(FINETUNE_RECIPES.cifar10, { ...common, weightDecay: 0.1, mixupAlpha: 0.8, cutmixAlpha: 1, dropPath: 0.1 });
    assert.deepEqual(FINETUNE_RECIPES.cifar100, { ...common, weightDecay: 0.1, mixupAlpha: 0.5, cutmixAlpha: 1, dropPath: 0.1 });
    assert.deepEqual(FINETUNE_RECIPES.flowers102, { ...common, weightDecay: 0.3, mixupAlpha: 0, cutmixAlpha: 0, dropPath: 0.1 });
    assert.deepEqual(FINETUNE_RECIPES.pets, { ...common, weightDecay: 0.1, mixupAlpha: 0.8, cutmixAlpha: 0, dropPath: 0 });
    assert.equal(finetuneEvaluator.name, 'finetune');
  });

  it('rejects a frozen parameter, a wrong view size, an odd batch with mixup, a batch over the set; stops on a NaN loss', async () => {
    const set = colourSet(18, 1, 'c');
    const frozen = microVit();
    await assert.rejects(finetune(frozen, set, set, small({})), /pos_embed, patch_embed\.proj\.weight, patch_embed\.proj\.bias are frozen/);
    frozen.dispose();
    const m = microVit({ finetune: 'pretrained' });
    await assert.rejects(finetune(m, set, set, small({ viewSize: 32 })), /viewSize 32 differs/);
    await assert.rejects(finetune(m, set, set, small({ batch: 15 })), /even batch/);
    await assert.rejects(finetune(m, set, set, small({ batch: 32 })), /exceeds/);
    const nan = { ...set, images: set.images.map(() => NaN) };
    const tensors = tf.memory().numTensors;
    await assert.rejects(finetune(m, nan, set, small({})), /the loss became NaN at iteration 0 \(epoch 0, step 0\)/);
    assert.equal(tf.memory().numTensors, tensors, 'nothing leaks on the error path');
    m.dispose();
  });
});

for (const engine of TEST_ENGINES) {
  describe(`fine-tuning on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it('one step (mixup / cutmix, drop-path) changes every backbone parameter; deterministic; no leaks', async () => {
      const train = colourSet(16, 2, 'train');
      const test = colourSet(12, 3, 'test');
      const run = async () => {
        const m = microVit(transferBackboneOptions('pretrained', 0.1), 4);
        const before = new Map(m.allParams().map((p) => [p.name, p.variable.dataSync().slice()]));
        const tensors = tf.memory().numTensors;
        const res = await finetune(m, train, test, small({}));
        assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
        const changed = m
          .allParams()
          .filter((p) => !p.variable.dataSync().every((v, i) => v === before.get(p.name)![i]))
          .map((p) => p.name);
        const after = m.allParams().map((p) => p.variable.dataSync().slice());
        m.dispose();
        return { res, changed, after };
      };
      const a = await run();
      assert.equal(a.res.curve.length, 1);
      assert.ok(Number.isFinite(a.res.curve[0].loss) && a.res.top1 >= 0 && a.res.top1 <= 100);
      for (const n of [
        'blocks.0.attn.qkv.weight',
        'blocks.1.mlp.fc2.weight',
        'norm.weight',
        'cls_token',
        'patch_embed.proj.weight',
        'patch_embed.proj.bias',
        'pos_embed',
      ])
        assert.ok(a.changed.includes(n), `${n} trained`);
      assert.equal(a.changed.length, a.after.length, 'every parameter trained');
      const b = await run();
      assert.deepEqual(b.res, a.res, 'same seed, same result');
      b.after.forEach((w, i) => {
        assert.deepEqual(w, a.after[i]);
      });
    });
  });
}

describe('fine-tuning learns', () => {
  before(async () => useBackend('wasm'));

  // 4 classes of spatial structure (stripes, checkerboards, ...), 16 px: chance is 25 %
  const learn = async (init: 'pretrained' | 'random', onEpoch?: (p: { epoch: number }) => void) => {
    const train = makeSynthetic({ count: 384, size: 16, numClasses: 4, seed: 1, name: 'train' });
    const test = makeSynthetic({ count: 96, size: 16, numClasses: 4, seed: 2, name: 'test' });
    const m = microVit(transferBackboneOptions(init, 0.1), 7);
    try {
      return await finetune(m, train, test, {
        ...FINETUNE_RECIPES.flowers102,
        epochs: 8,
        batch: 32,
        baseLr: 2e-3,
        lrScaleDivisor: 32,
        warmupEpochs: 1,
        seed: 3,
        viewSize: 16,
        cropFraction: 1,
        onEpoch,
      });
    } finally {
      m.dispose();
    }
  };

  it(
    "a vit-micro at the pre-training ViT's init (sin-cos start, nothing frozen) reaches high top-1 on a small synthetic task within " +
      'a few epochs',
    async () => {
      const t0 = Date.now();
      const seen: number[] = [];
      const res = await learn('pretrained', (p) => seen.push(p.epoch));
      const curve = JSON.stringify(res.curve);
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(
        res.curve.map((p) => p.epoch),
        seen,
      );
      assert.ok(res.top1 >= 85 && res.bestTop1 >= 90, `top-1 ${res.top1}, best ${res.bestTop1} (curve ${curve})`);
      assert.equal(res.top1, res.curve[7].top1);
      assert.equal(res.bestTop1, Math.max(...res.curve.map((p) => p.top1)));
      assert.ok(res.curve[7].loss < 0.75 * res.curve[0].loss, `the training loss goes down (curve ${curve})`);
      assert.ok(Date.now() - t0 < 15000, `took ${Date.now() - t0} ms`);
    },
  );

  it('a from-scratch DeiT vit-micro (random init.) learns too, more slowly (no sin-cos prior)', async () => {
    const res = await learn('random');
    const curve = JSON.stringify(res.curve);
    assert.ok(res.bestTop1 >= 65, `best ${res.bestTop1} (chance 25; curve ${curve})`);
    assert.ok(res.curve[7].loss < 0.75 * res.curve[0].loss, `the training loss goes down (curve ${curve})`);
  });
});
