/**
 * Reader for MATLAB Level 5 MAT-files (`save -v6` / `-v7`), enough for the numeric arrays of
 * Oxford Flowers-102's imagelabels.mat and setid.mat.
 *
 * Layout: a 128-byte header (116 bytes of text starting "MATLAB 5.0 MAT-file", 8 bytes of
 * subsystem offset, a uint16 version 0x0100 and the endian indicator "IM" (little-endian) or "MI"
 * (big-endian)), then data elements. Each element has an 8-byte tag (uint32 type, uint32 byte
 * count) followed by its data, padded to a multiple of 8 bytes; in the "small element" form (upper
 * 16 bits of the first word non-zero) type and count share one word and up to 4 data bytes follow
 * in the same 8 bytes. A top-level element is miMATRIX (14) or miCOMPRESSED (15, a zlib stream
 * holding one miMATRIX element). A miMATRIX holds, in order: array flags (miUINT32 x 2; class in
 * the low byte), dimensions (miINT32), the name (miINT8) and the real part in any numeric storage
 * type (miINT8 .. miUINT64, miSINGLE, miDOUBLE); MATLAB often stores a double array as a smaller
 * integer type.
 *
 * Numeric arrays (mxDOUBLE .. mxUINT64, also logical) are returned as Float64Array in MATLAB's
 * column-major order; of a complex array only the real part is kept. Variables of other classes
 * (char, cell, struct, sparse, objects) are skipped. MATLAB 7.3 files (HDF5) and Level 4 files are
 * rejected with a message saying so. Every error message starts with the file name.
 */
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

export interface MatArray {
  name: string;
  /** Dimensions as stored, e.g. [1, 8189] for a row vector. */
  dims: number[];
  /** prod(dims) values in column-major order. */
  data: Float64Array;
  /** MATLAB class of the array: 'double', 'single', 'uint8', ... */
  className: string;
}

// Data types of data elements.
const MI_INT8 = 1;
const MI_UINT32 = 6;
const MI_INT32 = 5;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;

const MI_NAMES: Record<number, string> = {
  1: 'miINT8',
  2: 'miUINT8',
  3: 'miINT16',
  4: 'miUINT16',
  5: 'miINT32',
  6: 'miUINT32',
  7: 'miSINGLE',
  9: 'miDOUBLE',
  12: 'miINT64',
  13: 'miUINT64',
  14: 'miMATRIX',
  15: 'miCOMPRESSED',
  16: 'miUTF8',
  17: 'miUTF16',
  18: 'miUTF32',
};

/** Byte size of each numeric storage type. */
const MI_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8 };

/** Array classes (low byte of the first array-flags word); 6..15 are numeric. */
const MX_NAMES: Record<number, string> = {
  1: 'cell',
  2: 'struct',
  3: 'object',
  4: 'char',
  5: 'sparse',
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
};
const LOGICAL_FLAG = 0x0200;

const miName = (t: number): string => MI_NAMES[t] ?? `unknown type ${t}`;

interface Element {
  type: number;
  /** The element's data bytes (without tag or padding). */
  data: Uint8Array;
  /** Offset just past the element, padding included. */
  next: number;
}

class Reader {
  constructor(
    readonly source: string,
    readonly le: boolean,
  ) {}

  fail(what: string): never {
    throw new Error(`${this.source}: ${what}`);
  }

  /** The data element starting at `pos` in `buf` (which is `where` in messages). */
  element(buf: Uint8Array, pos: number, where: string): Element {
    if (pos + 8 > buf.length) this.fail(`truncated ${where}: a data element tag needs 8 bytes at offset ${pos}, ${buf.length - pos} left`);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const word = view.getUint32(pos, this.le);
    if (word >>> 16 !== 0) {
      // Small data element: type in the low 16 bits, byte count in the high 16, data in bytes 4..7.
      const type = word & 0xffff;
      const n = word >>> 16;
      if (n > 4) this.fail(`bad small data element in ${where} at offset ${pos}: ${n} bytes (at most 4)`);
      return { type, data: buf.subarray(pos + 4, pos + 4 + n), next: pos + 8 };
    }
    const type = word;
    const n = view.getUint32(pos + 4, this.le);
    if (pos + 8 + n > buf.length) {
      this.fail(`truncated ${where}: ${miName(type)} element at offset ${pos} says ${n} bytes, ${buf.length - pos - 8} left`);
    }
    // Elements are padded to 8 bytes; a compressed element is not (its count is exact).
    const padded = type === MI_COMPRESSED ? n : Math.ceil(n / 8) * 8;
    return { type, data: buf.subarray(pos + 8, pos + 8 + n), next: Math.min(buf.length, pos + 8 + padded) };
  }

  /** Reads numeric element data of storage type `type` into doubles. */
  numbers(el: Element, where: string): Float64Array {
    const size = MI_SIZE[el.type];
    if (size === undefined) this.fail(`${where}: expected numeric data, got ${miName(el.type)}`);
    if (el.data.length % size !== 0)
      this.fail(`${where}: ${el.data.length} bytes is not a whole number of ${size}-byte ${miName(el.type)} values`);
    const n = el.data.length / size;
    const v = new DataView(el.data.buffer, el.data.byteOffset, el.data.byteLength);
    const out = new Float64Array(n);
    const le = this.le;
    const get: (o: number) => number = {
      1: (o: number) => v.getInt8(o),
      2: (o: number) => v.getUint8(o),
      3: (o: number) => v.getInt16(o, le),
      4: (o: number) => v.getUint16(o, le),
      5: (o: number) => v.getInt32(o, le),
      6: (o: number) => v.getUint32(o, le),
      7: (o: number) => v.getFloat32(o, le),
      9: (o: number) => v.getFloat64(o, le),
      12: (o: number) => Number(v.getBigInt64(o, le)),
      13: (o: number) => Number(v.getBigUint64(o, le)),
    }[el.type]!;
    for (let i = 0; i < n; i++) out[i] = get(i * size);
    return out;
  }

  /** Parses the contents of a miMATRIX element; undefined for a non-numeric class. */
  matrix(buf: Uint8Array, where: string): MatArray | undefined {
    const flags = this.element(buf, 0, `${where} array flags`);
    if (flags.type !== MI_UINT32 || flags.data.length !== 8) {
      this.fail(`${where}: expected array flags (miUINT32, 8 bytes), got ${miName(flags.type)} of ${flags.data.length} bytes`);
    }
    const flagWord = new DataView(flags.data.buffer, flags.data.byteOffset, 8).getUint32(0, this.le);
    const cls = flagWord & 0xff;
    const dimsEl = this.element(buf, flags.next, `${where} dimensions`);
    if (dimsEl.type !== MI_INT32) this.fail(`${where}: expected dimensions as miINT32, got ${miName(dimsEl.type)}`);
    const dims = Array.from(this.numbers(dimsEl, `${where} dimensions`));
    if (dims.length < 2 || dims.some((d) => !(d >= 0))) this.fail(`${where}: bad dimensions [${dims.join(', ')}]`);
    const nameEl = this.element(buf, dimsEl.next, `${where} name`);
    if (nameEl.type !== MI_INT8) this.fail(`${where}: expected the array name as miINT8, got ${miName(nameEl.type)}`);
    const name = Buffer.from(nameEl.data).toString('latin1');
    if (cls < 6 || cls > 15) return undefined; // char, cell, struct, sparse, object: not read
    const what = `variable '${name}'`;
    const real = this.element(buf, nameEl.next, `${what} real part`);
    const data = this.numbers(real, `${what} real part`);
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      this.fail(`${what}: dimensions ${dims.join('x')} need ${count} values, the real part has ${data.length}`);
    }
    const className = flagWord & LOGICAL_FLAG ? 'logical' : MX_NAMES[cls];
    return { name, dims, data, className };
  }
}

/** Parses the bytes of a MAT-file; `source` names it in error messages. */
export function parseMat(bytes: Uint8Array, source: string): Map<string, MatArray> {
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  if (bytes.length < 128) fail(`not a MATLAB 5 MAT-file: ${bytes.length} bytes, shorter than the 128-byte header`);
  const text = Buffer.from(bytes.subarray(0, 116)).toString('latin1');
  const endian = String.fromCharCode(bytes[126], bytes[127]);
  if (endian !== 'IM' && endian !== 'MI') {
    if (bytes[0] === 0 || bytes[1] === 0 || bytes[2] === 0 || bytes[3] === 0) {
      fail('not a MATLAB 5 MAT-file: it looks like a Level 4 MAT-file (re-save it in MATLAB with -v7)');
    }
    fail(`not a MATLAB 5 MAT-file: the endian indicator at bytes 126..127 is ${JSON.stringify(endian)}, expected "IM" or "MI"`);
  }
  const le = endian === 'IM';
  const version = new DataView(bytes.buffer, bytes.byteOffset + 124, 2).getUint16(0, le);
  if (version === 0x0200 || text.startsWith('MATLAB 7.3')) {
    fail('is a MATLAB 7.3 (HDF5) MAT-file, which this reader does not read; re-save it in MATLAB with -v7');
  }
  if (version !== 0x0100) fail(`unsupported MAT-file version 0x${version.toString(16).padStart(4, '0')} (expected 0x0100)`);
  const r = new Reader(source, le);
  const vars = new Map<string, MatArray>();
  let pos = 128;
  while (pos < bytes.length) {
    const el = r.element(bytes, pos, 'file');
    const where = `data element at offset ${pos}`;
    let matrix: Uint8Array;
    if (el.type === MI_COMPRESSED) {
      let raw: Uint8Array;
      try {
        raw = inflateSync(el.data);
      } catch (e) {
        return fail(`${where}: corrupt miCOMPRESSED data (${(e as Error).message})`);
      }
      const inner = r.element(raw, 0, `compressed ${where}`);
      if (inner.type !== MI_MATRIX) fail(`${where}: compressed data holds ${miName(inner.type)}, expected miMATRIX`);
      matrix = inner.data;
    } else if (el.type === MI_MATRIX) {
      matrix = el.data;
    } else {
      return fail(`${where}: expected miMATRIX or miCOMPRESSED, got ${miName(el.type)}`);
    }
    // An empty miMATRIX (0 bytes) is an empty array; nothing to read.
    if (matrix.length > 0) {
      const arr = r.matrix(matrix, where);
      if (arr) vars.set(arr.name, arr);
    }
    pos = el.next;
  }
  return vars;
}

/** Reads and parses a MAT-file: a Map from variable name to its array. */
export function readMat(path: string): Map<string, MatArray> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseMat(bytes, path);
}

/** The variable `name` of a parsed file, or an Error naming the file and the variables it has. */
export function matVariable(vars: Map<string, MatArray>, name: string, source: string): MatArray {
  const v = vars.get(name);
  if (!v) {
    const has = [...vars.keys()];
    throw new Error(`${source}: no numeric variable '${name}' (${has.length ? `has ${has.map((n) => `'${n}'`).join(', ')}` : 'has none'})`);
  }
  return v;
}
