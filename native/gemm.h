#pragma once
#include <stdbool.h>
#include <stdint.h>
/*
 * One batched row-major GEMM with a chosen library route:
 *   for i in 0..batch-1: C_i[m x n] = op(A_i) op(B_i) + beta * C_i
 * A_i at a + i*aStride (0 broadcasts one matrix), op(A) = A^T when transA (A stored [k x m]).
 */
enum {
  SSL_ROUTE_OPENBLAS = 0,    /* CBLAS sgemm, fp32 */
  SSL_ROUTE_ONEDNN = 1,      /* oneDNN matmul, fp32 */
  SSL_ROUTE_ONEDNN_BF16 = 2, /* oneDNN matmul, inputs rounded to bf16, fp32 accumulation and output */
};
/* 0 when done; a negative code when the route cannot run the problem (see ssl_gemm_error). */
int ssl_gemm(int route, const float *a, int64_t aStride, const float *b, int64_t bStride, float *c, int64_t cStride, int64_t batch, int64_t m,
             int64_t n, int64_t k, bool transA, bool transB, float beta);
const char *ssl_gemm_error(int rc);
