/**
 * `bench env`'s GEMM table: each product class of gemm-route.ts timed on both libraries, with the
 * route the policy gives it, so that the policy can be checked on the machine at hand. The shapes
 * are a ViT-Tiny step's (batch 128 at 32 px: 8320 token rows, width 192, MLP 768) and a small
 * head's. Prints figures; decides nothing at run time (routes are fixed by class: see gemm-route.ts).
 */
import { nativeAddon } from '../engine/kernels/native-addon.ts';
import { ROUTE, type ShapeClass, fp32Route, shapeClass } from '../engine/kernels/gemm-route.ts';

export interface GemmClassRow {
  cls: ShapeClass;
  shape: string;
  openblas: number;
  onednn?: number;
  /** The library the policy picks for this class. */
  chosen: 'openblas' | 'onednn';
}

const SHAPES: { shape: string; batch: number; m: number; n: number; k: number; ta: boolean; tb: boolean }[] = [
  { shape: 'fc1 forward 8320x192 . 192x768', batch: 1, m: 8320, n: 768, k: 192, ta: false, tb: false },
  { shape: 'fc1 input grad 8320x768 . (192x768)^T', batch: 1, m: 8320, n: 192, k: 768, ta: false, tb: true },
  { shape: 'fc1 weight grad (8320x192)^T . 8320x768', batch: 1, m: 192, n: 768, k: 8320, ta: true, tb: false },
  { shape: 'batched 384 x 65x64 . 64x65', batch: 384, m: 65, n: 65, k: 64, ta: false, tb: false },
  { shape: 'head 128x192 . 192x10', batch: 1, m: 128, n: 10, k: 192, ta: false, tb: false },
];

/** GFLOP/s of each class on each library (best of `reps` after a warm-up). */
export function measureGemmClasses(reps = 3): GemmClassRow[] | undefined {
  const addon = nativeAddon();
  if (!addon) return undefined;
  const hasDnnl = addon.onednn() !== null;
  return SHAPES.map(({ shape, batch, m, n, k, ta, tb }) => {
    const a = new Float32Array(batch * m * k).map((_, i) => Math.sin(i));
    const b = new Float32Array(batch * k * n).map((_, i) => Math.cos(i));
    const c = new Float32Array(batch * m * n);
    const time = (route: number) => {
      const run = () => addon.gemm(a, 0, m * k, b, 0, k * n, c, 0, m * n, batch, m, n, k, ta, tb, 0, route);
      run();
      let best = Number.POSITIVE_INFINITY;
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        run();
        best = Math.min(best, (performance.now() - t0) / 1000);
      }
      return (2 * batch * m * n * k) / best / 1e9;
    };
    const route = fp32Route(batch, m, n, k, ta, tb);
    return {
      cls: shapeClass(batch, m, n, k, ta, tb),
      shape,
      openblas: time(ROUTE.openblas),
      onednn: hasDnnl ? time(ROUTE.onednn) : undefined,
      chosen: route === ROUTE.openblas ? 'openblas' : 'onednn',
    };
  });
}
