/* Fused LayerNorm, forward (fp32 and straight to bf16) and backward, one pass per row. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "elementwise.h"
#include "bf16.h"
#include "fast_math.h"
#include "row_stats.h"

/* LayerNorm statistics of one row: mean, and 1/std from the biased variance (sums in double, index order). */
static inline void layernorm_stats(const float *xr, int64_t d, float eps, float *mean, float *rstd) {
  double s = 0;
  for (int64_t j = 0; j < d; j++) s += xr[j];
  float mu = (float)(s / d);
  double s2 = 0;
  for (int64_t j = 0; j < d; j++) {
    float c = xr[j] - mu;
    s2 += c * c;
  }
  *mean = mu;
  *rstd = 1.0f / sqrtf((float)(s2 / d) + eps);
}

/* yr = (xr - mu) rs g + b */
static inline void layernorm_apply(const float *xr, const float *g, const float *b, float *yr, float mu, float rs, int64_t d) {
  for (int64_t j = 0; j < d; j++) {
    float v = (xr[j] - mu) * rs;
    if (g) v *= g[j];
    if (b) v += b[j];
    yr[j] = v;
  }
}

/*
 * Rows go 8 at a time: the statistics of 8 rows run side by side in SIMD lanes where the machine has
 * them (row_stats.h: the same sums, bit for bit), the rows left over one by one.
 */
static inline void layernorm_stats_rows(const float *x, int64_t r0, int64_t n, int64_t d, float eps, float *mean, float *rstd) {
#ifdef SSL_ROW_STATS
  if (n == 8) {
    ssl_layernorm_stats8(x + r0 * d, d, eps, mean + r0, rstd + r0);
    return;
  }
#endif
  for (int64_t r = r0; r < r0 + n; r++) layernorm_stats(x + r * d, d, eps, mean + r, rstd + r);
}

void ssl_layernorm_fwd(const float *x, const float *g, const float *b, float *y, float *mean, float *rstd, int64_t rows, int64_t d, float eps) {
  const int64_t groups = (rows + 7) / 8;
#pragma omp parallel for num_threads(NTHREADS) if (rows * d >= PAR_MIN) schedule(static)
  for (int64_t gi = 0; gi < groups; gi++) {
    const int64_t r0 = gi * 8, n = rows - r0 < 8 ? rows - r0 : 8;
    layernorm_stats_rows(x, r0, n, d, eps, mean, rstd);
    for (int64_t r = r0; r < r0 + n; r++) layernorm_apply(x + r * d, g, b, y + r * d, mean[r], rstd[r], d);
  }
}

void ssl_layernorm_fwd_bf16(const float *x, const float *g, const float *b, uint16_t *yb, float *mean, float *rstd, int64_t rows, int64_t d,
                            float eps) {
  const int64_t groups = (rows + 7) / 8;
#pragma omp parallel for num_threads(NTHREADS) if (rows * d >= PAR_MIN) schedule(static)
  for (int64_t gi = 0; gi < groups; gi++) {
    const int64_t r0 = gi * 8, n = rows - r0 < 8 ? rows - r0 : 8;
    float row[d];
    layernorm_stats_rows(x, r0, n, d, eps, mean, rstd);
    for (int64_t r = r0; r < r0 + n; r++) {
      layernorm_apply(x + r * d, g, b, row, mean[r], rstd[r], d);
      ssl_to_bf16_serial(row, yb + r * d, d);
    }
  }
}

/* a = sum dyg, c = sum dyg xhat over one row (float, index order), xhat = (x - mu) rs, dyg = dy g. */
static inline void layernorm_bwd_sums(const float *dyr, const float *xr, float mu, float rs, const float *g, int64_t d, float *a, float *c) {
  float sa = 0, sc = 0;
  if (g)
    for (int64_t j = 0; j < d; j++) {
      float xhat = (xr[j] - mu) * rs, dyg = dyr[j] * g[j];
      sa += dyg;
      sc += dyg * xhat;
    }
  else
    for (int64_t j = 0; j < d; j++) {
      float xhat = (xr[j] - mu) * rs;
      sa += dyr[j];
      sc += dyr[j] * xhat;
    }
  *a = sa, *c = sc;
}

/* dx = rstd (dyg - mean(dyg) - xhat mean(dyg xhat)), dyg = dy * g; dg = sum dy xhat; db = sum dy. */
void ssl_layernorm_bwd(const float *dy, const float *x, const float *mean, const float *rstd, const float *g, float *dx, float *dg, float *db, int64_t rows, int64_t d,
                       const float *dres) {
  /* dx: rows are independent, so they run on the threads, 8 at a time (their sums side by side, as in the forward) */
  const int64_t groups = (rows + 7) / 8;
#pragma omp parallel for num_threads(NTHREADS) if (rows * d >= PAR_MIN) schedule(static)
  for (int64_t gi = 0; gi < groups; gi++) {
    const int64_t r0 = gi * 8, n = rows - r0 < 8 ? rows - r0 : 8;
    float as[8], cs[8];
#ifdef SSL_ROW_STATS
    if (n == 8) ssl_layernorm_bwd_sums8(dy + r0 * d, x + r0 * d, mean + r0, rstd + r0, g, d, as, cs);
    else
#endif
      for (int64_t l = 0; l < n; l++) layernorm_bwd_sums(dy + (r0 + l) * d, x + (r0 + l) * d, mean[r0 + l], rstd[r0 + l], g, d, as + l, cs + l);
    for (int64_t l = 0; l < n; l++) {
      const int64_t r = r0 + l;
      const float *dyr = dy + r * d, *xr = x + r * d;
      float *dxr = dx + r * d;
      const float mu = mean[r], rs = rstd[r], a = as[l] / (float)d, c = cs[l] / (float)d;
      if (g)
        for (int64_t j = 0; j < d; j++) dxr[j] = rs * (dyr[j] * g[j] - a - ((xr[j] - mu) * rs) * c);
      else
        for (int64_t j = 0; j < d; j++) dxr[j] = rs * (dyr[j] - a - ((xr[j] - mu) * rs) * c);
      if (dres)
        for (int64_t j = 0; j < d; j++) dxr[j] += dres[r * d + j];
    }
  }
  /* dg, db: each column summed over the rows in row order, whatever the thread count; the threads take columns 32 at a time */
  if (dg) memset(dg, 0, sizeof(float) * (size_t)d);
  if (db) memset(db, 0, sizeof(float) * (size_t)d);
  if (!dg && !db) return;
  const int64_t chunks = (d + 31) / 32;
#pragma omp parallel for num_threads(NTHREADS) if (rows * d >= PAR_MIN) schedule(static)
  for (int64_t ci = 0; ci < chunks; ci++) {
    const int64_t j0 = ci * 32, j1 = j0 + 32 < d ? j0 + 32 : d;
    for (int64_t r = 0; r < rows; r++) {
      const float *dyr = dy + r * d, *xr = x + r * d;
      const float mu = mean[r], rs = rstd[r];
      if (dg)
        for (int64_t j = j0; j < j1; j++) dg[j] += dyr[j] * ((xr[j] - mu) * rs);
      if (db)
        for (int64_t j = j0; j < j1; j++) db[j] += dyr[j];
    }
  }
}
