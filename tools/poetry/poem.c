/* Poems as bytes and a length (poem.h): the growing buffer a download
 * fills, its result form, and reading a whole stream with a limit. */
#include "poem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

poem *poem_new(void) { return calloc(1, sizeof(poem)); }

poem *poem_adopt(char *data, size_t len) {
  poem *p = malloc(sizeof *p);
  if (!p) {
    free(data);
    return NULL;
  }
  p->data = data;
  p->len = p->cap = len;
  return p;
}

int poem_append(poem *p, const void *data, size_t len) {
  if (len == 0) return 0;
  if (len > SIZE_MAX - p->len) return DF_ENOMEM;
  size_t need = p->len + len;
  if (need > p->cap) {
    size_t cap = p->cap ? p->cap : 1024;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *grown = realloc(p->data, cap);
    if (!grown) return DF_ENOMEM;
    p->data = grown;
    p->cap = cap;
  }
  memcpy(p->data + p->len, data, len);
  p->len = need;
  return 0;
}

void poem_free(poem *p) {
  if (!p) return;
  free(p->data);
  free(p);
}

void poem_release(void *p) { poem_free(p); }

df_result poem_result(poem *p) {
  if (!p) return df_raise(&df_error_no_memory, "no memory for a poem");
  return df_pointer(p, poem_release);
}

poem *poem_of(df_result r) {
  if (r.kind != DF_POINTER || df_destructor_fn(r.destructor) != poem_release)
    return NULL;
  return r.u.p;
}

int poem_read_stream(FILE *in, size_t limit, char **data, size_t *len) {
  char *buf = NULL;
  size_t cap = 0, n = 0;
  while (n < limit) {
    if (n == cap) {
      size_t grown = cap ? cap * 2 : 4096;
      if (grown > limit || grown < cap) grown = limit;
      char *p = realloc(buf, grown);
      if (!p) {
        free(buf);
        errno = ENOMEM;
        return -1;
      }
      buf = p;
      cap = grown;
    }
    size_t got = fread(buf + n, 1, cap - n, in);
    n += got;
    if (got == 0) {
      if (ferror(in)) { /* errno is read(2)'s */
        int saved = errno;
        free(buf);
        errno = saved;
        return -1;
      }
      break;
    }
  }
  if (n == 0) {
    free(buf);
    buf = NULL;
  }
  *data = buf;
  *len = n;
  return 0;
}
