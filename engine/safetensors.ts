/**
 * The safetensors file format (https://github.com/huggingface/safetensors), on plain typed arrays.
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON header, then the data buffer.
 * The header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative
 * to the start of the data buffer), plus an optional `__metadata__` string->string map. Tensor data
 * is little-endian, row-major, and the tensors must cover the data buffer exactly (no holes, no
 * overlaps).
 *
 * Element representation (`StTensor.data`):
 *   F32 Float32Array, F64 Float64Array, F16 and BF16 Uint16Array (raw bit patterns; see `toFloat32`),
 *   I64 BigInt64Array, I32 Int32Array, I16 Int16Array, I8 Int8Array, U8 and BOOL Uint8Array.
 *
 * Writing pads the header with spaces so the data buffer starts at an 8-byte aligned file offset and
 * lays the tensors out contiguously in sorted-name order (the same order as in the header).
 *
 * Only little-endian hosts are supported (typed arrays use host byte order); on a big-endian host
 * every entry point throws.
 */
import { describeWriteError } from '../core/file-set.ts';
import * as fs from 'node:fs';

export type StDtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export type StData = Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

export interface StTensor {
  dtype: StDtype;
  shape: number[];
  /** Row-major elements; the typed-array class is fixed by `dtype` (see the module comment). */
  data: StData;
}

export interface StFile {
  /** In header order for decoded files. */
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

type TypedCtor = { new (length: number): StData; new (buffer: ArrayBufferLike, byteOffset: number, length: number): StData };

interface DtypeInfo {
  size: number;
  ctor: TypedCtor;
}

const DTYPES: Record<StDtype, DtypeInfo> = {
  F32: { size: 4, ctor: Float32Array as unknown as TypedCtor },
  F64: { size: 8, ctor: Float64Array as unknown as TypedCtor },
  F16: { size: 2, ctor: Uint16Array as unknown as TypedCtor },
  BF16: { size: 2, ctor: Uint16Array as unknown as TypedCtor },
  I64: { size: 8, ctor: BigInt64Array as unknown as TypedCtor },
  I32: { size: 4, ctor: Int32Array as unknown as TypedCtor },
  I16: { size: 2, ctor: Int16Array as unknown as TypedCtor },
  I8: { size: 1, ctor: Int8Array as unknown as TypedCtor },
  U8: { size: 1, ctor: Uint8Array as unknown as TypedCtor },
  BOOL: { size: 1, ctor: Uint8Array as unknown as TypedCtor },
};

const METADATA_KEY = '__metadata__';
/** Largest single read/write handed to the OS (some platforms cap one call near 2 GiB). */
const IO_CHUNK = 1 << 28;

function isDtype(x: unknown): x is StDtype {
  return typeof x === 'string' && Object.hasOwn(DTYPES, x);
}

let hostChecked = false;
function assertLittleEndianHost(): void {
  if (hostChecked) return;
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error('safetensors: big-endian hosts are not supported (typed arrays would be byte-swapped)');
  }
  hostChecked = true;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Element count of `shape`, or an error message when it is not a list of non-negative integers. */
function shapeSize(shape: unknown): number | string {
  if (!Array.isArray(shape)) return `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      return `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`;
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) return `shape ${JSON.stringify(shape)} has too many elements`;
  return n;
}

function bytesOf(data: StData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Compare strings by UTF-8 bytes (= code points), the order the reference implementation sorts in. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// Encoding

interface Prepared {
  /** 8-byte length prefix plus padded header. */
  head: Uint8Array;
  /** Tensors in data-buffer order. */
  order: StTensor[];
}

function prepare(
  tensors: Map<string, StTensor> | Record<string, StTensor>,
  metadata: Record<string, string> | undefined,
  source: string,
): Prepared {
  assertLittleEndianHost();
  const entries: [string, StTensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort((a, b) => compareNames(a[0], b[0]));

  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new Error(`${source}: metadata must be an object of strings`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new Error(`${source}: metadata '${k}' must be a string, got ${typeof v}`);
      }
    }
    if (Object.keys(metadata).length > 0) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }

  let offset = 0;
  for (const [name, t] of entries) {
    if (name === METADATA_KEY) throw new Error(`${source}: tensor name '${METADATA_KEY}' is reserved`);
    if (!isPlainObject(t)) throw new Error(`${source}: tensor '${name}' is not an object`);
    if (!isDtype(t.dtype)) throw new Error(`${source}: tensor '${name}': unknown dtype ${JSON.stringify(t.dtype)}`);
    const info = DTYPES[t.dtype];
    const n = shapeSize(t.shape);
    if (typeof n === 'string') throw new Error(`${source}: tensor '${name}': ${n}`);
    if (!(t.data instanceof info.ctor)) {
      const got = (t.data as object | undefined)?.constructor?.name ?? typeof t.data;
      throw new Error(`${source}: tensor '${name}': dtype ${t.dtype} needs a ${info.ctor.name}, got ${got}`);
    }
    if (t.data.length !== n) {
      throw new Error(`${source}: tensor '${name}': data has ${t.data.length} elements but shape ${JSON.stringify(t.shape)} needs ${n}`);
    }
    const end = offset + n * info.size;
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] })}`);
    offset = end;
  }

  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const head = new Uint8Array(8 + padded);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.length);
  return { head, order: entries.map((e) => e[1]) };
}

/** Serialize tensors (and optional string metadata) to safetensors bytes. Input data is not modified. */
export function encodeSafetensors(
  tensors: Map<string, StTensor> | Record<string, StTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const { head, order } = prepare(tensors, metadata, '<buffer>');
  let total = head.length;
  for (const t of order) total += t.data.byteLength;
  const out = new Uint8Array(total);
  out.set(head, 0);
  let pos = head.length;
  for (const t of order) {
    out.set(bytesOf(t.data), pos);
    pos += t.data.byteLength;
  }
  return out;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    off += fs.writeSync(fd, bytes, off, Math.min(IO_CHUNK, bytes.length - off));
  }
}

/**
 * Write a safetensors file atomically: stream header and tensors to `path + '.tmp-<pid>'`, fsync,
 * then rename over `path`. Validation happens before anything is written; on failure the temporary
 * file is removed and `path` is left untouched.
 */
export function writeSafetensors(
  path: string,
  tensors: Map<string, StTensor> | Record<string, StTensor>,
  metadata?: Record<string, string>,
): void {
  const { head, order } = prepare(tensors, metadata, path);
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w');
  } catch (err) {
    throw describeWriteError(path, err as NodeJS.ErrnoException);
  }
  try {
    try {
      writeAll(fd, head);
      for (const t of order) writeAll(fd, bytesOf(t.data));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw (err as NodeJS.ErrnoException).code ? describeWriteError(path, err as NodeJS.ErrnoException) : err;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface Entry {
  name: string;
  dtype: StDtype;
  shape: number[];
  begin: number;
  end: number;
}

interface Header {
  entries: Entry[];
  metadata: Record<string, string>;
}

/** Read the u64 header length and check it fits in a file of `fileSize` bytes. */
function headerLength(prefix: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8) {
    throw new Error(`${source}: file is ${fileSize} bytes, shorter than the 8-byte header length prefix`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new Error(`${source}: header length ${n} is larger than the ${fileSize - 8} bytes that follow the prefix`);
  }
  return Number(n);
}

/** Parse and validate the JSON header against a data buffer of `dataLength` bytes. */
function parseHeader(headerBytes: Uint8Array, dataLength: number, source: string): Header {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new Error(`${source}: header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(json)) {
    throw new Error(`${source}: header is not a JSON object`);
  }

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(value)) throw new Error(`${source}: ${METADATA_KEY} is not an object of strings`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') {
          throw new Error(`${source}: ${METADATA_KEY} entry '${k}' is not a string (got ${JSON.stringify(v)})`);
        }
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const where = `${source}: tensor '${name}'`;
    if (!isPlainObject(value)) throw new Error(`${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (!isDtype(dtype)) throw new Error(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    const n = shapeSize(shape);
    if (typeof n === 'string') throw new Error(`${where}: ${n}`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      throw new Error(`${where}: data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const need = n * DTYPES[dtype].size;
    if (end < begin || end - begin !== need) {
      throw new Error(
        `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${need}`,
      );
    }
    if (end > dataLength) {
      throw new Error(`${where}: data_offsets [${begin}, ${end}] lie outside the ${dataLength}-byte data buffer`);
    }
    entries.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }

  // The tensors must tile [0, dataLength) exactly.
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < pos) {
      throw new Error(`${source}: tensors '${prev!.name}' [${prev!.begin}, ${prev!.end}] and '${e.name}' [${e.begin}, ${e.end}] overlap`);
    }
    if (e.begin > pos) {
      const after = prev ? `after tensor '${prev.name}'` : 'at the start of the data buffer';
      throw new Error(`${source}: hole in data buffer: bytes [${pos}, ${e.begin}) ${after} before tensor '${e.name}' are not covered`);
    }
    pos = e.end;
    prev = e;
  }
  if (pos !== dataLength) {
    const after = prev ? `after tensor '${prev.name}'` : '(there are no tensors)';
    throw new Error(`${source}: hole in data buffer: trailing bytes [${pos}, ${dataLength}) ${after} are not covered`);
  }
  return { entries, metadata };
}

/**
 * Decode safetensors bytes. Where a tensor's bytes are suitably aligned in memory its `data` is a
 * view into `bytes` (no copy; the two share memory), otherwise it is a copy. Error messages start
 * with `source`.
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): StFile {
  assertLittleEndianHost();
  const n = headerLength(bytes, bytes.length, source);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, source);
  const tensors = new Map<string, StTensor>();
  for (const e of entries) {
    const { size, ctor } = DTYPES[e.dtype];
    const count = (e.end - e.begin) / size;
    const at = bytes.byteOffset + dataStart + e.begin;
    let data: StData;
    if (at % size === 0) {
      data = new ctor(bytes.buffer, at, count);
    } else {
      data = new ctor(count);
      bytesOf(data).set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    }
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

function readExactly(fd: number, into: Uint8Array, position: number, source: string): void {
  let off = 0;
  while (off < into.length) {
    const got = fs.readSync(fd, into, off, Math.min(IO_CHUNK, into.length - off), position + off);
    if (got === 0) throw new Error(`${source}: file ended unexpectedly at byte ${position + off}`);
    off += got;
  }
}

/**
 * Read a safetensors file. Each tensor gets its own freshly allocated typed array, read straight from
 * the file (works for files over 2 GiB, which `readFileSync` refuses). Error messages start with `path`.
 */
export function readSafetensors(path: string): StFile {
  assertLittleEndianHost();
  const fd = fs.openSync(path, 'r');
  try {
    const fileSize = fs.fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    if (fileSize >= 8) readExactly(fd, prefix, 0, path);
    const n = headerLength(prefix, fileSize, path);
    const headerBytes = new Uint8Array(n);
    readExactly(fd, headerBytes, 8, path);
    const dataStart = 8 + n;
    const { entries, metadata } = parseHeader(headerBytes, fileSize - dataStart, path);
    const tensors = new Map<string, StTensor>();
    for (const e of entries) {
      const { size, ctor } = DTYPES[e.dtype];
      const data = new ctor((e.end - e.begin) / size);
      readExactly(fd, bytesOf(data), dataStart + e.begin, path);
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
    }
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Float conversion

let f16Table: Float32Array | undefined;

/** All 65536 half-precision values as float32 (every one is exactly representable). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0) {
      // zero / subnormal: man * 2^-24, exact in float32
      table[h] = (sign ? -1 : 1) * man * 2 ** -24;
    } else if (exp === 0x1f) {
      // Inf / NaN, payload kept
      bits[h] = (sign | 0x7f800000 | (man << 13)) >>> 0;
    } else {
      bits[h] = (sign | ((exp + 112) << 23) | (man << 13)) >>> 0;
    }
  }
  f16Table = table;
  return table;
}

/**
 * A floating tensor's values as a Float32Array. F32 data is returned as is (not copied); F16 and BF16
 * are widened exactly (NaN payloads kept); F64 is rounded to nearest float32. Other dtypes throw an
 * error naming `source` and `name`.
 */
export function toFloat32(t: StTensor, name: string, source: string): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return t.data as Float32Array;
    case 'F64':
      return Float32Array.from(t.data as Float64Array);
    case 'F16': {
      // copy bit patterns, not numbers, so NaN payloads survive
      const table = new Uint32Array(halfTable().buffer);
      const src = t.data as Uint16Array;
      const out = new Float32Array(src.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = table[src[i]];
      return out;
    }
    case 'BF16': {
      const src = t.data as Uint16Array;
      const out = new Float32Array(src.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return out;
    }
    default:
      throw new Error(`${source}: tensor '${name}' has dtype ${t.dtype}, expected a floating dtype (F32, F64, F16, BF16)`);
  }
}
