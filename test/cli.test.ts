import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSafetensors, writeSafetensors } from '../engine/safetensors.ts';
import { initBackend } from '../engine/backend.ts';
import { Registry } from '../container/container.ts';
import { parseSuite } from '../kinds/index.ts';
import { loadSuite } from '../kinds/index.ts';
import { tf } from '../engine/tf.ts';
import { loadWeights } from '../engine/weights.ts';
import { benchIn } from './helpers/bench-cli.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-cli-'));

const bench = benchIn(tmp);

describe('bench CLI', () => {
  it('run table2 / table3 print the tables and write md + csv + json under --results', () => {
    const dir = path.join(tmp, 'res');
    for (const suite of ['table2', 'table3']) {
      const r = bench('run', suite, '--results', dir);
      assert.equal(r.code, 0, r.err);
      for (const ext of ['md', 'csv', 'json']) assert.ok(fs.existsSync(path.join(dir, `${suite}.${ext}`)), `${suite}.${ext}`);
    }
    const md2 = fs.readFileSync(path.join(dir, 'table2.md'), 'utf8');
    assert.match(md2, /21,665,664/);
    assert.match(md2, /630,764,800/);
    const csv3 = fs.readFileSync(path.join(dir, 'table3.csv'), 'utf8').trim().split('\n');
    assert.equal(csv3.length, 6);
    // CSV for machines: snake_case headers, plain numbers, marks in their own column
    assert.match(csv3[0], /^model,paper_flops_g,paper_flops_g_mark,flops_g,/);
    assert.match(csv3[2], /^ViT-B\/16,17\.5,,17\.56,/);
    assert.match(csv3[5], /^R-50,4\.1,torchvision,4\.09,/);
    const csv2 = fs.readFileSync(path.join(dir, 'table2.csv'), 'utf8');
    assert.match(csv2, /^model,backbone,blocks,dim,heads,mlp,paper_params_m,params,params_m,params_head_m\n/);
    assert.match(csv2, /\nViT-Huge,vit-h\/14,32,1280,16,5120,632,630764800,630\.8,632\n/);
  });

  it('run smoke pre-trains, writes table + curves + weights, and skips the finished cell the second time', () => {
    const args = ['run', 'smoke', '--results', path.join(tmp, 'sres'), '--runs', path.join(tmp, 'sruns'), '--backend', 'wasm'];
    const r = bench(...args);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /linear probe \(%\)/);
    assert.match(r.out, /measured: the linear probe: .*features computed once and cached/);
    for (const f of ['smoke-smoke.md', 'smoke-smoke.csv', 'smoke-smoke.json', 'smoke-smoke-knn.svg', 'smoke-smoke-loss.svg']) {
      assert.ok(fs.existsSync(path.join(tmp, 'sres', f)), f);
    }
    const json = JSON.parse(fs.readFileSync(path.join(tmp, 'sres', 'smoke-smoke.json'), 'utf8'));
    const cell = json.cells[0];
    assert.equal(cell.backend.name, 'wasm');
    assert.ok(cell.curves.knn.length > 0 && cell.curves.loss.length === cell.iterations);
    assert.ok(fs.existsSync(path.join(tmp, cell.weights)), cell.weights);
    assert.match(fs.readFileSync(path.join(tmp, 'sres', 'smoke-smoke-knn.svg'), 'utf8'), /<polyline/);
    const again = bench(...args);
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /finished earlier .* skipped/);
    // the probe is cached beside the weights: the second run reuses it, the same number
    const again1 = JSON.parse(fs.readFileSync(path.join(tmp, 'sres', 'smoke-smoke.json'), 'utf8')).cells[0];
    assert.ok(cell.probe.top1 > 0 && cell.probe.top1 <= 1);
    assert.deepEqual(again1.probe, cell.probe);
    const runDir = path.join(tmp, cell.runDir);
    const probes = fs.readdirSync(runDir).filter((f) => f.startsWith('linear-probe-'));
    assert.equal(probes.length, 1);
    // a finished cell without its probe (e.g. pre-trained before probes existed) gets one, and is not pre-trained again
    const resultBefore = fs.readFileSync(path.join(runDir, 'result.json'), 'utf8');
    fs.rmSync(path.join(runDir, probes[0]));
    const third = bench(...args);
    assert.equal(third.code, 0, third.err);
    assert.match(third.err, /finished earlier .* skipped/);
    assert.equal(fs.readFileSync(path.join(runDir, 'result.json'), 'utf8'), resultBefore, 'pre-training not re-run');
    assert.ok(fs.existsSync(path.join(runDir, probes[0])), 'the probe is back under the same key');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(tmp, 'sres', 'smoke-smoke.json'), 'utf8')).cells[0].probe.top1, cell.probe.top1);
  });

  it('embed writes the features of the images, equal to an in-process forward with the same weights', async () => {
    const images = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.cos(i * 0.01));
    const input = path.join(tmp, 'in.safetensors');
    writeSafetensors(input, { images: { dtype: 'F32', shape: [2, 3, 32, 32], data: images } });
    const weights = path.join(tmp, 'w.safetensors');
    assert.equal(bench('weights', '--backbone', 'vit-micro', '--seed', '4', '--out', weights, '--backend', 'cpu').code, 0);
    const out = path.join(tmp, 'out.safetensors');
    const r = bench(
      'embed',
      '--backbone',
      'vit-micro',
      '--weights',
      weights,
      '--input',
      input,
      '--out',
      out,
      '--backend',
      'cpu',
      '--batch',
      '1',
    );
    assert.equal(r.code, 0, r.err);
    const feats = readSafetensors(out).tensors.get('features')!;
    assert.deepEqual(feats.shape, [2, 64]);
    await initBackend('cpu');
    const m = new Registry().backbone('vit-micro').build('vit-micro', {}, 99);
    loadWeights(m, weights);
    const x = tf.transpose(tf.tensor4d(images, [2, 3, 32, 32]), [0, 2, 3, 1]) as tf.Tensor4D;
    const expected = m.apply(x, false).dataSync();
    const got = feats.data as Float32Array;
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-5, `feature ${i}`);
    // with no --weights, the seeded init
    const r2 = bench('embed', '--backbone', 'vit-micro', '--seed', '4', '--input', input, '--out', out, '--backend', 'cpu');
    assert.equal(r2.code, 0, r2.err);
    // another batch size: another GEMM blocking, so equal to float rounding, not bit for bit
    const again = readSafetensors(out).tensors.get('features')!.data as Float32Array;
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(again[i] - got[i]) < 1e-5, `feature ${i} (default batch)`);
  });

  it('embed names the file and the problem for a wrong input', () => {
    const input = path.join(tmp, 'nhwc.safetensors');
    writeSafetensors(input, { pixels: { dtype: 'F32', shape: [1, 2], data: new Float32Array(2) } });
    const r = bench('embed', '--backbone', 'vit-micro', '--input', input, '--out', path.join(tmp, 'x.safetensors'), '--backend', 'cpu');
    assert.equal(r.code, 1);
    assert.match(r.err, /nhwc\.safetensors: no tensor 'images' \(has: pixels\)/);
  });

  it('unknown backend, backbone, suite and bad flags are clear errors', () => {
    const b = bench('env', '--backend', 'tpu');
    assert.equal(b.code, 1);
    assert.match(b.err, /option '--backend <name>' argument 'tpu' is invalid\. Allowed choices are auto, tensorflow, webgpu, wasm, cpu/);
    const bb = bench('perf', '--backbone', 'vit-q/16');
    assert.equal(bb.code, 1);
    assert.match(bb.err, /unknown backbone 'vit-q\/16'; known backbones: vit-s, vit-b/);
    const p = bench('run', 'mocov3', '--preset', 'paper');
    assert.equal(p.code, 1);
    assert.match(p.err, /data\.path: this preset pre-trains on ImageNet; pass --data PATH/);
    const s = bench('run', 'table99');
    assert.match(s.err, /unknown suite 'table99' \(did you mean 'table1'\?\); known suites: .*table2/);
    const f = bench('perf', '--batch', 'many');
    assert.equal(f.code, 1);
    assert.match(f.err, /--batch must be an integer >= 2, got 'many'/);
  });

  it('tensorflow backend not installed: the error says how to install it', async () => {
    await assert.rejects(initBackend('tensorflow'), /npm install @tensorflow\/tfjs-node/);
  });

  it('list prints every backbone, and every suite with its title', () => {
    const r = bench('list');
    assert.equal(r.code, 0);
    assert.match(r.out, /backbones: vit-s, vit-b, vit-l, vit-h, vit-tiny, vit-mini, vit-micro, vit-bn-s/);
    assert.match(r.out, /^suites:$/m);
    assert.match(r.out, /^ {2}table2 +Table 2\. Configurations of ViT models$/m);
    assert.match(r.out, /^ {2}table3 +Table 3\. FLOPs/m);
    assert.match(r.out, /^ {2}ablation:pos-embed +Ablation: position embedding/m);
    // one line per suite file, titles in one column
    const lines = r.out
      .slice(r.out.indexOf('suites:\n') + 'suites:\n'.length)
      .trimEnd()
      .split('\n');
    assert.equal(lines.length, fs.readdirSync(path.join(root, 'suites')).filter((f) => f.endsWith('.json')).length);
    assert.equal(new Set(lines.map((l) => /^ {2}\S+ {2,}/.exec(l)?.[0].length)).size, 1);
    const only = bench('list', 'suites');
    assert.equal(only.code, 0, only.err);
    assert.doesNotMatch(only.out, /backbones:/);
    assert.match(only.out, /^ {2}fig1:batch-size +Fig\. 1/m);
    const bad = bench('list', 'tables');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /list: unknown section 'tables'; choose one of suites, backbones/);
  });
});

describe('suite files', () => {
  it('every shipped suite validates', () => {
    assert.equal(loadSuite('table2').cells.length, 4);
    assert.equal(loadSuite('table3').cells[3].paper?.flops_g, 166.7);
  });

  it('an invalid suite is rejected with every bad field named', () => {
    const bad = {
      name: 'Bad Name',
      title: 't',
      reference: 'r',
      kind: 'flops',
      cells: [
        { id: 'a', config: { backbone: 'vit-s/16', pooling: 'max' } },
        { id: 'b', config: {}, paper: { x: true } },
        { id: 'c', config: { backbone: 'vit-b' }, extra: 1 },
      ],
    };
    assert.throws(
      () => parseSuite(bad, 'bad.json'),
      (err: Error) => {
        assert.match(err.message, /^bad\.json: invalid suite/);
        assert.match(err.message, /\n {2}name: must match pattern/);
        assert.match(err.message, /cells\[0\]\.config\.pooling: must be equal to one of the allowed values \(cls, gap-ln, gap\)/);
        assert.match(err.message, /cells\[1\]\.config: missing field 'backbone'/);
        assert.match(err.message, /cells\[1\]\.paper\.x: must be number,string/);
        assert.match(err.message, /cells\[2\]: unknown field 'extra'/);
        return true;
      },
    );
    assert.throws(
      () =>
        parseSuite(
          {
            name: 'x',
            title: 't',
            reference: 'r',
            kind: 'params',
            cells: [
              { id: 'a', config: { backbone: 'vit-s' } },
              { id: 'a', config: { backbone: 'vit-b' } },
            ],
          },
          'dup.json',
        ),
      /cells\[1\]\.id: duplicate cell id 'a'/,
    );
  });
});
