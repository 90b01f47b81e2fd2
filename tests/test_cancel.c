/* Cancellation: df_deferred_cancel and cancellers (rules C1-C5, 24).
 *
 * Ports of all 14 tests of twisted/test/test_defer.py
 * DeferredCancellerTests; AlreadyCalledError raised by a later fire becomes
 * the DF_EALREADY_CALLED return code. The teardown checks, as Twisted's
 * does, that no canceller ran more than once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deferred.h"
#include "support.h"

/* Twisted's callbackResults / errbackResults / cancellerCallCount. */
static int callback_calls;
static df_result callback_result;
static int errback_calls;
static df_failure *errback_result; /* a reference we hold */
static int canceller_calls;

static int setup(void **state) {
  (void)state;
  callback_calls = errback_calls = canceller_calls = 0;
  callback_result = df_none();
  errback_result = NULL;
  return support_setup(state);
}

static int teardown(void **state) {
  (void)state;
  df_failure_unref(errback_result);
  errback_result = NULL;
  support_teardown(state);
  /* Sanity check that the canceller was called at most once. */
  return canceller_calls > 1 ? -1 : 0;
}

static df_result on_callback(df_result r, void *arg) {
  (void)arg;
  callback_calls++;
  callback_result = r; /* only non-owning values are used here */
  return r;
}

static df_result on_errback(df_result r, void *arg) {
  (void)arg;
  errback_calls++;
  df_failure_unref(errback_result);
  errback_result = df_failure_ref(r.u.failure);
  df_result_drop(r);
  return df_none();
}

static const df_error_type *errback_type(void) {
  return errback_result ? df_failure_type(errback_result) : NULL;
}

static void count_canceller(df_deferred *d, void *arg) {
  (void)d;
  (void)arg;
  canceller_calls++;
}

static void canceller_that_errbacks(df_deferred *d, void *arg) {
  (void)arg;
  canceller_calls++;
  df_deferred_errback(d, df_failure_new(&generic_error, "from canceller"));
}

static void canceller_that_callbacks(df_deferred *d, void *arg) {
  (void)arg;
  canceller_calls++;
  df_deferred_callback(d, df_string("hello!"));
}

/* test_defer.py: DeferredCancellerTests.test_noCanceller */
static void test_cancel_without_canceller_errbacks_cancelled_error(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  assert_int_equal(df_deferred_cancel(d), 0);
  assert_int_equal(errback_calls, 1);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  assert_int_equal(callback_calls, 0);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_raisesAfterCancelAndCallback */
static void test_one_callback_after_cancel_is_swallowed_then_refused(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  /* A single extra callback is swallowed (rule 24) ... */
  assert_int_equal(df_deferred_callback(d, df_none()), 0);
  /* ... but a second call to callback or errback is not. */
  assert_int_equal(df_deferred_callback(d, df_none()), DF_EALREADY_CALLED);
  assert_int_equal(df_deferred_errback(d, df_failure_new(NULL, "x")),
                   DF_EALREADY_CALLED);
  assert_int_equal(callback_calls, 0);
  assert_int_equal(errback_calls, 1);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_raisesAfterCancelAndErrback */
static void test_one_errback_after_cancel_is_swallowed_then_refused(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  assert_int_equal(df_deferred_errback(d, df_failure_new(NULL, "x")), 0);
  assert_int_equal(df_deferred_callback(d, df_none()), DF_EALREADY_CALLED);
  assert_int_equal(df_deferred_errback(d, df_failure_new(NULL, "x")),
                   DF_EALREADY_CALLED);
  assert_int_equal(errback_calls, 1);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  df_deferred_unref(d);
}

/* test_defer.py:
 * DeferredCancellerTests.test_noCancellerMultipleCancelsAfterCancelAndCallback */
static void test_cancels_after_cancel_and_swallowed_callback_do_nothing(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  df_failure *current = errback_result;
  df_deferred_callback(d, df_none()); /* ignored */
  df_deferred_cancel(d);              /* no effect */
  assert_ptr_equal(errback_result, current);
  assert_int_equal(errback_calls, 1);
  df_deferred_unref(d);
}

/* test_defer.py:
 * DeferredCancellerTests.test_noCancellerMultipleCancelsAfterCancelAndErrback */
static void test_cancels_after_cancel_and_swallowed_errback_do_nothing(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  df_failure *current = errback_result;
  df_deferred_errback(d, df_failure_new(&generic_error, "ignored"));
  assert_ptr_equal(errback_type(), &df_error_cancelled); /* still */
  df_deferred_cancel(d);
  assert_ptr_equal(errback_result, current);
  assert_int_equal(errback_calls, 1);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_noCancellerMultipleCancel */
static void test_repeated_cancel_without_canceller_fails_once(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  df_failure *current = errback_result;
  assert_int_equal(df_deferred_cancel(d), 0);
  assert_ptr_equal(errback_result, current);
  assert_int_equal(errback_calls, 1);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_cancellerMultipleCancel */
static void test_repeated_cancel_calls_canceller_once(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new_with_canceller(count_canceller, NULL);
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  df_failure *current = errback_result;
  df_deferred_cancel(d);
  assert_ptr_equal(errback_result, current);
  assert_int_equal(canceller_calls, 1);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_simpleCanceller */
static void test_canceller_runs_and_later_fires_are_not_swallowed(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new_with_canceller(count_canceller, NULL);
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  assert_int_equal(canceller_calls, 1);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  /* rule C2: with a canceller, no fire is swallowed */
  assert_int_equal(df_deferred_callback(d, df_none()), DF_EALREADY_CALLED);
  assert_int_equal(df_deferred_errback(d, df_failure_new(NULL, "x")),
                   DF_EALREADY_CALLED);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_cancellerArg */
static df_deferred *canceller_got;
static void *canceller_arg_got;
static void recording_canceller(df_deferred *d, void *arg) {
  canceller_calls++;
  canceller_got = d;
  canceller_arg_got = arg;
}

static void test_canceller_gets_the_deferred_and_its_arg(void **state) {
  (void)state;
  static int token;
  df_deferred *d = df_deferred_new_with_canceller(recording_canceller, &token);
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  assert_ptr_equal(canceller_got, d);
  assert_ptr_equal(canceller_arg_got, &token);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_cancelAfterCallback */
static void test_cancel_after_callback_does_nothing(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new_with_canceller(canceller_that_errbacks, NULL);
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_callback(d, df_string("biff!"));
  assert_int_equal(df_deferred_cancel(d), 0);
  assert_int_equal(canceller_calls, 0);
  assert_null(errback_result);
  assert_int_equal(callback_calls, 1);
  assert_string_equal(callback_result.u.s, "biff!");
  assert_string_equal(df_deferred_result(d)->u.s, "biff!");
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_cancelAfterErrback */
static void test_cancel_after_errback_does_nothing(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new_with_canceller(canceller_that_errbacks, NULL);
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_errback(d, df_failure_new(&generic_error, "first"));
  df_deferred_cancel(d);
  assert_int_equal(canceller_calls, 0);
  assert_ptr_equal(errback_type(), &generic_error);
  assert_string_equal(df_failure_message(errback_result), "first");
  assert_int_equal(callback_calls, 0);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_cancellerThatErrbacks */
static void test_canceller_that_errbacks_decides_the_failure(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new_with_canceller(canceller_that_errbacks, NULL);
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  assert_int_equal(canceller_calls, 1);
  assert_int_equal(errback_calls, 1);
  assert_ptr_equal(errback_type(), &generic_error);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredCancellerTests.test_cancellerThatCallbacks */
static void test_canceller_that_callbacks_decides_the_value(void **state) {
  (void)state;
  df_deferred *d =
      df_deferred_new_with_canceller(canceller_that_callbacks, NULL);
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(d);
  assert_int_equal(canceller_calls, 1);
  assert_int_equal(callback_calls, 1);
  assert_string_equal(callback_result.u.s, "hello!");
  assert_null(errback_result);
  df_deferred_unref(d);
}

static void must_not_be_called(df_deferred *d, void *arg) {
  (void)d;
  (void)arg;
  fail_msg("the outer canceller must not run (rule C3)");
}

/* test_defer.py: DeferredCancellerTests.test_cancelNestedDeferred */
static void test_cancel_waiting_deferred_cancels_what_it_waits_on(
    void **state) {
  (void)state;
  df_deferred *b = df_deferred_new_with_canceller(count_canceller, NULL);
  df_deferred *a = df_deferred_new_with_canceller(must_not_be_called, NULL);
  df_deferred_callback(a, df_none());
  df_deferred_add_callback(a, return_deferred, b);
  assert_ptr_equal(df_deferred_waiting_on(a), b);
  df_deferred_cancel(a);
  df_deferred_add_callbacks(a, on_callback, NULL, on_errback, NULL);
  /* the cancel count is one: the cancellation done by b */
  assert_int_equal(canceller_calls, 1);
  /* b's canceller did not fire b, so b failed with CancelledError, which
   * came back to a through the hand-off */
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  assert_null(df_deferred_waiting_on(a));
  df_deferred_unref(a);
  df_deferred_unref(b);
}

/* --- the rules beyond the Twisted tests ------------------------------------ */

/* rule C3 + 24: the inner deferred, having no canceller, swallows one real
 * fire afterwards; the next is refused. */
static void test_cancelled_inner_without_canceller_swallows_one_fire(
    void **state) {
  (void)state;
  df_deferred *b = df_deferred_new();
  df_deferred *a = df_deferred_new();
  df_deferred_add_callback(a, return_deferred, b);
  df_deferred_add_callbacks(a, on_callback, NULL, on_errback, NULL);
  df_deferred_callback(a, df_none());
  df_deferred_cancel(a);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  assert_int_equal(df_deferred_callback(b, df_int(1)), 0); /* swallowed */
  assert_int_equal(df_deferred_callback(b, df_int(2)), DF_EALREADY_CALLED);
  assert_int_equal(callback_calls, 0);
  df_deferred_unref(a);
  df_deferred_unref(b);
}

/* rule C3 walks a long waiting chain to its end without recursion. */
static void test_cancel_walks_long_waiting_chain_to_its_end(void **state) {
  (void)state;
  enum { N = 100000 };
  df_deferred *end = df_deferred_new_with_canceller(count_canceller, NULL);
  df_deferred *cur = df_deferred_ref(end);
  for (int i = 0; i < N; i++) {
    df_deferred *waiter = df_deferred_new_with_canceller(must_not_be_called,
                                                         NULL);
    df_deferred_add_callback(waiter, return_deferred, cur);
    df_deferred_callback(waiter, df_none()); /* waiter waits on cur */
    df_deferred_unref(cur);
    cur = waiter;
  }
  df_deferred *top = cur;
  df_deferred_add_callbacks(top, on_callback, NULL, on_errback, NULL);
  df_deferred_cancel(top);
  assert_int_equal(canceller_calls, 1);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  assert_null(df_deferred_waiting_on(top));
  df_deferred_unref(top);
  df_deferred_unref(end);
}

/* rule C3, lifetimes: cancelling a deferred that waits holds every deferred
 * on the waiting chain until the canceller returns, as the frames of
 * Twisted's recursive cancel() do. Here the middle one, which nothing else
 * holds, ends in a failure while the inner canceller fires: it is reported
 * once cancel() lets go of it, not inside the canceller (the differential
 * test's seed 777, program 26978). */
static int reports_inside_canceller = -1;
static void canceller_that_errbacks_and_counts(df_deferred *d, void *arg) {
  (void)arg;
  canceller_calls++;
  df_deferred_errback(d, df_failure_new(&generic_error, "from canceller"));
  reports_inside_canceller = reports;
}

static df_result raise_generic(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_raise(&generic_error, "after the hand-off");
}

static void test_cancel_holds_the_waiting_chain_until_the_canceller_returns(
    void **state) {
  (void)state;
  df_deferred *inner =
      df_deferred_new_with_canceller(canceller_that_errbacks_and_counts, NULL);
  df_deferred *middle = df_deferred_new();
  df_deferred *top = df_deferred_new();
  df_deferred_add_callback(middle, return_deferred, inner);
  df_deferred_callback(middle, df_none()); /* middle waits on inner */
  df_deferred_add_callback(top, return_deferred, middle);
  df_deferred_callback(top, df_none()); /* top waits on middle */
  /* After the hand-off to top, middle's own result becomes a failure. */
  df_deferred_add_callback(middle, raise_generic, NULL);
  df_deferred_add_errback(top, on_errback, NULL);
  df_deferred_unref(middle); /* only the waiting chain holds it now */
  df_deferred_cancel(top);
  assert_int_equal(canceller_calls, 1);
  assert_int_equal(errback_calls, 1); /* top got the canceller's failure */
  assert_int_equal(reports_inside_canceller, 0);
  assert_int_equal(reports, 1); /* middle's, once cancel() returned */
  df_deferred_unref(top);
  df_deferred_unref(inner);
  assert_int_equal(reports, 1);
}

/* rule C4: a deferred paused with a plain result is not cancelled. */
static void test_cancel_paused_deferred_with_result_does_nothing(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new_with_canceller(count_canceller, NULL);
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_pause(d);
  df_deferred_callback(d, df_int(3));
  df_deferred_cancel(d);
  assert_int_equal(canceller_calls, 0);
  df_deferred_unpause(d);
  assert_int_equal(callback_calls, 1);
  assert_int_equal(callback_result.u.i, 3);
  assert_null(errback_result);
  df_deferred_unref(d);
}

/* rule C5: cancelling a paused deferred that has not fired stores the
 * CancelledError; the errbacks run on unpause. */
static void test_cancel_paused_unfired_deferred_fails_on_unpause(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, on_callback, NULL, on_errback, NULL);
  df_deferred_pause(d);
  df_deferred_cancel(d);
  assert_true(df_deferred_called(d));
  assert_int_equal(errback_calls, 0);
  df_deferred_unpause(d);
  assert_int_equal(errback_calls, 1);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  df_deferred_unref(d);
}

/* A cancelled deferred nobody handles is an unhandled CancelledError. */
static void test_unhandled_cancelled_error_is_reported(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_cancel(d);
  assert_int_equal(reports, 0);
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
}

/* A canceller may drop the last user reference: the library holds its own
 * while cancelling. */
static df_deferred *owned;
static void canceller_that_releases(df_deferred *d, void *arg) {
  (void)arg;
  canceller_calls++;
  assert_ptr_equal(d, owned);
  df_deferred_unref(owned);
  owned = NULL;
}

static void test_canceller_may_release_last_reference(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new_with_canceller(canceller_that_releases, NULL);
  owned = d;
  df_deferred_add_errback(d, on_errback, NULL);
  df_deferred_cancel(d);
  assert_int_equal(canceller_calls, 1);
  assert_ptr_equal(errback_type(), &df_error_cancelled);
  assert_null(owned);
  assert_int_equal(reports, 0);
}

static void test_cancel_null_is_einval(void **state) {
  (void)state;
  assert_int_equal(df_deferred_cancel(NULL), DF_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_cancel_without_canceller_errbacks_cancelled_error),
      T(test_one_callback_after_cancel_is_swallowed_then_refused),
      T(test_one_errback_after_cancel_is_swallowed_then_refused),
      T(test_cancels_after_cancel_and_swallowed_callback_do_nothing),
      T(test_cancels_after_cancel_and_swallowed_errback_do_nothing),
      T(test_repeated_cancel_without_canceller_fails_once),
      T(test_repeated_cancel_calls_canceller_once),
      T(test_canceller_runs_and_later_fires_are_not_swallowed),
      T(test_canceller_gets_the_deferred_and_its_arg),
      T(test_cancel_after_callback_does_nothing),
      T(test_cancel_after_errback_does_nothing),
      T(test_canceller_that_errbacks_decides_the_failure),
      T(test_canceller_that_callbacks_decides_the_value),
      T(test_cancel_waiting_deferred_cancels_what_it_waits_on),
      T(test_cancelled_inner_without_canceller_swallows_one_fire),
      T(test_cancel_walks_long_waiting_chain_to_its_end),
      T(test_cancel_holds_the_waiting_chain_until_the_canceller_returns),
      T(test_cancel_paused_deferred_with_result_does_nothing),
      T(test_cancel_paused_unfired_deferred_fails_on_unpause),
      T(test_unhandled_cancelled_error_is_reported),
      T(test_canceller_may_release_last_reference),
      T(test_cancel_null_is_einval),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
