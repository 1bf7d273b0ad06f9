#pragma once
#include <stdint.h>
/*
 * Multi-head attention core at precision bf16, on q, k, v as the fp32 kernels of addon.c take them
 * (rows `ld` floats apart, heads of dh = D / H interleaved along D; out, dout [B, T, D]; p
 * [B, H, T, T] the fp32 probabilities, kept for the backward):
 *   P = softmax(scale q_h k_h^T) in fp32, out_h = P v_h, with the products on bf16 inputs (oneDNN)
 *   and fp32 accumulation; the backward's products likewise (dv = P^T dout, dP = dout v^T,
 *   dS = scale softmax_bwd(dP, P) in fp32, dq = dS k, dk = dS^T q).
 * 0 when done; a negative code when oneDNN is absent or refused a product.
 */
int ssl_attention_fwd_bf16(const float *q, const float *k, const float *v, float *out, float *p, int64_t B, int64_t T, int64_t D, int64_t H,
                           int64_t ld);
int ssl_attention_bwd_bf16(const float *dout, const float *q, const float *k, const float *v, const float *p, float *dq, float *dk, float *dv,
                           int64_t B, int64_t T, int64_t D, int64_t H, int64_t ld);
/*
 * The same on q, k, v already in bf16, side by side in rows of 3D halves (qkvb [B, T, 3D], as the
 * pre-norm attention branch makes them): the forward writes out in bf16 (outb [B, T, D], each fp32
 * result rounded to nearest even); the backward takes dout in bf16 (doutb) and writes dqkv [B, T, 3D]
 * in fp32. The same numbers as the functions above on the fp32 q, k, v and out that these round.
 */
int ssl_attention_fwd_bf16_qkv16(const uint16_t *qkvb, uint16_t *outb, float *p, int64_t B, int64_t T, int64_t D, int64_t H);
int ssl_attention_bwd_bf16_qkv16(const uint16_t *doutb, const uint16_t *qkvb, const float *p, float *dqkv, int64_t B, int64_t T, int64_t D,
                                 int64_t H);
