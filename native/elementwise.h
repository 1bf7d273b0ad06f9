#pragma once
#include <stdint.h>
void ssl_gelu_fwd(const float *x, float *y, int64_t n);
/* yb = bf16(GELU(x + bias)) for x [rows x n] (bias [n], or NULL): the values of the bias add, ssl_gelu_fwd, then ssl_to_bf16, in one pass. */
void ssl_gelu_fwd_bf16(const float *x, const float *bias, uint16_t *yb, int64_t rows, int64_t n);
void ssl_gelu_bwd(const float *dy, const float *x, float *dx, int64_t n);
void ssl_layernorm_fwd(const float *x, const float *g, const float *b, float *y, float *mean, float *rstd, int64_t rows, int64_t d, float eps);
/* LayerNorm written straight to bf16: the values of ssl_layernorm_fwd, then ssl_to_bf16, in one pass. */
void ssl_layernorm_fwd_bf16(const float *x, const float *g, const float *b, uint16_t *yb, float *mean, float *rstd, int64_t rows, int64_t d,
                            float eps);
/* dres (or NULL): a gradient added to dx after it is computed (a skip connection's, dx = LN'(dy) + dres). */
void ssl_layernorm_bwd(const float *dy, const float *x, const float *mean, const float *rstd, const float *g, float *dx, float *dg, float *db, int64_t rows, int64_t d,
                       const float *dres);
void ssl_softmax_fwd(const float *x, float *y, int64_t rows, int64_t d);
void ssl_softmax_bwd(const float *dy, const float *y, float *dx, int64_t rows, int64_t d);
/* The same on the calling thread (inside a caller's parallel loop). */
void ssl_softmax_fwd_rows(const float *x, float *y, int64_t rows, int64_t d);
void ssl_softmax_bwd_rows(const float *dy, const float *y, float *dx, int64_t rows, int64_t d);
/* The attention softmax at precision bf16, on the calling thread: y = softmax(scale x) and its bf16 copy (row sums vectorised). */
void ssl_softmax_scaled_bf16(const float *x, float scale, float *y, uint16_t *yb, int64_t rows, int64_t d);
/* Its backward: ds = scale y (dy - sum(dy y)) and its bf16 copy; ds may be dy. */
void ssl_softmax_bwd_scaled_bf16(const float *dy, const float *y, float scale, float *ds, uint16_t *dsb, int64_t rows, int64_t d);
void ssl_sum_rows(const float *x, float *out, int64_t rows, int64_t n);
void ssl_adamw(const float *p, const float *g, const float *m, const float *v, float *po, float *mo, float *vo, int64_t n, float lr, float b1, float b2, float eps, float wd, float bc1, float bc2sqrt);
void ssl_set_threads(int n);
int ssl_threads(void);
void ssl_bias_gelu_fwd(float *h, const float *bias, float *y, int64_t rows, int64_t n);
void ssl_bias_residual(float *h, const float *bias, const float *res, int64_t rows, int64_t n);
/*
 * A linear layer's GELU backward (linear.c): g = dy * GELU'(h) in fp32, stored to dh (fp32), or, for
 * the bf16 products, to dhb (bf16) with pre-activation h + hbias and GELU' evaluated with one exp;
 * db = column sums of g (fp32, in blocks of 64 rows; `partial`: ceil(rows / 64) x n floats).
 */
void ssl_gelu_bwd_colsum(const float *dy, const float *h, float *dh, float *db, float *partial, int64_t rows, int64_t n);
void ssl_gelu_bwd_colsum_bf16(const float *dy, const float *h, const float *hbias, uint16_t *dhb, float *db, float *partial, int64_t rows,
                              int64_t n);
void ssl_colsum(const float *x, uint16_t *xb, float *out, float *partial, int64_t rows, int64_t n);
