/**
 * Conv2DBackpropFilter for the wasm backend, which ships no such kernel (so tf.conv2d has no
 * filter gradient there). It runs wasm's own Conv3DBackpropFilterV2 routine on the 2-D problem
 * seen as a 3-D one of depth 1, with the padding tfjs resolves for the 2-D convolution.
 * That routine is wrong for strides > 1 in tfjs 4.22 (its filter gradient differs from the cpu
 * backend's), so it always runs at stride 1: a strided convolution's output is the stride-1
 * output sampled every `stride` rows and columns, hence its filter gradient is the stride-1
 * filter gradient of dy spread onto that grid with zeros in between. The native kernels
 * (native-conv.ts) replace this one when built.
 */
import { tf } from '../tf.ts';
import { type ConvAttrs, conv2dInfo } from './conv-geometry.ts';

type TensorInfo = tf.TensorInfo;

interface WasmBackendInternals {
  wasm: { cwrap(name: string, ret: null, args: string[]): (...a: number[]) => void };
  dataIdMap: { get(id: unknown): { id: number } };
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: unknown): boolean;
}

export function installWasmConvFilterGrad(): { kernels: string[]; restore(): void } {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return { kernels: [], restore() {} };
  let run: ((...a: number[]) => void) | undefined;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
      const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
      if (x.dtype !== 'float32' || dy.dtype !== 'float32')
        throw new Error(`Conv2DBackpropFilter (wasm): float32 only, got ${x.dtype} and ${dy.dtype}`);
      const c = conv2dInfo(x.shape, attrs.filterShape, attrs);
      if (!c) throw new Error(`Conv2DBackpropFilter (wasm): only NHWC data is supported, got ${attrs.dataFormat}`);
      const backend = args.backend as unknown as WasmBackendInternals;
      run ??= backend.wasm.cwrap('Conv3DBackpropFilterV2', null, new Array(24).fill('number'));
      const dw = backend.makeOutput(attrs.filterShape, 'float32');
      const id = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).id;
      const sh = c.strideHeight,
        sw = c.strideWidth;
      const oh = (c.outHeight - 1) * sh + 1,
        ow = (c.outWidth - 1) * sw + 1;
      let spread = dy;
      if (sh > 1 || sw > 1) {
        spread = backend.makeOutput([c.batchSize, oh, ow, c.outChannels], 'float32');
        const to = backend.typedArrayFromHeap(spread),
          from = backend.typedArrayFromHeap(dy),
          oc = c.outChannels;
        to.fill(0);
        for (let b = 0; b < c.batchSize; b++)
          for (let y = 0; y < c.outHeight; y++)
            for (let x0 = 0; x0 < c.outWidth; x0++) {
              const src = ((b * c.outHeight + y) * c.outWidth + x0) * oc;
              to.set(from.subarray(src, src + oc), ((b * oh + y * sh) * ow + x0 * sw) * oc);
            }
      }
      run(
        id(x),
        id(spread),
        id(dw),
        c.batchSize,
        1,
        c.inHeight,
        c.inWidth,
        c.inChannels,
        1,
        oh,
        ow,
        c.outChannels,
        1,
        1,
        1,
        1,
        c.dilationHeight,
        c.dilationWidth,
        1,
        c.filterHeight,
        c.filterWidth,
        0,
        c.padInfo.top,
        c.padInfo.left,
      );
      if (spread !== dy) backend.disposeData(spread.dataId);
      return dw;
    },
  });
  return {
    kernels: ['Conv2DBackpropFilter'],
    restore() {
      tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    },
  };
}
