/**
 * Convolution kernels served by native/conv.c (im2col + the native GEMM, on the route of its
 * product's shape, or bf16 products under `--precision bf16`: gemm-route.ts), registered over the
 * backend's Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter (wasm has no stock
 * Conv2DBackpropFilter; engine/kernels/wasm-conv-filter-grad.ts supplies one without the addon).
 * They read and write the backend's memory in place. NCHW data and non-float32 tensors go to the
 * kernel that was registered before, unchanged.
 */
import type { tf } from '../tf.ts';
import type { NativeAddon } from './native-addon.ts';
import { memoryOf } from './backend-memory.ts';
import { kernelOverrides } from './kernel-overrides.ts';
import { type ConvAttrs, conv2dInfo, nativeGeometry } from './conv-geometry.ts';
import { ROUTE, type RouteCode, fp32Route, precision } from './gemm-route.ts';

/** The route of a convolution's product [m x k] x [k x n] (the whole batch's im2col rows). */
function convRoute(m: number, n: number, k: number, transA: boolean, transB: boolean): RouteCode {
  return precision() === 'bf16' ? ROUTE.onednnBf16 : fp32Route(1, m, n, k, transA, transB);
}

type TensorInfo = tf.TensorInfo;

export function installNativeConv(addon: NativeAddon, backendName: 'wasm' | 'cpu'): { kernels: string[]; restore(): void } {
  const overrides = kernelOverrides(backendName);
  const replace = overrides.replace;
  const f32 = (...ts: TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

  replace('Conv2D', (fallback) => (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const info = f32(x, filter) ? conv2dInfo(x.shape, filter.shape, args.attrs as unknown as ConvAttrs) : undefined;
    if (!info) return fallback(args);
    const mem = memoryOf(backendName, args.backend);
    const y = mem.alloc(info.outShape);
    const g = nativeGeometry(info);
    addon.convFwd(mem.view(x), mem.view(filter), mem.view(y), g, convRoute(rowsOf(g), g[6], kOf(g), false, false));
    return y;
  });

  replace('Conv2DBackpropInput', (fallback) => (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
    const info = f32(dy, filter) ? conv2dInfo(attrs.inputShape, filter.shape, attrs) : undefined;
    if (!info) return fallback(args);
    const mem = memoryOf(backendName, args.backend);
    const dx = mem.alloc(attrs.inputShape);
    const g = nativeGeometry(info);
    addon.convBwdInput(mem.view(dy), mem.view(filter), mem.view(dx), g, convRoute(rowsOf(g), kOf(g), g[6], false, true));
    return dx;
  });

  replace('Conv2DBackpropFilter', (fallback) => (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
    const info = f32(x, dy) ? conv2dInfo(x.shape, attrs.filterShape, attrs) : undefined;
    if (!info) return fallback(args);
    const mem = memoryOf(backendName, args.backend);
    const dw = mem.alloc(attrs.filterShape);
    const g = nativeGeometry(info);
    addon.convBwdFilter(mem.view(x), mem.view(dy), mem.view(dw), g, convRoute(kOf(g), g[6], rowsOf(g), true, false));
    return dw;
  });

  return { kernels: overrides.kernels(), restore: overrides.restore };
}

/** geom = [B, H, W, C, OH, OW, OC, KH, KW, ...]: the product's rows B OH OW and its inner size KH KW C. */
const rowsOf = (g: number[]) => g[0] * g[4] * g[5];
const kOf = (g: number[]) => g[7] * g[8] * g[3];
