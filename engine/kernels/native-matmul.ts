/**
 * Matrix-product kernels served by the native GEMM (OpenBLAS or oneDNN by shape class:
 * gemm-route.ts; always fp32 here), registered over the stock tfjs kernels
 * (BatchMatMul, _FusedMatMul) of the wasm and cpu backends. The GEMM reads and writes the
 * backend's own memory (the wasm heap, or the cpu backend's typed arrays): no copies. Transpose
 * flags are free, so the backward pass's transposed products run at full speed too. Cases the
 * native path does not cover (non-float32, general batch broadcasting, fused activations other
 * than linear/relu) go to the stock kernel, unchanged.
 */
import type { tf } from '../tf.ts';
import type { NativeAddon } from './native-addon.ts';
import { type BackendMemory, memoryOf } from './backend-memory.ts';
import { kernelOverrides } from './kernel-overrides.ts';
import { fp32Route } from './gemm-route.ts';

type TensorInfo = tf.TensorInfo;

interface Plan {
  batch: number;
  m: number;
  n: number;
  k: number;
  aStride: number;
  bStride: number;
  outShape: number[];
}

/** Shapes of a (batched) product, or undefined when the native path does not cover it. */
export function planMatmul(aShape: number[], bShape: number[], transA: boolean, transB: boolean): Plan | undefined {
  const ra = aShape.length,
    rb = bShape.length;
  if (ra < 2 || rb < 2) return undefined;
  const m = transA ? aShape[ra - 1] : aShape[ra - 2];
  const ka = transA ? aShape[ra - 2] : aShape[ra - 1];
  const kb = transB ? bShape[rb - 1] : bShape[rb - 2];
  const n = transB ? bShape[rb - 2] : bShape[rb - 1];
  if (ka !== kb) return undefined;
  const outerA = aShape.slice(0, -2),
    outerB = bShape.slice(0, -2);
  const batchA = outerA.reduce((s, d) => s * d, 1),
    batchB = outerB.reduce((s, d) => s * d, 1);
  let outer: number[];
  if (batchA === batchB && outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i])) outer = outerA;
  else if (batchB === 1) outer = outerA;
  else if (batchA === 1) outer = outerB;
  else return undefined;
  const batch = Math.max(batchA, batchB);
  return { batch, m, n, k: ka, aStride: batchA === 1 ? 0 : m * ka, bStride: batchB === 1 ? 0 : ka * n, outShape: [...outer, m, n] };
}

function gemmInto(
  addon: NativeAddon,
  mem: BackendMemory,
  a: TensorInfo,
  b: TensorInfo,
  p: Plan,
  transA: boolean,
  transB: boolean,
  bias?: TensorInfo,
): TensorInfo {
  const out = mem.alloc(p.outShape);
  // views after the allocation: growing the wasm heap detaches older views
  const A = mem.view(a),
    B = mem.view(b),
    C = mem.view(out);
  if (bias) {
    // C starts as the bias in every row, and the GEMM accumulates onto it (beta = 1)
    const bv = mem.view(bias);
    for (let r = 0, rows = p.batch * p.m; r < rows; r++) C.set(bv, r * p.n);
  }
  const route = fp32Route(p.batch, p.m, p.n, p.k, transA, transB);
  addon.gemm(A, 0, p.aStride, B, 0, p.bStride, C, 0, p.m * p.n, p.batch, p.m, p.n, p.k, transA, transB, bias ? 1 : 0, route);
  return out;
}

export interface InstalledKernels {
  backend: string;
  kernels: string[];
  restore(): void;
}

/** Registers the native kernels over the stock ones for `backendName`; `restore()` undoes it. */
export function installNativeMatmul(addon: NativeAddon, backendName: 'wasm' | 'cpu'): InstalledKernels {
  const overrides = kernelOverrides(backendName);
  const replace = overrides.replace;

  replace('BatchMatMul', (stockFn) => (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const p = a.dtype === 'float32' && b.dtype === 'float32' ? planMatmul(a.shape, b.shape, transposeA, transposeB) : undefined;
    if (!p) return stockFn(args);
    return gemmInto(addon, memoryOf(backendName, args.backend), a, b, p, transposeA, transposeB);
  });

  replace('_FusedMatMul', (stockFn) => (args) => {
    const { a, b, bias } = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo };
    const { transposeA, transposeB, activation } = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: string };
    const act = activation ?? 'linear';
    const p =
      a.dtype === 'float32' && b.dtype === 'float32' && (act === 'linear' || act === 'relu') && (!bias || bias.dtype === 'float32')
        ? planMatmul(a.shape, b.shape, transposeA, transposeB)
        : undefined;
    if (!p || (bias && (bias.shape.length !== 1 || bias.shape[0] !== p.n))) return stockFn(args);
    const mem = memoryOf(backendName, args.backend);
    const out = gemmInto(addon, mem, a, b, p, transposeA, transposeB, bias);
    if (act === 'relu') {
      const C = mem.view(out);
      for (let i = 0; i < C.length; i++) if (C[i] < 0) C[i] = 0;
    }
    return out;
  });

  // Sum and Mean over leading axes (bias gradients: dy [rows, n] -> [n]; BatchNorm's batch means): stock wasm transposes first.
  const leadingReduce =
    (mean: boolean) =>
    (stockFn: tf.KernelFunc): tf.KernelFunc =>
    (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
      const rank = x.shape.length;
      const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
      const lead = axes.length;
      if (x.dtype !== 'float32' || lead === 0 || lead >= rank || axes.some((a, i) => a !== i)) return stockFn(args);
      const rows = x.shape.slice(0, lead).reduce((s, d) => s * d, 1);
      const rest = x.shape.slice(lead);
      const n = rest.reduce((s, d) => s * d, 1);
      const mem = memoryOf(backendName, args.backend);
      const out = mem.alloc(keepDims ? [...axes.map(() => 1), ...rest] : rest);
      const o = mem.view(out);
      addon.sumRows(mem.view(x), o, rows, n);
      if (mean) for (let j = 0; j < n; j++) o[j] = o[j] / rows;
      return out;
    };
  replace('Sum', leadingReduce(false));
  replace('Mean', leadingReduce(true));

  return { backend: backendName, kernels: overrides.kernels(), restore: overrides.restore };
}
