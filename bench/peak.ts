/**
 * This machine's GEMM peaks, measured at start-up by `bench perf`: a square 1024 product on each
 * route the native addon has (OpenBLAS fp32, oneDNN fp32, oneDNN bf16 inputs with fp32
 * accumulation; engine/kernels/gemm-route.ts), with the threads the engine uses, best of a few
 * runs. The fp32 peak is the faster fp32 library's; a step's achieved GFLOP/s is printed as a
 * fraction of the peak of its precision. Without the native addon there is nothing to measure (the
 * stock wasm kernels are not a peak). Prints figures; asserts nothing.
 */
import { nativeAddon } from '../engine/kernels/native-addon.ts';
import { ROUTE } from '../engine/kernels/gemm-route.ts';

export interface RoutePeak {
  route: 'openblas' | 'onednn' | 'onednn-bf16';
  gflops: number;
}

export interface GemmPeaks {
  /** Every route measured. */
  routes: RoutePeak[];
  /** The best fp32 route. */
  fp32: RoutePeak;
  /** The bf16 route, when the addon has oneDNN. */
  bf16?: RoutePeak;
  threads: number;
  size: number;
}

export function measurePeaks(size = 1024, reps = 5): GemmPeaks | undefined {
  const addon = nativeAddon();
  if (!addon) return undefined;
  const a = new Float32Array(size * size).map((_, i) => Math.sin(i));
  const b = new Float32Array(size * size).map((_, i) => Math.cos(i));
  const c = new Float32Array(size * size);
  const time = (route: number) => {
    const run = () => addon.gemm(a, 0, size * size, b, 0, size * size, c, 0, size * size, 1, size, size, size, false, false, 0, route);
    run(); // warm-up: thread pool start, first-touch pages, primitive creation
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      run();
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    return (2 * size ** 3) / best / 1e9;
  };
  const routes: RoutePeak[] = [{ route: 'openblas', gflops: time(ROUTE.openblas) }];
  if (addon.onednn()) {
    routes.push({ route: 'onednn', gflops: time(ROUTE.onednn) });
    routes.push({ route: 'onednn-bf16', gflops: time(ROUTE.onednnBf16) });
  }
  const fp32 = routes.filter((r) => r.route !== 'onednn-bf16').reduce((p, q) => (q.gflops > p.gflops ? q : p));
  return { routes, fp32, bf16: routes.find((r) => r.route === 'onednn-bf16'), threads: addon.threads(), size };
}
