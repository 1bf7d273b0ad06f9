#pragma once
#include <stdint.h>
/*
 * A ViT block's attention branch with its skip connection, pre-norm, at precision bf16 (needs oneDNN):
 *   out = x + proj(attention(qkv(LN(x))))      x, out [B, T, D], H heads
 * LN(x) is written straight to bf16 (xb, B T D halves; mean, rstd [B T] kept), the qkv product
 * straight to bf16 (qkvb, B T 3D halves: the attention's operands), the attention's output straight
 * to bf16 (ob, B T D halves: proj's operand); p [B, H, T, T] keeps the fp32 probabilities. These are
 * the values the layers chained round to bf16 (LayerNorm, the qkv layer, attention and proj at
 * bf16, each fp32 result rounded to nearest even), so the branch gives the same numbers, bit for
 * bit, without their fp32 intermediates. wq [D, 3D], bq [3D], wp [D, D], bp [D] (biases may be NULL).
 * The backward's dx includes the skip connection's dout; dbq / dbp may be NULL (no bias).
 * Returns 0, or a negative code (oneDNN missing, out of memory).
 */
int ssl_norm_attention_fwd_bf16(const float *x, const float *g, const float *beta, float eps, const float *wq, const float *bq, const float *wp,
                                const float *bp, float *mean, float *rstd, uint16_t *xb, uint16_t *qkvb, float *p, uint16_t *ob, float *out,
                                int64_t B, int64_t T, int64_t D, int64_t H);
int ssl_norm_attention_bwd_bf16(const float *dout, const float *x, const float *mean, const float *rstd, const float *g, const uint16_t *xb,
                                const float *wq, const uint16_t *qkvb, const float *p, const uint16_t *ob, const float *wp, float *dx,
                                float *dg, float *dbeta, float *dwq, float *dbq, float *dwp, float *dbp, int64_t B, int64_t T, int64_t D,
                                int64_t H);
