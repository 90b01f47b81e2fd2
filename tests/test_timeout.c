/* Timeouts and defer_later (deferred/timeout.h), on the test clock.
 *
 * Ports of twisted/test/test_defer.py's DeferredAddTimeoutTests (all 18)
 * and twisted/test/test_task.py's DeferLaterTests (all 4), then what C
 * adds: TimeoutError's text as Python writes it, lifetimes (a timed or
 * delayed deferred released at once, the clock freed first), forwarding
 * to a deferred being waited on, bad arguments, and out of memory at
 * every allocation.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deferred.h"
#include "support.h"

/* --- helpers ------------------------------------------------------------- */

static df_clock *clock_;

static int setup(void **state) {
  clock_ = df_test_clock_new();
  return clock_ ? support_setup(state) : -1;
}

static int teardown(void **state) {
  df_clock_free(clock_);
  return support_teardown(state);
}

/* test_defer.py's _overrideFunc: ignores the result, returns "OVERRIDDEN". */
static df_result override(df_result result, double timeout, void *arg) {
  (void)timeout;
  (void)arg;
  df_result_drop(result);
  return df_string("OVERRIDDEN");
}

/* Logs the result ("seen:<result>") and returns the deferred in `arg`,
 * which the caller keeps (onCallback/onErrback returning innerDeferred). */
static df_result log_and_return_inner(df_result r, void *arg) {
  ev_result("seen", r);
  df_result_drop(r);
  return df_wait_on(df_deferred_ref(arg));
}

/* Logs the result and passes it on. */
static df_result log_and_pass(df_result r, void *arg) {
  (void)arg;
  ev_result("seen", r);
  return r;
}

/* Logs the result and handles it (the errback returns None). */
static df_result log_and_handle(df_result r, void *arg) {
  (void)arg;
  ev_result("seen", r);
  df_result_drop(r);
  return df_none();
}

/* Logs the failure and traps CancelledError (anything else goes on). */
static df_result log_and_trap_cancelled(df_result r, void *arg) {
  (void)arg;
  ev_result("seen", r);
  DF_TRAP(r, &df_error_cancelled);
  df_result_drop(r);
  return df_none();
}

/* "Type: message" of d's failure, or the value's description. */
static const char *result_text(df_deferred *d) {
  static char text[256];
  const df_result *r = df_deferred_result(d);
  if (!r) return "(no result)";
  if (df_result_is_failure(*r))
    df_failure_brief(r->u.failure, text, sizeof text);
  else
    df_result_describe(*r, text, sizeof text);
  return text;
}

/* Cancellers of test_defer.py: fire with a value, or fail. */
static void cancel_with_string(df_deferred *d, void *arg) {
  df_deferred_callback(d, df_string(arg));
}

static df_failure *canceller_failure; /* test_timedOutProvidedCancelFailure */
static void cancel_with_failure(df_deferred *d, void *arg) {
  (void)arg;
  df_deferred_errback(d, df_failure_ref(canceller_failure));
}

static size_t pending_calls(void) {
  return df_test_clock_get_delayed_calls(clock_, NULL, 0);
}

/* === test_defer.py: DeferredAddTimeoutTests ============================== */

/* test_defer.py: DeferredAddTimeoutTests.test_timeoutChainable */
static df_result done(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_string("done");
}

static void test_timeout_is_one_stage_of_the_chain(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_add_timeout(d, clock_, 5, NULL, NULL), 0);
  assert_int_equal(df_deferred_pending_stages(d), 1);
  df_deferred_add_callback(d, done, NULL);
  df_deferred_callback(d, df_none());
  assert_string_equal(result_text(d), "'done'");
  assert_int_equal(pending_calls(), 0); /* the timer was stopped */
  df_deferred_unref(d);
}

/* The success and failure before the timeout cases, with the default or a
 * custom translation: the stage added after sees the result, the timer
 * is stopped, and nothing cancels the deferred it returned. */
static void success_or_failure_before_timeout(bool fail, df_timeout_fn fn) {
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_add_timeout(d, clock_, 10, fn, NULL), 0);
  df_deferred *inner = df_deferred_new();
  if (fail) {
    df_deferred_add_errback(d, log_and_return_inner, inner);
    df_failure *error = df_failure_new(&df_error_invalid_argument, "fail");
    df_deferred_errback(d, df_failure_ref(error));
    assert_string_equal(events, "seen:ValueError: fail ");
    df_failure_unref(error);
  } else {
    df_deferred_add_callback(d, log_and_return_inner, inner);
    df_deferred_callback(d, df_string("results"));
    assert_string_equal(events, "seen:'results' ");
  }
  assert_int_equal(pending_calls(), 0);
  df_test_clock_advance(clock_, 15);
  assert_false(df_deferred_called(inner));
  df_deferred_unref(d);
  df_deferred_unref(inner);
}

/* test_defer.py: DeferredAddTimeoutTests.test_successResultBeforeTimeout */
static void test_success_before_timeout_stops_the_timer(void **state) {
  (void)state;
  success_or_failure_before_timeout(false, NULL);
}

/* test_defer.py: DeferredAddTimeoutTests.test_successResultBeforeTimeoutCustom */
static void test_success_before_custom_timeout_stops_the_timer(void **state) {
  (void)state;
  success_or_failure_before_timeout(false, override);
}

/* test_defer.py: DeferredAddTimeoutTests.test_failureBeforeTimeout */
static void test_failure_before_timeout_stops_the_timer(void **state) {
  (void)state;
  success_or_failure_before_timeout(true, NULL);
}

/* test_defer.py: DeferredAddTimeoutTests.test_failureBeforeTimeoutCustom */
static void test_failure_before_custom_timeout_stops_the_timer(void **state) {
  (void)state;
  success_or_failure_before_timeout(true, override);
}

/* The errback of test_failureBeforeTimeout gets the failure itself. */
static df_failure *seen_failure;
static df_result keep_failure(df_result r, void *arg) {
  (void)arg;
  seen_failure = r.u.failure;
  df_result_drop(r);
  return df_none();
}

static void test_failure_before_timeout_is_the_same_failure(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_timeout(d, clock_, 10, NULL, NULL);
  df_deferred_add_errback(d, keep_failure, NULL);
  df_failure *error = df_failure_new(&df_error_invalid_argument, "fail");
  seen_failure = NULL;
  df_deferred_errback(d, error);
  assert_ptr_equal(seen_failure, error);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredAddTimeoutTests.test_timedOut */
static void test_timed_out_deferred_fails_with_timeout_error(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_timeout(d, clock_, 10, NULL, NULL);
  assert_false(df_deferred_called(d));
  df_test_clock_advance(clock_, 15);
  assert_string_equal(result_text(d), "TimeoutError: (10.0, 'Deferred')");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredAddTimeoutTests.test_timedOutCustom */
static void test_timed_out_with_custom_function_gets_its_result(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_timeout(d, clock_, 10, override, NULL);
  assert_false(df_deferred_called(d));
  df_test_clock_advance(clock_, 15);
  assert_string_equal(result_text(d), "'OVERRIDDEN'");
  df_deferred_unref(d);
}

/* test_defer.py: DeferredAddTimeoutTests.test_timedOutProvidedCancelSuccess */
static void test_timed_out_canceller_success_is_the_result(void **state) {
  (void)state;
  df_deferred *d =
      df_deferred_new_with_canceller(cancel_with_string, "I was cancelled!");
  df_deferred_add_timeout(d, clock_, 10, NULL, NULL);
  assert_false(df_deferred_called(d));
  df_test_clock_advance(clock_, 15);
  assert_string_equal(result_text(d), "'I was cancelled!'");
  df_deferred_unref(d);
}

/* test_defer.py: DeferredAddTimeoutTests.test_timedOutProvidedCancelFailure */
static void test_timed_out_canceller_failure_is_the_result(void **state) {
  (void)state;
  canceller_failure = df_failure_new(&df_error_invalid_argument, "what!");
  df_deferred *d = df_deferred_new_with_canceller(cancel_with_failure, NULL);
  df_deferred_add_timeout(d, clock_, 10, NULL, NULL);
  assert_false(df_deferred_called(d));
  df_test_clock_advance(clock_, 15);
  const df_result *r = df_deferred_result(d);
  assert_non_null(r);
  assert_true(df_result_is_failure(*r));
  assert_ptr_equal(r->u.failure, canceller_failure);
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
  df_failure_unref(canceller_failure);
}

/* Cancelled by hand before the timeout: the CancelledError stays, the
 * translation never runs, and the deferred returned is not cancelled
 * later. */
static void cancel_before_timeout(df_timeout_fn fn) {
  df_deferred *d = df_deferred_new();
  df_deferred_add_timeout(d, clock_, 10, fn, NULL);
  df_deferred *inner = df_deferred_new();
  df_deferred_add_errback(d, log_and_return_inner, inner);
  df_deferred_cancel(d);
  assert_string_equal(events, "seen:CancelledError:  ");
  assert_int_equal(pending_calls(), 0);
  df_test_clock_advance(clock_, 15);
  assert_false(df_deferred_called(inner));
  df_deferred_unref(d);
  df_deferred_unref(inner);
}

/* test_defer.py: DeferredAddTimeoutTests.test_cancelBeforeTimeout */
static void test_cancel_before_timeout_keeps_cancelled_error(void **state) {
  (void)state;
  cancel_before_timeout(NULL);
}

/* test_defer.py: DeferredAddTimeoutTests.test_cancelBeforeTimeoutCustom */
static void test_cancel_before_custom_timeout_keeps_cancelled_error(void **state) {
  (void)state;
  cancel_before_timeout(override);
}

/* test_defer.py: DeferredAddTimeoutTests.test_providedCancelCalledBeforeTimeoutCustom */
static void test_custom_function_overrides_canceller_failure(void **state) {
  (void)state;
  canceller_failure = df_failure_new(&df_error_invalid_argument, "what!");
  df_deferred *d = df_deferred_new_with_canceller(cancel_with_failure, NULL);
  df_deferred_add_timeout(d, clock_, 10, override, NULL);
  assert_false(df_deferred_called(d));
  df_test_clock_advance(clock_, 15);
  assert_string_equal(result_text(d), "'OVERRIDDEN'");
  df_deferred_unref(d);
  df_failure_unref(canceller_failure);
}

/* An errback added before the timeout sees the CancelledError; what it
 * returns is what the translation gets. */
static void errback_before_timeout(df_callback_fn errback, df_timeout_fn fn,
                                   const char *expected) {
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, errback, NULL);
  df_deferred_add_timeout(d, clock_, 10, fn, NULL);
  df_test_clock_advance(clock_, 15);
  assert_string_equal(events, "seen:CancelledError:  ");
  assert_string_equal(result_text(d), expected);
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredAddTimeoutTests.test_errbackAddedBeforeTimeout */
static void test_errback_before_timeout_sees_cancelled_error(void **state) {
  (void)state;
  errback_before_timeout(log_and_pass, NULL, "TimeoutError: (10.0, 'Deferred')");
}

/* test_defer.py: DeferredAddTimeoutTests.test_errbackAddedBeforeTimeoutSuppressesCancellation */
static void test_errback_before_timeout_can_suppress_it(void **state) {
  (void)state;
  errback_before_timeout(log_and_trap_cancelled, NULL, "None");
}

/* test_defer.py: DeferredAddTimeoutTests.test_errbackAddedBeforeTimeoutCustom */
static void test_errback_before_custom_timeout_sees_cancelled_error(void **state) {
  (void)state;
  errback_before_timeout(log_and_pass, override, "'OVERRIDDEN'");
}

/* test_defer.py: DeferredAddTimeoutTests.test_errbackAddedBeforeTimeoutSuppressesCancellationCustom */
static void test_custom_timeout_runs_after_suppressing_errback(void **state) {
  (void)state;
  errback_before_timeout(log_and_handle, override, "'OVERRIDDEN'");
}

/* A canceller that resumes the chain: the callback added before the
 * timeout sees its value. */
static void callback_before_timeout(df_timeout_fn fn, const char *expected) {
  df_deferred *d = df_deferred_new_with_canceller(cancel_with_string, "success");
  df_deferred_add_callback(d, log_and_pass, NULL);
  df_deferred_add_timeout(d, clock_, 10, fn, NULL);
  df_test_clock_advance(clock_, 15);
  assert_string_equal(events, "seen:'success' ");
  assert_string_equal(result_text(d), expected);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredAddTimeoutTests.test_callbackAddedToCancelerBeforeTimeout */
static void test_canceller_success_reaches_callback_before_timeout(void **state) {
  (void)state;
  callback_before_timeout(NULL, "'success'");
}

/* test_defer.py: DeferredAddTimeoutTests.test_callbackAddedToCancelerBeforeTimeoutCustom */
static void test_custom_timeout_runs_after_canceller_success(void **state) {
  (void)state;
  callback_before_timeout(override, "'OVERRIDDEN'");
}

/* === timeouts, beyond Twisted's tests ====================================== */

/* str(TimeoutError(t, "Deferred")) for floats written as Python does. */
static void test_timeout_error_text_is_python_float_repr(void **state) {
  (void)state;
  static const struct {
    double t;
    const char *text;
  } cases[] = {
      {10, "(10.0, 'Deferred')"},     {0.5, "(0.5, 'Deferred')"},
      {0.1, "(0.1, 'Deferred')"},     {123.456, "(123.456, 'Deferred')"},
      {1e16, "(1e+16, 'Deferred')"},  {1e15, "(1000000000000000.0, 'Deferred')"},
      {1e-05, "(1e-05, 'Deferred')"}, {0.0001, "(0.0001, 'Deferred')"},
      {-2.5, "(-2.5, 'Deferred')"},   {0, "(0.0, 'Deferred')"},
      {1.0 / 3, "(0.3333333333333333, 'Deferred')"},
      {2.5e-7, "(2.5e-07, 'Deferred')"},
      {1.2345678901234568e+17, "(1.2345678901234568e+17, 'Deferred')"},
      {INFINITY, "(inf, 'Deferred')"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    df_result r = df_cancelled_to_timeout(
        df_failed(df_failure_new(&df_error_cancelled, "x")), cases[i].t, NULL);
    assert_true(df_result_is_failure(r));
    assert_ptr_equal(df_failure_type(r.u.failure), &df_error_timeout);
    assert_string_equal(df_failure_message(r.u.failure), cases[i].text);
    df_result_drop(r);
  }
  /* values and other failures go through unchanged */
  df_result v = df_cancelled_to_timeout(df_int(3), 1, NULL);
  assert_int_equal(v.kind, DF_INT);
  df_failure *other = df_failure_new(&generic_error, "no");
  df_result f = df_cancelled_to_timeout(df_failed(other), 1, NULL);
  assert_ptr_equal(f.u.failure, other);
  df_result_drop(f);
}

/* The timeout covers what the deferred waits on: the deferred a stage
 * before it returned is cancelled (rule C3), and its CancelledError
 * becomes the TimeoutError. */
static void test_timeout_cancels_the_deferred_being_waited_on(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred *inner = df_deferred_new();
  df_deferred_add_callback(d, return_deferred, inner);
  df_deferred_add_timeout(d, clock_, 2, NULL, NULL);
  df_deferred_callback(d, df_none());
  assert_int_equal(pending_calls(), 1); /* waiting: the timer runs on */
  df_test_clock_advance(clock_, 2);
  assert_true(df_deferred_called(inner));
  assert_string_equal(result_text(d), "TimeoutError: (2.0, 'Deferred')");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
  df_deferred_unref(inner);
}

/* A custom function returning a deferred: the chain waits for it. */
static df_result wait_for_arg(df_result result, double timeout, void *arg) {
  ev("timeout:%g", timeout);
  df_result_drop(result);
  return df_wait_on(df_deferred_ref(arg));
}

static void test_custom_function_may_return_a_deferred(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred *later = df_deferred_new();
  df_deferred_add_timeout(d, clock_, 1.5, wait_for_arg, later);
  df_test_clock_advance(clock_, 2);
  assert_string_equal(events, "timeout:1.5 ");
  assert_non_null(df_deferred_waiting_on(d));
  df_deferred_callback(later, df_int(7));
  assert_string_equal(result_text(d), "7");
  df_deferred_unref(d);
  df_deferred_unref(later);
}

/* A timed deferred released at once still times out at its deadline, and
 * its unhandled TimeoutError is reported then. */
static void test_released_deferred_times_out_and_is_reported(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_timeout(d, clock_, 3, NULL, NULL);
  df_deferred_unref(d);
  df_test_clock_advance(clock_, 2);
  assert_int_equal(reports, 0);
  df_test_clock_advance(clock_, 1);
  assert_int_equal(reports, 1);
  assert_int_equal(pending_calls(), 0);
}

/* The clock freed before the deadline: the deferred never times out; a
 * released one goes with the clock's call, unfired and unreported. */
static void test_clock_freed_before_the_deadline(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_deferred *kept = df_deferred_new();
  df_deferred *dropped = df_deferred_new();
  df_deferred_add_timeout(kept, c, 3, NULL, NULL);
  df_deferred_add_timeout(dropped, c, 3, NULL, NULL);
  df_deferred_unref(dropped);
  df_clock_free(c);
  assert_false(df_deferred_called(kept));
  df_deferred_callback(kept, df_int(1)); /* the stage finds no timer */
  assert_string_equal(result_text(kept), "1");
  df_deferred_unref(kept);
  assert_int_equal(reports, 0);
}

/* A deferred that has fired: the stage runs at once, the timer is
 * cancelled before add_timeout returns. Two timeouts on one deferred: the
 * earlier decides. */
static void test_timeout_on_fired_deferred_and_two_timeouts(void **state) {
  (void)state;
  df_deferred *fired = df_succeed(df_int(5));
  assert_int_equal(df_deferred_add_timeout(fired, clock_, 1, NULL, NULL), 0);
  assert_int_equal(pending_calls(), 0);
  assert_string_equal(result_text(fired), "5");
  df_deferred_unref(fired);

  df_deferred *d = df_deferred_new();
  df_deferred_add_timeout(d, clock_, 2, NULL, NULL);
  df_deferred_add_timeout(d, clock_, 1, override, NULL);
  df_test_clock_advance(clock_, 1);
  /* the first timeout saw a CancelledError, not its own: it passed it on,
   * the second (which timed out) overrode it */
  assert_string_equal(result_text(d), "'OVERRIDDEN'");
  assert_int_equal(pending_calls(), 0);
  df_deferred_unref(d);
}

static void test_add_timeout_bad_arguments(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_add_timeout(NULL, clock_, 1, NULL, NULL), DF_EINVAL);
  assert_int_equal(df_deferred_add_timeout(d, NULL, 1, NULL, NULL), DF_EINVAL);
  assert_int_equal(df_deferred_add_timeout(d, clock_, NAN, NULL, NULL), DF_EINVAL);
  assert_int_equal(df_deferred_pending_stages(d), 0);
  assert_int_equal(pending_calls(), 0);
  df_deferred_unref(d);
}

/* The cancel and the TimeoutError carry the add_timeout caller's site. */
static void test_timeout_error_carries_the_callers_site(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_timeout(d, clock_, 1, NULL, NULL);
  df_test_clock_advance(clock_, 1);
  const df_result *r = df_deferred_result(d);
  assert_non_null(r);
  df_site site = df_failure_site(r->u.failure);
  assert_string_equal(site.func, "test_timeout_error_carries_the_callers_site");
  assert_traceback_contains(r->u.failure, "tests/test_timeout.c");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
}

/* A timed deferred waiting on another, before and after its deadline,
 * then the deferred, the one it waits on and the clock let go in every
 * order: nothing leaks (valgrind and ASan), and the TimeoutError, when
 * there is one, is reported once. */
static void test_timed_deferred_dropped_in_every_order(void **state) {
  (void)state;
  static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int timed_out = 0; timed_out < 2; timed_out++)
    for (int o = 0; o < 6; o++) {
      reports = 0;
      df_clock *c = df_test_clock_new();
      df_deferred *d = df_deferred_new(), *inner = df_deferred_new();
      df_deferred_add_callback(d, return_deferred, inner);
      df_deferred_add_timeout(d, c, 1, NULL, NULL);
      df_deferred_callback(d, df_none());
      if (timed_out) df_test_clock_advance(c, 1);
      for (int k = 0; k < 3; k++) {
        if (orders[o][k] == 0) df_deferred_unref(d);
        if (orders[o][k] == 1) df_deferred_unref(inner);
        if (orders[o][k] == 2) df_clock_free(c);
      }
      assert_int_equal(reports, timed_out);
    }
}

/* === test_task.py: DeferLaterTests ======================================== */

/* test_task.py: DeferLaterTests.test_callback */
static int flag;
static df_result record_call(void *arg) {
  ev("called:%s", (const char *)arg);
  return df_pointer(&flag, NULL);
}

static void test_defer_later_fires_with_the_function_result(void **state) {
  (void)state;
  df_deferred *d = df_defer_later(clock_, 3, record_call, "foo");
  df_test_clock_advance(clock_, 2);
  assert_string_equal(events, "");
  assert_false(df_deferred_called(d));
  df_test_clock_advance(clock_, 1);
  assert_string_equal(events, "called:foo ");
  const df_result *r = df_deferred_result(d);
  assert_non_null(r);
  assert_ptr_equal(r->u.p, &flag);
  df_deferred_unref(d);
}

/* test_task.py: DeferLaterTests.test_errback */
static df_result raise_test_exception(void *arg) {
  (void)arg;
  return df_raise(&generic_error, "TestException");
}

static void test_defer_later_fails_with_the_function_failure(void **state) {
  (void)state;
  df_deferred *d = df_defer_later(clock_, 1, raise_test_exception, NULL);
  df_test_clock_advance(clock_, 1);
  assert_string_equal(result_text(d), "GenericError: TestException");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
}

/* test_task.py: DeferLaterTests.test_cancel */
static void test_cancelled_defer_later_never_calls(void **state) {
  (void)state;
  df_deferred *d = df_defer_later(clock_, 1, record_call, "x");
  df_deferred_cancel(d);
  assert_string_equal(result_text(d), "CancelledError: ");
  assert_int_equal(pending_calls(), 0);
  df_test_clock_advance(clock_, 5);
  assert_string_equal(events, "");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
}

/* test_task.py: DeferLaterTests.test_noCallback */
static void test_defer_later_without_function_fires_none(void **state) {
  (void)state;
  df_deferred *d = df_defer_later(clock_, 2.0, NULL, NULL);
  assert_false(df_deferred_called(d));
  df_test_clock_advance(clock_, 2.0);
  assert_string_equal(result_text(d), "None");
  df_deferred_unref(d);
}

/* === defer_later, beyond Twisted's tests =================================== */

/* The function returns a deferred: the result waits for it, and a cancel
 * then goes to it. */
static df_result return_arg(void *arg) {
  return df_wait_on(df_deferred_ref(arg));
}

static void test_defer_later_waits_on_a_returned_deferred(void **state) {
  (void)state;
  df_deferred *inner = df_deferred_new();
  df_deferred *d = df_defer_later(clock_, 1, return_arg, inner);
  df_test_clock_advance(clock_, 1);
  assert_ptr_equal(df_deferred_waiting_on(d), inner);
  df_deferred_cancel(d);
  assert_true(df_deferred_called(inner));
  assert_string_equal(result_text(d), "CancelledError: ");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
  df_deferred_add_errback(inner, handle, NULL);
  df_deferred_unref(inner);
}

/* Released at once: it still fires (a failure is then reported); with
 * the clock freed first it goes unfired, the function never called. */
static void test_released_defer_later_still_fires(void **state) {
  (void)state;
  df_deferred_unref(df_defer_later(clock_, 1, raise_test_exception, NULL));
  df_deferred_unref(df_defer_later(clock_, 1, record_call, "ok"));
  df_test_clock_advance(clock_, 1);
  assert_string_equal(events, "called:ok ");
  assert_int_equal(reports, 1);
  df_clock *c = df_test_clock_new();
  df_deferred_unref(df_defer_later(c, 1, record_call, "never"));
  df_deferred *kept = df_defer_later(c, 1, record_call, "never");
  df_clock_free(c);
  assert_false(df_deferred_called(kept));
  df_deferred_unref(kept);
  assert_string_equal(events, "called:ok ");
  assert_int_equal(reports, 1);
}

/* defer_later whose function returned a deferred, let go in every order
 * with that deferred and the clock, before and after the delay. */
static void test_defer_later_dropped_in_every_order(void **state) {
  (void)state;
  static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (int ran = 0; ran < 2; ran++)
    for (int o = 0; o < 6; o++) {
      df_clock *c = df_test_clock_new();
      df_deferred *inner = df_deferred_new();
      df_deferred *d = df_defer_later(c, 1, return_arg, inner);
      if (ran) df_test_clock_advance(c, 1);
      assert_true(df_deferred_waiting_on(d) == (ran ? inner : NULL));
      for (int k = 0; k < 3; k++) {
        if (orders[o][k] == 0) df_deferred_unref(d);
        if (orders[o][k] == 1) df_deferred_unref(inner);
        if (orders[o][k] == 2) df_clock_free(c);
      }
    }
  assert_int_equal(reports, 0);
}

/* Callbacks added to the deferred run after the function, in order. */
static df_result log_value(df_result r, void *arg) {
  ev_result(arg, r);
  return r;
}

static void test_defer_later_callbacks_see_the_function_result(void **state) {
  (void)state;
  df_deferred *d = df_defer_later(clock_, 0, record_call, "f");
  df_deferred_add_callback(d, log_value, "cb");
  assert_int_equal(df_deferred_pending_stages(d), 2);
  df_test_clock_advance(clock_, 0);
  assert_true(strncmp(events, "called:f cb:<pointer", 20) == 0);
  df_deferred_unref(d);
}

static void test_defer_later_bad_arguments(void **state) {
  (void)state;
  df_deferred *d = df_defer_later(NULL, 1, NULL, NULL);
  assert_string_equal(result_text(d), "ValueError: df_defer_later: the clock is NULL");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
  d = df_defer_later(clock_, NAN, NULL, NULL);
  assert_string_equal(result_text(d), "ValueError: df_defer_later: the delay is NaN");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
  assert_int_equal(pending_calls(), 0);
}

/* A test clock being freed (from inside one of its calls) refuses the
 * call: the deferred fails with ValueError, naming the clock. */
static df_deferred *refused;
static void free_then_defer(void *arg) {
  df_clock_free(arg);
  refused = df_defer_later(arg, 1, NULL, NULL);
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_add_timeout(d, arg, 1, NULL, NULL), DF_EINVAL);
  assert_int_equal(df_deferred_pending_stages(d), 0);
  df_deferred_unref(d);
}

static void test_defer_later_on_a_clock_being_freed(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_clock_call_later(c, 0, free_then_defer, c, NULL);
  df_test_clock_advance(c, 0);
  assert_string_equal(result_text(refused),
                      "ValueError: df_defer_later: the test clock refused the "
                      "call (invalid argument)");
  df_deferred_add_errback(refused, handle, NULL);
  df_deferred_unref(refused);
}

/* === out of memory ========================================================== */

/* A timeout that fires, one stopped by a success, one on a released
 * deferred, a defer_later that runs, one cancelled, one released; on the
 * clock made first. Returns what the timed out deferred ended with (1 for
 * a TimeoutError, 0 if it could not be set up), and checks that nothing
 * leaks whatever failed (valgrind and ASan see to that). */
static int64_t oom_scenario(void) {
  df_clock *c = df_test_clock_new();
  if (!c) return 0;
  int64_t outcome = 0;
  df_deferred *t = df_deferred_new();
  df_deferred *s = df_deferred_new();
  df_deferred *r = df_deferred_new();
  int rc_t = t ? df_deferred_add_timeout(t, c, 1, NULL, NULL) : DF_ENOMEM;
  if (s) df_deferred_add_timeout(s, c, 1, NULL, NULL);
  if (r) df_deferred_add_timeout(r, c, 1, override, NULL);
  df_deferred_unref(r);
  df_deferred *later = df_defer_later(c, 0.5, record_call, "x");
  df_deferred *cancelled = df_defer_later(c, 0.5, record_call, "y");
  df_deferred_unref(df_defer_later(c, 0.5, NULL, NULL));
  if (s) df_deferred_callback(s, df_int(1));
  if (cancelled) df_deferred_cancel(cancelled);
  df_test_clock_advance(c, 2);
  if (t && rc_t == 0) {
    const df_result *res = df_deferred_result(t);
    assert_non_null(res);
    if (df_result_is_failure(*res) &&
        df_failure_check(res->u.failure, &df_error_timeout))
      outcome = 1;
    else if (df_result_is_failure(*res))
      assert_true(df_failure_check(res->u.failure, &df_error_no_memory));
    df_deferred_add_errback(t, handle, NULL);
  }
  if (cancelled) df_deferred_add_errback(cancelled, handle, NULL);
  if (later) df_deferred_add_errback(later, handle, NULL);
  df_deferred_unref(t);
  df_deferred_unref(s);
  df_deferred_unref(later);
  df_deferred_unref(cancelled);
  df_clock_free(c);
  return outcome;
}

static void check_oom(int64_t outcome, bool failed) {
  if (!failed) assert_int_equal(outcome, 1);
}

static void test_every_allocation_failure_is_handled(void **state) {
  (void)state;
  assert_int_equal(oom_scenario(), 1);
  events[0] = '\0';
  long points = support_fail_each_allocation(oom_scenario, check_oom, 1000);
  assert_true(points > 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      /* test_defer.py: DeferredAddTimeoutTests */
      T(test_timeout_is_one_stage_of_the_chain),
      T(test_success_before_timeout_stops_the_timer),
      T(test_success_before_custom_timeout_stops_the_timer),
      T(test_failure_before_timeout_stops_the_timer),
      T(test_failure_before_custom_timeout_stops_the_timer),
      T(test_failure_before_timeout_is_the_same_failure),
      T(test_timed_out_deferred_fails_with_timeout_error),
      T(test_timed_out_with_custom_function_gets_its_result),
      T(test_timed_out_canceller_success_is_the_result),
      T(test_timed_out_canceller_failure_is_the_result),
      T(test_cancel_before_timeout_keeps_cancelled_error),
      T(test_cancel_before_custom_timeout_keeps_cancelled_error),
      T(test_custom_function_overrides_canceller_failure),
      T(test_errback_before_timeout_sees_cancelled_error),
      T(test_errback_before_timeout_can_suppress_it),
      T(test_errback_before_custom_timeout_sees_cancelled_error),
      T(test_custom_timeout_runs_after_suppressing_errback),
      T(test_canceller_success_reaches_callback_before_timeout),
      T(test_custom_timeout_runs_after_canceller_success),
      /* timeouts, beyond */
      T(test_timeout_error_text_is_python_float_repr),
      T(test_timeout_cancels_the_deferred_being_waited_on),
      T(test_custom_function_may_return_a_deferred),
      T(test_released_deferred_times_out_and_is_reported),
      T(test_clock_freed_before_the_deadline),
      T(test_timeout_on_fired_deferred_and_two_timeouts),
      T(test_add_timeout_bad_arguments),
      T(test_timeout_error_carries_the_callers_site),
      T(test_timed_deferred_dropped_in_every_order),
      /* test_task.py: DeferLaterTests */
      T(test_defer_later_fires_with_the_function_result),
      T(test_defer_later_fails_with_the_function_failure),
      T(test_cancelled_defer_later_never_calls),
      T(test_defer_later_without_function_fires_none),
      /* defer_later, beyond */
      T(test_defer_later_waits_on_a_returned_deferred),
      T(test_released_defer_later_still_fires),
      T(test_defer_later_dropped_in_every_order),
      T(test_defer_later_callbacks_see_the_function_result),
      T(test_defer_later_bad_arguments),
      T(test_defer_later_on_a_clock_being_freed),
      /* out of memory */
      T(test_every_allocation_failure_is_handled),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
