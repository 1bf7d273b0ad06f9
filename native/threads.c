/* The thread count of the element-wise loops (OpenMP), set with the GEMM's thread count. */
#include "elementwise.h"

static int nthreads = 1;
void ssl_set_threads(int n) { nthreads = n < 1 ? 1 : n; }
int ssl_threads(void) { return nthreads; }
