import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { matVariable, parseMat, readMat } from '../data/matlab-v5.ts';
import { element, header, matFile, matrix, values, type Storage, type Var } from './helpers/mat-writer.ts';

const tmp = mkdtempSync(join(tmpdir(), 'sslbench-mat-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

// --- Tests ---

test('matlab: uncompressed imagelabels-like file, double stored as miDOUBLE and as miUINT8', () => {
  const labels = [77, 77, 1, 102, 5];
  const p = write(
    'imagelabels.mat',
    matFile([
      { name: 'labels', cls: 'double', dims: [1, 5], storage: 'double', vals: labels },
      { name: 'a', cls: 'double', dims: [1, 3], storage: 'uint8', vals: [0, 200, 255] },
    ]),
  );
  const vars = readMat(p);
  assert.deepEqual([...vars.keys()], ['labels', 'a']);
  const l = matVariable(vars, 'labels', p);
  assert.deepEqual(l.dims, [1, 5]);
  assert.equal(l.className, 'double');
  assert.ok(l.data instanceof Float64Array);
  assert.deepEqual([...l.data], labels);
  assert.deepEqual([...vars.get('a')!.data], [0, 200, 255]);
});

test('matlab: compressed setid-like file with uint16 and double row vectors', () => {
  const bytes = matFile(
    [
      { name: 'trnid', cls: 'uint16', dims: [1, 4], storage: 'uint16', vals: [6765, 6755, 1, 8189] },
      { name: 'valid', cls: 'double', dims: [1, 2], storage: 'uint16', vals: [6773, 2] },
      { name: 'tstid', cls: 'double', dims: [1, 3], storage: 'double', vals: [6734, 3, 4] },
    ],
    { compress: true },
  );
  assert.equal(bytes.readUInt32LE(128), 15); // miCOMPRESSED
  const vars = parseMat(bytes, 'setid.mat');
  assert.equal(vars.get('trnid')!.className, 'uint16');
  assert.deepEqual([...vars.get('trnid')!.data], [6765, 6755, 1, 8189]);
  assert.deepEqual([...vars.get('valid')!.data], [6773, 2]);
  assert.deepEqual([...vars.get('tstid')!.data], [6734, 3, 4]);
});

test('matlab: every numeric storage type, negative values; a 2x3 array keeps the stored (column-major) order', () => {
  const cases: [Storage, string, number[]][] = [
    ['int8', 'int8', [-128, -1, 0, 1, 2, 127]],
    ['uint8', 'uint8', [0, 1, 2, 3, 254, 255]],
    ['int16', 'int16', [-32768, -2, 0, 7, 300, 32767]],
    ['uint16', 'uint16', [0, 1, 2, 3, 4, 65535]],
    ['int32', 'int32', [-2147483648, -5, 0, 5, 70000, 2147483647]],
    ['uint32', 'uint32', [0, 1, 2, 3, 4, 4294967295]],
    ['single', 'single', [-1.5, 0.25, 0, 3, 1e6, -7]],
    ['double', 'double', [Math.PI, -Math.E, 0, 1e-300, 1e300, -0.5]],
  ];
  for (const compress of [false, true]) {
    const vars = parseMat(
      matFile(
        cases.map(([s, cls, vals], i) => ({ name: `v${i}_${s}`, cls, dims: [2, 3], storage: s, vals })),
        { compress },
      ),
      'types.mat',
    );
    cases.forEach(([s, cls, vals], i) => {
      const v = vars.get(`v${i}_${s}`)!;
      assert.deepEqual(v.dims, [2, 3]);
      assert.equal(v.className, cls);
      assert.deepEqual([...v.data], vals, `${s} compress=${compress}`);
    });
  }
});

test('matlab: big-endian file, and names in the normal (non-small) element form', () => {
  const v: Var = { name: 'x', cls: 'double', dims: [1, 3], storage: 'int16', vals: [-3, 0, 1000] };
  const be = Buffer.concat([header(false), matrix(v, false, false)]);
  assert.deepEqual([...parseMat(be, 'be.mat').get('x')!.data], [-3, 0, 1000]);
});

test('matlab: non-numeric variables (char) are skipped, numeric ones still read', () => {
  const bytes = matFile([
    { name: 'txt', cls: 'char', dims: [1, 2], storage: 'uint16', vals: [104, 105] },
    { name: 'labels', cls: 'double', dims: [1, 2], storage: 'uint8', vals: [3, 4] },
  ]);
  const vars = parseMat(bytes, 'mixed.mat');
  assert.deepEqual([...vars.keys()], ['labels']);
});

test('matlab: errors name the file and what is wrong', () => {
  const good = matFile([{ name: 'labels', cls: 'double', dims: [1, 5], storage: 'double', vals: [1, 2, 3, 4, 5] }]);
  const trunc = write('trunc.mat', good.subarray(0, good.length - 9));
  assert.throws(
    () => readMat(trunc),
    (e: Error) => e.message.startsWith(`${trunc}: truncated file: miMATRIX element at offset 128 says`),
  );
  assert.throws(
    () => readMat(join(tmp, 'nope.mat')),
    (e: Error) => e.message.startsWith(`${join(tmp, 'nope.mat')}: cannot read:`),
  );
  assert.throws(
    () => parseMat(Buffer.alloc(50), 'short.mat'),
    /^Error: short.mat: not a MATLAB 5 MAT-file: 50 bytes, shorter than the 128-byte header$/,
  );
  const noEndian = Buffer.from(good);
  noEndian.write('XX', 126, 'latin1');
  assert.throws(() => parseMat(noEndian, 'x.mat'), /x.mat: not a MATLAB 5 MAT-file: the endian indicator at bytes 126..127 is "XX"/);
  const v73 = Buffer.concat([header(true, 'MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .', 0x0200), Buffer.alloc(512)]);
  assert.throws(
    () => parseMat(v73, 'new.mat'),
    /new.mat: is a MATLAB 7.3 \(HDF5\) MAT-file, which this reader does not read; re-save it in MATLAB with -v7/,
  );
  // The real part holds fewer values than the dimensions say.
  const short = matFile([{ name: 'labels', cls: 'double', dims: [1, 6], storage: 'double', vals: [1, 2, 3, 4, 5] }]);
  assert.throws(() => parseMat(short, 'f.mat'), /f.mat: variable 'labels': dimensions 1x6 need 6 values, the real part has 5/);
  // Corrupt zlib stream.
  const z = matFile([{ name: 'labels', cls: 'double', dims: [1, 1], storage: 'double', vals: [1] }], { compress: true });
  z.fill(0xff, 136, 140);
  assert.throws(() => parseMat(z, 'z.mat'), /z.mat: data element at offset 128: corrupt miCOMPRESSED data/);
  // A top-level element that is neither miMATRIX nor miCOMPRESSED.
  const odd = Buffer.concat([header(true), element(9, values('double', [1], true), true)]);
  assert.throws(() => parseMat(odd, 'odd.mat'), /odd.mat: data element at offset 128: expected miMATRIX or miCOMPRESSED, got miDOUBLE/);
  const vars = parseMat(good, 'good.mat');
  assert.throws(() => matVariable(vars, 'trnid', 'good.mat'), { message: "good.mat: no numeric variable 'trnid' (has 'labels')" });
});
