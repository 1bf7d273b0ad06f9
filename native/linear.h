#pragma once
#include <stdint.h>
/*
 * A linear layer y = act(x W + bias) (+ res), x [rows x in], W [in x out] (row-major), with its
 * epilogue fused into one pass after the GEMM, forward and backward. act: 0 identity, 1 exact GELU
 * (then h keeps the pre-activation x W + bias for the backward; no residual). Each GEMM takes its
 * route (gemm.h). Returns 0, or a negative GEMM code.
 */
enum { SSL_ACT_NONE = 0, SSL_ACT_GELU = 1 };
int ssl_linear_fwd(const float *x, const float *w, const float *bias, const float *res, float *h, float *y, int64_t rows, int64_t in,
                   int64_t out, int act, int route);
/* dx = g W^T, dW = x^T g, db = column sums of g, with g = dy (identity) or dy * GELU'(h). dx, dw, db may be NULL (not wanted). */
int ssl_linear_bwd(const float *dy, const float *x, const float *w, const float *h, float *dx, float *dw, float *db, int64_t rows,
                   int64_t in, int64_t out, int act, int routeDx, int routeDw);
/*
 * The bf16 layer (needs oneDNN): x and W rounded to bf16, fp32 accumulation and epilogue. The
 * forward writes bf16(x) to xb (rows x in halves), which the backward takes instead of x: dW is
 * bf16(x)^T bf16(g) either way, and x is then neither converted again nor kept. g is made in bf16
 * directly (dy, or dy * GELU'(h)); db sums it in fp32.
 */
int ssl_linear_fwd_bf16(const float *x, const float *w, const float *bias, const float *res, float *h, float *y, uint16_t *xb, int64_t rows,
                        int64_t in, int64_t out, int act);
int ssl_linear_bwd_bf16(const float *dy, const uint16_t *xb, const float *w, const float *h, float *dx, float *dw, float *db, int64_t rows,
                        int64_t in, int64_t out, int act);
