/*
 * What the element-wise kernels (gelu.c, layernorm.c, softmax.c, adamw.c, epilogue.c) share: the
 * OpenMP thread count (threads.c), when a loop goes parallel, and exp / erf by range-reduced
 * polynomials accurate to a few float32 ulps (|error| < 3e-7), because libm's scalar calls do not
 * vectorise.
 */
#pragma once
#include <math.h>
#include <stdint.h>
#include "elementwise.h"

/* Threads of the element-wise loops (ssl_set_threads, with the GEMM's count). */
#define NTHREADS ssl_threads()

/* Work below this many elements stays on one thread (waking the others costs more). */
#define PAR_MIN 32768
#define CHUNK 4096

/* e^x for x in [-87, 88]: x = n ln2 + r, e^r by a degree-6 polynomial, 2^n through the exponent bits. */
static inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float log2e = 1.44269504088896341f;
  float n = floorf(x * log2e + 0.5f);
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666791f + r * (0.00833336077f + r * 0.00138925586f)))));
  union { float f; int32_t i; } u;
  u.i = ((int32_t)n + 127) << 23;
  return p * u.f;
}

/* erf(x) by Abramowitz & Stegun 7.1.26 refined, given e = exp(-x^2): |error| < 1.5e-7. */
static inline float erf_given_exp(float x, float e) {
  float ax = fabsf(x);
  float t = 1.0f / (1.0f + 0.3275911f * ax);
  float y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t * e;
  return x < 0 ? -y : y;
}

static inline float erf_approx(float x) { return erf_given_exp(x, exp_approx(-fabsf(x) * fabsf(x))); }
