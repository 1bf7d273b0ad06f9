/*
 * sslbench native element-wise kernels: fused LayerNorm, exact GELU and softmax backward, forward
 * and backward, each one pass over memory (tfjs runs each as many separate kernels). Plain loops
 * the compiler vectorises; exp and erf are computed with range-reduced polynomials accurate to a
 * few float32 ulps (|error| < 3e-7), because libm's scalar calls do not vectorise.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "elementwise.h"
#include "bf16.h"
#include "row_stats.h"

/* Threads for the element-wise loops (OpenMP), set with the GEMM's thread count. */
static int nthreads = 1;
void ssl_set_threads(int n) { nthreads = n < 1 ? 1 : n; }
int ssl_threads(void) { return nthreads; }

/* Work below this many elements stays on one thread (waking the others costs more). */
#define PAR_MIN 32768
#define CHUNK 4096

/* e^x for x in [-87, 88]: x = n ln2 + r, e^r by a degree-6 polynomial, 2^n through the exponent bits. */
static inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float log2e = 1.44269504088896341f;
  float n = floorf(x * log2e + 0.5f);
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666791f + r * (0.00833336077f + r * 0.00138925586f)))));
  union { float f; int32_t i; } u;
  u.i = ((int32_t)n + 127) << 23;
  return p * u.f;
}

/* erf(x) by Abramowitz & Stegun 7.1.26 refined, given e = exp(-x^2): |error| < 1.5e-7. */
static inline float erf_given_exp(float x, float e) {
  float ax = fabsf(x);
  float t = 1.0f / (1.0f + 0.3275911f * ax);
  float y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t * e;
  return x < 0 ? -y : y;
}

static inline float erf_approx(float x) { return erf_given_exp(x, exp_approx(-fabsf(x) * fabsf(x))); }

void ssl_gelu_fwd(const float *x, float *y, int64_t n) {
#pragma omp parallel for num_threads(nthreads) if (n >= PAR_MIN) schedule(static)
  for (int64_t c = 0; c < n; c += CHUNK) {
    const int64_t e = c + CHUNK < n ? c + CHUNK : n;
    for (int64_t i = c; i < e; i++) y[i] = 0.5f * x[i] * (1.0f + erf_approx(x[i] * 0.70710678118654752f));
  }
}

void ssl_gelu_fwd_bf16(const float *x, const float *bias, uint16_t *yb, int64_t rows, int64_t n) {
#pragma omp parallel for num_threads(nthreads) if (rows * n >= PAR_MIN) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * n;
    float y[n];
    if (bias)
      for (int64_t j = 0; j < n; j++) {
        const float v = xr[j] + bias[j];
        y[j] = 0.5f * v * (1.0f + erf_approx(v * 0.70710678118654752f));
      }
    else
      for (int64_t j = 0; j < n; j++) y[j] = 0.5f * xr[j] * (1.0f + erf_approx(xr[j] * 0.70710678118654752f));
    ssl_to_bf16_serial(y, yb + r * n, n);
  }
}

void ssl_gelu_bwd(const float *dy, const float *x, float *dx, int64_t n) {
  const float inv_sqrt_2pi = 0.39894228040143268f;
#pragma omp parallel for num_threads(nthreads) if (n >= PAR_MIN) schedule(static)
  for (int64_t c = 0; c < n; c += CHUNK) {
    const int64_t e = c + CHUNK < n ? c + CHUNK : n;
    for (int64_t i = c; i < e; i++) {
      float v = x[i];
      float cdf = 0.5f * (1.0f + erf_approx(v * 0.70710678118654752f));
      float pdf = inv_sqrt_2pi * exp_approx(-0.5f * v * v);
      dx[i] = dy[i] * (cdf + v * pdf);
    }
  }
}

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
#pragma omp parallel for num_threads(nthreads) if (rows * d >= PAR_MIN) schedule(static)
  for (int64_t gi = 0; gi < groups; gi++) {
    const int64_t r0 = gi * 8, n = rows - r0 < 8 ? rows - r0 : 8;
    layernorm_stats_rows(x, r0, n, d, eps, mean, rstd);
    for (int64_t r = r0; r < r0 + n; r++) layernorm_apply(x + r * d, g, b, y + r * d, mean[r], rstd[r], d);
  }
}

void ssl_layernorm_fwd_bf16(const float *x, const float *g, const float *b, uint16_t *yb, float *mean, float *rstd, int64_t rows, int64_t d,
                            float eps) {
  const int64_t groups = (rows + 7) / 8;
#pragma omp parallel for num_threads(nthreads) if (rows * d >= PAR_MIN) schedule(static)
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
#pragma omp parallel for num_threads(nthreads) if (rows * d >= PAR_MIN) schedule(static)
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
#pragma omp parallel for num_threads(nthreads) if (rows * d >= PAR_MIN) schedule(static)
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

/* The max of a row, in 16 lanes (a max is exact in any order, so the lanes change no number). */
static inline float row_max(const float *xr, int64_t d) {
  float lanes[16];
  for (int l = 0; l < 16; l++) lanes[l] = xr[0];
  int64_t j = 0;
  for (; j + 16 <= d; j += 16)
    for (int l = 0; l < 16; l++) lanes[l] = xr[j + l] > lanes[l] ? xr[j + l] : lanes[l];
  float m = xr[0];
  for (int l = 0; l < 16; l++) m = lanes[l] > m ? lanes[l] : m;
  for (; j < d; j++) m = xr[j] > m ? xr[j] : m;
  return m;
}

/* softmax over the last axis of [rows, d]: y, and its backward dx = y (dy - sum(dy y)); the _rows forms on the calling thread. */
void ssl_softmax_fwd_rows(const float *x, float *y, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    /* exp in its own loop, so that it vectorises; the sum in index order, as before (an order change would
       change the rounding, and so results) */
    const float m = row_max(xr, d);
    for (int64_t j = 0; j < d; j++) yr[j] = exp_approx(xr[j] - m);
    float s = 0;
    for (int64_t j = 0; j < d; j++) s += yr[j];
    float inv = 1.0f / s;
    for (int64_t j = 0; j < d; j++) yr[j] *= inv;
  }
}

void ssl_softmax_fwd(const float *x, float *y, int64_t rows, int64_t d) {
#pragma omp parallel for num_threads(nthreads) if (rows * d >= PAR_MIN) schedule(static)
  for (int64_t r = 0; r < rows; r++) ssl_softmax_fwd_rows(x + r * d, y + r * d, 1, d);
}

void ssl_softmax_bwd_rows(const float *dy, const float *y, float *dx, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * d, *yr = y + r * d;
    float *dxr = dx + r * d;
    float s = 0;
    for (int64_t j = 0; j < d; j++) s += dyr[j] * yr[j];
    for (int64_t j = 0; j < d; j++) dxr[j] = yr[j] * (dyr[j] - s);
  }
}

void ssl_softmax_bwd(const float *dy, const float *y, float *dx, int64_t rows, int64_t d) {
#pragma omp parallel for num_threads(nthreads) if (rows * d >= PAR_MIN) schedule(static)
  for (int64_t r = 0; r < rows; r++) ssl_softmax_bwd_rows(dy + r * d, y + r * d, dx + r * d, 1, d);
}

/*
 * The attention softmax of precision bf16 (attention_bf16.c), on the calling thread: y = softmax(scale x)
 * per row of d, in fp32, and its bf16 copy yb. Each row's sum runs in 16 partial sums (vectorised),
 * so its rounding differs from ssl_softmax_fwd's serial sum: this path has numbers of its own.
 */
void ssl_softmax_scaled_bf16(const float *x, float scale, float *y, uint16_t *yb, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    const float m = row_max(xr, d) * scale; /* scale > 0: the max of the scaled row */
    float part[16] = {0};
    int64_t j = 0;
    for (; j + 16 <= d; j += 16)
      for (int l = 0; l < 16; l++) {
        float e = exp_approx(xr[j + l] * scale - m);
        yr[j + l] = e;
        part[l] += e;
      }
    for (int l = 0; j < d; j++, l++) {
      float e = exp_approx(xr[j] * scale - m);
      yr[j] = e;
      part[l] += e;
    }
    float sum = 0;
    for (int l = 0; l < 16; l++) sum += part[l];
    const float inv = 1.0f / sum;
    for (j = 0; j < d; j++) yr[j] *= inv;
    ssl_to_bf16_serial(yr, yb + r * d, d);
  }
}

/* Its backward, likewise: dsb = bf16(scale y (dy - sum(dy y))) per row, the sum in 16 partial sums. */
void ssl_softmax_bwd_scaled_bf16(const float *dy, const float *y, float scale, float *ds, uint16_t *dsb, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * d, *yr = y + r * d;
    float *dr = ds + r * d;
    float part[16] = {0};
    int64_t j = 0;
    for (; j + 16 <= d; j += 16)
      for (int l = 0; l < 16; l++) part[l] += dyr[j + l] * yr[j + l];
    for (int l = 0; j < d; j++, l++) part[l] += dyr[j] * yr[j];
    float sum = 0;
    for (int l = 0; l < 16; l++) sum += part[l];
    for (j = 0; j < d; j++) dr[j] = scale * (yr[j] * (dyr[j] - sum));
    ssl_to_bf16_serial(dr, dsb + r * d, d);
  }
}

/* out[j] = sum over r of x[r, j] for x [rows, n] (a reduction over leading axes, no transpose). */
void ssl_sum_rows(const float *x, float *out, int64_t rows, int64_t n) {
  memset(out, 0, sizeof(float) * (size_t)n);
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * n;
    for (int64_t j = 0; j < n; j++) out[j] += xr[j];
  }
}

/* One AdamW step (torch.optim.AdamW): p' = p (1 - lr wd) - lr/bc1 * m' / (sqrt(v')/bc2sqrt + eps). */
void ssl_adamw(const float *p, const float *g, const float *m, const float *v, float *po, float *mo, float *vo, int64_t n,
               float lr, float b1, float b2, float eps, float wd, float bc1, float bc2sqrt) {
  const float decay = 1.0f - lr * wd, step = lr / bc1, inv_bc2 = 1.0f / bc2sqrt;
#pragma omp parallel for num_threads(nthreads) if (n >= PAR_MIN) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float mi = b1 * m[i] + (1.0f - b1) * g[i];
    float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] * decay - step * mi / (sqrtf(vi) * inv_bc2 + eps);
  }
}

/*
 * Epilogues of a linear layer's GEMM (linear.c), each one pass over the [rows x n] product.
 * Column sums (bias gradients) add fixed blocks of rows and then the blocks in order, so they do
 * not depend on the thread count.
 */
#define ROW_BLOCK 64

/* h += bias (per column), then y = GELU(h): h stays the pre-activation that the backward reads. */
void ssl_bias_gelu_fwd(float *h, const float *bias, float *y, int64_t rows, int64_t n) {
#pragma omp parallel for num_threads(nthreads) if (rows * n >= PAR_MIN) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float *hr = h + r * n, *yr = y + r * n;
    if (bias) /* the bias tested outside the loop: a NULL pointer read under a mask costs an assist per vector on AMD */
      for (int64_t j = 0; j < n; j++) hr[j] += bias[j];
    for (int64_t j = 0; j < n; j++) yr[j] = 0.5f * hr[j] * (1.0f + erf_approx(hr[j] * 0.70710678118654752f));
  }
}

/* h += bias (per column, when given) + res (when given). */
void ssl_bias_residual(float *h, const float *bias, const float *res, int64_t rows, int64_t n) {
#pragma omp parallel for num_threads(nthreads) if (rows * n >= PAR_MIN) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float *hr = h + r * n;
    const float *rr = res ? res + r * n : NULL;
    if (bias && rr)
      for (int64_t j = 0; j < n; j++) hr[j] = (hr[j] + bias[j]) + rr[j]; /* the order of x W + b, then + res (as oneDNN and the unfused ops) */
    else if (bias)
      for (int64_t j = 0; j < n; j++) hr[j] += bias[j];
    else if (rr)
      for (int64_t j = 0; j < n; j++) hr[j] += rr[j];
  }
}

/* out = the per-block column sums partial[ceil(rows / 64)][n] added in block order. */
static void sum_partials(const float *partial, float *out, int64_t rows, int64_t n) {
  const int64_t blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
  memset(out, 0, sizeof(float) * (size_t)n);
  for (int64_t b = 0; b < blocks; b++)
    for (int64_t j = 0; j < n; j++) out[j] += partial[b * n + j];
}

/* GELU'(v) = Phi(v) + v phi(v), phi by its own exp (the fp32 path's numbers). */
static inline float gelu_grad(float v) {
  const float cdf = 0.5f * (1.0f + erf_approx(v * 0.70710678118654752f));
  return cdf + v * (0.39894228040143268f * exp_approx(-0.5f * v * v));
}

/* The same with one exp: erf's exp(-x^2) at x = v / sqrt(2) is exp(-v^2 / 2), the normal density's (the bf16 path). */
static inline float gelu_grad_one_exp(float v) {
  const float x = v * 0.70710678118654752f, e = exp_approx(-fabsf(x) * fabsf(x));
  return 0.5f * (1.0f + erf_given_exp(x, e)) + v * (0.39894228040143268f * e);
}

/*
 * g = dy * GELU'(h (+ hbias)) row by row in fp32, then stored in fp32 (dh) or bf16 (dhb); db = column
 * sums of g in fp32 (when given; `partial` holds ceil(rows / 64) x n floats).
 */
static void gelu_bwd_colsum(const float *dy, const float *h, const float *hbias, float *dh, uint16_t *dhb, float *db, float *partial, int64_t rows,
                            int64_t n, bool oneExp) {
  const int64_t blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
#pragma omp parallel for num_threads(nthreads) if (rows * n >= PAR_MIN) schedule(static)
  for (int64_t b = 0; b < blocks; b++) {
    float tmp[dh ? 1 : n];
    float *acc = db ? partial + b * n : NULL;
    if (acc) memset(acc, 0, sizeof(float) * (size_t)n);
    const int64_t end = (b + 1) * ROW_BLOCK < rows ? (b + 1) * ROW_BLOCK : rows;
    for (int64_t r = b * ROW_BLOCK; r < end; r++) {
      const float *dyr = dy + r * n, *hr = h + r * n;
      float *row = dh ? dh + r * n : tmp;
      /* one loop per case: a NULL hbias read under a mask inside the loop costs a fault-suppression assist per vector on AMD */
      if (oneExp && hbias)
        for (int64_t j = 0; j < n; j++) row[j] = dyr[j] * gelu_grad_one_exp(hr[j] + hbias[j]);
      else if (oneExp)
        for (int64_t j = 0; j < n; j++) row[j] = dyr[j] * gelu_grad_one_exp(hr[j]);
      else if (hbias)
        for (int64_t j = 0; j < n; j++) row[j] = dyr[j] * gelu_grad(hr[j] + hbias[j]);
      else
        for (int64_t j = 0; j < n; j++) row[j] = dyr[j] * gelu_grad(hr[j]);
      if (acc)
        for (int64_t j = 0; j < n; j++) acc[j] += row[j];
      if (dhb) ssl_to_bf16_serial(row, dhb + r * n, n);
    }
  }
  if (db) sum_partials(partial, db, rows, n);
}

void ssl_gelu_bwd_colsum(const float *dy, const float *h, float *dh, float *db, float *partial, int64_t rows, int64_t n) {
  gelu_bwd_colsum(dy, h, NULL, dh, NULL, db, partial, rows, n, false);
}

void ssl_gelu_bwd_colsum_bf16(const float *dy, const float *h, const float *hbias, uint16_t *dhb, float *db, float *partial, int64_t rows,
                              int64_t n) {
  gelu_bwd_colsum(dy, h, hbias, NULL, dhb, db, partial, rows, n, true);
}

/* out = column sums of x [rows x n] in blocks of 64 rows (when given; `partial`: ceil(rows / 64) x n floats), and xb = bf16(x) (when given), in one pass. */
void ssl_colsum(const float *x, uint16_t *xb, float *out, float *partial, int64_t rows, int64_t n) {
  const int64_t blocks = (rows + ROW_BLOCK - 1) / ROW_BLOCK;
#pragma omp parallel for num_threads(nthreads) if (rows * n >= PAR_MIN) schedule(static)
  for (int64_t b = 0; b < blocks; b++) {
    float *acc = out ? partial + b * n : NULL;
    if (acc) memset(acc, 0, sizeof(float) * (size_t)n);
    const int64_t end = (b + 1) * ROW_BLOCK < rows ? (b + 1) * ROW_BLOCK : rows;
    for (int64_t r = b * ROW_BLOCK; r < end; r++) {
      const float *xr = x + r * n;
      if (acc)
        for (int64_t j = 0; j < n; j++) acc[j] += xr[j];
      if (xb) ssl_to_bf16_serial(xr, xb + r * n, n);
    }
  }
  if (out) sum_partials(partial, out, rows, n);
}

