import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  toFloat32,
  writeSafetensors,
  type StFile,
  type StTensor,
} from '../engine/safetensors.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sslbench-st-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;
function tmpPath(tag: string): string {
  return path.join(dir, `${tag}-${fileCounter++}.safetensors`);
}

// ---------------------------------------------------------------------------------------------
// Helpers that build files by hand (independent of the module under test)

function u64le(n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    out.push(n % 256);
    n = Math.floor(n / 256);
  }
  return out;
}

/** Prefix + header text (not padded) + data bytes. */
function handFile(header: string, data: ArrayLike<number> = []): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  return Uint8Array.from([...u64le(h.length), ...h, ...Array.from(data)]);
}

function f32le(...xs: number[]): number[] {
  const dv = new DataView(new ArrayBuffer(4 * xs.length));
  xs.forEach((x, i) => {
    dv.setFloat32(4 * i, x, true);
  });
  return [...new Uint8Array(dv.buffer)];
}
function u16le(...xs: number[]): number[] {
  return xs.flatMap((x) => [x & 0xff, x >> 8]);
}
function i32le(...xs: number[]): number[] {
  const dv = new DataView(new ArrayBuffer(4 * xs.length));
  xs.forEach((x, i) => {
    dv.setInt32(4 * i, x, true);
  });
  return [...new Uint8Array(dv.buffer)];
}
function i64le(...xs: bigint[]): number[] {
  const dv = new DataView(new ArrayBuffer(8 * xs.length));
  xs.forEach((x, i) => {
    dv.setBigInt64(8 * i, x, true);
  });
  return [...new Uint8Array(dv.buffer)];
}

function rawBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function headerOf(bytes: Uint8Array): { n: number; text: string } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { n, text: Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8') };
}

/** Decode in memory and via a file on disk; both must give the same answer. */
function bothWays(bytes: Uint8Array): StFile[] {
  const p = tmpPath('rt');
  fs.writeFileSync(p, bytes);
  return [decodeSafetensors(bytes), readSafetensors(p)];
}

function assertSameTensors(got: StFile, want: Record<string, StTensor>): void {
  assert.deepEqual([...got.tensors.keys()].sort(), Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    const g = got.tensors.get(name)!;
    assert.equal(g.dtype, w.dtype, name);
    assert.deepEqual(g.shape, w.shape, name);
    assert.equal(g.data.constructor, w.data.constructor, name);
    assert.equal(g.data.length, w.data.length, name);
    assert.deepEqual(rawBytes(g.data), rawBytes(w.data), `${name}: bytes differ`);
  }
}

// ---------------------------------------------------------------------------------------------
// Round trips

function specialF32(): Float32Array {
  const bits = new Uint32Array([
    0x3f800000, // 1
    0xc0200000, // -2.5
    0x80000000, // -0
    0x00000000, // +0
    0x7f800000, // +Inf
    0xff800000, // -Inf
    0x7fc00000, // canonical NaN
    0x7fc12345, // quiet NaN with payload
    0x7f800001, // signalling NaN
    0xffc0abcd, // negative NaN with payload
    0x00000001, // smallest denormal
    0x807fffff, // largest negative denormal
    0x7f7fffff, // max finite
    0x00800000, // smallest normal
  ]);
  return new Float32Array(bits.buffer);
}

function allDtypes(): Record<string, StTensor> {
  return {
    f32: { dtype: 'F32', shape: [2, 7], data: specialF32() },
    f64: { dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -0, 5e-324]) },
    f16: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x7e01, 0x8001]) },
    bf16: { dtype: 'BF16', shape: [1, 2], data: new Uint16Array([0x3f80, 0xffc1]) },
    i64: {
      dtype: 'I64',
      shape: [5],
      data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 1234567890123456789n]),
    },
    i32: { dtype: 'I32', shape: [2, 2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, -7]) },
    i16: { dtype: 'I16', shape: [3], data: new Int16Array([-32768, 32767, 1]) },
    i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 127, 0]) },
    u8: { dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 127, 128, 255]) },
    bool: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
    scalar: { dtype: 'F32', shape: [], data: new Float32Array([42.5]) },
    empty0: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
    empty23: { dtype: 'I64', shape: [2, 0, 3], data: new BigInt64Array(0) },
    emptyU8: { dtype: 'U8', shape: [0, 4], data: new Uint8Array(0) },
  };
}

test('round trip is bit-exact for every dtype, NaN payloads, -0, Inf, denormals, scalars, zero-size', () => {
  const want = allDtypes();
  const bytes = encodeSafetensors(want);
  for (const got of bothWays(bytes)) {
    assertSameTensors(got, want);
    assert.deepEqual(got.metadata, {});
  }
  // the F32 values survive as bit patterns (NaN payloads included), not merely as numbers
  const [mem] = bothWays(bytes);
  assert.deepEqual([...new Uint32Array(rawBytes(mem.tensors.get('f32')!.data).slice().buffer)], [...new Uint32Array(specialF32().buffer)]);
});

test('round trip accepts a Map and typed arrays that are views into larger buffers', () => {
  const backing = new Float32Array([9, 1, 2, 3, 9]);
  const view = backing.subarray(1, 4);
  const m = new Map<string, StTensor>([['v', { dtype: 'F32', shape: [3], data: view }]]);
  const [got] = bothWays(encodeSafetensors(m));
  assert.deepEqual([...(got.tensors.get('v')!.data as Float32Array)], [1, 2, 3]);
});

test('metadata round trips', () => {
  const metadata = { format: 'pt', 'sslbench.config': '{"arch":"vit_b"}', unicode: 'Δ ✓ 𝔵', empty: '' };
  const bytes = encodeSafetensors({ x: { dtype: 'U8', shape: [1], data: new Uint8Array([3]) } }, metadata);
  for (const got of bothWays(bytes)) assert.deepEqual(got.metadata, metadata);
  const p = tmpPath('meta');
  writeSafetensors(p, { x: { dtype: 'U8', shape: [1], data: new Uint8Array([3]) } }, metadata);
  assert.deepEqual(readSafetensors(p).metadata, metadata);
});

test('a file with only metadata and no tensors round trips', () => {
  const bytes = encodeSafetensors({}, { a: 'b' });
  const got = decodeSafetensors(bytes);
  assert.equal(got.tensors.size, 0);
  assert.deepEqual(got.metadata, { a: 'b' });
});

test('data buffer starts 8-byte aligned and the header is padded with spaces', () => {
  for (let len = 1; len <= 12; len++) {
    const name = 'n'.repeat(len);
    const bytes = encodeSafetensors({ [name]: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
    const { n, text } = headerOf(bytes);
    assert.equal((8 + n) % 8, 0, `name length ${len}: data starts at ${8 + n}`);
    const json = text.trimEnd();
    assert.match(text.slice(json.length), /^ *$/, 'padding must be spaces');
    assert.ok(text.length - json.length < 8, 'no more padding than needed');
    assert.deepEqual(JSON.parse(json)[name].data_offsets, [0, 4]);
    assert.equal(bytes.length, 8 + n + 4);
  }
});

test('tensors are laid out contiguously in sorted-name order', () => {
  const bytes = encodeSafetensors({
    c: { dtype: 'U8', shape: [3], data: new Uint8Array([7, 8, 9]) },
    a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
    b: { dtype: 'I16', shape: [1], data: new Int16Array([-1]) },
  });
  const { n, text } = headerOf(bytes);
  const h = JSON.parse(text);
  assert.deepEqual(Object.keys(h), ['a', 'b', 'c']);
  assert.deepEqual(h.a.data_offsets, [0, 8]);
  assert.deepEqual(h.b.data_offsets, [8, 10]);
  assert.deepEqual(h.c.data_offsets, [10, 13]);
  assert.deepEqual([...bytes.subarray(8 + n)], [...f32le(1, 2), 0xff, 0xff, 7, 8, 9]);
});

test('writeSafetensors writes exactly encodeSafetensors bytes, atomically, replacing an old file', () => {
  const p = tmpPath('write');
  fs.writeFileSync(p, 'old contents');
  const tensors = allDtypes();
  writeSafetensors(p, tensors, { k: 'v' });
  assert.deepEqual(new Uint8Array(fs.readFileSync(p)), encodeSafetensors(tensors, { k: 'v' }));
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
    'no temporary file left behind',
  );
  assertSameTensors(readSafetensors(p), tensors);
});

test('decoding works whatever the alignment of the input buffer; aligned input is not copied', () => {
  const tensors = allDtypes();
  const bytes = encodeSafetensors(tensors);
  for (const shift of [1, 2, 3, 4, 5, 8]) {
    const big = new Uint8Array(bytes.length + shift);
    big.set(bytes, shift);
    assertSameTensors(decodeSafetensors(big.subarray(shift)), tensors);
  }
  // with only 4-byte dtypes every tensor is aligned, so decode hands out views, not copies
  const aligned = encodeSafetensors({
    a: { dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) },
    b: { dtype: 'I32', shape: [1], data: new Int32Array([4]) },
  });
  const got = decodeSafetensors(aligned);
  assert.equal(got.tensors.get('a')!.data.buffer, aligned.buffer, 'aligned F32 should be a view');
  assert.equal(got.tensors.get('b')!.data.buffer, aligned.buffer, 'aligned I32 should be a view');
  // misaligned tensors are copies (f32 follows 7 bytes of bf16/bool/empties in sorted order)
  assert.notEqual(decodeSafetensors(bytes).tensors.get('f32')!.data.buffer, bytes.buffer);
});

// ---------------------------------------------------------------------------------------------
// Hand-written files

test('hand-written file from the spec example is read correctly', () => {
  const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}';
  const data = [
    0x00,
    0x00,
    0x80,
    0x3f, // 1.0f
    0x00,
    0x00,
    0x20,
    0xc0, // -2.5f
    0x00,
    0x3c, // half 1.0
  ];
  for (const got of bothWays(handFile(header, data))) {
    const a = got.tensors.get('a')!;
    assert.equal(a.dtype, 'F32');
    assert.deepEqual(a.shape, [2]);
    assert.ok(a.data instanceof Float32Array);
    assert.deepEqual([...a.data], [1, -2.5]);
    const b = got.tensors.get('b')!;
    assert.equal(b.dtype, 'F16');
    assert.deepEqual(b.shape, [1]);
    assert.deepEqual([...b.data], [0x3c00]);
    assert.deepEqual([...toFloat32(b, 'b', 'hand')], [1]);
    assert.deepEqual([...toFloat32(a, 'a', 'hand')], [1, -2.5]);
    assert.deepEqual(got.metadata, {});
  }
});

test('hand-written file with metadata, unsorted entries and odd offsets: all dtypes and F16/BF16 values', () => {
  const f16 = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x3555];
  const f16Want = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, -0, Infinity, -Infinity, 0.333251953125];
  const bf16 = [0x3f80, 0xc000, 0x7f7f, 0x0001, 0x4049, 0x8000, 0xff80];
  const bf16Want = [1, -2, 3.3895313892515355e38, 2 ** -133, 3.140625, -0, -Infinity];
  // layout: u8 [0,3) | f16 [3,23) | i32 [23,31) | bf16 [31,45) | i64 [45,61) | bool [61,63) | f32 [63,67) | empty [67,67)
  const header =
    '{"__metadata__":{"format":"pt","note":"hand"},' +
    '"z_f32":{"dtype":"F32","shape":[1],"data_offsets":[63,67]},' +
    '"half":{"dtype":"F16","shape":[2,5],"data_offsets":[3,23]},' +
    '"u":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},' +
    '"ints":{"dtype":"I32","shape":[2],"data_offsets":[23,31]},' +
    '"brain":{"dtype":"BF16","shape":[7],"data_offsets":[31,45]},' +
    '"empty":{"dtype":"F16","shape":[0],"data_offsets":[67,67]},' +
    '"long":{"dtype":"I64","shape":[2,1],"data_offsets":[45,61]},' +
    '"flags":{"dtype":"BOOL","shape":[2],"data_offsets":[61,63]}}';
  const data = [
    ...[5, 6, 250],
    ...u16le(...f16),
    ...i32le(-1, 0x01020304),
    ...u16le(...bf16),
    ...i64le(-5n, 2n ** 62n),
    ...[1, 0],
    ...f32le(0.1),
  ];
  assert.equal(data.length, 67);
  for (const got of bothWays(handFile(header, data))) {
    assert.deepEqual(got.metadata, { format: 'pt', note: 'hand' });
    assert.equal(got.tensors.size, 8);
    const half = got.tensors.get('half')!;
    assert.deepEqual(half.shape, [2, 5]);
    assert.ok(half.data instanceof Uint16Array);
    assert.deepEqual([...half.data], f16);
    const hf = toFloat32(half, 'half', 'hand');
    assert.ok(hf instanceof Float32Array);
    assert.deepEqual([...hf], f16Want); // deepEqual uses Object.is, so -0 is checked
    const brain = got.tensors.get('brain')!;
    assert.deepEqual([...brain.data], bf16);
    assert.deepEqual([...toFloat32(brain, 'brain', 'hand')], bf16Want);
    assert.deepEqual([...got.tensors.get('u')!.data], [5, 6, 250]);
    const ints = got.tensors.get('ints')!;
    assert.ok(ints.data instanceof Int32Array);
    assert.deepEqual([...ints.data], [-1, 0x01020304]);
    const long = got.tensors.get('long')!;
    assert.ok(long.data instanceof BigInt64Array);
    assert.deepEqual(long.shape, [2, 1]);
    assert.deepEqual([...long.data], [-5n, 2n ** 62n]);
    const flags = got.tensors.get('flags')!;
    assert.equal(flags.dtype, 'BOOL');
    assert.deepEqual([...flags.data], [1, 0]);
    assert.deepEqual([...got.tensors.get('z_f32')!.data], [Math.fround(0.1)]);
    const empty = got.tensors.get('empty')!;
    assert.equal(empty.data.length, 0);
    assert.deepEqual(empty.shape, [0]);
  }
});

test('header padding (trailing spaces) written by other tools is accepted', () => {
  const header = `{"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}${' '.repeat(11)}`;
  const got = decodeSafetensors(handFile(header, [0xff, 0x02]));
  assert.deepEqual([...got.tensors.get('a')!.data], [-1, 2]);
});

// ---------------------------------------------------------------------------------------------
// Float conversion

test('toFloat32 F16: every one of the 65536 bit patterns matches the IEEE half formula', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const got = toFloat32({ dtype: 'F16', shape: [65536], data: all }, 'all', 'test');
  for (let h = 0; h < 65536; h++) {
    const s = h >> 15 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    const want = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + m / 1024);
    if (!Object.is(got[h], want)) assert.fail(`half 0x${h.toString(16)}: got ${got[h]}, want ${want}`);
  }
});

test('toFloat32 F16/BF16 keep NaN payloads and sign bits', () => {
  const h = toFloat32({ dtype: 'F16', shape: [3], data: new Uint16Array([0x7e01, 0xfd55, 0x7c01]) }, 'h', 't');
  assert.deepEqual([...new Uint32Array(h.buffer)], [0x7fc02000, 0xffaaa000, 0x7f802000]);
  const b = toFloat32({ dtype: 'BF16', shape: [2], data: new Uint16Array([0x7fc1, 0xff81]) }, 'b', 't');
  assert.deepEqual([...new Uint32Array(b.buffer)], [0x7fc10000, 0xff810000]);
});

test('toFloat32 BF16: every bit pattern equals the float32 with those top 16 bits', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const got = toFloat32({ dtype: 'BF16', shape: [65536], data: all }, 'all', 'test');
  const dv = new DataView(new ArrayBuffer(4));
  for (let h = 0; h < 65536; h++) {
    dv.setUint16(0, h); // big-endian high half, low half stays 0
    const want = dv.getFloat32(0);
    if (!Object.is(got[h], want)) assert.fail(`bf16 0x${h.toString(16)}: got ${got[h]}, want ${want}`);
  }
});

test('toFloat32 F32 returns the data itself, F64 rounds, integer dtypes throw naming the tensor and source', () => {
  const f = new Float32Array([1, 2]);
  assert.equal(toFloat32({ dtype: 'F32', shape: [2], data: f }, 'f', 's'), f);
  const d = toFloat32({ dtype: 'F64', shape: [2], data: new Float64Array([0.1, -1e300]) }, 'd', 's');
  assert.ok(d instanceof Float32Array);
  assert.deepEqual([...d], [Math.fround(0.1), -Infinity]);
  for (const t of [
    { dtype: 'I32', shape: [1], data: new Int32Array([1]) },
    { dtype: 'U8', shape: [1], data: new Uint8Array([1]) },
    { dtype: 'I64', shape: [1], data: new BigInt64Array([1n]) },
  ] as StTensor[]) {
    assert.throws(
      () => toFloat32(t, 'weights.w', 'model.safetensors'),
      (err: Error) => err.message.startsWith('model.safetensors:') && err.message.includes("'weights.w'") && err.message.includes(t.dtype),
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Decode errors

interface BadCase {
  what: string;
  bytes: Uint8Array;
  /** Must appear in the message (quoted tensor names, field names). */
  mentions: string[];
  reason: RegExp;
}

const F32_1 = (begin: number, end: number, shape = '[1]') => `{"dtype":"F32","shape":${shape},"data_offsets":[${begin},${end}]}`;

const badCases: BadCase[] = [
  { what: 'empty file', bytes: new Uint8Array(0), mentions: [], reason: /shorter than the 8-byte/ },
  { what: '5-byte file', bytes: new Uint8Array([1, 0, 0, 0, 0]), mentions: [], reason: /shorter than the 8-byte/ },
  {
    what: 'header length larger than file',
    bytes: Uint8Array.from([...u64le(100), ...Buffer.from('{}')]),
    mentions: [],
    reason: /header length 100 is larger/,
  },
  {
    what: 'header length 2^64-1',
    bytes: Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 255, 0x7b, 0x7d]),
    mentions: [],
    reason: /header length 18446744073709551615 is larger/,
  },
  { what: 'truncated JSON', bytes: handFile('{"a":'), mentions: [], reason: /header is not valid JSON/ },
  { what: 'empty header', bytes: handFile(''), mentions: [], reason: /header is not valid JSON/ },
  {
    what: 'invalid UTF-8',
    bytes: Uint8Array.from([...u64le(3), 0x7b, 0xff, 0x7d]),
    mentions: [],
    reason: /header is not valid UTF-8/,
  },
  { what: 'header starts with a UTF-8 BOM', bytes: handFile('\uFEFF{}'), mentions: [], reason: /header is not valid JSON/ },
  { what: 'header is an array', bytes: handFile('[]'), mentions: [], reason: /header is not a JSON object/ },
  { what: 'header is null', bytes: handFile('null'), mentions: [], reason: /header is not a JSON object/ },
  { what: 'header is a number', bytes: handFile('3'), mentions: [], reason: /header is not a JSON object/ },
  { what: 'entry not an object', bytes: handFile('{"w":5}'), mentions: ["'w'"], reason: /entry is not an object/ },
  {
    what: 'unknown dtype',
    bytes: handFile('{"w":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}', [0]),
    mentions: ["'w'"],
    reason: /unknown dtype "F8"/,
  },
  {
    what: 'lower-case dtype',
    bytes: handFile('{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
    mentions: ["'w'"],
    reason: /unknown dtype "f32"/,
  },
  {
    what: 'missing dtype',
    bytes: handFile('{"w":{"shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
    mentions: ["'w'"],
    reason: /unknown dtype undefined/,
  },
  ...['3', '[-1]', '[1.5]', '["1"]', 'null', '[1,null]'].map((shape) => ({
    what: `shape ${shape}`,
    bytes: handFile(`{"w":{"dtype":"F32","shape":${shape},"data_offsets":[0,4]}}`, [0, 0, 0, 0]),
    mentions: ["'w'"],
    reason: /shape must be an array of non-negative integers/,
  })),
  ...['[0]', '[0,4,8]', '["0",4]', '[-4,0]', '[0,4.5]', 'null', '{"0":0,"1":4}'].map((offs) => ({
    what: `data_offsets ${offs}`,
    bytes: handFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":${offs}}}`, [0, 0, 0, 0]),
    mentions: ["'w'"],
    reason: /data_offsets must be \[begin, end\]/,
  })),
  {
    what: 'missing data_offsets',
    bytes: handFile('{"w":{"dtype":"F32","shape":[1]}}', [0, 0, 0, 0]),
    mentions: ["'w'"],
    reason: /data_offsets must be/,
  },
  {
    what: 'span smaller than shape needs',
    bytes: handFile(`{"w":${F32_1(0, 4, '[2]')}}`, [0, 0, 0, 0]),
    mentions: ["'w'"],
    reason: /data_offsets \[0, 4\] span 4 bytes but F32 \[2\] needs 8/,
  },
  {
    what: 'span larger than shape needs',
    bytes: handFile(`{"w":${F32_1(0, 8)}}`, new Array(8).fill(0)),
    mentions: ["'w'"],
    reason: /span 8 bytes but F32 \[1\] needs 4/,
  },
  {
    what: 'begin after end',
    bytes: handFile(`{"w":${F32_1(4, 0)}}`, [0, 0, 0, 0]),
    mentions: ["'w'"],
    reason: /data_offsets \[4, 0\]/,
  },
  {
    what: 'end beyond data buffer',
    bytes: handFile(`{"w":${F32_1(0, 8, '[2]')}}`, [0, 0, 0, 0]),
    mentions: ["'w'"],
    reason: /outside the 4-byte data buffer/,
  },
  {
    what: 'offsets entirely beyond data buffer',
    bytes: handFile(`{"a":${F32_1(0, 4)},"w":${F32_1(100, 104)}}`, [0, 0, 0, 0]),
    mentions: ["'w'"],
    reason: /outside the 4-byte data buffer/,
  },
  {
    what: 'overlapping tensors',
    bytes: handFile(`{"a":${F32_1(0, 8, '[2]')},"b":${F32_1(4, 12, '[2]')}}`, new Array(12).fill(0)),
    mentions: ["'a'", "'b'"],
    reason: /overlap/,
  },
  {
    what: 'two tensors on the same bytes',
    bytes: handFile(`{"a":${F32_1(0, 4)},"b":${F32_1(0, 4)}}`, [0, 0, 0, 0]),
    mentions: ["'a'", "'b'"],
    reason: /overlap/,
  },
  {
    what: 'zero-size tensor inside another',
    bytes: handFile(`{"a":${F32_1(0, 8, '[2]')},"z":${F32_1(4, 4, '[0]')}}`, new Array(8).fill(0)),
    mentions: ["'a'", "'z'"],
    reason: /overlap/,
  },
  {
    what: 'hole between tensors',
    bytes: handFile(`{"a":${F32_1(0, 4)},"b":${F32_1(8, 12)}}`, new Array(12).fill(0)),
    mentions: ["'a'", "'b'", '[4, 8)'],
    reason: /hole in data buffer/,
  },
  {
    what: 'hole at the start',
    bytes: handFile(`{"a":${F32_1(4, 8)}}`, new Array(8).fill(0)),
    mentions: ["'a'", '[0, 4)'],
    reason: /hole in data buffer/,
  },
  {
    what: 'trailing uncovered bytes',
    bytes: handFile(`{"a":${F32_1(0, 4)}}`, new Array(6).fill(0)),
    mentions: ["'a'", '[4, 6)'],
    reason: /hole in data buffer: trailing bytes/,
  },
  {
    what: 'data but no tensors',
    bytes: handFile('{}', [1, 2, 3]),
    mentions: ['[0, 3)'],
    reason: /hole in data buffer/,
  },
  {
    what: '__metadata__ is a string',
    bytes: handFile('{"__metadata__":"x"}'),
    mentions: ['__metadata__'],
    reason: /not an object of strings/,
  },
  {
    what: '__metadata__ is null',
    bytes: handFile('{"__metadata__":null}'),
    mentions: ['__metadata__'],
    reason: /not an object of strings/,
  },
  {
    what: '__metadata__ is an array',
    bytes: handFile('{"__metadata__":["a"]}'),
    mentions: ['__metadata__'],
    reason: /not an object of strings/,
  },
  ...['1', 'null', '{"x":"y"}', '["y"]', 'true'].map((v) => ({
    what: `__metadata__ value ${v}`,
    bytes: handFile(`{"__metadata__":{"ok":"fine","bad":${v}}}`),
    mentions: ['__metadata__', "'bad'"],
    reason: /is not a string/,
  })),
];

function checkError(fn: () => unknown, source: string, c: BadCase): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Error, `${c.what}: not an Error`);
    assert.ok(err.message.startsWith(`${source}: `), `${c.what}: message should start with the source: ${err.message}`);
    for (const m of c.mentions) assert.ok(err.message.includes(m), `${c.what}: message should mention ${m}: ${err.message}`);
    assert.match(err.message, c.reason, `${c.what}`);
    return true;
  });
}

test('every malformed file is rejected with an error naming the source and the tensor/field', async (t) => {
  for (const c of badCases) {
    await t.test(c.what, () => {
      checkError(() => decodeSafetensors(c.bytes, 'bad/model.safetensors'), 'bad/model.safetensors', c);
      checkError(() => decodeSafetensors(c.bytes), '<buffer>', c);
      const p = tmpPath('bad');
      fs.writeFileSync(p, c.bytes);
      checkError(() => readSafetensors(p), p, c);
    });
  }
});

test('the valid neighbours of the malformed cases decode (checks are not over-eager)', () => {
  const ok = [
    handFile(`{"a":${F32_1(0, 8, '[2]')},"b":${F32_1(8, 12)}}`, new Array(12).fill(0)),
    handFile(`{"a":${F32_1(0, 4)},"z":${F32_1(4, 4, '[0]')}}`, new Array(4).fill(0)),
    handFile(`{"z":${F32_1(0, 0, '[0]')},"a":${F32_1(0, 4)}}`, new Array(4).fill(0)),
    handFile(`{"z":${F32_1(0, 0, '[3,0]')}}`),
    handFile('{}'),
    handFile('{"__metadata__":{}}'),
    handFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}`, [0, 0, 0, 0]),
  ];
  for (const bytes of ok) {
    for (const got of bothWays(bytes)) assert.ok(got.tensors instanceof Map);
  }
});

test('readSafetensors on a missing file throws', () => {
  assert.throws(() => readSafetensors(path.join(dir, 'nope.safetensors')), /ENOENT/);
});

// ---------------------------------------------------------------------------------------------
// Encode errors

test('encode rejects bad tensors, naming them; write leaves no file behind and keeps an old one', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown> | undefined, RegExp][] = [
    ['length short', { w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } }, undefined, /'w'.*5 elements.*\[2,3\] needs 6/],
    ['length long', { w: { dtype: 'I64', shape: [1], data: new BigInt64Array(2) } }, undefined, /'w'.*2 elements.*needs 1/],
    ['scalar needs one', { w: { dtype: 'U8', shape: [], data: new Uint8Array(0) } }, undefined, /'w'.*0 elements.*needs 1/],
    [
      'wrong array class',
      { w: { dtype: 'F32', shape: [1], data: new Float64Array(1) } },
      undefined,
      /'w'.*F32 needs a Float32Array, got Float64Array/,
    ],
    ['I64 as Int32Array', { w: { dtype: 'I64', shape: [1], data: new Int32Array(1) } }, undefined, /'w'.*BigInt64Array/],
    ['data missing', { w: { dtype: 'F32', shape: [1] } }, undefined, /'w'.*Float32Array/],
    ['negative dim', { w: { dtype: 'F32', shape: [-1], data: new Float32Array(0) } }, undefined, /'w'.*shape must be/],
    ['fractional dim', { w: { dtype: 'F32', shape: [0.5], data: new Float32Array(0) } }, undefined, /'w'.*shape must be/],
    ['unknown dtype', { w: { dtype: 'F8', shape: [1], data: new Uint8Array(1) } }, undefined, /'w'.*unknown dtype "F8"/],
    ['reserved name', { __metadata__: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }, undefined, /'__metadata__' is reserved/],
    ['metadata number', { w: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }, { n: 3 }, /metadata 'n' must be a string/],
  ];
  for (const [what, tensors, metadata, reason] of cases) {
    const enc = () => encodeSafetensors(tensors as Record<string, StTensor>, metadata as Record<string, string> | undefined);
    assert.throws(enc, (err: Error) => err.message.startsWith('<buffer>: ') && reason.test(err.message), what);

    const p = tmpPath('encbad');
    assert.throws(
      () => writeSafetensors(p, tensors as Record<string, StTensor>, metadata as Record<string, string> | undefined),
      (err: Error) => err.message.startsWith(`${p}: `) && reason.test(err.message),
      what,
    );
    assert.equal(fs.existsSync(p), false, `${what}: no file should be created`);

    fs.writeFileSync(p, 'keep me');
    assert.throws(() => writeSafetensors(p, tensors as Record<string, StTensor>, metadata as Record<string, string> | undefined));
    assert.equal(fs.readFileSync(p, 'utf8'), 'keep me', `${what}: old file must survive`);
  }
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
  );
});

test('a failed write removes its temporary file and leaves the target alone', () => {
  const sub = path.join(dir, 'target-is-dir');
  fs.mkdirSync(sub);
  fs.writeFileSync(path.join(sub, 'x'), ''); // rename over a non-empty directory fails
  assert.throws(() => writeSafetensors(sub, { a: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) } }));
  assert.ok(fs.statSync(sub).isDirectory());
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
    [],
  );
});
