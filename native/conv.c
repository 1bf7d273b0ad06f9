/*
 * 2-D convolution on NHWC tensors as GEMMs (im2col): for a group of images, the patch matrix
 * cols [rows = b*OH*OW, K = KH*KW*C] (column order ky, kx, c: the HWIO filter's row order) times
 * the filter [K, OC] gives the output rows. Backward: dW += cols^T dy; dcols = dy W^T scattered
 * back into dx (col2im). A 1x1, stride-1, unpadded convolution skips im2col (x already is cols).
 * Each product takes the route it is given (gemm.h: OpenBLAS, oneDNN fp32, or oneDNN with bf16 inputs).
 * Images are processed in groups so that the patch matrix stays under CHUNK_FLOATS.
 */
#include "conv.h"
#include "gemm.h"
#include <stdlib.h>
#include <string.h>

#define CHUNK_FLOATS ((int64_t)1 << 22) /* 16 MiB of patches per GEMM */

static int64_t kdim(const ssl_conv_geom *g) { return g->KH * g->KW * g->C; }

static int is_pointwise(const ssl_conv_geom *g) {
  return g->KH == 1 && g->KW == 1 && g->SH == 1 && g->SW == 1 && g->PT == 0 && g->PL == 0 && g->OH == g->H && g->OW == g->W;
}

/* Images per GEMM group. */
static int64_t group_size(const ssl_conv_geom *g) {
  int64_t per = g->OH * g->OW * kdim(g);
  int64_t n = per > 0 ? CHUNK_FLOATS / per : g->B;
  if (n < 1) n = 1;
  return n > g->B ? g->B : n;
}

/* cols for images [b0, b0 + nb) */
static void im2col(const ssl_conv_geom *g, const float *x, int64_t b0, int64_t nb, float *cols) {
  const int64_t K = kdim(g), C = g->C;
  for (int64_t b = 0; b < nb; b++) {
    const float *xb = x + (b0 + b) * g->H * g->W * C;
    for (int64_t oy = 0; oy < g->OH; oy++) {
      for (int64_t ox = 0; ox < g->OW; ox++) {
        float *row = cols + ((b * g->OH + oy) * g->OW + ox) * K;
        for (int64_t ky = 0; ky < g->KH; ky++) {
          const int64_t iy = oy * g->SH - g->PT + ky * g->DH;
          for (int64_t kx = 0; kx < g->KW; kx++) {
            const int64_t ix = ox * g->SW - g->PL + kx * g->DW;
            float *dst = row + (ky * g->KW + kx) * C;
            if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) memset(dst, 0, sizeof(float) * (size_t)C);
            else memcpy(dst, xb + (iy * g->W + ix) * C, sizeof(float) * (size_t)C);
          }
        }
      }
    }
  }
}

/* dx[images b0..] += scatter of dcols */
static void col2im(const ssl_conv_geom *g, const float *dcols, int64_t b0, int64_t nb, float *dx) {
  const int64_t K = kdim(g), C = g->C;
  for (int64_t b = 0; b < nb; b++) {
    float *xb = dx + (b0 + b) * g->H * g->W * C;
    for (int64_t oy = 0; oy < g->OH; oy++) {
      for (int64_t ox = 0; ox < g->OW; ox++) {
        const float *row = dcols + ((b * g->OH + oy) * g->OW + ox) * K;
        for (int64_t ky = 0; ky < g->KH; ky++) {
          const int64_t iy = oy * g->SH - g->PT + ky * g->DH;
          if (iy < 0 || iy >= g->H) continue;
          for (int64_t kx = 0; kx < g->KW; kx++) {
            const int64_t ix = ox * g->SW - g->PL + kx * g->DW;
            if (ix < 0 || ix >= g->W) continue;
            const float *src = row + (ky * g->KW + kx) * C;
            float *dst = xb + (iy * g->W + ix) * C;
            for (int64_t c = 0; c < C; c++) dst[c] += src[c];
          }
        }
      }
    }
  }
}

int ssl_conv_fwd(const ssl_conv_geom *g, const float *x, const float *w, float *y, int route) {
  const int64_t K = kdim(g), OC = g->OC, P = g->OH * g->OW;
  if (g->B == 0 || P == 0 || OC == 0) return 0;
  if (K == 0) {
    memset(y, 0, sizeof(float) * (size_t)(g->B * P * OC));
    return 0;
  }
  if (is_pointwise(g)) {
    return ssl_gemm(route, x, 0, w, 0, y, 0, 1, g->B * P, OC, K, false, false, 0.0f);
  }
  const int64_t nb = group_size(g);
  float *cols = malloc(sizeof(float) * (size_t)(nb * P * K));
  if (!cols) return -1;
  int rc = 0;
  for (int64_t b0 = 0; b0 < g->B && !rc; b0 += nb) {
    const int64_t n = b0 + nb > g->B ? g->B - b0 : nb;
    im2col(g, x, b0, n, cols);
    rc = ssl_gemm(route, cols, 0, w, 0, y + b0 * P * OC, 0, 1, n * P, OC, K, false, false, 0.0f);
  }
  free(cols);
  return rc;
}

int ssl_conv_bwd_filter(const ssl_conv_geom *g, const float *x, const float *dy, float *dw, int route) {
  const int64_t K = kdim(g), OC = g->OC, P = g->OH * g->OW;
  memset(dw, 0, sizeof(float) * (size_t)(K * OC));
  if (g->B == 0 || P == 0 || OC == 0 || K == 0) return 0;
  if (is_pointwise(g)) {
    return ssl_gemm(route, x, 0, dy, 0, dw, 0, 1, K, OC, g->B * P, true, false, 0.0f);
  }
  const int64_t nb = group_size(g);
  float *cols = malloc(sizeof(float) * (size_t)(nb * P * K));
  if (!cols) return -1;
  int rc = 0;
  for (int64_t b0 = 0; b0 < g->B && !rc; b0 += nb) {
    const int64_t n = b0 + nb > g->B ? g->B - b0 : nb;
    im2col(g, x, b0, n, cols);
    rc = ssl_gemm(route, cols, 0, dy + b0 * P * OC, 0, dw, 0, 1, K, OC, n * P, true, false, 1.0f);
  }
  free(cols);
  return rc;
}

int ssl_conv_bwd_input(const ssl_conv_geom *g, const float *dy, const float *w, float *dx, int route) {
  const int64_t K = kdim(g), OC = g->OC, P = g->OH * g->OW;
  memset(dx, 0, sizeof(float) * (size_t)(g->B * g->H * g->W * g->C));
  if (g->B == 0 || P == 0 || K == 0) return 0;
  if (is_pointwise(g)) {
    return OC > 0 ? ssl_gemm(route, dy, 0, w, 0, dx, 0, 1, g->B * P, K, OC, false, true, 0.0f) : 0;
  }
  if (OC == 0) return 0;
  const int64_t nb = group_size(g);
  float *dcols = malloc(sizeof(float) * (size_t)(nb * P * K));
  if (!dcols) return -1;
  int rc = 0;
  for (int64_t b0 = 0; b0 < g->B && !rc; b0 += nb) {
    const int64_t n = b0 + nb > g->B ? g->B - b0 : nb;
    rc = ssl_gemm(route, dy + b0 * P * OC, 0, w, 0, dcols, 0, 1, n * P, K, OC, false, true, 0.0f);
    if (!rc) col2im(g, dcols, b0, n, dx);
  }
  free(dcols);
  return rc;
}
