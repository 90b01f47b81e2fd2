/* The allocation hooks of libdeferred-uv (internal.h) and the small
 * helpers built on them: a zeroing allocation, strdup, and the doubling
 * growth of the library's arrays. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void *(*df__uv_malloc)(size_t) = malloc;
void *(*df__uv_realloc)(void *, size_t) = realloc;
void (*df__uv_free)(void *) = free;

void *df__uv_calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = df__uv_malloc(n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

char *df__uv_strdup(const char *s) {
  size_t len = strlen(s) + 1;
  char *copy = df__uv_malloc(len);
  if (copy) memcpy(copy, s, len);
  return copy;
}

int df__reserve(void **items, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t grown = *cap ? *cap : 4;
  while (grown < need) {
    if (grown > SIZE_MAX / 2 / size) return DF_ENOMEM;
    grown *= 2;
  }
  void *bigger = df__uv_realloc(*items, grown * size);
  if (!bigger) return DF_ENOMEM;
  *items = bigger;
  *cap = grown;
  return 0;
}
