/* Helpers: df_succeed, df_fail, df_maybe_deferred, df_execute (Twisted's
 * succeed, fail, maybeDeferred, execute; rule 50 of docs/semantics.md).
 *
 * Includes the six maybeDeferred tests of twisted/test/test_defer.py
 * DeferredTests (group 9). Python's "function raises" is a function that
 * returns df_raise(...); extra arguments are the `arg` pointer.
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

DF_ERROR_TYPE(type_error, "TypeError", &df_error_exception);

/* Twisted's results.append / errors.append */
static df_result results_append(df_result r, void *arg) {
  (void)arg;
  char buf[128];
  df_result_describe(r, buf, sizeof buf);
  ev("result:%s", buf);
  df_result_drop(r);
  return df_none();
}

static df_failure *error_seen;
static df_result errors_append(df_result r, void *arg) {
  (void)arg;
  char buf[128];
  df_failure_brief(r.u.failure, buf, sizeof buf);
  ev("error:%s", buf);
  df_failure_unref(error_seen);
  error_seen = df_failure_ref(r.u.failure);
  df_result_drop(r);
  return df_none();
}

static int calls;

/* --- succeed and fail --------------------------------------------------------- */

static void test_succeed_gives_fired_deferred(void **state) {
  (void)state;
  df_deferred *d = df_succeed(df_int(5));
  assert_non_null(d);
  assert_true(df_deferred_called(d));
  assert_int_equal(df_deferred_paused(d), 0);
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_string_equal(events, "result:5 ");
  df_deferred_unref(d);
}

/* succeed(aFailure) gives a failed deferred, as in Twisted [v]. */
static void test_succeed_with_failure_gives_failed_deferred(void **state) {
  (void)state;
  df_deferred *d = df_succeed(df_raise(&runtime_error, "via succeed"));
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_string_equal(events, "error:RuntimeError: via succeed ");
  df_deferred_unref(d);
  df_failure_unref(error_seen);
  error_seen = NULL;
  assert_int_equal(reports, 0);
}

/* Twisted asserts; we fail the deferred with ValueError and release the
 * deferred that was passed. */
static void test_succeed_with_deferred_gives_value_error(void **state) {
  (void)state;
  df_deferred *other = df_deferred_new();
  df_deferred *d = df_succeed(df_wait_on(df_deferred_ref(other)));
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_string_equal(events, "error:ValueError: df_succeed: a deferred is "
                              "not a result ");
  assert_false(df_deferred_called(other));
  df_deferred_unref(d);
  df_deferred_unref(other); /* our reference was the last one */
  df_failure_unref(error_seen);
  error_seen = NULL;
}

static void test_fail_gives_failed_deferred_with_same_failure(void **state) {
  (void)state;
  df_failure *f = df_failure_new(&runtime_error, "failed");
  df_deferred *d = df_fail(df_failure_ref(f));
  assert_true(df_deferred_called(d));
  df_deferred_add_errback(d, errors_append, NULL);
  assert_ptr_equal(error_seen, f);
  assert_string_equal(events, "error:RuntimeError: failed ");
  df_deferred_unref(d);
  df_failure_unref(error_seen);
  error_seen = NULL;
  df_failure_unref(f);
}

static void test_fail_with_null_gives_value_error(void **state) {
  (void)state;
  df_deferred *d = df_fail(NULL);
  df_deferred_add_errback(d, errors_append, NULL);
  assert_string_equal(events, "error:ValueError: df_fail: NULL failure ");
  df_deferred_unref(d);
  df_failure_unref(error_seen);
  error_seen = NULL;
}

/* --- maybe_deferred --------------------------------------------------------------- */

static int the_result;
static df_result return_result(void *arg) {
  (void)arg;
  calls++;
  return df_pointer(&the_result, NULL);
}

/* test_defer.py: DeferredTests.test_maybeDeferredSync */
static void test_maybe_deferred_wraps_synchronous_value(void **state) {
  (void)state;
  calls = 0;
  df_deferred *d = df_maybe_deferred(return_result, NULL);
  assert_int_equal(calls, 1); /* called at once */
  const df_result *r = df_deferred_result(d);
  assert_non_null(r);
  assert_ptr_equal(r->u.p, &the_result);
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_null(strstr(events, "error:"));
  df_deferred_unref(d);
}

static df_result plus_five(void *arg) {
  const int64_t *x = arg;
  return df_int(*x + 5);
}

/* test_defer.py: DeferredTests.test_maybeDeferredSyncWithArgs */
static void test_maybe_deferred_passes_the_argument(void **state) {
  (void)state;
  int64_t ten = 10;
  df_deferred *d = df_maybe_deferred(plus_five, &ten);
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_string_equal(events, "result:15 ");
  df_deferred_unref(d);
}

static df_result plus_five_checked(void *arg) {
  const char *s = arg;
  return df_raise(&type_error, "can only concatenate str (not \"int\") to "
                               "str: '%s' + 5", s);
}

/* test_defer.py: DeferredTests.test_maybeDeferredSyncException */
static void test_maybe_deferred_turns_raised_error_into_failure(void **state) {
  (void)state;
  df_deferred *d = df_maybe_deferred(plus_five_checked, "10");
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_string_equal(events, "error:TypeError: can only concatenate str "
                              "(not \"int\") to str: '10' + 5 ");
  df_deferred_unref(d);
  df_failure_unref(error_seen);
  error_seen = NULL;
  assert_int_equal(reports, 0);
}

static df_failure *expected_failure;
static df_result return_expected_failure(void *arg) {
  (void)arg;
  return df_failed(df_failure_ref(expected_failure));
}

/* test_defer.py: DeferredTests.test_maybeDeferredSyncFailure */
static void test_maybe_deferred_keeps_returned_failure_object(void **state) {
  (void)state;
  expected_failure = df_failure_new(&type_error, "expected");
  df_deferred *d = df_maybe_deferred(return_expected_failure, NULL);
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_string_equal(events, "error:TypeError: expected ");
  assert_ptr_equal(error_seen, expected_failure);
  df_deferred_unref(d);
  df_failure_unref(error_seen);
  error_seen = NULL;
  df_failure_unref(expected_failure);
}

static df_result return_arg_deferred(void *arg) {
  return df_wait_on(df_deferred_ref(arg));
}

/* test_defer.py: DeferredTests.test_maybeDeferredAsync */
static void test_maybe_deferred_returns_returned_deferred_as_is(void **state) {
  (void)state;
  df_deferred *d1 = df_deferred_new();
  df_deferred *d2 = df_maybe_deferred(return_arg_deferred, d1);
  assert_ptr_equal(d2, d1);
  df_deferred_callback(d1, df_string("Success"));
  df_deferred_add_callback(d2, results_append, NULL);
  assert_string_equal(events, "result:'Success' ");
  df_deferred_unref(d2); /* the reference maybe_deferred returned */
  df_deferred_unref(d1);
}

/* test_defer.py: DeferredTests.test_maybeDeferredAsyncError */
static void test_maybe_deferred_returned_deferred_failure_passes(void **state) {
  (void)state;
  df_deferred *d1 = df_deferred_new();
  df_deferred *d2 = df_maybe_deferred(return_arg_deferred, d1);
  df_failure *f = df_failure_new(&runtime_error, "async");
  df_deferred_errback(d1, df_failure_ref(f));
  df_deferred_add_errback(d2, errors_append, NULL);
  assert_ptr_equal(error_seen, f);
  assert_string_equal(events, "error:RuntimeError: async ");
  df_deferred_unref(d2);
  df_deferred_unref(d1);
  df_failure_unref(error_seen);
  error_seen = NULL;
  df_failure_unref(f);
  assert_int_equal(reports, 0);
}

static df_result return_null_deferred(void *arg) {
  (void)arg;
  return df_wait_on(NULL);
}

static void test_maybe_deferred_with_wait_on_null_fails(void **state) {
  (void)state;
  df_deferred *d = df_maybe_deferred(return_null_deferred, NULL);
  df_deferred_add_errback(d, errors_append, NULL);
  assert_string_equal(events, "error:ValueError: df_maybe_deferred: the "
                              "function returned df_wait_on(NULL) ");
  df_deferred_unref(d);
  df_failure_unref(error_seen);
  error_seen = NULL;
}

/* --- execute -------------------------------------------------------------------- */

static void test_execute_wraps_value(void **state) {
  (void)state;
  int64_t ten = 10;
  df_deferred *d = df_execute(plus_five, &ten);
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_string_equal(events, "result:15 ");
  df_deferred_unref(d);
}

static void test_execute_wraps_failure(void **state) {
  (void)state;
  df_deferred *d = df_execute(plus_five_checked, "x");
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_string_equal(events, "error:TypeError: can only concatenate str "
                              "(not \"int\") to str: 'x' + 5 ");
  df_deferred_unref(d);
  df_failure_unref(error_seen);
  error_seen = NULL;
}

static df_result return_valued_deferred(void *arg) {
  (void)arg;
  return df_wait_on(df_succeed(df_pointer(&the_result, count_destroy)));
}

/* Twisted's execute hits the callback assert for a returned Deferred [v];
 * ours fails with ValueError and releases the returned deferred (its
 * value is dropped with it). */
static void test_execute_rejects_returned_deferred(void **state) {
  (void)state;
  df_deferred *d = df_execute(return_valued_deferred, NULL);
  assert_int_equal(destroyed, 1); /* the returned deferred was released */
  df_deferred_add_callbacks(d, results_append, NULL, errors_append, NULL);
  assert_string_equal(events, "error:ValueError: df_execute: the function "
                              "returned a deferred ");
  df_deferred_unref(d);
  df_failure_unref(error_seen);
  error_seen = NULL;
}

/* The helpers record the caller's site. */
static void test_helpers_record_the_callers_site(void **state) {
  (void)state;
  df_deferred *d = df_succeed(df_none()); int line = __LINE__;
  df_site s = df_deferred_created_site(d);
  assert_int_equal(s.line, line);
  assert_string_equal(s.func, __func__);
  df_deferred_unref(d);
  d = df_maybe_deferred(plus_five_checked, "y"); line = __LINE__;
  assert_int_equal(df_deferred_created_site(d).line, line);
  df_deferred_add_errback(d, errors_append, NULL);
  df_deferred_unref(d);
  df_failure_unref(error_seen);
  error_seen = NULL;
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, support_setup, support_teardown)
      T(test_succeed_gives_fired_deferred),
      T(test_succeed_with_failure_gives_failed_deferred),
      T(test_succeed_with_deferred_gives_value_error),
      T(test_fail_gives_failed_deferred_with_same_failure),
      T(test_fail_with_null_gives_value_error),
      T(test_maybe_deferred_wraps_synchronous_value),
      T(test_maybe_deferred_passes_the_argument),
      T(test_maybe_deferred_turns_raised_error_into_failure),
      T(test_maybe_deferred_keeps_returned_failure_object),
      T(test_maybe_deferred_returns_returned_deferred_as_is),
      T(test_maybe_deferred_returned_deferred_failure_passes),
      T(test_maybe_deferred_with_wait_on_null_fails),
      T(test_execute_wraps_value),
      T(test_execute_wraps_failure),
      T(test_execute_rejects_returned_deferred),
      T(test_helpers_record_the_callers_site),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
