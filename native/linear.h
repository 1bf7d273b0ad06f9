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
/* hbias: GELU's pre-activation is h + hbias (hbias NULL: h itself). dx in fp32, or else in bf16 to dxb (rows x in halves; NULL both: not wanted). */
int ssl_linear_bwd_bf16(const float *dy, const uint16_t *xb, const float *w, const float *h, const float *hbias, float *dx, uint16_t *dxb, float *dw,
                        float *db, int64_t rows, int64_t in, int64_t out, int act);
/*
 * A ViT block's MLP branch with its skip connection, pre-norm, in bf16 (the attention branch is
 * prenorm_attention.h): out = x + fc2(GELU(fc1(LN(x)))). The LayerNorm is written straight to bf16
 * (xb, rows x d halves, kept for the weight gradient; mean, rstd [rows]), so its fp32 output is
 * never stored; GELU likewise (yb, rows x hid halves: fc2's input and its weight gradient's); h
 * keeps fc1's product before its bias (fp32; GELU's pre-activation is h + b1, added in GELU's
 * passes, the backward's too, so it takes b1). The backward's dx includes the skip's dout. The same
 * numbers as the layers chained, forward and backward (bitwise).
 */
int ssl_norm_mlp_fwd_bf16(const float *x, const float *g, const float *beta, float eps, const float *w1, const float *b1, const float *w2,
                          const float *b2, float *mean, float *rstd, uint16_t *xb, float *h, uint16_t *yb, float *out, int64_t rows, int64_t d,
                          int64_t hid);
int ssl_norm_mlp_bwd_bf16(const float *dout, const float *x, const float *mean, const float *rstd, const float *g, const uint16_t *xb,
                          const float *w1, const float *b1, const float *h, const uint16_t *yb, const float *w2, float *dx, float *dg, float *dbeta, float *dw1,
                          float *db1, float *dw2, float *db2, int64_t rows, int64_t d, int64_t hid);
