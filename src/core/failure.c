/* Failures: typed errors with a message, payload, cause, and the path they
 * took through the chains (rules FA1-FA5, as far as C has them).
 *
 * The trace bookkeeping (df__failure_note) is what the loop calls when a
 * failure is raised in a stage, passed through, handed to another deferred
 * and so on; trace.c turns it into text. Out of memory never produces a
 * NULL failure: df__failure_no_memory() is a preallocated MemoryError that
 * is never freed and never records a path (it may be shared by threads). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

DF_ERROR_TYPE(df_error_exception, "Exception", NULL);
DF_ERROR_TYPE(df_error_already_called, "AlreadyCalledError", &df_error_exception);
DF_ERROR_TYPE(df_error_cancelled, "CancelledError", &df_error_exception);
DF_ERROR_TYPE(df_error_timeout, "TimeoutError", &df_error_exception);
DF_ERROR_TYPE(df_error_first_error, "FirstError", &df_error_exception);
DF_ERROR_TYPE(df_error_no_memory, "MemoryError", &df_error_exception);
DF_ERROR_TYPE(df_error_invalid_argument, "ValueError", &df_error_exception);
DF_ERROR_TYPE(df_error_chain_cycle, "ChainCycleError", &df_error_exception);
DF_ERROR_TYPE(df_error_no_result, "NoResultError", &df_error_exception);

/* Twisted's Failure.count. Failures are made on every thread, so the
 * counter is atomic; a relaxed increment is enough, as nothing else is
 * ordered by it. */
static _Atomic unsigned long failure_serial;

static df_failure no_memory_failure = {
    .refs = 1,
    .is_static = true,
    .caught = true,
    .type = &df_error_no_memory,
    .message = "out of memory",
    .raised = {"libdeferred", "malloc", 0},
};

df_failure *df__failure_no_memory(void) { return &no_memory_failure; }

bool df_error_type_is_a(const df_error_type *type,
                        const df_error_type *ancestor) {
  if (!ancestor) return false;
  for (; type; type = type->parent)
    if (type == ancestor) return true;
  return false;
}

df_failure *df_failure_new_va(const char *file, int line, const char *func,
                              const df_error_type *type, const char *fmt,
                              va_list ap) {
  df_failure *f = df__malloc(sizeof *f);
  if (!f) return &no_memory_failure;
  memset(f, 0, offsetof(df_failure, path));
  f->refs = 1;
  f->backtrace = NULL;
  f->type = type ? type : &df_error_exception;
  f->message = fmt && *fmt ? df__vformat(fmt, ap) : NULL;
  if (fmt && *fmt && !f->message) {
    df__free(f);
    return &no_memory_failure;
  }
  f->raised.file = file;
  f->raised.line = line;
  f->raised.func = func;
  f->serial =
      atomic_fetch_add_explicit(&failure_serial, 1, memory_order_relaxed) + 1;
  if (DF_UNLIKELY(df__debugging)) {
    f->backtrace = df__malloc(sizeof *f->backtrace);
    if (f->backtrace) df__backtrace_capture(f->backtrace, 2);
  }
  return f;
}

df_failure *df_failure_new_at(const char *file, int line, const char *func,
                              const df_error_type *type, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  df_failure *f = df_failure_new_va(file, line, func, type, fmt, ap);
  va_end(ap);
  return f;
}

df_failure *df_failure_from_code_at(const char *file, int line,
                                    const char *func, int code) {
  const df_error_type *type = &df_error_invalid_argument;
  if (code == DF_EALREADY_CALLED) type = &df_error_already_called;
  if (code == DF_ENOMEM) return df_failure_ref(&no_memory_failure);
  return df_failure_new_at(file, line, func, type, "%s", df_strerror(code));
}

df_failure *df_failure_ref(df_failure *f) {
  if (f && !f->is_static) f->refs++;
  return f;
}

void df_failure_unref(df_failure *f) {
  /* Causes form a list, never a cycle (df_failure_set_cause refuses
   * cycles), so freeing walks down it iteratively. */
  while (f && !f->is_static && --f->refs == 0) {
    df_failure *cause = f->cause;
    if (cause && !cause->is_static) cause->n_as_cause--;
    if (f->payload_destroy) f->payload_destroy(f->payload);
    df__free(f->message);
    df__free(f->backtrace);
    df__free(f);
    f = cause;
  }
}

void df_failure_set_payload(df_failure *f, void *payload,
                            void (*destroy)(void *)) {
  if (!f || f->is_static) {
    if (destroy) destroy(payload);
    return;
  }
  if (f->payload_destroy) f->payload_destroy(f->payload);
  f->payload = payload;
  f->payload_destroy = destroy;
}

void *df_failure_payload(const df_failure *f) { return f ? f->payload : NULL; }

int df_failure_set_cause(df_failure *f, df_failure *cause) {
  if (!f || f->is_static) {
    df_failure_unref(cause);
    return DF_EINVAL;
  }
  /* A cycle needs `f` somewhere in cause's chain, that is, `f` must
   * already be some failure's cause: building a chain from the bottom up
   * never walks it. */
  if (f->n_as_cause > 0 || cause == f)
    for (const df_failure *c = cause; c; c = c->cause)
      if (c == f) {
        df_failure_unref(cause);
        return DF_EINVAL;
      }
  df_failure *old = f->cause;
  f->cause = cause;
  if (cause && !cause->is_static) cause->n_as_cause++;
  if (old && !old->is_static) old->n_as_cause--;
  df_failure_unref(old);
  return 0;
}

df_failure *df_failure_cause(const df_failure *f) { return f ? f->cause : NULL; }
const df_error_type *df_failure_type(const df_failure *f) {
  return f ? f->type : NULL;
}
const char *df_failure_message(const df_failure *f) {
  return f && f->message ? f->message : "";
}
df_site df_failure_site(const df_failure *f) {
  df_site none = {NULL, NULL, 0};
  return f ? f->raised : none;
}
unsigned long df_failure_serial(const df_failure *f) {
  return f ? f->serial : 0;
}

/* rule FA4: the first matching argument, in order. */
const df_error_type *df_failure_check_list(const df_failure *f, ...) {
  if (!f) return NULL;
  va_list ap;
  va_start(ap, f);
  const df_error_type *t, *match = NULL;
  while ((t = va_arg(ap, const df_error_type *)) != NULL)
    if (df_error_type_is_a(f->type, t)) {
      match = t;
      break;
    }
  va_end(ap);
  return match;
}

static void fill_entry(df_trace_entry *e, uint8_t kind, const df_deferred *d,
                       const df_stage *stage, uint32_t index,
                       bool errback_side) {
  e->kind = kind;
  e->errback_side = errback_side;
  e->stage_index = index;
  e->site = stage ? df__stage_site(stage) : NULL;
  e->deferred = d;
  if (d) {
    e->deferred_created = d->created;
    e->deferred_fired = df__fired_site(d);
  }
}

void df__failure_note(df_failure *f, uint8_t kind, const df_deferred *d,
                      const df_stage *stage, uint32_t index,
                      bool errback_side) {
  if (f->is_static) return;
  if (!f->caught && (kind == DF_TRACE_RAISED_IN_STAGE || kind == DF_TRACE_FIRED)) {
    f->caught = true;
    fill_entry(&f->origin, kind, d, stage, index, errback_side);
    return;
  }
  if (kind == DF_TRACE_RAISED_IN_STAGE) kind = DF_TRACE_RETURNED;
  if (f->path_len < DF_FAILURE_PATH_MAX)
    fill_entry(&f->path[f->path_len], kind, d, stage, index, errback_side);
  f->path_len++;
}
