#pragma once
#include <stdbool.h>
#include <stdint.h>
/*
 * Batched row-major matrix products through oneDNN's matmul primitive (fp32, or bf16 inputs with
 * fp32 accumulation and output). Same contract as the CBLAS path of addon.c:
 *   for i in 0..batch-1: C_i[m x n] = op(A_i) op(B_i) + beta * C_i
 * with A_i at a + i*aStride (aStride 0 broadcasts), op(A) = A^T when transA (A stored [k x m]).
 * Built only when oneDNN's header is present (SSL_HAVE_DNNL); otherwise every call reports -1.
 */
enum { SSL_DNNL_F32 = 0, SSL_DNNL_BF16 = 1 };
/* 0 when done, a negative code when oneDNN is missing or refused the problem (caller falls back). */
int ssl_dnnl_matmul(int precision, const float *a, int64_t aStride, const float *b, int64_t bStride, float *c, int64_t cStride,
                    int64_t batch, int64_t m, int64_t n, int64_t k, bool transA, bool transB, float beta);
/* The same with operands already in bf16 (bf16.h), fp32 accumulation and output. */
int ssl_dnnl_matmul_bf16(const uint16_t *a, int64_t aStride, const uint16_t *b, int64_t bStride, float *c, int64_t cStride, int64_t batch,
                         int64_t m, int64_t n, int64_t k, bool transA, bool transB, float beta);
/* The same, batch 1, written in bf16 (each fp32 result rounded to nearest even, as bf16.h rounds). */
int ssl_dnnl_matmul_bf16_out16(const uint16_t *a, const uint16_t *b, uint16_t *c, int64_t m, int64_t n, int64_t k, bool transA, bool transB);
/*
 * A linear layer's product with its epilogue in the kernel: c[m x n] = x[m x k] w[k x n] + bias (row, or NULL) + res (m x n, or NULL).
 * x and w are fp32 (SSL_DNNL_F32) or already bf16 (SSL_DNNL_BF16).
 */
int ssl_dnnl_linear(int precision, const void *x, const void *w, const float *bias, const float *res, float *c, int64_t m, int64_t n, int64_t k);
/* bf16 x and w, c = bf16(x w + bias) (the fp32 sum rounded to nearest even). */
int ssl_dnnl_linear_bf16_out16(const uint16_t *x, const uint16_t *w, const float *bias, uint16_t *c, int64_t m, int64_t n, int64_t k);
/*
 * Products over a batch of heads, bf16 operands, fp32 output (or bf16 when outBf16): for every (i, j) < (batch, heads),
 * C_ij[m x n] = A_ij[m x k] B_ij[k x n], where element (i, j, r, c) of A is at a + i sa[0] + j sa[1] + r sa[2] + c sa[3]
 * (likewise B with sb, C with sc): heads interleaved in place, and transposes, are strides.
 */
int ssl_dnnl_matmul4_bf16(const uint16_t *a, const int64_t sa[4], const uint16_t *b, const int64_t sb[4], void *c, bool outBf16,
                          const int64_t sc[4], int64_t batch, int64_t heads, int64_t m, int64_t n, int64_t k);
/* "oneDNN 2.6.3 (ISA ...)" or why it is absent. */
const char *ssl_dnnl_config(void);
bool ssl_dnnl_available(void);
