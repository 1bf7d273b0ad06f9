/*
 * The pre-norm attention branch at bf16 (prenorm_attention.h): LayerNorm, qkv, attention and proj
 * with its skip connection in one call, bf16 intermediates written by the producing kernel.
 */
#include "prenorm_attention.h"
#include "attention_bf16.h"
#include "bf16.h"
#include "dnnl_matmul.h"
#include "elementwise.h"
#include "linear.h"
#include "scratch.h"

/* Scratch reused across calls: the forward's weights in bf16, and the backward's gradients in between. */
static ssl_buf_t wq_, wp_, daob_, dqkv_, dln_;

int ssl_norm_attention_fwd_bf16(const float *x, const float *g, const float *beta, float eps, const float *wq, const float *bq, const float *wp,
                                const float *bp, float *mean, float *rstd, uint16_t *xb, uint16_t *qkvb, float *p, uint16_t *ob, float *out,
                                int64_t B, int64_t T, int64_t D, int64_t H) {
  const int64_t rows = B * T;
  uint16_t *wqb = ssl_grow(&wq_, sizeof(uint16_t) * (size_t)(D * 3 * D)), *wpb = ssl_grow(&wp_, sizeof(uint16_t) * (size_t)(D * D));
  if (!wqb || !wpb) return -5;
  ssl_to_bf16(wq, wqb, D * 3 * D);
  ssl_to_bf16(wp, wpb, D * D);
  ssl_layernorm_fwd_bf16(x, g, beta, xb, mean, rstd, rows, D, eps);
  int rc = ssl_dnnl_linear_bf16_out16(xb, wqb, bq, qkvb, rows, 3 * D, D);
  if (!rc) rc = ssl_attention_fwd_bf16_qkv16(qkvb, ob, p, B, T, D, H);
  if (!rc) rc = ssl_dnnl_linear(SSL_DNNL_BF16, ob, wpb, bp, x, out, rows, D, D);
  return rc;
}

int ssl_norm_attention_bwd_bf16(const float *dout, const float *x, const float *mean, const float *rstd, const float *g, const uint16_t *xb,
                                const float *wq, const uint16_t *qkvb, const float *p, const uint16_t *ob, const float *wp, float *dx,
                                float *dg, float *dbeta, float *dwq, float *dbq, float *dwp, float *dbp, int64_t B, int64_t T, int64_t D,
                                int64_t H) {
  const int64_t rows = B * T;
  uint16_t *daob = ssl_grow(&daob_, sizeof(uint16_t) * (size_t)(rows * D));
  float *dqkv = ssl_grow(&dqkv_, sizeof(float) * (size_t)(rows * 3 * D)), *dln = ssl_grow(&dln_, sizeof(float) * (size_t)(rows * D));
  if (!daob || !dqkv || !dln) return -5;
  /* proj (dwp, dbp, and the attention output's gradient in bf16), attention, then qkv (dwq, dbq, and the LayerNorm output's gradient) */
  int rc = ssl_linear_bwd_bf16(dout, ob, wp, NULL, NULL, NULL, daob, dwp, dbp, rows, D, D, SSL_ACT_NONE);
  if (!rc) rc = ssl_attention_bwd_bf16_qkv16(daob, qkvb, p, dqkv, B, T, D, H);
  if (!rc) rc = ssl_linear_bwd_bf16(dqkv, xb, wq, NULL, NULL, dln, NULL, dwq, dbq, rows, D, 3 * D, SSL_ACT_NONE);
  if (rc) return rc;
  ssl_layernorm_bwd(dln, x, mean, rstd, g, dx, dg, dbeta, rows, D, dout);
  return 0;
}
