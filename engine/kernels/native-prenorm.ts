/**
 * Pre-norm layers in bf16 on the native addon (native/linear.h): a ViT block's LayerNorm fused
 * with the product it feeds, so that the LayerNorm (and the MLP's GELU) are written straight to
 * the bf16 inputs of the next product and their fp32 outputs are never stored. Registered as
 * sslbench's own kernels for the wasm and cpu backends; the ops are engine/ops/pre-norm.ts.
 * bf16 tensors (xb, yb) are float32 tensors of ceil(n / 2) elements holding the halves.
 */
import { tf } from '../tf.ts';
import type { NativeAddon } from './native-addon.ts';
import { memoryOf } from './backend-memory.ts';
import { ownKernelRegistrar } from './kernel-overrides.ts';

export const NATIVE_PRENORM_KERNELS = ['SslNormMlpFwd', 'SslNormMlpBwd', 'SslNormAttentionFwd', 'SslNormAttentionBwd'] as const;
export type NativePrenormKernel = (typeof NATIVE_PRENORM_KERNELS)[number];

const halves = (n: number) => [Math.ceil(n / 2)];

export function installNativePrenorm(addon: NativeAddon, backendName: 'wasm' | 'cpu'): { kernels: string[]; restore(): void } {
  const reg = ownKernelRegistrar<NativePrenormKernel>(backendName);

  // x [rows, d], gamma, beta, w1 [d, hid], b1, w2 [hid, d], b2 -> out (x + MLP(LN(x))), mean, rstd, xb, h (fc1's product before its bias b1), yb
  reg('SslNormMlpFwd', ({ x, gamma, beta, w1, b1, w2, b2 }, attrs, backend) => {
    const mem = memoryOf(backendName, backend);
    const [rows, d] = x.shape,
      hid = w1.shape[1];
    const out = mem.alloc([rows, d]),
      mean = mem.alloc([rows]),
      rstd = mem.alloc([rows]),
      xb = mem.alloc(halves(rows * d)),
      h = mem.alloc([rows, hid]),
      yb = mem.alloc(halves(rows * hid));
    addon.normMlpFwd(
      mem.view(x),
      mem.view(gamma),
      mem.view(beta),
      mem.view(w1),
      mem.view(b1),
      mem.view(w2),
      mem.view(b2),
      mem.view(mean),
      mem.view(rstd),
      mem.view(xb),
      mem.view(h),
      mem.view(yb),
      mem.view(out),
      rows,
      d,
      hid,
      attrs.eps as number,
    );
    return [out, mean, rstd, xb, h, yb];
  });

  // -> dx (the skip connection's dout included), dgamma, dbeta, dw1, db1, dw2, db2
  reg('SslNormMlpBwd', ({ dout, x, mean, rstd, gamma, xb, w1, b1, h, yb, w2 }, _attrs, backend) => {
    const mem = memoryOf(backendName, backend);
    const [rows, d] = x.shape,
      hid = w1.shape[1];
    const dx = mem.alloc([rows, d]),
      dg = mem.alloc([d]),
      dbeta = mem.alloc([d]),
      dw1 = mem.alloc([d, hid]),
      db1 = mem.alloc([hid]),
      dw2 = mem.alloc([hid, d]),
      db2 = mem.alloc([d]);
    addon.normMlpBwd(
      mem.view(dout),
      mem.view(x),
      mem.view(mean),
      mem.view(rstd),
      mem.view(gamma),
      mem.view(xb),
      mem.view(w1),
      mem.view(b1),
      mem.view(h),
      mem.view(yb),
      mem.view(w2),
      mem.view(dx),
      mem.view(dg),
      mem.view(dbeta),
      mem.view(dw1),
      mem.view(db1),
      mem.view(dw2),
      mem.view(db2),
      rows,
      d,
      hid,
    );
    return [dx, dg, dbeta, dw1, db1, dw2, db2];
  });

  // x [B, T, D], gamma, beta, wq [D, 3D], bq, wp [D, D], bp -> out (x + proj(attention(qkv(LN(x))))), mean, rstd, xb, qkvb, p, ob
  reg('SslNormAttentionFwd', ({ x, gamma, beta, wq, bq, wp, bp }, attrs, backend) => {
    const mem = memoryOf(backendName, backend);
    const [b, t, d] = x.shape,
      heads = attrs.heads as number,
      rows = b * t;
    const out = mem.alloc([b, t, d]),
      mean = mem.alloc([rows]),
      rstd = mem.alloc([rows]),
      xb = mem.alloc(halves(rows * d)),
      qkvb = mem.alloc(halves(rows * 3 * d)),
      p = mem.alloc([b, heads, t, t]),
      ob = mem.alloc(halves(rows * d));
    addon.normAttentionFwd(
      mem.view(x),
      mem.view(gamma),
      mem.view(beta),
      mem.view(wq),
      mem.view(bq),
      mem.view(wp),
      mem.view(bp),
      mem.view(mean),
      mem.view(rstd),
      mem.view(xb),
      mem.view(qkvb),
      mem.view(p),
      mem.view(ob),
      mem.view(out),
      b,
      t,
      d,
      heads,
      attrs.eps as number,
    );
    return [out, mean, rstd, xb, qkvb, p, ob];
  });

  // -> dx (the skip connection's dout included), dgamma, dbeta, dwq, dbq, dwp, dbp
  reg('SslNormAttentionBwd', ({ dout, x, mean, rstd, gamma, xb, wq, qkvb, p, ob, wp }, attrs, backend) => {
    const mem = memoryOf(backendName, backend);
    const [b, t, d] = x.shape;
    const dx = mem.alloc([b, t, d]),
      dg = mem.alloc([d]),
      dbeta = mem.alloc([d]),
      dwq = mem.alloc([d, 3 * d]),
      dbq = mem.alloc([3 * d]),
      dwp = mem.alloc([d, d]),
      dbp = mem.alloc([d]);
    addon.normAttentionBwd(
      mem.view(dout),
      mem.view(x),
      mem.view(mean),
      mem.view(rstd),
      mem.view(gamma),
      mem.view(xb),
      mem.view(wq),
      mem.view(qkvb),
      mem.view(p),
      mem.view(ob),
      mem.view(wp),
      mem.view(dx),
      mem.view(dg),
      mem.view(dbeta),
      mem.view(dwq),
      mem.view(dbq),
      mem.view(dwp),
      mem.view(dbp),
      b,
      t,
      d,
      attrs.heads as number,
    );
    return [dx, dg, dbeta, dwq, dbq, dwp, dbp];
  });

  return {
    kernels: [...NATIVE_PRENORM_KERNELS],
    restore() {
      for (const k of NATIVE_PRENORM_KERNELS) if (tf.getKernel(k, backendName)) tf.unregisterKernel(k, backendName);
    },
  };
}
