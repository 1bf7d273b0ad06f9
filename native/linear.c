/* Linear layers with fused epilogues (linear.h): the GEMM, then one pass for bias, GELU and residual. */
#include "linear.h"
#include "elementwise.h"
#include "gemm.h"
#include "bf16.h"
#include "dnnl_matmul.h"
#include "scratch.h"

/* Scratch reused across calls: GELU's dh, column-sum partials, bf16 weights and gradients. */
static ssl_buf_t dh_, partial_, wb_, gb_;

/*
 * The product and its epilogue. On oneDNN, bias and residual are added inside the GEMM kernel (the
 * same sums, (x W + bias) + res, without a pass over the output), then GELU makes y from h; on
 * OpenBLAS one pass after the GEMM does it all.
 */
static int fwd(int route, const void *x, const void *w, const float *bias, const float *res, float *h, float *y, int64_t rows, int64_t in,
               int64_t out, int act) {
  if (route == SSL_ROUTE_ONEDNN || route == SSL_ROUTE_ONEDNN_BF16) {
    int rc = ssl_dnnl_linear(route == SSL_ROUTE_ONEDNN_BF16 ? SSL_DNNL_BF16 : SSL_DNNL_F32, x, w, bias, act == SSL_ACT_GELU ? NULL : res, h,
                             rows, out, in);
    if (rc) return rc;
    if (act == SSL_ACT_GELU) ssl_gelu_fwd(h, y, rows * out);
    return 0;
  }
  int rc = ssl_gemm(route, x, 0, w, 0, h, 0, 1, rows, out, in, false, false, 0.0f);
  if (rc) return rc;
  if (act == SSL_ACT_GELU) ssl_bias_gelu_fwd(h, bias, y, rows, out);
  else if (bias || res) ssl_bias_residual(h, bias, res, rows, out);
  return 0;
}

int ssl_linear_fwd(const float *x, const float *w, const float *bias, const float *res, float *h, float *y, int64_t rows, int64_t in,
                   int64_t out, int act, int route) {
  if (route == SSL_ROUTE_ONEDNN_BF16) return -10; /* bf16 goes through ssl_linear_fwd_bf16 */
  return fwd(route, x, w, bias, res, h, y, rows, in, out, act);
}

int ssl_linear_bwd(const float *dy, const float *x, const float *w, const float *h, float *dx, float *dw, float *db, int64_t rows,
                   int64_t in, int64_t out, int act, int routeDx, int routeDw) {
  const int64_t blocks = (rows + 63) / 64;
  float *partial = db ? ssl_grow(&partial_, sizeof(float) * (size_t)(blocks * out)) : NULL;
  if (db && !partial) return -5;
  const float *g = dy;
  if (act == SSL_ACT_GELU) {
    float *dh = ssl_grow(&dh_, sizeof(float) * (size_t)(rows * out));
    if (!dh) return -5;
    ssl_gelu_bwd_colsum(dy, h, dh, db, partial, rows, out);
    g = dh;
  } else if (db)
    ssl_colsum(dy, NULL, db, partial, rows, out);
  int rc = 0;
  if (dx) rc = ssl_gemm(routeDx, g, 0, w, 0, dx, 0, 1, rows, in, out, false, true, 0.0f);
  if (!rc && dw) rc = ssl_gemm(routeDw, x, 0, g, 0, dw, 0, 1, in, out, rows, true, false, 0.0f);
  return rc;
}

int ssl_linear_fwd_bf16(const float *x, const float *w, const float *bias, const float *res, float *h, float *y, uint16_t *xb, int64_t rows,
                        int64_t in, int64_t out, int act) {
  uint16_t *wb = ssl_grow(&wb_, sizeof(uint16_t) * (size_t)(in * out));
  if (!wb) return -5;
  ssl_to_bf16(x, xb, rows * in);
  ssl_to_bf16(w, wb, in * out);
  return fwd(SSL_ROUTE_ONEDNN_BF16, xb, wb, bias, res, h, y, rows, in, out, act);
}

int ssl_linear_bwd_bf16(const float *dy, const uint16_t *xb, const float *w, const float *h, const float *hbias, float *dx, uint16_t *dxb, float *dw,
                        float *db, int64_t rows, int64_t in, int64_t out, int act) {
  const int64_t blocks = (rows + 63) / 64;
  float *partial = db ? ssl_grow(&partial_, sizeof(float) * (size_t)(blocks * out)) : NULL;
  uint16_t *gb = ssl_grow(&gb_, sizeof(uint16_t) * (size_t)(rows * out)), *wb = ssl_grow(&wb_, sizeof(uint16_t) * (size_t)(in * out));
  if ((db && !partial) || !gb || !wb) return -5;
  if (act == SSL_ACT_GELU) ssl_gelu_bwd_colsum_bf16(dy, h, hbias, gb, db, partial, rows, out);
  else ssl_colsum(dy, gb, db, partial, rows, out);
  int rc = 0;
  if (dx || dxb) {
    ssl_to_bf16(w, wb, in * out);
    rc = dx ? ssl_dnnl_matmul_bf16(gb, 0, wb, 0, dx, 0, 1, rows, in, out, false, true, 0.0f)
            : ssl_dnnl_matmul_bf16_out16(gb, wb, dxb, rows, in, out, false, true);
  }
  if (!rc && dw) rc = ssl_dnnl_matmul_bf16(xb, 0, gb, 0, dw, 0, 1, in, out, rows, true, false, 0.0f);
  return rc;
}

/* Scratch of the pre-norm layers' backward: the gradient of the LayerNorm's output, and of the MLP's hidden layer. */
static ssl_buf_t dln_, dmid_;

/* out = LN(x) W + bias, LN(x) written straight to bf16 (xb). */
static int norm_linear_fwd_bf16(const float *x, const float *g, const float *beta, float eps, const float *w, const float *bias, float *mean,
                                float *rstd, uint16_t *xb, float *out, int64_t rows, int64_t d, int64_t n) {
  uint16_t *wb = ssl_grow(&wb_, sizeof(uint16_t) * (size_t)(d * n));
  if (!wb) return -5;
  ssl_layernorm_fwd_bf16(x, g, beta, xb, mean, rstd, rows, d, eps);
  ssl_to_bf16(w, wb, d * n);
  return ssl_dnnl_linear(SSL_DNNL_BF16, xb, wb, bias, NULL, out, rows, n, d);
}

int ssl_norm_mlp_fwd_bf16(const float *x, const float *g, const float *beta, float eps, const float *w1, const float *b1, const float *w2,
                          const float *b2, float *mean, float *rstd, uint16_t *xb, float *h, uint16_t *yb, float *out, int64_t rows, int64_t d,
                          int64_t hid) {
  /* fc1 without its bias: h = LN(x) W1; GELU adds b1 (the same sum, bit for bit, as oneDNN's bias in the product, which costs more there) */
  int rc = norm_linear_fwd_bf16(x, g, beta, eps, w1, NULL, mean, rstd, xb, h, rows, d, hid);
  if (rc) return rc;
  ssl_gelu_fwd_bf16(h, b1, yb, rows, hid);
  uint16_t *wb = ssl_grow(&wb_, sizeof(uint16_t) * (size_t)(hid * d));
  if (!wb) return -5;
  ssl_to_bf16(w2, wb, hid * d);
  return ssl_dnnl_linear(SSL_DNNL_BF16, yb, wb, b2, x, out, rows, d, hid);
}

int ssl_norm_mlp_bwd_bf16(const float *dout, const float *x, const float *mean, const float *rstd, const float *g, const uint16_t *xb,
                          const float *w1, const float *b1, const float *h, const uint16_t *yb, const float *w2, float *dx, float *dg, float *dbeta, float *dw1,
                          float *db1, float *dw2, float *db2, int64_t rows, int64_t d, int64_t hid) {
  float *dmid = ssl_grow(&dmid_, sizeof(float) * (size_t)(rows * hid)), *dln = ssl_grow(&dln_, sizeof(float) * (size_t)(rows * d));
  if (!dmid || !dln) return -5;
  int rc = ssl_linear_bwd_bf16(dout, yb, w2, NULL, NULL, dmid, NULL, dw2, db2, rows, hid, d, SSL_ACT_NONE);
  if (!rc) rc = ssl_linear_bwd_bf16(dmid, xb, w1, h, b1, dln, NULL, dw1, db1, rows, d, hid, SSL_ACT_GELU);
  if (rc) return rc;
  ssl_layernorm_bwd(dln, x, mean, rstd, g, dx, dg, dbeta, rows, d, dout);
  return 0;
}
