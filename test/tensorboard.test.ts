/**
 * TensorBoard scalars (issue 27, item 6): every run writes an event file beside metrics.jsonl,
 * decoded here by an independent reader: TFRecord framing checked with a bitwise CRC-32C written
 * for this test, Events decoded by protobufjs from the field definitions of TensorFlow's
 * event.proto and summary.proto.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import { Registry } from '../container/container.ts';
import { pretrain } from '../runner/pretrain.ts';
import { readMetrics } from '../core/metrics.ts';
import { useBackend } from './helpers/backend.ts';
import { smallPretrainConfig } from './helpers/small-pretrain.ts';

before(async () => useBackend('wasm'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-tb-'));
const registry = new Registry();

// the fields of tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto that scalars use
const PROTO = `
syntax = "proto3";
package tensorflow;
message Summary {
  message Value {
    string node_name = 7;
    string tag = 1;
    oneof value { float simple_value = 2; bytes obsolete_old_style_histogram = 3; }
  }
  repeated Value value = 1;
}
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; bytes graph_def = 4; Summary summary = 5; }
}`;
const Event = protobuf.parse(PROTO).root.lookupType('tensorflow.Event');

/** CRC-32C bit by bit (reflected polynomial 0x82F63B78), then TFRecord's mask. */
function masked(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  c = (c ^ 0xffffffff) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

interface Decoded {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: Record<string, number>;
}

function readEvents(file: string): Decoded[] {
  const buf = fs.readFileSync(file);
  const out: Decoded[] = [];
  let at = 0;
  while (at < buf.length) {
    const len = Number(buf.readBigUInt64LE(at));
    assert.equal(buf.readUInt32LE(at + 8), masked(buf.subarray(at, at + 8)), `length CRC at byte ${at}`);
    const data = buf.subarray(at + 12, at + 12 + len);
    assert.equal(buf.readUInt32LE(at + 12 + len), masked(data), `data CRC at byte ${at}`);
    at += 12 + len + 4;
    const e = Event.toObject(Event.decode(data), { longs: Number }) as {
      wallTime: number;
      step?: number;
      fileVersion?: string;
      summary?: { value: { tag: string; simpleValue: number }[] };
    };
    out.push({
      wallTime: e.wallTime,
      step: e.step ?? 0,
      ...(e.fileVersion ? { fileVersion: e.fileVersion } : {}),
      scalars: Object.fromEntries((e.summary?.value ?? []).map((v) => [v.tag, v.simpleValue])),
    });
  }
  assert.equal(at, buf.length, 'no bytes after the last record');
  return out;
}

const eventsFile = (dir: string) => {
  const f = fs.readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.'));
  assert.equal(f.length, 1, `one event file: ${f.join(', ')}`);
  return path.join(dir, f[0]);
};

describe('TensorBoard event files', () => {
  it('a run writes the file_version record, then one event per step with loss, lr, momentum, kNN, speed and gradient norms', async () => {
    const dir = path.join(tmp, 'whole');
    const r = await pretrain(smallPretrainConfig(), { runDir: dir, registry });
    const events = readEvents(eventsFile(dir));
    assert.equal(events[0].fileVersion, 'brain.Event:2');
    const steps = events.slice(1);
    assert.deepEqual(
      steps.map((e) => e.step),
      Array.from({ length: r.iterations }, (_, i) => i + 1),
    );
    const rows = readMetrics(dir);
    for (const [i, e] of steps.entries()) {
      assert.equal(e.scalars['train/loss'], Math.fround(rows[i].loss));
      assert.equal(e.scalars['train/lr'], Math.fround(rows[i].lr));
      assert.equal(e.scalars['train/momentum'], Math.fround(rows[i].momentum!));
      assert.ok(e.wallTime > 1.7e9 && e.wallTime < 4e9, 'unix seconds');
    }
    const knn = steps.filter((e) => 'knn_monitor/top1' in e.scalars);
    assert.deepEqual(
      knn.map((e) => [e.step, e.scalars['knn_monitor/top1']]),
      r.curves.knn.map((p) => [p.iter, Math.fround(p.value)]),
    );
    assert.ok(Object.keys(steps[0].scalars).some((t) => t.startsWith('grad_norm/first: ')));
    assert.ok(steps.every((e) => e.scalars['speed/images_per_s'] > 0));
  });

  it('a run killed and resumed: each step once, the same values as the uninterrupted run', async () => {
    const whole = readEvents(eventsFile(path.join(tmp, 'whole')));
    const dir = path.join(tmp, 'resumed');
    await assert.rejects(pretrain(smallPretrainConfig(), { runDir: dir, registry, crashAfterIter: 6 }), /simulated crash/);
    await pretrain(smallPretrainConfig(), { runDir: dir, registry });
    const events = readEvents(eventsFile(dir));
    assert.equal(events.filter((e) => e.fileVersion).length, 1);
    assert.deepEqual(
      events.slice(1).map((e) => [e.step, e.scalars['train/loss']]),
      whole.slice(1).map((e) => [e.step, e.scalars['train/loss']]),
    );
  });
});
