/**
 * Reader (and a small writer) for IDX files, the format of MNIST and Fashion-MNIST:
 * a big-endian header `00 00 <dtype> <ndims>`, ndims big-endian uint32 sizes, then the data.
 * Files may be gzipped (detected by the 1f 8b magic) or raw. Only dtype 0x08 (unsigned byte) is
 * read. Every error is an Error whose message starts with the file path and says what is wrong.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

export interface IdxArray {
  dtype: 'ubyte';
  dims: number[];
  data: Uint8Array;
}

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count * rows * cols bytes, row-major per image. */
  pixels: Uint8Array;
}

const UBYTE = 0x08;
const DTYPE_NAMES: Record<number, string> = {
  8: 'unsigned byte',
  9: 'signed byte',
  11: 'int16',
  12: 'int32',
  13: 'float32',
  14: 'float64',
};

const hex = (v: number, digits: number): string => `0x${(v >>> 0).toString(16).padStart(digits, '0')}`;

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses IDX bytes (gzipped or raw); `source` names the file in error messages. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  let raw = bytes;
  const gz = isGzip(bytes);
  if (gz) {
    try {
      raw = gunzipSync(bytes);
    } catch (e) {
      fail(`truncated or corrupt gzip data (${(e as Error).message})`);
    }
  }
  const after = gz ? ' after gunzip' : '';
  if (raw.length < 4) fail(`truncated: ${raw.length} bytes${after}, too short for the 4-byte IDX magic`);
  const magic = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
  if (raw[0] !== 0 || raw[1] !== 0) fail(`not an IDX file: bad magic ${hex(magic, 8)} (the first two bytes must be 0)`);
  const dtype = raw[2];
  if (dtype !== UBYTE) {
    const name = DTYPE_NAMES[dtype] ?? 'unknown';
    fail(`unsupported IDX data type ${hex(dtype, 2)} (${name}); only 0x08 (unsigned byte) is supported`);
  }
  const ndims = raw[3];
  if (ndims === 0) fail(`bad magic ${hex(magic, 8)}: 0 dimensions`);
  const headerLen = 4 + 4 * ndims;
  if (raw.length < headerLen) {
    fail(`truncated header: ${ndims} dimensions need ${headerLen} header bytes, file has ${raw.length}${after}`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  let expected = 1;
  for (let d = 0; d < ndims; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    dims.push(n);
    expected *= n;
  }
  const have = raw.length - headerLen;
  const shape = dims.join('x');
  if (have < expected) fail(`truncated: header says ${shape} = ${expected} bytes of data, file has ${have}${after}`);
  if (have > expected) {
    fail(`length mismatch: header says ${shape} = ${expected} bytes of data, file has ${have}${after} (${have - expected} extra)`);
  }
  return { dtype: 'ubyte', dims, data: raw.subarray(headerLen, headerLen + expected) };
}

/** Reads and parses one IDX file. */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  return parseIdx(bytes, path);
}

function expectDims(arr: IdxArray, n: number, what: string, path: string): void {
  if (arr.dims.length !== n) {
    throw new Error(
      `${path}: expected ${what} with ${n} dimension${n === 1 ? '' : 's'} (magic 0x0000080${n}), ` +
        `file has ${arr.dims.length} (${arr.dims.join('x')}, magic 0x0000080${arr.dims.length})`,
    );
  }
}

/** Reads an IDX image file: magic 0x00000803, dims [count, rows, cols]. */
export function readIdxImages(path: string): IdxImages {
  const arr = readIdx(path);
  expectDims(arr, 3, 'images', path);
  const [count, rows, cols] = arr.dims;
  return { count, rows, cols, pixels: arr.data };
}

/** Reads an IDX label file: magic 0x00000801, dims [count]. */
export function readIdxLabels(path: string): Uint8Array {
  const arr = readIdx(path);
  expectDims(arr, 1, 'labels', path);
  return arr.data;
}

/** Reads an image file and its label file, checking that they hold the same number of items. */
export function readIdxPair(imagesPath: string, labelsPath: string): IdxImages & { labels: Uint8Array } {
  const images = readIdxImages(imagesPath);
  const labels = readIdxLabels(labelsPath);
  if (labels.length !== images.count) {
    throw new Error(`${labelsPath}: has ${labels.length} labels but ${imagesPath} has ${images.count} images`);
  }
  return { ...images, labels };
}

/** Encodes an unsigned-byte IDX file (gzipped when `gzip` is true). */
export function encodeIdx(dims: number[], data: Uint8Array, options: { gzip?: boolean } = {}): Buffer {
  if (dims.length < 1 || dims.length > 255) throw new Error(`encodeIdx: need 1..255 dimensions, got ${dims.length}`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`encodeIdx: dims ${dims.join('x')} = ${n} bytes, data has ${data.length}`);
  const out = Buffer.alloc(4 + 4 * dims.length + n);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => {
    out.writeUInt32BE(d, 4 + 4 * i);
  });
  out.set(data, 4 + 4 * dims.length);
  return options.gzip ? gzipSync(out) : out;
}
