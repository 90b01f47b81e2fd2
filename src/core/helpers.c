/* Twisted's fail, maybeDeferred and execute (rule 50; succeed, the
 * hot one, is in deferred.c). */
#include "internal.h"

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
