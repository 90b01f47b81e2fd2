/* Results: dropping, taking and describing the values of a chain. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

df_result df_string_take(char *s) {
  df_result r = df_string(s);
  r.destroy = free;
  return r;
}

df_result df_string_dup(const char *s) {
  if (!s) return df_string(NULL);
  size_t n = strlen(s) + 1;
  char *copy = malloc(n); /* free()d by the result: plain malloc */
  if (!copy) return df_failed(df_failure_ref(df__failure_no_memory()));
  memcpy(copy, s, n);
  return df_string_take(copy);
}

void df_result_drop(df_result r) {
  switch (r.kind) {
  case DF_STRING:
    if (r.destroy) r.destroy((void *)r.u.s);
    break;
  case DF_POINTER:
    if (r.destroy) r.destroy(r.u.p);
    break;
  case DF_FAILURE:
    df_failure_unref(r.u.failure);
    break;
  case DF_DEFERRED:
    df_deferred_unref(r.u.deferred);
    break;
  default:
    break;
  }
}

void *df_result_take(df_result *r) {
  if (!r || (r->kind != DF_POINTER && r->kind != DF_STRING)) return NULL;
  void *p = r->kind == DF_POINTER ? r->u.p : (void *)r->u.s;
  *r = df_none();
  return p;
}

size_t df_result_describe(df_result r, char *buf, size_t size) {
  int n = 0;
  switch (r.kind) {
  case DF_NONE: n = snprintf(buf, size, "None"); break;
  case DF_INT: n = snprintf(buf, size, "%" PRId64, r.u.i); break;
  case DF_DOUBLE: n = snprintf(buf, size, "%g", r.u.d); break;
  case DF_STRING:
    n = r.u.s ? snprintf(buf, size, "'%.60s%s'", r.u.s,
                         strlen(r.u.s) > 60 ? "..." : "")
              : snprintf(buf, size, "NULL");
    break;
  case DF_POINTER: n = snprintf(buf, size, "<pointer %p>", r.u.p); break;
  case DF_FAILURE: {
    char brief[200];
    df_failure_brief(r.u.failure, brief, sizeof brief);
    n = snprintf(buf, size, "<Failure %s>", brief);
    break;
  }
  case DF_DEFERRED:
    n = snprintf(buf, size, "<Deferred at %p>", (void *)r.u.deferred);
    break;
  }
  return n < 0 ? 0 : (size_t)n;
}
