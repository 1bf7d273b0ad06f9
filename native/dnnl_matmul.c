/*
 * oneDNN matmul route of the native GEMM (see dnnl_matmul.h). Primitives are created once per
 * problem shape and kept: a training step repeats the same few dozen shapes. bf16 inputs are
 * rounded from the fp32 operands into scratch buffers (round to nearest even, as PyTorch's autocast
 * casts), and the product accumulates and is written in fp32.
 */
#include "dnnl_matmul.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

/* fp32 -> bf16, round to nearest even; subnormals become signed zero, as AVX-512 BF16's vcvtneps2bf16 does. */
static inline uint16_t bf16_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x40); /* NaN stays NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

static void to_bf16(const float *x, uint16_t *y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i0 = 0; i0 < n; i0 += 4096) {
    int64_t end = i0 + 4096 < n ? i0 + 4096 : n, i = i0;
#if defined(__AVX512BF16__)
    for (; i + 16 <= end; i += 16) {
      __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
      _mm256_storeu_si256((__m256i *)(y + i), (__m256i)v);
    }
#endif
    for (; i < end; i++) y[i] = bf16_bits(x[i]);
  }
}

/* Through the same conversion as the GEMM operands, so that its tests check that code. */
void ssl_round_bf16(const float *x, float *y, int64_t n) {
  uint16_t tmp[4096];
  for (int64_t i0 = 0; i0 < n; i0 += 4096) {
    int64_t len = n - i0 < 4096 ? n - i0 : 4096;
    to_bf16(x + i0, tmp, len);
    for (int64_t i = 0; i < len; i++) {
      uint32_t u = (uint32_t)tmp[i] << 16;
      memcpy(y + i0 + i, &u, 4);
    }
  }
}

#ifdef SSL_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_version.h>

typedef struct {
  int precision;
  int64_t batchA, batchB, m, n, k, aStride, bStride, cStride;
  bool transA, transB, accumulate;
} key_t_;

typedef struct {
  key_t_ key;
  dnnl_primitive_t prim;
  dnnl_memory_desc_t src, wei, dst;
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
  dnnl_data_type_t in = key->precision == SSL_DNNL_BF16 ? dnnl_bf16 : dnnl_f32;
  int64_t batch = key->batchA > key->batchB ? key->batchA : key->batchB;
  dnnl_matmul_desc_t md;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  dnnl_primitive_desc_t pd = NULL;
  bool ok = desc(&e->src, in, key->batchA, key->m, key->k, key->aStride, key->transA) == dnnl_success &&
            desc(&e->wei, in, key->batchB, key->k, key->n, key->bStride, key->transB) == dnnl_success &&
            desc(&e->dst, dnnl_f32, batch, key->m, key->n, key->cStride, false) == dnnl_success &&
            dnnl_matmul_desc_init(&md, &e->src, &e->wei, NULL, &e->dst) == dnnl_success && dnnl_primitive_attr_create(&attr) == dnnl_success;
  if (ok && key->accumulate)
    ok = dnnl_post_ops_create(&ops) == dnnl_success && dnnl_post_ops_append_sum(ops, 1.0f) == dnnl_success &&
         dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success;
  ok = ok && dnnl_primitive_desc_create(&pd, &md, attr, engine, NULL) == dnnl_success && dnnl_primitive_create(&e->prim, pd) == dnnl_success;
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

int ssl_dnnl_matmul(int precision, const float *a, int64_t aStride, const float *b, int64_t bStride, float *c, int64_t cStride,
                    int64_t batch, int64_t m, int64_t n, int64_t k, bool transA, bool transB, float beta) {
  if (!init()) return -1;
  if (beta != 0 && beta != 1) return -2;
  if (batch <= 0 || m <= 0 || n <= 0 || k <= 0) return -3;
  key_t_ key;
  memset(&key, 0, sizeof key);
  key.precision = precision;
  key.batchA = aStride ? batch : 1;
  key.batchB = bStride ? batch : 1;
  key.m = m, key.n = n, key.k = k;
  key.aStride = aStride, key.bStride = bStride, key.cStride = cStride;
  key.transA = transA, key.transB = transB, key.accumulate = beta != 0;
  entry_t *e = lookup(&key);
  if (!e) return -4;
  const void *pa = a, *pb = b;
  if (precision == SSL_DNNL_BF16) {
    size_t na = (size_t)((key.batchA - 1) * aStride + m * k), nb = (size_t)((key.batchB - 1) * bStride + k * n);
    uint16_t *sa = bf16_scratch(0, na), *sb = bf16_scratch(1, nb);
    if (!sa || !sb) return -5;
    to_bf16(a, sa, (int64_t)na);
    to_bf16(b, sb, (int64_t)nb);
    pa = sa, pb = sb;
  }
  dnnl_memory_t ms = NULL, mw = NULL, md = NULL;
  int rc = 0;
  if (dnnl_memory_create(&ms, &e->src, engine, (void *)pa) != dnnl_success || dnnl_memory_create(&mw, &e->wei, engine, (void *)pb) != dnnl_success ||
      dnnl_memory_create(&md, &e->dst, engine, c) != dnnl_success)
    rc = -6;
  else {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}};
    if (dnnl_primitive_execute(e->prim, stream, 3, args) != dnnl_success || dnnl_stream_wait(stream) != dnnl_success) rc = -7;
  }
  if (ms) dnnl_memory_destroy(ms);
  if (mw) dnnl_memory_destroy(mw);
  if (md) dnnl_memory_destroy(md);
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
bool ssl_dnnl_available(void) { return false; }
const char *ssl_dnnl_config(void) { return "oneDNN not built in (no oneapi/dnnl/dnnl.h when the addon was built: apt-get install libdnnl-dev)"; }
#endif
