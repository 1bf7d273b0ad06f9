/**
 * Slice and SplitV as row copies (TypedArray.set over contiguous runs) for float32 on the wasm and
 * cpu backends. The stock wasm kernel copies a non-contiguous slice element by element: the ViT's
 * [CLS] split in backward ([B, 1 + T, D] into [B, 1, D] and [B, T, D]) took 5-9 % of a training
 * step. A copy is exact: nothing numeric changes. Slices whose contiguous runs are shorter than
 * MIN_RUN elements go to the stock kernel.
 */
import type { tf } from '../tf.ts';
import { memoryOf } from './backend-memory.ts';
import { kernelOverrides } from './kernel-overrides.ts';

type TensorInfo = tf.TensorInfo;

const MIN_RUN = 64;

/** Copies x[begin : begin + size] of a row-major `shape` into `out`; false (nothing copied) when runs would be short. */
export function sliceRuns(x: Float32Array, shape: number[], begin: number[], size: number[], out: Float32Array): boolean {
  const rank = shape.length;
  // k: the last axis that is not taken whole; everything after it is one contiguous run per index of axes 0..k
  let k = rank - 1;
  while (k >= 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  if (k < 0) {
    out.set(x.subarray(0, out.length));
    return true;
  }
  let inner = 1;
  for (let a = k + 1; a < rank; a++) inner *= shape[a];
  const run = size[k] * inner;
  if (run < MIN_RUN && out.length > run) return false;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let a = rank - 2; a >= 0; a--) strides[a] = strides[a + 1] * shape[a + 1];
  const idx = new Array<number>(k).fill(0);
  const runs = out.length / run;
  for (let r = 0; r < runs; r++) {
    let src = begin[k] * strides[k];
    for (let a = 0; a < k; a++) src += (begin[a] + idx[a]) * strides[a];
    out.set(x.subarray(src, src + run), r * run);
    for (let a = k - 1; a >= 0; a--) {
      if (++idx[a] < size[a]) break;
      idx[a] = 0;
    }
  }
  return true;
}

const normBegin = (shape: number[], begin: number[] | number) =>
  shape.map((_, i) => (Array.isArray(begin) ? (begin[i] ?? 0) : i === 0 ? begin : 0));
const normSize = (shape: number[], begin: number[], size: number[] | number) =>
  shape.map((d, i) => {
    const s = Array.isArray(size) ? (size[i] ?? -1) : i === 0 ? size : -1;
    return s === -1 ? d - begin[i] : s;
  });

export function installNativeSlice(backendName: 'wasm' | 'cpu'): { kernels: string[]; restore(): void } {
  const overrides = kernelOverrides(backendName);
  overrides.replace('Slice', (stockFn) => (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = args.attrs as { begin: number[] | number; size: number[] | number };
    if (x.dtype !== 'float32' || x.shape.length === 0) return stockFn(args);
    const begin = normBegin(x.shape, attrs.begin);
    const size = normSize(x.shape, begin, attrs.size);
    if (size.some((s, i) => s < 0 || begin[i] < 0 || begin[i] + s > x.shape[i]) || size.includes(0)) return stockFn(args);
    const mem = memoryOf(backendName, args.backend);
    const out = mem.alloc(size);
    if (!sliceRuns(mem.view(x), x.shape, begin, size, mem.view(out))) {
      (args.backend as { disposeData(id: unknown): void }).disposeData(out.dataId);
      return stockFn(args);
    }
    return out;
  });
  overrides.replace('SplitV', (stockFn) => (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number[] | number; axis: number };
    if (x.dtype !== 'float32' || x.shape.length === 0) return stockFn(args);
    const ax = axis < 0 ? axis + x.shape.length : axis;
    const dim = x.shape[ax];
    const sizes = Array.isArray(numOrSizeSplits) ? [...numOrSizeSplits] : new Array<number>(numOrSizeSplits).fill(dim / numOrSizeSplits);
    const free = sizes.indexOf(-1);
    if (free >= 0) sizes[free] = dim - sizes.reduce((s, v, i) => (i === free ? s : s + v), 0);
    if (sizes.some((s) => !Number.isInteger(s) || s <= 0) || sizes.reduce((s, v) => s + v, 0) !== dim) return stockFn(args);
    const mem = memoryOf(backendName, args.backend);
    const outs = sizes.map((s) => mem.alloc(x.shape.map((d, i) => (i === ax ? s : d))));
    const xv = mem.view(x);
    let at = 0;
    for (let i = 0; i < outs.length; i++) {
      const begin = x.shape.map((_, a) => (a === ax ? at : 0));
      const size = x.shape.map((d, a) => (a === ax ? sizes[i] : d));
      if (!sliceRuns(xv, x.shape, begin, size, mem.view(outs[i]))) {
        for (const o of outs) (args.backend as { disposeData(id: unknown): void }).disposeData(o.dataId);
        return stockFn(args);
      }
      at += sizes[i];
    }
    return outs;
  });
  return { kernels: overrides.kernels(), restore: overrides.restore };
}
