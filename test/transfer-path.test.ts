/**
 * Table 5's transfer path (evaluators/finetune.ts header): the DeiT / timm ViT. Every parameter
 * trains, the patch projection and position embedding included; pre-trained cells start from the
 * loaded weights; random-init cells are from-scratch DeiT ViTs (timm's init); the pre-training
 * build keeps its frozen random projection and sin-cos table.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { Rng } from '../engine/rng.ts';
import type { Param } from '../engine/module.ts';
import { loadWeights, saveWeights } from '../engine/weights.ts';
import { VisionTransformer } from '../backbones/vit/vit.ts';
import { vitConfig } from '../backbones/vit/config.ts';
import { sincosPosEmbed } from '../backbones/vit/pos-embed.ts';
import { timmTruncNormal, torchDefaultUniform } from '../backbones/vit/deit-init.ts';
import type { BackboneOptions } from '../core/config.ts';
import type { ImageSet } from '../data/image-set.ts';
import { makeSynthetic } from '../data/synthetic.ts';
import { FINETUNE_PROTOCOL, finetune, transferBackboneOptions, type FinetuneOptions } from '../evaluators/finetune.ts';
import { FINETUNE_RECIPES } from '../recipes/evaluation.ts';
import { Registry } from '../container/container.ts';
import { parseSuite } from '../kinds/index.ts';
import { suiteKind } from '../kinds/index.ts';
import { useBackend } from './helpers/backend.ts';

const micro = (opts: BackboneOptions, seed: number, imageSize = 16) =>
  new VisionTransformer('vit-micro', vitConfig('vit-micro', { imageSize, ...opts }), seed);
/** What the MoCo v3 pre-training builds (recipes: random patch projection, sin-cos, [CLS]). */
const PRETRAIN: BackboneOptions = { randomPatchProj: true, posEmbed: 'sincos', pooling: 'cls' };

const values = (p: Param) => Array.from(p.variable.dataSync());
const byName = (ps: Param[]) => new Map(ps.map((p) => [p.name, p]));
function stats(a: ArrayLike<number>): { mean: number; std: number; maxAbs: number } {
  let s = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i];
    m = Math.max(m, Math.abs(a[i]));
  }
  const mean = s / a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i] - mean) ** 2;
  return { mean, std: Math.sqrt(v / a.length), maxAbs: m };
}

const small = (over: Partial<FinetuneOptions> = {}): FinetuneOptions => ({
  ...FINETUNE_RECIPES.cifar10,
  epochs: 1,
  batch: 8,
  baseLr: 1e-3,
  lrScaleDivisor: 8,
  warmupEpochs: 0,
  seed: 5,
  viewSize: 16,
  cropFraction: 1,
  evalBatch: 64,
  ...over,
});

let train: ImageSet;
let test: ImageSet;

before(async () => {
  await useBackend('wasm');
  train = makeSynthetic({ count: 8, size: 16, numClasses: 4, seed: 1, name: 'train' });
  test = makeSynthetic({ count: 8, size: 16, numClasses: 4, seed: 2, name: 'test' });
});

describe('the pre-training build is unchanged', () => {
  it('keeps the random patch projection and the sin-cos table frozen, and carries no fine-tuning field', () => {
    const cfg = vitConfig('vit-micro', { imageSize: 16, ...PRETRAIN });
    assert.ok(!('finetune' in cfg), 'no finetune key in a pre-training config');
    assert.ok(!('finetune' in vitConfig('vit-b/16')), 'nor in the defaults');
    const m = new VisionTransformer('vit-micro', cfg, 3);
    const p = byName(m.parameters());
    for (const n of ['patch_embed.proj.weight', 'patch_embed.proj.bias', 'pos_embed']) {
      assert.equal(p.get(n)!.trainable, false, `${n} frozen in pre-training`);
      assert.equal(p.get(n)!.variable.trainable, false, `${n}: its variable is not trainable`);
    }
    assert.deepEqual(values(p.get('pos_embed')!), Array.from(sincosPosEmbed(4, 64, true)));
    const trainable = new Set(m.trainableParams().map((q) => q.name));
    assert.equal(trainable.size, m.parameters().length - 3);
    assert.ok(trainable.has('cls_token') && trainable.has('blocks.0.attn.qkv.weight'));
    m.dispose();
  });

  it('the evaluator refuses it: fine-tuning trains every parameter', async () => {
    const m = micro(PRETRAIN, 3);
    await assert.rejects(finetune(m, train, test, small()), (e: Error) => {
      assert.match(e.message, /are frozen: build the backbone with transferBackboneOptions/);
      for (const n of ['patch_embed.proj.weight', 'patch_embed.proj.bias', 'pos_embed']) assert.ok(e.message.includes(n), n);
      return true;
    });
    m.dispose();
  });
});

describe('pre-trained cells (finetune: pretrained)', () => {
  it('have the pre-training values from the same seed, with nothing frozen', () => {
    const a = micro(PRETRAIN, 9);
    const b = micro({ ...PRETRAIN, ...transferBackboneOptions('pretrained', 0) }, 9);
    assert.deepEqual(
      b.parameters().map((p) => p.name),
      a.parameters().map((p) => p.name),
    );
    assert.equal(b.trainableParams().length, b.parameters().length, 'every parameter trainable');
    assert.ok(b.parameters().every((p) => p.variable.trainable));
    a.parameters().forEach((p, i) => {
      assert.deepEqual(values(b.parameters()[i]), values(p), p.name);
    });
    a.dispose();
    b.dispose();
  });

  it('start from the loaded weights and train every parameter, the patch projection and pos_embed included', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-transfer-'));
    const file = path.join(dir, 'pretrained.safetensors');
    // "pre-trained" weights: a pre-training build whose trainable parameters moved off their init
    const src = micro(PRETRAIN, 21);
    const noise = new Rng(4);
    for (const p of src.trainableParams())
      tf.tidy(() =>
        p.variable.assign(
          tf.add(
            p.variable,
            tf.tensor(
              Float32Array.from({ length: p.size }, () => noise.normal(0, 0.01)),
              p.shape,
            ),
          ),
        ),
      );
    await saveWeights(src, file);
    const loaded = new Map(src.parameters().map((p) => [p.name, values(p)]));
    src.dispose();

    const m = micro({ ...PRETRAIN, ...transferBackboneOptions('pretrained', 0.1) }, 22); // another seed: its own init differs
    const fresh = new Map(m.parameters().map((p) => [p.name, values(p)]));
    assert.notDeepEqual(fresh.get('patch_embed.proj.weight'), loaded.get('patch_embed.proj.weight'));
    loadWeights(m, file);
    for (const p of m.parameters()) assert.deepEqual(values(p), loaded.get(p.name), `${p.name} starts at the loaded value`);
    assert.deepEqual(loaded.get('pos_embed'), Array.from(sincosPosEmbed(4, 64, true)), 'the sin-cos table is the start of pos_embed');

    const tensors = tf.memory().numTensors;
    const r = await finetune(m, train, test, small());
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
    assert.equal(r.curve.length, 1);
    const unchanged = m
      .parameters()
      .filter((p) => values(p).every((v, i) => v === loaded.get(p.name)![i]))
      .map((p) => p.name);
    assert.deepEqual(unchanged, [], 'every backbone parameter moved');
    for (const n of ['patch_embed.proj.weight', 'patch_embed.proj.bias', 'pos_embed']) {
      const p = m.parameters().find((q) => q.name === n)!;
      const moved = values(p).filter((v, i) => v !== loaded.get(n)![i]).length;
      assert.ok(moved > p.size / 2, `${n}: ${moved} of ${p.size} values changed`);
    }
    m.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('random-init cells (finetune: scratch): a from-scratch DeiT ViT', () => {
  it('resolves to learned pos_embed and a learned patch projection; rejects the frozen variants', () => {
    const c = vitConfig('vit-micro', { ...PRETRAIN, ...transferBackboneOptions('random', 0.1) });
    assert.equal(c.posEmbed, 'learned');
    assert.equal(c.randomPatchProj, false);
    assert.equal(c.finetune, 'scratch');
    assert.equal(c.dropPath, 0.1);
    const d = vitConfig('vit-micro', { finetune: 'scratch' });
    assert.equal(d.posEmbed, 'learned');
    assert.equal(d.randomPatchProj, false);
    assert.throws(
      () => vitConfig('vit-micro', { finetune: 'scratch', posEmbed: 'sincos' }),
      /learns its position embedding and patch projection/,
    );
    assert.throws(
      () => vitConfig('vit-micro', { finetune: 'scratch', randomPatchProj: true }),
      /learns its position embedding and patch projection/,
    );
  });

  it("has timm's init: pos_embed and cls_token trunc-normal std .02, PyTorch-default conv projection, Linear trunc-normal .02", () => {
    const m = micro({ ...PRETRAIN, ...transferBackboneOptions('random', 0) }, 13, 32); // 8x8 patches + [CLS]: 65 x 64 pos_embed
    const p = byName(m.parameters());
    assert.equal(m.trainableParams().length, m.parameters().length, 'every parameter trainable');
    const pos = stats(values(p.get('pos_embed')!));
    assert.equal(p.get('pos_embed')!.size, 65 * 64);
    assert.ok(Math.abs(pos.std - 0.02) < 0.001, `pos_embed std ${pos.std}`);
    assert.ok(Math.abs(pos.mean) < 0.001, `pos_embed mean ${pos.mean}`);
    // timm's trunc_normal_ cuts at +-2 absolute: N(0, .02^2) in effect, so values beyond 2 std occur
    assert.ok(pos.maxAbs > 0.045 && pos.maxAbs < 0.12, `pos_embed max |v| ${pos.maxAbs}`);
    const cls = stats(values(p.get('cls_token')!));
    assert.ok(cls.std > 0.012 && cls.std < 0.028, `cls_token std ${cls.std} (MoCo v3's is 1e-6)`);
    const bound = 1 / Math.sqrt(3 * 4 * 4);
    for (const n of ['patch_embed.proj.weight', 'patch_embed.proj.bias']) {
      const s = stats(values(p.get(n)!));
      assert.ok(s.maxAbs <= bound && s.maxAbs > 0.8 * bound, `${n}: max |v| ${s.maxAbs}, bound ${bound}`);
    }
    const w = stats(values(p.get('patch_embed.proj.weight')!));
    assert.ok(Math.abs(w.std - bound / Math.sqrt(3)) < 0.01, `patch_embed.proj.weight std ${w.std} (uniform: ${bound / Math.sqrt(3)})`);
    for (const n of ['blocks.0.attn.qkv.weight', 'blocks.0.attn.proj.weight', 'blocks.1.mlp.fc1.weight', 'blocks.1.mlp.fc2.weight']) {
      const s = stats(values(p.get(n)!));
      assert.ok(Math.abs(s.std - 0.02) < 0.0015, `${n} std ${s.std} (Xavier-uniform would be ~0.1)`);
    }
    for (const n of ['blocks.0.attn.qkv.bias', 'blocks.1.mlp.fc2.bias', 'blocks.0.norm1.bias', 'norm.bias'])
      assert.ok(
        values(p.get(n)!).every((v) => v === 0),
        `${n} zero`,
      );
    for (const n of ['blocks.0.norm1.weight', 'norm.weight'])
      assert.ok(
        values(p.get(n)!).every((v) => v === 1),
        `${n} one`,
      );
    // deterministic per seed
    const again = micro({ ...PRETRAIN, ...transferBackboneOptions('random', 0) }, 13, 32);
    m.parameters().forEach((q, i) => {
      assert.deepEqual(values(again.parameters()[i]), values(q), q.name);
    });
    again.dispose();
    m.dispose();
  });

  it('trains its patch projection and pos_embed', async () => {
    const m = micro({ ...PRETRAIN, ...transferBackboneOptions('random', 0.1) }, 14);
    const before0 = new Map(m.parameters().map((p) => [p.name, values(p)]));
    await finetune(m, train, test, small());
    const unchanged = m
      .parameters()
      .filter((p) => values(p).every((v, i) => v === before0.get(p.name)![i]))
      .map((p) => p.name);
    assert.deepEqual(unchanged, []);
    m.dispose();
  });

  it("timm's truncated normal and PyTorch's default uniform", () => {
    const t = timmTruncNormal(20000, 1, new Rng(1), -1, 1.5);
    assert.ok(t.every((v) => v >= -1 && v <= 1.5));
    const n = stats(timmTruncNormal(20000, 0.02, new Rng(2)));
    assert.ok(Math.abs(n.std - 0.02) < 0.0005, `std ${n.std}`);
    const u = stats(torchDefaultUniform(20000, 16, new Rng(3)));
    assert.ok(u.maxAbs <= 0.25 && u.maxAbs > 0.249 && Math.abs(u.std - 0.25 / Math.sqrt(3)) < 0.003, JSON.stringify(u));
  });
});

describe('the transfer runner (runner/eval-suite.ts)', () => {
  it('builds each cell the DeiT way and keys the cached result by the protocol', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-t5-'));
    const suite = parseSuite(
      {
        name: 't5',
        title: 't',
        reference: 'Table 5',
        kind: 'transfer',
        layout: 'matrix',
        scale: {
          smoke: {
            data: { trainCount: 32, testCount: 16 },
            optimizer: { batch: 16, epochs: 1, warmupEpochs: 0 },
            monitor: { every: 100, queries: 16 },
          },
        },
        cells: [
          {
            id: 'random / C10',
            row: 'random init.',
            column: 'C10',
            init: 'random',
            recipe: 'mocov3-vit',
            config: { backbone: { name: 'vit-b/16' } },
            transfer: { dataset: 'cifar10' },
            scaled: { smoke: { transfer: { trainCount: 16, testCount: 8 } } },
          },
          {
            id: 'moco / C10',
            row: 'MoCo v3',
            column: 'C10',
            recipe: 'mocov3-vit',
            config: { backbone: { name: 'vit-b/16' } },
            transfer: { dataset: 'cifar10' },
            scaled: { smoke: { transfer: { trainCount: 16, testCount: 8 } } },
          },
        ],
      },
      'inline',
    );
    const o = {
      preset: 'smoke',
      resultsDir: path.join(dir, 'results'),
      runsDir: path.join(dir, 'runs'),
      registry: new Registry(),
      quiet: true,
      log: () => {},
    };
    const first = await (async () => {
      const lines: string[] = [];
      await suiteKind(suite).run(suite, { ...o, log: (l: string) => lines.push(l) });
      return lines;
    })();
    assert.ok(
      first.some((l) => /fine-tuning on cifar10/.test(l)),
      first.join('\n'),
    );
    const files = fs
      .readdirSync(o.runsDir, { recursive: true })
      .map(String)
      .filter((f) => /finetune-cifar10-[0-9a-f]{12}\.json$/.test(f));
    assert.equal(files.length, 2, files.join(', '));
    const outs = files.map(
      (f) => JSON.parse(fs.readFileSync(path.join(o.runsDir, f), 'utf8')) as { protocol: number; build: BackboneOptions },
    );
    assert.ok(outs.every((x) => x.protocol === FINETUNE_PROTOCOL));
    assert.deepEqual(outs.map((x) => x.build.finetune).sort(), ['pretrained', 'scratch']);
    assert.deepEqual(outs.find((x) => x.build.finetune === 'scratch')!.build, {
      dropPath: 0.1,
      finetune: 'scratch',
      posEmbed: 'learned',
      randomPatchProj: false,
    });
    // a second run reuses both results
    const lines: string[] = [];
    await suiteKind(suite).run(suite, { ...o, log: (l: string) => lines.push(l) });
    assert.equal(lines.filter((l) => /fine-tuning finished earlier/.test(l)).length, 2);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
