/** Stochastic depth in the ViT (backbones/vit/drop-path.ts): timm's rule and semantics, checkpointing. */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { setRecompute } from '../engine/ops/checkpoint.ts';
import { VisionTransformer } from '../backbones/vit/vit.ts';
import { vitConfig } from '../backbones/vit/config.ts';
import { Block } from '../backbones/vit/block.ts';
import { dropPath, dropPathRates, sampleDropPathScales } from '../backbones/vit/drop-path.ts';
import { Registry } from '../container/container.ts';
import { TEST_ENGINES, assertClose, useBackend } from './helpers/backend.ts';

const images = (seed: number, b = 4, size = 16) => tf.randomNormal([b, size, size, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
const micro = (dropPath: number | undefined, seed = 3) =>
  new VisionTransformer('vit-micro', vitConfig('vit-micro', { imageSize: 16, ...(dropPath === undefined ? {} : { dropPath }) }), seed);

describe('drop-path rates and masks (no tensors)', () => {
  it("follows timm's linear rule over the blocks", () => {
    assert.deepEqual(
      dropPathRates(4, 0.3).map((r) => +r.toFixed(12)),
      [0, 0.1, 0.2, 0.3],
    );
    assert.deepEqual(dropPathRates(1, 0.3), [0]);
    assert.deepEqual(dropPathRates(3, 0), [0, 0, 0]);
    const m = micro(0.1);
    assert.deepEqual(
      m.blocks.map((b) => b.dropPath),
      [0, 0.1],
    );
    assert.throws(() => dropPathRates(2, 1), /\[0, 1\)/);
    assert.throws(() => vitConfig('vit-micro', { dropPath: -0.1 }), /dropPath must be a number in \[0, 1\)/);
    m.dispose();
  });

  it('keeps the expected fraction, each kept sample scaled by exactly 1 / (1 - p), seeded', () => {
    for (const p of [0.1, 0.3, 0.7]) {
      const n = 40000;
      const s = sampleDropPathScales(new Rng(11), n, p);
      let kept = 0;
      for (const v of s) {
        if (v !== 0) {
          assert.equal(v, Math.fround(1 / (1 - p)));
          kept++;
        }
      }
      const sd = Math.sqrt((p * (1 - p)) / n);
      assert.ok(Math.abs(kept / n - (1 - p)) < 5 * sd, `p ${p}: kept fraction ${kept / n}`);
      assert.deepEqual(sampleDropPathScales(new Rng(11), 64, p), s.subarray(0, 64));
    }
  });

  it('builds the same weights for a seed whatever the rate (separate drop-path stream)', () => {
    const a = micro(undefined);
    const b = micro(0.5);
    a.allParams().forEach((p, i) => {
      assert.deepEqual(b.allParams()[i].variable.dataSync(), p.variable.dataSync(), p.name);
    });
    a.dispose();
    b.dispose();
  });

  it('is a backbone option the registry and the suite schema accept', async () => {
    const reg = new Registry();
    const m = reg.backbone('vit-micro').build('vit-micro', { imageSize: 16, dropPath: 0.2 }, 1) as VisionTransformer;
    assert.equal(m.config.dropPath, 0.2);
    m.dispose();
    const { BACKBONE_OPTIONS } = await import('../suites/pretrain-config-schema.ts');
    assert.deepEqual(BACKBONE_OPTIONS.dropPath, { type: 'number', minimum: 0, exclusiveMaximum: 1 });
  });
});

for (const engine of TEST_ENGINES) {
  describe(`drop-path on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it('rate 0 is the identity in training; eval mode never drops', () => {
      const x = images(1);
      const plain = micro(undefined);
      const zero = micro(0);
      const heavy = micro(0.9);
      const ref = plain.apply(x, true);
      const out0 = zero.apply(x, true);
      assert.deepEqual(out0.dataSync(), ref.dataSync());
      const evalRef = plain.apply(x, false);
      for (let k = 0; k < 3; k++) {
        const e = heavy.apply(x, false);
        assert.deepEqual(e.dataSync(), evalRef.dataSync(), 'eval mode must not drop');
        e.dispose();
      }
      const train = heavy.apply(x, true);
      assert.notDeepEqual(train.dataSync(), ref.dataSync(), 'training with rate 0.9 drops something');
      tf.dispose([x, ref, out0, evalRef, train]);
      for (const m of [plain, zero, heavy]) m.dispose();
    });

    it('dropPath(): dropped samples are 0, kept ones x / (1 - p); gradient only through kept samples', () => {
      const p = 0.25;
      const scales = new Float32Array([1 / (1 - p), 0, 1 / (1 - p), 0]);
      const x = tf.randomNormal([4, 3, 5], 0, 1, 'float32', 2);
      const r = tf.randomNormal([4, 3, 5], 0, 1, 'float32', 3);
      const y = dropPath(x, scales);
      const xs = x.dataSync();
      const ys = y.dataSync();
      for (let i = 0; i < xs.length; i++) assert.equal(ys[i], Math.fround(xs[i] * scales[Math.floor(i / 15)]));
      assert.equal(dropPath(x), x, 'no scales: the branch itself');
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(dropPath(t, scales), r)))(x);
      const gs = g.dataSync();
      const rs = r.dataSync();
      for (let i = 0; i < gs.length; i++) assert.equal(gs[i], Math.fround(rs[i] * scales[Math.floor(i / 15)]));
      tf.dispose([x, r, y, g]);
    });

    it("a block's parameters get gradient only from kept samples; dropped ones pass through unchanged", () => {
      const rng = new Rng(5);
      const blk = new Block('b', { dim: 16, heads: 2, mlpRatio: 4, lnEps: 1e-6, mlpBatchNorm: false, dropPath: 0.5 }, rng);
      const x = tf.randomNormal([4, 5, 16], 0, 1, 'float32', 6);
      const r = tf.randomNormal([4, 5, 16], 0, 1, 'float32', 7);
      const all = { attn: new Float32Array([2, 0, 2, 0]), mlp: new Float32Array([2, 0, 2, 0]) };
      const keptOnly = { attn: new Float32Array([2, 2]), mlp: new Float32Array([2, 2]) };
      const vars = blk.trainableParams().map((q) => q.variable);
      const gradsOf = (input: tf.Tensor, weights: tf.Tensor, s: typeof all) =>
        tf.variableGrads(() => tf.sum(tf.mul(blk.apply(input, true, s), weights)) as tf.Scalar, vars);
      const full = gradsOf(x, r, all);
      const pick = (t: tf.Tensor) => tf.gather(t, [0, 2]);
      const [xk, rk] = [pick(x), pick(r)];
      const sub = gradsOf(xk, rk, keptOnly);
      for (const v of vars) assertClose(full.grads[v.name].dataSync(), sub.grads[v.name].dataSync(), 1e-5, 1e-4, v.name);
      // dropped samples: output = input, d out / d x = identity
      const out = blk.apply(x, true, all);
      const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(blk.apply(t, true, all), r)))(x);
      const dropped = (t: tf.Tensor) => tf.gather(t, [1, 3]);
      const [o1, x1, g1, r1] = [dropped(out), dropped(x), dropped(gx), dropped(r)];
      assert.deepEqual(o1.dataSync(), x1.dataSync());
      assert.deepEqual(g1.dataSync(), r1.dataSync());
      // kept samples: out = h + 2 mlp(norm2(h)), h = x + 2 attn(norm1(x))
      const manual = tf.tidy(() => {
        const h = tf.add(x, tf.mul(blk.attn.apply(blk.norm1.apply(x)), 2));
        return tf.add(h, tf.mul(blk.mlp.apply((blk.norm2 as { apply(t: tf.Tensor): tf.Tensor }).apply(h)), 2));
      });
      const [ok, mk] = [pick(out), pick(manual)];
      assertClose(ok.dataSync(), mk.dataSync(), 1e-5, 1e-5, 'kept samples');
      tf.dispose([
        x,
        r,
        xk,
        rk,
        out,
        gx,
        o1,
        x1,
        g1,
        r1,
        manual,
        ok,
        mk,
        full.value,
        sub.value,
        ...Object.values(full.grads),
        ...Object.values(sub.grads),
      ]);
      blk.dispose();
    });

    it('deterministic by seed; recomputed (checkpointed) blocks see the same masks', () => {
      const run = (recompute: boolean) => {
        setRecompute(recompute);
        try {
          const m = micro(0.5, 9);
          const x = images(4);
          const r = tf.randomNormal([4, 64], 0, 1, 'float32', 8);
          const vars = m.trainableParams().map((p) => p.variable);
          const steps = [0, 1].map(() => {
            const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(m.apply(x, true), r)) as tf.Scalar, vars);
            const out = { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync().slice()) };
            tf.dispose([value, ...Object.values(grads)]);
            return out;
          });
          tf.dispose([x, r]);
          m.dispose();
          return steps;
        } finally {
          setRecompute(false);
        }
      };
      const before = tf.memory().numTensors;
      const plain = run(false);
      const again = run(false);
      const ckpt = run(true);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      assert.notEqual(plain[0].loss, plain[1].loss, 'successive calls draw new masks');
      for (let s = 0; s < 2; s++) {
        assert.equal(again[s].loss, plain[s].loss, 'same seed, same masks');
        assert.ok(
          Math.abs(ckpt[s].loss - plain[s].loss) <= 1e-5 * Math.abs(plain[s].loss) + 1e-5,
          `step ${s}: loss ${ckpt[s].loss} vs ${plain[s].loss}`,
        );
        plain[s].grads.forEach((g, i) => {
          assertClose(ckpt[s].grads[i], g, 1e-5, 1e-4, `step ${s} grad ${i}`);
        });
      }
    });
  });
}
