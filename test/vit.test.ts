import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { sincosPosEmbed } from '../backbones/vit/pos-embed.ts';
import { VisionTransformer } from '../backbones/vit/vit.ts';
import { vitConfig } from '../backbones/vit/config.ts';
import { vitMacs, vitParamCount } from '../backbones/vit/count.ts';
import { patchify } from '../backbones/vit/patch-embed.ts';
import { multiHeadAttention } from '../engine/ops/attention.ts';
import { traceMacs } from '../engine/flops.ts';
import { Registry } from '../container/container.ts';
import { assertClose, useBackend } from './helpers/backend.ts';

before(async () => useBackend('wasm'));

describe('2-D sin-cos position embedding', () => {
  it('matches the formula at chosen tokens and channels, [CLS] row all zeros', () => {
    const grid = 14;
    const dim = 768;
    const pe = sincosPosEmbed(grid, dim, true);
    assert.equal(pe.length, (grid * grid + 1) * dim);
    assert.ok(
      pe.subarray(0, dim).every((v) => v === 0),
      '[CLS] position embedding must be zero',
    );
    const posDim = dim / 4;
    for (const [k, d] of [
      [0, 0],
      [1, 3],
      [15, 100],
      [37, 191],
      [195, 57],
    ]) {
      const row = Math.floor(k / grid);
      const col = k % grid;
      const omega = 1 / 10000 ** (d / posDim);
      const at = (block: number) => pe[(k + 1) * dim + block * posDim + d];
      assert.ok(Math.abs(at(0) - Math.sin(row * omega)) < 1e-6, `sin(row) at token ${k}, d ${d}`);
      assert.ok(Math.abs(at(1) - Math.cos(row * omega)) < 1e-6, `cos(row) at token ${k}, d ${d}`);
      assert.ok(Math.abs(at(2) - Math.sin(col * omega)) < 1e-6, `sin(col) at token ${k}, d ${d}`);
      assert.ok(Math.abs(at(3) - Math.cos(col * omega)) < 1e-6, `cos(col) at token ${k}, d ${d}`);
    }
    // token 15 is row 1, col 1: its row and col blocks are equal
    assert.equal(pe[16 * dim + 0], pe[16 * dim + 2 * posDim]);
  });

  it('without [CLS] starts with token 0 and rejects dim not divisible by 4', () => {
    const pe = sincosPosEmbed(2, 8, false);
    assert.deepEqual(Array.from(pe.subarray(0, 8)), [0, 0, 1, 1, 0, 0, 1, 1]);
    assert.throws(() => sincosPosEmbed(2, 6, false), /divisible by 4/);
  });
});

describe('ViT init', () => {
  it('has the init statistics of MoCo v3 vits.py per tensor', () => {
    const m = new VisionTransformer('vit-tiny', vitConfig('vit-tiny'), 3);
    const byName = new Map(m.allParams().map((p) => [p.name, p]));
    const stats = (name: string) => {
      const v = byName.get(name)!.variable.dataSync();
      let s = 0,
        s2 = 0,
        mx = 0;
      for (const x of v) {
        s += x;
        s2 += x * x;
        mx = Math.max(mx, Math.abs(x));
      }
      return { mean: s / v.length, std: Math.sqrt(s2 / v.length - (s / v.length) ** 2), max: mx, n: v.length };
    };
    const d = 192;
    const uniform = (name: string, fanIn: number, fanOut: number) => {
      const a = Math.sqrt(6 / (fanIn + fanOut));
      const st = stats(name);
      assert.ok(st.max <= a && st.max > 0.95 * a, `${name}: max |w| ${st.max} vs bound ${a}`);
      assert.ok(Math.abs(st.std - a / Math.sqrt(3)) < 0.03 * a, `${name}: std ${st.std} vs ${a / Math.sqrt(3)}`);
      assert.ok(Math.abs(st.mean) < 0.02 * a, `${name}: mean ${st.mean}`);
    };
    // qkv [D, 3D]: the whole matrix has the bound of one D x D matrix (q, k, v initialised as three),
    // not that of a D x 3D one, and each third on its own too
    uniform('blocks.0.attn.qkv.weight', d, d);
    const qkv = byName.get('blocks.0.attn.qkv.weight')!.variable;
    for (let j = 0; j < 3; j++) {
      const t = tf.slice(qkv, [0, j * d], [d, d]);
      const mx = Array.from(t.dataSync()).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      t.dispose();
      assert.ok(mx <= Math.sqrt(6 / (2 * d)) && mx > 0.95 * Math.sqrt(6 / (2 * d)), `qkv third ${j}: max ${mx}`);
    }
    uniform('blocks.2.attn.proj.weight', d, d);
    uniform('blocks.5.mlp.fc1.weight', d, 4 * d);
    uniform('blocks.5.mlp.fc2.weight', 4 * d, d);
    uniform('patch_embed.proj.weight', 3 * 4 * 4, d);
    for (const bias of ['blocks.0.attn.qkv.bias', 'blocks.1.mlp.fc1.bias', 'patch_embed.proj.bias', 'norm.bias', 'blocks.3.norm1.bias']) {
      assert.equal(stats(bias).max, 0, `${bias} must start at 0`);
    }
    for (const w of ['norm.weight', 'blocks.3.norm2.weight'])
      assert.ok(
        byName
          .get(w)!
          .variable.dataSync()
          .every((x) => x === 1),
        `${w} = 1`,
      );
    const cls = stats('cls_token');
    assert.ok(cls.max > 0 && cls.max < 1e-5 && cls.std > 0.5e-6 && cls.std < 2e-6, `cls_token ~ N(0, 1e-6): std ${cls.std}`);
    const pos = byName.get('pos_embed')!;
    assert.equal(pos.trainable, false, 'sin-cos position embedding is fixed');
    assertClose(pos.variable.dataSync(), sincosPosEmbed(8, d, true), 0, 0, 'pos_embed');
    m.dispose();
  });

  it('is deterministic from the seed', () => {
    const a = new VisionTransformer('vit-micro', vitConfig('vit-micro'), 5);
    const b = new VisionTransformer('vit-micro', vitConfig('vit-micro'), 5);
    const c = new VisionTransformer('vit-micro', vitConfig('vit-micro'), 6);
    const w = (m: VisionTransformer) => m.blocks[0].mlp.fc1.weight.variable.dataSync();
    assert.deepEqual(w(a), w(b));
    assert.notDeepEqual(w(a), w(c));
    [a, b, c].forEach((m) => {
      m.dispose();
    });
  });
});

describe('attention', () => {
  it('matches a naive per-head loop implementation', () => {
    const [B, T, D, H] = [2, 5, 8, 2];
    const q = tf.randomNormal([B, T, D], 0, 1, 'float32', 1);
    const k = tf.randomNormal([B, T, D], 0, 1, 'float32', 2);
    const v = tf.randomNormal([B, T, D], 0, 1, 'float32', 3);
    const out = multiHeadAttention(q, k, v, H).dataSync();
    const [qa, ka, va] = [q, k, v].map((t) => t.dataSync());
    const dh = D / H;
    const at = (a: ArrayLike<number>, b: number, t: number, c: number) => a[(b * T + t) * D + c];
    const expected = new Float64Array(B * T * D);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++) {
          const s: number[] = [];
          for (let j = 0; j < T; j++) {
            let dot = 0;
            for (let c = 0; c < dh; c++) dot += at(qa, b, i, h * dh + c) * at(ka, b, j, h * dh + c);
            s.push(dot / Math.sqrt(dh));
          }
          const mx = Math.max(...s);
          const e = s.map((x) => Math.exp(x - mx));
          const z = e.reduce((x, y) => x + y, 0);
          for (let c = 0; c < dh; c++) {
            let acc = 0;
            for (let j = 0; j < T; j++) acc += (e[j] / z) * at(va, b, j, h * dh + c);
            expected[(b * T + i) * D + h * dh + c] = acc;
          }
        }
    assertClose(out, expected, 1e-5, 1e-4, 'attention');
  });
});

describe('patch embedding', () => {
  it('patchify flattens each patch in (channel, row, col) order like a PyTorch conv weight', () => {
    const [B, S, C, p] = [1, 4, 3, 2];
    const x = tf.tensor4d(
      Array.from({ length: B * S * S * C }, (_, i) => i),
      [B, S, S, C],
    );
    const patches = patchify(x, p).arraySync()[0];
    // patch 1 = grid row 0, col 1; element (c, dy, dx) = x[0, dy, 2 + dx, c]
    for (let c = 0; c < C; c++)
      for (let dy = 0; dy < p; dy++)
        for (let dx = 0; dx < p; dx++) {
          assert.equal(patches[1][c * p * p + dy * p + dx], (dy * S + 2 + dx) * C + c);
        }
  });
});

describe('random patch projection', () => {
  it('the frozen patch projection gets no gradient and no update; every other trainable param does', () => {
    const m = new VisionTransformer('vit-micro', vitConfig('vit-micro'), 1);
    const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const frozen = m.patchEmbed.proj.weight;
    assert.equal(frozen.trainable, false);
    assert.ok(!m.trainableParams().includes(frozen));
    const before = frozen.variable.dataSync().slice();
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(m.apply(x, true))) as tf.Scalar);
    assert.ok(!(frozen.variable.name in grads), 'no gradient for the frozen projection');
    for (const p of m.trainableParams()) {
      const g = grads[p.variable.name];
      assert.ok(g, `${p.name} has a gradient`);
    }
    // an SGD step over everything that got a gradient leaves the projection untouched
    for (const p of m.allParams()) {
      const g = grads[p.variable.name];
      if (g) p.variable.assign(tf.sub(p.variable, tf.mul(g, 0.1)));
    }
    assert.deepEqual(frozen.variable.dataSync(), before);
    const learned = new VisionTransformer('vit-micro', vitConfig('vit-micro', { randomPatchProj: false }), 1);
    assert.ok(learned.trainableParams().includes(learned.patchEmbed.proj.weight));
    m.dispose();
    learned.dispose();
  });
});

describe('ViT forward shapes', () => {
  const cases: [string, number, Record<string, unknown>, number][] = [
    ['vit-micro/16', 224, {}, 197],
    ['vit-micro/14', 224, {}, 257],
    ['vit-micro/7', 224, {}, 1025],
    ['vit-micro/16', 64, { pooling: 'gap-ln' }, 16],
    ['vit-micro/16', 64, { pooling: 'gap', posEmbed: 'learned' }, 16],
    ['vit-bn-micro/8', 64, { posEmbed: 'none' }, 65],
  ];
  for (const [name, size, opts, tokens] of cases) {
    it(`${name} at ${size}px ${JSON.stringify(opts)} -> [B, D]`, () => {
      const cfg = vitConfig(name, { imageSize: size, ...opts });
      const m = new VisionTransformer(name, cfg, 0);
      const y = tf.tidy(() => m.apply(tf.randomUniform([2, size, size, 3]) as tf.Tensor4D, true));
      assert.deepEqual(y.shape, [2, 64]);
      assert.ok(y.dataSync().every(Number.isFinite));
      if (cfg.posEmbed !== 'none') assert.deepEqual(m.posEmbed!.shape, [1, tokens, 64]);
      assert.equal(m.numParameters(), vitParamCount(cfg), 'analytic parameter count = built model');
      const macs = traceMacs(() => tf.tidy(() => void m.apply(tf.zeros([1, size, size, 3]) as tf.Tensor4D, false)));
      assert.equal(macs, vitMacs(cfg), 'analytic multiply-adds = traced forward');
      y.dispose();
      m.dispose();
    });
  }

  it('ViT-BN replaces the MLP-side LayerNorm with BatchNorm only', () => {
    const m = new VisionTransformer('vit-bn-micro', vitConfig('vit-bn-micro'), 0);
    const names = m.torchEntries().map((e) => e.name);
    assert.ok(names.includes('blocks.0.norm2.running_mean'));
    assert.ok(!names.includes('blocks.0.norm1.running_mean'));
    m.dispose();
  });

  it('rejects an input that is not square or not whole patches, and a patch size that does not divide the image', () => {
    const m = new VisionTransformer('vit-micro', vitConfig('vit-micro'), 0);
    const p = m.config.patchSize;
    assert.throws(() => m.apply(tf.zeros([1, 32 - p, 32, 3]) as tf.Tensor4D, false), /expects square images/);
    assert.throws(() => m.apply(tf.zeros([1, 31, 31, 3]) as tf.Tensor4D, false), /expects 32x32 images, got 31x31: not a whole number/);
    assert.throws(() => vitConfig('vit-micro/5'), /not a multiple of patch size 5/);
    m.dispose();
  });

  it("takes smaller square crops (multi-crop's local crops) with the sin-cos table of their grid: as a ViT built at that side", () => {
    const big = new VisionTransformer('vit-micro', vitConfig('vit-micro'), 3);
    const p = big.config.patchSize;
    const side = 32 - p;
    const small = new VisionTransformer('vit-micro', vitConfig('vit-micro', { imageSize: side }), 3);
    const x = tf.randomNormal([2, side, side, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    assertClose(big.apply(x, false).dataSync(), small.apply(x, false).dataSync(), 1e-6, 0, 'same weights, same grid table');
    const learned = new VisionTransformer('vit-micro', vitConfig('vit-micro', { posEmbed: 'learned' }), 3);
    assert.throws(
      () => learned.apply(x, false),
      /expects 32x32 images, got \d+x\d+: another side needs the position embedding at another grid/,
    );
    tf.dispose(x);
    for (const m of [big, small, learned]) m.dispose();
  });
});

describe('Table 2 and Table 3', () => {
  const reg = new Registry();
  const exact: [string, number, number][] = [
    ['vit-s/16', 21_665_664, 4.6],
    ['vit-b/16', 85_798_656, 17.5],
    ['vit-l/16', 303_301_632, 61.3],
    ['vit-h/14', 630_764_800, 166.7],
  ];
  for (const [name, params, gflops] of exact) {
    it(`${name}: ${params} parameters, ${gflops} G multiply-adds within 2 %`, () => {
      const f = reg.backbone(name);
      assert.equal(f.countParams(name), params);
      const g = f.countMacs(name) / 1e9;
      assert.ok(Math.abs(g / gflops - 1) < 0.02, `${g} G vs paper ${gflops} G`);
    });
  }
  it('the paper rounds ViT-L/H counts with a 1000-class head, ViT-S/B without', () => {
    const m = (name: string, d: number, head: boolean) =>
      Math.round((reg.backbone(name).countParams(name) + (head ? d * 1000 + 1000 : 0)) / 1e6);
    assert.equal(m('vit-s/16', 384, false), 22);
    assert.equal(m('vit-b/16', 768, false), 86);
    assert.equal(m('vit-l/16', 1024, true), 304);
    assert.equal(m('vit-h/14', 1280, true), 632);
  });
});

describe('gradient checkpointing', () => {
  it('recomputed blocks give the same loss and gradients, and BatchNorm statistics move once', async () => {
    const { setRecompute } = await import('../engine/ops/checkpoint.ts');
    const run = (recompute: boolean) => {
      setRecompute(recompute);
      try {
        const m = new VisionTransformer('vit-bn-micro', vitConfig('vit-bn-micro'), 4);
        const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
        const r = tf.randomNormal([4, 64], 0, 1, 'float32', 6);
        const vars = m.trainableParams().map((p) => p.variable);
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(m.apply(x, true), r)) as tf.Scalar, vars);
        const out = {
          loss: value.dataSync()[0],
          grads: m.trainableParams().map((p) => grads[p.variable.name].dataSync().slice()),
          running: (m.blocks[1].norm2 as unknown as { runningMean: { variable: tf.Variable } }).runningMean.variable.dataSync().slice(),
        };
        m.dispose();
        return out;
      } finally {
        setRecompute(false);
      }
    };
    const plain = run(false);
    const ckpt = run(true);
    assert.ok(Math.abs(plain.loss - ckpt.loss) < 1e-5);
    plain.grads.forEach((g, i) => {
      assertClose(ckpt.grads[i], g, 1e-5, 1e-4, `grad ${i}`);
    });
    assertClose(ckpt.running, plain.running, 1e-7, 0, 'running mean updated exactly once');
  });
});
