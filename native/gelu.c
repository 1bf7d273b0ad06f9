/* Exact GELU, forward and backward, one pass over memory (tfjs runs each as several kernels). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "elementwise.h"
#include "bf16.h"
#include "fast_math.h"

void ssl_gelu_fwd(const float *x, float *y, int64_t n) {
#pragma omp parallel for num_threads(NTHREADS) if (n >= PAR_MIN) schedule(static)
  for (int64_t c = 0; c < n; c += CHUNK) {
    const int64_t e = c + CHUNK < n ? c + CHUNK : n;
    for (int64_t i = c; i < e; i++) y[i] = 0.5f * x[i] * (1.0f + erf_approx(x[i] * 0.70710678118654752f));
  }
}

void ssl_gelu_fwd_bf16(const float *x, const float *bias, uint16_t *yb, int64_t rows, int64_t n) {
#pragma omp parallel for num_threads(NTHREADS) if (rows * n >= PAR_MIN) schedule(static)
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
#pragma omp parallel for num_threads(NTHREADS) if (n >= PAR_MIN) schedule(static)
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
