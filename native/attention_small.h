#pragma once
#include <stdbool.h>
#include <stdint.h>
/*
 * The multi-head attention core for short sequences (T <= SSL_SMALL_T_MAX tokens, heads of dh a
 * multiple of 16 up to SSL_SMALL_DH_MAX): P = softmax(q_h k_h^T / sqrt(dh)), out_h = P v_h, one head at a time on a
 * thread's own buffers, in fp32 fused multiply-adds summed in index order (attention_small.c).
 * Heads are interleaved along D (PyTorch's reshape(B, T, H, dh)). Operands are rows `ld` elements
 * apart, fp32 or bf16. bf16: the products take bf16 values (fp32 operands rounded on load; P and dS
 * rounded after the fp32 softmax), as attention_bf16.c's products do. p: [B, H, T, T] fp32
 * probabilities, written by the forward and read by the backward. Returns 0, -3 when the shape is
 * not one it takes, -5 when out of memory. Used for every shape it takes (a fixed rule by shape).
 */
#define SSL_SMALL_T_MAX 32
#define SSL_SMALL_DH_MAX 128

typedef struct {
  const void *p;
  int64_t ld;
  bool bf16;
} ssl_rows_t;

bool ssl_attention_small_fits(int64_t T, int64_t dh);
int ssl_attention_small_fwd(ssl_rows_t q, ssl_rows_t k, ssl_rows_t v, void *out, bool outBf16, int64_t ldo, float *p, int64_t B, int64_t T,
                            int64_t D, int64_t H, bool bf16);
/* dq, dk, dv fp32, rows ld apart. */
int ssl_attention_small_bwd(ssl_rows_t dout, ssl_rows_t q, ssl_rows_t k, ssl_rows_t v, const float *p, float *dq, float *dk, float *dv, int64_t ld,
                            int64_t B, int64_t T, int64_t D, int64_t H, bool bf16);
