/* Timeouts on deferreds: Twisted's Deferred.addTimeout
 * (deferred/timeout.h says what users see).
 *
 * Twisted schedules timeItOut() on the clock and adds two stages,
 * convertCancelled (the onTimeoutCancel translation, if the timer fired)
 * and cancelTimeout (stop the timer). Here one stage does both, in that
 * order, so that adding it is one step that either happens or fails: the
 * outcome is the same, for no stage can come between the two.
 *
 * Who holds what:
 *
 *        d ---- stage (owns a reference) ----> timeout
 *        ^                                     |  ^
 *        |  reference, while the               |  | owned argument,
 *        |  timer is pending                   |  | while pending
 *        +--------------- timeout.d <----------+  |
 *                         timeout.timer ---> delayed call
 *
 * The timer's reference to `d` is what keeps a released, timed deferred
 * alive until its deadline, as Twisted's reactor does. It goes when the
 * timer stops being pending (it ran, the stage cancelled it, or the clock
 * discarded it), so no cycle outlives the timer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct timeout {
  df_deferred *d;         /* a reference, while the timer is pending */
  df_delayed_call *timer; /* our handle on it                         */
  df_timeout_fn on_timeout;
  void *arg;
  double seconds;
  df_site site; /* where add_timeout was called */
  unsigned refs; /* the stage's and the timer's  */
  bool timed_out; /* Twisted's timedOut[0]        */
} timeout;

static void timeout_unref(void *arg) {
  timeout *t = arg;
  if (--t->refs > 0) return;
  df_delayed_call_unref(t->timer);
  df__free(t);
}

/* --- TimeoutError's text ---------------------------------------------------- */

/* Python's repr() of a float: the fewest significant digits that read
 * back as `x`, in fixed notation from 1e-4 up to below 1e16 (with ".0"
 * for a whole number) and in exponent notation ("1e+16", "1e-05")
 * outside, as Python writes it. */
enum { FLOAT_REPR_SIZE = 40 }; /* "-1.2345678901234567e-308" and room */

static void python_float_repr(double x, char out[FLOAT_REPR_SIZE]) {
  if (isnan(x)) {
    strcpy(out, "nan");
    return;
  }
  if (isinf(x)) {
    strcpy(out, x < 0 ? "-inf" : "inf");
    return;
  }
  char sci[40];
  for (int precision = 0; precision <= 16; precision++) {
    snprintf(sci, sizeof sci, "%.*e", precision, x);
    if (strtod(sci, NULL) == x) break;
  }
  /* sci is "[-]d[.ddd]e[+-]XX": split it into sign, digits, exponent. */
  const char *p = sci;
  bool negative = *p == '-';
  if (negative) p++;
  char digits[24];
  size_t n = 0;
  for (; *p != 'e'; p++)
    if (*p != '.') digits[n++] = *p;
  digits[n] = '\0';
  int exponent = atoi(p + 1);
  size_t len = 0;
  if (negative) out[len++] = '-';
  if (exponent < -4 || exponent >= 16) {
    out[len++] = digits[0];
    if (n > 1) {
      out[len++] = '.';
      memcpy(out + len, digits + 1, n - 1);
      len += n - 1;
    }
    len += (size_t)snprintf(out + len, FLOAT_REPR_SIZE - len, "e%c%02d",
                            exponent < 0 ? '-' : '+', abs(exponent));
  } else if (exponent < 0) { /* 0.000ddd */
    out[len++] = '0';
    out[len++] = '.';
    for (int i = -1; i > exponent; i--) out[len++] = '0';
    memcpy(out + len, digits, n);
    len += n;
  } else { /* ddd.ddd, ddd000.0 */
    size_t whole = (size_t)exponent + 1;
    for (size_t i = 0; i < whole; i++) out[len++] = i < n ? digits[i] : '0';
    out[len++] = '.';
    if (n > whole) {
      memcpy(out + len, digits + whole, n - whole);
      len += n - whole;
    } else {
      out[len++] = '0';
    }
  }
  out[len] = '\0';
}

/* Twisted's _cancelledToTimedOutError, raising at `site`. */
static df_result cancelled_to_timeout(df_result result, double seconds,
                                      df_site site) {
  if (!df_result_is_failure(result) ||
      !df_failure_check(result.u.failure, &df_error_cancelled))
    return result; /* value.trap(CancelledError) lets these through */
  df_result_drop(result);
  char text[FLOAT_REPR_SIZE];
  python_float_repr(seconds, text);
  /* str(TimeoutError(timeout, "Deferred")) is the tuple's repr */
  return df_failed(df_failure_new_at(site.file, site.line, site.func,
                                     &df_error_timeout, "(%s, 'Deferred')",
                                     text));
}

df_result df_cancelled_to_timeout(df_result result, double timeout,
                                  void *arg) {
  (void)arg;
  df_site here = {__FILE__, __func__, __LINE__};
  return cancelled_to_timeout(result, timeout, here);
}

/* --- the timer and the stage --------------------------------------------- */

/* Twisted's timeItOut. */
static void time_it_out(void *arg) {
  timeout *t = arg;
  t->timed_out = true;
  df_deferred_cancel_at(t->d, t->site.file, t->site.line, t->site.func);
}

/* The timer stopped being pending: it lets `d` go. */
static void timer_done(void *arg) {
  timeout *t = arg;
  df_deferred *d = t->d;
  t->d = NULL;
  df_deferred_unref(d); /* may drop the stage: `t` stays, for the timer */
  timeout_unref(t);
}

/* Twisted's convertCancelled then cancelTimeout, on both sides. */
static df_result convert_and_stop_timer(df_result result, void *arg) {
  timeout *t = arg;
  if (t->timed_out)
    result = t->on_timeout
                 ? t->on_timeout(result, t->seconds, t->arg)
                 : cancelled_to_timeout(result, t->seconds, t->site);
  if (df_delayed_call_active(t->timer)) df_delayed_call_cancel(t->timer);
  return result;
}

int df_deferred_add_timeout_at(df_deferred *d, df_clock *clock, double seconds,
                               df_timeout_fn on_timeout, void *arg,
                               const char *file, int line, const char *func) {
  if (!d || !clock || isnan(seconds)) return DF_EINVAL;
  timeout *t = df__malloc(sizeof *t);
  if (!t) return DF_ENOMEM;
  *t = (timeout){.d = df_deferred_ref(d),
                 .on_timeout = on_timeout,
                 .arg = arg,
                 .seconds = seconds,
                 .site = {file, func, line},
                 .refs = 1};
  /* The timer first, as Twisted: a deferred that has fired runs the
   * stage at once, which then stops the timer. */
  int rc = df_clock_call_later_owned(clock, seconds, time_it_out, t, timer_done,
                                     &t->timer);
  if (rc < 0) return rc; /* timer_done let `d` and `t` go */
  t->refs++;
  static const df_stage_site stage_site = {__FILE__, "addTimeout",
                                           "addTimeout", __func__, __LINE__};
  rc = df_deferred_add_owned_at(d, convert_and_stop_timer,
                                convert_and_stop_timer, t, timeout_unref,
                                &stage_site);
  if (rc < 0) /* the stage's reference was released: stop the timer */
    df_delayed_call_cancel(t->timer);
  return rc;
}
