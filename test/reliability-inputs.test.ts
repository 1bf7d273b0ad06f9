/**
 * Fault probes 5 and 6 of the reliability work: sizes refused before allocation (with the estimate
 * and the limit), checkpoint indexes and tensor files that are wrong in small ways (each error names
 * the file and what is wrong), non-finite features reported, others' checkpoints loaded with a
 * prefix and without their classifier head.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors, readSafetensors, type StTensor } from '../engine/safetensors.ts';
import { initBackend } from '../engine/backend.ts';
import { Registry } from '../container/container.ts';
import { saveWeights, loadWeights } from '../engine/weights.ts';
import { loadCheckpoint, saveCheckpoint } from '../runner/checkpoint.ts';
import { benchIn } from './helpers/bench-cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-inputs-'));

const bench = benchIn(tmp);

function images(file: string, b: number, side: number, fill: (i: number) => number = () => 0.1): string {
  const data = new Float32Array(b * 3 * side * side).map((_, i) => fill(i));
  writeSafetensors(file, new Map([['images', { dtype: 'F32', shape: [b, 3, side, side], data }]]));
  return file;
}

describe('sizes are checked before allocation', () => {
  it('a view size that cannot fit: refused with the estimate and the limit, before training', () => {
    const r = bench('run', 'smoke', '--set', 'data.viewSize=20000', '--runs', path.join(tmp, 'runs'), '--results', path.join(tmp, 'res'));
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /config: 64 views of 20000 px \(optimizer\.batch 32, data\.viewSize 20000\): needs at least [\d.]+ GiB \(views: [\d.]+ GiB; /,
    );
    assert.match(r.err, /more than the wasm backend's 4 GiB heap/);
    assert.equal(fs.existsSync(path.join(tmp, 'res')), false);
  });

  it('bench embed of a 512 px image on a patch-4 ViT: refused, naming the batch and the estimate', () => {
    const input = images(path.join(tmp, 'big.safetensors'), 1, 512);
    const r = bench('embed', '--backbone', 'vit-micro/4', '--input', input, '--out', path.join(tmp, 'f.safetensors'), '--backend', 'wasm');
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /bench embed: vit-micro\/4 on 1 image\(s\) of 512x512 per pass \(--batch 64\): needs at least [\d.]+ GiB .*more than the wasm backend's 4 GiB heap/,
    );
    assert.equal(fs.existsSync(path.join(tmp, 'f.safetensors')), false);
  });

  it('bench embed warns about non-finite features, naming the images', () => {
    const input = images(path.join(tmp, 'nan.safetensors'), 3, 16, (i) => (i >= 3 * 16 * 16 && i < 2 * 3 * 16 * 16 ? Number.NaN : 0.1));
    const r = bench(
      'embed',
      '--backbone',
      'vit-micro/4',
      '--input',
      input,
      '--out',
      path.join(tmp, 'nan-f.safetensors'),
      '--backend',
      'cpu',
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: 1 of 3 feature rows hold NaN or infinite values \(images 1\)/);
  });
});

describe("others' checkpoints", () => {
  it('--prefix strips module.base_encoder.; --ignore-head leaves out head.*; a wrong prefix is an error showing the names', async () => {
    await initBackend('cpu');
    const reg = new Registry();
    const src = reg.backbone('vit-micro/4').build('vit-micro/4', { imageSize: 16 }, 7);
    const plain = path.join(tmp, 'plain.safetensors');
    await saveWeights(src, plain);
    const st = readSafetensors(plain);
    const moco = new Map<string, StTensor>();
    for (const [n, t] of st.tensors) {
      moco.set(`module.base_encoder.${n}`, t);
      moco.set(`module.momentum_encoder.${n}`, t);
    }
    moco.set('module.base_encoder.head.weight', { dtype: 'F32', shape: [10, 64], data: new Float32Array(640) });
    const file = path.join(tmp, 'moco.safetensors');
    writeSafetensors(file, moco);
    const dst = reg.backbone('vit-micro/4').build('vit-micro/4', { imageSize: 16 }, 8);
    assert.throws(() => loadWeights(dst, file, { prefix: 'module.base_encoder.' }), /unexpected tensor 'head\.weight'/);
    loadWeights(dst, file, { prefix: 'module.base_encoder.', ignoreHead: true });
    assert.deepEqual(await dst.torchEntries()[0].read(), await src.torchEntries()[0].read());
    assert.throws(
      () => loadWeights(dst, file, { prefix: 'encoder.' }),
      /no tensor name starts with the prefix 'encoder\.' \(names look like: module\./,
    );
    const r = bench(
      'embed',
      '--backbone',
      'vit-micro/4',
      '--input',
      images(path.join(tmp, 'small.safetensors'), 2, 16),
      '--out',
      path.join(tmp, 'o.safetensors'),
      '--weights',
      file,
      '--prefix',
      'module.base_encoder.',
      '--ignore-head',
      '--backend',
      'cpu',
    );
    assert.equal(r.code, 0, r.err);
  });

  it('a fractional counter (num_batches_tracked) is an error naming the tensor', async () => {
    await initBackend('cpu');
    const reg = new Registry();
    const m = reg.backbone('resnet-micro').build('resnet-micro', { imageSize: 16 }, 1);
    const file = path.join(tmp, 'r.safetensors');
    await saveWeights(m, file);
    const st = readSafetensors(file);
    const counter = [...st.tensors.keys()].find((n) => n.endsWith('num_batches_tracked'))!;
    st.tensors.set(counter, { dtype: 'F32', shape: [], data: new Float32Array([1.5]) });
    writeSafetensors(file, st.tensors);
    assert.throws(
      () => loadWeights(m, file),
      new RegExp(`tensor '${counter.replace(/\./g, '\\.')}' is a counter \\(integers\\), but holds 1\\.5 \\(F32\\)`),
    );
  });
});

describe('checkpoint indexes', () => {
  it('an empty index, a file outside the folder, a missing file: each an error naming the index and the fix', async () => {
    await initBackend('cpu');
    const reg = new Registry();
    const m = reg.backbone('vit-micro/4').build('vit-micro/4', { imageSize: 16 }, 1);
    const dir = path.join(tmp, 'ckpt');
    await saveCheckpoint(dir, 4, { backbone: m }, {}, {});
    const index = path.join(dir, 'checkpoint.json');
    const good = fs.readFileSync(index, 'utf8');
    const load = () => loadCheckpoint(dir, { backbone: m }, {});
    fs.writeFileSync(index, '{}');
    assert.throws(
      load,
      new RegExp(
        `${index}: bad checkpoint index: iter: undefined is not an iteration count; file: undefined is not a file name; scalars: missing`,
      ),
    );
    fs.writeFileSync(index, JSON.stringify({ ...JSON.parse(good), file: '../../etc/passwd' }));
    assert.throws(load, /file: '\.\.\/\.\.\/etc\/passwd' is not a checkpoint of this folder/);
    fs.writeFileSync(index, JSON.stringify({ ...JSON.parse(good), file: 'ckpt-9.safetensors' }));
    assert.throws(load, new RegExp(`${index}: names ckpt-9\\.safetensors, which is missing from the run folder; delete checkpoint\\.json`));
    fs.writeFileSync(index, good);
    assert.equal(load()?.iter, 4);
  });

  it('a checkpoint past the end of the run is refused', () => {
    const runs = path.join(tmp, 'past');
    assert.equal(bench('run', 'smoke', '--runs', runs, '--results', path.join(tmp, 'past-res'), '--quiet').code, 0);
    const runDir = path.join(runs, 'smoke', fs.readdirSync(path.join(runs, 'smoke')).find((f) => f !== 'baselines')!);
    fs.rmSync(path.join(runDir, 'result.json'));
    const index = path.join(runDir, 'checkpoint.json');
    fs.writeFileSync(index, JSON.stringify({ ...JSON.parse(fs.readFileSync(index, 'utf8')), iter: 999 }));
    const r = bench('run', 'smoke', '--runs', runs, '--results', path.join(tmp, 'past-res'), '--quiet');
    assert.equal(r.code, 1);
    assert.match(r.err, /checkpoint\.json: checkpoint at iteration 999, but this run has 16; it belongs to another config/);
  });
});
