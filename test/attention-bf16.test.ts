/**
 * The attention core at precision bf16 (native/attention_bf16.c): its products take bf16 inputs
 * with fp32 accumulation and the softmax stays fp32, as PyTorch's CPU autocast does. Checked
 * against a float64 reference that rounds exactly the products' inputs to bf16 (q, k, v, P, dout,
 * dS), on a fused qkv with heads interleaved; and through qkvAttention against its fp32 self.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../engine/tf.ts';
import { initBackend, setPrecision } from '../engine/backend.ts';
import { nativeAddon } from '../engine/kernels/native-addon.ts';
import { skipWithoutOnednn } from './helpers/backend.ts';
import { lcgRandoms } from './helpers/lcg.ts';
import { qkvAttention } from '../engine/ops/attention.ts';

const addon = nativeAddon();
const skip = skipWithoutOnednn();

const bf16 = (x: Float32Array) => {
  const y = new Float32Array(x.length);
  addon!.roundBf16(x, y, x.length);
  return y;
};
const f = Math.fround;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('attention core in bf16 (native/attention_bf16.c)', { skip }, () => {
  const threads0 = addon?.threads() ?? 1;
  after(() => addon?.setThreads(threads0));

  // [B, T, D, H]: heads of 8 (oneDNN's batched products), of 32 at 17 tokens (the short-sequence core,
  // native/attention_small.c: T <= 32, dh a multiple of 16), and 40 tokens (oneDNN again)
  const shapes = [
    [3, 7, 16, 2],
    [3, 17, 64, 2],
    [2, 40, 32, 2],
  ] as const;
  for (const threads of [1, 2])
    for (const [B, T, D, H] of shapes)
      it(`forward and backward: bf16 inputs to the four products, fp32 softmax (fused qkv, B ${B}, T ${T}, D ${D}, ${H} heads, ${threads} thread(s))`, () => {
        const a = addon!;
        a.setThreads(threads);
        const dh = D / H,
          ld = 3 * D,
          scale = 1 / Math.sqrt(dh);
        const qkv = lcgRandoms(B * T * ld, 11, 1.5);
        const dout = lcgRandoms(B * T * D, 12);
        const out = new Float32Array(B * T * D),
          p = new Float32Array(B * H * T * T);
        a.attentionFwd(qkv, qkv.subarray(D), qkv.subarray(2 * D), out, p, B, T, D, H, ld, true);
        const dqkv = new Float32Array(B * T * ld);
        a.attentionBwd(
          dout,
          qkv,
          qkv.subarray(D),
          qkv.subarray(2 * D),
          p,
          dqkv,
          dqkv.subarray(D),
          dqkv.subarray(2 * D),
          B,
          T,
          D,
          H,
          ld,
          true,
        );

        const r = bf16(qkv),
          rOut = bf16(dout),
          rP = bf16(p);
        const Q = (b: number, t: number, h: number, j: number) => r[(b * T + t) * ld + h * dh + j];
        const K = (b: number, t: number, h: number, j: number) => r[(b * T + t) * ld + D + h * dh + j];
        const V = (b: number, t: number, h: number, j: number) => r[(b * T + t) * ld + 2 * D + h * dh + j];
        const O = (b: number, t: number, h: number, j: number) => rOut[(b * T + t) * D + h * dh + j];
        const wantP = new Float64Array(p.length),
          wantOut = new Float64Array(out.length),
          wantDq = new Float64Array(dqkv.length),
          wantDk = new Float64Array(dqkv.length),
          wantDv = new Float64Array(dqkv.length);
        for (let b = 0; b < B; b++)
          for (let h = 0; h < H; h++) {
            const base = (b * H + h) * T * T;
            // P = softmax(scale q k^T): float64 from the bf16 inputs (the kernel's P is fp32: compared within 1e-6)
            for (let i = 0; i < T; i++) {
              const s: number[] = [];
              for (let j = 0; j < T; j++) {
                let acc = 0;
                for (let c = 0; c < dh; c++) acc += Q(b, i, h, c) * K(b, j, h, c);
                s.push(acc * scale);
              }
              const m = Math.max(...s);
              const e = s.map((x) => Math.exp(x - m));
              const z = e.reduce((x, y) => x + y, 0);
              e.forEach((x, j) => {
                wantP[base + i * T + j] = x / z;
              });
            }
            // out = bf16(P) v, from the kernel's own P (its rounding to bf16 is the product's input)
            for (let i = 0; i < T; i++)
              for (let c = 0; c < dh; c++) {
                let acc = 0;
                for (let j = 0; j < T; j++) acc += rP[base + i * T + j] * V(b, j, h, c);
                wantOut[(b * T + i) * D + h * dh + c] = acc;
              }
            // dS = scale softmax_bwd(dout v^T, P) in fp32 steps, rounded to bf16 (the kernel sums dP P in 16 partial
            // sums: its sum may be an ulp apart, which on these inputs moves no bf16 rounding)
            const dS = new Float32Array(T * T);
            for (let i = 0; i < T; i++) {
              const dP: number[] = [];
              for (let j = 0; j < T; j++) {
                let acc = 0;
                for (let c = 0; c < dh; c++) acc += O(b, i, h, c) * V(b, j, h, c);
                dP.push(f(acc));
              }
              let sum = 0;
              for (let j = 0; j < T; j++) sum = f(sum + f(dP[j] * p[base + i * T + j]));
              for (let j = 0; j < T; j++) dS[i * T + j] = f(f(p[base + i * T + j] * f(dP[j] - sum)) * f(scale));
            }
            const rS = bf16(dS);
            for (let i = 0; i < T; i++)
              for (let c = 0; c < dh; c++) {
                let dq = 0,
                  dk = 0,
                  dv = 0;
                for (let j = 0; j < T; j++) {
                  dq += rS[i * T + j] * K(b, j, h, c);
                  dk += rS[j * T + i] * Q(b, j, h, c);
                  dv += rP[base + j * T + i] * O(b, j, h, c);
                }
                const at = (b * T + i) * ld + h * dh + c;
                wantDq[at] = dq;
                wantDk[at + D] = dk;
                wantDv[at + 2 * D] = dv;
              }
          }
        assert.ok(maxDiff(p, wantP) < 1e-6, `P: ${maxDiff(p, wantP)}`);
        assert.ok(maxDiff(out, wantOut) < 1e-5, `out: ${maxDiff(out, wantOut)}`);
        const pick = (x: ArrayLike<number>, off: number) => {
          const y: number[] = [];
          for (let rI = 0; rI < B * T; rI++) for (let c = 0; c < D; c++) y.push(x[rI * ld + off + c]);
          return y;
        };
        for (const [name, off, want] of [
          ['dq', 0, wantDq],
          ['dk', D, wantDk],
          ['dv', 2 * D, wantDv],
        ] as const) {
          const d = maxDiff(pick(dqkv, off), pick(want, off));
          assert.ok(d < 1e-5, `${name}: ${d}`);
        }
      });

  it('qkvAttention at precision bf16: near its fp32 self, gradients too, and not the same numbers', async () => {
    await initBackend('wasm', { native: true, threads: 2 });
    const run = (p: 'fp32' | 'bf16') => {
      setPrecision(p);
      return tf.tidy(() => {
        const qkv = tf.randomNormal([4, 9, 48], 0, 1, 'float32', 5);
        const r = tf.randomNormal([4, 9, 16], 0, 1, 'float32', 6);
        const f = (x: tf.Tensor) => tf.sum(tf.mul(qkvAttention(x, 4), r));
        const y = qkvAttention(qkv, 4).dataSync().slice();
        const g = tf.grad(f)(qkv).dataSync().slice();
        return [y, g];
      });
    };
    try {
      const [y32, g32] = run('fp32');
      const [y16, g16] = run('bf16');
      const dy = maxDiff(y16, y32),
        dg = maxDiff(g16, g32);
      assert.ok(dy > 0 && dy < 3e-2, `output: ${dy}`);
      assert.ok(dg > 0 && dg < 5e-2, `gradient: ${dg}`);
    } finally {
      setPrecision('fp32');
    }
  });
});
