/* Array conversion to bf16 (bf16.h): AVX-512 BF16 where the compiler targets it, scalar otherwise. */
#include "bf16.h"
#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

void ssl_to_bf16_serial(const float *x, uint16_t *y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512BF16__)
  for (; i + 16 <= n; i += 16) {
    __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
    _mm256_storeu_si256((__m256i *)(y + i), (__m256i)v);
  }
#endif
  for (; i < n; i++) y[i] = ssl_bf16_bits(x[i]);
}

void ssl_to_bf16(const float *x, uint16_t *y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i0 = 0; i0 < n; i0 += 4096) ssl_to_bf16_serial(x + i0, y + i0, (i0 + 4096 < n ? i0 + 4096 : n) - i0);
}

void ssl_round_bf16(const float *x, float *y, int64_t n) {
  uint16_t tmp[4096];
  for (int64_t i0 = 0; i0 < n; i0 += 4096) {
    int64_t len = n - i0 < 4096 ? n - i0 : 4096;
    ssl_to_bf16(x + i0, tmp, len);
    for (int64_t i = 0; i < len; i++) {
      uint32_t u = (uint32_t)tmp[i] << 16;
      memcpy(y + i0 + i, &u, 4);
    }
  }
}
