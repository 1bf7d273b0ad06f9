/* A linear layer's GEMM epilogues (linear.c): bias, GELU, residual, and the column sums of its backward; row sums. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "elementwise.h"
#include "bf16.h"
#include "fast_math.h"

/* out[j] = sum over r of x[r, j] for x [rows, n] (a reduction over leading axes, no transpose). */
void ssl_sum_rows(const float *x, float *out, int64_t rows, int64_t n) {
  memset(out, 0, sizeof(float) * (size_t)n);
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * n;
    for (int64_t j = 0; j < n; j++) out[j] += xr[j];
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
#pragma omp parallel for num_threads(NTHREADS) if (rows * n >= PAR_MIN) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float *hr = h + r * n, *yr = y + r * n;
    if (bias) /* the bias tested outside the loop: a NULL pointer read under a mask costs an assist per vector on AMD */
      for (int64_t j = 0; j < n; j++) hr[j] += bias[j];
    for (int64_t j = 0; j < n; j++) yr[j] = 0.5f * hr[j] * (1.0f + erf_approx(hr[j] * 0.70710678118654752f));
  }
}

/* h += bias (per column, when given) + res (when given). */
void ssl_bias_residual(float *h, const float *bias, const float *res, int64_t rows, int64_t n) {
#pragma omp parallel for num_threads(NTHREADS) if (rows * n >= PAR_MIN) schedule(static)
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
#pragma omp parallel for num_threads(NTHREADS) if (rows * n >= PAR_MIN) schedule(static)
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
#pragma omp parallel for num_threads(NTHREADS) if (rows * n >= PAR_MIN) schedule(static)
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
