#pragma once
#include <stdlib.h>
/*
 * A scratch buffer that kernels keep across calls (the addon is called from one JS thread) and
 * grow when a call needs more: ssl_grow returns at least `bytes` bytes, or NULL when out of memory.
 */
typedef struct {
  void *p;
  size_t have;
} ssl_buf_t;

static inline void *ssl_grow(ssl_buf_t *b, size_t bytes) {
  if (b->have < bytes) {
    free(b->p);
    b->p = malloc(bytes);
    b->have = b->p ? bytes : 0;
  }
  return b->p;
}
