/**
 * Parameter initialisers, computed in JS from a seeded `Rng` so that the same seed gives the same
 * weights on every backend. Shapes follow the engine's layouts (a Linear weight is [in, out]).
 */
import type { Rng } from './rng.ts';

export function zeros(n: number): Float32Array {
  return new Float32Array(n);
}

export function ones(n: number): Float32Array {
  return new Float32Array(n).fill(1);
}

/** U(-a, a) with a = sqrt(6 / (fanIn + fanOut)) (Glorot & Bengio; PyTorch xavier_uniform_). */
export function xavierUniform(fanIn: number, fanOut: number, n: number, rng: Rng): Float32Array {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * a;
  return out;
}

/** N(mean, std). */
export function normal(n: number, std: number, rng: Rng, mean = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal(mean, std);
  return out;
}

/**
 * N(0, std) truncated to [-2 std, 2 std] by resampling. timm's trunc_normal_ cuts at a=-2, b=2 in
 * absolute units, i.e. 100 std when std = 0.02; sslbench cuts at +-2 std.
 */
export function truncNormal(n: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = rng.normal(0, std);
    while (Math.abs(v) > 2 * std);
    out[i] = v;
  }
  return out;
}

/**
 * N(0, sqrt(2 / fan)): PyTorch's kaiming_normal_ with nonlinearity='relu' (gain sqrt(2)); `fan`
 * is fan_in or fan_out as the caller's mode says (torchvision's ResNet convs: fan_out = out * kh * kw).
 */
export function kaimingNormal(n: number, fan: number, rng: Rng): Float32Array {
  return normal(n, Math.sqrt(2 / fan), rng);
}
