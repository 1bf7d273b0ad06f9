/*
 * The multi-head attention core for short sequences (attention_small.h): one head at a time, its
 * q, k, v gathered into the thread's own small buffers and every product, the softmax and the
 * output computed there, so nothing of a head leaves the core's cache until its result is written.
 * The batched GEMMs of the general paths (attention_bf16.c, and OpenBLAS per head in fp32) spend
 * most of their time on set-up at 17 x 17 scores; here the products are plain fused multiply-adds
 * in fp32. At bf16 the products' operands are bf16 values (q, k, v, dout as given; P and dS rounded
 * to bf16 after the fp32 softmax, as in attention_bf16.c), so each product is exact and only the
 * fp32 sums round: the semantics of bf16 inputs with fp32 accumulation, summed in index order.
 */
#include "attention_small.h"
#include "bf16.h"
#include "elementwise.h"
#include "scratch.h"
#include <math.h>
#include <omp.h>
#include <string.h>

static ssl_buf_t work_;

static inline float from_bf16(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline float round_bf16(float x) { return from_bf16(ssl_bf16_bits(x)); }

/* Row r, columns [c0, c0 + n) of an operand, to fp32 (bf16 values when `round`). */
static inline void load_row(ssl_rows_t a, int64_t r, int64_t c0, int64_t n, bool round, float *y) {
  if (a.bf16) {
    const uint16_t *x = (const uint16_t *)a.p + r * a.ld + c0;
    for (int64_t c = 0; c < n; c++) y[c] = from_bf16(x[c]);
  } else {
    const float *x = (const float *)a.p + r * a.ld + c0;
    if (round)
      for (int64_t c = 0; c < n; c++) y[c] = round_bf16(x[c]);
    else
      memcpy(y, x, sizeof(float) * (size_t)n);
  }
}

/* The columns of a head of T rows, transposed into t[dh][tp] (zero past T). */
static inline void load_transposed(ssl_rows_t a, int64_t r0, int64_t c0, int64_t T, int64_t dh, int64_t tp, bool round, float *row, float *t) {
  memset(t, 0, sizeof(float) * (size_t)(dh * tp));
  for (int64_t j = 0; j < T; j++) {
    load_row(a, r0 + j, c0, dh, round, row);
    for (int64_t c = 0; c < dh; c++) t[c * tp + j] = row[c];
  }
}

/* 16 floats in one vector (GCC / Clang vector extension: one zmm register on AVX-512), loaded and stored unaligned. */
typedef float v16 __attribute__((vector_size(64)));
static inline v16 ld16(const float *p) {
  v16 v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void st16(float *p, v16 v) { memcpy(p, &v, sizeof v); }

/*
 * s[i][0, 16 nv) = sum over c of a[i][c] bt[c][.] for i < T: a [T][dh], bt [dh][16 nv]; nv = 1 or 2,
 * a constant in each instance, so that a row of sums stays in registers.
 */
static inline __attribute__((always_inline)) void rows_times_t(const float *a, const float *bt, float *s, int64_t T, int64_t dh, const int nv) {
  const int64_t tp = 16 * nv;
  for (int64_t i = 0; i < T; i++) {
    v16 acc[2] = {{0}, {0}};
    for (int64_t c = 0; c < dh; c++) {
      const float x = a[i * dh + c];
      for (int u = 0; u < nv; u++) acc[u] += x * ld16(bt + c * tp + 16 * u);
    }
    for (int u = 0; u < nv; u++) st16(s + i * tp + 16 * u, acc[u]);
  }
}

static void scores(const float *a, const float *bt, float *s, int64_t T, int64_t dh, int64_t tp) {
  if (tp == 16) rows_times_t(a, bt, s, T, dh, 1);
  else rows_times_t(a, bt, s, T, dh, 2);
}

/*
 * y[i][.] = sum over j < T of w(i, j) x[j][.], w(i, j) = w[i si + j sj] (si = tp, sj = 1 for w's rows,
 * or the transpose), x [T][16 nc]; nc (dh / 16) a constant in each instance: a row of y in registers.
 */
static inline __attribute__((always_inline)) void weights_rows(const float *w, int64_t si, int64_t sj, const float *x, float *y, int64_t T,
                                                                const int nc) {
  const int64_t dh = 16 * nc;
  for (int64_t i = 0; i < T; i++) {
    v16 acc[SSL_SMALL_DH_MAX / 16];
    for (int u = 0; u < nc; u++) acc[u] = (v16){0};
    for (int64_t j = 0; j < T; j++) {
      const float wij = w[i * si + j * sj];
      for (int u = 0; u < nc; u++) acc[u] += wij * ld16(x + j * dh + 16 * u);
    }
    for (int u = 0; u < nc; u++) st16(y + i * dh + 16 * u, acc[u]);
  }
}

static void weights_times_rows(const float *w, int64_t tp, bool wt, const float *x, float *y, int64_t T, int64_t dh) {
  const int64_t si = wt ? 1 : tp, sj = wt ? tp : 1;
  switch (dh / 16) {
  case 1: weights_rows(w, si, sj, x, y, T, 1); break;
  case 2: weights_rows(w, si, sj, x, y, T, 2); break;
  case 3: weights_rows(w, si, sj, x, y, T, 3); break;
  case 4: weights_rows(w, si, sj, x, y, T, 4); break;
  case 5: weights_rows(w, si, sj, x, y, T, 5); break;
  case 6: weights_rows(w, si, sj, x, y, T, 6); break;
  case 7: weights_rows(w, si, sj, x, y, T, 7); break;
  default: weights_rows(w, si, sj, x, y, T, 8); break;
  }
}

/* Writes T rows of dh fp32 values to rows `ld` apart, in fp32 or bf16. */
static void store_rows(const float *y, void *out, bool outBf16, int64_t ld, int64_t r0, int64_t c0, int64_t T, int64_t dh) {
  for (int64_t i = 0; i < T; i++) {
    if (outBf16) ssl_to_bf16_serial(y + i * dh, (uint16_t *)out + (r0 + i) * ld + c0, dh);
    else memcpy((float *)out + (r0 + i) * ld + c0, y + i * dh, sizeof(float) * (size_t)dh);
  }
}

bool ssl_attention_small_fits(int64_t T, int64_t dh) { return T >= 1 && T <= SSL_SMALL_T_MAX && dh >= 16 && dh <= SSL_SMALL_DH_MAX && dh % 16 == 0; }

/* Per-thread work space: floats for the largest head. */
#define WORK_FLOATS (8 * SSL_SMALL_T_MAX * SSL_SMALL_DH_MAX + 4 * SSL_SMALL_T_MAX * SSL_SMALL_T_MAX)

static float *work(int threads) { return ssl_grow(&work_, sizeof(float) * (size_t)WORK_FLOATS * (size_t)threads); }

int ssl_attention_small_fwd(ssl_rows_t q, ssl_rows_t k, ssl_rows_t v, void *out, bool outBf16, int64_t ldo, float *p, int64_t B, int64_t T,
                            int64_t D, int64_t H, bool bf16) {
  const int64_t dh = D / H, tp = T <= 16 ? 16 : 32;
  if (!ssl_attention_small_fits(T, dh)) return -3;
  const float scale = 1.0f / sqrtf((float)dh);
  const int nt = ssl_threads();
  float *ws = work(nt);
  if (!ws) return -5;
#pragma omp parallel for num_threads(nt) if (B * H > 1) schedule(static)
  for (int64_t bh = 0; bh < B * H; bh++) {
    const int64_t b = bh / H, h = bh % H, r0 = b * T, c0 = h * dh;
    float *Q = ws + (size_t)omp_get_thread_num() * WORK_FLOATS, *Kt = Q + T * dh, *V = Kt + dh * tp, *O = V + T * dh, *S = O + T * dh, *Pr = S + T * tp;
    uint16_t rowb[SSL_SMALL_T_MAX];
    for (int64_t i = 0; i < T; i++) load_row(q, r0 + i, c0, dh, bf16, Q + i * dh);
    for (int64_t i = 0; i < T; i++) load_row(v, r0 + i, c0, dh, bf16, V + i * dh);
    load_transposed(k, r0, c0, T, dh, tp, bf16, O, Kt);
    scores(Q, Kt, S, T, dh, tp);
    float *P = p + bh * T * T;
    for (int64_t i = 0; i < T; i++) {
      float *Si = S + i * tp, *Pi = P + i * T, *Pri = Pr + i * tp;
      if (bf16) {
        ssl_softmax_scaled_bf16(Si, scale, Pi, rowb, 1, T);
        for (int64_t j = 0; j < T; j++) Pri[j] = from_bf16(rowb[j]);
      } else {
        for (int64_t j = 0; j < T; j++) Si[j] *= scale;
        ssl_softmax_fwd_rows(Si, Pi, 1, T);
        memcpy(Pri, Pi, sizeof(float) * (size_t)T);
      }
    }
    weights_times_rows(Pr, tp, false, V, O, T, dh);
    store_rows(O, out, outBf16, ldo, r0, c0, T, dh);
  }
  return 0;
}

int ssl_attention_small_bwd(ssl_rows_t dout, ssl_rows_t q, ssl_rows_t k, ssl_rows_t v, const float *p, float *dq, float *dk, float *dv, int64_t ld,
                            int64_t B, int64_t T, int64_t D, int64_t H, bool bf16) {
  const int64_t dh = D / H, tp = T <= 16 ? 16 : 32;
  if (!ssl_attention_small_fits(T, dh)) return -3;
  const float scale = 1.0f / sqrtf((float)dh);
  const int nt = ssl_threads();
  float *ws = work(nt);
  if (!ws) return -5;
#pragma omp parallel for num_threads(nt) if (B * H > 1) schedule(static)
  for (int64_t bh = 0; bh < B * H; bh++) {
    const int64_t b = bh / H, h = bh % H, r0 = b * T, c0 = h * dh;
    float *Q = ws + (size_t)omp_get_thread_num() * WORK_FLOATS, *K = Q + T * dh, *dO = K + T * dh, *Vt = dO + T * dh, *R = Vt + dh * tp,
          *Pr = R + T * dh, *dS = Pr + T * tp, *dP = dS + T * tp;
    uint16_t rowb[SSL_SMALL_T_MAX];
    for (int64_t i = 0; i < T; i++) {
      load_row(q, r0 + i, c0, dh, bf16, Q + i * dh);
      load_row(k, r0 + i, c0, dh, bf16, K + i * dh);
      load_row(dout, r0 + i, c0, dh, bf16, dO + i * dh);
    }
    load_transposed(v, r0, c0, T, dh, tp, bf16, R, Vt);
    const float *P = p + bh * T * T;
    for (int64_t i = 0; i < T; i++)
      for (int64_t j = 0; j < T; j++) Pr[i * tp + j] = bf16 ? round_bf16(P[i * T + j]) : P[i * T + j];
    /* dv = P^T dout */
    weights_times_rows(Pr, tp, true, dO, R, T, dh);
    store_rows(R, dv, false, ld, r0, c0, T, dh);
    /* dP = dout v^T, then dS = scale softmax_bwd(dP, P) (bf16 values at bf16) */
    scores(dO, Vt, dP, T, dh, tp);
    for (int64_t i = 0; i < T; i++) {
      float *dPi = dP + i * tp, *dSi = dS + i * tp;
      if (bf16) {
        ssl_softmax_bwd_scaled_bf16(dPi, P + i * T, scale, dSi, rowb, 1, T);
        for (int64_t j = 0; j < T; j++) dSi[j] = from_bf16(rowb[j]);
      } else {
        ssl_softmax_bwd_rows(dPi, P + i * T, dSi, 1, T);
        for (int64_t j = 0; j < T; j++) dSi[j] *= scale;
      }
    }
    /* dq = dS k, dk = dS^T q */
    weights_times_rows(dS, tp, false, K, R, T, dh);
    store_rows(R, dq, false, ld, r0, c0, T, dh);
    weights_times_rows(dS, tp, true, Q, R, T, dh);
    store_rows(R, dk, false, ld, r0, c0, T, dh);
  }
  return 0;
}
