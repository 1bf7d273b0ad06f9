#pragma once
#include <stdint.h>
/* Geometry of a 2-D convolution on NHWC data with an HWIO filter [KH, KW, C, OC]. */
typedef struct {
  int64_t B, H, W, C;      /* input */
  int64_t OH, OW, OC;      /* output */
  int64_t KH, KW;          /* filter */
  int64_t SH, SW;          /* strides */
  int64_t DH, DW;          /* dilations */
  int64_t PT, PL;          /* padding before the first row / column */
} ssl_conv_geom;

/* Each returns 0, -1 when its scratch buffer cannot be allocated, or a negative GEMM code (gemm.h) of its products' route. */
int ssl_conv_fwd(const ssl_conv_geom *g, const float *x, const float *w, float *y, int route);
int ssl_conv_bwd_input(const ssl_conv_geom *g, const float *dy, const float *w, float *dx, int route);
int ssl_conv_bwd_filter(const ssl_conv_geom *g, const float *x, const float *dy, float *dw, int route);
