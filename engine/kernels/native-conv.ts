/**
 * Convolution kernels served by native/conv.c (im2col + the CBLAS GEMM), registered over the
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
    addon.convFwd(mem.view(x), mem.view(filter), mem.view(y), nativeGeometry(info));
    return y;
  });

  replace('Conv2DBackpropInput', (fallback) => (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
    const info = f32(dy, filter) ? conv2dInfo(attrs.inputShape, filter.shape, attrs) : undefined;
    if (!info) return fallback(args);
    const mem = memoryOf(backendName, args.backend);
    const dx = mem.alloc(attrs.inputShape);
    addon.convBwdInput(mem.view(dy), mem.view(filter), mem.view(dx), nativeGeometry(info));
    return dx;
  });

  replace('Conv2DBackpropFilter', (fallback) => (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
    const info = f32(x, dy) ? conv2dInfo(x.shape, attrs.filterShape, attrs) : undefined;
    if (!info) return fallback(args);
    const mem = memoryOf(backendName, args.backend);
    const dw = mem.alloc(attrs.filterShape);
    addon.convBwdFilter(mem.view(x), mem.view(dy), mem.view(dw), nativeGeometry(info));
    return dw;
  });

  return { kernels: overrides.kernels(), restore: overrides.restore };
}
