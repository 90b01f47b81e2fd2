/* Results: dropping, taking and describing the values of a chain. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The destructor table: append-only, in fixed chunks that never move, so
 * that readers need no lock. Index 1 is free(), used by owned strings. */
#define CHUNK_BITS 8
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define MAX_CHUNKS 4096

typedef void (*destructor)(void *);
static destructor *_Atomic chunks[MAX_CHUNKS];
static _Atomic uint32_t n_destructors = 1; /* index 0 is "none" */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local destructor last_fn;
static _Thread_local uint32_t last_id;

void (*df_destructor_fn(uint32_t id))(void *) {
  if (id == 0 || id >= atomic_load(&n_destructors)) return NULL;
  return atomic_load(&chunks[id >> CHUNK_BITS])[id & (CHUNK_SIZE - 1)];
}

static uint32_t find(destructor fn, uint32_t n) {
  for (uint32_t id = 1; id < n; id++)
    if (df_destructor_fn(id) == fn) return id;
  return 0;
}

uint32_t df_destructor_id(void (*fn)(void *)) {
  if (!fn) return 0;
  if (fn == last_fn) return last_id;
  uint32_t id = find(fn, atomic_load(&n_destructors));
  if (!id) {
    pthread_mutex_lock(&table_lock);
    uint32_t n = atomic_load(&n_destructors);
    id = find(fn, n);
    if (!id && n < MAX_CHUNKS * CHUNK_SIZE) {
      destructor *chunk = atomic_load(&chunks[n >> CHUNK_BITS]);
      if (!chunk) {
        /* plain calloc: the table lives as long as the process, whatever
         * allocator is installed later, and is freed at exit */
        chunk = calloc(CHUNK_SIZE, sizeof *chunk);
        if (chunk) {
          atomic_store(&chunks[n >> CHUNK_BITS], chunk);
          /* even in a program that never makes a deferred (the first
           * deferred of a thread installs the handler too) */
          df__at_exit_register();
        }
      }
      if (chunk) {
        chunk[n & (CHUNK_SIZE - 1)] = fn;
        atomic_store(&n_destructors, n + 1);
        id = n;
      }
    }
    pthread_mutex_unlock(&table_lock);
  }
  if (id) {
    last_fn = fn;
    last_id = id;
  }
  return id;
}

void df__destructors_free(void) {
  for (uint32_t i = 0; i < MAX_CHUNKS; i++) {
    destructor *chunk = atomic_load(&chunks[i]);
    if (!chunk) break;
    atomic_store(&chunks[i], NULL);
    free(chunk);
  }
  atomic_store(&n_destructors, 1);
  last_fn = NULL;
  last_id = 0;
}

df_result df_string_take(char *s) {
  df_result r = df_string(s);
  r.destructor = df_destructor_id(free);
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
  case DF_POINTER:
    if (r.destructor) {
      destructor fn = df_destructor_fn(r.destructor);
      if (fn) fn(r.kind == DF_STRING ? (void *)r.u.s : r.u.p);
    }
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

/* --- the checked accessors' wrong kind ---------------------------------- */

static const char *kind_words(df_kind kind) {
  switch (kind) {
  case DF_NONE: return "None";
  case DF_INT: return "an integer";
  case DF_DOUBLE: return "a double";
  case DF_STRING: return "a string";
  case DF_POINTER: return "a pointer";
  case DF_FAILURE: return "a failure";
  case DF_DEFERRED: return "a deferred to wait on";
  }
  return "a result of no known kind";
}

void df_result_wrong_kind(df_result r, df_kind expected,
                          const char *accessor) {
  if (!df__debugging) return;
  char value[200];
  df_result_describe(r, value, sizeof value);
  if (r.kind == DF_NONE) /* "holding None", not "None, None" */
    fprintf(stderr, "libdeferred: %s on a result holding None, not %s "
                    "(debug mode)\n",
            accessor, kind_words(expected));
  else
    fprintf(stderr, "libdeferred: %s on a result holding %s, %s, not %s "
                    "(debug mode)\n",
            accessor, value, kind_words(r.kind), kind_words(expected));
  fflush(stderr);
  abort();
}
