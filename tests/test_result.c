/* Results: the checked accessors (df_result_int, df_result_double,
 * df_result_str, df_result_ptr, df_result_failure; result.h). The right
 * kind gives the value; the wrong kind gives 0 or NULL outside debug mode,
 * and in debug mode aborts with a message saying what the result held
 * and what was asked for (death tests: a forked child's end and stderr). */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, waitpid (support.h) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deferred.h"
#include "support.h"

static void test_accessors_give_the_value_of_the_right_kind(void **state) {
  (void)state;
  static int x;
  df_failure *f = df_failure_new(&generic_error, "boom");
  assert_int_equal(df_result_int(df_int(-7)), -7);
  assert_true(df_result_double(df_double(2.5)) == 2.5);
  assert_string_equal(df_result_str(df_string("poem")), "poem");
  assert_ptr_equal(df_result_ptr(df_pointer(&x, NULL)), &x);
  df_result r = df_failed(f);
  assert_ptr_equal(df_result_failure(r), f); /* borrowed: r still owns it */
  df_result_drop(r);
}

/* Outside debug mode the wrong kind is not checked: 0, 0.0 or NULL, and
 * nothing is printed (an integer is not converted to a double). */
static void test_wrong_kind_outside_debug_mode_gives_zero_or_null(
    void **state) {
  (void)state;
  df_set_debugging(false);
  static int x;
  assert_int_equal(df_result_int(df_string("7")), 0);
  assert_true(df_result_double(df_int(3)) == 0.0);
  assert_null(df_result_str(df_none()));
  assert_null(df_result_ptr(df_int(1)));
  assert_null(df_result_failure(df_pointer(&x, NULL)));
}

typedef struct wrong_kind {
  int accessor; /* 0 int, 1 double, 2 str, 3 ptr, 4 failure */
  df_result r;
} wrong_kind;

static void read_with_wrong_accessor(void *arg) {
  wrong_kind *w = arg;
  df_set_debugging(true);
  switch (w->accessor) {
  case 0: (void)df_result_int(w->r); break;
  case 1: (void)df_result_double(w->r); break;
  case 2: (void)df_result_str(w->r); break;
  case 3: (void)df_result_ptr(w->r); break;
  default: (void)df_result_failure(w->r); break;
  }
}

static void expect_abort(int accessor, df_result r, const char *message) {
  wrong_kind w = {accessor, r};
  support_child child;
  support_run_child(read_with_wrong_accessor, &w, &child);
  assert_true(child.aborted);
  assert_string_equal(child.text, message);
}

static void test_wrong_kind_in_debug_mode_aborts_saying_what_it_held(
    void **state) {
  (void)state;
  expect_abort(0, df_string("text"),
               "libdeferred: df_result_int() on a result holding 'text', a "
               "string, not an integer (debug mode)\n");
  expect_abort(1, df_int(3),
               "libdeferred: df_result_double() on a result holding 3, an "
               "integer, not a double (debug mode)\n");
  expect_abort(2, df_none(),
               "libdeferred: df_result_str() on a result holding None, not a "
               "string (debug mode)\n");
  expect_abort(3, df_double(1.5),
               "libdeferred: df_result_ptr() on a result holding 1.5, a "
               "double, not a pointer (debug mode)\n");
  df_failure *f = df_failure_new(&generic_error, "boom");
  expect_abort(0, df_failed(f),
               "libdeferred: df_result_int() on a result holding <Failure "
               "GenericError: boom>, a failure, not an integer (debug "
               "mode)\n");
  expect_abort(4, df_int(9),
               "libdeferred: df_result_failure() on a result holding 9, an "
               "integer, not a failure (debug mode)\n");
  df_failure_unref(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accessors_give_the_value_of_the_right_kind),
      cmocka_unit_test(test_wrong_kind_outside_debug_mode_gives_zero_or_null),
      cmocka_unit_test(
          test_wrong_kind_in_debug_mode_aborts_saying_what_it_held),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
