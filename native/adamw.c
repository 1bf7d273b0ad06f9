/* The fused AdamW update. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "elementwise.h"
#include "bf16.h"
#include "fast_math.h"

/* One AdamW step (torch.optim.AdamW): p' = p (1 - lr wd) - lr/bc1 * m' / (sqrt(v')/bc2sqrt + eps). */
void ssl_adamw(const float *p, const float *g, const float *m, const float *v, float *po, float *mo, float *vo, int64_t n,
               float lr, float b1, float b2, float eps, float wd, float bc1, float bc2sqrt) {
  const float decay = 1.0f - lr * wd, step = lr / bc1, inv_bc2 = 1.0f / bc2sqrt;
#pragma omp parallel for num_threads(NTHREADS) if (n >= PAR_MIN) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float mi = b1 * m[i] + (1.0f - b1) * g[i];
    float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    mo[i] = mi;
    vo[i] = vi;
    po[i] = p[i] * decay - step * mi / (sqrtf(vi) * inv_bc2 + eps);
  }
}
