import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { Conv2d, conv2d, convOutputSize, hwioToOihw, oihwToHwio } from '../engine/layers/conv2d.ts';
import { BatchNorm } from '../engine/layers/batch-norm.ts';
import { traceMacs } from '../engine/flops.ts';
import { Rng } from '../engine/rng.ts';
import { loadWeights, saveWeights } from '../engine/weights.ts';
import { resnetConfig, resnetFamilies } from '../backbones/resnet/config.ts';
import { ResNet } from '../backbones/resnet/resnet.ts';
import { Bottleneck } from '../backbones/resnet/bottleneck.ts';
import { resnetClassifierParams, resnetParamCount } from '../backbones/resnet/count.ts';
import { allResnetFamilies } from '../backbones/resnet/index.ts';
import { Registry } from '../container/container.ts';
import { flopsTable } from '../report/count-tables.ts';
import { loadSuite } from '../kinds/index.ts';
import { TEST_ENGINES, assertClose, gradCheck, useBackend } from './helpers/backend.ts';
import { referenceForward, type Weights } from './helpers/resnet-reference.ts';

const family = (name: string) => allResnetFamilies().find((f) => f.family === name)!;

/** Direct convolution in float64, NHWC x HWIO, PyTorch's symmetric zero padding. */
function refConv(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, pad: number): { data: number[]; shape: number[] } {
  const [b, h, wd, cin] = x.shape;
  const [k, , , cout] = w.shape;
  const xs = x.dataSync();
  const ws = w.dataSync();
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - k) / stride) + 1;
  const out: number[] = [];
  for (let n = 0; n < b; n++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let o = 0; o < cout; o++) {
          let acc = 0;
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = oy * stride - pad + ky;
              const ix = ox * stride - pad + kx;
              if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
              for (let i = 0; i < cin; i++) acc += xs[((n * h + iy) * wd + ix) * cin + i] * ws[((ky * k + kx) * cin + i) * cout + o];
            }
          out.push(acc);
        }
  return { data: out, shape: [b, oh, ow, cout] };
}

/** A wasm engine without Conv2DBackpropFilter cannot differentiate a conv's kernel (tfjs-backend-wasm 4.22 ships none). */
function missingFilterGrad(): string | undefined {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend())
    ? undefined
    : `the ${tf.getBackend()} backend has no Conv2DBackpropFilter kernel (supplied by engine/kernels/, not loaded)`;
}

/** Float64 central differences of the reference loss sum(features * r), per case: the same on every engine. */
const referenceDiffs = new Map<string, Map<string, number>>();

/** Three spread coordinates of a tensor of n values. */
const spread = (n: number) => [...new Set([0.15, 0.5, 0.85].map((f) => Math.floor(f * n)))];

describe('ResNet configs and counts', () => {
  it('registers resnet-50, resnet-tiny and resnet-micro, with their output dims', () => {
    assert.deepEqual(resnetFamilies(), ['resnet-50', 'resnet-tiny', 'resnet-micro']);
    assert.deepEqual(
      allResnetFamilies().map((f) => f.family),
      resnetFamilies(),
    );
    assert.deepEqual(
      ['resnet-50', 'resnet-tiny', 'resnet-micro'].map((n) => family(n).describe(n).outDim),
      [2048, 512, 256],
    );
    assert.equal(family('resnet-50').describe('resnet-50').blocks, 16);
    assert.throws(() => resnetConfig('resnet-34'), /not a ResNet name; known: resnet-50, resnet-tiny, resnet-micro/);
    assert.throws(() => family('resnet-50').build('resnet-tiny', {}, 0), /does not belong to family 'resnet-50'/);
    assert.throws(() => resnetConfig('resnet-50', { stem: 'big' as 'cifar' }), /stem must be 'imagenet' or 'cifar'/);
  });

  it('ResNet-50: 23,508,032 parameters without fc, 25,557,032 (25.6 M) with the 1000-class fc', () => {
    const c = resnetConfig('resnet-50');
    assert.equal(family('resnet-50').countParams('resnet-50'), 23_508_032);
    assert.equal(resnetParamCount(c) + resnetClassifierParams(c), 25_557_032);
    assert.equal(Number(((resnetParamCount(c) + resnetClassifierParams(c)) / 1e6).toFixed(1)), 25.6);
  });

  it('ResNet-50 at 224: 4.09 G multiply-adds (torchvision\'s 4.09 GMACs, "4.1 GFLOPs")', () => {
    const macs = family('resnet-50').countMacs('resnet-50');
    assert.equal(macs, 4_087_136_256);
    const withFc = macs + 2048 * 1000;
    assert.ok(withFc / 1e9 > 4.085 && withFc / 1e9 < 4.095, `${withFc / 1e9} G`);
  });

  it("the registry resolves the ResNet families, and Table 3 gets an R-50 row beside torchvision's reference", () => {
    const reg = new Registry();
    assert.equal(reg.backbone('resnet-50').countParams('resnet-50'), 23_508_032);
    const table = flopsTable(loadSuite('table3'), reg);
    const row = table.rows.find((r) => r.model === 'R-50')!;
    assert.deepEqual(
      [row.paper_flops_g, row.flops_g, row.diff, row.paper_vs_r50, row.vs_r50],
      ['4.1 (torchvision)', 4.09, '-0.31 %', undefined, '1.0x'],
    );
    assert.ok(
      table.notes.some((n) =>
        /^R-50: .*torchvision's reference numbers, not the paper's.*25,557,032 parameters with the classifier \(23,508,032 without\)/.test(
          n,
        ),
      ),
    );
  });

  it('chooses the CIFAR stem for images of 64 px or less unless told; patch options are ignored', () => {
    assert.equal(resnetConfig('resnet-50').stem, 'imagenet');
    assert.equal(resnetConfig('resnet-50', { imageSize: 64 }).stem, 'cifar');
    assert.equal(resnetConfig('resnet-50', { imageSize: 65 }).stem, 'imagenet');
    assert.equal(resnetConfig('resnet-micro').stem, 'cifar');
    assert.equal(resnetConfig('resnet-micro', { stem: 'imagenet' }).stem, 'imagenet');
    assert.equal(resnetConfig('resnet-50', { imageSize: 224, stem: 'cifar' }).stem, 'cifar');
    const f = family('resnet-tiny');
    assert.equal(f.countParams('resnet-tiny', { patchSize: 16, pooling: 'gap' }), f.countParams('resnet-tiny'));
    // the CIFAR stem's conv1 is 3x3 instead of 7x7
    assert.equal(family('resnet-50').countParams('resnet-50', { stem: 'cifar' }), 23_508_032 - 3 * 64 * (49 - 9));
  });
});

describe('Conv2d', () => {
  before(async () => useBackend('wasm'));

  for (const [size, k, stride, pad] of [
    [7, 3, 2, 1],
    [9, 7, 2, 3],
    [6, 1, 2, 0],
    [5, 3, 1, 1],
    [8, 3, 2, 1],
  ]) {
    it(`${size}x${size}, kernel ${k}, stride ${stride}, padding ${pad}: PyTorch's output size and values`, () => {
      const x = tf.randomNormal([2, size, size, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([k, k, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
      const ref = refConv(x, w, stride, pad);
      const y = conv2d(x, w, stride, pad);
      assert.deepEqual(y.shape, ref.shape);
      assert.equal(y.shape[1], convOutputSize(size, k, stride, pad));
      assertClose(y.dataSync(), ref.data, 1e-4, 1e-4, 'conv');
      tf.dispose([x, w, y]);
    });
  }

  it('exports its kernel as PyTorch [out, in, kh, kw] and loads it back', async () => {
    const conv = new Conv2d('c', 3, 5, 3, new Rng(0), { stride: 2 });
    const [entry] = conv.torchEntries();
    assert.equal(entry.name, 'c.weight');
    assert.deepEqual(entry.shape, [5, 3, 3, 3]);
    const eng = conv.weight.variable.arraySync() as number[][][][]; // [kh][kw][in][out]
    const torch = (await entry.read()) as Float32Array;
    for (const [o, i, y, x] of [
      [0, 0, 0, 0],
      [4, 2, 1, 0],
      [3, 1, 2, 2],
      [1, 0, 0, 2],
    ]) {
      assert.equal(torch[((o * 3 + i) * 3 + y) * 3 + x], eng[y][x][i][o]);
    }
    assert.deepEqual(
      oihwToHwio(hwioToOihw(conv.weight.variable.dataSync() as Float32Array, 3, 3, 3, 5), 3, 3, 3, 5),
      conv.weight.variable.dataSync(),
    );
    const other = new Conv2d('c', 3, 5, 3, new Rng(1));
    other.torchEntries()[0].write(torch);
    assert.deepEqual(other.weight.variable.dataSync(), conv.weight.variable.dataSync());
    assert.equal(conv.torchEntries().length, 1, 'no bias');
    conv.dispose();
    other.dispose();
  });

  it('initialises with kaiming_normal_(mode=fan_out, relu): std sqrt(2 / (out k k))', () => {
    const conv = new Conv2d('c', 64, 128, 3, new Rng(3));
    const v = Array.from(conv.weight.variable.dataSync());
    const mean = v.reduce((s, a) => s + a, 0) / v.length;
    const std = Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / v.length);
    const expected = Math.sqrt(2 / (128 * 9));
    assert.ok(Math.abs(std / expected - 1) < 0.02, `std ${std} vs ${expected}`);
    assert.ok(Math.abs(mean) < 0.02 * expected, `mean ${mean}`);
    conv.dispose();
  });
});

for (const engine of TEST_ENGINES) {
  describe(`ResNet gradients on ${engine.label}`, () => {
    before(async () => useBackend(engine.backend, engine.native));

    it('conv gradients w.r.t. input and kernel match finite differences (stride 2, padding 1 and 3)', (t) => {
      const why = missingFilterGrad();
      if (why) return void t.skip(why);
      for (const [k, pad] of [
        [3, 1],
        [7, 3],
        [1, 0],
      ]) {
        const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 4);
        const w = tf.randomNormal([k, k, 3, 4], 0, 0.5, 'float32', 5);
        gradCheck((xx, ww) => conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, pad), [x, w], { samples: 16 });
        tf.dispose([x, w]);
      }
    });

    it('stem max pool (3x3 / 2, padding 1) gradient matches finite differences', () => {
      const x = tf.randomNormal([1, 7, 7, 2], 0, 1, 'float32', 6);
      gradCheck(
        (xx) =>
          tf.maxPool(xx as tf.Tensor4D, 3, 2, [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]),
        [x],
        { samples: 30, h: 1e-3 },
      );
      x.dispose();
    });

    for (const [stem, size] of [
      ['imagenet', 16],
      ['cifar', 8],
    ] as const) {
      it(`a micro ResNet (${stem} stem, ${size} px): forward and every gradient match a float64 reference and its finite differences`, (t) => {
        const why = missingFilterGrad();
        if (why) return void t.skip(why);
        const m = new ResNet('resnet-micro', resnetConfig('resnet-micro', { imageSize: size, stem }), 2);
        const shape = [2, size, size, 3];
        const rng = new Rng(7);
        const x64 = Float64Array.from({ length: 2 * size * size * 3 }, () => rng.normal());
        const r = Float64Array.from({ length: 2 * 256 }, () => rng.uniform(-1, 1));
        const W: Weights = new Map(m.allParams().map((p) => [p.name, Float64Array.from(p.variable.dataSync())]));
        const x = tf.tensor4d(Float32Array.from(x64), shape as [number, number, number, number]);
        const rt = tf.tensor2d(Float32Array.from(r), [2, 256]);
        // eval mode: BN uses its running statistics, so the loss is a fixed function of image and weights
        const y = tf.tidy(() => m.apply(x, false));
        assertClose(y.dataSync(), referenceForward(W, x64, shape, stem), 1e-4, 1e-4, 'features vs float64 reference');
        const loss = (xx: tf.Tensor) => tf.sum(tf.mul(m.apply(xx as tf.Tensor4D, false), rt)) as tf.Scalar;
        const { value, grads } = tf.variableGrads(
          () => loss(x),
          m.trainableParams().map((p) => p.variable),
        );
        const dx = tf.grad(loss)(x);
        const key = `${stem}/${size}`;
        if (!referenceDiffs.has(key)) {
          const diffs = new Map<string, number>();
          const refLoss = (w: Weights, img: Float64Array) => referenceForward(w, img, shape, stem).reduce((s, o, i) => s + o * r[i], 0);
          const h = 1e-6;
          for (const j of spread(x64.length)) {
            const at = (d: number) =>
              refLoss(
                W,
                x64.map((v, i) => (i === j ? v + d : v)),
              );
            diffs.set(`image/${j}`, (at(h) - at(-h)) / (2 * h));
          }
          for (const p of m.trainableParams()) {
            const base = W.get(p.name)!;
            for (const j of spread(base.length)) {
              const at = (d: number) => refLoss(new Map([...W, [p.name, base.map((v, i) => (i === j ? v + d : v))]]), x64);
              diffs.set(`${p.name}/${j}`, (at(h) - at(-h)) / (2 * h));
            }
          }
          referenceDiffs.set(key, diffs);
        }
        const diffs = referenceDiffs.get(key)!;
        const analytic = (name: string) =>
          (name === 'image' ? dx : grads[m.trainableParams().find((p) => p.name === name)!.variable.name]).dataSync();
        let nonzero = 0;
        for (const [at, numeric] of diffs) {
          const [name, j] = [at.slice(0, at.lastIndexOf('/')), Number(at.slice(at.lastIndexOf('/') + 1))];
          const g = analytic(name)[j];
          if (Math.abs(numeric) > 1e-3) nonzero++;
          assert.ok(
            Math.abs(g - numeric) <= 2e-4 + 2e-3 * Math.abs(numeric),
            `${name}[${j}]: analytic ${g} vs float64 difference ${numeric}`,
          );
        }
        assert.ok(nonzero >= diffs.size / 2, `${nonzero} of ${diffs.size} checked derivatives are non-zero`);
        tf.dispose([x, rt, y, dx, value, ...Object.values(grads)]);
        m.dispose();
      });
    }
  });
}

describe('ResNet models', () => {
  before(async () => useBackend('wasm'));

  it('resnet-50 at 224 px, batch 1: [1, 2048]; built params and traced multiply-adds equal the counts', () => {
    const name = 'resnet-50';
    const m = family(name).build(name, {}, 0) as ResNet;
    assert.equal(m.numParameters(), 23_508_032);
    let y: tf.Tensor | undefined;
    const macs = traceMacs(() => {
      y = tf.tidy(() => m.apply(tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 1) as tf.Tensor4D, false));
    });
    assert.deepEqual(y!.shape, [1, 2048]);
    assert.ok(y!.dataSync().every(Number.isFinite));
    assert.equal(macs, 4_087_136_256);
    y!.dispose();
    m.dispose();
  });

  for (const [name, size, opts, dim] of [
    ['resnet-tiny', 32, {}, 512],
    ['resnet-micro', 32, {}, 256],
    ['resnet-micro', 37, { stem: 'imagenet' }, 256],
    ['resnet-micro', 97, { stem: 'imagenet' }, 256],
    ['resnet-tiny', 17, { stem: 'cifar' }, 512],
  ] as const) {
    it(`${name} at ${size} px ${JSON.stringify(opts)} -> [2, ${dim}], counts = built model and traced forward`, () => {
      const f = family(name);
      const o = { imageSize: size, ...opts };
      const m = f.build(name, o, 0);
      assert.equal(m.outDim, dim);
      const y = tf.tidy(() => m.apply(tf.randomUniform([2, size, size, 3]) as tf.Tensor4D, true));
      assert.deepEqual(y.shape, [2, dim]);
      assert.ok(y.dataSync().every(Number.isFinite));
      assert.equal(m.numParameters(), f.countParams(name, o));
      const macs = traceMacs(() => tf.tidy(() => void m.apply(tf.zeros([1, size, size, 3]) as tf.Tensor4D, false)));
      assert.equal(macs, f.countMacs(name, o), 'analytic multiply-adds = traced forward');
      y.dispose();
      m.dispose();
    });
  }

  it("feature maps have PyTorch's sizes at an odd input size (97 px: 49, 25, 25, 13, 7, 4)", () => {
    const m = new ResNet('resnet-micro', resnetConfig('resnet-micro', { imageSize: 97, stem: 'imagenet' }), 0);
    tf.tidy(() => {
      let x = tf.relu(m.bn1.apply(m.conv1.apply(tf.zeros([1, 97, 97, 3]) as tf.Tensor4D), false)) as tf.Tensor4D;
      assert.deepEqual(x.shape, [1, 49, 49, 8]);
      x = tf.maxPool(x, 3, 2, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]);
      assert.deepEqual(x.shape, [1, 25, 25, 8]);
      const sides = m.blocks.map((b) => {
        x = b.apply(x, false);
        return [x.shape[1], x.shape[3]];
      });
      assert.deepEqual(sides, [
        [25, 32],
        [13, 64],
        [7, 128],
        [4, 256],
      ]);
    });
    m.dispose();
  });

  it("has torchvision's state-dict names, order and shapes (318 tensors without fc)", () => {
    const m = family('resnet-50').build('resnet-50', {}, 0);
    const entries = m.torchEntries();
    const shapes = new Map(entries.map((e) => [e.name, e.shape]));
    assert.equal(entries.length, 318, '53 convs + 53 BNs x 5 tensors');
    assert.equal(shapes.size, 318, 'unique names');
    assert.deepEqual(shapes.get('conv1.weight'), [64, 3, 7, 7]);
    assert.deepEqual(shapes.get('layer1.0.downsample.0.weight'), [256, 64, 1, 1]);
    assert.deepEqual(shapes.get('layer1.0.downsample.1.running_var'), [256]);
    assert.deepEqual(shapes.get('layer2.0.conv2.weight'), [128, 128, 3, 3]);
    assert.deepEqual(shapes.get('layer3.5.conv3.weight'), [1024, 256, 1, 1]);
    assert.deepEqual(shapes.get('layer4.2.bn3.weight'), [2048]);
    assert.deepEqual(shapes.get('layer4.0.downsample.0.weight'), [2048, 1024, 1, 1]);
    assert.deepEqual(shapes.get('bn1.num_batches_tracked'), []);
    assert.ok(!shapes.has('layer1.1.downsample.0.weight') && !shapes.has('fc.weight'));
    const bn = (p: string) => ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((s) => `${p}.${s}`);
    const block = ['conv1', 'bn1', 'conv2', 'bn2', 'conv3', 'bn3'].flatMap((n) =>
      n.startsWith('bn') ? bn(`layer1.0.${n}`) : [`layer1.0.${n}.weight`],
    );
    const expected = [
      'conv1.weight',
      ...bn('bn1'),
      ...block,
      'layer1.0.downsample.0.weight',
      ...bn('layer1.0.downsample.1'),
      'layer1.1.conv1.weight',
    ];
    assert.deepEqual(
      entries.slice(0, expected.length).map((e) => e.name),
      expected,
    );
    const counted = entries.filter((e) => !/running_|num_batches/.test(e.name)).reduce((s, e) => s + e.shape.reduce((a, d) => a * d, 1), 0);
    assert.equal(counted, 23_508_032);
    m.dispose();
  });

  it('initialises like torchvision: BN gamma 1, beta 0; zeroInitResidual zeroes each bn3 gamma only', () => {
    const plain = new ResNet('resnet-tiny', resnetConfig('resnet-tiny'), 1);
    const zero = new ResNet('resnet-tiny', resnetConfig('resnet-tiny', { zeroInitResidual: true }), 1);
    for (const p of plain.parameters()) {
      if (/(bn\d|downsample\.1)\.weight$/.test(p.name))
        assert.ok(
          p.variable.dataSync().every((v) => v === 1),
          `${p.name} = 1`,
        );
      if (/bn\d\.bias$|downsample\.1\.bias$/.test(p.name))
        assert.ok(
          p.variable.dataSync().every((v) => v === 0),
          `${p.name} = 0`,
        );
    }
    for (const p of zero.parameters()) {
      const v = p.variable.dataSync();
      if (p.name.endsWith('bn3.weight'))
        assert.ok(
          v.every((x) => x === 0),
          `${p.name} = 0`,
        );
      else if (/(bn[12]|downsample\.1)\.weight$/.test(p.name))
        assert.ok(
          v.every((x) => x === 1),
          `${p.name} = 1`,
        );
    }
    assert.deepEqual(zero.conv1.weight.variable.dataSync(), plain.conv1.weight.variable.dataSync(), 'same seed, same convs');
    plain.dispose();
    zero.dispose();
  });

  it('with zeroInitResidual an identity-shortcut block starts as the identity on non-negative input', () => {
    const shape = { name: 'layer1.1', inChannels: 32, width: 8, stride: 1, downsample: false };
    const o = { expansion: 4, bnEps: 1e-5 };
    const zero = new Bottleneck(shape, { ...o, zeroInitResidual: true }, new Rng(0));
    const plain = new Bottleneck(shape, { ...o, zeroInitResidual: false }, new Rng(0));
    const x = tf.relu(tf.randomNormal([2, 5, 5, 32], 0, 1, 'float32', 3)) as tf.Tensor4D;
    for (const training of [false, true])
      assertClose(zero.apply(x, training).dataSync(), x.dataSync(), 1e-6, 0, `identity (training ${training})`);
    assert.ok(Math.max(...tf.abs(tf.sub(plain.apply(x, false), x)).dataSync()) > 1e-2, 'the default block is not the identity');
    tf.dispose(x);
    zero.dispose();
    plain.dispose();
  });

  it('is deterministic from the seed', () => {
    const w = (seed: number) => {
      const m = new ResNet('resnet-micro', resnetConfig('resnet-micro'), seed);
      const v = m.blocks[2].conv2.weight.variable.dataSync().slice();
      m.dispose();
      return v;
    };
    assert.deepEqual(w(5), w(5));
    assert.notDeepEqual(w(5), w(6));
  });
});

describe('BatchNorm on NHWC feature maps (PyTorch BatchNorm2d)', () => {
  before(async () => useBackend('wasm'));

  it('training normalises per channel over N, H, W and tracks the unbiased variance over N*H*W values', () => {
    const [N, H, W, C] = [2, 3, 4, 5];
    const bn = new BatchNorm('bn', C);
    const x = tf.randomNormal([N, H, W, C], 1, 2, 'float32', 9) as tf.Tensor4D;
    const xs = x.dataSync();
    const y = bn.apply(x, true).dataSync();
    const n = N * H * W;
    for (let c = 0; c < C; c++) {
      const vals = Array.from({ length: n }, (_, i) => xs[i * C + c]);
      const mean = vals.reduce((s, a) => s + a, 0) / n;
      const biased = vals.reduce((s, a) => s + (a - mean) ** 2, 0) / n;
      vals.forEach((a, i) => {
        assert.ok(Math.abs(y[i * C + c] - (a - mean) / Math.sqrt(biased + 1e-5)) < 1e-4, `y at ${i}, ${c}`);
      });
      assert.ok(Math.abs(bn.runningMean.variable.dataSync()[c] - 0.1 * mean) < 1e-5, 'running mean');
      assert.ok(Math.abs(bn.runningVar.variable.dataSync()[c] - (0.9 + (0.1 * biased * n) / (n - 1))) < 1e-4, 'running var');
    }
    // eval uses the running statistics
    const e = bn.apply(x, false).dataSync();
    const rm = bn.runningMean.variable.dataSync();
    const rv = bn.runningVar.variable.dataSync();
    assert.ok(Math.abs(e[7] - (xs[7] - rm[7 % C]) / Math.sqrt(rv[7 % C] + 1e-5)) < 1e-4);
    tf.dispose(x);
    bn.dispose();
  });

  it('a ResNet in training mode moves the running statistics and depends on the batch; in eval mode neither', () => {
    const m = new ResNet('resnet-micro', resnetConfig('resnet-micro', { imageSize: 16 }), 3);
    const x = tf.randomNormal([4, 16, 16, 3], 0, 1, 'float32', 10) as tf.Tensor4D;
    const first = tf.slice(x, [0, 0, 0, 0], [2, 16, 16, 3]) as tf.Tensor4D;
    const rm = () => m.blocks[3].bn3.runningMean.variable.dataSync().slice();
    const before = rm();
    const evalAll = m.apply(x, false);
    const evalFirst = m.apply(first, false);
    assert.deepEqual(rm(), before, 'eval leaves the running statistics');
    assertClose(evalFirst.dataSync(), evalAll.dataSync().slice(0, 2 * 256), 1e-5, 1e-4, 'eval is per-image');
    const trainAll = m.apply(x, true);
    const trainFirst = m.apply(first, true);
    assert.notDeepEqual(rm(), before, 'training updates the running statistics');
    assert.equal(m.blocks[3].bn3.numBatchesTracked, 2);
    assert.equal(m.bn1.numBatchesTracked, 2);
    assert.ok(
      Math.max(...tf.abs(tf.sub(trainFirst, tf.slice(trainAll, [0, 0], [2, 256]))).dataSync()) > 1e-3,
      'training output depends on the batch',
    );
    assert.ok(Math.max(...tf.abs(tf.sub(trainAll, evalAll)).dataSync()) > 1e-3, 'train and eval differ');
    tf.dispose([x, first, evalAll, evalFirst, trainAll, trainFirst]);
    m.dispose();
  });
});

describe('ResNet training', () => {
  before(async () => useBackend('wasm'));

  it('one plain SGD step gives every trainable parameter a gradient, changes it and lowers the loss', (t) => {
    const why = missingFilterGrad();
    if (why) return void t.skip(why);
    const m = new ResNet('resnet-micro', resnetConfig('resnet-micro', { imageSize: 16 }), 4);
    const x = tf.randomNormal([4, 16, 16, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    const target = tf.randomNormal([4, 256], 0, 1, 'float32', 12);
    const loss = () => tf.mean(tf.square(tf.sub(m.apply(x, true), target))) as tf.Scalar;
    const params = m.trainableParams();
    const before = params.map((p) => p.variable.dataSync().slice());
    const { value, grads } = tf.variableGrads(
      loss,
      params.map((p) => p.variable),
    );
    for (const p of params) {
      const g = grads[p.variable.name];
      assert.ok(g, `${p.name} has a gradient`);
      tf.tidy(() => p.variable.assign(tf.sub(p.variable, tf.mul(g, 0.05))));
    }
    params.forEach((p, i) => {
      assert.notDeepEqual(p.variable.dataSync(), before[i], `${p.name} changed`);
    });
    const after = tf.tidy(() => loss().dataSync()[0]);
    assert.ok(after < value.dataSync()[0], `loss ${value.dataSync()[0]} -> ${after}`);
    tf.dispose([x, target, value, ...Object.values(grads)]);
    m.dispose();
  });

  it('no tensor leaks: two forward + backward passes in tidy leave the tensor count unchanged', (t) => {
    const why = missingFilterGrad();
    if (why) return void t.skip(why);
    const m = new ResNet('resnet-micro', resnetConfig('resnet-micro', { imageSize: 16, stem: 'imagenet' }), 5);
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 13) as tf.Tensor4D;
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.square(m.apply(x, true))) as tf.Scalar,
          m.trainableParams().map((p) => p.variable),
        );
        value.dataSync();
        Object.values(grads).forEach((g) => {
          g.dataSync();
        });
      });
    step();
    const n0 = tf.memory().numTensors;
    step();
    step();
    assert.equal(tf.memory().numTensors, n0);
    tf.dispose(x);
    m.dispose();
  });

  it('recomputed blocks (gradient checkpointing) give the same gradients and move BN statistics once', async (t) => {
    const why = missingFilterGrad();
    if (why) return void t.skip(why);
    const { setRecompute } = await import('../engine/ops/checkpoint.ts');
    const run = (recompute: boolean) => {
      setRecompute(recompute);
      try {
        const m = new ResNet('resnet-micro', resnetConfig('resnet-micro', { imageSize: 8 }), 6);
        const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 14) as tf.Tensor4D;
        const r = tf.randomNormal([2, 256], 0, 1, 'float32', 15);
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(m.apply(x, true), r)) as tf.Scalar,
          m.trainableParams().map((p) => p.variable),
        );
        const out = {
          loss: value.dataSync()[0],
          grads: m.trainableParams().map((p) => grads[p.variable.name].dataSync().slice()),
          running: m.blocks[1].bn2.runningMean.variable.dataSync().slice(),
          tracked: m.blocks[1].bn2.numBatchesTracked,
        };
        tf.dispose([x, r, value, ...Object.values(grads)]);
        m.dispose();
        return out;
      } finally {
        setRecompute(false);
      }
    };
    const plain = run(false);
    const ckpt = run(true);
    assert.ok(Math.abs(plain.loss - ckpt.loss) < 1e-4);
    plain.grads.forEach((g, i) => {
      assertClose(ckpt.grads[i], g, 1e-4, 1e-3, `grad ${i}`);
    });
    assertClose(ckpt.running, plain.running, 1e-7, 0, 'running mean updated exactly once');
    assert.equal(ckpt.tracked, 1);
  });

  it('saves torchvision-named safetensors and loads them into another seed exactly', async () => {
    const a = new ResNet('resnet-micro', resnetConfig('resnet-micro'), 7);
    const b = new ResNet('resnet-micro', resnetConfig('resnet-micro'), 8);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 16) as tf.Tensor4D;
    a.apply(x, true).dispose(); // move the running statistics off their init
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'resnet-')), 'w.safetensors');
    await saveWeights(a, file);
    loadWeights(b, file);
    assert.equal(b.bn1.numBatchesTracked, 1);
    assertClose(b.apply(x, false).dataSync(), a.apply(x, false).dataSync(), 0, 0, 'same features');
    fs.rmSync(path.dirname(file), { recursive: true });
    tf.dispose(x);
    a.dispose();
    b.dispose();
  });
});
