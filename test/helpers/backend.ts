/** Test helpers: backend set-up and numeric comparisons. */
import assert from 'node:assert/strict';
import { initBackend, type BackendChoice } from '../../engine/backend.ts';
import { tf } from '../../engine/tf.ts';
import { nativeAddon, nativeStatus } from '../../engine/kernels/native-addon.ts';

/** Why tests that need the native addon with oneDNN skip here, or false when they run. */
export function skipWithoutOnednn(): string | false {
  const addon = nativeAddon();
  if (!addon) return `native addon not built: ${nativeStatus()}`;
  return addon.onednn() ? false : `no oneDNN in the addon: ${addon.onednnStatus()}`;
}

export interface TestEngine {
  backend: BackendChoice;
  native: boolean;
  label: string;
}

/** Engines every numeric test runs on: stock cpu and wasm kernels, and wasm + native kernels when built. */
export const TEST_ENGINES: TestEngine[] = [
  { backend: 'cpu', native: false, label: 'cpu' },
  { backend: 'wasm', native: false, label: 'wasm' },
  ...(nativeAddon() ? [{ backend: 'wasm' as const, native: true, label: 'wasm + native kernels' }] : []),
];

/** Selects a backend; the native kernels are used when built unless `native` is false. */
export async function useBackend(name: BackendChoice, native = true): Promise<void> {
  await initBackend(name, { native, threads: 1 });
  assert.equal(tf.getBackend(), name);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.fail(`${what}[${i}]: ${actual[i]} vs expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/**
 * Central finite-difference check of d(sum(f(x) * r))/dx for every input, where r is a fixed
 * random weighting (so that invariances such as sum(LayerNorm(x)) = const cannot hide errors).
 * Computed in float32 with step h; compares at `samples` random coordinates per input.
 */
export function gradCheck(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  opts: { h?: number; atol?: number; rtol?: number; samples?: number; seed?: number } = {},
): void {
  const h = opts.h ?? 1e-2;
  const atol = opts.atol ?? 2e-3;
  const rtol = opts.rtol ?? 2e-2;
  const out = tf.tidy(() => f(...inputs));
  const r = tf.randomUniform(out.shape, -1, 1, 'float32', opts.seed ?? 7);
  out.dispose();
  const loss = (...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)) as tf.Scalar;
  const analytic = tf.grads(loss)(inputs);
  let rng = opts.seed ?? 1;
  const rand = (n: number) => {
    rng = (rng * 1103515245 + 12345) % 2147483648;
    return rng % n;
  };
  inputs.forEach((x, i) => {
    const base = x.dataSync().slice() as Float32Array;
    const g = analytic[i].dataSync();
    const samples = Math.min(opts.samples ?? 12, base.length);
    for (let s = 0; s < samples; s++) {
      const j = samples === base.length ? s : rand(base.length);
      const at = (delta: number) =>
        tf.tidy(() => {
          const v = base.slice();
          v[j] += delta;
          const xs = inputs.map((y, k) => (k === i ? tf.tensor(v, x.shape) : y));
          return loss(...xs).dataSync()[0];
        });
      const numeric = (at(h) - at(-h)) / (2 * h);
      const tol = atol + rtol * Math.abs(numeric);
      assert.ok(Math.abs(g[j] - numeric) <= tol, `input ${i}, element ${j}: analytic ${g[j]} vs numeric ${numeric} (tolerance ${tol})`);
    }
  });
  tf.dispose([r, ...analytic]);
}
