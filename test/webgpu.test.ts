/**
 * The WebGPU backend on Dawn (engine/webgpu.ts), on whatever adapter the machine has (in CI, Mesa's
 * lavapipe from bookworm-backports), against the wasm engine (native kernels when built). Every
 * engine computes in its own child process (test/helpers/engine-snapshot.ts): Dawn never shares a
 * process with the native kernels' threads or with this test runner.
 *
 * - the adapter is reported by `bench env`;
 * - backbone features and input gradients agree;
 * - every framework x backbone training step agrees: loss, every gradient, the parameters after
 *   the recipe's optimiser step, and a second step through the runner's TrainStep; with
 *   `--recompute` too;
 * - 200 training steps keep the live tensors, their bytes and the GPU buffer pool flat;
 * - `bench run smoke` and `bench embed` on WebGPU give the wasm engine's numbers.
 *
 * Skipped, with the reason, where there is no Vulkan driver or Dawn finds no adapter.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { vulkanDrivers } from '../engine/webgpu.ts';
import { writeSafetensors, readSafetensors, type StTensor } from '../engine/safetensors.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-webgpu-'));

function node(args: string[], timeout = 300_000, cwd = tmp) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const bench = (...args: string[]) => node([path.join(root, 'bin/bench.mjs'), ...args]);
const snapshotScript = path.join(root, 'test/helpers/engine-snapshot.ts');

/** Runs the snapshot helper on `backend`; returns its tensors. */
function snapshot(backend: string, ...flags: string[]): Map<string, StTensor> {
  const out = path.join(tmp, `snapshot-${backend}${flags.join('')}.safetensors`);
  const r = node(['--import', 'tsx', snapshotScript, backend, out, ...flags], 300_000, root);
  assert.equal(r.code, 0, `engine-snapshot ${backend} ${flags.join(' ')}: ${r.err}`);
  return readSafetensors(out).tensors;
}

// does Dawn find an adapter here? (a child process: a failing Dawn must not take this one down)
const probe = vulkanDrivers().length ? bench('env', '--backend', 'webgpu') : undefined;
const skip = !probe
  ? 'no Vulkan driver installed (apt-get install -t bookworm-backports mesa-vulkan-drivers)'
  : probe.code !== 0
    ? `Dawn found no adapter: ${probe.err.trim().split('\n').at(-1)}`
    : false;
if (skip) console.log(`# webgpu tests skipped: ${skip}`);

/** The largest |a - b| over the named tensors, and the largest |b| (the reference's scale). */
function worst(a: Map<string, StTensor>, b: Map<string, StTensor>, names: string[]): { diff: number; scale: number; at: string } {
  let diff = 0;
  let scale = 0;
  let at = '';
  for (const n of names) {
    const x = a.get(n)!.data as Float32Array;
    const y = b.get(n)?.data as Float32Array;
    assert.ok(y, `${n} is missing from the WebGPU snapshot`);
    assert.equal(x.length, y.length, n);
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(y[i]));
      const d = Math.abs(x[i] - y[i]);
      if (!(d <= diff)) [diff, at] = [d, n];
    }
  }
  return { diff, scale, at };
}

/** `gpu` matches `ref` on the tensors named `prefix*`: max difference at most `rtol` x the reference's largest value + `atol`. */
function assertAgree(gpu: Map<string, StTensor>, ref: Map<string, StTensor>, prefix: string, rtol: number, atol = 0): void {
  const names = [...ref.keys()].filter((n) => n.startsWith(prefix));
  assert.ok(names.length > 0, `no tensors named ${prefix}*`);
  const w = worst(gpu, ref, names);
  assert.ok(
    w.diff <= rtol * w.scale + atol,
    `${prefix}*: max difference ${w.diff.toExponential(2)} (in ${w.at}) vs scale ${w.scale.toExponential(2)}: ` +
      `tolerance ${rtol} x scale + ${atol}`,
  );
}

const PAIRS = ['mocov3', 'simclr', 'byol', 'swav'].flatMap((fw) => [`${fw}.vit-micro/4`, `${fw}.resnet-micro`]);
// the snapshot's learning rates: AdamW 1e-4 (ViT recipes), LARS 0.01 (R-50 recipes)
const lrOf = (pair: string) => (pair.endsWith('vit-micro/4') ? 1e-4 : 0.01);

describe('WebGPU on Dawn', { skip }, () => {
  let ref: Map<string, StTensor>;
  let gpu: Map<string, StTensor>;
  before(() => {
    ref = snapshot('wasm');
    gpu = snapshot('webgpu');
  });

  it('bench env --backend webgpu reports the adapter (vendor, architecture, description, limits)', () => {
    assert.equal(probe!.code, 0, probe!.err);
    assert.match(probe!.out, /^backend: +webgpu \(@tensorflow\/tfjs-backend-webgpu\), requested 'webgpu'/m);
    assert.match(probe!.out, /^adapter: +.+ \(vendor .*, architecture .*, device .*\)/m);
    assert.match(probe!.out, /^limits: +maxBufferSize \d+, maxStorageBufferBindingSize \d+/m);
  });

  it("backbones: features and input gradients equal the wasm engine's", () => {
    assertAgree(gpu, ref, 'resnet-micro.', 1e-5);
    assertAgree(gpu, ref, 'vit-micro.features', 1e-5);
    // With [CLS] pooling a random-init ViT's output barely depends on its input (the gradient is
    // rounding noise on every engine): the input gradient is compared with average pooling.
    assertAgree(gpu, ref, 'vit-micro-gap.', 1e-5);
  });

  for (const pair of PAIRS) {
    it(`${pair}: loss, gradients and two optimiser steps equal the wasm engine's`, () => {
      const lr = lrOf(pair);
      assertAgree(gpu, ref, `${pair}.loss`, 1e-5);
      // gradients: relative to the largest gradient of the model (measured on lavapipe: <= 8e-4;
      // BatchNorm over 8 images at ResNet's last 1x1 stage amplifies rounding the most)
      assertAgree(gpu, ref, `${pair}.grad.`, 3e-3);
      // after the update: AdamW's first step moves each weight by about lr x sign(gradient), so a
      // gradient that is rounding noise on both engines may flip sign and move its weight 2 lr apart
      const flip = pair.endsWith('vit-micro/4') ? 2 * lr : 0;
      assertAgree(gpu, ref, `${pair}.step1.`, 1e-4, flip * 1.01);
      assertAgree(gpu, ref, `${pair}.step2.loss`, 1e-4);
      assertAgree(gpu, ref, `${pair}.step2.`, 1e-4, flip * 2.02);
    });
  }

  it("--recompute on WebGPU gives the same training steps (the ViT's blocks recomputed in backward)", () => {
    const re = snapshot('webgpu', '--recompute');
    for (const pair of PAIRS.filter((p) => p.endsWith('vit-micro/4'))) {
      assertAgree(re, gpu, `${pair}.loss`, 1e-6);
      assertAgree(re, gpu, `${pair}.grad.`, 1e-5);
      assertAgree(re, gpu, `${pair}.step2.`, 1e-4, 4 * lrOf(pair));
    }
  });

  it('200 training steps keep the live tensors, their bytes and the GPU buffers flat', () => {
    const r = node(['--import', 'tsx', snapshotScript, 'webgpu', '--memory', '200'], 600_000, root);
    assert.equal(r.code, 0, r.err);
    const trace = JSON.parse(r.out) as { tensors: number; bytes: number; gpuBytes: number; gpuAllocated: number }[];
    assert.equal(trace.length, 200);
    assert.ok(trace[0].gpuAllocated > 0, 'the GPU buffer pool is reported');
    // the first steps create the optimiser state and fill the buffer pool; from step 10 nothing grows
    for (const key of ['tensors', 'bytes', 'gpuBytes', 'gpuAllocated'] as const) {
      const after = trace.slice(10).map((t) => t[key]);
      assert.equal(Math.max(...after), Math.min(...after), `${key} from step 10 to 200: ${Math.min(...after)}..${Math.max(...after)}`);
    }
  });

  it("bench run smoke and bench embed on WebGPU give the wasm engine's numbers", () => {
    const table = (backend: string) => {
      const r = bench(
        'run',
        'smoke',
        '--backend',
        backend,
        '--runs',
        path.join(tmp, `runs-${backend}`),
        '--results',
        path.join(tmp, backend),
      );
      assert.equal(r.code, 0, r.err);
      const cell = JSON.parse(fs.readFileSync(path.join(tmp, backend, 'smoke-smoke.json'), 'utf8')).cells[0];
      assert.equal(cell.backend.name, backend);
      return { probe: cell.probe.top1, ...cell.final } as Record<string, number>;
    };
    const w = table('wasm');
    const g = table('webgpu');
    // fractions in [0, 1]: within 1.5 points (measured on lavapipe: equal to the last digit)
    for (const k of ['probe', 'knn', 'knnRandomInit', 'knnMonitor']) {
      assert.equal(typeof w[k], 'number', `${k} in the smoke result`);
      assert.ok(Math.abs(g[k] - w[k]) <= 0.015, `${k}: webgpu ${g[k]} vs wasm ${w[k]}`);
    }
    assert.ok(Math.abs(g.loss - w.loss) <= 1e-3 * Math.abs(w.loss), `final loss: webgpu ${g.loss} vs wasm ${w.loss}`);

    const input = path.join(tmp, 'x.safetensors');
    const data = new Float32Array(3 * 3 * 16 * 16).map((_, i) => Math.cos(i / 7));
    writeSafetensors(input, new Map([['images', { dtype: 'F32', shape: [3, 3, 16, 16], data }]]));
    const feats = (backend: string) => {
      const out = path.join(tmp, `f-${backend}.safetensors`);
      const r = bench('embed', '--backbone', 'vit-micro/4', '--input', input, '--out', out, '--backend', backend);
      assert.equal(r.code, 0, r.err);
      return readSafetensors(out).tensors;
    };
    const e = worst(feats('webgpu'), feats('wasm'), ['features']);
    assert.ok(e.diff <= 1e-5 * e.scale, `bench embed features differ by ${e.diff} (scale ${e.scale})`);
  });
});
