/**
 * A MAT-file (Level 5) writer for test fixtures, written from the format description (128-byte
 * header, 8-byte-aligned data elements with tags, small-element form, miMATRIX, miCOMPRESSED),
 * independently of data/matlab-v5.ts.
 */
import { deflateSync } from 'node:zlib';

export type Storage = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'single' | 'double';
export const MI: Record<Storage, [type: number, size: number]> = {
  int8: [1, 1],
  uint8: [2, 1],
  int16: [3, 2],
  uint16: [4, 2],
  int32: [5, 4],
  uint32: [6, 4],
  single: [7, 4],
  double: [9, 8],
};
export const MX: Record<string, number> = {
  cell: 1,
  char: 4,
  double: 6,
  single: 7,
  int8: 8,
  uint8: 9,
  int16: 10,
  uint16: 11,
  int32: 12,
  uint32: 13,
};

export function u32(v: number, le: boolean): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v);
  else b.writeUInt32BE(v);
  return b;
}

/** A data element: tag + data + zero padding to 8 bytes (small format when asked and it fits). */
export function element(type: number, data: Buffer, le: boolean, small = false): Buffer {
  if (small && data.length <= 4) {
    const word = ((data.length << 16) | type) >>> 0;
    return Buffer.concat([u32(word, le), data, Buffer.alloc(4 - data.length)]);
  }
  const pad = (8 - (data.length % 8)) % 8;
  return Buffer.concat([u32(type, le), u32(data.length, le), data, Buffer.alloc(pad)]);
}

export function values(storage: Storage, vals: number[], le: boolean): Buffer {
  const [, size] = MI[storage];
  const b = Buffer.alloc(vals.length * size);
  vals.forEach((v, i) => {
    const o = i * size;
    switch (storage) {
      case 'int8':
        b.writeInt8(v, o);
        break;
      case 'uint8':
        b.writeUInt8(v, o);
        break;
      case 'int16':
        le ? b.writeInt16LE(v, o) : b.writeInt16BE(v, o);
        break;
      case 'uint16':
        le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o);
        break;
      case 'int32':
        le ? b.writeInt32LE(v, o) : b.writeInt32BE(v, o);
        break;
      case 'uint32':
        le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o);
        break;
      case 'single':
        le ? b.writeFloatLE(v, o) : b.writeFloatBE(v, o);
        break;
      case 'double':
        le ? b.writeDoubleLE(v, o) : b.writeDoubleBE(v, o);
        break;
    }
  });
  return b;
}

export interface Var {
  name: string;
  cls: string;
  dims: number[];
  storage: Storage;
  vals: number[];
}

/** A whole miMATRIX element for a numeric (or char) array. */
export function matrix(v: Var, le: boolean, smallNames = true): Buffer {
  const flags = Buffer.concat([u32(MX[v.cls], le), u32(0, le)]);
  const dims = Buffer.concat(v.dims.map((d) => u32(d, le)));
  const body = Buffer.concat([
    element(6, flags, le), // miUINT32
    element(5, dims, le), // miINT32
    element(1, Buffer.from(v.name, 'latin1'), le, smallNames), // miINT8
    element(MI[v.storage][0], values(v.storage, v.vals, le), le, true),
  ]);
  return element(14, body, le);
}

export function header(
  le: boolean,
  text = 'MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024',
  version = 0x0100,
): Buffer {
  const h = Buffer.alloc(128, 0x20);
  h.write(text, 0, 'latin1');
  h.fill(0, 116, 124); // subsystem data offset
  if (le) {
    h.writeUInt16LE(version, 124);
    h.write('IM', 126, 'latin1');
  } else {
    h.writeUInt16BE(version, 124);
    h.write('MI', 126, 'latin1');
  }
  return h;
}

/** A MAT-file holding `vars`; compressed ones are wrapped in miCOMPRESSED (zlib). */
export function matFile(vars: Var[], o: { le?: boolean; compress?: boolean } = {}): Buffer {
  const le = o.le ?? true;
  const parts = vars.map((v) => {
    const m = matrix(v, le);
    if (!o.compress) return m;
    const z = deflateSync(m);
    // Compressed elements are not padded.
    return Buffer.concat([u32(15, le), u32(z.length, le), z]);
  });
  return Buffer.concat([header(le), ...parts]);
}
