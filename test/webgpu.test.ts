/**
 * The WebGPU backend on Dawn (engine/webgpu.ts), on whatever adapter the machine has (in CI, Mesa's
 * lavapipe from bookworm-backports): the adapter is reported; a ViT's and a ResNet's features and
 * input gradients equal the cpu backend's; `bench embed` gives the cpu backend's features; training
 * commands refuse it with the reason. Skipped, with the reason, where Dawn finds no adapter.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { initBackend } from '../engine/backend.ts';
import { vulkanDrivers } from '../engine/webgpu.ts';
import { Registry } from '../container/container.ts';
import type { BackboneOptions } from '../core/config.ts';
import { writeSafetensors, readSafetensors } from '../engine/safetensors.ts';

const root = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-webgpu-'));

function bench(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/bench.mjs'), ...args], { cwd: tmp, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// does Dawn find an adapter here? (a child process: a failing Dawn must not take this one down)
const probe = vulkanDrivers().length ? bench('env', '--backend', 'webgpu') : undefined;
const skip = !probe
  ? 'no Vulkan driver installed (apt-get install -t bookworm-backports mesa-vulkan-drivers)'
  : probe.code !== 0
    ? `Dawn found no adapter: ${probe.err.trim().split('\n').at(-1)}`
    : false;
if (skip) console.log(`# webgpu tests skipped: ${skip}`);

/** Features and d(sum of squared features)/d(input) of a seeded backbone on the current backend, read asynchronously. */
async function forwardAndGrad(
  name: string,
  size: number,
  opts: BackboneOptions = {},
): Promise<{ feats: Float32Array; grad: Float32Array }> {
  const model = new Registry().backbone(name).build(name, { ...opts, imageSize: size }, 3);
  const x = tf.tidy(() => tf.sin(tf.range(0, 2 * size * size * 3).reshape([2, size, size, 3])) as tf.Tensor4D);
  const f = model.apply(x, false);
  const g = tf.grad((inp: tf.Tensor) => tf.sum(tf.square(model.apply(inp as tf.Tensor4D, false))))(x);
  const out = { feats: (await f.data()) as Float32Array, grad: (await g.data()) as Float32Array };
  tf.dispose([x, f, g]);
  return out;
}

function assertClose(a: Float32Array, b: Float32Array, rtol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  const scale = Math.max(...Array.from(b, Math.abs), 1e-6);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  assert.ok(worst <= rtol, `${what}: max difference ${worst.toExponential(2)} of the largest value (tolerance ${rtol})`);
}

describe('WebGPU on Dawn', { skip }, () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('bench env --backend webgpu reports the adapter (vendor, architecture, description, limits)', () => {
    assert.equal(probe!.code, 0, probe!.err);
    assert.match(probe!.out, /^backend: +webgpu \(@tensorflow\/tfjs-backend-webgpu\), requested 'webgpu'/m);
    assert.match(probe!.out, /^adapter: +.+ \(vendor .*, architecture .*, device .*\)/m);
    assert.match(probe!.out, /^limits: +maxBufferSize \d+, maxStorageBufferBindingSize \d+/m);
  });

  async function compare(name: string, size: number, opts: BackboneOptions = {}) {
    await initBackend('cpu');
    const cpu = await forwardAndGrad(name, size, opts);
    const r = await initBackend('webgpu');
    assert.equal(r.name, 'webgpu');
    assert.ok(r.adapter, 'the adapter is reported');
    const gpu = await forwardAndGrad(name, size, opts);
    await initBackend('cpu');
    return { cpu, gpu };
  }

  it("resnet-micro: features and input gradients equal the cpu backend's", async () => {
    const { cpu, gpu } = await compare('resnet-micro', 16);
    assertClose(gpu.feats, cpu.feats, 1e-4, 'resnet-micro features');
    assertClose(gpu.grad, cpu.grad, 1e-4, 'resnet-micro input gradient');
  });

  it("vit-micro/4: features equal the cpu backend's", async () => {
    const { cpu, gpu } = await compare('vit-micro/4', 16);
    assertClose(gpu.feats, cpu.feats, 1e-4, 'vit-micro/4 features');
  });

  // With [CLS] pooling a random-init ViT's output barely depends on its input (the gradient is rounding
  // noise on every backend, cpu and wasm included): compare the input gradient with average pooling.
  it("vit-micro/4 (average pooling): input gradients equal the cpu backend's", async () => {
    const { cpu, gpu } = await compare('vit-micro/4', 16, { pooling: 'gap' });
    assert.ok(Math.max(...Array.from(cpu.grad, Math.abs)) > 1e-3, 'a gradient large enough to compare');
    assertClose(gpu.feats, cpu.feats, 1e-4, 'vit-micro/4 (gap) features');
    assertClose(gpu.grad, cpu.grad, 1e-4, 'vit-micro/4 (gap) input gradient');
  });

  it('bench embed on webgpu gives the cpu backend features; training commands refuse webgpu with the reason', () => {
    const input = path.join(tmp, 'x.safetensors');
    const data = new Float32Array(3 * 3 * 16 * 16).map((_, i) => Math.cos(i / 7));
    writeSafetensors(input, new Map([['images', { dtype: 'F32', shape: [3, 3, 16, 16], data }]]));
    const feats = (backend: string) => {
      const out = path.join(tmp, `f-${backend}.safetensors`);
      const r = bench('embed', '--backbone', 'vit-micro/4', '--input', input, '--out', out, '--backend', backend);
      assert.equal(r.code, 0, r.err);
      return readSafetensors(out).tensors.get('features')!.data as Float32Array;
    };
    assertClose(feats('webgpu'), feats('cpu'), 1e-4, 'bench embed features');
    const run = bench('run', 'smoke', '--backend', 'webgpu', '--runs', path.join(tmp, 'runs'));
    assert.equal(run.code, 1);
    assert.match(run.err, /--backend webgpu: bench run is not available on WebGPU yet: its training path reads tensors synchronously/);
  });
});
