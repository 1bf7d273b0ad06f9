/**
 * Cached-gradient training (optimizer.chunk, runner/train-step.ts): on a ViT (no BatchNorm in the
 * backbone), one step at batch B in chunks of B/4 gives the whole batch's loss and every
 * parameter's gradient (heads with their BatchNorm over the whole batch, momentum / target
 * encoders included), up to float summation order; ten steps give the same weights.
 * Measured (cpu backend, ViT-Micro/4, batch 8, chunk 2): worst gradient error 7.1e-6 of its scale
 * (MoCo v3 7.0e-6, SimCLR 2.7e-6, BYOL 7.1e-6, SwAV 1.4e-6); weights after ten SGD steps at lr 0.05
 * within 1.5e-4 (SimCLR; MoCo v3 7.0e-5, BYOL 1.7e-5, SwAV 5.7e-6). Tolerances: 1e-4 and 1e-3.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { buildFramework, type Framework, twoViewSet } from '../frameworks/framework.ts';
import { mocov3 } from '../frameworks/mocov3.ts';
import { simclr } from '../frameworks/simclr.ts';
import { byol } from '../frameworks/byol.ts';
import { swav } from '../frameworks/swav.ts';
import { TrainStep } from '../runner/train-step.ts';
import { PlainSgd, microContext, randomViews, snapshot } from './helpers/frameworks.ts';
import { useBackend } from './helpers/backend.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSuite } from '../kinds/index.ts';
import { resolveCell } from '../runner/pretrain-suite.ts';
import { builtinRegistry } from '../container/container.ts';
import { checkTrainMemory, pretrain } from '../runner/pretrain.ts';

const B = 8;
const HEADS = { mlpDim: 32, outDim: 16 };
const FRAMEWORKS = [
  ['mocov3', () => buildFramework(mocov3, { ...HEADS, m0: 0.9 }, microContext(5))],
  ['simclr', () => buildFramework(simclr, HEADS, microContext(5))],
  ['byol', () => buildFramework(byol, { ...HEADS, m0: 0.9 }, microContext(5))],
  ['swav', () => buildFramework(swav, { ...HEADS, prototypes: 10, freezePrototypesEpochs: 0 }, microContext(5))],
] as const;

/** Largest |a - b| and largest |b|. */
function diff(a: tf.Tensor, b: tf.Tensor): { d: number; m: number } {
  const x = a.dataSync();
  const y = b.dataSync();
  let d = 0;
  let m = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  return { d, m };
}
/** Largest |a - b| over the largest |b|. */
const relErr = (a: tf.Tensor, b: tf.Tensor) => {
  const { d, m } = diff(a, b);
  return m === 0 ? d : d / m;
};

describe('cached gradients: chunked steps equal whole-batch steps on a ViT', () => {
  before(() => useBackend('cpu'));

  for (const [name, build] of FRAMEWORKS) {
    it(`${name}: chunk ${B / 4} of batch ${B}: the same loss and every gradient (error < 1e-4 of its scale), ten steps the same weights (< 1e-3)`, async () => {
      const [v1, v2] = randomViews(B, 11);
      const views = twoViewSet(v1, v2);
      const ctx = { iter: 0, totalIters: 20, itersPerEpoch: 1 };
      const whole: Framework = build();
      const chunked: Framework = build();
      const a = new TrainStep(whole, new PlainSgd()).gradients(views, ctx);
      const b = new TrainStep(chunked, new PlainSgd(), B / 4).gradients(views, ctx);
      const names = whole.trainableParams().map((p) => p.variable.name);
      const cnames = chunked.trainableParams().map((p) => p.variable.name);
      assert.ok(Math.abs(a.value.dataSync()[0] - b.value.dataSync()[0]) < 1e-5 * Math.max(1, Math.abs(a.value.dataSync()[0])));
      // each gradient's error against the larger of its own scale and 1 % of the largest gradient
      // (a gradient that is zero up to rounding, e.g. the last LayerNorm's bias, has no scale of its own)
      const pairs = names.flatMap((n, i) => {
        const ga = a.grads[n];
        const gb = b.grads[cnames[i]];
        assert.equal(ga === undefined, gb === undefined, `${n}: a gradient in one step only`);
        return ga ? [{ n, ...diff(gb, ga) }] : [];
      });
      const scale = Math.max(...pairs.map((p) => p.m));
      const worst = Math.max(...pairs.map((p) => p.d / Math.max(p.m, 0.01 * scale)));
      const compared = pairs.length;
      assert.ok(compared > 10, `${compared} gradients compared`);
      assert.ok(worst < 1e-4, `${name}: worst relative gradient error ${worst}`);
      assert.ok(relErr(b.features, a.features) < 1e-5, 'the monitor features');
      tf.dispose([a.value, b.value, a.features, b.features, a.prepared, b.prepared, ...Object.values(a.grads), ...Object.values(b.grads)]);
      // ten SGD steps from the same start
      const sa = new TrainStep(whole, new PlainSgd());
      const sb = new TrainStep(chunked, new PlainSgd(), B / 4);
      const live: number[] = [];
      for (let iter = 1; iter <= 10; iter++) {
        tf.dispose((await sa.run(views, { ...ctx, iter }, 0.05)).features);
        tf.dispose((await sb.run(views, { ...ctx, iter }, 0.05)).features);
        live.push(tf.memory().numTensors);
      }
      assert.equal(live[9], live[1], `no tensor left behind by a step: ${live}`);
      const wa = snapshot(whole.trainableParams());
      const wb = snapshot(chunked.trainableParams());
      let wWorst = 0;
      for (const [i, w] of wa.entries()) for (let j = 0; j < w.length; j++) wWorst = Math.max(wWorst, Math.abs(w[j] - wb[i][j]));
      assert.ok(wWorst < 1e-3, `${name}: weights after ten steps differ by ${wWorst}`);
      tf.dispose([v1, v2]);
      whole.dispose();
      chunked.dispose();
    });
  }

  it('a framework that does not split its loss is refused naming optimizer.chunk', () => {
    const fw = buildFramework(simclr, HEADS, microContext(5));
    const bare = { ...fw, name: 'bare', trainableParams: () => fw.trainableParams(), onlineViews: undefined, headLoss: undefined };
    assert.throws(() => new TrainStep(bare as Framework, new PlainSgd(), 2), /optimizer\.chunk: framework bare does not split its loss/);
    fw.dispose();
  });

  it('a cell with optimizer.chunk: the same hash and run as one pass on a ViT; BatchNorm backbones and drop-path refused with the reason', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-chunk-'));
    const suite = loadSuite('smoke');
    const at = (over: object) =>
      resolveCell(suite, suite.cells[0], {
        preset: 'smoke',
        runsDir: tmp,
        registry: builtinRegistry(),
        overrides: { data: { trainCount: 48, testCount: 24 }, optimizer: { batch: 16, epochs: 1, warmupEpochs: 0 }, ...over },
      });
    const plain = at({});
    const chunked = at({ optimizer: { batch: 16, epochs: 1, warmupEpochs: 0, chunk: 4 } });
    assert.equal(chunked.hash, plain.hash, 'exact chunking is the same experiment');
    const r = await pretrain(chunked.config, { runDir: path.join(tmp, 'chunked'), registry: builtinRegistry() });
    const p = await pretrain(plain.config, { runDir: path.join(tmp, 'plain'), registry: builtinRegistry() });
    assert.ok(Math.abs(r.final.loss - p.final.loss) < 1e-3 * Math.abs(p.final.loss), `${r.final.loss} vs ${p.final.loss}`);
    const bn = { backbone: { name: 'vit-bn-micro/4' }, optimizer: { batch: 16, epochs: 1, warmupEpochs: 0, chunk: 4 } };
    await assert.rejects(
      pretrain(at(bn).config, { runDir: path.join(tmp, 'bn'), registry: builtinRegistry() }),
      /optimizer\.chunk: backbone vit-bn-micro\/4 has BatchNorm, so each chunk of 4 images would see its own statistics/,
    );
    assert.equal(fs.existsSync(path.join(tmp, 'bn')), false, 'refused before the run folder exists');
    const perChunk = at({ ...bn, optimizer: { ...bn.optimizer, chunkBn: 'per-chunk' } });
    assert.notEqual(perChunk.hash, at({ backbone: bn.backbone }).hash, 'per-chunk BN changes the numbers: its own hash');
    await assert.rejects(
      pretrain(at({ ...bn, backbone: { name: 'vit-micro/4', dropPath: 0.1 } }).config, {
        runDir: path.join(tmp, 'dp'),
        registry: builtinRegistry(),
      }),
      /optimizer\.chunk: backbone\.dropPath 0\.1/,
    );
  });

  it("the memory check counts one chunk's activations: ViT-S/16 at batch 1024 is refused in one pass, accepted in chunks of 16", () => {
    const suite = loadSuite('smoke');
    const c = resolveCell(suite, suite.cells[0], {
      preset: 'smoke',
      runsDir: os.tmpdir(),
      registry: builtinRegistry(),
      overrides: { backbone: { name: 'vit-s/16' }, data: { viewSize: 224 }, optimizer: { batch: 1024 } },
    }).config;
    const family = builtinRegistry().backbone('vit-s/16');
    // about 150 GiB in one pass; 3.5 GiB in chunks of 16 (1.2 GiB of activations, 2.3 GiB of views)
    assert.throws(() => checkTrainMemory(c, family), /2048 views of 224 px .* GiB/);
    assert.doesNotThrow(() => checkTrainMemory({ ...c, optimizer: { ...c.optimizer, chunk: 16 } }, family));
  });
});
