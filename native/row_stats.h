#pragma once
/*
 * LayerNorm's per-row sums, 8 rows at a time: each SIMD lane sums one row in index order, exactly
 * the additions of the plain per-row loop, so the numbers are the same bit for bit; only the rows
 * run side by side (a serial sum waits on the latency of one add per element). Blocks of 8 rows x
 * 8 columns are loaded and transposed in registers, so that column j of the block is one vector of
 * the 8 rows' elements j. Needs AVX-512 (SSL_ROW_STATS); callers keep the plain loop otherwise and
 * for rows left over.
 */
#include <math.h>
#include <stdint.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#define SSL_ROW_STATS 1

/* r[i] = row i of an 8 x 8 block -> r[j] = column j. */
static inline void ssl_transpose8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]), t2 = _mm256_unpacklo_ps(r[2], r[3]),
         t3 = _mm256_unpackhi_ps(r[2], r[3]), t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]),
         t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44),
         u3 = _mm256_shuffle_ps(t1, t3, 0xEE), u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20), r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20), r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31), r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31), r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Column j of 8 rows d floats apart (the rows' tails, past the last full block of 8 columns). */
static inline __m256 ssl_column8(const float *x, int64_t d, int64_t j) {
  return _mm256_setr_ps(x[j], x[d + j], x[2 * d + j], x[3 * d + j], x[4 * d + j], x[5 * d + j], x[6 * d + j], x[7 * d + j]);
}

/*
 * LayerNorm statistics of 8 rows of x (as the per-row loop in layernorm.c): mu = (float)(sum x / d)
 * with the sum in double, rs = 1 / sqrt((float)(sum (x - mu)^2 / d) + eps), each square in float
 * and summed in double.
 */
static inline void ssl_layernorm_stats8(const float *x, int64_t d, float eps, float *mu, float *rs) {
  __m256 r[8];
  __m512d s = _mm512_setzero_pd();
  int64_t j = 0;
  for (; j + 8 <= d; j += 8) {
    for (int l = 0; l < 8; l++) r[l] = _mm256_loadu_ps(x + l * d + j);
    ssl_transpose8(r);
    for (int c = 0; c < 8; c++) s = _mm512_add_pd(s, _mm512_cvtps_pd(r[c]));
  }
  for (; j < d; j++) s = _mm512_add_pd(s, _mm512_cvtps_pd(ssl_column8(x, d, j)));
  double sv[8];
  _mm512_storeu_pd(sv, s);
  for (int l = 0; l < 8; l++) mu[l] = (float)(sv[l] / d);
  const __m256 m = _mm256_loadu_ps(mu);
  __m512d s2 = _mm512_setzero_pd();
  for (j = 0; j + 8 <= d; j += 8) {
    for (int l = 0; l < 8; l++) r[l] = _mm256_loadu_ps(x + l * d + j);
    ssl_transpose8(r);
    for (int c = 0; c < 8; c++) {
      const __m256 v = _mm256_sub_ps(r[c], m);
      s2 = _mm512_add_pd(s2, _mm512_cvtps_pd(_mm256_mul_ps(v, v)));
    }
  }
  for (; j < d; j++) {
    const __m256 v = _mm256_sub_ps(ssl_column8(x, d, j), m);
    s2 = _mm512_add_pd(s2, _mm512_cvtps_pd(_mm256_mul_ps(v, v)));
  }
  _mm512_storeu_pd(sv, s2);
  for (int l = 0; l < 8; l++) rs[l] = 1.0f / sqrtf((float)(sv[l] / d) + eps);
}

/* One column step of the backward sums: a += dyg, c += dyg xhat, xhat = (x - mu) rs, dyg = dy g (dy without g). */
static inline void ssl_layernorm_bwd_step8(__m256 dy, __m256 x, __m256 m, __m256 r, const float *g, int64_t j, __m256 *a, __m256 *c) {
  const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(x, m), r);
  const __m256 dyg = g ? _mm256_mul_ps(dy, _mm256_set1_ps(g[j])) : dy;
  *a = _mm256_add_ps(*a, dyg);
  *c = _mm256_add_ps(*c, _mm256_mul_ps(dyg, xhat));
}

/* LayerNorm backward sums of 8 rows, in float and index order, as ssl_layernorm_bwd's loop: a = sum dyg, c = sum dyg xhat. */
static inline void ssl_layernorm_bwd_sums8(const float *dy, const float *x, const float *mu, const float *rs, const float *g, int64_t d,
                                           float *a, float *c) {
  const __m256 m = _mm256_loadu_ps(mu), r = _mm256_loadu_ps(rs);
  __m256 sa = _mm256_setzero_ps(), sc = _mm256_setzero_ps(), xb[8], db[8];
  int64_t j = 0;
  for (; j + 8 <= d; j += 8) {
    for (int l = 0; l < 8; l++) xb[l] = _mm256_loadu_ps(x + l * d + j), db[l] = _mm256_loadu_ps(dy + l * d + j);
    ssl_transpose8(xb);
    ssl_transpose8(db);
    for (int k = 0; k < 8; k++) ssl_layernorm_bwd_step8(db[k], xb[k], m, r, g, j + k, &sa, &sc);
  }
  for (; j < d; j++) ssl_layernorm_bwd_step8(ssl_column8(dy, d, j), ssl_column8(x, d, j), m, r, g, j, &sa, &sc);
  _mm256_storeu_ps(a, sa);
  _mm256_storeu_ps(c, sc);
}
#endif
