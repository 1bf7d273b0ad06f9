/**
 * Fixed 2-D sine-cosine position embedding (MoCo v3): with pos_dim = D/4 and
 * omega_d = 1 / 10000^(d / pos_dim), token k of a row-major grid (row = k div W, col = k mod W)
 * gets [sin(row*omega), cos(row*omega), sin(col*omega), cos(col*omega)], blocks concatenated.
 * With a [CLS] token, its position embedding (index 0) is all zeros.
 */
export function sincosPosEmbed(grid: number, dim: number, withCls: boolean): Float32Array {
  if (dim % 4 !== 0) throw new Error(`sin-cos position embedding needs dim divisible by 4, got ${dim}`);
  const posDim = dim / 4;
  const omega = Array.from({ length: posDim }, (_, d) => 1 / 10000 ** (d / posDim));
  const offset = withCls ? 1 : 0;
  const out = new Float32Array((grid * grid + offset) * dim);
  for (let k = 0; k < grid * grid; k++) {
    const row = Math.floor(k / grid);
    const col = k % grid;
    const base = (k + offset) * dim;
    for (let d = 0; d < posDim; d++) {
      out[base + d] = Math.sin(row * omega[d]);
      out[base + posDim + d] = Math.cos(row * omega[d]);
      out[base + 2 * posDim + d] = Math.sin(col * omega[d]);
      out[base + 3 * posDim + d] = Math.cos(col * omega[d]);
    }
  }
  return out;
}
