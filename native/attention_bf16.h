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
