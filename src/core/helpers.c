/* Twisted's succeed, fail, maybeDeferred and execute (section 1.2). */
#include "internal.h"

df_deferred *df_succeed_at(df_result result, const char *file, int line,
                           const char *func) {
  df_deferred *d = df_deferred_new_at(NULL, NULL, file, line, func);
  if (!d) {
    df_result_drop(result);
    return NULL;
  }
  if (DF_LIKELY(result.kind < DF_FAILURE && df__observer == NULL &&
                !(d->flags & DF_F_COLD))) {
    /* All that firing a deferred with nothing queued does (rules 3, 5,
     * U2) for a plain value, without the general path: the common
     * `return df_wait_on(df_succeed(x))` pays for little more than the
     * allocation. */
    df__set_called(d);
    d->fired.file = file;
    d->fired.line = line;
    d->fired.func = func;
    d->result = result;
    return d;
  }
  if (df_deferred_callback_at(d, result, file, line, func) != 0) {
    /* result was a deferred (rule 4): a programming error, reported as a
     * failed deferred rather than an abort */
    df__fire(d, df_raise(&df_error_invalid_argument,
                         "df_succeed: a deferred is not a result"),
             file, line, func);
  }
  return d;
}

df_deferred *df_fail_at(df_failure *f, const char *file, int line,
                        const char *func) {
  if (!f) f = df_failure_new_at(file, line, func, &df_error_invalid_argument,
                                "df_fail: NULL failure");
  return df_succeed_at(df_failed(f), file, line, func);
}

df_deferred *df_maybe_deferred_at(df_function fn, void *arg, const char *file,
                                  int line, const char *func) {
  df_result r = fn(arg);
  if (r.kind == DF_DEFERRED) {
    if (r.u.deferred) return r.u.deferred; /* returned as is */
    r = df_raise(&df_error_invalid_argument,
                 "df_maybe_deferred: the function returned df_wait_on(NULL)");
  }
  return df_succeed_at(r, file, line, func);
}

df_deferred *df_execute_at(df_function fn, void *arg, const char *file,
                           int line, const char *func) {
  df_result r = fn(arg);
  if (r.kind == DF_DEFERRED) {
    df_result_drop(r);
    r = df_raise(&df_error_invalid_argument,
                 "df_execute: the function returned a deferred");
  }
  return df_succeed_at(r, file, line, func);
}
