/**
 * This machine's fp32 GEMM peak, measured at start-up by `bench perf`: the native GEMM (OpenBLAS)
 * on a square 1024 product, with the threads the engine uses, best of a few runs. A step's achieved
 * GFLOP/s is then printed as a fraction of it. Without the native addon there is nothing to measure
 * (the stock wasm kernels are not a peak). Prints figures; asserts nothing.
 */
import { nativeAddon } from '../engine/kernels/native-addon.ts';

export interface GemmPeak {
  gflops: number;
  threads: number;
  size: number;
}

export function measureFp32Peak(size = 1024, reps = 5): GemmPeak | undefined {
  const addon = nativeAddon();
  if (!addon) return undefined;
  const a = new Float32Array(size * size).map((_, i) => Math.sin(i));
  const b = new Float32Array(size * size).map((_, i) => Math.cos(i));
  const c = new Float32Array(size * size);
  const run = () => addon.gemm(a, 0, size * size, b, 0, size * size, c, 0, size * size, 1, size, size, size, false, false, 0);
  run(); // warm-up: thread pool start, first-touch pages
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    run();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { gflops: (2 * size ** 3) / best / 1e9, threads: addon.threads(), size };
}
