/*
 * One augmented view of a batch in one pass per image (augment.h): the ops of augment/*.ts (the
 * batched tfjs reference) in the same order and the same float32 arithmetic, each image on its
 * own thread, so that a 28 px batch costs microseconds instead of hundreds of small tensor ops.
 */
#include "augment.h"
#include "elementwise.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const float GRAY_R = 0.299f, GRAY_G = 0.587f, GRAY_B = 0.114f;

static inline float clamp01(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
static inline float luma(const float *p) { return p[0] * GRAY_R + p[1] * GRAY_G + p[2] * GRAY_B; }
/* x - floor(x / m) * m (color.ts floorMod) */
static inline float floor_mod(float x, float m) { return x - floorf(x / m) * m; }

/* clamp(f x + (1 - f) other) per value, `other` per pixel (saturation) or one value (contrast). */
static void blend(float *x, int64_t n, float f, const float *other, float otherAll) {
  const float g = 1.0f - f;
  for (int64_t p = 0; p < n; p++) {
    const float o = other ? other[p] : otherAll;
    for (int c = 0; c < 3; c++) x[3 * p + c] = clamp01(x[3 * p + c] * f + o * g);
  }
}

/* torchvision's adjust_hue through HSV, as color.ts rgbToHsv / hsvToRgb compute it. */
static void hue(float *x, int64_t n, float shift) {
  for (int64_t p = 0; p < n; p++) {
    float *q = x + 3 * p;
    const float r = q[0], g = q[1], b = q[2];
    const float maxc = fmaxf(fmaxf(r, g), b), minc = fminf(fminf(r, g), b), cr = maxc - minc;
    const float gray = maxc == minc ? 1.0f : 0.0f;
    const float s = cr / (maxc + gray), crDiv = cr + gray;
    const float rc = (maxc - r) / crDiv, gc = (maxc - g) / crDiv, bc = (maxc - b) / crDiv;
    float h;
    if (maxc == r) h = bc - gc;
    else if (maxc == g) h = 2.0f + (rc - bc);
    else h = 4.0f + (gc - rc);
    h = floor_mod(h / 6.0f + 1.0f, 1.0f);
    h = floor_mod(h + shift, 1.0f);
    const float v = maxc, vs = v * s;
    static const float n6[3] = {5.0f, 3.0f, 1.0f};
    for (int c = 0; c < 3; c++) {
      const float k = floor_mod(h * 6.0f + n6[c], 6.0f);
      const float m = fminf(k, 4.0f - k);
      q[c] = v - vs * clamp01(m);
    }
  }
}

static void jitter_op(float *x, int64_t n, int op, const float *prm, float *work) {
  switch (op) {
  case 0: /* brightness */
    for (int64_t i = 0; i < 3 * n; i++) x[i] = clamp01(x[i] * prm[SSL_AUG_BRIGHTNESS]);
    break;
  case 1: { /* contrast: the mean luma of the image */
    float sum = 0;
    for (int64_t p = 0; p < n; p++) sum += luma(x + 3 * p);
    blend(x, n, prm[SSL_AUG_CONTRAST], NULL, sum / (float)n);
    break;
  }
  case 2: /* saturation */
    for (int64_t p = 0; p < n; p++) work[p] = luma(x + 3 * p);
    blend(x, n, prm[SSL_AUG_SATURATION], work, 0);
    break;
  default:
    hue(x, n, prm[SSL_AUG_HUE]);
  }
}

/* Reflect index (blur.ts reflectIndex): mirrored without repeating the edge, for any distance. */
static inline int64_t reflect(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  int64_t m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/* Separable Gaussian blur (rows, then columns) with reflect padding; `tmp` holds S x S x 3. */
static void blur(float *x, float *tmp, int64_t S, const float *taps, int64_t K) {
  const int64_t r = (K - 1) / 2;
  for (int64_t i = 0; i < S; i++)
    for (int64_t j = 0; j < S; j++)
      for (int c = 0; c < 3; c++) {
        float acc = 0;
        for (int64_t t = 0; t < K; t++) acc += x[(reflect(i + t - r, S) * S + j) * 3 + c] * taps[t];
        tmp[(i * S + j) * 3 + c] = acc;
      }
  for (int64_t i = 0; i < S; i++)
    for (int64_t j = 0; j < S; j++)
      for (int c = 0; c < 3; c++) {
        float acc = 0;
        for (int64_t t = 0; t < K; t++) acc += tmp[(i * S + reflect(j + t - r, S)) * 3 + c] * taps[t];
        x[(i * S + j) * 3 + c] = acc;
      }
}

int ssl_augment_view(const float *images, int64_t B, int64_t H, int64_t W, const float *maps, const float *params, const float *taps, int64_t K,
                     int64_t S, float threshold, const float mean[3], const float std[3], float *out) {
  const int64_t bs = B * S;
  const float *r0 = maps, *r1 = maps + bs, *rw = maps + 2 * bs, *c0 = maps + 3 * bs, *c1 = maps + 4 * bs, *cw = maps + 5 * bs;
  for (int64_t i = 0; i < bs; i++)
    if (!(r0[i] >= 0 && r0[i] < H && r1[i] >= 0 && r1[i] < H && c0[i] >= 0 && c0[i] < W && c1[i] >= 0 && c1[i] < W)) return -3;
  const size_t per = (size_t)(S * W * 3 + 3 * S * S * 3);
  float *ws = malloc(sizeof(float) * per * (size_t)B);
  if (!ws) return -5;
#pragma omp parallel for num_threads(ssl_threads()) if (B * S * S >= 4096) schedule(static)
  for (int64_t b = 0; b < B; b++) {
    const float *img = images + b * H * W * 3, *prm = params + b * SSL_AUG_PARAMS;
    float *rows = ws + per * (size_t)b, *x = rows + S * W * 3, *tmp = x + S * S * 3, *work = tmp + S * S * 3;
    const int64_t n = S * S;
    /* crop + bilinear resize: rows, then columns (bilinear.ts: lo (1 - w) + hi w) */
    for (int64_t i = 0; i < S; i++) {
      const float w = rw[b * S + i], u = 1.0f - w;
      const float *lo = img + (int64_t)r0[b * S + i] * W * 3, *hi = img + (int64_t)r1[b * S + i] * W * 3;
      for (int64_t k = 0; k < W * 3; k++) rows[i * W * 3 + k] = lo[k] * u + hi[k] * w;
    }
    for (int64_t j = 0; j < S; j++) {
      const float w = cw[b * S + j], u = 1.0f - w;
      const int64_t a = (int64_t)c0[b * S + j], e = (int64_t)c1[b * S + j];
      for (int64_t i = 0; i < S; i++)
        for (int c = 0; c < 3; c++) x[(i * S + j) * 3 + c] = rows[(i * W + a) * 3 + c] * u + rows[(i * W + e) * 3 + c] * w;
    }
    if (prm[SSL_AUG_JITTER] != 0)
      for (int o = 0; o < 4; o++) jitter_op(x, n, (int)prm[SSL_AUG_ORDER + o], prm, work);
    if (prm[SSL_AUG_GRAY] != 0)
      for (int64_t p = 0; p < n; p++) {
        const float l = luma(x + 3 * p);
        x[3 * p] = x[3 * p + 1] = x[3 * p + 2] = l;
      }
    if (prm[SSL_AUG_BLUR] != 0 && K > 1) blur(x, tmp, S, taps + b * K, K);
    if (prm[SSL_AUG_SOLARIZE] != 0)
      for (int64_t i = 0; i < 3 * n; i++) x[i] = x[i] >= threshold ? 1.0f - x[i] : x[i];
    float *y = out + b * n * 3;
    const bool flip = prm[SSL_AUG_FLIP] != 0;
    for (int64_t i = 0; i < S; i++)
      for (int64_t j = 0; j < S; j++) {
        const float *src = x + (i * S + (flip ? S - 1 - j : j)) * 3;
        for (int c = 0; c < 3; c++) y[(i * S + j) * 3 + c] = (src[c] - mean[c]) / std[c];
      }
  }
  free(ws);
  return 0;
}
