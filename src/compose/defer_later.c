/* A deferred that fires after a delay: Twisted's task.deferLater
 * (deferred/timeout.h says what users see).
 *
 * As in Twisted, the function runs as the deferred's first callback, so
 * that its failure, or a deferred it returns, is the deferred's outcome;
 * the delayed call only fires the deferred with None. The deferred owns
 * the function and its argument (`later`), whose handle on the call lets
 * the canceller stop it; the call, while pending, holds a reference to
 * the deferred:
 *
 *     d --- owns ---> later --- handle ---> delayed call
 *     ^                                          |
 *     +-------- reference, while pending --------+
 */
#include <math.h>

#include "internal.h"

typedef struct later {
  df_function fn;
  void *arg;
  df_delayed_call *call;
} later;

static void later_free(void *arg) {
  later *l = arg;
  df_delayed_call_unref(l->call);
  df__free(l);
}

/* Twisted's deferLaterCancel. Once the call has run the deferred has
 * fired, and a cancel goes to what it waits on instead (rule C3). */
static void cancel_call(df_deferred *d, void *arg) {
  later *l = arg;
  (void)d;
  if (df_delayed_call_active(l->call)) df_delayed_call_cancel(l->call);
}

/* Twisted's cb: the function's outcome, or None without one. */
static df_result run_function(df_result none, void *arg) {
  later *l = arg;
  df_result_drop(none);
  return l->fn ? l->fn(l->arg) : df_none();
}

/* The delayed call: d.callback(None). Someone may have fired d already,
 * against the rules; Twisted's reactor would log AlreadyCalledError. */
static void fire_with_none(void *arg) {
  df_deferred_callback((df_deferred *)arg, df_none());
}

static void deferred_unref(void *arg) { df_deferred_unref(arg); }

df_deferred *df_defer_later_at(df_clock *clock, double delay, df_function fn,
                               void *arg, const char *file, int line,
                               const char *func) {
  if (!clock || isnan(delay))
    return df_fail_at(df_failure_new_at(file, line, func,
                                        &df_error_invalid_argument,
                                        "df_defer_later: %s",
                                        clock ? "the delay is NaN"
                                              : "the clock is NULL"),
                      file, line, func);
  later *l = df__malloc(sizeof *l);
  if (!l) return NULL;
  *l = (later){fn, arg, NULL};
  df_deferred *d =
      df_deferred_new_owning_at(cancel_call, l, later_free, file, line, func);
  if (!d) return NULL; /* l was freed */
  if (df_deferred_add_callback(d, run_function, l) < 0) {
    df_deferred_unref(d);
    return NULL;
  }
  int rc = df_clock_call_later_owned(clock, delay, fire_with_none,
                                     df_deferred_ref(d), deferred_unref,
                                     &l->call);
  if (rc == DF_ENOMEM) {
    df_deferred_unref(d);
    return NULL;
  }
  if (rc < 0)
    df_deferred_errback_at(
        d,
        df_failure_new_at(file, line, func, &df_error_invalid_argument,
                          "df_defer_later: the %s refused the call (%s)",
                          clock->type->name, df_strerror(rc)),
        file, line, func);
  return d;
}
