/* Linear layers with fused epilogues (linear.h): the GEMM, then one pass for bias, GELU and residual. */
#include "linear.h"
#include "elementwise.h"
#include "gemm.h"
#include <stdlib.h>

/* Scratch reused across calls (the addon is called from one JS thread): GELU's dh, and column-sum partials. */
static float *grow(float **buf, size_t *have, size_t need) {
  if (*have < need) {
    free(*buf);
    *buf = malloc(need * sizeof(float));
    *have = *buf ? need : 0;
  }
  return *buf;
}
static float *dh_buf, *partial_buf;
static size_t dh_have, partial_have;

int ssl_linear_fwd(const float *x, const float *w, const float *bias, const float *res, float *h, float *y, int64_t rows, int64_t in,
                   int64_t out, int act, int route) {
  int rc = ssl_gemm(route, x, 0, w, 0, h, 0, 1, rows, out, in, false, false, 0.0f);
  if (rc) return rc;
  if (act == SSL_ACT_GELU) ssl_bias_gelu_fwd(h, bias, y, rows, out);
  else if (bias || res) ssl_bias_residual(h, bias, res, rows, out);
  return 0;
}

int ssl_linear_bwd(const float *dy, const float *x, const float *w, const float *h, float *dx, float *dw, float *db, int64_t rows,
                   int64_t in, int64_t out, int act, int routeDx, int routeDw) {
  const int64_t blocks = (rows + 63) / 64;
  float *partial = db ? grow(&partial_buf, &partial_have, (size_t)(blocks * out)) : NULL;
  if (db && !partial) return -5;
  const float *g = dy;
  if (act == SSL_ACT_GELU) {
    float *dh = grow(&dh_buf, &dh_have, (size_t)(rows * out));
    if (!dh) return -5;
    ssl_gelu_bwd_colsum(dy, h, dh, db, partial, rows, out);
    g = dh;
  } else if (db)
    ssl_colsum(dy, db, partial, rows, out);
  int rc = 0;
  if (dx) rc = ssl_gemm(routeDx, g, 0, w, 0, dx, 0, 1, rows, in, out, false, true, 0.0f);
  if (!rc && dw) rc = ssl_gemm(routeDw, x, 0, g, 0, dw, 0, 1, in, out, rows, true, false, 0.0f);
  return rc;
}
