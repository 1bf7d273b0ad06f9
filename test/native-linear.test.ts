/**
 * The fused linear layers of the native path (native/linear.c: GEMM + bias / GELU / residual
 * epilogue, forward and backward), the GEMM routes (OpenBLAS, oneDNN fp32, oneDNN bf16) and the
 * precision switch: each against the unfused stock composition or a hand-made reference.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { initBackend, setPrecision } from '../engine/backend.ts';
import { nativeAddon, nativeStatus } from '../engine/kernels/native-addon.ts';
import { ONEDNN_MIN_MACS, ROUTE, fp32Route, precision, shapeClass } from '../engine/kernels/gemm-route.ts';
import { linear2d, type LinearEpilogue } from '../engine/ops/linear.ts';
import { assertClose, gradCheck, skipWithoutOnednn } from './helpers/backend.ts';

const addon = nativeAddon();
const skip = addon ? false : `native addon not built: ${nativeStatus()}`;
const onednn = addon?.onednn() ?? null;
const skipDnnl = skipWithoutOnednn();

/** A JS reference of round-to-nearest-even fp32 -> bf16 -> fp32; subnormals flush to signed zero (as AVX-512 BF16 does). */
function roundBf16Ref(x: Float32Array): Float32Array {
  const u = new Uint32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  for (let i = 0; i < u.length; i++) {
    const v = u[i];
    if ((v & 0x7f800000) === 0) u[i] = v & 0x80000000;
    else if ((v & 0x7f800000) === 0x7f800000 && v & 0x007fffff) u[i] = (v | 0x00400000) & 0xffff0000;
    else u[i] = ((v + 0x7fff + ((v >>> 16) & 1)) >>> 0) & 0xffff0000;
  }
  return new Float32Array(u.buffer);
}

function randn(n: number, seed: number, scale = 1): Float32Array {
  return (tf.randomNormal([n], 0, scale, 'float32', seed).dataSync() as Float32Array).slice();
}

interface Case {
  rows: number;
  inF: number;
  outF: number;
  bias: boolean;
  epi: 'none' | 'gelu' | 'residual';
}

const CASES: Case[] = [
  { rows: 7, inF: 5, outF: 3, bias: true, epi: 'none' },
  { rows: 7, inF: 5, outF: 3, bias: false, epi: 'none' },
  { rows: 150, inF: 37, outF: 70, bias: true, epi: 'gelu' }, // 3 blocks of 64 rows in the bias gradient, the last partial
  { rows: 150, inF: 37, outF: 70, bias: false, epi: 'gelu' },
  { rows: 150, inF: 37, outF: 70, bias: true, epi: 'residual' },
  { rows: 600, inF: 64, outF: 96, bias: true, epi: 'gelu' }, // big enough for threads and for oneDNN under 'auto'
  { rows: 600, inF: 96, outF: 64, bias: true, epi: 'residual' },
];

/** Output and gradients of sum(linear(x, w, b, epi) * r) for x, w, b (and the residual). */
function runCase(c: Case, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor2d(randn(c.rows * c.inF, seed), [c.rows, c.inF]);
    const w = tf.tensor2d(randn(c.inF * c.outF, seed + 1, 0.3), [c.inF, c.outF]);
    const b = tf.tensor1d(randn(c.outF, seed + 2));
    const res = tf.tensor2d(randn(c.rows * c.outF, seed + 3), [c.rows, c.outF]);
    const r = tf.tensor2d(randn(c.rows * c.outF, seed + 4), [c.rows, c.outF]);
    const inputs = [x, w, ...(c.bias ? [b] : []), ...(c.epi === 'residual' ? [res] : [])];
    const f = (...t: tf.Tensor[]) => {
      const epi: LinearEpilogue =
        c.epi === 'gelu' ? { act: 'gelu' } : c.epi === 'residual' ? { residual: t[c.bias ? 3 : 2] as tf.Tensor2D } : {};
      return linear2d(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, c.bias ? (t[2] as tf.Tensor1D) : undefined, epi);
    };
    const y = f(...inputs);
    const grads = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(f(...t), r)))(inputs);
    return [y, ...grads].map((t) => (t.dataSync() as Float32Array).slice());
  });
}

const NAMES = ['output', 'dx', 'dw', 'db / dres', 'dres'];

describe('fused linear layers (native/linear.c)', { skip }, () => {
  after(async () => {
    setPrecision('fp32');
    await initBackend('wasm', { native: true, threads: 1 });
  });

  for (const gemm of ['openblas', 'onednn', 'auto'] as const) {
    it(`equal the unfused stock ops, gradients included (bias, GELU, residual; --gemm ${gemm})`, {
      skip: gemm === 'openblas' ? false : skipDnnl,
    }, async () => {
      await initBackend('wasm', { native: false });
      const stock = CASES.map((c, i) => runCase(c, 10 * i + 1));
      await initBackend('wasm', { native: true, threads: 2, gemm });
      CASES.forEach((c, i) => {
        const got = runCase(c, 10 * i + 1);
        assert.equal(got.length, stock[i].length);
        got.forEach((v, j) => {
          assertClose(v, stock[i][j], 2e-5, 2e-5, `${JSON.stringify(c)} ${NAMES[j]}`);
        });
      });
    });
  }

  it('gradients of linear + GELU and linear + residual match finite differences', async () => {
    await initBackend('wasm', { native: true, threads: 1 });
    const x = tf.tensor2d(randn(9 * 4, 3), [9, 4]);
    const w = tf.tensor2d(randn(4 * 6, 4, 0.5), [4, 6]);
    const b = tf.tensor1d(randn(6, 5));
    const res = tf.tensor2d(randn(9 * 6, 6), [9, 6]);
    gradCheck((xi, wi, bi) => linear2d(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D, { act: 'gelu' }), [x, w, b]);
    gradCheck(
      (xi, wi, bi, ri) => linear2d(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D, { residual: ri as tf.Tensor2D }),
      [x, w, b, res],
    );
    tf.dispose([x, w, b, res]);
  });

  it('GELU with a residual is refused', async () => {
    await initBackend('wasm', { native: true, threads: 1 });
    const x = tf.zeros([2, 2]) as tf.Tensor2D;
    assert.throws(() => linear2d(x, x, undefined, { act: 'gelu', residual: x }), /GELU and a residual/);
    x.dispose();
  });

  it('add the bias, then the residual: (x W + b) + res bitwise, as the unfused ops round, on both libraries', async () => {
    await initBackend('wasm', { native: true, threads: 2 });
    const [rows, inF, outF] = [300, 96, 64];
    const x = randn(rows * inF, 21),
      w = randn(inF * outF, 22),
      b = randn(outF, 23),
      res = randn(rows * outF, 24);
    for (const route of onednn ? [ROUTE.openblas, ROUTE.onednn] : [ROUTE.openblas]) {
      const h = new Float32Array(rows * outF),
        c = new Float32Array(rows * outF);
      addon!.linearFwd(x, w, b, res, h, null, null, rows, inF, outF, 0, route);
      addon!.gemm(x, 0, 0, w, 0, 0, c, 0, 0, 1, rows, outF, inF, false, false, 0, route);
      const want = c.map((v, i) => Math.fround(Math.fround(v + b[i % outF]) + res[i]));
      assert.deepEqual(Buffer.from(h.buffer), Buffer.from(want.buffer), `route ${route}`);
    }
  });

  it('are deterministic: the same inputs give the same bytes twice (oneDNN, 2 threads)', { skip: skipDnnl }, async () => {
    await initBackend('wasm', { native: true, threads: 2, gemm: 'onednn' });
    const a = runCase(CASES[5], 3),
      b = runCase(CASES[5], 3);
    a.forEach((v, j) => {
      assert.deepEqual(Buffer.from(v.buffer), Buffer.from(b[j].buffer), NAMES[j]);
    });
  });
});

describe('GEMM routes and shape classes', () => {
  it('classify products by size, batch and transposes; the boundary is ONEDNN_MIN_MACS', () => {
    assert.equal(ONEDNN_MIN_MACS, 2 ** 20);
    assert.equal(shapeClass(1, 64, 128, 127, false, false), 'small'); // 1,040,384 < 2^20
    assert.equal(shapeClass(1, 64, 128, 128, false, false), 'forward'); // exactly 2^20
    assert.equal(shapeClass(1, 64, 128, 128, false, true), 'input-grad');
    assert.equal(shapeClass(1, 64, 128, 128, true, false), 'weight-grad');
    assert.equal(shapeClass(2, 64, 64, 128, false, false), 'batched');
  });

  it('the addon rounds to bf16 as round-to-nearest-even does (ties, negatives, NaN, infinities, subnormals)', { skip }, () => {
    const special = new Float32Array([
      1,
      -1,
      1 + 2 ** -8,
      1 + 2 ** -7 + 2 ** -8,
      1 + 3 * 2 ** -9,
      3.5,
      -2.75,
      0,
      -0,
      1e-40,
      -1e-40,
      3e38,
      3e38,
      Number.NaN,
    ]);
    special.set([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], 11);
    assert.ok(Number.isNaN(special[13]));
    const x = new Float32Array([...special, ...randn(1000, 17, 100)]);
    const y = new Float32Array(x.length);
    addon!.roundBf16(x, y, x.length);
    const ref = roundBf16Ref(x);
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(ref[i])) assert.ok(Number.isNaN(y[i]), `NaN at ${i}`);
      else assert.equal(Object.is(y[i], ref[i]), true, `element ${i}: ${x[i]} -> ${y[i]}, expected ${ref[i]}`);
    }
    assert.equal(y[2], 1); // 1 + 2^-8 is a tie: rounds to the even 1
    assert.equal(y[3], 1 + 2 ** -6); // 1 + 2^-7 + 2^-8 is a tie: rounds to the even 1 + 2^-6
  });

  it('oneDNN fp32 and bf16 products equal OpenBLAS (bf16: on the rounded inputs), all transposes, batched, broadcast, beta 1', {
    skip: skipDnnl,
  }, () => {
    const cases: [number, number, number, number, boolean, boolean, boolean, boolean][] = [
      // batch, m, n, k, transA, transB, broadcast b, beta 1
      [1, 33, 17, 65, false, false, false, false],
      [1, 33, 17, 65, true, false, false, true],
      [1, 33, 17, 65, false, true, false, false],
      [1, 33, 17, 65, true, true, false, true],
      [3, 9, 11, 13, false, false, false, false],
      [3, 9, 11, 13, false, true, true, false],
    ];
    cases.forEach(([batch, m, n, k, ta, tb, bcast, beta1], ci) => {
      const a = randn(batch * m * k, 100 + ci),
        b = randn((bcast ? 1 : batch) * k * n, 200 + ci);
      const c0 = randn(batch * m * n, 300 + ci);
      const run = (route: number, A: Float32Array, B: Float32Array) => {
        const c = c0.slice();
        addon!.gemm(A, 0, m * k, B, 0, bcast ? 0 : k * n, c, 0, m * n, batch, m, n, k, ta, tb, beta1 ? 1 : 0, route);
        return c;
      };
      const blas = run(ROUTE.openblas, a, b);
      assertClose(run(ROUTE.onednn, a, b), blas, 1e-4, 1e-5, `case ${ci} oneDNN fp32`);
      const ar = roundBf16Ref(a.slice()),
        br = roundBf16Ref(b.slice());
      assertClose(run(ROUTE.onednnBf16, a, b), run(ROUTE.openblas, ar, br), 1e-4, 1e-5, `case ${ci} oneDNN bf16 vs fp32 on rounded inputs`);
      // and bf16 really rounds: it differs from the fp32 product
      assert.ok(
        run(ROUTE.onednnBf16, a, b).some((v, i) => Math.abs(v - blas[i]) > 1e-3),
        `case ${ci}: bf16 product equals the fp32 one`,
      );
    });
  });

  it('a route the addon cannot run is an error, not a silent fallback', { skip }, () => {
    const a = new Float32Array(4);
    assert.throws(() => addon!.gemm(a, 0, 0, a, 0, 0, a, 0, 0, 1, 2, 2, 1, false, false, 0, 7), /unknown GEMM route/);
    if (!onednn)
      assert.throws(() => addon!.gemm(a, 0, 0, a, 0, 0, a, 0, 0, 1, 2, 2, 1, false, false, 0, ROUTE.onednn), /oneDNN is not available/);
  });

  it('--gemm openblas or onednn without the native kernels is an error naming the flag', async () => {
    await assert.rejects(
      initBackend('wasm', { native: false, gemm: 'onednn' }),
      /--gemm onednn: needs the native kernels \(--no-native was given\)/,
    );
    await assert.rejects(initBackend('wasm', { native: false, gemm: 'openblas' }), /--gemm openblas: needs the native kernels/);
    await initBackend('wasm', { native: true, threads: 1 });
  });

  it("'auto' puts small products on OpenBLAS and the rest on oneDNN; 'openblas' pins all", { skip: skipDnnl }, async () => {
    await initBackend('wasm', { native: true, threads: 1, gemm: 'auto' });
    assert.equal(fp32Route(1, 8, 8, 8, false, false), ROUTE.openblas);
    assert.equal(fp32Route(1, 1024, 1024, 1, false, false), ROUTE.onednn);
    await initBackend('wasm', { native: true, threads: 1, gemm: 'openblas' });
    assert.equal(fp32Route(1, 1024, 1024, 1, false, false), ROUTE.openblas);
    await initBackend('wasm', { native: true, threads: 1 });
  });
});

describe('--precision bf16', () => {
  after(async () => {
    await initBackend('wasm', { native: true, threads: 1 });
    setPrecision('fp32');
  });

  it('is refused on the stock kernels, naming the flag and why', async () => {
    await initBackend('wasm', { native: false });
    assert.throws(() => setPrecision('bf16'), /--precision bf16: needs oneDNN on the native CPU kernels, and .*not active/);
    assert.equal(precision(), 'fp32');
  });

  it('a linear layer in bf16 computes the fp32 layer of its bf16-rounded inputs (fp32 accumulation), forward and backward', {
    skip: skipDnnl,
  }, async () => {
    await initBackend('wasm', { native: true, threads: 2 });
    const rows = 130,
      inF = 48,
      outF = 80;
    const xv = randn(rows * inF, 1),
      wv = randn(inF * outF, 2, 0.2),
      bv = randn(outF, 3),
      dyv = randn(rows * outF, 4);
    const run = (p: 'fp32' | 'bf16', X: Float32Array, W: Float32Array, DY: Float32Array) => {
      setPrecision(p);
      try {
        return tf.tidy(() => {
          const x = tf.tensor2d(X, [rows, inF]),
            w = tf.tensor2d(W, [inF, outF]),
            b = tf.tensor1d(bv);
          const dy = tf.tensor2d(DY, [rows, outF]);
          const y = linear2d(x, w, b);
          const g = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(linear2d(xi as tf.Tensor2D, wi as tf.Tensor2D, b), dy)))([
            x,
            w,
          ]);
          return [y, ...g].map((t) => (t.dataSync() as Float32Array).slice());
        });
      } finally {
        setPrecision('fp32');
      }
    };
    const bf = run('bf16', xv, wv, dyv);
    const fp = run('fp32', xv, wv, dyv);
    // forward: exactly the fp32 product of the rounded x and W
    const fwdRef = run('fp32', roundBf16Ref(xv.slice()), roundBf16Ref(wv.slice()), dyv)[0];
    assertClose(bf[0], fwdRef, 1e-5, 1e-5, 'bf16 forward vs fp32 on rounded inputs');
    // dx = round(dy) round(W)^T; dW = round(x)^T round(dy)
    const bwdRef = run('fp32', roundBf16Ref(xv.slice()), roundBf16Ref(wv.slice()), roundBf16Ref(dyv.slice()));
    assertClose(bf[1], bwdRef[1], 1e-5, 1e-5, 'bf16 dx');
    assertClose(bf[2], bwdRef[2], 1e-4, 1e-5, 'bf16 dw');
    // and it is not the fp32 layer: bf16's relative error (2^-9) shows
    const rel = Math.max(...bf[0].map((v, i) => Math.abs(v - fp[0][i]))) / Math.max(...fp[0].map(Math.abs));
    assert.ok(rel > 1e-4 && rel < 2e-2, `bf16 forward differs from fp32 by ${rel} of the largest output`);
  });

  it("a GELU layer's bias gradient in bf16 sums dy GELU'(h) over rows, h = the product of the rounded inputs + bias (float64 reference)", {
    skip: skipDnnl,
  }, async () => {
    await initBackend('wasm', { native: true, threads: 2 });
    const rows = 150,
      inF = 40,
      outF = 72;
    const xv = randn(rows * inF, 11),
      wv = randn(inF * outF, 12, 0.25),
      bv = randn(outF, 13, 0.5),
      dyv = randn(rows * outF, 14);
    setPrecision('bf16');
    let db: Float32Array;
    try {
      db = tf.tidy(() => {
        const [x, w, b] = [tf.tensor2d(xv, [rows, inF]), tf.tensor2d(wv, [inF, outF]), tf.tensor1d(bv)];
        const dy = tf.tensor2d(dyv, [rows, outF]);
        const g = tf.grad((bi: tf.Tensor) => tf.sum(tf.mul(linear2d(x, w, bi as tf.Tensor1D, { act: 'gelu' }), dy)))(b);
        return (g.dataSync() as Float32Array).slice();
      });
    } finally {
      setPrecision('fp32');
    }
    // erf by its Taylor series in float64 (|x| <= 5 here), GELU'(h) = Phi(h) + h phi(h)
    const erf = (z: number) => {
      if (Math.abs(z) > 5) return Math.sign(z);
      let term = z,
        sum = z;
      for (let n = 1; n < 200 && Math.abs(term) > 1e-17; n++) {
        term *= (-z * z) / n;
        sum += term / (2 * n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    const geluGrad = (h: number) => 0.5 * (1 + erf(h / Math.SQRT2)) + (h * Math.exp(-0.5 * h * h)) / Math.sqrt(2 * Math.PI);
    const xr = roundBf16Ref(xv.slice()),
      wr = roundBf16Ref(wv.slice());
    const ref = new Float64Array(outF);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < outF; j++) {
        let h = bv[j];
        for (let k = 0; k < inF; k++) h += xr[r * inF + k] * wr[k * outF + j];
        ref[j] += dyv[r * outF + j] * geluGrad(h);
      }
    const scale = Math.max(...ref.map(Math.abs));
    const worst = Math.max(...db.map((v, j) => Math.abs(v - ref[j])));
    assert.ok(worst < 1e-5 * scale, `bias gradient differs from the float64 reference by ${worst} (largest ${scale})`);
  });
});

describe('Slice and SplitV as row copies (engine/kernels/native-slice.ts)', { skip }, () => {
  after(async () => initBackend('wasm', { native: true, threads: 1 }));

  it('equal the stock kernels, gradients included, on the shapes a ViT and the heads slice (and fall back on short runs)', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor3d(randn(6 * 65 * 80, 9), [6, 65, 80]);
        const m = tf.tensor2d(randn(40 * 70, 10), [40, 70]);
        const outs = [
          tf.slice(x, [0, 0, 0], [6, 1, 80]),
          tf.slice(x, [1, 3, 0], [4, 60, -1]),
          tf.slice(x, [0, 0, 5], [6, 65, 3]), // runs of 3: stock kernel
          tf.slice(m, [10, 0], [20, 70]),
          ...tf.split(x, [1, 64], 1),
          ...tf.split(m, 2, 0),
          ...tf.split(x, [20, -1, 5], 2), // short runs: stock kernel
        ];
        const r = randn(6 * 64 * 80, 11);
        const [g] = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.split(t, [1, 64], 1)[1], tf.tensor3d(r, [6, 64, 80]))))([x]);
        return [...outs, g].map((t) => ({ shape: t.shape, v: (t.dataSync() as Float32Array).slice() }));
      });
    await initBackend('wasm', { native: false });
    const stock = run();
    await initBackend('wasm', { native: true, threads: 2 });
    const got = run();
    assert.equal(got.length, stock.length);
    got.forEach((o, i) => {
      assert.deepEqual(o.shape, stock[i].shape, `output ${i} shape`);
      assert.deepEqual(Buffer.from(o.v.buffer), Buffer.from(stock[i].v.buffer), `output ${i}`);
    });
  });
});
