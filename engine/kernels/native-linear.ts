/**
 * Linear layers on the native addon (native/linear.c): the GEMM and its epilogue (bias, exact GELU,
 * residual add) in one kernel, forward and backward, at the precision the op asks for
 * (gemm-route.ts). Registered as sslbench's own kernels for the wasm and cpu backends; the op is
 * engine/ops/linear.ts.
 */
import { tf } from '../tf.ts';
import type { NativeAddon } from './native-addon.ts';
import { memoryOf } from './backend-memory.ts';
import { ownKernelRegistrar } from './kernel-overrides.ts';
import { linearRoute, type Precision } from './gemm-route.ts';

type TensorInfo = tf.TensorInfo;

export const NATIVE_LINEAR_KERNELS = ['SslLinearFwd', 'SslLinearBwd'] as const;

/** Activation codes of native/linear.h. */
export const ACT = { none: 0, gelu: 1 } as const;

export function installNativeLinear(addon: NativeAddon, backendName: 'wasm' | 'cpu'): { kernels: string[]; restore(): void } {
  const reg = ownKernelRegistrar<(typeof NATIVE_LINEAR_KERNELS)[number]>(backendName);

  // inputs x [rows, in], w [in, out], bias? [out], res? [rows, out]; outputs [h] (act none) or [h, y] (GELU: h pre-activation),
  // then in bf16 xb: bf16(x), two halves per float32 element, which the backward takes instead of x
  reg('SslLinearFwd', (inputs, attrs, backend) => {
    const { x, w, bias, res } = inputs as Record<string, TensorInfo | undefined> as {
      x: TensorInfo;
      w: TensorInfo;
      bias?: TensorInfo;
      res?: TensorInfo;
    };
    const { act, precision } = attrs as unknown as { act: number; precision: Precision };
    const mem = memoryOf(backendName, backend);
    const [rows, inF] = x.shape,
      outF = w.shape[1];
    const h = mem.alloc([rows, outF]);
    const y = act === ACT.gelu ? mem.alloc([rows, outF]) : undefined;
    const xb = precision === 'bf16' ? mem.alloc([Math.ceil((rows * inF) / 2)]) : undefined;
    addon.linearFwd(
      mem.view(x),
      mem.view(w),
      bias ? mem.view(bias) : null,
      res ? mem.view(res) : null,
      mem.view(h),
      y ? mem.view(y) : null,
      xb ? mem.view(xb) : null,
      rows,
      inF,
      outF,
      act,
      linearRoute(precision, rows, outF, inF, false, false),
    );
    return [h, ...(y ? [y] : []), ...(xb ? [xb] : [])];
  });

  // inputs dy [rows, out], x (in bf16: the forward's xb), w, h? (GELU); outputs [dx, dw] or [dx, dw, db]
  reg('SslLinearBwd', (inputs, attrs, backend) => {
    const { dy, x, w, h } = inputs as Record<string, TensorInfo | undefined> as {
      dy: TensorInfo;
      x: TensorInfo;
      w: TensorInfo;
      h?: TensorInfo;
    };
    const { act, precision, bias } = attrs as unknown as { act: number; precision: Precision; bias: boolean };
    const mem = memoryOf(backendName, backend);
    const [inF, outF] = w.shape,
      rows = dy.shape[0];
    const dx = mem.alloc([rows, inF]),
      dw = mem.alloc([inF, outF]);
    const db = bias ? mem.alloc([outF]) : undefined;
    addon.linearBwd(
      mem.view(dy),
      mem.view(x),
      mem.view(w),
      h ? mem.view(h) : null,
      mem.view(dx),
      mem.view(dw),
      db ? mem.view(db) : null,
      rows,
      inF,
      outF,
      act,
      linearRoute(precision, rows, inF, outF, false, true),
      linearRoute(precision, inF, outF, rows, true, false),
    );
    return db ? [dx, dw, db] : [dx, dw];
  });

  return {
    kernels: [...NATIVE_LINEAR_KERNELS],
    restore() {
      for (const k of NATIVE_LINEAR_KERNELS) if (tf.getKernel(k, backendName)) tf.unregisterKernel(k, backendName);
    },
  };
}
