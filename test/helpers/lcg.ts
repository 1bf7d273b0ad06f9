/** Deterministic normal-ish test values without tfjs: sums of 4 uniforms from an LCG, centred, times `scale`. */
export function lcgRandoms(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      v += s / 2 ** 32;
    }
    out[i] = (v - 2) * scale;
  }
  return out;
}
