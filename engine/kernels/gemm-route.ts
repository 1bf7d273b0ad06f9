/**
 * Which library runs each matrix product of the native path, and at which precision.
 *
 * Routes are fixed by shape class, never chosen by timing at run time: two libraries sum in
 * different orders, so a timing-based choice could change a run's numbers between a run and its
 * resumption. The classes and the policy below were measured with `bench env`, which times both
 * libraries on each class on the machine at hand and prints the table beside the policy:
 *   - products of at least ONEDNN_MIN_MACS multiply-adds run on oneDNN's matmul when the addon has
 *     it (1.7-2.5x OpenBLAS 0.3.21 there on an AVX-512 machine: OpenBLAS has no AVX-512 SGEMM
 *     kernel for it), smaller ones on OpenBLAS (oneDNN's per-call set-up dominates);
 *   - `--gemm openblas` / `--gemm onednn` pin every product to one library.
 * Precision: 'fp32' everywhere by default. 'bf16' (opt-in, like PyTorch's CPU autocast) rounds the
 * inputs of the matrix products (the linear layers', and attention's q k^T and P v) to bf16 and
 * accumulates in fp32 on oneDNN; everything else (the loss, softmax, normalisation, optimiser,
 * master weights) stays fp32. Which oneDNN implementation runs a bf16 product is fixed by its shape
 * (BF16_IMPLEMENTATION_RULE below, native/dnnl_matmul.c), never by timing, so a bf16 run's numbers
 * do not depend on one.
 */
import type { NativeAddon } from './native-addon.ts';

/** Which oneDNN implementation runs a bf16 product (native/dnnl_matmul.c), as `bench env` prints it. */
export const BF16_IMPLEMENTATION_RULE =
  "tall products (one of m, k at least 2048 and twice each other side: a linear layer over a batch's tokens) on oneDNN's GEMM-based matmul (gemm:jit), the others on its default (brgemm)";

export const GEMM_LIBRARIES = ['auto', 'openblas', 'onednn'] as const;
export type GemmChoice = (typeof GEMM_LIBRARIES)[number];
export const PRECISIONS = ['fp32', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** Codes of native/gemm.h. */
export const ROUTE = { openblas: 0, onednn: 1, onednnBf16: 2 } as const;
export type RouteCode = (typeof ROUTE)[keyof typeof ROUTE];

/** Below this many multiply-adds a product runs on OpenBLAS under 'auto'. */
export const ONEDNN_MIN_MACS = 2 ** 20;

export type ShapeClass = 'forward' | 'input-grad' | 'weight-grad' | 'batched' | 'small';

/** The class of a product: small ones first, then batched, then by its transposes (nn, nt, tn). */
export function shapeClass(batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean): ShapeClass {
  if (batch * m * n * k < ONEDNN_MIN_MACS) return 'small';
  if (batch > 1) return 'batched';
  if (transA) return 'weight-grad';
  return transB ? 'input-grad' : 'forward';
}

interface RouteState {
  choice: GemmChoice;
  onednn: string | null;
  precision: Precision;
}
let state: RouteState = { choice: 'auto', onednn: null, precision: 'fp32' };

/**
 * Sets the library policy for `addon` (called when the engine installs its native kernels).
 * Throws, naming the flag, when `--gemm onednn` is asked of an addon built without oneDNN.
 */
export function configureGemm(addon: NativeAddon | undefined, choice: GemmChoice): void {
  if (!GEMM_LIBRARIES.includes(choice)) throw new Error(`--gemm: '${choice}' is not one of ${GEMM_LIBRARIES.join(', ')}`);
  const onednn = addon ? addon.onednn() : null;
  if (choice === 'onednn' && !onednn) {
    throw new Error(`--gemm onednn: the native addon has no oneDNN (${addon ? addon.onednnStatus() : 'native addon not loaded'})`);
  }
  state = { choice, onednn, precision: state.precision };
}

/** The libraries under the current policy, what `bench env` and the provenance record: 'openblas', 'oneDNN 2.6.3', or both. */
export function gemmLibraries(): string {
  if (state.choice === 'openblas' || !state.onednn) return 'openblas';
  if (state.choice === 'onednn') return state.onednn;
  return `${state.onednn} from 2^20 multiply-adds, openblas below`;
}

/** The fp32 route of a product under the current policy. */
export function fp32Route(batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean): RouteCode {
  if (!state.onednn || state.choice === 'openblas') return ROUTE.openblas;
  if (state.choice === 'onednn') return ROUTE.onednn;
  return shapeClass(batch, m, n, k, transA, transB) === 'small' ? ROUTE.openblas : ROUTE.onednn;
}

/** The route of a linear layer's product: bf16 on oneDNN under precision 'bf16', else `fp32Route`. */
export function linearRoute(precision: Precision, m: number, n: number, k: number, transA: boolean, transB: boolean): RouteCode {
  return precision === 'bf16' ? ROUTE.onednnBf16 : fp32Route(1, m, n, k, transA, transB);
}

/** Whether this engine can run 'bf16' products, and why not. */
export function bf16Support(nativeActive: boolean): { ok: true } | { ok: false; why: string } {
  if (!nativeActive)
    return { ok: false, why: 'it runs on the native kernels (wasm or cpu backend, native addon built), which are not active' };
  if (!state.onednn)
    return { ok: false, why: 'the native addon was built without oneDNN (apt-get install libdnnl-dev && npm run build:native)' };
  return { ok: true };
}

/** The precision of the matrix products (linear layers, attention) from now on. */
export function setPrecisionState(p: Precision): void {
  if (!PRECISIONS.includes(p)) throw new Error(`precision: '${p}' is not one of ${PRECISIONS.join(', ')}`);
  state = { ...state, precision: p };
}

export function precision(): Precision {
  return state.precision;
}
