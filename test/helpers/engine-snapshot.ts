/**
 * Run as a child process by test/webgpu.test.ts: computes, on one engine, what the WebGPU parity
 * tests compare, and writes it to a safetensors file. One process per engine, so Dawn and the
 * native kernels' OpenMP threads never share a process (and a failing Dawn cannot take the test
 * runner down).
 *
 *   node --import tsx test/helpers/engine-snapshot.ts <backend> <out.safetensors> [--recompute]
 *   node --import tsx test/helpers/engine-snapshot.ts <backend> --memory <steps>
 *
 * Snapshot: for each backbone, features and d(sum of squared features)/d(input); for every
 * framework x backbone pair with its recipe's optimiser, the loss and every trainable parameter's
 * gradient of a first step, the parameters after that step's update, then a second step through the
 * runner's TrainStep (loss and parameters after it). `--memory N` instead runs N MoCo v3 steps and
 * prints the live tensor count and bytes after each (on WebGPU the GPU buffer bytes too), as JSON.
 */
import { tf } from '../../engine/tf.ts';
import { initBackend, parseBackendChoice } from '../../engine/backend.ts';
import { Registry } from '../../container/container.ts';
import type { Framework } from '../../frameworks/framework.ts';
import type { Optimizer } from '../../optim/optimizer.ts';
import { TrainStep } from '../../runner/train-step.ts';
import { writeSafetensors, type StTensor } from '../../engine/safetensors.ts';
import type { BackboneOptions } from '../../core/config.ts';
import { recipePair } from './frameworks.ts';
import { twoViewSet } from '../../frameworks/framework.ts';

const registry = new Registry();
const SIZE = 16;
const BATCH = 8;

/** Deterministic inputs that do not depend on a backend's random number generator. */
function wave(shape: number[], phase: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + phase) * Math.cos(i * 0.011)),
    shape,
  );
}

function buildPair(fwName: string, backbone: string): { fw: Framework; opt: Optimizer; lr: number } {
  const { fw, opt, optimizerName } = recipePair(registry, fwName, backbone, SIZE);
  return { fw, opt, lr: optimizerName === 'lars' ? 0.01 : 1e-4 };
}

async function put(out: Map<string, StTensor>, name: string, t: tf.Tensor): Promise<void> {
  out.set(name, { dtype: 'F32', shape: t.shape.length ? t.shape : [1], data: Float32Array.from((await t.data()) as Float32Array) });
}

async function backboneSnapshot(out: Map<string, StTensor>, name: string, opts: BackboneOptions, key: string): Promise<void> {
  const model = registry.backbone(name).build(name, { ...opts, imageSize: SIZE }, 3);
  const x = wave([2, SIZE, SIZE, 3], 0.5) as tf.Tensor4D;
  const f = model.apply(x, false);
  const g = tf.grad((inp: tf.Tensor) => tf.sum(tf.square(model.apply(inp as tf.Tensor4D, false))))(x);
  await put(out, `${key}.features`, f);
  await put(out, `${key}.input_grad`, g);
  tf.dispose([x, f, g]);
  model.dispose();
}

async function stepSnapshot(out: Map<string, StTensor>, fwName: string, backbone: string): Promise<void> {
  const key = `${fwName}.${backbone}`;
  const { fw, opt, lr } = buildPair(fwName, backbone);
  const v1 = wave([BATCH, SIZE, SIZE, 3], 1) as tf.Tensor4D;
  const v2 = wave([BATCH, SIZE, SIZE, 3], 2) as tf.Tensor4D;
  const ctx = { iter: 0, totalIters: 10, itersPerEpoch: 5 };
  const params = fw.trainableParams();
  // step 1 by hand, so the gradients can be kept: the framework's preparation, the loss, the update
  const prepared = fw.prepare(twoViewSet(v1, v2), ctx);
  const { value, grads } = tf.variableGrads(
    () => {
      const o = fw.loss(twoViewSet(v1, v2), prepared, ctx);
      o.features.dispose();
      return o.loss;
    },
    params.map((p) => p.variable),
  );
  await put(out, `${key}.loss`, value);
  for (const p of params) if (grads[p.variable.name]) await put(out, `${key}.grad.${p.name}`, grads[p.variable.name]);
  opt.step(new Map(params.filter((p) => grads[p.variable.name]).map((p) => [p, grads[p.variable.name]])), lr);
  tf.dispose([value, prepared]);
  tf.dispose(grads);
  for (const p of params) await put(out, `${key}.step1.${p.name}`, p.variable);
  // step 2 through the runner's training step
  const r = await new TrainStep(fw, opt).run(twoViewSet(v1, v2), { ...ctx, iter: 1 }, lr);
  await put(out, `${key}.step2.loss`, tf.scalar(r.loss));
  r.features.dispose();
  for (const p of params) await put(out, `${key}.step2.${p.name}`, p.variable);
  tf.dispose([v1, v2]);
  fw.dispose();
  opt.dispose();
}

/** Live tensors and their bytes; on WebGPU also the bytes of the GPU buffers in use and allocated (the buffer pool included). */
interface MemoryPoint {
  tensors: number;
  bytes: number;
  gpuBytes?: number;
  gpuAllocated?: number;
}

async function memoryTrace(steps: number): Promise<MemoryPoint[]> {
  const { fw, opt, lr } = buildPair('mocov3', 'vit-micro/4');
  const step = new TrainStep(fw, opt);
  const v1 = wave([BATCH, SIZE, SIZE, 3], 1) as tf.Tensor4D;
  const v2 = wave([BATCH, SIZE, SIZE, 3], 2) as tf.Tensor4D;
  const trace: MemoryPoint[] = [];
  for (let iter = 0; iter < steps; iter++) {
    const r = await step.run(twoViewSet(v1, v2), { iter, totalIters: steps, itersPerEpoch: steps }, lr);
    r.features.dispose();
    const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
    trace.push({ tensors: m.numTensors, bytes: m.numBytes, gpuBytes: m.numBytesInGPU, gpuAllocated: m.numBytesAllocatedInGPU });
  }
  return trace;
}

const [backend, target, ...rest] = process.argv.slice(2);
await initBackend(parseBackendChoice(backend), { threads: 1, recompute: rest.includes('--recompute') });
if (target === '--memory') {
  console.log(JSON.stringify(await memoryTrace(Number(rest[0]))));
} else {
  const out = new Map<string, StTensor>();
  await backboneSnapshot(out, 'resnet-micro', {}, 'resnet-micro');
  await backboneSnapshot(out, 'vit-micro/4', {}, 'vit-micro');
  await backboneSnapshot(out, 'vit-micro/4', { pooling: 'gap' }, 'vit-micro-gap');
  for (const fwName of ['mocov3', 'simclr', 'byol', 'swav']) {
    for (const backbone of ['vit-micro/4', 'resnet-micro']) await stepSnapshot(out, fwName, backbone);
  }
  writeSafetensors(target, out, { backend });
}
