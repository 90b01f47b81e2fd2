/* LoopingCall (deferred/looping.h), on the test clock.
 *
 * Ports of twisted/test/test_task.py's LoopTests, and of its
 * ReactorLoopTests, which need nothing of a real reactor once run on the
 * test clock. Skipped, with no C meaning:
 *   - LoopTests.test_defaultClock: there is no default reactor; the clock
 *     is an argument of the constructor;
 *   - LoopTests.test_reprFunction, test_reprMethod: a C function has no
 *     name at run time, and a loop has no repr;
 *   - LoopTests.test_deferredDeprecation: the deprecated `deferred`
 *     attribute was never ported (start() returns the deferred).
 * Then what C adds: errors for calls at the wrong time, the start
 * deferred's value and its reference, stop and restart in each state,
 * loops released while running (they run on, as in Twisted) or outliving
 * their clock, owned arguments, and out of memory at every allocation.
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
static df_looping_call *loop; /* the loop under test, for functions */

/* What the functions saw: the time of each run and its count. */
static struct {
  double times[64];
  int64_t counts[64];
  size_t n;
} runs;

static void record(int64_t count) {
  assert_true(runs.n < 64);
  runs.times[runs.n] = df_clock_seconds(clock_);
  runs.counts[runs.n] = count;
  runs.n++;
}

static int setup(void **state) {
  clock_ = df_test_clock_new();
  loop = NULL;
  memset(&runs, 0, sizeof runs);
  return clock_ ? support_setup(state) : -1;
}

static int teardown(void **state) {
  df_clock_free(clock_);
  df_looping_call_unref(loop);
  return support_teardown(state);
}

static size_t pending_calls(void) {
  return df_test_clock_get_delayed_calls(clock_, NULL, 0);
}

static void assert_times(const double *expected, size_t n) {
  assert_int_equal(runs.n, n);
  for (size_t i = 0; i < n; i++)
    if (runs.times[i] != expected[i])
      fail_msg("run %zu at %.17g, expected %.17g", i, runs.times[i], expected[i]);
}

static void assert_counts(const int64_t *expected, size_t n) {
  assert_int_equal(runs.n, n);
  for (size_t i = 0; i < n; i++) assert_int_equal(runs.counts[i], expected[i]);
}

/* A function that records the time. */
static df_result record_time(void *arg) {
  (void)arg;
  record(0);
  return df_none();
}

/* A counting function that records time and count. */
static df_result record_count(int64_t count, void *arg) {
  (void)arg;
  record(count);
  return df_none();
}

static df_looping_call *new_loop(df_function fn, void *arg) {
  df_looping_call *lc;
  assert_int_equal(df_looping_call_new(clock_, fn, arg, NULL, &lc), 0);
  return lc;
}

static df_looping_call *new_counting_loop(df_count_function fn, void *arg) {
  df_looping_call *lc;
  assert_int_equal(df_looping_call_with_count(clock_, fn, arg, NULL, &lc), 0);
  return lc;
}

/* Asserts `d` fired with `lc` (Twisted's assertIs(result, lc)). */
static void assert_fired_with_loop(df_deferred *d, df_looping_call *lc) {
  const df_result *r = df_deferred_result(d);
  assert_non_null(r);
  assert_ptr_equal(df_looping_call_of(*r), lc);
}

/* "Type: message" of d's failure, or "(no failure)". */
static const char *failure_text(df_deferred *d) {
  static char text[256];
  const df_result *r = df_deferred_result(d);
  if (!r || !df_result_is_failure(*r)) return "(no failure)";
  df_failure_brief(r->u.failure, text, sizeof text);
  return text;
}

/* A delayed call firing the deferred it owns a reference to. */
static void fire_none(void *arg) { df_deferred_callback(arg, df_none()); }
static void fail_test_exception(void *arg) {
  df_deferred_errback(arg, df_failure_new(&generic_error, "TestException"));
}
static void deferred_release(void *arg) { df_deferred_unref(arg); }

/* clock.callLater(delay, fire, d), the call holding its own reference. */
static void fire_later(double delay, void (*fire)(void *), df_deferred *d) {
  assert_int_equal(df_clock_call_later_owned(clock_, delay, fire,
                                             df_deferred_ref(d),
                                             deferred_release, NULL),
                   0);
}

/* === test_task.py: LoopTests ============================================= */

/* test_task.py: LoopTests.test_callbackTimeSkips */
static double call_duration;
static df_result record_and_take_time(void *arg) {
  (void)arg;
  record(0);
  df_test_clock_advance(clock_, call_duration);
  return df_none();
}

static void test_time_passed_inside_the_call_skips_intervals(void **state) {
  (void)state;
  loop = new_loop(record_and_take_time, NULL);
  call_duration = 2;
  assert_int_equal(df_looping_call_start(loop, 0.5, true, NULL), 0);
  assert_times((double[]){0}, 1);
  assert_true(df_clock_seconds(clock_) == 2);
  df_test_clock_advance(clock_, 0); /* 2 is the present: skipped */
  assert_times((double[]){0}, 1);
  call_duration = 1;
  df_test_clock_advance(clock_, 0.5);
  assert_times((double[]){0, 2.5}, 2);
  assert_true(df_clock_seconds(clock_) == 3.5);
  df_test_clock_advance(clock_, 0);
  assert_times((double[]){0, 2.5}, 2);
  call_duration = 0;
  df_test_clock_advance(clock_, 0.5);
  assert_times((double[]){0, 2.5, 4}, 3);
  assert_true(df_clock_seconds(clock_) == 4);
}

/* test_task.py: LoopTests.test_reactorTimeSkips */
static void test_time_passed_between_calls_skips_intervals(void **state) {
  (void)state;
  loop = new_loop(record_time, NULL);
  df_looping_call_start(loop, 0.5, true, NULL);
  assert_times((double[]){0}, 1);
  df_test_clock_advance(clock_, 2);
  assert_times((double[]){0, 2}, 2);
  df_test_clock_advance(clock_, 1);
  assert_times((double[]){0, 2, 3}, 3);
  df_test_clock_advance(clock_, 0);
  assert_times((double[]){0, 2, 3}, 3);
}

/* test_task.py: LoopTests.test_reactorTimeCountSkips */
static void test_count_includes_skipped_intervals(void **state) {
  (void)state;
  const double interval = 0.5, realistic_delay = 0.01;
  loop = new_counting_loop(record_count, NULL);
  df_looping_call_start(loop, interval, true, NULL);
  assert_counts((int64_t[]){1}, 1);
  assert_times((double[]){0}, 1);
  df_test_clock_advance(clock_, interval + realistic_delay);
  assert_counts((int64_t[]){1, 1}, 2);
  assert_times((double[]){0, interval + realistic_delay}, 2);
  df_test_clock_advance(clock_, 3 * interval + realistic_delay);
  double t3 = 4 * interval + 2 * realistic_delay;
  assert_counts((int64_t[]){1, 1, 3}, 3);
  assert_times((double[]){0, interval + realistic_delay, t3}, 3);
  df_test_clock_advance(clock_, 0);
  assert_int_equal(runs.n, 3);
}

/* test_task.py: LoopTests.test_countLengthyIntervalCounts */
static void test_count_counts_only_whole_intervals(void **state) {
  (void)state;
  const double interval = 0.5, realistic_delay = 0.01;
  loop = new_counting_loop(record_count, NULL);
  df_looping_call_start(loop, interval, true, NULL);
  df_test_clock_advance(clock_, interval + realistic_delay);
  df_test_clock_advance(clock_, interval * 1.75);
  df_test_clock_advance(clock_, interval * 0.25);
  assert_counts((int64_t[]){1, 1, 1, 1}, 4);
  assert_times((double[]){0, interval + realistic_delay,
                          2.75 * interval + realistic_delay,
                          3.0 * interval + realistic_delay},
               4);
}

/* test_task.py: LoopTests.test_withCountFloatingPointBoundary */
static void test_count_never_zero_at_floating_point_boundary(void **state) {
  (void)state;
  const int count = 10;
  const double timespan = 1.0, interval = timespan / count;
  loop = new_counting_loop(record_count, NULL);
  df_looping_call_start(loop, interval, false, NULL);
  for (int i = 0; i < count; i++) df_test_clock_advance(clock_, interval);
  double sum = 0;
  for (int i = 0; i < count; i++) sum += interval; /* Python's sum() */
  double epsilon = timespan - sum;
  df_test_clock_advance(clock_, epsilon);
  assert_true(fabs(epsilon) > 0.0);
  assert_true(df_clock_seconds(clock_) >= timespan);
  int64_t total = 0;
  for (size_t i = 0; i < runs.n; i++) {
    assert_true(runs.counts[i] != 0);
    total += runs.counts[i];
  }
  assert_int_equal(total, count);
}

/* test_task.py: LoopTests.test_withCountIntervalZero */
static df_result count_then_stop_at_five(int64_t count, void *arg) {
  (void)arg;
  record(count);
  if (runs.n > 4) assert_int_equal(df_looping_call_stop(loop), 0);
  return df_none();
}

static void test_count_is_one_with_interval_zero(void **state) {
  (void)state;
  loop = new_counting_loop(count_then_stop_at_five, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 0, false, &d);
  df_test_clock_advance(clock_, 0);
  assert_fired_with_loop(d, loop);
  assert_counts((int64_t[]){1, 1, 1, 1, 1}, 5);
  df_deferred_unref(d);
}

/* test_task.py: LoopTests.test_withCountIntervalZeroDelay */
static df_deferred *second_run_waits_on;
static df_result count_wait_at_two_stop_at_five(int64_t count, void *arg) {
  (void)arg;
  record(count);
  if (runs.n == 2) return df_wait_on(df_deferred_ref(second_run_waits_on));
  if (runs.n > 4) df_looping_call_stop(loop);
  return df_none();
}

static void test_count_is_one_with_interval_zero_after_a_wait(void **state) {
  (void)state;
  second_run_waits_on = df_deferred_new();
  loop = new_counting_loop(count_wait_at_two_stop_at_five, NULL);
  df_looping_call_start(loop, 0, false, NULL);
  df_test_clock_advance(clock_, 0);
  assert_counts((int64_t[]){1, 1}, 2);
  df_test_clock_advance(clock_, 2);
  assert_counts((int64_t[]){1, 1}, 2);
  df_deferred_callback(second_run_waits_on, df_none());
  df_test_clock_advance(clock_, 0);
  assert_counts((int64_t[]){1, 1, 1, 1, 1}, 5);
  df_deferred_unref(second_run_waits_on);
}

/* test_task.py: LoopTests.test_withCountIntervalZeroDelayThenNonZeroInterval */
static df_result count_wait_at_two(int64_t count, void *arg) {
  (void)arg;
  record(count);
  if (runs.n == 2) return df_wait_on(df_deferred_ref(second_run_waits_on));
  return df_none();
}

static void test_count_after_interval_zero_then_two(void **state) {
  (void)state;
  second_run_waits_on = df_deferred_new();
  loop = new_counting_loop(count_wait_at_two, NULL);
  df_looping_call_start(loop, 0, false, NULL);
  df_test_clock_advance(clock_, 10);
  assert_counts((int64_t[]){1, 1}, 2);
  assert_int_equal(df_looping_call_set_interval(loop, 2), 0);
  df_deferred_callback(second_run_waits_on, df_none());
  df_test_clock_advance(clock_, 7);
  assert_counts((int64_t[]){1, 1, 3}, 3);
  df_test_clock_advance(clock_, 2);
  assert_counts((int64_t[]){1, 1, 3, 1}, 4);
  df_test_clock_advance(clock_, 4);
  assert_counts((int64_t[]){1, 1, 3, 1, 2}, 5);
  df_deferred_unref(second_run_waits_on);
}

/* test_task.py: LoopTests.testBasicFunction */
static df_result record_arg(void *arg) {
  ev("%s", (const char *)arg);
  return df_none();
}

static void test_loop_runs_every_interval_with_its_argument(void **state) {
  (void)state;
  loop = new_loop(record_arg, "a,b,d");
  df_deferred *d;
  assert_int_equal(df_looping_call_start(loop, 0.1, true, &d), 0);
  double timings[] = {0.05, 0.1, 0.1};
  df_test_clock_pump(clock_, timings, 3);
  assert_string_equal(events, "a,b,d a,b,d a,b,d ");
  assert_false(df_deferred_called(d));
  assert_int_equal(df_looping_call_stop(loop), 0);
  assert_fired_with_loop(d, loop);
  assert_int_equal(pending_calls(), 0);
  df_deferred_unref(d);
}

/* test_task.py: LoopTests.testDelayedStart */
static void test_delayed_start_waits_one_interval(void **state) {
  (void)state;
  loop = new_loop(record_time, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 0.1, false, &d);
  double timings[] = {0.05, 0.1, 0.1};
  df_test_clock_pump(clock_, timings, 3);
  assert_int_equal(runs.n, 2);
  df_looping_call_stop(loop);
  assert_fired_with_loop(d, loop);
  assert_int_equal(pending_calls(), 0);
  df_deferred_unref(d);
}

/* test_task.py: LoopTests.testBadDelay */
static void test_negative_interval_is_refused(void **state) {
  (void)state;
  loop = new_loop(record_time, NULL);
  df_deferred *d = (df_deferred *)&d;
  assert_int_equal(df_looping_call_start(loop, -1, true, &d), DF_EINVAL);
  assert_null(d);
  assert_int_equal(df_looping_call_start(loop, NAN, true, NULL), DF_EINVAL);
  assert_false(df_looping_call_running(loop));
  assert_int_equal(runs.n, 0);
}

/* test_task.py: LoopTests._stoppingTest */
static void stopping_test(double delay) {
  loop = new_loop(record_time, NULL);
  df_looping_call_start(loop, delay, false, NULL);
  df_looping_call_stop(loop);
  assert_int_equal(runs.n, 0);
  assert_int_equal(pending_calls(), 0);
}

/* test_task.py: LoopTests.testStopAtOnce */
static void test_stop_at_once_with_interval_zero(void **state) {
  (void)state;
  stopping_test(0);
}

/* test_task.py: LoopTests.testStoppingBeforeDelayedStart */
static void test_stop_before_delayed_start(void **state) {
  (void)state;
  stopping_test(10);
}

/* test_task.py: LoopTests.test_reset */
static void test_reset_skips_the_next_run(void **state) {
  (void)state;
  loop = new_loop(record_time, NULL);
  df_looping_call_start(loop, 2, false, NULL);
  df_test_clock_advance(clock_, 1);
  assert_int_equal(df_looping_call_reset(loop), 0);
  df_test_clock_advance(clock_, 1);
  assert_int_equal(runs.n, 0);
  df_test_clock_advance(clock_, 1);
  assert_times((double[]){3}, 1);
}

/* === test_task.py: ReactorLoopTests, on the test clock ===================== */

/* test_task.py: ReactorLoopTests.testFailure */
static df_result raise_test_exception(void *arg) {
  (void)arg;
  return df_raise(&generic_error, "TestException");
}

static void test_failure_fails_the_start_deferred(void **state) {
  (void)state;
  loop = new_loop(raise_test_exception, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 0.1, true, &d);
  assert_string_equal(failure_text(d), "GenericError: TestException");
  assert_false(df_looping_call_running(loop));
  assert_int_equal(pending_calls(), 0);
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
}

/* test_task.py: ReactorLoopTests.testFailAndStop */
static df_result stop_then_raise(void *arg) {
  (void)arg;
  assert_int_equal(df_looping_call_stop(loop), 0);
  return df_raise(&generic_error, "TestException");
}

static void test_stop_then_failure_fails_the_start_deferred(void **state) {
  (void)state;
  loop = new_loop(stop_then_raise, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 0.1, true, &d);
  assert_string_equal(failure_text(d), "GenericError: TestException");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
}

/* test_task.py: ReactorLoopTests.testEveryIteration */
static df_result stop_after_six(void *arg) {
  (void)arg;
  record(0);
  if (runs.n > 5) df_looping_call_stop(loop);
  return df_none();
}

static void test_interval_zero_runs_every_iteration(void **state) {
  (void)state;
  loop = new_loop(stop_after_six, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 0, true, &d);
  df_test_clock_advance(clock_, 0);
  assert_fired_with_loop(d, loop);
  assert_int_equal(runs.n, 6);
  df_deferred_unref(d);
}

/* test_task.py: ReactorLoopTests.testStopAtOnceLater */
static void stop_loop(void *arg) {
  (void)arg;
  assert_int_equal(df_looping_call_stop(loop), 0);
}

static void test_stop_from_a_clock_call_prevents_runs(void **state) {
  (void)state;
  loop = new_loop(record_time, NULL);
  df_looping_call_start(loop, 1, false, NULL);
  df_clock_call_later(clock_, 0, stop_loop, NULL, NULL);
  df_test_clock_advance(clock_, 0);
  df_test_clock_advance(clock_, 5);
  assert_int_equal(runs.n, 0);
}

/* test_task.py: ReactorLoopTests.testWaitDeferred */
static df_result stop_when_fired(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  df_looping_call_stop(loop);
  return df_none();
}

static df_result wait_one_second_then_stop(void *arg) {
  (void)arg;
  record(0);
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, stop_when_fired, NULL);
  fire_later(1, fire_none, d);
  return df_wait_on(d);
}

static void test_next_run_waits_for_the_returned_deferred(void **state) {
  (void)state;
  loop = new_loop(wait_one_second_then_stop, NULL);
  df_looping_call_start(loop, 0.2, true, NULL);
  double timings[] = {0.2, 0.8};
  df_test_clock_pump(clock_, timings, 2);
  assert_int_equal(runs.n, 1);
  assert_int_equal(pending_calls(), 0);
  assert_false(df_looping_call_running(loop));
}

/* test_task.py: ReactorLoopTests.testFailurePropagation */
static df_result fail_in_a_third(void *arg) {
  (void)arg;
  df_deferred *d = df_deferred_new();
  fire_later(0.3, fail_test_exception, d);
  return df_wait_on(d);
}

static void test_returned_deferred_failure_fails_the_loop(void **state) {
  (void)state;
  loop = new_loop(fail_in_a_third, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 1, true, &d);
  double timings[] = {0.3};
  df_test_clock_pump(clock_, timings, 1);
  assert_int_equal(pending_calls(), 0);
  assert_string_equal(failure_text(d), "GenericError: TestException");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
}

/* test_task.py: ReactorLoopTests.test_deferredWithCount */
static df_deferred *first_run_waits_on;
static df_result wait_on_first_run(int64_t count, void *arg) {
  (void)arg;
  record(count);
  if (runs.n == 1) return df_wait_on(df_deferred_ref(first_run_waits_on));
  return df_none();
}

static void test_count_includes_intervals_spent_waiting(void **state) {
  (void)state;
  first_run_waits_on = df_deferred_new();
  loop = new_counting_loop(wait_on_first_run, NULL);
  df_looping_call_start(loop, 0.2, false, NULL);
  assert_int_equal(runs.n, 0);
  double first[] = {0.2, 0.4}, then[] = {0.2};
  df_test_clock_pump(clock_, first, 2);
  assert_int_equal(runs.n, 1);
  df_deferred_callback(first_run_waits_on, df_none());
  df_test_clock_pump(clock_, then, 1);
  assert_counts((int64_t[]){1, 3}, 2);
  df_deferred_unref(first_run_waits_on);
}

/* === what C adds ========================================================= */

static void test_calls_at_the_wrong_time_are_refused(void **state) {
  (void)state;
  df_looping_call *lc = (df_looping_call *)&lc;
  assert_int_equal(df_looping_call_new(NULL, record_time, NULL, NULL, &lc), DF_EINVAL);
  assert_null(lc);
  assert_int_equal(df_looping_call_new(clock_, NULL, NULL, NULL, &lc), DF_EINVAL);
  assert_int_equal(df_looping_call_with_count(clock_, NULL, NULL, NULL, &lc), DF_EINVAL);
  assert_int_equal(df_looping_call_new(clock_, record_time, NULL, NULL, NULL), DF_EINVAL);
  destroyed = 0;
  assert_int_equal(df_looping_call_new(NULL, record_time, &lc, count_destroy, &lc),
                   DF_EINVAL);
  assert_int_equal(destroyed, 1); /* an owned argument, released */

  loop = new_loop(record_time, NULL);
  assert_int_equal(df_looping_call_stop(loop), DF_EINVAL);  /* not running */
  assert_int_equal(df_looping_call_reset(loop), DF_EINVAL); /* not running */
  assert_int_equal(df_looping_call_start(loop, 1, false, NULL), 0);
  df_deferred *d = (df_deferred *)&d;
  assert_int_equal(df_looping_call_start(loop, 1, false, &d), DF_EINVAL);
  assert_null(d);
  assert_int_equal(pending_calls(), 1); /* the second start changed nothing */
  assert_int_equal(df_looping_call_stop(loop), 0);
  assert_int_equal(df_looping_call_stop(loop), DF_EINVAL);
  assert_int_equal(df_looping_call_set_interval(loop, -1), DF_EINVAL);
  assert_int_equal(df_looping_call_set_interval(loop, NAN), DF_EINVAL);
  assert_true(df_looping_call_interval(loop) == 1);
  /* NULL everywhere */
  assert_int_equal(df_looping_call_start(NULL, 1, true, NULL), DF_EINVAL);
  assert_int_equal(df_looping_call_stop(NULL), DF_EINVAL);
  assert_int_equal(df_looping_call_reset(NULL), DF_EINVAL);
  assert_int_equal(df_looping_call_set_interval(NULL, 1), DF_EINVAL);
  assert_false(df_looping_call_running(NULL));
  assert_true(isnan(df_looping_call_interval(NULL)));
  assert_true(isnan(df_looping_call_start_time(NULL)));
  assert_null(df_looping_call_next_call(NULL));
  assert_null(df_looping_call_clock(NULL));
  assert_null(df_looping_call_ref(NULL));
  df_looping_call_unref(NULL);
  assert_null(df_looping_call_of(df_int(1)));
  assert_null(df_looping_call_of(df_pointer(&d, NULL)));
}

/* Twisted's attributes: interval and starttime None before a start, the
 * next call's time, running. */
static void test_state_before_during_and_after(void **state) {
  (void)state;
  loop = new_loop(record_time, NULL);
  assert_true(isnan(df_looping_call_interval(loop)));
  assert_true(isnan(df_looping_call_start_time(loop)));
  assert_ptr_equal(df_looping_call_clock(loop), clock_);
  df_test_clock_advance(clock_, 10);
  df_looping_call_start(loop, 3, false, NULL);
  assert_true(df_looping_call_running(loop));
  assert_true(df_looping_call_start_time(loop) == 10);
  assert_true(df_looping_call_interval(loop) == 3);
  assert_true(df_delayed_call_time(df_looping_call_next_call(loop)) == 13);
  df_test_clock_advance(clock_, 4); /* ran at 14: next at 16 */
  assert_true(df_delayed_call_time(df_looping_call_next_call(loop)) == 16);
  df_test_clock_advance(clock_, 1);
  assert_int_equal(df_looping_call_reset(loop), 0); /* at 15: next at 18 */
  assert_true(df_looping_call_start_time(loop) == 15);
  assert_true(df_delayed_call_time(df_looping_call_next_call(loop)) == 18);
  assert_int_equal(pending_calls(), 1);
  df_looping_call_stop(loop);
  assert_false(df_looping_call_running(loop));
  assert_null(df_looping_call_next_call(loop));
}

/* stop() from inside the function, while its deferred is pending, and
 * the loop restarted from the start deferred's callback. */
static df_deferred *pending;
static df_result return_pending(void *arg) {
  (void)arg;
  record(0);
  return df_wait_on(df_deferred_ref(pending));
}

static void test_stop_while_waiting_fires_when_the_deferred_does(void **state) {
  (void)state;
  pending = df_deferred_new();
  loop = new_loop(return_pending, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 1, true, &d);
  assert_int_equal(df_looping_call_stop(loop), 0);
  assert_false(df_deferred_called(d)); /* the function's deferred is pending */
  assert_int_equal(df_looping_call_reset(loop), DF_EINVAL);
  df_deferred_callback(pending, df_none());
  assert_fired_with_loop(d, loop);
  assert_int_equal(pending_calls(), 0);
  df_deferred_unref(d);
  df_deferred_unref(pending);
}

static void test_stop_while_waiting_then_failure_fails_it(void **state) {
  (void)state;
  pending = df_deferred_new();
  loop = new_loop(return_pending, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 1, true, &d);
  df_looping_call_stop(loop);
  df_deferred_errback(pending, df_failure_new(&generic_error, "late"));
  assert_string_equal(failure_text(d), "GenericError: late");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
  df_deferred_unref(pending);
}

/* Twisted: a loop stopped while waiting and started again replaces its
 * deferred, which then never fires. */
static void test_restart_while_waiting_replaces_the_deferred(void **state) {
  (void)state;
  pending = df_deferred_new();
  loop = new_loop(return_pending, NULL);
  df_deferred *d1, *d2;
  df_looping_call_start(loop, 1, true, &d1);
  df_looping_call_stop(loop);
  assert_int_equal(df_looping_call_start(loop, 1, false, &d2), 0);
  df_deferred_callback(pending, df_none());
  /* the function's deferred schedules a run too: two runs pending */
  assert_int_equal(pending_calls(), 2);
  df_test_clock_advance(clock_, 1);
  assert_int_equal(runs.n, 3);
  df_looping_call_stop(loop);
  assert_fired_with_loop(d2, loop);
  assert_false(df_deferred_called(d1));
  df_deferred_unref(d1);
  df_deferred_unref(d2);
  df_deferred_unref(pending);
}

static df_result restart(df_result r, void *arg) {
  df_looping_call *lc = df_looping_call_of(r);
  assert_ptr_equal(lc, loop);
  assert_false(df_looping_call_running(lc));
  df_deferred **again = arg;
  assert_int_equal(df_looping_call_start(lc, 2, false, again), 0);
  return r;
}

static void test_restart_from_the_stop_callback(void **state) {
  (void)state;
  loop = new_loop(record_time, NULL);
  df_deferred *d, *again = NULL;
  df_looping_call_start(loop, 1, true, &d);
  df_deferred_add_callback(d, restart, &again);
  df_looping_call_stop(loop);
  assert_non_null(again);
  assert_true(df_looping_call_running(loop));
  df_test_clock_advance(clock_, 2);
  assert_times((double[]){0, 2}, 2);
  df_looping_call_stop(loop);
  assert_fired_with_loop(again, loop);
  df_deferred_unref(d);
  df_deferred_unref(again);
}

/* The start deferred's value holds a reference to the loop: the loop
 * outlives its owner's reference as long as the value. */
static void test_start_deferred_value_holds_the_loop(void **state) {
  (void)state;
  df_looping_call *lc;
  destroyed = 0;
  int arg;
  assert_int_equal(df_looping_call_new(clock_, record_time, &arg, count_destroy, &lc), 0);
  df_deferred *d;
  df_looping_call_start(lc, 1, false, &d);
  df_looping_call_stop(lc);
  df_looping_call_unref(lc);
  assert_int_equal(destroyed, 0);
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_ptr_equal(df_looping_call_of(r), lc);
  assert_false(df_looping_call_running(df_looping_call_of(r)));
  df_result_drop(r);
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(last_destroyed, &arg);
  df_deferred_unref(d);
}

/* A running loop released by its owner runs on (as in Twisted); freeing
 * the clock lets it go, and its owned argument is released once. */
static void test_released_running_loop_runs_until_the_clock_goes(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_looping_call *lc;
  destroyed = 0;
  int arg;
  df_looping_call_new(c, record_arg, "tick", NULL, &lc);
  df_looping_call_unref(lc); /* never started: freed */
  df_looping_call_new(c, record_arg, "tick", NULL, &lc);
  df_looping_call_start(lc, 1, true, NULL);
  df_looping_call_unref(lc);
  df_test_clock_advance(c, 1);
  df_test_clock_advance(c, 1);
  assert_string_equal(events, "tick tick tick ");
  assert_int_equal(df_looping_call_with_count(c, record_count, &arg,
                                              count_destroy, &lc),
                   0);
  df_looping_call_start(lc, 1, false, NULL);
  df_looping_call_unref(lc);
  df_clock_free(c);
  assert_int_equal(destroyed, 1);
  assert_int_equal(reports, 0); /* the unfired start deferreds: no report */
}

/* A running loop whose clock is freed: stop() still fires the deferred;
 * nothing else may be done. */
static void test_stop_after_the_clock_is_freed(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_looping_call *lc;
  df_looping_call_new(c, record_arg, "x", NULL, &lc);
  df_deferred *d;
  df_looping_call_start(lc, 1, false, &d);
  df_clock_free(c);
  assert_true(df_looping_call_running(lc));
  assert_null(df_looping_call_clock(lc));
  assert_int_equal(df_looping_call_reset(lc), DF_EINVAL);
  assert_int_equal(df_looping_call_stop(lc), 0);
  assert_fired_with_loop(d, lc);
  assert_int_equal(df_looping_call_start(lc, 1, false, NULL), DF_EINVAL);
  df_deferred_unref(d);
  df_looping_call_unref(lc);
}

/* The clock freed while the loop waits on its function's deferred: when
 * that succeeds, the loop schedules nothing (there is no clock), and it
 * ends as one whose run was discarded; a failure still fails it. */
static void test_clock_freed_while_waiting(void **state) {
  (void)state;
  for (int fail = 0; fail < 2; fail++) {
    df_clock *c = df_test_clock_new(), *mine = clock_;
    clock_ = c;
    pending = df_deferred_new();
    df_looping_call *lc;
    df_looping_call_new(c, return_pending, NULL, NULL, &lc);
    df_deferred *d;
    df_looping_call_start(lc, 1, true, &d);
    df_clock_free(c);
    clock_ = mine;
    if (fail) {
      df_deferred_errback(pending, df_failure_new(&generic_error, "gone"));
      assert_string_equal(failure_text(d), "GenericError: gone");
      assert_false(df_looping_call_running(lc));
      df_deferred_add_errback(d, handle, NULL);
    } else {
      df_deferred_callback(pending, df_none());
      assert_false(df_deferred_called(d));
      assert_null(df_looping_call_next_call(lc));
      assert_int_equal(df_looping_call_stop(lc), 0);
      assert_fired_with_loop(d, lc);
    }
    df_deferred_unref(d);
    df_deferred_unref(pending);
    df_looping_call_unref(lc);
  }
}

/* A released loop waiting on a deferred: the deferred's stage keeps it;
 * if the deferred is freed unfired, the loop goes with it. */
static void test_released_loop_waiting_on_a_deferred(void **state) {
  (void)state;
  pending = df_deferred_new();
  df_looping_call *lc;
  destroyed = 0;
  int arg;
  df_looping_call_new(clock_, return_pending, &arg, count_destroy, &lc);
  df_looping_call_start(lc, 1, true, NULL);
  df_looping_call_unref(lc);
  assert_int_equal(destroyed, 0);
  df_deferred_unref(pending); /* can never fire now */
  assert_int_equal(destroyed, 1);
  assert_int_equal(pending_calls(), 0);
}

/* A loop waiting on its function's deferred, or with a run scheduled,
 * let go in every order with its start deferred, that deferred (fired
 * or released) and the clock: nothing leaks (valgrind and ASan), the
 * owned argument is released once, nothing is reported. */
static void test_loop_dropped_in_every_order(void **state) {
  (void)state;
  static const int orders[24][4] = {
      {0, 1, 2, 3}, {0, 1, 3, 2}, {0, 2, 1, 3}, {0, 2, 3, 1}, {0, 3, 1, 2},
      {0, 3, 2, 1}, {1, 0, 2, 3}, {1, 0, 3, 2}, {1, 2, 0, 3}, {1, 2, 3, 0},
      {1, 3, 0, 2}, {1, 3, 2, 0}, {2, 0, 1, 3}, {2, 0, 3, 1}, {2, 1, 0, 3},
      {2, 1, 3, 0}, {2, 3, 0, 1}, {2, 3, 1, 0}, {3, 0, 1, 2}, {3, 0, 2, 1},
      {3, 1, 0, 2}, {3, 1, 2, 0}, {3, 2, 0, 1}, {3, 2, 1, 0}};
  for (int fire = 0; fire < 2; fire++)
    for (int o = 0; o < 24; o++) {
      df_clock *c = df_test_clock_new();
      df_clock *mine = clock_;
      clock_ = c;
      pending = df_deferred_new();
      df_looping_call *lc;
      int arg;
      destroyed = 0;
      df_looping_call_new(c, return_pending, &arg, count_destroy, &lc);
      df_deferred *d;
      df_looping_call_start(lc, 1, true, &d);
      for (int k = 0; k < 4; k++) {
        switch (orders[o][k]) {
        case 0: df_looping_call_unref(lc); break;
        case 1: df_deferred_unref(d); break;
        case 2: /* fired: the loop schedules its next run, if it can */
          if (fire) df_deferred_callback(pending, df_none());
          df_deferred_unref(pending);
          break;
        case 3: df_clock_free(c); break;
        }
      }
      clock_ = mine;
      assert_int_equal(destroyed, 1);
    }
  assert_int_equal(reports, 0);
}

/* A counting loop of interval 0 started with now, and a loop whose
 * function returns a deferred that has already fired: no wait. */
static df_result return_fired(void *arg) {
  (void)arg;
  record(0);
  if (runs.n == 3) df_looping_call_stop(loop);
  return df_wait_on(df_succeed(df_int(1)));
}

static void test_function_returning_a_fired_deferred(void **state) {
  (void)state;
  loop = new_loop(return_fired, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 0.5, true, &d);
  double steps[] = {0.5, 0.5};
  df_test_clock_pump(clock_, steps, 2);
  assert_fired_with_loop(d, loop);
  assert_times((double[]){0, 0.5, 1}, 3);
  df_deferred_unref(d);
}

/* The function returning df_wait_on(NULL) fails the loop with ValueError. */
static df_result return_null_deferred(void *arg) {
  (void)arg;
  return df_wait_on(NULL);
}

static void test_function_returning_no_deferred_fails_the_loop(void **state) {
  (void)state;
  loop = new_loop(return_null_deferred, NULL);
  df_deferred *d;
  df_looping_call_start(loop, 1, true, &d);
  assert_string_equal(failure_text(d), "ValueError: LoopingCall: the function "
                                       "returned df_wait_on(NULL)");
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_unref(d);
}

/* Without `out`, a failure nobody can handle is reported. */
static void test_failure_without_the_deferred_is_reported(void **state) {
  (void)state;
  loop = new_loop(raise_test_exception, NULL);
  df_looping_call_start(loop, 1, true, NULL);
  assert_int_equal(reports, 1);
}

/* Time going back inside the function (Twisted allows it): the start is
 * now ahead, and Python's % (the sign of the interval, not of the time as
 * C's fmod) puts the next run at the interval boundary 0.0, as in Twisted
 * (fmod would give 1.0). */
static df_result go_back_once(void *arg) {
  (void)arg;
  record(0);
  if (runs.n == 1) df_test_clock_advance(clock_, -1.7);
  return df_none();
}

static void test_clock_going_back_keeps_python_modulo(void **state) {
  (void)state;
  loop = new_loop(go_back_once, NULL);
  df_looping_call_start(loop, 1, false, NULL);
  df_test_clock_advance(clock_, 1);
  assert_times((double[]){1}, 1);
  assert_true(df_clock_seconds(clock_) == -0.7);
  assert_true(df_delayed_call_time(df_looping_call_next_call(loop)) == 0.0);
}

/* === out of memory ========================================================= */

static int64_t oom_scenario(void) {
  df_clock *c = df_test_clock_new();
  if (!c) return -1;
  df_looping_call *plain = NULL, *counting = NULL;
  int64_t ran = 0;
  df_deferred *d1 = NULL, *d2 = NULL;
  memset(&runs, 0, sizeof runs);
  clock_ = c;
  if (df_looping_call_new(c, record_time, NULL, NULL, &plain) == 0)
    df_looping_call_start(plain, 1, true, &d1);
  if (df_looping_call_with_count(c, record_count, NULL, NULL, &counting) == 0)
    df_looping_call_start(counting, 0.5, false, &d2);
  df_test_clock_advance(c, 1.5);
  df_looping_call_reset(counting);
  df_test_clock_advance(c, 1);
  ran = (int64_t)runs.n;
  if (plain && df_looping_call_running(plain)) df_looping_call_stop(plain);
  if (d1) df_deferred_add_errback(d1, handle, NULL);
  if (d2) df_deferred_add_errback(d2, handle, NULL);
  df_deferred_unref(d1);
  df_deferred_unref(d2);
  df_looping_call_unref(plain);
  df_looping_call_unref(counting);
  df_clock_free(c);
  clock_ = NULL;
  return ran;
}

static void check_oom(int64_t outcome, bool failed) {
  if (!failed) assert_int_equal(outcome, 5);
}

static void test_every_allocation_failure_is_handled(void **state) {
  (void)state;
  df_clock *mine = clock_;
  assert_int_equal(oom_scenario(), 5);
  long points = support_fail_each_allocation(oom_scenario, check_oom, 1000);
  assert_true(points > 5);
  clock_ = mine;
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
      /* test_task.py: LoopTests */
      T(test_time_passed_inside_the_call_skips_intervals),
      T(test_time_passed_between_calls_skips_intervals),
      T(test_count_includes_skipped_intervals),
      T(test_count_counts_only_whole_intervals),
      T(test_count_never_zero_at_floating_point_boundary),
      T(test_count_is_one_with_interval_zero),
      T(test_count_is_one_with_interval_zero_after_a_wait),
      T(test_count_after_interval_zero_then_two),
      T(test_loop_runs_every_interval_with_its_argument),
      T(test_delayed_start_waits_one_interval),
      T(test_negative_interval_is_refused),
      T(test_stop_at_once_with_interval_zero),
      T(test_stop_before_delayed_start),
      T(test_reset_skips_the_next_run),
      /* test_task.py: ReactorLoopTests */
      T(test_failure_fails_the_start_deferred),
      T(test_stop_then_failure_fails_the_start_deferred),
      T(test_interval_zero_runs_every_iteration),
      T(test_stop_from_a_clock_call_prevents_runs),
      T(test_next_run_waits_for_the_returned_deferred),
      T(test_returned_deferred_failure_fails_the_loop),
      T(test_count_includes_intervals_spent_waiting),
      /* what C adds */
      T(test_calls_at_the_wrong_time_are_refused),
      T(test_state_before_during_and_after),
      T(test_stop_while_waiting_fires_when_the_deferred_does),
      T(test_stop_while_waiting_then_failure_fails_it),
      T(test_restart_while_waiting_replaces_the_deferred),
      T(test_restart_from_the_stop_callback),
      T(test_start_deferred_value_holds_the_loop),
      T(test_released_running_loop_runs_until_the_clock_goes),
      T(test_stop_after_the_clock_is_freed),
      T(test_clock_freed_while_waiting),
      T(test_released_loop_waiting_on_a_deferred),
      T(test_loop_dropped_in_every_order),
      T(test_function_returning_a_fired_deferred),
      T(test_function_returning_no_deferred_fails_the_loop),
      T(test_failure_without_the_deferred_is_reported),
      T(test_clock_going_back_keeps_python_modulo),
      /* out of memory */
      T(test_every_allocation_failure_is_handled),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
