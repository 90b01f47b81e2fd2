/* Unhandled failures: when they are reported, when they are not, and the
 * exact text of the report (rules U1-U4, 9, 11).
 *
 * Ports of twisted/test/test_defer.py LogTests, adapted to
 * df_set_unhandled_handler: Twisted logs when the garbage collector frees
 * the Deferred; we report at the moment its last reference goes, so each
 * test checks the report count just before and just after that unref.
 */
#define _POSIX_C_SOURCE 200809L /* dup, dup2, fileno */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "deferred.h"
#include "support.h"

/* --- the capturing handler -------------------------------------------- */

/* `reports` (support.h) counts the reports capture sees. */
static char *last_text;          /* df_unhandled_format of the last one */
static const df_error_type *last_type; /* the failure itself is gone */
static const df_deferred *last_deferred;
static df_unhandled last_report;

static void capture(const df_unhandled *report, void *arg) {
  (void)arg;
  reports++;
  free(last_text);
  last_text = df_unhandled_format(report);
  last_type = df_failure_type(report->failure);
  last_deferred = report->deferred;
  last_report = *report;
}

static int setup(void **state) {
  (void)state;
  support_reset();
  last_text = NULL;
  last_type = NULL;
  last_deferred = NULL;
  df_set_unhandled_handler(capture, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(last_text);
  last_text = NULL;
  support_teardown(state);
  df_set_debugging(false);
  return 0;
}

static int raise_line;
static df_result divide(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  raise_line = __LINE__; return df_raise(&zero_division_error, "division by zero");
}

static bool contains(const char *text, const char *part) {
  return text && strstr(text, part) != NULL;
}

/* --- when reports happen --------------------------------------------------- */

/* test_defer.py: LogTests.test_errorLog, with the exact text. */
static void test_unhandled_failure_reported_when_last_reference_goes(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new(); int create_line = __LINE__;
  df_deferred_add_callback(d, divide, NULL); int add_line = __LINE__;
  df_deferred_callback(d, df_int(1)); int fire_line = __LINE__;
  assert_int_equal(reports, 0); /* still referenced: nothing yet */
  void *addr = d;
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
  assert_ptr_equal(last_deferred, addr);
  assert_int_equal(last_report.created.line, create_line);
  assert_int_equal(last_report.fired.line, fire_line);
  assert_false(last_report.at_exit);
  assert_ptr_equal(last_type, &zero_division_error);

  char expected[4096];
  const char *F = __FILE__, *fn = __func__;
  snprintf(expected, sizeof expected,
           "Unhandled error in Deferred:\n"
           "Traceback (most recent call last):\n"
           "  File \"%s\", line %d, in %s\n"
           "    fired <Deferred at %p>\n"
           "--- <exception caught here> ---\n"
           "  File \"%s\", line %d, in %s\n"
           "    stage 0 callback divide\n"
           "  File \"%s\", line %d, in divide\n"
           "    raised ZeroDivisionError\n"
           "ZeroDivisionError: division by zero\n"
           "Causal trace:\n"
           "  <Deferred at %p> (created at %s:%d in %s), fired at %s:%d in %s\n"
           "  stage 0 callback divide (added at %s:%d in %s) failed: "
           "ZeroDivisionError raised at %s:%d in divide\n"
           "  never handled: it was left in <Deferred at %p> (created at "
           "%s:%d in %s), whose last reference was released\n",
           F, fire_line, fn, addr, F, add_line, fn, F, raise_line, addr, F,
           create_line, fn, F, fire_line, fn, F, add_line, fn, F, raise_line,
           addr, F, create_line, fn);
  assert_string_equal(last_text, expected);
}

static void fail_in_inner_frame(void) {
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, divide, NULL);
  df_deferred_callback(d, df_int(1));
  df_deferred_unref(d);
  assert_int_equal(reports, 1); /* reported before the frame returns */
}

/* test_defer.py: LogTests.test_errorLogWithInnerFrameRef */
static void test_unhandled_failure_from_inner_frame_reported_once(
    void **state) {
  (void)state;
  fail_in_inner_frame();
  assert_int_equal(reports, 1);
  assert_string_equal(last_report.created.func, "fail_in_inner_frame");
  assert_true(contains(last_text, "ZeroDivisionError: division by zero\n"));
}

/* test_defer.py: LogTests.test_errorLogWithInnerFrameCycle. The cycle C
 * can make: a wait edge. `r` finished a pass with a failure (marked), was
 * then paused and returned from w's callback, so w waits on r and r holds
 * w. When the last outside reference goes, the group is freed and r's
 * failure reported, once. */
static void test_unhandled_failure_in_freed_wait_cycle_reported_once(
    void **state) {
  (void)state;
  df_deferred *r = df_deferred_new();
  df_deferred_add_callback(r, divide, NULL);
  df_deferred_callback(r, df_int(1)); /* r is marked */
  df_deferred_pause(r);
  df_deferred *w = df_deferred_new();
  df_deferred_add_callback(w, return_deferred, r);
  df_deferred_callback(w, df_none());
  assert_ptr_equal(df_deferred_waiting_on(w), r);
  void *r_addr = r;
  df_deferred_unref(r);
  assert_int_equal(reports, 0); /* w, which we hold, still reaches r */
  df_deferred_unref(w);
  assert_int_equal(reports, 1);
  assert_ptr_equal(last_deferred, r_addr);
  assert_true(contains(last_text, "ZeroDivisionError: division by zero\n"));
}

/* test_defer.py: LogTests.test_errorLogNoRepr: the report is a traceback,
 * not the describe() form of the failure. */
static void test_report_text_is_a_traceback_not_a_repr(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, divide, NULL);
  df_deferred_callback(d, df_int(1));
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
  const char *start = "Unhandled error in Deferred:\n"
                      "Traceback (most recent call last):\n";
  assert_int_equal(strncmp(last_text, start, strlen(start)), 0);
  assert_true(contains(last_text, DF_EXCEPTION_CAUGHT_HERE "\n"));
  assert_false(contains(last_text, "<Failure"));
}

/* test_defer.py: LogTests.test_errorLogDebugInfo: in debug mode the report
 * says where the deferred was created and first fired. */
static void test_report_in_debug_mode_has_creation_and_fire_backtraces(
    void **state) {
  (void)state;
  df_set_debugging(true);
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, divide, NULL);
  df_deferred_callback(d, df_int(1));
  df_deferred_unref(d);
  df_set_debugging(false);
  assert_int_equal(reports, 1);
  const char *created = strstr(last_text,
                               "Native backtrace where that deferred was "
                               "created:\n    ");
  const char *fired = strstr(last_text,
                             "Native backtrace where it was first fired:\n    ");
  assert_non_null(created);
  assert_non_null(fired);
  assert_true(created < fired);
  assert_true(contains(last_text, "Native backtrace where it was raised:\n"));
}

static void test_report_without_debug_mode_has_no_backtraces(void **state) {
  (void)state;
  df_set_debugging(false);
  df_deferred *d = df_fail(df_failure_new(&runtime_error, "plain"));
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
  assert_false(contains(last_text, "Native backtrace"));
}

/* test_defer.py: LogTests.test_chainedErrorCleanup (rule 9) */
static void test_failure_taken_by_returning_deferred_is_not_reported(
    void **state) {
  (void)state;
  df_deferred *inner = df_fail(df_failure_new(&runtime_error, "zoop"));
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, return_deferred, inner);
  df_deferred_callback(d, df_none());
  df_deferred_unref(inner);
  assert_int_equal(reports, 0); /* inner's result is None now */
  int handled = 0;
  df_deferred_add_errback(d, handle, &handled);
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

/* test_defer.py: LogTests.test_errorClearedByChaining: an errback chains
 * the failed deferred to another one; nothing holds a failure, so nothing
 * is reported when both go (the waiting group is freed). */
static void test_failure_cleared_by_chaining_is_not_reported(void **state) {
  (void)state;
  df_deferred *bad = df_fail(df_failure_new(&df_error_exception, "oh no"));
  df_deferred *good = df_deferred_new();
  df_deferred_add_errback(bad, return_deferred, good);
  assert_ptr_equal(df_deferred_waiting_on(bad), good);
  df_deferred_unref(good);
  df_deferred_unref(bad);
  assert_int_equal(reports, 0);
}

/* A wait group with no reference from outside is freed as soon as that is
 * true, dropping what it holds exactly once, with no report. */
static void test_wait_group_without_outside_refs_is_freed(void **state) {
  (void)state;
  static int value;
  df_deferred *r = df_deferred_new();
  df_deferred_pause(r);
  df_deferred_callback(r, df_pointer(&value, count_destroy));
  df_deferred *w = df_deferred_new();
  df_deferred_add_callback(w, return_deferred, r);
  df_deferred_add_callback(w, handle, NULL);
  df_deferred_callback(w, df_none());
  df_deferred_unref(r);
  assert_int_equal(destroyed, 0);
  df_deferred_unref(w);
  assert_int_equal(destroyed, 1); /* r's result dropped: the group is gone */
  assert_int_equal(reports, 0);
}

/* rule U4: a failure left in a deferred paused when it fired is never
 * reported. */
static void test_failure_in_paused_deferred_is_not_reported(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_pause(d);
  df_deferred_errback(d, df_failure_new(&runtime_error, "paused"));
  df_deferred_unref(d);
  assert_int_equal(reports, 0);

  d = df_deferred_new();
  df_deferred_add_callback(d, divide, NULL);
  df_deferred_pause(d);
  df_deferred_callback(d, df_int(1)); /* the stage never runs */
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

/* rule U1: the mark is set at the end of a completed pass; pausing later
 * does not clear it. */
static void test_failure_marked_before_pause_is_reported(void **state) {
  (void)state;
  df_deferred *d = df_fail(df_failure_new(&runtime_error, "then paused"));
  df_deferred_pause(d);
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
}

static void test_handled_failure_is_not_reported(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, divide, NULL);
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_callback(d, df_int(1));
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

/* rule U2: a later pass that ends in a success clears the mark. */
static void test_failure_handled_by_errback_added_later_is_not_reported(
    void **state) {
  (void)state;
  df_deferred *d = df_fail(df_failure_new(&runtime_error, "late"));
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

static void test_failure_taken_out_is_not_reported(void **state) {
  (void)state;
  df_deferred *d = df_fail(df_failure_new(&runtime_error, "taken"));
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
  assert_true(df_result_is_failure(r));
  df_result_drop(r);
}

/* rule 11: handed to a waiter; reported by the waiter if it does not
 * handle it, never by the inner deferred, and the trace says so. */
static void test_failure_handed_to_waiter_is_reported_by_the_waiter(
    void **state) {
  (void)state;
  df_deferred *inner = df_deferred_new();
  df_deferred *outer = df_deferred_new(); int outer_line = __LINE__;
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_callback(outer, df_none());
  df_deferred_errback(inner, df_failure_new(&runtime_error, "inner"));
  df_deferred_unref(inner);
  assert_int_equal(reports, 0);
  void *addr = outer;
  df_deferred_unref(outer);
  assert_int_equal(reports, 1);
  assert_ptr_equal(last_deferred, addr);
  char line[512];
  snprintf(line, sizeof line,
           "  handed to <Deferred at %p> (created at %s:%d in %s), which was "
           "waiting on it\n",
           addr, __FILE__, outer_line, __func__);
  assert_true(contains(last_text, line));
  assert_true(contains(last_text, "whose last reference was released\n"));
}

/* rule 9: taken over by a deferred whose callback returned the failed one */
static void test_failure_taken_over_is_reported_by_the_taker(void **state) {
  (void)state;
  df_deferred *inner = df_fail(df_failure_new(&runtime_error, "taken"));
  df_deferred *outer = df_deferred_new(); int outer_line = __LINE__;
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_callback(outer, df_none());
  df_deferred_unref(inner);
  void *addr = outer;
  df_deferred_unref(outer);
  assert_int_equal(reports, 1);
  char line[512];
  snprintf(line, sizeof line,
           "  taken over by <Deferred at %p> (created at %s:%d in %s), whose "
           "callback returned the deferred holding it\n",
           addr, __FILE__, outer_line, __func__);
  assert_true(contains(last_text, line));
}

/* The causal trace names every stage the failure went through. */
static void test_causal_trace_lists_errbacks_that_passed_it_on(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, divide, NULL);
  df_deferred_add_errback(d, pass, NULL); int pass_line = __LINE__;
  df_deferred_add_callback(d, pass, NULL); int skip_line = __LINE__;
  df_deferred_callback(d, df_int(1));
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
  char line[512];
  snprintf(line, sizeof line,
           "  stage 1 errback pass (added at %s:%d in %s) returned it\n"
           "  stage 2 (added at %s:%d in %s) has no errback: passed it on\n"
           "  never handled: ",
           __FILE__, pass_line, __func__, __FILE__, skip_line, __func__);
  assert_true(contains(last_text, line));
}

static df_result add_one(df_result r, void *arg) {
  (void)arg;
  return df_int(r.u.i + 1);
}

/* The stage number counts every stage popped, including successes run
 * back to back before the failing one. */
static void test_trace_numbers_the_failing_stage_after_successes(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, add_one, NULL);
  df_deferred_add_callback(d, add_one, NULL);
  df_deferred_add_callback(d, divide, NULL); int add_line = __LINE__;
  df_deferred_callback(d, df_int(1));
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
  char line[512];
  snprintf(line, sizeof line,
           "    stage 2 callback divide\n"
           "  File \"%s\", line %d, in divide\n",
           __FILE__, raise_line);
  assert_true(contains(last_text, line));
  snprintf(line, sizeof line,
           "  stage 2 callback divide (added at %s:%d in %s) failed: "
           "ZeroDivisionError raised at %s:%d in divide\n",
           __FILE__, add_line, __func__, __FILE__, raise_line);
  assert_true(contains(last_text, line));
}

static void test_causal_trace_of_a_long_path_is_abridged(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  for (int i = 0; i < 12; i++) df_deferred_add_callback(d, pass, NULL);
  df_deferred_errback(d, df_failure_new(&runtime_error, "long"));
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
  assert_true(contains(last_text, "  stage 7 (added at "));
  assert_false(contains(last_text, "  stage 8 (added at "));
  assert_true(contains(last_text, "  ... and 4 more steps\n"));
}

static void test_fired_with_failure_trace_line(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new(); int create_line = __LINE__;
  df_failure *f = df_failure_new(&runtime_error, "direct"); int raise_l = __LINE__;
  df_deferred_errback(d, f); int fire_line = __LINE__;
  void *addr = d;
  df_deferred_unref(d);
  char line[512];
  snprintf(line, sizeof line,
           "Causal trace:\n"
           "  <Deferred at %p> (created at %s:%d in %s) was fired with it at "
           "%s:%d in %s (RuntimeError raised at %s:%d in %s)\n",
           addr, __FILE__, create_line, __func__, __FILE__, fire_line,
           __func__, __FILE__, raise_l, __func__);
  assert_true(contains(last_text, line));
}

/* --- the sweep, the handler and the default output ------------------------- */

static void test_report_unhandled_now_reports_each_live_failure_once(
    void **state) {
  (void)state;
  df_deferred *a = df_fail(df_failure_new(&runtime_error, "a"));
  df_deferred *b = df_fail(df_failure_new(&runtime_error, "b"));
  df_deferred *ok = df_succeed(df_int(1));
  assert_int_equal(df_report_unhandled_now(), 2);
  assert_int_equal(reports, 2);
  assert_false(last_report.at_exit);
  assert_int_equal(df_report_unhandled_now(), 0); /* once each */
  /* the failure stays where it was */
  assert_true(df_result_is_failure(*df_deferred_result(a)));
  df_deferred_unref(a);
  df_deferred_unref(b);
  df_deferred_unref(ok);
  assert_int_equal(reports, 2); /* not reported again when freed */
}

static void test_set_handler_returns_previous_one(void **state) {
  (void)state;
  assert_ptr_equal(df_set_unhandled_handler(NULL, NULL), capture);
  assert_null(df_set_unhandled_handler(capture, NULL));
}

static void *handler_arg_seen;
static void capture_arg(const df_unhandled *report, void *arg) {
  (void)report;
  handler_arg_seen = arg;
}

static void test_handler_gets_its_arg(void **state) {
  (void)state;
  static int token;
  df_set_unhandled_handler(capture_arg, &token);
  df_deferred_unref(df_fail(df_failure_new(NULL, "x")));
  assert_ptr_equal(handler_arg_seen, &token);
}

/* The default handler writes df_unhandled_format's text to stderr. */
static void test_default_handler_writes_report_to_stderr(void **state) {
  (void)state;
  df_set_unhandled_handler(NULL, NULL);
  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  fflush(stderr);
  int saved = dup(2);
  dup2(fileno(tmp), 2);
  df_deferred_unref(df_fail(df_failure_new(&runtime_error, "to stderr")));
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  char text[4096] = {0};
  rewind(tmp);
  size_t n = fread(text, 1, sizeof text - 1, tmp);
  fclose(tmp);
  text[n] = '\0';
  const char *start = "Unhandled error in Deferred:\nTraceback ";
  assert_int_equal(strncmp(text, start, strlen(start)), 0);
  assert_true(contains(text, "RuntimeError: to stderr\n"));
  assert_true(contains(text, "whose last reference was released\n"));
}

static void test_format_of_exit_sweep_report_says_still_alive(void **state) {
  (void)state;
  df_deferred *d = df_fail(df_failure_new(&runtime_error, "alive"));
  df_unhandled r = {df_deferred_result(d)->u.failure, d,
                    df_deferred_created_site(d), df_deferred_created_site(d),
                    true};
  char *text = df_unhandled_format(&r);
  assert_true(contains(text, ", still alive at exit\n"));
  assert_false(contains(text, "last reference"));
  free(text);
  assert_null(df_unhandled_format(NULL));
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

/* A handler may keep its own reference to the failure. */
static df_failure *kept;
static void keep_failure(const df_unhandled *report, void *arg) {
  (void)arg;
  reports++;
  kept = df_failure_ref((df_failure *)report->failure);
}

static void test_handler_may_keep_a_reference_to_the_failure(void **state) {
  (void)state;
  df_set_unhandled_handler(keep_failure, NULL);
  df_deferred_unref(df_fail(df_failure_new(&runtime_error, "kept")));
  assert_int_equal(reports, 1);
  assert_string_equal(df_failure_message(kept), "kept");
  df_failure_unref(kept);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      T(test_unhandled_failure_reported_when_last_reference_goes),
      T(test_unhandled_failure_from_inner_frame_reported_once),
      T(test_unhandled_failure_in_freed_wait_cycle_reported_once),
      T(test_report_text_is_a_traceback_not_a_repr),
      T(test_report_in_debug_mode_has_creation_and_fire_backtraces),
      T(test_report_without_debug_mode_has_no_backtraces),
      T(test_failure_taken_by_returning_deferred_is_not_reported),
      T(test_failure_cleared_by_chaining_is_not_reported),
      T(test_wait_group_without_outside_refs_is_freed),
      T(test_failure_in_paused_deferred_is_not_reported),
      T(test_failure_marked_before_pause_is_reported),
      T(test_handled_failure_is_not_reported),
      T(test_failure_handled_by_errback_added_later_is_not_reported),
      T(test_failure_taken_out_is_not_reported),
      T(test_failure_handed_to_waiter_is_reported_by_the_waiter),
      T(test_failure_taken_over_is_reported_by_the_taker),
      T(test_causal_trace_lists_errbacks_that_passed_it_on),
      T(test_trace_numbers_the_failing_stage_after_successes),
      T(test_causal_trace_of_a_long_path_is_abridged),
      T(test_fired_with_failure_trace_line),
      T(test_report_unhandled_now_reports_each_live_failure_once),
      T(test_set_handler_returns_previous_one),
      T(test_handler_gets_its_arg),
      T(test_default_handler_writes_report_to_stderr),
      T(test_format_of_exit_sweep_report_says_still_alive),
      T(test_handler_may_keep_a_reference_to_the_failure),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
