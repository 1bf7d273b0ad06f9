/*
 * sslbench native kernels, exposed to Node with N-API: GEMM through OpenBLAS's CBLAS or oneDNN's
 * matmul (gemm.c; fp32, or bf16 inputs with fp32 accumulation), linear layers with fused epilogues
 * (linear.c), and the fused element-wise kernels (elementwise.h: gelu.c, layernorm.c, softmax.c, adamw.c,
 * epilogue.c). Operands are Float32Arrays
 * (views of a tfjs backend's memory, e.g. the wasm heap), with element offsets, so no data is copied.
 *
 *   gemm(a, aOff, aStride, b, bOff, bStride, c, cOff, cStride, batch, m, n, k, transA, transB, beta, route)
 *     for i in 0..batch-1:
 *       C_i[m x n] = op(A_i) op(B_i) + beta * C_i, row-major, A_i at a[aOff + i*aStride], ...
 *     op(A) is [m x k] (A stored [k x m] when transA), op(B) is [k x n] (B stored [n x k] when transB).
 *     A stride of 0 broadcasts one matrix over the batch. route: gemm.h (0 OpenBLAS, 1 oneDNN, 2 oneDNN bf16).
 *   linearFwd / linearBwd, normMlpFwd / normMlpBwd: linear.h; normAttentionFwd / normAttentionBwd: prenorm_attention.h; roundBf16(x, y, n); onednn(): version or null; onednnStatus()
 *   setThreads(n), threads(), config()
 *   geluFwd/geluBwd, layerNormFwd/layerNormBwd, softmaxFwd/softmaxBwd, sumRows: see elementwise.h
 *   convFwd/convBwdInput/convBwdFilter(a, b, out, geom): NHWC convolution, see conv.c
 */
#include <node_api.h>
#include <cblas.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <math.h>
#include "elementwise.h"
#include "conv.h"
#include "gemm.h"
#include "linear.h"
#include "dnnl_matmul.h"
#include "bf16.h"
#include "attention_bf16.h"
#include "attention_small.h"
#include "augment.h"
#include "prenorm_attention.h"
#include <omp.h>

extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern int openblas_get_parallel(void);

/*
 * Loops over independent problems (attention heads of different images) run on OpenMP threads,
 * each calling a single-threaded GEMM. OpenBLAS's OpenMP build does that by itself inside a
 * parallel region; its pthread build must be told to (and back) around the loop.
 */
static int serial_blas_begin(void) {
  if (openblas_get_parallel() == 2) return 0;
  int n = openblas_get_num_threads();
  openblas_set_num_threads(1);
  return n;
}
static void serial_blas_end(int n) {
  if (n > 0) openblas_set_num_threads(n);
}

#define CHECK(call)                                                                   \
  do {                                                                                \
    if ((call) != napi_ok) {                                                          \
      napi_throw_error(env, NULL, "sslbench native: N-API call failed: " #call);      \
      return NULL;                                                                    \
    }                                                                                 \
  } while (0)

static float *f32(napi_env env, napi_value v, size_t *len, const char *what) {
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buf;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &buf, &offset) != napi_ok || type != napi_float32_array) {
    char msg[96];
    snprintf(msg, sizeof msg, "sslbench native gemm: %s must be a Float32Array", what);
    napi_throw_type_error(env, NULL, msg);
    return NULL;
  }
  *len = length;
  return (float *)data;
}

static int64_t i64(napi_env env, napi_value v) {
  int64_t x = 0;
  napi_get_value_int64(env, v, &x);
  return x;
}

static napi_value gemm_result(napi_env env, int rc) {
  if (rc != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "sslbench native gemm: %s (code %d)", ssl_gemm_error(rc), rc);
    napi_throw_error(env, NULL, msg);
  }
  return NULL;
}

static napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 17;
  napi_value argv[17];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 17) {
    napi_throw_error(env, NULL, "sslbench native gemm: expects 17 arguments");
    return NULL;
  }
  size_t la, lb, lc;
  float *a = f32(env, argv[0], &la, "a");
  if (!a) return NULL;
  float *b = f32(env, argv[3], &lb, "b");
  if (!b) return NULL;
  float *c = f32(env, argv[6], &lc, "c");
  if (!c) return NULL;
  int64_t aOff = i64(env, argv[1]), aStride = i64(env, argv[2]);
  int64_t bOff = i64(env, argv[4]), bStride = i64(env, argv[5]);
  int64_t cOff = i64(env, argv[7]), cStride = i64(env, argv[8]);
  int64_t batch = i64(env, argv[9]), m = i64(env, argv[10]), n = i64(env, argv[11]), k = i64(env, argv[12]);
  bool transA = false, transB = false;
  double beta = 0;
  napi_get_value_bool(env, argv[13], &transA);
  napi_get_value_bool(env, argv[14], &transB);
  napi_get_value_double(env, argv[15], &beta);
  int64_t route = i64(env, argv[16]);
  if (batch < 0 || m < 0 || n < 0 || k < 0) {
    napi_throw_range_error(env, NULL, "sslbench native gemm: negative size");
    return NULL;
  }
  /* bounds: last element touched of each operand must be inside its array */
  if (batch > 0 && m > 0 && n > 0) {
    int64_t lastA = aOff + (batch - 1) * aStride + m * k;
    int64_t lastB = bOff + (batch - 1) * bStride + k * n;
    int64_t lastC = cOff + (batch - 1) * cStride + m * n;
    if (aOff < 0 || bOff < 0 || cOff < 0 || lastA > (int64_t)la || lastB > (int64_t)lb || lastC > (int64_t)lc) {
      napi_throw_range_error(env, NULL, "sslbench native gemm: operand out of bounds");
      return NULL;
    }
  }
  return gemm_result(env, ssl_gemm((int)route, a + aOff, aStride, b + bOff, bStride, c + cOff, cStride, batch, m, n, k, transA, transB, (float)beta));
}

/* A Float32Array argument that may be null (optional operand); *ok = false after a thrown error. */
static float *f32opt(napi_env env, napi_value v, size_t need, const char *what, bool *ok) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) return NULL;
  size_t len;
  float *p = f32(env, v, &len, what);
  if (!p) {
    *ok = false;
    return NULL;
  }
  if (len < need) {
    char msg[128];
    snprintf(msg, sizeof msg, "sslbench native: %s has %zu elements, needs %zu", what, len, need);
    napi_throw_range_error(env, NULL, msg);
    *ok = false;
    return NULL;
  }
  return p;
}

#define ARGS(N)                                                          \
  size_t argc = N;                                                       \
  napi_value argv[N];                                                    \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));           \
  if (argc != N) {                                                       \
    napi_throw_error(env, NULL, "sslbench native: expects " #N " arguments"); \
    return NULL;                                                         \
  }                                                                      \
  bool ok = true;

#define REQ(var, idx, need, what)                                        \
  float *var = f32opt(env, argv[idx], (size_t)(need), what, &ok);         \
  if (!ok) return NULL;                                                  \
  if (!var) {                                                            \
    napi_throw_type_error(env, NULL, "sslbench native: " what " is required"); \
    return NULL;                                                         \
  }
#define OPT(var, idx, need, what)                                        \
  float *var = f32opt(env, argv[idx], (size_t)(need), what, &ok);         \
  if (!ok) return NULL;

/* augmentView(images, B, H, W, maps, params, taps, K, S, threshold, mean, std, out): augment.h */
static napi_value AugmentView(napi_env env, napi_callback_info info) {
  ARGS(13)
  int64_t B = i64(env, argv[1]), H = i64(env, argv[2]), W = i64(env, argv[3]), K = i64(env, argv[7]), S = i64(env, argv[8]);
  double thr = 0;
  napi_get_value_double(env, argv[9], &thr);
  if (B < 0 || H < 1 || W < 1 || S < 1 || K < 1 || K % 2 == 0) {
    napi_throw_range_error(env, NULL, "sslbench native augmentView: bad sizes (B >= 0, H, W, S >= 1, K odd)");
    return NULL;
  }
  REQ(images, 0, B * H * W * 3, "images") REQ(maps, 4, 6 * B * S, "maps") REQ(params, 5, B * SSL_AUG_PARAMS, "params")
  REQ(taps, 6, B * K, "taps") REQ(mean, 10, 3, "mean") REQ(std, 11, 3, "std") REQ(out, 12, B * S * S * 3, "out")
  int rc = ssl_augment_view(images, B, H, W, maps, params, taps, K, S, (float)thr, mean, std, out);
  if (rc == -3) napi_throw_range_error(env, NULL, "sslbench native augmentView: a crop map leaves the image");
  else if (rc) napi_throw_error(env, NULL, "sslbench native augmentView: out of memory");
  return NULL;
}

/* geluFwd(x, y, n) */
static napi_value GeluFwd(napi_env env, napi_callback_info info) {
  ARGS(3)
  int64_t n = i64(env, argv[2]);
  REQ(x, 0, n, "x") REQ(y, 1, n, "y")
  ssl_gelu_fwd(x, y, n);
  return NULL;
}

/* geluBwd(dy, x, dx, n) */
static napi_value GeluBwd(napi_env env, napi_callback_info info) {
  ARGS(4)
  int64_t n = i64(env, argv[3]);
  REQ(dy, 0, n, "dy") REQ(x, 1, n, "x") REQ(dx, 2, n, "dx")
  ssl_gelu_bwd(dy, x, dx, n);
  return NULL;
}

/* layerNormFwd(x, g|null, b|null, y, mean, rstd, rows, d, eps) */
static napi_value LayerNormFwd(napi_env env, napi_callback_info info) {
  ARGS(9)
  int64_t rows = i64(env, argv[6]), d = i64(env, argv[7]);
  double eps = 0;
  napi_get_value_double(env, argv[8], &eps);
  REQ(x, 0, rows * d, "x") OPT(g, 1, d, "gamma") OPT(b, 2, d, "beta") REQ(y, 3, rows * d, "y") REQ(mean, 4, rows, "mean") REQ(rstd, 5, rows, "rstd")
  ssl_layernorm_fwd(x, g, b, y, mean, rstd, rows, d, (float)eps);
  return NULL;
}

/* layerNormBwd(dy, x, mean, rstd, g|null, dx, dg|null, db|null, rows, d) */
static napi_value LayerNormBwd(napi_env env, napi_callback_info info) {
  ARGS(10)
  int64_t rows = i64(env, argv[8]), d = i64(env, argv[9]);
  REQ(dy, 0, rows * d, "dy") REQ(x, 1, rows * d, "x") REQ(mean, 2, rows, "mean") REQ(rstd, 3, rows, "rstd") OPT(g, 4, d, "gamma")
  REQ(dx, 5, rows * d, "dx") OPT(dg, 6, d, "dgamma") OPT(db, 7, d, "dbeta")
  ssl_layernorm_bwd(dy, x, mean, rstd, g, dx, dg, db, rows, d, NULL);
  return NULL;
}

/* softmaxFwd(x, y, rows, d) */
static napi_value SoftmaxFwd(napi_env env, napi_callback_info info) {
  ARGS(4)
  int64_t rows = i64(env, argv[2]), d = i64(env, argv[3]);
  REQ(x, 0, rows * d, "x") REQ(y, 1, rows * d, "y")
  ssl_softmax_fwd(x, y, rows, d);
  return NULL;
}

/* softmaxBwd(dy, y, dx, rows, d) */
static napi_value SoftmaxBwd(napi_env env, napi_callback_info info) {
  ARGS(5)
  int64_t rows = i64(env, argv[3]), d = i64(env, argv[4]);
  REQ(dy, 0, rows * d, "dy") REQ(y, 1, rows * d, "y") REQ(dx, 2, rows * d, "dx")
  ssl_softmax_bwd(dy, y, dx, rows, d);
  return NULL;
}

/* sumRows(x, out, rows, n) */
static napi_value SumRows(napi_env env, napi_callback_info info) {
  ARGS(4)
  int64_t rows = i64(env, argv[2]), n = i64(env, argv[3]);
  REQ(x, 0, rows * n, "x") REQ(out, 1, n, "out")
  ssl_sum_rows(x, out, rows, n);
  return NULL;
}

/* adamw(p, g, m, v, pOut, mOut, vOut, n, lr, b1, b2, eps, wd, bc1, bc2sqrt) */
static napi_value AdamW(napi_env env, napi_callback_info info) {
  ARGS(15)
  int64_t n = i64(env, argv[7]);
  REQ(p, 0, n, "p") REQ(g, 1, n, "g") REQ(m, 2, n, "m") REQ(v, 3, n, "v") REQ(po, 4, n, "pOut") REQ(mo, 5, n, "mOut") REQ(vo, 6, n, "vOut")
  double h[7];
  for (int i = 0; i < 7; i++) napi_get_value_double(env, argv[8 + i], &h[i]);
  ssl_adamw(p, g, m, v, po, mo, vo, n, (float)h[0], (float)h[1], (float)h[2], (float)h[3], (float)h[4], (float)h[5], (float)h[6]);
  return NULL;
}

/* geom = [B, H, W, C, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL] (a JS array of numbers) */
static bool conv_geom(napi_env env, napi_value v, ssl_conv_geom *g) {
  int64_t f[15];
  uint32_t len = 0;
  bool isArray = false;
  napi_is_array(env, v, &isArray);
  if (isArray) napi_get_array_length(env, v, &len);
  if (!isArray || len != 15) {
    napi_throw_type_error(env, NULL, "sslbench native conv: geometry must be an array of 15 numbers");
    return false;
  }
  for (uint32_t i = 0; i < 15; i++) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    f[i] = i64(env, e);
    if (f[i] < 0) {
      napi_throw_range_error(env, NULL, "sslbench native conv: negative geometry");
      return false;
    }
  }
  *g = (ssl_conv_geom){f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12], f[13], f[14]};
  return true;
}

#define CONV_SIZES(g)                                        \
  const int64_t nx = g.B * g.H * g.W * g.C;                  \
  const int64_t nw = g.KH * g.KW * g.C * g.OC;               \
  const int64_t ny = g.B * g.OH * g.OW * g.OC;

static napi_value conv_result(napi_env env, int rc) {
  if (rc == -1) napi_throw_error(env, NULL, "sslbench native conv: out of memory for the patch matrix");
  else if (rc) return gemm_result(env, rc);
  return NULL;
}

/* convFwd(x, w, y, geom, route): route as gemm.h */
static napi_value ConvFwd(napi_env env, napi_callback_info info) {
  ARGS(5)
  ssl_conv_geom g;
  if (!conv_geom(env, argv[3], &g)) return NULL;
  CONV_SIZES(g)
  REQ(x, 0, nx, "x") REQ(w, 1, nw, "filter") REQ(y, 2, ny, "y")
  return conv_result(env, ssl_conv_fwd(&g, x, w, y, (int)i64(env, argv[4])));
}

/* convBwdInput(dy, w, dx, geom, route) */
static napi_value ConvBwdInput(napi_env env, napi_callback_info info) {
  ARGS(5)
  ssl_conv_geom g;
  if (!conv_geom(env, argv[3], &g)) return NULL;
  CONV_SIZES(g)
  REQ(dy, 0, ny, "dy") REQ(w, 1, nw, "filter") REQ(dx, 2, nx, "dx")
  return conv_result(env, ssl_conv_bwd_input(&g, dy, w, dx, (int)i64(env, argv[4])));
}

/* convBwdFilter(x, dy, dw, geom, route) */
static napi_value ConvBwdFilter(napi_env env, napi_callback_info info) {
  ARGS(5)
  ssl_conv_geom g;
  if (!conv_geom(env, argv[3], &g)) return NULL;
  CONV_SIZES(g)
  REQ(x, 0, nx, "x") REQ(dy, 1, ny, "dy") REQ(dw, 2, nw, "dfilter")
  return conv_result(env, ssl_conv_bwd_filter(&g, x, dy, dw, (int)i64(env, argv[4])));
}

/*
 * linearFwd(x, w, bias|null, res|null, h, y|null, xb|null, rows, in, out, act, route): see linear.h (y only with act = GELU).
 * route 2 (bf16) writes bf16(x) to xb, a Float32Array of at least ceil(rows * in / 2) elements holding the halves.
 */
static napi_value LinearFwd(napi_env env, napi_callback_info info) {
  ARGS(12)
  int64_t rows = i64(env, argv[7]), in = i64(env, argv[8]), out = i64(env, argv[9]), act = i64(env, argv[10]), route = i64(env, argv[11]);
  if (rows < 1 || in < 1 || out < 1 || act < 0 || act > 1) {
    napi_throw_range_error(env, NULL, "sslbench native linearFwd: bad sizes or activation");
    return NULL;
  }
  const bool bf16 = route == SSL_ROUTE_ONEDNN_BF16;
  REQ(x, 0, rows * in, "x") REQ(w, 1, in * out, "w") OPT(bias, 2, out, "bias") OPT(res, 3, rows * out, "res") REQ(h, 4, rows * out, "h")
  OPT(y, 5, rows * out, "y") OPT(xb, 6, (rows * in + 1) / 2, "xb")
  if ((act == SSL_ACT_GELU) != (y != NULL) || (act == SSL_ACT_GELU && res) || bf16 != (xb != NULL)) {
    napi_throw_type_error(env, NULL, "sslbench native linearFwd: y is given exactly with GELU (which takes no residual), xb exactly in bf16");
    return NULL;
  }
  if (bf16) return gemm_result(env, ssl_linear_fwd_bf16(x, w, bias, res, h, y, (uint16_t *)xb, rows, in, out, (int)act));
  return gemm_result(env, ssl_linear_fwd(x, w, bias, res, h, y, rows, in, out, (int)act, (int)route));
}

/*
 * linearBwd(dy, x, w, h|null, dx|null, dw|null, db|null, rows, in, out, act, routeDx, routeDw): see linear.h.
 * Both routes 2 (bf16): x is the forward's xb (bf16 halves).
 */
static napi_value LinearBwd(napi_env env, napi_callback_info info) {
  ARGS(13)
  int64_t rows = i64(env, argv[7]), in = i64(env, argv[8]), out = i64(env, argv[9]), act = i64(env, argv[10]);
  int64_t routeDx = i64(env, argv[11]), routeDw = i64(env, argv[12]);
  if (rows < 1 || in < 1 || out < 1 || act < 0 || act > 1) {
    napi_throw_range_error(env, NULL, "sslbench native linearBwd: bad sizes or activation");
    return NULL;
  }
  const bool bf16 = routeDx == SSL_ROUTE_ONEDNN_BF16 || routeDw == SSL_ROUTE_ONEDNN_BF16;
  if (bf16 && routeDx != routeDw) {
    napi_throw_type_error(env, NULL, "sslbench native linearBwd: bf16 takes both products in bf16");
    return NULL;
  }
  REQ(dy, 0, rows * out, "dy") REQ(x, 1, bf16 ? (rows * in + 1) / 2 : rows * in, "x") REQ(w, 2, in * out, "w") OPT(h, 3, rows * out, "h")
  OPT(dx, 4, rows * in, "dx") OPT(dw, 5, in * out, "dw") OPT(db, 6, out, "db")
  if (act == SSL_ACT_GELU && !h) {
    napi_throw_type_error(env, NULL, "sslbench native linearBwd: GELU needs h, the pre-activation");
    return NULL;
  }
  if (bf16) return gemm_result(env, ssl_linear_bwd_bf16(dy, (const uint16_t *)x, w, h, NULL, dx, NULL, dw, db, rows, in, out, (int)act));
  return gemm_result(env, ssl_linear_bwd(dy, x, w, h, dx, dw, db, rows, in, out, (int)act, (int)routeDx, (int)routeDw));
}

/*
 * Pre-norm layers in bf16 (linear.h; need oneDNN). xb, yb: Float32Arrays holding bf16 halves.
 *   normMlpFwd(x, g, beta, w1, b1|null, w2, b2|null, mean, rstd, xb, h, yb, out, rows, d, hid, eps)
 *   normMlpBwd(dout, x, mean, rstd, g, xb, w1, h, yb, w2, dx, dg, dbeta, dw1, db1|null, dw2, db2|null, rows, d, hid)
 */
static bool norm_sizes_ok(napi_env env, int64_t rows, int64_t d, int64_t n) {
  if (rows >= 1 && d >= 1 && n >= 1) return true;
  napi_throw_range_error(env, NULL, "sslbench native pre-norm layer: rows, d and the output width must be at least 1");
  return false;
}

static napi_value NormMlpFwd(napi_env env, napi_callback_info info) {
  ARGS(17)
  int64_t rows = i64(env, argv[13]), d = i64(env, argv[14]), hid = i64(env, argv[15]);
  double eps = 0;
  napi_get_value_double(env, argv[16], &eps);
  if (!norm_sizes_ok(env, rows, d, hid)) return NULL;
  REQ(x, 0, rows * d, "x") REQ(g, 1, d, "gamma") REQ(beta, 2, d, "beta") REQ(w1, 3, d * hid, "w1") OPT(b1, 4, hid, "b1")
  REQ(w2, 5, hid * d, "w2") OPT(b2, 6, d, "b2") REQ(mean, 7, rows, "mean") REQ(rstd, 8, rows, "rstd") REQ(xb, 9, (rows * d + 1) / 2, "xb")
  REQ(h, 10, rows * hid, "h") REQ(yb, 11, (rows * hid + 1) / 2, "yb") REQ(out, 12, rows * d, "out")
  return gemm_result(env, ssl_norm_mlp_fwd_bf16(x, g, beta, (float)eps, w1, b1, w2, b2, mean, rstd, (uint16_t *)xb, h, (uint16_t *)yb, out,
                                                rows, d, hid));
}

static napi_value NormMlpBwd(napi_env env, napi_callback_info info) {
  ARGS(21)
  int64_t rows = i64(env, argv[18]), d = i64(env, argv[19]), hid = i64(env, argv[20]);
  if (!norm_sizes_ok(env, rows, d, hid)) return NULL;
  REQ(dout, 0, rows * d, "dout") REQ(x, 1, rows * d, "x") REQ(mean, 2, rows, "mean") REQ(rstd, 3, rows, "rstd") REQ(g, 4, d, "gamma")
  REQ(xb, 5, (rows * d + 1) / 2, "xb") REQ(w1, 6, d * hid, "w1") OPT(b1, 7, hid, "b1") REQ(h, 8, rows * hid, "h")
  REQ(yb, 9, (rows * hid + 1) / 2, "yb") REQ(w2, 10, hid * d, "w2") REQ(dx, 11, rows * d, "dx") REQ(dg, 12, d, "dgamma")
  REQ(dbeta, 13, d, "dbeta") REQ(dw1, 14, d * hid, "dw1") OPT(db1, 15, hid, "db1") REQ(dw2, 16, hid * d, "dw2") OPT(db2, 17, d, "db2")
  return gemm_result(env, ssl_norm_mlp_bwd_bf16(dout, x, mean, rstd, g, (const uint16_t *)xb, w1, b1, h, (const uint16_t *)yb, w2, dx, dg,
                                                dbeta, dw1, db1, dw2, db2, rows, d, hid));
}

/* roundBf16(x, y, n): y = x rounded to bf16 (nearest even), as fp32 */
static napi_value RoundBf16(napi_env env, napi_callback_info info) {
  ARGS(3)
  int64_t n = i64(env, argv[2]);
  REQ(x, 0, n, "x") REQ(y, 1, n, "y")
  ssl_round_bf16(x, y, n);
  return NULL;
}

/* onednn(): the oneDNN version string, or null when it is not built in or does not start */
static napi_value Onednn(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  if (ssl_dnnl_available()) CHECK(napi_create_string_utf8(env, ssl_dnnl_config(), NAPI_AUTO_LENGTH, &r));
  else CHECK(napi_get_null(env, &r));
  return r;
}

/* onednnStatus(): why oneDNN is absent, or its version */
static napi_value OnednnStatus(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  CHECK(napi_create_string_utf8(env, ssl_dnnl_config(), NAPI_AUTO_LENGTH, &r));
  return r;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t t = argc ? i64(env, argv[0]) : 1;
  if (t < 1) t = 1;
  openblas_set_num_threads((int)t);
  omp_set_num_threads((int)t); /* oneDNN's OpenMP runtime reads it */
  ssl_set_threads((int)t);
  return NULL;
}

static napi_value Threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &r));
  return r;
}

static napi_value Config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  const char *s = openblas_get_config();
  CHECK(napi_create_string_utf8(env, s ? s : "unknown", NAPI_AUTO_LENGTH, &r));
  return r;
}

static bool heads_ok(napi_env env, int64_t D, int64_t H, int64_t ld);
/* normAttentionFwd(x, gamma, beta, wq, bq, wp, bp, mean, rstd, xb, qkvb, p, ob, out, B, T, D, H, eps): prenorm_attention.h */
static napi_value NormAttentionFwd(napi_env env, napi_callback_info info) {
  ARGS(19)
  int64_t B = i64(env, argv[14]), T = i64(env, argv[15]), D = i64(env, argv[16]), H = i64(env, argv[17]), rows = B * T;
  double eps = 0;
  napi_get_value_double(env, argv[18], &eps);
  if (!norm_sizes_ok(env, rows, D, D) || !heads_ok(env, D, H, D)) return NULL;
  REQ(x, 0, rows * D, "x") REQ(g, 1, D, "gamma") REQ(beta, 2, D, "beta") REQ(wq, 3, D * 3 * D, "wq") OPT(bq, 4, 3 * D, "bq")
  REQ(wp, 5, D * D, "wp") OPT(bp, 6, D, "bp") REQ(mean, 7, rows, "mean") REQ(rstd, 8, rows, "rstd") REQ(xb, 9, (rows * D + 1) / 2, "xb")
  REQ(qkvb, 10, (rows * 3 * D + 1) / 2, "qkvb") REQ(p, 11, B * H * T * T, "p") REQ(ob, 12, (rows * D + 1) / 2, "ob") REQ(out, 13, rows * D, "out")
  return gemm_result(env, ssl_norm_attention_fwd_bf16(x, g, beta, (float)eps, wq, bq, wp, bp, mean, rstd, (uint16_t *)xb, (uint16_t *)qkvb, p,
                                                      (uint16_t *)ob, out, B, T, D, H));
}
/* normAttentionBwd(dout, x, mean, rstd, gamma, xb, wq, qkvb, p, ob, wp, dx, dgamma, dbeta, dwq, dbq, dwp, dbp, B, T, D, H) */
static napi_value NormAttentionBwd(napi_env env, napi_callback_info info) {
  ARGS(22)
  int64_t B = i64(env, argv[18]), T = i64(env, argv[19]), D = i64(env, argv[20]), H = i64(env, argv[21]), rows = B * T;
  if (!norm_sizes_ok(env, rows, D, D) || !heads_ok(env, D, H, D)) return NULL;
  REQ(dout, 0, rows * D, "dout") REQ(x, 1, rows * D, "x") REQ(mean, 2, rows, "mean") REQ(rstd, 3, rows, "rstd") REQ(g, 4, D, "gamma")
  REQ(xb, 5, (rows * D + 1) / 2, "xb") REQ(wq, 6, D * 3 * D, "wq") REQ(qkvb, 7, (rows * 3 * D + 1) / 2, "qkvb") REQ(p, 8, B * H * T * T, "p")
  REQ(ob, 9, (rows * D + 1) / 2, "ob") REQ(wp, 10, D * D, "wp") REQ(dx, 11, rows * D, "dx") REQ(dg, 12, D, "dgamma") REQ(dbeta, 13, D, "dbeta")
  REQ(dwq, 14, D * 3 * D, "dwq") OPT(dbq, 15, 3 * D, "dbq") REQ(dwp, 16, D * D, "dwp") OPT(dbp, 17, D, "dbp")
  return gemm_result(env, ssl_norm_attention_bwd_bf16(dout, x, mean, rstd, g, (const uint16_t *)xb, wq, (const uint16_t *)qkvb, p,
                                                      (const uint16_t *)ob, wp, dx, dg, dbeta, dwq, dbq, dwp, dbp, B, T, D, H));
}
static napi_value AttentionFwd(napi_env env, napi_callback_info info);
static napi_value AttentionBwd(napi_env env, napi_callback_info info);

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_default, NULL},
      {"linearFwd", NULL, LinearFwd, NULL, NULL, NULL, napi_default, NULL},
      {"linearBwd", NULL, LinearBwd, NULL, NULL, NULL, napi_default, NULL},
      {"normMlpFwd", NULL, NormMlpFwd, NULL, NULL, NULL, napi_default, NULL},
      {"normMlpBwd", NULL, NormMlpBwd, NULL, NULL, NULL, napi_default, NULL},
      {"normAttentionFwd", NULL, NormAttentionFwd, NULL, NULL, NULL, napi_default, NULL},
      {"normAttentionBwd", NULL, NormAttentionBwd, NULL, NULL, NULL, napi_default, NULL},
      {"roundBf16", NULL, RoundBf16, NULL, NULL, NULL, napi_default, NULL},
      {"onednn", NULL, Onednn, NULL, NULL, NULL, napi_default, NULL},
      {"onednnStatus", NULL, OnednnStatus, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, Threads, NULL, NULL, NULL, napi_default, NULL},
      {"config", NULL, Config, NULL, NULL, NULL, napi_default, NULL},
      {"augmentView", NULL, AugmentView, NULL, NULL, NULL, napi_default, NULL},
      {"geluFwd", NULL, GeluFwd, NULL, NULL, NULL, napi_default, NULL},
      {"geluBwd", NULL, GeluBwd, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormFwd", NULL, LayerNormFwd, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormBwd", NULL, LayerNormBwd, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxFwd", NULL, SoftmaxFwd, NULL, NULL, NULL, napi_default, NULL},
      {"softmaxBwd", NULL, SoftmaxBwd, NULL, NULL, NULL, napi_default, NULL},
      {"sumRows", NULL, SumRows, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, AdamW, NULL, NULL, NULL, napi_default, NULL},
      {"attentionFwd", NULL, AttentionFwd, NULL, NULL, NULL, napi_default, NULL},
      {"attentionBwd", NULL, AttentionBwd, NULL, NULL, NULL, napi_default, NULL},
      {"convFwd", NULL, ConvFwd, NULL, NULL, NULL, napi_default, NULL},
      {"convBwdInput", NULL, ConvBwdInput, NULL, NULL, NULL, napi_default, NULL},
      {"convBwdFilter", NULL, ConvBwdFilter, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)

/*
 * Multi-head attention core on q, k, v [B, T, D] (heads of dh = D / H, interleaved along D as
 * PyTorch's reshape(B, T, H, dh) lays them out): P = softmax(q_h k_h^T / sqrt(dh)), out_h = P v_h.
 * Strided GEMMs read each head in place, so no transposes are needed. q, k, v (and dq, dk, dv)
 * rows are `ld` floats apart: ld = D for separate tensors, 3D for views into one fused qkv
 * [B, T, 3D] tensor (q at offset 0, k at D, v at 2D); out and dout rows are D apart.
 *   attentionFwd(q, k, v, out, p, B, T, D, H, ld, bf16)
 *   attentionBwd(dout, q, k, v, p, dq, dk, dv, B, T, D, H, ld, bf16)
 * bf16: the products on bf16 inputs through oneDNN (attention_bf16.c), else fp32 through CBLAS.
 */
static bool heads_ok(napi_env env, int64_t D, int64_t H, int64_t ld) {
  if (H >= 1 && D % H == 0 && ld >= D) return true;
  napi_throw_range_error(env, NULL, "sslbench native attention: D must be a multiple of the head count, and ld >= D");
  return false;
}

static napi_value AttentionFwd(napi_env env, napi_callback_info info) {
  ARGS(11)
  int64_t B = i64(env, argv[5]), T = i64(env, argv[6]), D = i64(env, argv[7]), H = i64(env, argv[8]), ld = i64(env, argv[9]);
  if (!heads_ok(env, D, H, ld)) return NULL;
  const int64_t nIn = B * T > 0 ? (B * T - 1) * ld + D : 0;
  REQ(q, 0, nIn, "q") REQ(k, 1, nIn, "k") REQ(v, 2, nIn, "v") REQ(out, 3, B * T * D, "out") REQ(p, 4, B * H * T * T, "p")
  bool bf16 = false;
  napi_get_value_bool(env, argv[10], &bf16);
  if (bf16) return gemm_result(env, ssl_attention_fwd_bf16(q, k, v, out, p, B, T, D, H, ld));
  if (ssl_attention_small_fits(T, D / H))
    return gemm_result(env, ssl_attention_small_fwd((ssl_rows_t){q, ld, false}, (ssl_rows_t){k, ld, false}, (ssl_rows_t){v, ld, false}, out,
                                                    false, D, p, B, T, D, H, false));
  const int64_t dh = D / H;
  const float scale = 1.0f / sqrtf((float)dh);
  const int blas = serial_blas_begin();
#pragma omp parallel for num_threads(ssl_threads()) if (B > 1) schedule(static)
  for (int64_t b = 0; b < B; b++) {
    for (int64_t h = 0; h < H; h++) {
      const int64_t off = b * T * ld + h * dh, offOut = b * T * D + h * dh;
      float *P = p + (b * H + h) * T * T;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)dh, scale, q + off, (int)ld, k + off, (int)ld, 0.0f, P, (int)T);
      ssl_softmax_fwd_rows(P, P, T, T);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dh, (int)T, 1.0f, P, (int)T, v + off, (int)ld, 0.0f, out + offOut, (int)D);
    }
  }
  serial_blas_end(blas);
  return NULL;
}

static napi_value AttentionBwd(napi_env env, napi_callback_info info) {
  ARGS(14)
  int64_t B = i64(env, argv[8]), T = i64(env, argv[9]), D = i64(env, argv[10]), H = i64(env, argv[11]), ld = i64(env, argv[12]);
  if (!heads_ok(env, D, H, ld)) return NULL;
  const int64_t nIn = B * T > 0 ? (B * T - 1) * ld + D : 0;
  REQ(dout, 0, B * T * D, "dout") REQ(q, 1, nIn, "q") REQ(k, 2, nIn, "k") REQ(v, 3, nIn, "v") REQ(p, 4, B * H * T * T, "p")
  REQ(dq, 5, nIn, "dq") REQ(dk, 6, nIn, "dk") REQ(dv, 7, nIn, "dv")
  bool bf16 = false;
  napi_get_value_bool(env, argv[13], &bf16);
  if (bf16) return gemm_result(env, ssl_attention_bwd_bf16(dout, q, k, v, p, dq, dk, dv, B, T, D, H, ld));
  if (ssl_attention_small_fits(T, D / H))
    return gemm_result(env, ssl_attention_small_bwd((ssl_rows_t){dout, D, false}, (ssl_rows_t){q, ld, false}, (ssl_rows_t){k, ld, false},
                                                    (ssl_rows_t){v, ld, false}, p, dq, dk, dv, ld, B, T, D, H, false));
  const int64_t dh = D / H;
  const float scale = 1.0f / sqrtf((float)dh);
  const int nt = ssl_threads();
  float *scratch = malloc(sizeof(float) * (size_t)(T * T) * (size_t)nt);
  if (!scratch) {
    napi_throw_error(env, NULL, "sslbench native attention: out of memory");
    return NULL;
  }
  const int blas = serial_blas_begin();
#pragma omp parallel for num_threads(nt) if (B > 1) schedule(static)
  for (int64_t b = 0; b < B; b++) {
    float *dS = scratch + (size_t)omp_get_thread_num() * (size_t)(T * T);
    for (int64_t h = 0; h < H; h++) {
      const int64_t off = b * T * ld + h * dh, offOut = b * T * D + h * dh;
      const float *P = p + (b * H + h) * T * T;
      /* dv = P^T dout ; dP = dout v^T ; dS = softmax_bwd(dP, P) ; dq = scale dS k ; dk = scale dS^T q */
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)dh, (int)T, 1.0f, P, (int)T, dout + offOut, (int)D, 0.0f, dv + off, (int)ld);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)dh, 1.0f, dout + offOut, (int)D, v + off, (int)ld, 0.0f, dS, (int)T);
      ssl_softmax_bwd_rows(dS, P, dS, T, T);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)dh, (int)T, scale, dS, (int)T, k + off, (int)ld, 0.0f, dq + off, (int)ld);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)dh, (int)T, scale, dS, (int)T, q + off, (int)ld, 0.0f, dk + off, (int)ld);
    }
  }
  serial_blas_end(blas);
  free(scratch);
  return NULL;
}
