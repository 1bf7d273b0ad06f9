/* Route dispatch of the native GEMM (gemm.h): OpenBLAS's CBLAS, or oneDNN's matmul (dnnl_matmul.c). */
#include "gemm.h"
#include "dnnl_matmul.h"
#include <cblas.h>
#include <string.h>

int ssl_gemm(int route, const float *a, int64_t aStride, const float *b, int64_t bStride, float *c, int64_t cStride, int64_t batch, int64_t m,
             int64_t n, int64_t k, bool transA, bool transB, float beta) {
  if (batch <= 0 || m <= 0 || n <= 0) return 0;
  if (k == 0) {
    if (beta == 0)
      for (int64_t i = 0; i < batch; i++) memset(c + i * cStride, 0, sizeof(float) * (size_t)(m * n));
    return 0;
  }
  if (route == SSL_ROUTE_ONEDNN || route == SSL_ROUTE_ONEDNN_BF16)
    return ssl_dnnl_matmul(route == SSL_ROUTE_ONEDNN_BF16 ? SSL_DNNL_BF16 : SSL_DNNL_F32, a, aStride, b, bStride, c, cStride, batch, m, n, k,
                           transA, transB, beta);
  if (route != SSL_ROUTE_OPENBLAS) return -10;
  const int lda = transA ? (int)m : (int)k;
  const int ldb = transB ? (int)k : (int)n;
  for (int64_t i = 0; i < batch; i++)
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                a + i * aStride, lda, b + i * bStride, ldb, beta, c + i * cStride, (int)n);
  return 0;
}

const char *ssl_gemm_error(int rc) {
  switch (rc) {
  case -1: return "oneDNN is not available in this build";
  case -2: return "oneDNN route: beta must be 0 or 1";
  case -4: return "oneDNN refused the problem shape";
  case -5: return "out of memory for the bf16 operands";
  case -6: return "oneDNN could not wrap the operands";
  case -7: return "oneDNN matmul failed to execute";
  case -10: return "unknown GEMM route";
  default: return "GEMM failed";
  }
}
