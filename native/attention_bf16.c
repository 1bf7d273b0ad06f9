/*
 * The multi-head attention core at precision bf16 (attention_bf16.h): its four products (and the
 * backward's four) take bf16 inputs with fp32 accumulation, through oneDNN, as PyTorch's CPU
 * autocast runs matmul; the softmax and its backward stay in fp32. Heads stay interleaved in place:
 * the products read and write them through strides.
 */
#include "attention_bf16.h"
#include "attention_small.h"
#include "bf16.h"
#include "dnnl_matmul.h"
#include "elementwise.h"
#include "scratch.h"
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* Scratch reused across calls. */
static ssl_buf_t qb_, kb_, vb_, pb_, ob_, dp_;

/* The D columns of each of `rows` rows `ld` floats apart, to dense bf16 rows. */
static void rows_to_bf16(const float *x, int64_t ld, uint16_t *y, int64_t rows, int64_t D) {
#pragma omp parallel for num_threads(ssl_threads()) if (rows * D >= 32768) schedule(static)
  for (int64_t r = 0; r < rows; r++) ssl_to_bf16_serial(x + r * ld, y + r * D, D);
}

/*
 * q, k, v in bf16 for the products: one pass over a fused qkv (rows of 3D: k = q + D, v = q + 2D),
 * the layout kept (rows 3D apart); else each to dense rows of D. Returns their row stride, 0 when
 * out of memory.
 */
static int64_t stage(const float *q, const float *k, const float *v, int64_t ld, int64_t rows, int64_t D, uint16_t **qb, uint16_t **kb,
                     uint16_t **vb) {
  if (ld == 3 * D && k == q + D && v == q + 2 * D) {
    uint16_t *b = ssl_grow(&qb_, 2 * (size_t)(rows * ld));
    if (!b) return 0;
    ssl_to_bf16(q, b, rows * ld);
    *qb = b, *kb = b + D, *vb = b + 2 * D;
    return ld;
  }
  *qb = ssl_grow(&qb_, 2 * (size_t)(rows * D)), *kb = ssl_grow(&kb_, 2 * (size_t)(rows * D)), *vb = ssl_grow(&vb_, 2 * (size_t)(rows * D));
  if (!*qb || !*kb || !*vb) return 0;
  rows_to_bf16(q, ld, *qb, rows, D);
  rows_to_bf16(k, ld, *kb, rows, D);
  rows_to_bf16(v, ld, *vb, rows, D);
  return D;
}

/* Strides of the operands, as [batch, head, row, col] (elements). */
#define HEADS(rowStride) {T * (rowStride), dh, (rowStride), 1}     /* a head of a [B, T, .] tensor: [T, dh] */
#define HEADS_T(rowStride) {T * (rowStride), dh, 1, (rowStride)}   /* the same, transposed: [dh, T] */
#define SQUARE {H * T * T, T * T, T, 1}                            /* [B, H, T, T], dense */
#define SQUARE_T {H * T * T, T * T, 1, T}

/* The forward on staged bf16 q, k, v (rows lb halves apart): p the fp32 probabilities, out [B, T, D] in fp32 or bf16. */
static int fwd_staged(const uint16_t *qb, const uint16_t *kb, const uint16_t *vb, int64_t lb, void *out, bool outBf16, float *p, int64_t B,
                      int64_t T, int64_t D, int64_t H) {
  const int64_t dh = D / H, np = B * H * T * T;
  const float scale = 1.0f / sqrtf((float)dh);
  uint16_t *pb = ssl_grow(&pb_, 2 * np);
  if (!pb) return -5;
  const int64_t sq[4] = HEADS(lb), skT[4] = HEADS_T(lb), sp[4] = SQUARE, so[4] = HEADS(D);
  /* scores q k^T into p; then, per head, p = softmax(scale * scores) in fp32, and its bf16 copy for the second product */
  int rc = ssl_dnnl_matmul4_bf16(qb, sq, kb, skT, p, false, sp, B, H, T, T, dh);
  if (rc) return rc;
#pragma omp parallel for num_threads(ssl_threads()) if (B * H > 1) schedule(static)
  for (int64_t i = 0; i < B * H; i++) {
    float *P = p + i * T * T;
    ssl_softmax_scaled_bf16(P, scale, P, pb + i * T * T, T, T);
  }
  return ssl_dnnl_matmul4_bf16(pb, sp, vb, sq, out, outBf16, so, B, H, T, dh, T);
}

/* The backward on staged bf16 q, k, v (rows lb halves apart) and dout in bf16 (ob, [B, T, D]); dq, dk, dv fp32, rows ld floats apart. */
static int bwd_staged(const uint16_t *ob, const uint16_t *qb, const uint16_t *kb, const uint16_t *vb, int64_t lb, const float *p, float *dq,
                      float *dk, float *dv, int64_t ld, int64_t B, int64_t T, int64_t D, int64_t H) {
  const int64_t dh = D / H, np = B * H * T * T;
  const float scale = 1.0f / sqrtf((float)dh);
  uint16_t *pb = ssl_grow(&pb_, 2 * np);
  float *dp = ssl_grow(&dp_, 4 * np);
  if (!pb || !dp) return -5;
  ssl_to_bf16(p, pb, np);
  const int64_t sd[4] = HEADS(D), sb[4] = HEADS(lb), sbT[4] = HEADS_T(lb), sx[4] = HEADS(ld), sp[4] = SQUARE, spT[4] = SQUARE_T;
  /* dv = P^T dout; dP = dout v^T */
  int rc = ssl_dnnl_matmul4_bf16(pb, spT, ob, sd, dv, false, sx, B, H, T, dh, T);
  if (!rc) rc = ssl_dnnl_matmul4_bf16(ob, sd, vb, sbT, dp, false, sp, B, H, T, T, dh);
  if (rc) return rc;
  /* dS = scale softmax_bwd(dP, P) in fp32, then to bf16 (into pb, whose P is no longer needed) */
#pragma omp parallel for num_threads(ssl_threads()) if (B * H > 1) schedule(static)
  for (int64_t i = 0; i < B * H; i++) {
    float *dS = dp + i * T * T;
    ssl_softmax_bwd_scaled_bf16(dS, p + i * T * T, scale, dS, pb + i * T * T, T, T);
  }
  /* dq = dS k; dk = dS^T q */
  rc = ssl_dnnl_matmul4_bf16(pb, sp, kb, sb, dq, false, sx, B, H, T, dh, T);
  if (!rc) rc = ssl_dnnl_matmul4_bf16(pb, spT, qb, sb, dk, false, sx, B, H, T, dh, T);
  return rc;
}

/* Operands of the short-sequence core (attention_small.h). */
static ssl_rows_t f32rows(const float *x, int64_t ld) { return (ssl_rows_t){x, ld, false}; }
static ssl_rows_t b16rows(const uint16_t *x, int64_t ld) { return (ssl_rows_t){x, ld, true}; }

int ssl_attention_fwd_bf16(const float *q, const float *k, const float *v, float *out, float *p, int64_t B, int64_t T, int64_t D, int64_t H,
                           int64_t ld) {
  if (ssl_attention_small_fits(T, D / H))
    return ssl_attention_small_fwd(f32rows(q, ld), f32rows(k, ld), f32rows(v, ld), out, false, D, p, B, T, D, H, true);
  uint16_t *qb, *kb, *vb;
  const int64_t lb = stage(q, k, v, ld, B * T, D, &qb, &kb, &vb);
  if (!lb) return -5;
  return fwd_staged(qb, kb, vb, lb, out, false, p, B, T, D, H);
}

int ssl_attention_bwd_bf16(const float *dout, const float *q, const float *k, const float *v, const float *p, float *dq, float *dk, float *dv,
                           int64_t B, int64_t T, int64_t D, int64_t H, int64_t ld) {
  if (ssl_attention_small_fits(T, D / H))
    return ssl_attention_small_bwd(f32rows(dout, D), f32rows(q, ld), f32rows(k, ld), f32rows(v, ld), p, dq, dk, dv, ld, B, T, D, H, true);
  const int64_t n = B * T * D;
  uint16_t *qb, *kb, *vb, *ob = ssl_grow(&ob_, 2 * n);
  const int64_t lb = stage(q, k, v, ld, B * T, D, &qb, &kb, &vb);
  if (!lb || !ob) return -5;
  ssl_to_bf16(dout, ob, n);
  return bwd_staged(ob, qb, kb, vb, lb, p, dq, dk, dv, ld, B, T, D, H);
}

int ssl_attention_fwd_bf16_qkv16(const uint16_t *qkvb, uint16_t *outb, float *p, int64_t B, int64_t T, int64_t D, int64_t H) {
  if (ssl_attention_small_fits(T, D / H))
    return ssl_attention_small_fwd(b16rows(qkvb, 3 * D), b16rows(qkvb + D, 3 * D), b16rows(qkvb + 2 * D, 3 * D), outb, true, D, p, B, T, D, H, true);
  return fwd_staged(qkvb, qkvb + D, qkvb + 2 * D, 3 * D, outb, true, p, B, T, D, H);
}

int ssl_attention_bwd_bf16_qkv16(const uint16_t *doutb, const uint16_t *qkvb, const float *p, float *dqkv, int64_t B, int64_t T, int64_t D,
                                 int64_t H) {
  if (ssl_attention_small_fits(T, D / H))
    return ssl_attention_small_bwd(b16rows(doutb, D), b16rows(qkvb, 3 * D), b16rows(qkvb + D, 3 * D), b16rows(qkvb + 2 * D, 3 * D), p, dqkv,
                                   dqkv + D, dqkv + 2 * D, 3 * D, B, T, D, H, true);
  return bwd_staged(doutb, qkvb, qkvb + D, qkvb + 2 * D, 3 * D, p, dqkv, dqkv + D, dqkv + 2 * D, 3 * D, B, T, D, H);
}
