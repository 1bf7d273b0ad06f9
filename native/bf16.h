#pragma once
#include <stdint.h>
#include <string.h>
/*
 * fp32 -> bf16, round to nearest even, as PyTorch's autocast casts; subnormals become signed zero
 * and NaN stays NaN, as AVX-512 BF16's vcvtneps2bf16 (used for whole arrays) does.
 */
static inline uint16_t ssl_bf16_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
/* y[i] = bf16(x[i]); threaded above 64 Ki elements. */
void ssl_to_bf16(const float *x, uint16_t *y, int64_t n);
/* One row (or any short run), on the calling thread. */
void ssl_to_bf16_serial(const float *x, uint16_t *y, int64_t n);
/* y = x rounded to bf16 and widened back (what a bf16 GEMM input holds), through ssl_to_bf16. */
void ssl_round_bf16(const float *x, float *y, int64_t n);
