/**
 * Poisoned state never becomes a finished result (issue 27, item 2): checkpoints carry a checksum
 * verified on load, the two latest are kept and a damaged latest one falls back to the previous;
 * a non-finite parameter after an update stops the run as diverged even when the loss is finite.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tf } from '../engine/tf.ts';
import { Registry } from '../container/container.ts';
import { pretrain } from '../runner/pretrain.ts';
import { TrainStep } from '../runner/train-step.ts';
import { readSafetensors } from '../engine/safetensors.ts';
import { useBackend } from './helpers/backend.ts';
import { activeBackend, initBackend } from '../engine/backend.ts';
import { nativeAddon, nativeStatus } from '../engine/kernels/native-addon.ts';
import { smallPretrainConfig } from './helpers/small-pretrain.ts';
import { recipePair } from './helpers/frameworks.ts';
import { divergenceStop } from '../runner/training/callbacks.ts';
import type { LoopState, StepEvent } from '../runner/training/loop.ts';
import { twoViewSet } from '../frameworks/framework.ts';

before(async () => useBackend('wasm'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-poison-'));
const registry = new Registry();
const c = smallPretrainConfig();

/** Byte offset of a float tensor's data in a safetensors file (after the 8-byte length and the header). */
function tensorOffset(file: string, name: string): number {
  const buf = fs.readFileSync(file);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  return 8 + headerLen + header[name].data_offsets[0];
}

function qkvName(file: string): string {
  return [...readSafetensors(file).tensors.keys()].find((k) => k.includes('qkv.weight'))!;
}

describe('poisoned checkpoints', () => {
  let clean: Awaited<ReturnType<typeof pretrain>>;
  before(async () => {
    clean = await pretrain(c, { runDir: path.join(tmp, 'clean'), registry });
  });

  /** A run crashed after iteration 10: checkpoints at 4 and 8 (the two latest kept). */
  async function crashed(name: string): Promise<string> {
    const dir = path.join(tmp, name);
    await assert.rejects(pretrain(c, { runDir: dir, registry, crashAfterIter: 10 }), /simulated crash/);
    assert.deepEqual(
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('ckpt-'))
        .sort(),
      ['ckpt-4.safetensors', 'ckpt-8.safetensors'],
      'the two latest checkpoints kept',
    );
    assert.ok(fs.existsSync(path.join(dir, 'checkpoint.prev.json')));
    return dir;
  }

  it('100 bytes of NaN in the latest checkpoint: refused by its checksum, resumed from the previous, same result', async () => {
    const dir = await crashed('nan');
    const file = path.join(dir, 'ckpt-8.safetensors');
    const at = tensorOffset(file, qkvName(file));
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from(new Float32Array(25).fill(Number.NaN).buffer), 0, 100, at);
    fs.closeSync(fd);
    const said: string[] = [];
    let from = -1;
    const r = await pretrain(c, { runDir: dir, registry, log: (m) => said.push(m), onProgress: (p) => (from = p.startIter) });
    assert.equal(said.length, 1);
    assert.match(said[0], /ckpt-8\.safetensors: its bytes changed since they were written \(SHA-256/);
    assert.match(said[0], /resuming from the previous checkpoint .*checkpoint\.prev\.json, iteration 4/);
    assert.equal(from, 4);
    assert.equal(r.flags.diverged, false);
    assert.deepEqual(r.final, clean.final, 'the numbers of an uninterrupted run');
  });

  it('one flipped bit in tensor data: refused, resumed from the previous', async () => {
    const dir = await crashed('bit');
    const file = path.join(dir, 'ckpt-8.safetensors');
    const at = tensorOffset(file, qkvName(file)) + 7;
    const buf = fs.readFileSync(file);
    buf[at] ^= 0x01;
    fs.writeFileSync(file, buf);
    const said: string[] = [];
    const r = await pretrain(c, { runDir: dir, registry, log: (m) => said.push(m) });
    assert.match(said.join('\n'), /SHA-256/);
    assert.deepEqual(r.final, clean.final);
  });

  it('both checkpoints damaged: an error naming both files, no result written', async () => {
    const dir = await crashed('both');
    for (const f of ['ckpt-4.safetensors', 'ckpt-8.safetensors']) fs.appendFileSync(path.join(dir, f), 'x');
    await assert.rejects(
      pretrain(c, { runDir: dir, registry, log: () => {} }),
      /ckpt-8\.safetensors: its bytes changed.*; and .*ckpt-4\.safetensors: its bytes changed.*delete checkpoint\.json/s,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'result.json')));
  });

  it('a checkpoint from before checksums holding NaN is refused by its values', async () => {
    const dir = await crashed('old');
    for (const idx of ['checkpoint.json', 'checkpoint.prev.json']) {
      const f = path.join(dir, idx);
      const { sha256: _drop, ...meta } = JSON.parse(fs.readFileSync(f, 'utf8'));
      fs.writeFileSync(f, JSON.stringify(meta));
    }
    const file = path.join(dir, 'ckpt-8.safetensors');
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from(new Float32Array(1).fill(Number.NaN).buffer), 0, 4, tensorOffset(file, qkvName(file)));
    fs.closeSync(fd);
    const said: string[] = [];
    const r = await pretrain(c, { runDir: dir, registry, log: (m) => said.push(m) });
    assert.match(said.join('\n'), /holds a non-finite value \(NaN at 0\)/);
    assert.deepEqual(r.final, clean.final);
  });
});

describe('non-finite state behind a finite loss', () => {
  it('a NaN in the optimiser state: the step reports a non-finite parameter while its loss is finite', async () => {
    const { fw, opt } = recipePair(registry, 'mocov3', 'vit-micro/4', 16);
    const step = new TrainStep(fw, opt);
    const v1 = tf.randomNormal([6, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const v2 = tf.randomNormal([6, 16, 16, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const ctx = { iter: 0, totalIters: 10, itersPerEpoch: 5 };
    const first = await step.run(twoViewSet(v1, v2), ctx, 1e-3);
    first.features.dispose();
    assert.equal(first.nonFinite, undefined);
    const state = await opt.stateTensors();
    const [name, data] = [...state].find(([, d]) => d instanceof Float32Array && d.length > 1)!;
    (data as Float32Array)[0] = Number.NaN;
    opt.loadState(state);
    const second = await step.run(twoViewSet(v1, v2), { ...ctx, iter: 1 }, 1e-3);
    second.features.dispose();
    assert.ok(Number.isFinite(second.loss), `the loss is still finite (${second.loss})`);
    assert.match(second.nonFinite ?? '', /parameter is not finite after the update/, `poisoned ${name}`);
    tf.dispose([v1, v2]);
  });

  it('the loop stops such a step as diverged at its iteration, with the reason', async () => {
    const s: LoopState = {
      run: { curves: { loss: [], knn: [], lr: [], grad: {} }, knnRandomInit: 0, trainSeconds: 0, diverged: false },
      stop: false,
    };
    const e = { iter: 16, next: 17, loss: 3.2, nonFinite: 'a parameter is not finite after the update' } as StepEvent;
    await divergenceStop.onStep(e, s);
    assert.deepEqual([s.run.diverged, s.run.divergedAt, s.run.divergedReason, s.stop], [true, 16, e.nonFinite, true]);
    const t: LoopState = { run: { ...s.run, diverged: false, divergedAt: undefined, divergedReason: undefined }, stop: false };
    await divergenceStop.onStep({ ...e, nonFinite: undefined } as StepEvent, t);
    assert.equal(t.run.diverged, false, 'a finite step goes on');
  });
});

describe('a cell on machines with different thread counts', () => {
  it('started on 2 native threads, killed, resumed by a 1-thread process: it continues on 2 and ends with the uninterrupted numbers', async (t) => {
    if (!nativeAddon()) return t.skip(`native addon not built: ${nativeStatus()}`);
    try {
      await initBackend('wasm', { native: true, threads: 2 });
      const whole = await pretrain(c, { runDir: path.join(tmp, 't-whole'), registry });
      const dir = path.join(tmp, 't-split');
      await assert.rejects(pretrain(c, { runDir: dir, registry, crashAfterIter: 6 }), /simulated crash/);
      await initBackend('wasm', { native: true, threads: 1 });
      const said: string[] = [];
      const during = new Set<number>();
      const r = await pretrain(c, {
        runDir: dir,
        registry,
        log: (m) => said.push(m),
        onProgress: () => during.add(activeBackend()!.native.threads),
      });
      // (at this size 1 and 2 threads happen to sum alike; the thread count is what is checked)
      assert.deepEqual([...during], [2], 'the resumed steps ran on 2 threads');
      assert.match(said.join('\n'), /started with 2 native threads; it continues with 2 \(this process runs 1\)/);
      assert.deepEqual(r.final, whole.final);
      assert.deepEqual(
        r.curves.loss.map((p) => p.value),
        whole.curves.loss.map((p) => p.value),
      );
      assert.equal(r.provenance?.engine.nativeThreads, 2, 'recorded as computed on 2');
      assert.equal(activeBackend()?.native.threads, 1, "the process's own count afterwards");
    } finally {
      await useBackend('wasm');
    }
  });
});
