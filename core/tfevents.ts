/**
 * TensorBoard event files (`events.out.tfevents.*`), written without TensorFlow: each record is
 * TFRecord-framed (uint64 length, masked CRC-32C of the length, the bytes, masked CRC-32C of the
 * bytes; CRC-32C from the `crc-32` package) and holds an `Event` protobuf (tensorflow/core/util/
 * event.proto): wall_time = 1 (double), step = 2 (int64), file_version = 3 (string) or summary = 5
 * (a `Summary`, summary.proto: repeated Value value = 1, each with tag = 1 and simple_value = 2,
 * a float). Those few fields are encoded here by hand; `tensorboard --logdir runs/` reads them.
 */
/// <reference path="./crc32c.d.ts" />
import fs from 'node:fs';
import CRC32C from 'crc-32/crc32c';

const crc32c = (b: Uint8Array) => CRC32C.buf(b);

/** TFRecord's masked CRC: rotate right by 15 and add a constant (so CRCs of CRCs stay well spread). */
export function maskedCrc32c(b: Uint8Array): number {
  const c = crc32c(b) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function varint(n: bigint | number): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // two's complement, as protobuf writes negative int64
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const key = (field: number, wire: number) => varint((field << 3) | wire);
const bytesField = (field: number, b: Uint8Array): number[] => [...key(field, 2), ...varint(b.length), ...b];
const utf8 = (s: string) => new TextEncoder().encode(s);

function doubleField(field: number, v: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...key(field, 1), ...b];
}

function floatField(field: number, v: number): number[] {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return [...key(field, 5), ...b];
}

/** An Event with file_version, the first record of every event file. */
export function fileVersionEvent(wallTime: number): Uint8Array {
  return Uint8Array.from([...doubleField(1, wallTime), ...bytesField(3, utf8('brain.Event:2'))]);
}

/** An Event holding a Summary of scalars (tag -> value) at `step`. */
export function scalarsEvent(wallTime: number, step: number, scalars: Record<string, number>): Uint8Array {
  const values = Object.entries(scalars).flatMap(([tag, v]) =>
    bytesField(1, Uint8Array.from([...bytesField(1, utf8(tag)), ...floatField(2, v)])),
  );
  return Uint8Array.from([...doubleField(1, wallTime), ...key(2, 0), ...varint(step), ...bytesField(5, Uint8Array.from(values))]);
}

/** One TFRecord: length, its masked CRC, the data, its masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64LE(BigInt(data.length), 0);
  head.writeUInt32LE(maskedCrc32c(head.subarray(0, 8)), 8);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([head, data, tail]);
}

/** Appends events to one file (created with its file_version record). */
export class TfEventsWriter {
  constructor(
    readonly file: string,
    wallTime: number,
  ) {
    fs.writeFileSync(file, tfRecord(fileVersionEvent(wallTime)));
  }

  scalars(wallTime: number, step: number, scalars: Record<string, number>): void {
    const finite = Object.fromEntries(Object.entries(scalars).filter(([, v]) => typeof v === 'number'));
    fs.appendFileSync(this.file, tfRecord(scalarsEvent(wallTime, step, finite)));
  }
}
