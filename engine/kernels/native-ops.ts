/**
 * Fused kernels of the native addon (LayerNorm, exact GELU, softmax, the multi-head attention
 * core; forward and backward), registered under sslbench's own kernel names for the wasm and cpu backends. The
 * engine's ops (engine/ops/*) call them through `runNative` when they are installed, and compose
 * stock tfjs ops otherwise.
 */
import { tf } from '../tf.ts';
import type { NativeAddon } from './native-addon.ts';
import { memoryOf } from './backend-memory.ts';
import { ownKernelRegistrar } from './kernel-overrides.ts';
import type { NATIVE_LINEAR_KERNELS } from './native-linear.ts';
import type { NativePrenormKernel } from './native-prenorm.ts';

type TensorInfo = tf.TensorInfo;

export const NATIVE_OP_KERNELS = [
  'SslGeluFwd',
  'SslGeluBwd',
  'SslLayerNormFwd',
  'SslLayerNormBwd',
  'SslSoftmaxFwd',
  'SslSoftmaxBwd',
  'SslAttentionFwd',
  'SslAttentionBwd',
  'SslAdamW',
  'SslAugmentView',
] as const;
export type NativeOpKernel = (typeof NATIVE_OP_KERNELS)[number];

const size = (shape: number[]) => shape.reduce((s, d) => s * d, 1);

export function installNativeOps(addon: NativeAddon, backendName: 'wasm' | 'cpu'): { kernels: string[]; restore(): void } {
  const reg = ownKernelRegistrar<NativeOpKernel>(backendName);
  const opt = (mem: ReturnType<typeof memoryOf>, t: TensorInfo | undefined) => (t ? mem.view(t) : null);

  // images [B, H, W, 3] -> one augmented view [B, S, S, 3]; the per-image parameters as attrs (native/augment.h)
  reg('SslAugmentView', ({ images }, attrs, backend) => {
    const mem = memoryOf(backendName, backend);
    const [B, H, W] = images.shape;
    const a = attrs as { maps: Float32Array; params: Float32Array; taps: Float32Array; K: number; S: number; threshold: number };
    const out = mem.alloc([B, a.S, a.S, 3]);
    const stats = attrs as { mean: number[]; std: number[] };
    addon.augmentView(
      mem.view(images),
      B,
      H,
      W,
      a.maps,
      a.params,
      a.taps,
      a.K,
      a.S,
      a.threshold,
      Float32Array.from(stats.mean),
      Float32Array.from(stats.std),
      mem.view(out),
    );
    return out;
  });
  reg('SslGeluFwd', ({ x }, _a, backend) => {
    const mem = memoryOf(backendName, backend);
    const y = mem.alloc(x.shape);
    addon.geluFwd(mem.view(x), mem.view(y), size(x.shape));
    return y;
  });
  reg('SslGeluBwd', ({ dy, x }, _a, backend) => {
    const mem = memoryOf(backendName, backend);
    const dx = mem.alloc(x.shape);
    addon.geluBwd(mem.view(dy), mem.view(x), mem.view(dx), size(x.shape));
    return dx;
  });
  reg('SslLayerNormFwd', ({ x, gamma, beta }, attrs, backend) => {
    const mem = memoryOf(backendName, backend);
    const d = x.shape[x.shape.length - 1];
    const rows = size(x.shape) / d;
    const y = mem.alloc(x.shape),
      mean = mem.alloc([rows]),
      rstd = mem.alloc([rows]);
    addon.layerNormFwd(
      mem.view(x),
      opt(mem, gamma),
      opt(mem, beta),
      mem.view(y),
      mem.view(mean),
      mem.view(rstd),
      rows,
      d,
      attrs.eps as number,
    );
    return [y, mean, rstd];
  });
  reg('SslLayerNormBwd', ({ dy, x, mean, rstd, gamma }, attrs, backend) => {
    const mem = memoryOf(backendName, backend);
    const d = x.shape[x.shape.length - 1];
    const rows = size(x.shape) / d;
    const dx = mem.alloc(x.shape);
    const dg = attrs.affine ? mem.alloc([d]) : undefined,
      db = attrs.affine ? mem.alloc([d]) : undefined;
    addon.layerNormBwd(
      mem.view(dy),
      mem.view(x),
      mem.view(mean),
      mem.view(rstd),
      opt(mem, gamma),
      mem.view(dx),
      opt(mem, dg),
      opt(mem, db),
      rows,
      d,
    );
    return dg && db ? [dx, dg, db] : [dx];
  });
  reg('SslSoftmaxFwd', ({ x }, _a, backend) => {
    const mem = memoryOf(backendName, backend);
    const d = x.shape[x.shape.length - 1];
    const y = mem.alloc(x.shape);
    addon.softmaxFwd(mem.view(x), mem.view(y), size(x.shape) / d, d);
    return y;
  });
  reg('SslSoftmaxBwd', ({ dy, y }, _a, backend) => {
    const mem = memoryOf(backendName, backend);
    const d = y.shape[y.shape.length - 1];
    const dx = mem.alloc(y.shape);
    addon.softmaxBwd(mem.view(dy), mem.view(y), mem.view(dx), size(y.shape) / d, d);
    return dx;
  });
  // The input is one qkv [B, T, 3D] (q, k, v side by side), read in place: rows 3D apart. attrs.bf16: the
  // products on bf16 inputs (precision bf16).
  reg('SslAttentionFwd', ({ qkv }, attrs, backend) => {
    const mem = memoryOf(backendName, backend);
    const [b, t, d3] = qkv.shape,
      d = d3 / 3;
    const heads = attrs.heads as number;
    const out = mem.alloc([b, t, d]),
      p = mem.alloc([b, heads, t, t]);
    const x = mem.view(qkv);
    addon.attentionFwd(x, x.subarray(d), x.subarray(2 * d), mem.view(out), mem.view(p), b, t, d, heads, d3, attrs.bf16 === true);
    return [out, p];
  });
  reg('SslAttentionBwd', ({ dy, qkv, p }, attrs, backend) => {
    const mem = memoryOf(backendName, backend);
    const [b, t, d3] = qkv.shape,
      d = d3 / 3;
    const dqkv = mem.alloc(qkv.shape);
    const x = mem.view(qkv),
      dx = mem.view(dqkv);
    addon.attentionBwd(
      mem.view(dy),
      x,
      x.subarray(d),
      x.subarray(2 * d),
      mem.view(p),
      dx,
      dx.subarray(d),
      dx.subarray(2 * d),
      b,
      t,
      d,
      attrs.heads as number,
      d3,
      attrs.bf16 === true,
    );
    return [dqkv];
  });
  reg('SslAdamW', ({ p, g, m, v }, a, backend) => {
    const mem = memoryOf(backendName, backend);
    const po = mem.alloc(p.shape),
      mo = mem.alloc(p.shape),
      vo = mem.alloc(p.shape);
    const n = size(p.shape);
    const h = a as { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; bc1: number; bc2Sqrt: number };
    addon.adamw(
      mem.view(p),
      mem.view(g),
      mem.view(m),
      mem.view(v),
      mem.view(po),
      mem.view(mo),
      mem.view(vo),
      n,
      h.lr,
      h.beta1,
      h.beta2,
      h.eps,
      h.weightDecay,
      h.bc1,
      h.bc2Sqrt,
    );
    return [po, mo, vo];
  });
  return {
    kernels: [...NATIVE_OP_KERNELS],
    restore() {
      for (const k of NATIVE_OP_KERNELS) if (tf.getKernel(k, backendName)) tf.unregisterKernel(k, backendName);
    },
  };
}

/** Runs one of the native kernels on the active backend. */
export function runNative(
  kernel: NativeOpKernel | (typeof NATIVE_LINEAR_KERNELS)[number] | NativePrenormKernel,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown> = {},
): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
}
