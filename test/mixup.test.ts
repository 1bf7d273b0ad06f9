/** Mixup / CutMix with timm's 'batch'-mode semantics (evaluators/mixup.ts). */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { cutmixBox, mixBatch, mixImages, mixTargets, sampleBeta, sampleMixParams, type MixupOptions } from '../evaluators/mixup.ts';
import { TEST_ENGINES, assertClose, useBackend } from './helpers/backend.ts';

const opts = (mixupAlpha: number, cutmixAlpha: number, extra: Partial<MixupOptions> = {}): MixupOptions => ({
  mixupAlpha,
  cutmixAlpha,
  labelSmoothing: 0.1,
  numClasses: 4,
  ...extra,
});

describe('mixup targets and parameters (no tensors)', () => {
  it('mixes smoothed one-hots with the reversed batch exactly (hand computed)', () => {
    // eps 0.1, 4 classes: off 0.025, on 0.925; lam 0.7; partners of [0, 2, 1, 2] are [2, 1, 2, 0]
    const t = mixTargets([0, 2, 1, 2], 0.7, 4, 0.1);
    const hi = 0.7 * 0.925 + 0.3 * 0.025; // 0.655
    const lo = 0.3 * 0.925 + 0.7 * 0.025; // 0.295
    const e = 0.025;
    assertClose(t, [hi, e, lo, e, e, lo, hi, e, e, hi, lo, e, lo, e, hi, e], 1e-7, 0, 'targets');
    assertClose(Array.from(t.subarray(0, 4)), [0.655, 0.025, 0.295, 0.025], 1e-7, 0, 'row 0 by hand');
    // a sample paired with its own class keeps the smoothed one-hot; lam 1 = label smoothing only
    assertClose(mixTargets([1, 3, 3, 1], 0.3, 4, 0.1), [e, 0.925, e, e, e, e, e, 0.925, e, e, e, 0.925, e, 0.925, e, e], 1e-7);
    assertClose(mixTargets([0, 1], 1, 4, 0.1), [0.925, e, e, e, e, 0.925, e, e], 1e-7);
    assertClose(mixTargets([0, 1], 0.25, 2, 0), [0.25, 0.75, 0.75, 0.25], 0, 0, 'no smoothing');
    for (let r = 0; r < 4; r++) assert.ok(Math.abs(t.subarray(r * 4, r * 4 + 4).reduce((s, v) => s + v, 0) - 1) < 1e-6);
  });

  it("cuts timm's box: int(H sqrt(1 - lam)) sides, floored halves, clipped", () => {
    assert.deepEqual(cutmixBox(0.75, 32, 32, 16, 16), { top: 8, left: 8, height: 16, width: 16 });
    assert.deepEqual(cutmixBox(0.75, 32, 32, 0, 31), { top: 0, left: 23, height: 8, width: 9 });
    // cut 5 -> half 2 -> 4 rows (timm's cy +- cut // 2)
    assert.deepEqual(cutmixBox(0.75, 10, 10, 5, 5), { top: 3, left: 3, height: 4, width: 4 });
    assert.deepEqual(cutmixBox(1, 10, 10, 5, 5), { top: 5, left: 5, height: 0, width: 0 });
  });

  it('corrects lam to the box area; the switch between mixup and cutmix is 0.5', () => {
    const rng = new Rng(3);
    let cut = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const p = sampleMixParams(rng, opts(0.8, 1), 24, 20);
      assert.ok(p.kind === 'mixup' || p.kind === 'cutmix');
      assert.ok(p.lam >= 0 && p.lam <= 1);
      if (p.kind === 'cutmix') {
        cut++;
        const b = p.box!;
        assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.height <= 24 && b.left + b.width <= 20);
        assert.equal(p.lam, 1 - (b.height * b.width) / (24 * 20));
      }
    }
    assert.ok(Math.abs(cut / n - 0.5) < 5 * Math.sqrt(0.25 / n), `cutmix fraction ${cut / n}`);
    const only = sampleMixParams(new Rng(1), opts(0, 1), 8, 8);
    assert.equal(only.kind, 'cutmix');
    assert.equal(sampleMixParams(new Rng(1), opts(0.8, 0), 8, 8).kind, 'mixup');
  });

  it('alpha 0 / 0 and prob 0 never mix; the same seed gives the same draws', () => {
    const rng = new Rng(4);
    for (let i = 0; i < 50; i++) assert.deepEqual(sampleMixParams(rng, opts(0, 0), 8, 8), { lam: 1, kind: 'none' });
    for (let i = 0; i < 50; i++) assert.deepEqual(sampleMixParams(rng, opts(1, 1, { prob: 0 }), 8, 8), { lam: 1, kind: 'none' });
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 20 }, () => sampleMixParams(r, opts(0.5, 1), 16, 16));
    };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
    assert.throws(() => sampleMixParams(rng, opts(-1, 0), 8, 8), /mixupAlpha/);
  });

  it('samples Beta(alpha, alpha) with the right mean and variance', () => {
    for (const a of [0.5, 0.8, 1, 2]) {
      const rng = new Rng(10);
      const n = 20000;
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const v = sampleBeta(rng, a, a);
        assert.ok(v >= 0 && v <= 1);
        s += v;
        s2 += v * v;
      }
      const mean = s / n;
      const variance = s2 / n - mean * mean;
      const want = 1 / (4 * (2 * a + 1));
      assert.ok(Math.abs(mean - 0.5) < 5 * Math.sqrt(want / n), `alpha ${a}: mean ${mean}`);
      assert.ok(Math.abs(variance - want) < 0.05 * want, `alpha ${a}: variance ${variance} vs ${want}`);
    }
  });
});

for (const engine of TEST_ENGINES) {
  describe(`mixup images on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it('mixup is lam x + (1 - lam) x_reversed', () => {
      const x = tf.randomUniform([4, 3, 5, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const y = mixImages(x, { lam: 0.3, kind: 'mixup' });
      const xs = x.dataSync();
      const per = 3 * 5 * 3;
      const want = Array.from(xs, (v, i) => 0.3 * v + 0.7 * xs[(3 - Math.floor(i / per)) * per + (i % per)]);
      assertClose(y.dataSync(), want, 1e-6);
      tf.dispose([x, y]);
    });

    it('cutmix pastes the reversed batch inside the box only; its area matches 1 - lam', () => {
      const before = tf.memory().numTensors;
      const [B, H, W] = [4, 12, 10];
      // image b is filled with the value b + 1, so every pixel tells where it came from
      const x = tf.tidy(() => tf.mul(tf.ones([B, H, W, 3]), tf.reshape(tf.range(1, B + 1), [B, 1, 1, 1]))) as tf.Tensor4D;
      const rng = new Rng(5);
      for (let k = 0; k < 10; k++) {
        const { images, targets, params } = mixBatch(x, [0, 1, 2, 3], rng, opts(0, 1));
        assert.equal(params.kind, 'cutmix');
        const v = images.dataSync();
        const box = params.box!;
        for (let b = 0; b < B; b++) {
          let fromPartner = 0;
          for (let i = 0; i < H; i++) {
            for (let j = 0; j < W; j++) {
              const inBox = i >= box.top && i < box.top + box.height && j >= box.left && j < box.left + box.width;
              const val = v[((b * H + i) * W + j) * 3];
              assert.equal(val, inBox ? B - b : b + 1);
              if (inBox) fromPartner++;
            }
          }
          assert.ok(Math.abs(fromPartner / (H * W) - (1 - params.lam)) < 1e-12, 'pasted area = 1 - lam');
        }
        assertClose(targets.dataSync(), mixTargets([0, 1, 2, 3], params.lam, 4, 0.1), 0);
        tf.dispose([images, targets]);
      }
      const none = mixBatch(x, [0, 1, 2, 3], rng, opts(0, 0));
      assert.deepEqual(none.images.dataSync(), x.dataSync(), 'alpha 0: images unchanged');
      tf.dispose([none.images, none.targets, x]);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      const odd = tf.zeros([3, 4, 4, 3]) as tf.Tensor4D;
      assert.throws(() => mixBatch(odd, [0, 1, 2], new Rng(1), opts(1, 0)), /even/);
      odd.dispose();
    });
  });
}
