#pragma once
#include <stdbool.h>
#include <stdint.h>
/*
 * One augmented view of a batch (augment.c), the ops of augment/policy.ts applyViewParams in its
 * order: crop + bilinear resize to S x S (maps [6, B * S]: per image, S row source indices r0 and
 * r1 with the weight rw of r1, then c0, c1, cw for the columns; indices as exact floats), colour
 * jitter (its four ops in a per-image order), grayscale, Gaussian blur (reflect padding, K taps
 * per image), solarize (x >= threshold -> 1 - x), horizontal flip, then (x - mean) / std per channel.
 * images [B, H, W, 3] in [0, 1], out [B, S, S, 3]; params [B, SSL_AUG_PARAMS] as indexed below
 * (flags 0 or 1). Returns 0, -3 for a map outside the image, -5 when out of memory.
 */
enum {
  SSL_AUG_JITTER = 0,     /* colour jitter applied */
  SSL_AUG_ORDER = 1,      /* 4 entries: the ops' order, 0 brightness, 1 contrast, 2 saturation, 3 hue */
  SSL_AUG_BRIGHTNESS = 5, /* factors */
  SSL_AUG_CONTRAST = 6,
  SSL_AUG_SATURATION = 7,
  SSL_AUG_HUE = 8, /* shift, a fraction of a turn */
  SSL_AUG_GRAY = 9,
  SSL_AUG_BLUR = 10,
  SSL_AUG_SOLARIZE = 11,
  SSL_AUG_FLIP = 12,
  SSL_AUG_PARAMS = 13
};
int ssl_augment_view(const float *images, int64_t B, int64_t H, int64_t W, const float *maps, const float *params, const float *taps, int64_t K,
                     int64_t S, float threshold, const float mean[3], const float std[3], float *out);
