/* Allocation hooks and small string helpers.
 *
 * Every allocation in the library goes through df__malloc/df__realloc/
 * df__free so that a program (bench/ in particular) can count or replace
 * them with df_set_allocator(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void *(*df__malloc)(size_t) = malloc;
void *(*df__realloc)(void *, size_t) = realloc;
void (*df__free)(void *) = free;

int df_set_allocator(void *(*malloc_fn)(size_t),
                     void *(*realloc_fn)(void *, size_t),
                     void (*free_fn)(void *)) {
  if (!malloc_fn && !realloc_fn && !free_fn) {
    df__malloc = malloc;
    df__realloc = realloc;
    df__free = free;
    return 0;
  }
  if (!malloc_fn || !realloc_fn || !free_fn) return DF_EINVAL;
  df__malloc = malloc_fn;
  df__realloc = realloc_fn;
  df__free = free_fn;
  return 0;
}

char *df__vformat(const char *fmt, va_list ap) {
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  char *text = n < 0 ? NULL : df__malloc((size_t)n + 1);
  if (text) vsnprintf(text, (size_t)n + 1, fmt, again);
  va_end(again);
  return text;
}

const char *df_strerror(int code) {
  switch (code) {
  case 0: return "success";
  case DF_ENOMEM: return "out of memory";
  case DF_EINVAL: return "invalid argument";
  case DF_EALREADY_CALLED: return "already called";
  case DF_EALREADY_CANCELLED: return "already cancelled";
  case DF_EQUEUE_OVERFLOW: return "queue overflow";
  default: break;
  }
  /* A negated errno value (every errno is below 1000 on the systems we
   * build for); strerror_r is the thread-safe strerror. */
  static _Thread_local char text[128];
  if (code < 0 && code > -1000 && strerror_r(-code, text, sizeof text) == 0)
    return text;
  return "unknown error";
}
