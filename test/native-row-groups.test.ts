// The native LayerNorm kernels take rows 8 at a time and sum the rows of a group side by side in
// SIMD lanes (native/row_stats.h); softmax sums each row in index order. Each row's sums stay
// serial in index order, so a row must come out bit for bit as when it is the only row (the plain
// loop), whatever its place in a group, for the rows left over, and at 1 or 2 threads. dgamma /
// dbeta are summed over rows in row order, whatever the thread count.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { nativeAddon, nativeStatus } from '../engine/kernels/native-addon.ts';
import { lcgRandoms } from './helpers/lcg.ts';

const addon = nativeAddon();
const skip = addon ? false : `native addon not built: ${nativeStatus()}`;

const row = (a: Float32Array, r: number, d: number) => a.slice(r * d, (r + 1) * d);

/** 37 rows: four full groups of 8 and 5 left over; d = 1000 puts 37 rows over the threading threshold. */
const SHAPES: [number, number][] = [
  [37, 1000],
  [37, 64],
  [16, 197],
  [8, 5],
];

describe('native LayerNorm / softmax: rows in SIMD groups give the numbers of one row alone', { skip }, () => {
  const threads0 = addon?.threads() ?? 1;
  after(() => addon?.setThreads(threads0));

  for (const threads of [1, 2]) {
    for (const [rows, d] of SHAPES) {
      it(`LayerNorm forward and backward, [${rows}, ${d}], ${threads} thread(s)`, () => {
        const a = addon!;
        a.setThreads(threads);
        const x = lcgRandoms(rows * d, 1, 3);
        // rows with different offsets, so that the rows of a group have different statistics
        for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) x[r * d + j] += r - 10;
        const g = lcgRandoms(d, 2);
        const b = lcgRandoms(d, 3);
        const dy = lcgRandoms(rows * d, 4);
        const y = new Float32Array(rows * d);
        const mean = new Float32Array(rows);
        const rstd = new Float32Array(rows);
        a.layerNormFwd(x, g, b, y, mean, rstd, rows, d, 1e-6);
        const dx = new Float32Array(rows * d);
        a.layerNormBwd(dy, x, mean, rstd, g, dx, null, null, rows, d);
        for (let r = 0; r < rows; r++) {
          const y1 = new Float32Array(d);
          const m1 = new Float32Array(1);
          const s1 = new Float32Array(1);
          a.layerNormFwd(row(x, r, d), g, b, y1, m1, s1, 1, d, 1e-6);
          assert.deepEqual([mean[r], rstd[r]], [m1[0], s1[0]], `row ${r}: mean, 1/std`);
          assert.deepEqual(row(y, r, d), y1, `row ${r}: y`);
          const dx1 = new Float32Array(d);
          a.layerNormBwd(row(dy, r, d), row(x, r, d), m1, s1, g, dx1, null, null, 1, d);
          assert.deepEqual(row(dx, r, d), dx1, `row ${r}: dx`);
        }
      });

      it(`softmax forward and backward, [${rows}, ${d}], ${threads} thread(s)`, () => {
        const a = addon!;
        a.setThreads(threads);
        const x = lcgRandoms(rows * d, 5, 4);
        const dy = lcgRandoms(rows * d, 6);
        const y = new Float32Array(rows * d);
        const dx = new Float32Array(rows * d);
        a.softmaxFwd(x, y, rows, d);
        a.softmaxBwd(dy, y, dx, rows, d);
        for (let r = 0; r < rows; r++) {
          const y1 = new Float32Array(d);
          a.softmaxFwd(row(x, r, d), y1, 1, d);
          assert.deepEqual(row(y, r, d), y1, `row ${r}: y`);
          const dx1 = new Float32Array(d);
          a.softmaxBwd(row(dy, r, d), y1, dx1, 1, d);
          assert.deepEqual(row(dx, r, d), dx1, `row ${r}: dx`);
        }
      });
    }
  }

  it('LayerNorm dgamma / dbeta: the same bits at 1 and 2 threads, and summed in row order', () => {
    const a = addon!;
    const [rows, d] = [300, 200]; // over the threading threshold; d not a multiple of the 32-column chunks
    const x = lcgRandoms(rows * d, 7, 2);
    const dy = lcgRandoms(rows * d, 8);
    const g = lcgRandoms(d, 9);
    const mean = new Float32Array(rows);
    const rstd = new Float32Array(rows);
    a.layerNormFwd(x, g, null, new Float32Array(rows * d), mean, rstd, rows, d, 1e-6);
    const grads = (threads: number) => {
      a.setThreads(threads);
      const dg = new Float32Array(d);
      const db = new Float32Array(d);
      a.layerNormBwd(dy, x, mean, rstd, g, new Float32Array(rows * d), dg, db, rows, d);
      return [dg, db];
    };
    const [dg1, db1] = grads(1);
    const [dg2, db2] = grads(2);
    assert.deepEqual(dg2, dg1);
    assert.deepEqual(db2, db1);
    // dbeta has no product to fuse: the row-order float sum, exactly
    const want = new Float32Array(d);
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) want[j] = Math.fround(want[j] + dy[r * d + j]);
    assert.deepEqual(db1, want);
    // dgamma: within rounding of the row-order sum (the compiler may fuse its product into the add)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += dy[r * d + j] * ((x[r * d + j] - mean[r]) * rstd[r]);
      assert.ok(Math.abs(dg1[j] - s) <= 1e-4 * (1 + Math.abs(s)), `dgamma[${j}] ${dg1[j]} vs ${s}`);
    }
  });
});
