import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { VisionTransformer } from '../backbones/vit/vit.ts';
import { vitConfig } from '../backbones/vit/config.ts';
import { loadWeights, saveWeights, stateDict } from '../engine/weights.ts';
import { readSafetensors, writeSafetensors, type StTensor } from '../engine/safetensors.ts';
import { assertClose, useBackend } from './helpers/backend.ts';

before(async () => useBackend('wasm'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-weights-'));

/**
 * An independent ViT forward pass in float64 plain JS that reads PyTorch-layout tensors the way
 * timm does: conv weight [D, C, p, p] over NCHW, Linear y = x W^T + b with W [out, in], fused
 * qkv [3D, D] split into q, k, v in that order, pre-norm blocks, final norm, [CLS] output.
 */
function torchReferenceVit(
  sd: Map<string, StTensor>,
  imgNCHW: Float64Array,
  size: number,
  p: number,
  depth: number,
  heads: number,
): number[] {
  const W = (n: string) => {
    const t = sd.get(n);
    if (!t) throw new Error(`missing ${n}`);
    return Array.from(t.data as Float32Array);
  };
  const D = sd.get('cls_token')!.shape[2];
  const g = size / p;
  const linear = (x: number[][], w: number[], b: number[] | null, out: number) =>
    x.map((row) => Array.from({ length: out }, (_, o) => row.reduce((s, v, i) => s + v * w[o * row.length + i], b ? b[o] : 0)));
  const ln = (x: number[][], w: number[], b: number[]) =>
    x.map((row) => {
      const m = row.reduce((s, v) => s + v, 0) / row.length;
      const v = row.reduce((s, a) => s + (a - m) ** 2, 0) / row.length;
      return row.map((a, i) => ((a - m) / Math.sqrt(v + 1e-6)) * w[i] + b[i]);
    });
  const erf = (z: number) => {
    let sum = 0,
      term = z;
    for (let n = 0; n < 80; n++) {
      sum += term / (2 * n + 1);
      term *= (-z * z) / (n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  // patch conv
  const pw = W('patch_embed.proj.weight'),
    pb = W('patch_embed.proj.bias');
  const tokens: number[][] = [];
  for (let gy = 0; gy < g; gy++)
    for (let gx = 0; gx < g; gx++) {
      tokens.push(
        Array.from({ length: D }, (_, o) => {
          let s = pb[o];
          for (let c = 0; c < 3; c++)
            for (let dy = 0; dy < p; dy++)
              for (let dx = 0; dx < p; dx++) {
                s += pw[((o * 3 + c) * p + dy) * p + dx] * imgNCHW[(c * size + gy * p + dy) * size + gx * p + dx];
              }
          return s;
        }),
      );
    }
  let x = [W('cls_token'), ...tokens];
  const pos = W('pos_embed');
  x = x.map((row, t) => row.map((v, i) => v + pos[t * D + i]));
  const T = x.length,
    dh = D / heads;
  for (let b = 0; b < depth; b++) {
    const pre = `blocks.${b}.`;
    const h = ln(x, W(`${pre}norm1.weight`), W(`${pre}norm1.bias`));
    const qkv = linear(h, W(`${pre}attn.qkv.weight`), W(`${pre}attn.qkv.bias`), 3 * D);
    const att: number[][] = Array.from({ length: T }, () => new Array(D).fill(0));
    for (let hh = 0; hh < heads; hh++)
      for (let i = 0; i < T; i++) {
        const s = Array.from({ length: T }, (_, j) => {
          let dot = 0;
          for (let c = 0; c < dh; c++) dot += qkv[i][hh * dh + c] * qkv[j][D + hh * dh + c];
          return dot / Math.sqrt(dh);
        });
        const mx = Math.max(...s);
        const e = s.map((v) => Math.exp(v - mx));
        const z = e.reduce((a, c) => a + c, 0);
        for (let c = 0; c < dh; c++) att[i][hh * dh + c] = e.reduce((a, w, j) => a + (w / z) * qkv[j][2 * D + hh * dh + c], 0);
      }
    const proj = linear(att, W(`${pre}attn.proj.weight`), W(`${pre}attn.proj.bias`), D);
    x = x.map((row, t) => row.map((v, i) => v + proj[t][i]));
    const h2 = ln(x, W(`${pre}norm2.weight`), W(`${pre}norm2.bias`));
    const f1 = linear(h2, W(`${pre}mlp.fc1.weight`), W(`${pre}mlp.fc1.bias`), 4 * D).map((r) =>
      r.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
    );
    const f2 = linear(f1, W(`${pre}mlp.fc2.weight`), W(`${pre}mlp.fc2.bias`), D);
    x = x.map((row, t) => row.map((v, i) => v + f2[t][i]));
  }
  return ln(x, W('norm.weight'), W('norm.bias'))[0];
}

describe('weights as a PyTorch state dict', () => {
  it('uses timm names and PyTorch layouts', async () => {
    const m = new VisionTransformer('vit-micro', vitConfig('vit-micro'), 0);
    const sd = await stateDict(m);
    const shape = (n: string) => sd.get(n)?.shape;
    assert.deepEqual(shape('cls_token'), [1, 1, 64]);
    assert.deepEqual(shape('pos_embed'), [1, 65, 64]);
    assert.deepEqual(shape('patch_embed.proj.weight'), [64, 3, 4, 4]);
    assert.deepEqual(shape('blocks.0.attn.qkv.weight'), [192, 64]);
    assert.deepEqual(shape('blocks.0.attn.qkv.bias'), [192]);
    assert.deepEqual(shape('blocks.1.mlp.fc1.weight'), [256, 64]);
    assert.deepEqual(shape('blocks.1.mlp.fc2.weight'), [64, 256]);
    assert.deepEqual(shape('blocks.1.norm1.weight'), [64]);
    assert.deepEqual(shape('norm.weight'), [64]);
    assert.equal([...sd.keys()].filter((k) => k.includes('.attn.q.')).length, 0, 'no engine-internal names leak');
    m.dispose();
  });

  it('an exported model computes the same features in an independent PyTorch-layout reference', async () => {
    const size = 8,
      p = 4;
    const m = new VisionTransformer('vit-micro', vitConfig('vit-micro', { imageSize: size }), 11);
    // make biases and norms non-trivial so that their layout is tested too
    for (const prm of m.allParams())
      if (prm.name.endsWith('bias') || prm.name.includes('norm'))
        prm.variable.assign(tf.randomNormal(prm.shape, 0.5, 0.3, 'float32', prm.size));
    const nchw = Float64Array.from({ length: 3 * size * size }, (_, i) => Math.sin(i * 0.37) + 0.1 * (i % 5));
    const x = tf.transpose(tf.tensor4d(Float32Array.from(nchw), [1, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D;
    const ours = m.apply(x, false).dataSync();
    const file = path.join(tmp, 'ref.safetensors');
    await saveWeights(m, file);
    const ref = torchReferenceVit(readSafetensors(file).tensors, nchw, size, p, 2, 2);
    assertClose(ours, ref, 1e-4, 1e-3, 'features');
    m.dispose();
  });

  it('save then load into a differently seeded model is bit-exact and gives identical features', async () => {
    const a = new VisionTransformer('vit-bn-micro', vitConfig('vit-bn-micro'), 1);
    const x = tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    a.apply(x, true); // moves BN running statistics away from their init
    const file = path.join(tmp, 'a.safetensors');
    await saveWeights(a, file, { note: 'test' });
    const b = new VisionTransformer('vit-bn-micro', vitConfig('vit-bn-micro'), 2);
    loadWeights(b, file);
    for (const [name, t] of await stateDict(b)) {
      const src = (await stateDict(a)).get(name)!;
      assert.deepEqual(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        Buffer.from(src.data.buffer, src.data.byteOffset, src.data.byteLength),
        name,
      );
    }
    assert.deepEqual(b.apply(x, false).dataSync(), a.apply(x, false).dataSync());
    assert.equal(readSafetensors(file).metadata.note, 'test');
    a.dispose();
    b.dispose();
  });

  it('loading is strict: missing, unexpected and mis-shaped tensors are named', async () => {
    const m = new VisionTransformer('vit-micro', vitConfig('vit-micro'), 0);
    const sd = await stateDict(m);
    const bad = new Map(sd);
    bad.delete('norm.bias');
    bad.set('head.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) });
    bad.set('cls_token', { dtype: 'F32', shape: [1, 64], data: new Float32Array(64) });
    const file = path.join(tmp, 'bad.safetensors');
    writeSafetensors(file, bad);
    assert.throws(
      () => loadWeights(m, file),
      (err: Error) => {
        assert.match(err.message, /bad\.safetensors/);
        assert.match(err.message, /missing tensor 'norm\.bias'/);
        assert.match(err.message, /unexpected tensor 'head\.weight'/);
        assert.match(err.message, /'cls_token' has shape \[1, 64\], the model needs \[1, 1, 64\]/);
        return true;
      },
    );
    m.dispose();
  });
});
