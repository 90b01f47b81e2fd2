/* Firing: callback() and errback(), firing twice, firing from inside the
 * deferred's own callback, bad arguments.
 *
 * Ports of twisted/test/test_defer.py AlreadyCalledTests, adapted: a second
 * fire returns DF_EALREADY_CALLED instead of raising AlreadyCalledError
 * (rule 23), and the result it was given is dropped. The error Twisted
 * raises is df_deferred_already_called_error(d), whose text the
 * testAlreadyCalledDebug_* ports check as Twisted's do (which lines name
 * the creator and the first invoker), and also that it names the second.
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

/* Twisted's _callback / _errback: record, return None. */
static df_result on_success(df_result r, void *arg) {
  (void)arg;
  ev_result("cb", r);
  df_result_drop(r);
  return df_none();
}
static df_result on_failure(df_result r, void *arg) {
  (void)arg;
  ev_result("eb", r);
  df_result_drop(r);
  return df_none();
}

static int call_1(df_deferred *d) {
  return df_deferred_callback(d, df_string("hello"));
}
static int err_1(df_deferred *d) {
  return df_deferred_errback(d, df_failure_new(&runtime_error, "first"));
}
/* Second fires carry a value with a counting destructor, to show that the
 * refused value is dropped, exactly once. */
static int call_2(df_deferred *d) {
  static int twice;
  return df_deferred_callback(d, df_pointer(&twice, count_destroy));
}
static int err_2(df_deferred *d) {
  df_failure *f = df_failure_new(&runtime_error, "second");
  static int payload;
  df_failure_set_payload(f, &payload, count_destroy);
  return df_deferred_errback(d, f);
}

/* The common check: the second fire was refused and changed nothing. */
static void check_second_fire_refused(df_deferred *d, int (*first)(df_deferred *),
                                      int (*second)(df_deferred *),
                                      const char *expected_events) {
  df_deferred_add_callbacks(d, on_success, NULL, on_failure, NULL);
  assert_int_equal(first(d), 0);
  assert_string_equal(events, expected_events);
  const df_result before = *df_deferred_result(d);
  assert_int_equal(second(d), DF_EALREADY_CALLED);
  assert_int_equal(destroyed, 1); /* the refused value was dropped */
  assert_string_equal(events, expected_events); /* nothing ran again */
  const df_result *after = df_deferred_result(d);
  assert_int_equal(after->kind, before.kind);
  assert_true(df_deferred_called(d));
  assert_int_equal(df_deferred_pending_stages(d), 0);
  /* and later stages still see the first outcome */
  df_deferred_add_callback(d, on_success, NULL);
  char expected[256];
  snprintf(expected, sizeof expected, "%scb:None ", expected_events);
  assert_string_equal(events, expected);
}

/* test_defer.py: AlreadyCalledTests.testAlreadyCalled_CC */
static void test_second_callback_after_callback_is_already_called(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  check_second_fire_refused(d, call_1, call_2, "cb:'hello' ");
  df_deferred_unref(d);
}

/* test_defer.py: AlreadyCalledTests.testAlreadyCalled_CE */
static void test_errback_after_callback_is_already_called(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  check_second_fire_refused(d, call_1, err_2, "cb:'hello' ");
  df_deferred_unref(d);
}

/* test_defer.py: AlreadyCalledTests.testAlreadyCalled_EE */
static void test_second_errback_after_errback_is_already_called(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  check_second_fire_refused(d, err_1, err_2, "eb:RuntimeError: first ");
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

/* test_defer.py: AlreadyCalledTests.testAlreadyCalled_EC */
static void test_callback_after_errback_is_already_called(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  check_second_fire_refused(d, err_1, call_2, "eb:RuntimeError: first ");
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

/* --- AlreadyCalledError's debug text -------------------------------------- */

/* Twisted's _count: the lines of `text` that start " X:" and end with
 * " func". */
static int count_lines(const char *text, char tag, const char *func) {
  char start[8], end[64];
  snprintf(start, sizeof start, " %c:", tag);
  snprintf(end, sizeof end, " %s", func);
  int n = 0;
  for (const char *line = text; *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    size_t elen = strlen(end);
    if (len >= 3 && strncmp(line, start, 3) == 0 && len >= elen &&
        strncmp(line + len - elen, end, elen) == 0)
      n++;
    line += len + (nl ? 1 : 0);
  }
  return n;
}

/* Twisted's _check, and the line it has no counterpart for: the refused
 * fire's own site (" A:"). */
static void check_debug_text(df_deferred *d, const char *caller,
                             const char *invoker1, const char *invoker2) {
  df_failure *f = df_deferred_already_called_error(d);
  assert_ptr_equal(df_failure_type(f), &df_error_already_called);
  const char *text = df_failure_message(f);
  assert_int_equal(strncmp(text, "already called\n", 15), 0);
  /* the creator lists the creator, none of the invokers */
  assert_int_equal(count_lines(text, 'C', caller), 1);
  assert_int_equal(count_lines(text, 'C', "call_1"), 0);
  assert_int_equal(count_lines(text, 'C', "call_2"), 0);
  assert_int_equal(count_lines(text, 'C', "err_1"), 0);
  assert_int_equal(count_lines(text, 'C', "err_2"), 0);
  /* the invoker lists the first invoker, not the second */
  assert_int_equal(count_lines(text, 'I', invoker1), 1);
  assert_int_equal(count_lines(text, 'I', invoker2), 0);
  /* and where it was fired again */
  assert_int_equal(count_lines(text, 'A', invoker2), 1);
  assert_int_equal(count_lines(text, 'A', invoker1), 0);
  assert_non_null(strstr(text, " C: Deferred was created:\n"));
  assert_non_null(strstr(text, " I: First Invoker was:\n"));
  assert_non_null(strstr(text, " A: Fired again:\n"));
  df_failure_unref(f);
}

/* One AlreadyCalledDebug case: `d`, made by the test (the creator), gets
 * a callback and an errback, then `first` and `second`. */
static void already_called_debug(df_deferred *d, const char *caller,
                                 int (*first)(df_deferred *),
                                 const char *first_name,
                                 int (*second)(df_deferred *),
                                 const char *second_name) {
  df_deferred_add_callbacks(d, on_success, NULL, on_failure, NULL);
  assert_int_equal(first(d), 0);
  assert_int_equal(second(d), DF_EALREADY_CALLED);
  check_debug_text(d, caller, first_name, second_name);
  df_deferred_unref(d);
}

/* test_defer.py: AlreadyCalledTests.testAlreadyCalledDebug_CC */
static void test_already_called_debug_text_after_callback_callback(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  already_called_debug(d, __func__, call_1, "call_1", call_2, "call_2");
}

/* test_defer.py: AlreadyCalledTests.testAlreadyCalledDebug_CE */
static void test_already_called_debug_text_after_callback_errback(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  already_called_debug(d, __func__, call_1, "call_1", err_2, "err_2");
}

/* test_defer.py: AlreadyCalledTests.testAlreadyCalledDebug_EC */
static void test_already_called_debug_text_after_errback_callback(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  already_called_debug(d, __func__, err_1, "err_1", call_2, "call_2");
}

/* test_defer.py: AlreadyCalledTests.testAlreadyCalledDebug_EE */
static void test_already_called_debug_text_after_errback_errback(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  already_called_debug(d, __func__, err_1, "err_1", err_2, "err_2");
}

/* test_defer.py: AlreadyCalledTests.testNoDebugging: without debugging
 * the error has no debug text (Twisted's has no arguments). */
static void test_already_called_error_without_debugging_is_plain(
    void **state) {
  (void)state;
  bool was = df_get_debugging();
  df_set_debugging(false);
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, on_success, NULL, on_failure, NULL);
  call_1(d);
  assert_int_equal(call_2(d), DF_EALREADY_CALLED);
  df_failure *f = df_deferred_already_called_error(d);
  assert_ptr_equal(df_failure_type(f), &df_error_already_called);
  assert_string_equal(df_failure_message(f), "already called");
  df_failure_unref(f);
  df_deferred_unref(d);
  df_set_debugging(was);
}

/* The refused fire leaves an unhandled failure exactly as it was: the
 * first failure is the one reported, once. */
static df_failure *reported;
static void keep_report(const df_unhandled *report, void *arg) {
  (void)arg;
  reports++;
  reported = (df_failure *)report->failure;
  ev("reported:%s", df_failure_message(report->failure));
}

static void test_second_fire_keeps_first_unhandled_failure(void **state) {
  (void)state;
  df_set_unhandled_handler(keep_report, NULL);
  df_deferred *d = df_deferred_new();
  assert_int_equal(err_1(d), 0);
  assert_int_equal(call_2(d), DF_EALREADY_CALLED);
  assert_int_equal(err_2(d), DF_EALREADY_CALLED);
  assert_int_equal(destroyed, 2);
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
  assert_string_equal(events, "reported:first ");
}

/* test_defer.py: AlreadyCalledTests.testNoDebugging and
 * testSwitchDebugging: flipping debug mode between creating and firing a
 * deferred is safe, and fires still behave normally. */
static void test_switching_debug_mode_between_create_and_fire(void **state) {
  (void)state;
  bool was = df_get_debugging();
  df_set_debugging(false);
  df_deferred *d = df_deferred_new();
  df_deferred_add_both(d, on_success, NULL);
  df_set_debugging(true);
  assert_true(df_get_debugging());
  assert_int_equal(df_deferred_callback(d, df_none()), 0);
  assert_int_equal(df_deferred_callback(d, df_none()), DF_EALREADY_CALLED);
  df_deferred_unref(d);

  df_set_debugging(false);
  d = df_deferred_new();
  df_deferred_callback(d, df_none());
  df_set_debugging(true);
  df_deferred_add_both(d, on_success, NULL);
  assert_int_equal(df_deferred_errback(d, df_failure_new(NULL, "x")),
                   DF_EALREADY_CALLED);
  df_deferred_unref(d);

  df_set_debugging(true);
  d = df_deferred_new();
  df_set_debugging(false);
  df_deferred_add_both(d, on_success, NULL);
  df_deferred_callback(d, df_int(1));
  df_deferred_unref(d);
  df_set_debugging(was);
  assert_string_equal(events, "cb:None cb:None cb:1 ");
}

/* --- rule 20: fire inside its own callback -------------------------------- */

static int inner_rc;
static df_result fire_self(df_result r, void *arg) {
  inner_rc = df_deferred_callback(arg, df_string("again"));
  ev("inner:%d", inner_rc);
  if (inner_rc < 0) {
    df_result_drop(r);
    return df_raise_code(inner_rc);
  }
  return r;
}

static df_result errback_self(df_result r, void *arg) {
  inner_rc = df_deferred_errback(arg, df_failure_new(&runtime_error, "again"));
  ev("inner:%d", inner_rc);
  if (inner_rc < 0) {
    df_result_drop(r);
    return df_raise_code(inner_rc);
  }
  return r;
}

/* rule 20: calling callback() on d from inside d's callback fails with
 * AlreadyCalled there; passed on, it becomes d's result. */
static void test_callback_inside_own_callback_is_already_called(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, fire_self, d);
  df_deferred_add_callbacks(d, on_success, NULL, on_failure, NULL);
  assert_int_equal(df_deferred_callback(d, df_int(1)), 0);
  assert_int_equal(inner_rc, DF_EALREADY_CALLED);
  assert_string_equal(events, "inner:-1001 "
                              "eb:AlreadyCalledError: already called ");
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

static void test_errback_inside_own_errback_is_already_called(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, errback_self, d);
  df_deferred_add_errback(d, on_failure, NULL);
  assert_int_equal(df_deferred_errback(d, df_failure_new(NULL, "first")), 0);
  assert_string_equal(events, "inner:-1001 "
                              "eb:AlreadyCalledError: already called ");
  df_deferred_unref(d);
}

/* rule 20, second half: with the swallow flag set by cancel (rule 24), the
 * fire inside the deferred's own errback is swallowed instead. */
static void test_fire_inside_own_callback_after_cancel_is_swallowed(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, fire_self, d);
  df_deferred_add_callbacks(d, on_success, NULL, on_failure, NULL);
  df_deferred_cancel(d);
  assert_int_equal(inner_rc, 0);
  assert_string_equal(events, "inner:0 eb:CancelledError:  ");
  /* swallowed once only */
  assert_int_equal(df_deferred_callback(d, df_none()), DF_EALREADY_CALLED);
  df_deferred_unref(d);
}

/* --- bad arguments -------------------------------------------------------- */

/* rule 4: a deferred is not a result; the call is refused, the reference
 * it carried is released, and `d` stays unfired. */
static void test_callback_with_deferred_result_is_einval(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new(), *other = df_deferred_new();
  df_deferred_add_callback(d, on_success, NULL);
  assert_int_equal(df_deferred_callback(d, df_wait_on(df_deferred_ref(other))),
                   DF_EINVAL);
  assert_false(df_deferred_called(d));
  assert_string_equal(events, "");
  assert_int_equal(df_deferred_callback(d, df_int(2)), 0);
  assert_string_equal(events, "cb:2 ");
  df_deferred_unref(other); /* the last reference: valgrind sees no leak */
  df_deferred_unref(d);
}

static void test_fire_null_deferred_is_einval_and_drops_value(void **state) {
  (void)state;
  static int v;
  assert_int_equal(df_deferred_callback(NULL, df_pointer(&v, count_destroy)),
                   DF_EINVAL);
  assert_int_equal(destroyed, 1);
  df_failure *f = df_failure_new(NULL, "x");
  df_failure_set_payload(f, &v, count_destroy);
  assert_int_equal(df_deferred_errback(NULL, f), DF_EINVAL);
  assert_int_equal(destroyed, 2);
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_errback(d, NULL), DF_EINVAL);
  assert_false(df_deferred_called(d));
  df_deferred_unref(d);
}

/* rule 3: errback with a failure keeps the failure's identity. */
static df_failure *seen_failure;
static df_result keep_failure(df_result r, void *arg) {
  (void)arg;
  seen_failure = r.u.failure; /* borrowed: the result still owns it */
  return r;
}

static void test_errback_passes_the_same_failure_object(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, keep_failure, NULL);
  df_failure *f = df_failure_new(&runtime_error, "same");
  df_deferred_errback(d, df_failure_ref(f));
  assert_ptr_equal(seen_failure, f);
  df_result out;
  assert_int_equal(df_deferred_take_result(d, &out), 0);
  assert_ptr_equal(out.u.failure, f);
  df_result_drop(out);
  df_failure_unref(f);
  df_deferred_unref(d);
  assert_int_equal(reports, 0); /* taking it counts as handling it */
}

/* rule 4: callback() with a failure result selects the errback side. */
static void test_callback_with_failure_result_runs_errbacks(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, on_success, NULL, on_failure, NULL);
  df_deferred_callback(d, df_raise(&runtime_error, "via callback"));
  assert_string_equal(events, "eb:RuntimeError: via callback ");
  df_deferred_unref(d);
}

static void test_called_is_false_until_fired(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  assert_false(df_deferred_called(d));
  assert_null(df_deferred_result(d));
  df_result out = df_int(5);
  assert_int_equal(df_deferred_take_result(d, &out), DF_EINVAL);
  assert_int_equal(out.u.i, 5); /* untouched */
  df_deferred_callback(d, df_int(1));
  assert_true(df_deferred_called(d));
  assert_int_equal(df_deferred_result(d)->u.i, 1);
  assert_false(df_deferred_called(NULL));
  df_deferred_unref(d);
}

static void test_fired_site_is_recorded_for_reports(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  int created_line = __LINE__ - 1;
  df_site s = df_deferred_created_site(d);
  assert_int_equal(s.line, created_line);
  assert_string_equal(s.func, __func__);
  assert_non_null(strstr(s.file, "test_deferred_fire.c"));
  df_deferred_unref(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, support_setup, support_teardown)
      T(test_second_callback_after_callback_is_already_called),
      T(test_errback_after_callback_is_already_called),
      T(test_second_errback_after_errback_is_already_called),
      T(test_callback_after_errback_is_already_called),
      T(test_second_fire_keeps_first_unhandled_failure),
      T(test_switching_debug_mode_between_create_and_fire),
/* with Twisted's setUp and tearDown for AlreadyCalledTests: debugging on */
#define TD(f) \
  cmocka_unit_test_setup_teardown(f, support_debug_setup,  \
                                  support_debug_teardown)
      TD(test_already_called_debug_text_after_callback_callback),
      TD(test_already_called_debug_text_after_callback_errback),
      TD(test_already_called_debug_text_after_errback_callback),
      TD(test_already_called_debug_text_after_errback_errback),
#undef TD
      T(test_already_called_error_without_debugging_is_plain),
      T(test_callback_inside_own_callback_is_already_called),
      T(test_errback_inside_own_errback_is_already_called),
      T(test_fire_inside_own_callback_after_cancel_is_swallowed),
      T(test_callback_with_deferred_result_is_einval),
      T(test_fire_null_deferred_is_einval_and_drops_value),
      T(test_errback_passes_the_same_failure_object),
      T(test_callback_with_failure_result_runs_errbacks),
      T(test_called_is_false_until_fired),
      T(test_fired_site_is_recorded_for_reports),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
