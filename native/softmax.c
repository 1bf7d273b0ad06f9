/* Softmax over the last axis, forward and backward, fp32 and the attention's scaled bf16 forms. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "elementwise.h"
#include "bf16.h"
#include "fast_math.h"

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
#pragma omp parallel for num_threads(NTHREADS) if (rows * d >= PAR_MIN) schedule(static)
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
#pragma omp parallel for num_threads(NTHREADS) if (rows * d >= PAR_MIN) schedule(static)
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
