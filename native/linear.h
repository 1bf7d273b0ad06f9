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
