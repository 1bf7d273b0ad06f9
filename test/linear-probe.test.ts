import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import { Module, Param } from '../engine/module.ts';
import { Linear } from '../engine/layers/linear.ts';
import { BatchNorm } from '../engine/layers/batch-norm.ts';
import type { Backbone } from '../backbones/backbone.ts';
import type { ImageSet } from '../data/image-set.ts';
import { ResNet } from '../backbones/resnet/resnet.ts';
import { resnetConfig } from '../backbones/resnet/config.ts';
import { Sgd } from '../optim/sgd.ts';
import { cosineEpochLr, linearProbe, linearProbeEvaluator, recipeBaseLr, type LinearProbeOptions } from '../evaluators/linear-probe.ts';
import { runEvaluator } from '../evaluators/evaluator.ts';
import { ProbeHeads } from '../evaluators/probe-heads.ts';
import { changedEntries, fingerprint, hashBytes } from '../evaluators/fingerprint.ts';
import { assertClose, useBackend } from './helpers/backend.ts';

/** Mean colour of each class: distinct, so pooled colour is linearly separable (nearest centroid is linear). */
const COLOURS = [
  [0.9, 0.1, 0.1],
  [0.1, 0.9, 0.1],
  [0.1, 0.1, 0.9],
  [0.6, 0.6, 0.6],
];
const SIDE = 8;

/** `perClass` noisy images of side 8 per class (pixel noise U[-0.1, 0.1]), classes interleaved. */
function colourSet(perClass: number, seed: number, name: string): ImageSet {
  const rng = new Rng(seed);
  const count = perClass * COLOURS.length;
  const px = SIDE * SIDE * 3;
  const images = new Float32Array(count * px);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const y = i % COLOURS.length;
    labels[i] = y;
    for (let j = 0; j < px; j++) images[i * px + j] = Math.min(1, Math.max(0, COLOURS[y][j % 3] + rng.uniform(-0.1, 0.1)));
  }
  return { name, images, labels, count, height: SIDE, width: SIDE, channels: 3, numClasses: COLOURS.length };
}

/**
 * A Backbone stub: mean colour -> frozen Linear(3, 8) -> BatchNorm(8) with non-trivial running
 * statistics, times `scale` plus `offset`. Records the training flag of each call. `mutate`: its
 * BN ignores eval mode and updates its running statistics (a bug the probe must catch).
 */
class ColourBackbone extends Module implements Backbone {
  readonly name = 'stub-colour';
  readonly outDim = 8;
  readonly imageSize = SIDE;
  readonly modes: boolean[] = [];
  private readonly proj: Linear;
  private readonly bn: BatchNorm;

  constructor(private readonly o: { mutate?: boolean; scale?: number; offset?: number } = {}) {
    super();
    this.proj = this.addChild(new Linear('proj', 3, this.outDim, new Rng(5)));
    this.bn = this.addChild(new BatchNorm('bn', this.outDim));
    tf.tidy(() => {
      this.bn.runningMean.variable.assign(tf.fill([this.outDim], 0.05));
      this.bn.runningVar.variable.assign(tf.fill([this.outDim], 0.5));
    });
  }

  apply(images: tf.Tensor4D, training: boolean): tf.Tensor2D {
    this.modes.push(training);
    return tf.tidy(() => {
      const y = this.bn.apply(this.proj.apply(tf.mean(images, [1, 2])), training || !!this.o.mutate);
      return tf.add(tf.mul(y, this.o.scale ?? 1), this.o.offset ?? 0) as tf.Tensor2D;
    });
  }
}

const TRAIN = colourSet(16, 1, 'colours/train');
const TEST = colourSet(8, 2, 'colours/test');
// the mechanics below on the whole training set, the test set choosing (main_lincls); the validation choice has tests of its own
const BASE: LinearProbeOptions = { viewSize: SIDE, batch: 16, epochs: 6, baseLrs: [3.0], valFraction: 0, extendSweep: 0 };

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`linear probe on ${backend}`, () => {
    before(async () => useBackend(backend));

    it('reaches 100% on separable features with crop + flip; eval mode only; backbone unchanged; no leaks', async () => {
      const bb = new ColourBackbone();
      const fp = await fingerprint(bb);
      const counts: number[] = [];
      const start = tf.memory().numTensors;
      const r = await linearProbe(bb, TRAIN, TEST, { ...BASE, onEpoch: () => counts.push(tf.memory().numTensors) });
      assert.equal(r.top1, 1, `top-1 ${r.top1}`);
      assert.equal(r.perLr[0].top1, 1);
      assert.equal(r.augment, true);
      assert.equal(r.stepsPerEpoch, 4);
      const loss = r.perLr[0].lossCurve;
      assert.equal(loss.length, 6);
      assert.ok(loss[0] < Math.log(4) && loss[5] < 0.1 * loss[0], `loss curve ${loss}`);
      assert.ok(bb.modes.length > 0 && bb.modes.every((t) => t === false), 'the backbone runs in eval mode only');
      assert.deepEqual(changedEntries(fp, await fingerprint(bb)), []);
      assert.ok(
        counts.every((c) => c === counts[0]),
        `live tensors per epoch ${counts}`,
      );
      assert.equal(tf.memory().numTensors, start, 'no tensor left after the probe');
      bb.dispose();
    });

    it('throws when the backbone changes during probing (BN updating its running stats in eval mode)', async () => {
      const bb = new ColourBackbone({ mutate: true });
      await assert.rejects(async () => linearProbe(bb, TRAIN, TEST, { ...BASE, epochs: 1 }), /frozen backbone changed.*bn\.running_mean/);
      bb.dispose();
    });
  });
}

describe('linear probe: protocol details (cpu)', () => {
  before(async () => useBackend('cpu'));

  it('cacheFeatures gives the numbers of the uncached path when augmentation is off', async () => {
    const bb = new ColourBackbone();
    const o = { ...BASE, epochs: 3, baseLrs: [0.5, 3.0], augment: false };
    const a = await linearProbe(bb, TRAIN, TEST, o);
    const b = await linearProbe(bb, TRAIN, TEST, { ...o, cacheFeatures: true });
    assert.equal(b.cacheFeatures, true);
    for (let k = 0; k < 2; k++) {
      assertClose(b.perLr[k].lossCurve, a.perLr[k].lossCurve, 1e-5, 1e-5, `loss of lr ${o.baseLrs[k]}`);
      assert.equal(b.perLr[k].top1, a.perLr[k].top1);
    }
    await assert.rejects(
      async () => linearProbe(bb, TRAIN, TEST, { ...o, augment: true, cacheFeatures: true }),
      /cacheFeatures needs augment: false/,
    );
    bb.dispose();
  });

  it('augmentation is deterministic given the seed', async () => {
    const bb = new ColourBackbone();
    const o = { ...BASE, epochs: 2, baseLrs: [0.5] };
    const a = (await linearProbe(bb, TRAIN, TEST, o)).perLr[0].lossCurve;
    assert.deepEqual((await linearProbe(bb, TRAIN, TEST, o)).perLr[0].lossCurve, a);
    assert.notDeepEqual((await linearProbe(bb, TRAIN, TEST, { ...o, seed: 1 })).perLr[0].lossCurve, a);
    bb.dispose();
  });

  it('the lr sweep trains independent heads and reports the best', async () => {
    const bb = new ColourBackbone();
    const o = { ...BASE, augment: false, cacheFeatures: true, epochs: 4 };
    const sweep = await linearProbe(bb, TRAIN, TEST, { ...o, baseLrs: [1e-4, 3.0] });
    assert.deepEqual(
      sweep.perLr.map((p) => p.baseLr),
      [1e-4, 3.0],
    );
    assert.deepEqual(
      sweep.perLr.map((p) => p.lr),
      [1e-4 / 16, 3.0 / 16],
    );
    assert.equal(sweep.bestBaseLr, 3.0);
    assert.equal(sweep.top1, Math.max(...sweep.perLr.map((p) => p.bestTop1)));
    assert.ok(sweep.perLr[0].top1 < 0.9 && sweep.top1 === 1, `top-1 per lr ${sweep.perLr.map((p) => p.top1)}`);
    for (const p of sweep.perLr) {
      assert.equal(p.top1Curve.length, 4, 'evaluated after every epoch');
      assert.equal(p.bestTop1, Math.max(...p.top1Curve.map((c) => c.top1)));
      const alone = await linearProbe(bb, TRAIN, TEST, { ...o, baseLrs: [p.baseLr] });
      assertClose(alone.perLr[0].lossCurve, p.lossCurve, 1e-6, 1e-6, `lr ${p.baseLr} alone vs in the sweep`);
    }
    bb.dispose();
  });

  it('follows the cosine-per-epoch schedule, lr = baseLr x batch / 256', async () => {
    assert.equal(cosineEpochLr(0, 2, 90), 2);
    assert.ok(Math.abs(cosineEpochLr(45, 2, 90) - 1) < 1e-12);
    assert.ok(Math.abs(cosineEpochLr(89, 2, 90) - (1 + Math.cos((Math.PI * 89) / 90))) < 1e-12);
    assert.ok(cosineEpochLr(89, 2, 90) > 0 && cosineEpochLr(89, 2, 90) < 1e-3);
    assert.throws(() => cosineEpochLr(90, 2, 90), /epoch must be an integer in \[0, 90\)/);
    assert.throws(() => cosineEpochLr(0.5, 2, 90), /integer/);
    const bb = new ColourBackbone();
    const seen: { epoch: number; lrs: number[]; top1?: number[] }[] = [];
    await linearProbe(bb, TRAIN, TEST, {
      ...BASE,
      epochs: 4,
      evalEvery: 3,
      baseLrs: [2.56],
      augment: false,
      cacheFeatures: true,
      onEpoch: (p) => seen.push(p),
    });
    const lr = (2.56 * 16) / 256;
    assert.deepEqual(
      seen.map((p) => p.epoch),
      [0, 1, 2, 3],
    );
    seen.forEach((p) => {
      assert.ok(Math.abs(p.lrs[0] - 0.5 * lr * (1 + Math.cos((Math.PI * p.epoch) / 4))) < 1e-12);
    });
    assert.deepEqual(
      seen.map((p) => p.top1 !== undefined),
      [false, false, true, true],
      'evalEvery 3, and after the last epoch',
    );
    bb.dispose();
  });

  it('BatchNorm without affine before the head: running stats from training, used at test', async () => {
    const heads = new ProbeHeads({ inDim: 2, numClasses: 3, count: 1, batchNorm: true, seed: 0, momentum: 0.9, weightDecay: 0 });
    assert.equal(heads.bn!.weight, undefined, 'affine=False');
    const x = tf.tensor2d([
      [1, 10],
      [3, 14],
      [5, 12],
      [7, 16],
    ]);
    tf.dispose(heads.trainStep(x, Int32Array.of(0, 1, 2, 0), [0.1]));
    // mean [4, 13], unbiased var [20/3, 20/3]: running = 0.9 * init + 0.1 * batch
    assertClose(heads.bn!.runningMean.variable.dataSync(), [0.4, 1.3], 1e-6);
    assertClose(heads.bn!.runningVar.variable.dataSync(), [0.9 + 2 / 3, 0.9 + 2 / 3], 1e-6);
    heads.dispose();
    x.dispose();
    // features far from zero mean / unit scale: the BN head still separates them
    const bb = new ColourBackbone({ scale: 50, offset: 300 });
    const r = await linearProbe(bb, TRAIN, TEST, {
      ...BASE,
      epochs: 4,
      batchNorm: true,
      augment: false,
      cacheFeatures: true,
      baseLrs: [1.0],
    });
    assert.equal(r.batchNorm, true);
    assert.equal(r.top1, 1);
    bb.dispose();
  });

  it('heads start at N(0, 0.01) weights and zero bias, the same for every head; first loss is ln C', () => {
    const heads = new ProbeHeads({ inDim: 64, numClasses: 50, count: 2, batchNorm: false, seed: 3, momentum: 0.9, weightDecay: 0 });
    const w = Array.from(heads.heads[0].weight.variable.dataSync());
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
    assert.ok(Math.abs(mean) < 1e-3 && Math.abs(std - 0.01) < 1e-3, `mean ${mean}, std ${std}`);
    assert.deepEqual(Array.from(heads.heads[0].bias!.variable.dataSync()), new Array(50).fill(0));
    assert.deepEqual(Array.from(heads.heads[1].weight.variable.dataSync()), w);
    const x = tf.zeros([4, 64]) as tf.Tensor2D;
    const loss = heads.trainStep(x, Int32Array.of(0, 1, 2, 3), [0.1, 0.1]);
    assertClose(loss.dataSync(), [Math.log(50), Math.log(50)], 1e-5);
    tf.dispose([x, loss]);
    heads.dispose();
  });

  it('a real ResNet (BN buffers, num_batches_tracked) stays bit-identical', async () => {
    const bb = new ResNet('resnet-micro', resnetConfig('resnet-micro', { imageSize: SIDE }), 0);
    const r = await linearProbe(bb, TRAIN, TEST, { ...BASE, epochs: 1, baseLrs: [recipeBaseLr(bb.name)] });
    assert.equal(r.backboneUnchanged, true);
    assert.equal(r.perLr[0].baseLr, 0.1);
    bb.dispose();
  });

  it('the evaluator contract: config validated by its schema, metrics equal to the probe itself, full result as details', async () => {
    assert.equal(linearProbeEvaluator.name, 'linear-probe');
    const cfg = { batch: 16, epochs: 2, baseLrs: [3], augment: false, cacheFeatures: true, valFraction: 0, extendSweep: 0 };
    const bb = new ColourBackbone();
    const setup = { backbone: bb, train: TRAIN, test: TEST, view: { viewSize: SIDE, cropFraction: 224 / 256 }, seed: 5 };
    const out = await runEvaluator(linearProbeEvaluator, setup, cfg);
    const direct = await linearProbe(bb, TRAIN, TEST, { ...cfg, viewSize: SIDE, cropFraction: 224 / 256, seed: 5 });
    assert.equal(out.metrics.top1, direct.top1);
    assert.equal(out.metrics.bestTestTop1, direct.bestTestTop1);
    assert.deepEqual(out.details?.perLr, direct.perLr);
    assert.equal((out.config as Record<string, unknown>).momentum, undefined, 'only schema fields');
    assert.equal(out.config.batchNorm, false, 'defaults filled in');
    await assert.rejects(runEvaluator(linearProbeEvaluator, setup, { ...cfg, epochs: 0 }, 'probe'), /probe\.epochs: must be >= 1/);
    await assert.rejects(runEvaluator(linearProbeEvaluator, setup, { ...cfg, lr: 1 }, 'probe'), /probe: unknown field 'lr'/);
    bb.dispose();
  });

  it('chooses lr and epoch on held-out training images: the test set chooses nothing', async () => {
    const bb = new ColourBackbone({ scale: 0.3 });
    const train = colourSet(12, 5, 'colours/train48');
    const o = { ...BASE, augment: false, cacheFeatures: true, epochs: 5, baseLrs: [0.01, 0.1, 1], valFraction: 0.25, extendSweep: 0 };
    const a = await linearProbe(bb, train, TEST, o);
    assert.equal(a.chosenOn, 'validation');
    assert.equal(a.valCount, 12, 'a quarter of each class held out');
    assert.equal(a.trainCount, 36);
    // the choice is the best validation top-1 (earliest epoch, then smallest lr, on ties); top1 is the test top-1 there
    let best = { val: -1, lr: 0, epoch: 0, test: 0 };
    for (const r of a.perLr)
      for (const p of r.top1Curve)
        if (p.val! > best.val || (p.val === best.val && p.epoch < best.epoch))
          best = { val: p.val!, lr: r.baseLr, epoch: p.epoch, test: p.top1 };
    assert.deepEqual([a.bestBaseLr, a.chosenEpoch, a.valTop1, a.top1], [best.lr, best.epoch, best.val, best.test]);
    assert.equal(a.bestTestTop1, Math.max(...a.perLr.map((r) => r.bestTop1)));
    // the same probe against a test set with its labels shuffled: the same choice, other test numbers
    const rng = new Rng(9);
    const shuffled = { ...TEST, labels: Int32Array.from(TEST.labels, () => rng.int(4)) };
    const b = await linearProbe(bb, train, shuffled, o);
    assert.deepEqual([b.bestBaseLr, b.chosenEpoch, b.valTop1], [a.bestBaseLr, a.chosenEpoch, a.valTop1]);
    assert.notDeepEqual(
      b.perLr.map((r) => r.top1Curve.map((p) => p.top1)),
      a.perLr.map((r) => r.top1Curve.map((p) => p.top1)),
    );
    // with valFraction 0 the test set chooses (main_lincls), and says so
    const c = await linearProbe(bb, train, TEST, { ...o, valFraction: 0 });
    assert.equal(c.chosenOn, 'test');
    assert.equal(c.top1, c.bestTestTop1);
    await assert.rejects(
      async () => linearProbe(bb, TRAIN, TEST, { ...o, valFraction: 0.01 }),
      /valFraction 0.01 of 64 images leaves 64 to train on and 0 to validate on/,
    );
    bb.dispose();
  });

  it('extends the sweep past an end while the chosen lr sits there, and says when it stops', async () => {
    const bb = new ColourBackbone({ scale: 0.3 });
    const train = colourSet(12, 5, 'colours/train48');
    const o = { ...BASE, augment: false, cacheFeatures: true, epochs: 4, valFraction: 0.25 };
    // too small lrs (0.01 stays at chance, 0.03 needs 3 epochs): the best is the highest, so the sweep grows upwards by its ratio (x3)
    const up = await linearProbe(bb, train, TEST, { ...o, baseLrs: [0.01, 0.03], extendSweep: 3 });
    assertClose(up.sweepExtended, [0.09, 0.27, 0.81], 1e-12, 1e-9);
    assert.deepEqual(
      up.perLr.map((r) => r.baseLr),
      [...up.perLr.map((r) => r.baseLr)].sort((x, y) => x - y),
      'every lr trained, in increasing order',
    );
    assert.ok(Math.abs(up.bestBaseLr - 0.27) < 1e-12 && up.sweepStopped === undefined, `chosen ${up.bestBaseLr}`);
    // with one extension allowed it stops at the end, and says so
    const capped = await linearProbe(bb, train, TEST, { ...o, baseLrs: [0.01, 0.03], extendSweep: 1 });
    assertClose(capped.sweepExtended, [0.09], 1e-12, 1e-9);
    assert.match(
      capped.sweepStopped!,
      /chosen base lr 0\.09 is at the high end of the sweep \(0\.01 \/ 0\.03 \/ 0\.09\) after 1 added lr\(s\)/,
    );
    // an interior best needs no extension; a lone lr grows both ways
    const lone = await linearProbe(bb, train, TEST, { ...o, baseLrs: [0.1], extendSweep: 8 });
    assert.ok(lone.sweepExtended.length >= 2 && lone.sweepStopped === undefined, JSON.stringify(lone.sweepExtended));
    const lrs = lone.perLr.map((r) => r.baseLr);
    assert.ok(lone.bestBaseLr > lrs[0] && lone.bestBaseLr < lrs[lrs.length - 1], `chosen ${lone.bestBaseLr} inside ${lrs}`);
    bb.dispose();
  });

  it('validates its options', async () => {
    const bb = new ColourBackbone();
    await assert.rejects(async () => linearProbe(bb, TRAIN, TEST, { ...BASE, baseLrs: [] }), /baseLrs must be positive/);
    await assert.rejects(async () => linearProbe(bb, TRAIN, TEST, { ...BASE, epochs: 0 }), /epochs must be a positive integer/);
    await assert.rejects(async () => linearProbe(bb, TRAIN, TEST, { ...BASE, cropScale: [0.5, 0.2] }), /cropScale/);
    await assert.rejects(async () => linearProbe(bb, TRAIN, { ...TEST, numClasses: 5 }, BASE), /4 classes, test 5/);
    bb.dispose();
  });
});

describe('SGD with momentum (PyTorch semantics)', () => {
  before(async () => useBackend('cpu'));

  const run = async (wd: number, momentum = 0.9) => {
    const p = new Param('w', tf.tensor1d([1, -2]), true);
    const opt = new Sgd([p], { momentum, weightDecay: wd });
    for (const g of [
      [0.5, 1],
      [-1, 2],
    ]) {
      const gt = tf.tensor1d(g);
      opt.step(new Map([[p, gt]]), 0.1);
      gt.dispose();
    }
    const out = { p: p.variable.dataSync().slice(), state: await opt.stateTensors() };
    opt.dispose();
    p.variable.dispose();
    return out;
  };

  it('matches hand-computed steps', async () => {
    // buf1 = g1 = [0.5, 1]; p1 = [0.95, -2.1]; buf2 = 0.9 buf1 + g2 = [-0.55, 2.9]; p2 = p1 - 0.1 buf2
    let r = await run(0);
    assertClose(r.p, [1.005, -2.39], 1e-6);
    assertClose(r.state.get('w.momentum_buffer') as Float32Array, [-0.55, 2.9], 1e-6);
    assert.equal(r.state.get('step'), 2);
    // wd 0.1: d1 = g1 + 0.1 p0 = [0.6, 0.8]; p1 = [0.94, -2.08]; d2 = g2 + 0.1 p1 = [-0.906, 1.792]
    // buf2 = 0.9 d1 + d2 = [-0.366, 2.512]; p2 = [0.9766, -2.3312]
    r = await run(0.1);
    assertClose(r.p, [0.9766, -2.3312], 1e-6);
    // momentum 0: plain SGD, p2 = p0 - 0.1 (g1 + g2)
    r = await run(0, 0);
    assertClose(r.p, [1.05, -2.3], 1e-6);
  });

  it('keeps state across save/load and refuses bad input', () => {
    const p = new Param('w', tf.tensor1d([1, 2]), true);
    const opt = new Sgd([p]);
    opt.loadState(
      new Map<string, Float32Array | number>([
        ['step', 3],
        ['w.momentum_buffer', Float32Array.of(1, -1)],
      ]),
    );
    const g = tf.tensor1d([0, 0]);
    opt.step(new Map([[p, g]]), 1);
    assertClose(p.variable.dataSync(), [0.1, 2.9], 1e-6); // buf = 0.9 [1, -1]
    assert.equal(opt.stepCount, 4);
    assert.throws(() => opt.step(new Map([[p, g]]), -1), /lr must be/);
    assert.throws(() => new Sgd([p], { momentum: 1 }), /momentum must lie in \[0, 1\)/);
    const buf = new Param('b', tf.zeros([1]), false, 'buffer');
    assert.throws(() => new Sgd([buf]), /is a buffer/);
    opt.dispose();
    tf.dispose([g, p.variable, buf.variable]);
  });
});

describe('backbone fingerprints', () => {
  before(async () => useBackend('cpu'));

  it('see single-bit changes', async () => {
    const a = Float32Array.of(1, 2, 3);
    const b = a.slice();
    new Uint32Array(b.buffer)[1] ^= 1;
    assert.notEqual(hashBytes(a), hashBytes(b));
    assert.equal(hashBytes(a), hashBytes(a.slice()));
    assert.notEqual(hashBytes(Float32Array.of(0)), hashBytes(Float32Array.of(-0)));
    const bn = new BatchNorm('bn', 2);
    const fp = await fingerprint(bn);
    bn.numBatchesTracked += 1;
    assert.deepEqual(changedEntries(fp, await fingerprint(bn)), ['state:bn.num_batches_tracked']);
    bn.dispose();
  });
});
