/**
 * Backend choice: the only module that knows which TensorFlow.js backends exist.
 *
 * `auto` takes the fastest one that loads: tfjs-node-gpu on a real GPU, tfjs-node (libtensorflow
 * on the CPU), then WebAssembly (XNNPACK, SIMD), then the pure-JS cpu backend. The native packages
 * are optional dependencies, so any of them may be missing; asking for one explicitly that is
 * missing is an error that says how to install it.
 */
import { type AdapterReport, hardwareVulkan, loadWebgpu, WebgpuUnavailable } from './webgpu.ts';
import { createRequire } from 'node:module';
import path from 'node:path';
import os from 'node:os';
import { tf } from './tf.ts';
import { nativeAddon, nativeStatus } from './kernels/native-addon.ts';
import { installNativeMatmul, type InstalledKernels } from './kernels/native-matmul.ts';
import { installNativeOps } from './kernels/native-ops.ts';
import { installSharedIdentity } from './kernels/wasm-identity.ts';
import { installNativeConv } from './kernels/native-conv.ts';
import { installNativeLinear } from './kernels/native-linear.ts';
import { installNativePrenorm } from './kernels/native-prenorm.ts';
import { installNativeSlice } from './kernels/native-slice.ts';
import { bf16Support, configureGemm, type GemmChoice, gemmLibraries, type Precision, setPrecisionState } from './kernels/gemm-route.ts';
import { installWasmConvFilterGrad } from './kernels/wasm-conv-filter-grad.ts';
import { setRecompute } from './ops/checkpoint.ts';

import { BACKEND_CHOICES, type BackendChoice } from './backend-choices.ts';

export { BACKEND_CHOICES, type BackendChoice };

export interface BackendReport {
  /** What was asked for. */
  requested: BackendChoice;
  /** tfjs backend name in use: 'tensorflow' | 'wasm' | 'cpu'. */
  name: string;
  /** Package that provides it. */
  package: string;
  /** True only when kernels really run on a GPU. */
  gpu: boolean;
  /** Why this backend was chosen, including what was tried and failed. */
  reason: string[];
  versions: Record<string, string>;
  /**
   * Kernels replaced by the native GEMM, and its thread count; empty when stock kernels run.
   * `gemm`: the library of each product class ('openblas', 'oneDNN 2.6.3 (...)'; gemm-route.ts).
   */
  native: { kernels: string[]; threads: number; status: string; gemm?: string };
  /** The WebGPU adapter, on the webgpu backend. */
  adapter?: AdapterReport;
}

export interface EngineOptions {
  /** Threads of the native GEMM (default: all CPUs). */
  threads?: number;
  /** Use the native GEMM kernels when built (default true). */
  native?: boolean;
  /** Recompute each checkpointed block (ViT blocks) in backward instead of keeping its activations. */
  recompute?: boolean;
  /** The native GEMM's library: 'auto' (by shape class), 'openblas' or 'onednn' (default 'auto'). */
  gemm?: GemmChoice;
}

const require = createRequire(import.meta.url);

let active: BackendReport | undefined;
let installed: InstalledKernels | undefined;
let activeKey = '';

/** True when matrix products with transpose flags run as fast as plain ones (native GEMM). */
export function transposedMatmulIsFast(): boolean {
  return installed !== undefined && installed.backend === tf.getBackend();
}

/** True when the fused native element-wise kernels (engine/kernels/native-ops.ts) serve the active backend. */
export function nativeOpsActive(): boolean {
  return transposedMatmulIsFast();
}

function setupNative(name: string, opts: EngineOptions): BackendReport['native'] {
  installed?.restore();
  installed = undefined;
  const addon = nativeAddon();
  const threads = opts.threads ?? os.cpus().length;
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new Error(`--threads: must be a positive integer, got ${opts.threads}`);
  }
  if (opts.gemm && opts.gemm !== 'auto' && (opts.native === false || !addon)) {
    throw new Error(`--gemm ${opts.gemm}: needs the native kernels (${opts.native === false ? '--no-native was given' : nativeStatus()})`);
  }
  if (opts.native === false) return { kernels: [], threads: 0, status: 'off (--no-native)' };
  if (!addon) return { kernels: [], threads: 0, status: nativeStatus() };
  if (name !== 'wasm' && name !== 'cpu') {
    if (opts.gemm && opts.gemm !== 'auto') throw new Error(`--gemm ${opts.gemm}: the ${name} backend has its own kernels`);
    return { kernels: [], threads: 0, status: `not used: the ${name} backend has its own kernels` };
  }
  addon.setThreads(threads);
  configureGemm(addon, opts.gemm ?? 'auto');
  const mm = installNativeMatmul(addon, name);
  const ops = installNativeOps(addon, name);
  const lin = installNativeLinear(addon, name);
  const prenorm = installNativePrenorm(addon, name);
  const conv = installNativeConv(addon, name);
  const slice = installNativeSlice(name);
  const id = name === 'wasm' ? installSharedIdentity() : { kernels: [], restore() {} };
  const parts = [mm, ops, lin, prenorm, conv, slice, id];
  installed = {
    backend: name,
    kernels: parts.flatMap((p) => p.kernels),
    restore: () =>
      [...parts].reverse().forEach((p) => {
        p.restore();
      }),
  };
  return { kernels: installed.kernels, threads: addon.threads(), status: nativeStatus(), gemm: gemmLibraries() };
}

/**
 * Runs `fn` with the native kernels on `threads` threads (a cell continued with the thread count it
 * started with: the count changes the order of the products' sums, so its numbers), and returns to
 * the process's count afterwards, also when it throws. Without the native kernels there is nothing
 * to set: `fn` runs as is.
 */
export async function withThreads<T>(threads: number, fn: () => Promise<T>): Promise<T> {
  const addon = nativeAddon();
  const own = active?.native.threads ?? 0;
  if (!addon || !active || own === 0 || threads === own) return fn();
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads: must be a positive integer, got ${threads}`);
  addon.setThreads(threads);
  active.native.threads = addon.threads();
  try {
    return await fn();
  } finally {
    addon.setThreads(own);
    active.native.threads = addon.threads();
  }
}

/**
 * The precision of the matrix products (linear layers, attention) from now on: 'fp32' (default), or
 * 'bf16' inputs with fp32 accumulation (needs the native kernels with oneDNN; an error saying why otherwise).
 */
export function setPrecision(p: Precision, who = '--precision'): void {
  if (p === 'bf16') {
    const s = bf16Support(nativeOpsActive());
    if (!s.ok) throw new Error(`${who} bf16: needs oneDNN on the native CPU kernels, and ${s.why}`);
  }
  setPrecisionState(p);
}

/** Runs `fn` at precision `p` (setPrecision), and returns to fp32 afterwards, also when it throws. */
export async function withPrecision<T>(p: Precision, who: string, fn: () => Promise<T>): Promise<T> {
  setPrecision(p, who);
  try {
    return await fn();
  } finally {
    setPrecisionState('fp32');
  }
}

function packageVersion(pkg: string): string | undefined {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function isMissing(err: unknown, pkg: string): boolean {
  const e = err as { code?: string; message?: string };
  return (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && (e.message ?? '').includes(pkg);
}

const INSTALL_HINT: Record<string, string> = {
  '@tensorflow/tfjs-node-gpu':
    'npm install @tensorflow/tfjs-node-gpu@4.22.0 (needs internet at install time to download libtensorflow, plus CUDA 11.2 and cuDNN 8.1)',
  '@tensorflow/tfjs-node': 'npm install @tensorflow/tfjs-node@4.22.0 (needs internet at install time to download libtensorflow)',
};

class BackendUnavailable extends Error {}

async function loadNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<void> {
  try {
    await import(pkg);
  } catch (err) {
    if (isMissing(err, pkg)) {
      throw new BackendUnavailable(`${pkg} is not installed; install it with: ${INSTALL_HINT[pkg]}`);
    }
    throw new BackendUnavailable(`${pkg} is installed but failed to load: ${(err as Error).message}`);
  }
  if (!(await tf.setBackend('tensorflow'))) {
    throw new BackendUnavailable(`${pkg} loaded but the 'tensorflow' backend failed to initialise`);
  }
  await tf.ready();
}

function usingGpu(): boolean {
  const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return b.isUsingGpuDevice === true;
}

async function loadWasm(): Promise<void> {
  type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');
  let wasm: WasmModule;
  try {
    const m = (await import('@tensorflow/tfjs-backend-wasm')) as WasmModule & { default?: WasmModule };
    // a CommonJS package imported from a bundle (packaging/bundle.mjs) has its exports under default
    wasm = typeof m.setWasmPaths === 'function' ? m : m.default!;
  } catch (err) {
    throw new BackendUnavailable(`@tensorflow/tfjs-backend-wasm failed to load: ${(err as Error).message}`);
  }
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  wasm.setWasmPaths(dir + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new BackendUnavailable('the wasm backend failed to initialise');
  await tf.ready();
  // the one kernel tf.conv2d's gradient needs that wasm lacks
  installWasmConvFilterGrad();
}

async function loadCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new BackendUnavailable('the cpu backend failed to initialise');
  await tf.ready();
}

function versions(): Record<string, string> {
  const v: Record<string, string> = { node: process.versions.node, 'tfjs-core': tf.version_core };
  for (const p of [
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-webgpu',
    'webgpu',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
  ]) {
    const ver = packageVersion(p);
    if (ver) v[p.replace('@tensorflow/', '')] = ver;
  }
  return v;
}

/**
 * Select and initialise a backend. Idempotent for the same choice within one process.
 * Throws an Error naming the missing package and how to install it when an explicit choice
 * cannot load.
 */
export async function initBackend(choice: BackendChoice = 'auto', opts: EngineOptions = {}): Promise<BackendReport> {
  if (!BACKEND_CHOICES.includes(choice)) {
    throw new Error(`--backend: unknown backend '${choice}'; choose one of ${BACKEND_CHOICES.join(', ')}`);
  }
  setRecompute(opts.recompute ?? false);
  const key = JSON.stringify({ ...opts, recompute: undefined });
  if (active && active.requested === choice && activeKey === key) return active;
  activeKey = key;
  const reason: string[] = [];
  const done = (name: string, pkg: string, gpu: boolean, why: string): BackendReport => {
    reason.push(why);
    active = { requested: choice, name, package: pkg, gpu, reason, versions: versions(), native: setupNative(name, opts) };
    return active;
  };

  if (choice === 'webgpu' || (choice === 'auto' && hardwareVulkan())) {
    try {
      const adapter = await loadWebgpu();
      if (choice === 'webgpu' || !adapter.software) {
        const r = done(
          'webgpu',
          '@tensorflow/tfjs-backend-webgpu',
          !adapter.software,
          `WebGPU on Dawn: ${adapter.description || adapter.device} (${adapter.software ? 'a software adapter, as requested' : 'hardware'})`,
        );
        r.adapter = adapter;
        return r;
      }
      reason.push(`WebGPU: only a software adapter (${adapter.description}); the native CPU kernels are faster`);
    } catch (err) {
      if (!(err instanceof WebgpuUnavailable)) throw err;
      if (choice === 'webgpu') throw new Error(`--backend webgpu: ${err.message}`);
      reason.push(`WebGPU: ${err.message}`);
    }
  } else if (choice === 'auto')
    reason.push('WebGPU: no GPU with a Vulkan driver here (lavapipe alone is slower than the native CPU kernels)');
  if (choice === 'tensorflow' || choice === 'auto') {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
      try {
        await loadNative(pkg);
        const gpu = usingGpu();
        if (pkg === '@tensorflow/tfjs-node-gpu' && !gpu) {
          return done(
            'tensorflow',
            pkg,
            false,
            `${pkg} loaded but libtensorflow found no usable GPU (needs CUDA 11.2 + cuDNN 8.1): running on the CPU`,
          );
        }
        return done('tensorflow', pkg, gpu, gpu ? `${pkg} loaded and uses the GPU` : `${pkg} loaded (CPU)`);
      } catch (err) {
        if (!(err instanceof BackendUnavailable)) throw err;
        reason.push(err.message);
      }
    }
    if (choice === 'tensorflow') {
      throw new Error(`--backend tensorflow: no native TensorFlow backend could be loaded.\n  ${reason.join('\n  ')}`);
    }
  }
  if (choice === 'wasm' || choice === 'auto') {
    try {
      await loadWasm();
      return done('wasm', '@tensorflow/tfjs-backend-wasm', false, 'WebAssembly backend (XNNPACK, SIMD, single thread)');
    } catch (err) {
      if (!(err instanceof BackendUnavailable) || choice === 'wasm') throw err;
      reason.push(err.message);
    }
  }
  await loadCpu();
  return done(
    'cpu',
    '@tensorflow/tfjs-backend-cpu',
    false,
    choice === 'cpu' ? 'pure-JS cpu backend, as requested' : 'pure-JS cpu backend: nothing faster loaded',
  );
}

/** The report of the backend in use, or undefined before `initBackend`. */
export function activeBackend(): BackendReport | undefined {
  return active;
}

export function parseBackendChoice(value: string): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new Error(`--backend: unknown backend '${value}'; choose one of ${BACKEND_CHOICES.join(', ')}`);
}

/** Bytes of the wasm backend's heap, when it is the active backend. */
export function wasmHeapBytes(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  // tf.backend() throws while a backend is not initialised (e.g. after its initialisation failed)
  const b = tf.engine().findBackend('wasm') as unknown as { wasm?: { HEAPU8?: Uint8Array } } | null;
  return b?.wasm?.HEAPU8?.buffer.byteLength;
}
