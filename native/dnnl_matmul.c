/*
 * oneDNN matmul route of the native GEMM (see dnnl_matmul.h). Primitives are created once per
 * problem shape and kept: a training step repeats the same few dozen shapes. bf16 inputs are
 * rounded from the fp32 operands into scratch buffers (round to nearest even, as PyTorch's autocast
 * casts), and the product accumulates and is written in fp32.
 */
#include "dnnl_matmul.h"
#include "bf16.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#ifdef SSL_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_version.h>

typedef struct {
  int precision;
  int64_t batchA, batchB, m, n, k, aStride, bStride, cStride;
  bool transA, transB, accumulate;
  bool bias, residual; /* fused: a bias row [n] and a residual [m x n] added to the product (batch 1) */
  bool outBf16;        /* the product written in bf16 (rounded to nearest even from its fp32 value), not fp32 */
  int64_t heads;       /* > 0: 4-D operands [batchA, heads, rows, cols] with the strides below (ssl_dnnl_matmul4_bf16) */
  int64_t sa[4], sb[4], sc[4];
} key_t_;

typedef struct {
  key_t_ key;
  dnnl_primitive_t prim;
  dnnl_memory_desc_t src, wei, dst, bias;
  uint64_t used;
} entry_t;

#define CACHE 96
static entry_t cache[CACHE];
static int cached = 0;
static uint64_t clock_ = 0;
static dnnl_engine_t engine = NULL;
static dnnl_stream_t stream = NULL;
static int init_state = 0; /* 0 not tried, 1 ok, -1 failed */
static char config[160] = "oneDNN not initialised";

static bool init(void) {
  if (init_state) return init_state > 0;
  init_state = -1;
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success || dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) {
    snprintf(config, sizeof config, "oneDNN present but its CPU engine failed to start");
    return false;
  }
  const dnnl_version_t *v = dnnl_version();
  snprintf(config, sizeof config, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
  init_state = 1;
  return true;
}

static dnnl_status_t desc(dnnl_memory_desc_t *md, dnnl_data_type_t dt, int64_t batch, int64_t rows, int64_t cols, int64_t bstride,
                          bool trans) {
  /* logical [batch, rows, cols]; stored [cols, rows] per matrix when trans */
  dnnl_dims_t dims = {batch, rows, cols};
  dnnl_dims_t strides = {bstride ? bstride : rows * cols, trans ? 1 : cols, trans ? rows : 1};
  return dnnl_memory_desc_init_by_strides(md, 3, dims, dt, strides);
}

/* logical [batch, heads, rows, cols], element strides as given (a transpose is its strides swapped) */
static dnnl_status_t desc4(dnnl_memory_desc_t *md, dnnl_data_type_t dt, int64_t batch, int64_t heads, int64_t rows, int64_t cols,
                           const int64_t strides[4]) {
  dnnl_dims_t dims = {batch, heads, rows, cols};
  dnnl_dims_t st = {strides[0], strides[1], strides[2], strides[3]};
  return dnnl_memory_desc_init_by_strides(md, 4, dims, dt, st);
}

/*
 * The implementation of a matmul: oneDNN's first offer, except for tall bf16 products (one of m or
 * k, the batch's tokens in a linear layer, at least 2048 and twice each other side), where its
 * GEMM-based one ("gemm:jit", the bf16 GEMM behind oneDNN's inner product) is taken when offered:
 * on the linear layers' shapes of a ViT step it ran 1.0-1.36x faster than the first offer (brgemm),
 * most on the weight gradients (K = tokens: 16640 x 192 x 768 9.5 -> 7.0 ms on 2 threads), while
 * on square products brgemm is faster (1024^3: 2.8 vs 4.5 ms). A fixed rule by shape, never a
 * timing: the two sum in different orders.
 */
static bool tall(const key_t_ *key) {
  const int64_t m = key->m, n = key->n, k = key->k;
  return (m >= 2048 && m >= 2 * n && m >= 2 * k) || (k >= 2048 && k >= 2 * m && k >= 2 * n);
}

static dnnl_primitive_desc_t choose(const dnnl_matmul_desc_t *md, const_dnnl_primitive_attr_t attr, bool preferGemm) {
  dnnl_primitive_desc_iterator_t it;
  if (dnnl_primitive_desc_iterator_create(&it, md, attr, engine, NULL) != dnnl_success) return NULL;
  dnnl_primitive_desc_t first = dnnl_primitive_desc_iterator_fetch(it), pick = NULL;
  while (preferGemm && !pick && dnnl_primitive_desc_iterator_next(it) == dnnl_success) {
    dnnl_primitive_desc_t pd = dnnl_primitive_desc_iterator_fetch(it);
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl && !strncmp(impl, "gemm:jit", 8)) pick = pd;
    else dnnl_primitive_desc_destroy(pd);
  }
  dnnl_primitive_desc_iterator_destroy(it);
  if (pick && first) dnnl_primitive_desc_destroy(first);
  return pick ? pick : first;
}

static entry_t *lookup(const key_t_ *key) {
  for (int i = 0; i < cached; i++)
    if (!memcmp(&cache[i].key, key, sizeof *key)) {
      cache[i].used = ++clock_;
      return &cache[i];
    }
  entry_t *e;
  if (cached < CACHE) e = &cache[cached++];
  else {
    e = &cache[0];
    for (int i = 1; i < CACHE; i++)
      if (cache[i].used < e->used) e = &cache[i];
    dnnl_primitive_destroy(e->prim);
  }
  memset(e, 0, sizeof *e);
  dnnl_data_type_t in = key->precision == SSL_DNNL_BF16 ? dnnl_bf16 : dnnl_f32, out = key->outBf16 ? dnnl_bf16 : dnnl_f32;
  int64_t batch = key->batchA > key->batchB ? key->batchA : key->batchB;
  dnnl_matmul_desc_t md;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  dnnl_primitive_desc_t pd = NULL;
  bool ok = key->heads ? desc4(&e->src, in, key->batchA, key->heads, key->m, key->k, key->sa) == dnnl_success &&
                            desc4(&e->wei, in, key->batchA, key->heads, key->k, key->n, key->sb) == dnnl_success &&
                            desc4(&e->dst, out, key->batchA, key->heads, key->m, key->n, key->sc) == dnnl_success
                        : desc(&e->src, in, key->batchA, key->m, key->k, key->aStride, key->transA) == dnnl_success &&
                            desc(&e->wei, in, key->batchB, key->k, key->n, key->bStride, key->transB) == dnnl_success &&
                            desc(&e->dst, out, batch, key->m, key->n, key->cStride, false) == dnnl_success;
  ok = ok &&
            (!key->bias || desc(&e->bias, dnnl_f32, 1, 1, key->n, 0, false) == dnnl_success) &&
            dnnl_matmul_desc_init(&md, &e->src, &e->wei, key->bias ? &e->bias : NULL, &e->dst) == dnnl_success &&
            dnnl_primitive_attr_create(&attr) == dnnl_success;
  if (ok && (key->accumulate || key->residual))
    ok = dnnl_post_ops_create(&ops) == dnnl_success &&
         (!key->accumulate || dnnl_post_ops_append_sum(ops, 1.0f) == dnnl_success) &&
         (!key->residual || dnnl_post_ops_append_binary(ops, dnnl_binary_add, &e->dst) == dnnl_success) &&
         dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success;
  ok = ok && (pd = choose(&md, attr, key->precision == SSL_DNNL_BF16 && tall(key))) != NULL && dnnl_primitive_create(&e->prim, pd) == dnnl_success;
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (ops) dnnl_post_ops_destroy(ops);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (!ok) {
    cached--; /* a refused shape is not kept (its slot is the last one taken, or one freed) */
    if (e != &cache[cached]) *e = cache[cached];
    return NULL;
  }
  e->key = *key;
  e->used = ++clock_;
  return e;
}

static void make_key(key_t_ *key, int precision, int64_t aStride, int64_t bStride, int64_t cStride, int64_t batch, int64_t m, int64_t n,
                     int64_t k, bool transA, bool transB, float beta) {
  memset(key, 0, sizeof *key);
  key->precision = precision;
  key->batchA = aStride ? batch : 1;
  key->batchB = bStride ? batch : 1;
  key->m = m, key->n = n, key->k = k;
  key->aStride = aStride, key->bStride = bStride, key->cStride = cStride;
  key->transA = transA, key->transB = transB, key->accumulate = beta != 0;
}

static int execute(entry_t *e, const void *pa, const void *pb, void *c, const float *bias, const float *res);

static void *scratch[2];
static size_t scratch_size[2];
static uint16_t *bf16_scratch(int which, size_t elems) {
  if (scratch_size[which] < elems) {
    free(scratch[which]);
    scratch[which] = malloc(elems * 2);
    scratch_size[which] = scratch[which] ? elems : 0;
  }
  return scratch[which];
}

/* Checks, the cached primitive and the run, for operands already in the primitive's input type. */
static int run(int precision, const void *a, int64_t aStride, const void *b, int64_t bStride, void *c, bool outBf16, int64_t cStride,
               int64_t batch, int64_t m, int64_t n, int64_t k, bool transA, bool transB, float beta) {
  if (!init()) return -1;
  if (beta != 0 && beta != 1) return -2;
  if (batch <= 0 || m <= 0 || n <= 0 || k <= 0) return -3;
  key_t_ key;
  make_key(&key, precision, aStride, bStride, cStride, batch, m, n, k, transA, transB, beta);
  key.outBf16 = outBf16;
  entry_t *e = lookup(&key);
  if (!e) return -4;
  return execute(e, a, b, c, NULL, NULL);
}

int ssl_dnnl_matmul(int precision, const float *a, int64_t aStride, const float *b, int64_t bStride, float *c, int64_t cStride,
                    int64_t batch, int64_t m, int64_t n, int64_t k, bool transA, bool transB, float beta) {
  if (precision != SSL_DNNL_BF16 || batch <= 0 || m <= 0 || n <= 0 || k <= 0)
    return run(precision, a, aStride, b, bStride, c, false, cStride, batch, m, n, k, transA, transB, beta);
  if (!init()) return -1;
  size_t na = (size_t)((aStride ? batch - 1 : 0) * aStride + m * k), nb = (size_t)((bStride ? batch - 1 : 0) * bStride + k * n);
  uint16_t *sa = bf16_scratch(0, na), *sb = bf16_scratch(1, nb);
  if (!sa || !sb) return -5;
  ssl_to_bf16(a, sa, (int64_t)na);
  ssl_to_bf16(b, sb, (int64_t)nb);
  return run(precision, sa, aStride, sb, bStride, c, false, cStride, batch, m, n, k, transA, transB, beta);
}

int ssl_dnnl_matmul_bf16(const uint16_t *a, int64_t aStride, const uint16_t *b, int64_t bStride, float *c, int64_t cStride, int64_t batch,
                         int64_t m, int64_t n, int64_t k, bool transA, bool transB, float beta) {
  return run(SSL_DNNL_BF16, a, aStride, b, bStride, c, false, cStride, batch, m, n, k, transA, transB, beta);
}

int ssl_dnnl_matmul_bf16_out16(const uint16_t *a, const uint16_t *b, uint16_t *c, int64_t m, int64_t n, int64_t k, bool transA, bool transB) {
  return run(SSL_DNNL_BF16, a, 0, b, 0, c, true, 0, 1, m, n, k, transA, transB, 0.0f);
}

static int linear(int precision, const void *x, const void *w, const float *bias, const float *res, void *c, bool outBf16, int64_t m, int64_t n,
                  int64_t k) {
  if (!init()) return -1;
  if (m <= 0 || n <= 0 || k <= 0) return -3;
  key_t_ key;
  make_key(&key, precision, 0, 0, 0, 1, m, n, k, false, false, 0.0f);
  key.bias = bias != NULL, key.residual = res != NULL, key.outBf16 = outBf16;
  entry_t *e = lookup(&key);
  if (!e) return -4;
  return execute(e, x, w, c, bias, res);
}

int ssl_dnnl_linear(int precision, const void *x, const void *w, const float *bias, const float *res, float *c, int64_t m, int64_t n, int64_t k) {
  return linear(precision, x, w, bias, res, c, false, m, n, k);
}

int ssl_dnnl_linear_bf16_out16(const uint16_t *x, const uint16_t *w, const float *bias, uint16_t *c, int64_t m, int64_t n, int64_t k) {
  return linear(SSL_DNNL_BF16, x, w, bias, NULL, c, true, m, n, k);
}

int ssl_dnnl_matmul4_bf16(const uint16_t *a, const int64_t sa[4], const uint16_t *b, const int64_t sb[4], void *c, bool outBf16,
                          const int64_t sc[4], int64_t batch, int64_t heads, int64_t m, int64_t n, int64_t k) {
  if (!init()) return -1;
  if (batch <= 0 || heads <= 0 || m <= 0 || n <= 0 || k <= 0) return -3;
  key_t_ key;
  make_key(&key, SSL_DNNL_BF16, 0, 0, 0, batch, m, n, k, false, false, 0.0f);
  key.batchA = key.batchB = batch, key.heads = heads, key.outBf16 = outBf16;
  memcpy(key.sa, sa, sizeof key.sa), memcpy(key.sb, sb, sizeof key.sb), memcpy(key.sc, sc, sizeof key.sc);
  entry_t *e = lookup(&key);
  if (!e) return -4;
  return execute(e, a, b, c, NULL, NULL);
}

static int execute(entry_t *e, const void *pa, const void *pb, void *c, const float *bias, const float *res) {
  dnnl_memory_t mem[5] = {NULL, NULL, NULL, NULL, NULL};
  dnnl_exec_arg_t args[5];
  int nargs = 0, rc = 0;
#define ARG(which, md_, ptr)                                                                                             \
  do {                                                                                                                   \
    if (!rc && dnnl_memory_create(&mem[nargs], &(md_), engine, (void *)(ptr)) != dnnl_success) rc = -6;                 \
    if (!rc) args[nargs] = (dnnl_exec_arg_t){which, mem[nargs]}, nargs++;                                               \
  } while (0)
  ARG(DNNL_ARG_SRC, e->src, pa);
  ARG(DNNL_ARG_WEIGHTS, e->wei, pb);
  ARG(DNNL_ARG_DST, e->dst, c);
  if (e->key.bias) ARG(DNNL_ARG_BIAS, e->bias, bias);
  if (e->key.residual) ARG(DNNL_ARG_ATTR_MULTIPLE_POST_OP(e->key.accumulate ? 1 : 0) | DNNL_ARG_SRC_1, e->dst, res);
#undef ARG
  if (!rc && (dnnl_primitive_execute(e->prim, stream, nargs, args) != dnnl_success || dnnl_stream_wait(stream) != dnnl_success)) rc = -7;
  for (int i = 0; i < 5; i++)
    if (mem[i]) dnnl_memory_destroy(mem[i]);
  return rc;
}

bool ssl_dnnl_available(void) { return init(); }
const char *ssl_dnnl_config(void) {
  init();
  return config;
}
#else
int ssl_dnnl_matmul(int precision, const float *a, int64_t aStride, const float *b, int64_t bStride, float *c, int64_t cStride,
                    int64_t batch, int64_t m, int64_t n, int64_t k, bool transA, bool transB, float beta) {
  (void)precision, (void)a, (void)aStride, (void)b, (void)bStride, (void)c, (void)cStride, (void)batch, (void)m, (void)n, (void)k;
  (void)transA, (void)transB, (void)beta;
  return -1;
}
int ssl_dnnl_linear(int precision, const void *x, const void *w, const float *bias, const float *res, float *c, int64_t m, int64_t n, int64_t k) {
  (void)precision, (void)x, (void)w, (void)bias, (void)res, (void)c, (void)m, (void)n, (void)k;
  return -1;
}
int ssl_dnnl_matmul_bf16(const uint16_t *a, int64_t aStride, const uint16_t *b, int64_t bStride, float *c, int64_t cStride, int64_t batch,
                         int64_t m, int64_t n, int64_t k, bool transA, bool transB, float beta) {
  (void)a, (void)aStride, (void)b, (void)bStride, (void)c, (void)cStride, (void)batch, (void)m, (void)n, (void)k, (void)transA, (void)transB;
  (void)beta;
  return -1;
}
int ssl_dnnl_matmul4_bf16(const uint16_t *a, const int64_t sa[4], const uint16_t *b, const int64_t sb[4], void *c, bool outBf16,
                          const int64_t sc[4], int64_t batch, int64_t heads, int64_t m, int64_t n, int64_t k) {
  (void)a, (void)sa, (void)b, (void)sb, (void)c, (void)outBf16, (void)sc, (void)batch, (void)heads, (void)m, (void)n, (void)k;
  return -1;
}
int ssl_dnnl_matmul_bf16_out16(const uint16_t *a, const uint16_t *b, uint16_t *c, int64_t m, int64_t n, int64_t k, bool transA, bool transB) {
  (void)a, (void)b, (void)c, (void)m, (void)n, (void)k, (void)transA, (void)transB;
  return -1;
}
int ssl_dnnl_linear_bf16_out16(const uint16_t *x, const uint16_t *w, const float *bias, uint16_t *c, int64_t m, int64_t n, int64_t k) {
  (void)x, (void)w, (void)bias, (void)c, (void)m, (void)n, (void)k;
  return -1;
}
bool ssl_dnnl_available(void) { return false; }
const char *ssl_dnnl_config(void) { return "oneDNN not built in (no oneapi/dnnl/dnnl.h when the addon was built: apt-get install libdnnl-dev)"; }
#endif
