/* Delayed calls (deferred/clock.h) and the test clock
 * (deferred/test_clock.h).
 *
 * First the ports of twisted/test/test_task.py's ClockTests (all of them;
 * Twisted 22.4 names the class ClockTests), then the order of task.Clock's
 * list in the cases its tests leave out, each checked against Twisted 22.4
 * (the expected orders in the comments are what task.Clock printed), then
 * what C adds: the errors and states of a delayed call, an owned argument
 * released exactly once on every path, calls that cancel, reset or unref
 * inside an advance, a clock freed with calls pending or from inside one
 * of its calls, out of memory at every allocation, a model of
 * task.Clock's list (append, stable sort, remove, pop) run against the
 * clock on random programs and in step with it while its calls act on it,
 * and the structs of the calls it ran kept for its next ones.
 *
 * Calls log "name@time" to the event log when they run.
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

/* The clock the logging calls read; each test sets it. */
static df_clock *clock_now;

/* A call that logs its name (the argument) and the time it runs at. */
static void log_time(void *arg) {
  ev("%s@%g", (const char *)arg, df_clock_seconds(clock_now));
}

static void nothing(void *arg) { (void)arg; }

/* Schedules log_time(name) and returns the handle (a reference). */
static df_delayed_call *later(df_clock *clock, double delay, const char *name) {
  df_delayed_call *call;
  assert_int_equal(df_clock_call_later(clock, delay, log_time, (void *)name, &call), 0);
  return call;
}

/* getDelayedCalls() as names: `handles[i]` is named `names[i]`. */
static void assert_calls(df_clock *clock, df_delayed_call *const *handles,
                         const char *const *names, size_t n_handles,
                         const char *expected) {
  df_delayed_call *calls[32];
  size_t n = df_test_clock_get_delayed_calls(clock, calls, 32);
  char text[256] = "";
  for (size_t i = 0; i < n; i++) {
    const char *name = "?";
    for (size_t j = 0; j < n_handles; j++)
      if (handles[j] == calls[i]) name = names[j];
    snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s",
             i ? " " : "", name);
  }
  assert_string_equal(text, expected);
}

static void unref_all(df_delayed_call **calls, size_t n) {
  for (size_t i = 0; i < n; i++) df_delayed_call_unref(calls[i]);
}

/* An owned argument: counts its releases, and whether the call's function
 * had run by then. */
typedef struct owned {
  int released;
  int ran;
  int ran_before_release;
} owned;

static void owned_run(void *arg) {
  owned *o = arg;
  o->ran++;
  assert_int_equal(o->released, 0); /* released after the function */
}

static void owned_release(void *arg) {
  owned *o = arg;
  o->released++;
  o->ran_before_release = o->ran;
}

static int setup(void **state) {
  clock_now = NULL;
  return support_setup(state);
}

/* === test_task.py: ClockTests =========================================== */

/* test_task.py: ClockTests.testSeconds */
static void test_seconds_start_at_zero(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  assert_non_null(c);
  assert_true(df_clock_seconds(c) == 0.0);
  df_clock_free(c);
}

/* test_task.py: ClockTests.testCallLater */
static void test_call_later_returns_an_active_call_at_its_time(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *call;
  assert_int_equal(df_clock_call_later(c, 1, nothing, NULL, &call), 0);
  assert_true(df_delayed_call_time(call) == 1.0);
  assert_true(df_delayed_call_active(call));
  assert_ptr_equal(df_delayed_call_clock(call), c);
  df_delayed_call_unref(call);
  df_clock_free(c);
}

/* test_task.py: ClockTests.testCallLaterCancelled */
static void test_cancelled_call_is_not_active(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *call;
  assert_int_equal(df_clock_call_later(c, 1, nothing, NULL, &call), 0);
  assert_int_equal(df_delayed_call_cancel(call), 0);
  assert_false(df_delayed_call_active(call));
  df_delayed_call_unref(call);
  df_clock_free(c);
}

/* test_task.py: ClockTests.test_callLaterOrdering */
static void test_each_call_later_returns_a_new_call(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *call1, *call2;
  assert_int_equal(df_clock_call_later(c, 10, nothing, NULL, &call1), 0);
  assert_int_equal(df_clock_call_later(c, 1, nothing, NULL, &call2), 0);
  assert_ptr_not_equal(call1, call2);
  df_delayed_call_unref(call1);
  df_delayed_call_unref(call2);
  df_clock_free(c);
}

/* test_task.py: ClockTests.testAdvance */
static void test_advance_runs_calls_that_become_due(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *call = later(c, 2, "a");
  assert_int_equal(df_test_clock_advance(c, 1), 0);
  assert_string_equal(events, "");
  assert_int_equal(df_test_clock_advance(c, 1), 0);
  assert_string_equal(events, "a@2 ");
  assert_false(df_delayed_call_active(call));
  assert_true(df_delayed_call_called(call));
  df_delayed_call_unref(call);
  df_clock_free(c);
}

/* test_task.py: ClockTests.testAdvanceCancel */
static df_delayed_call *self_call;
static int self_cancel_rc;
static void cancel_self(void *arg) {
  (void)arg;
  self_cancel_rc = df_delayed_call_cancel(self_call);
}

static void test_cancel_inside_its_own_call_is_already_called(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  assert_int_equal(df_clock_call_later(c, 1, cancel_self, NULL, &self_call), 0);
  self_cancel_rc = 0;
  df_test_clock_advance(c, 1);
  assert_int_equal(self_cancel_rc, DF_EALREADY_CALLED);
  assert_true(df_delayed_call_called(self_call));
  assert_false(df_delayed_call_cancelled(self_call));
  df_delayed_call_unref(self_call);
  df_clock_free(c);
}

/* test_task.py: ClockTests.testCallLaterDelayed */
static void test_delayed_call_runs_later(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *call = later(c, 1, "a");
  assert_int_equal(df_delayed_call_delay(call, 1), 0);
  assert_true(df_delayed_call_time(call) == 2.0);
  df_test_clock_advance(c, 1.5);
  assert_string_equal(events, "");
  df_test_clock_advance(c, 1.0);
  assert_string_equal(events, "a@2.5 ");
  df_delayed_call_unref(call);
  df_clock_free(c);
}

/* test_task.py: ClockTests.testCallLaterResetLater */
static void test_reset_later_runs_at_the_new_time(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *call = later(c, 2, "a");
  df_test_clock_advance(c, 1);
  assert_int_equal(df_delayed_call_reset(call, 3), 0);
  assert_true(df_delayed_call_time(call) == 4.0);
  df_test_clock_advance(c, 2);
  assert_string_equal(events, "");
  df_test_clock_advance(c, 1);
  assert_string_equal(events, "a@4 ");
  df_delayed_call_unref(call);
  df_clock_free(c);
}

/* test_task.py: ClockTests.testCallLaterResetSooner */
static void test_reset_sooner_runs_at_the_new_time(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *call = later(c, 4, "a");
  assert_int_equal(df_delayed_call_reset(call, 3), 0);
  assert_true(df_delayed_call_time(call) == 3.0);
  df_test_clock_advance(c, 3);
  assert_string_equal(events, "a@3 ");
  df_delayed_call_unref(call);
  df_clock_free(c);
}

/* test_task.py: ClockTests.test_getDelayedCalls */
static void test_get_delayed_calls_lists_pending_calls(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *h[2];
  assert_int_equal(df_clock_call_later(c, 1, nothing, NULL, &h[0]), 0);
  assert_int_equal(df_clock_call_later(c, 2, nothing, NULL, &h[1]), 0);
  df_delayed_call *calls[4] = {0};
  assert_int_equal(df_test_clock_get_delayed_calls(c, calls, 4), 2);
  assert_ptr_equal(calls[0], h[0]);
  assert_ptr_equal(calls[1], h[1]);
  assert_null(calls[2]);
  /* the count alone, and a buffer too small for all */
  assert_int_equal(df_test_clock_get_delayed_calls(c, NULL, 0), 2);
  df_delayed_call *first = NULL;
  assert_int_equal(df_test_clock_get_delayed_calls(c, &first, 1), 2);
  assert_ptr_equal(first, h[0]);
  unref_all(h, 2);
  df_clock_free(c);
}

/* test_task.py: ClockTests.test_getDelayedCallsEmpty */
static void test_new_clock_has_no_delayed_calls(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *calls[1];
  assert_int_equal(df_test_clock_get_delayed_calls(c, calls, 1), 0);
  df_clock_free(c);
}

/* test_task.py: ClockTests.test_providesIReactorTime */
static void test_test_clock_is_a_clock(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  assert_true(df_test_clock_is(c));
  assert_string_equal(c->type->name, "test clock");
  assert_false(df_test_clock_is(NULL));
  df_clock_free(c);
}

/* test_task.py: ClockTests.test_callLaterKeepsCallsOrdered */
static void test_call_later_after_reset_keeps_calls_ordered(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *a = later(c, 1.0, "a");
  assert_int_equal(df_delayed_call_reset(a, 3.0), 0);
  df_delayed_call *b = later(c, 2.0, "b");
  double ones[] = {1, 1, 1};
  assert_int_equal(df_test_clock_pump(c, ones, 3), 0);
  assert_string_equal(events, "b@2 a@3 ");
  df_delayed_call_unref(a);
  df_delayed_call_unref(b);
  df_clock_free(c);
}

/* test_task.py: ClockTests.test_callLaterResetKeepsCallsOrdered */
static void test_reset_after_call_later_keeps_calls_ordered(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *a = later(c, 1.0, "a");
  df_delayed_call *b = later(c, 2.0, "b");
  assert_int_equal(df_delayed_call_reset(a, 3.0), 0);
  double ones[] = {1, 1, 1};
  assert_int_equal(df_test_clock_pump(c, ones, 3), 0);
  assert_string_equal(events, "b@2 a@3 ");
  df_delayed_call_unref(a);
  df_delayed_call_unref(b);
  df_clock_free(c);
}

/* test_task.py: ClockTests.test_callLaterResetInsideCallKeepsCallsOrdered */
static df_delayed_call *to_reset;
static void reset_other(void *arg) {
  assert_int_equal(df_delayed_call_reset(to_reset, *(double *)arg), 0);
}

static void test_reset_inside_a_call_keeps_calls_ordered(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  to_reset = later(c, 2.0, "b");
  double three = 3.0;
  assert_int_equal(df_clock_call_later(c, 1.0, reset_other, &three, NULL), 0);
  df_delayed_call *cc = later(c, 3.0, "c");
  double halves[10];
  for (int i = 0; i < 10; i++) halves[i] = 0.5;
  assert_int_equal(df_test_clock_pump(c, halves, 10), 0);
  assert_string_equal(events, "c@3 b@4 ");
  df_delayed_call_unref(to_reset);
  df_delayed_call_unref(cc);
  df_clock_free(c);
}

/* === task.Clock's list order, beyond its tests =========================== */

/* Twisted: three calls at 2 run in the order scheduled. */
static void test_calls_due_together_run_in_scheduling_order(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *h[3] = {later(c, 2, "x"), later(c, 1, "y"), later(c, 2, "z")};
  df_test_clock_advance(c, 5);
  assert_string_equal(events, "y@5 x@5 z@5 ");
  unref_all(h, 3);
  df_clock_free(c);
}

/* Twisted: a@1 b@2 x@2, a.reset(2): getDelayedCalls() is still a b x
 * before and after the sort, and a, moved later, runs before b and x. */
static void test_call_reset_later_to_a_tie_goes_first(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *h[3] = {later(c, 1, "a"), later(c, 2, "b"), later(c, 2, "x")};
  const char *names[3] = {"a", "b", "x"};
  assert_int_equal(df_delayed_call_reset(h[0], 2), 0);
  assert_calls(c, h, names, 3, "a b x");
  df_test_clock_advance(c, 0);
  assert_calls(c, h, names, 3, "a b x");
  df_test_clock_advance(c, 2);
  assert_string_equal(events, "a@2 b@2 x@2 ");
  unref_all(h, 3);
  df_clock_free(c);
}

/* Twisted: a@1 b@3 x@3, x.reset(1): x, moved earlier, goes after a; a
 * callLater sorts: a x b z. */
static void test_call_reset_earlier_to_a_tie_goes_last(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *h[4] = {later(c, 1, "a"), later(c, 3, "b"), later(c, 3, "x")};
  const char *names[4] = {"a", "b", "x", "z"};
  assert_int_equal(df_delayed_call_reset(h[2], 1), 0);
  assert_calls(c, h, names, 3, "a b x");
  h[3] = later(c, 5, "z");
  assert_calls(c, h, names, 4, "a x b z");
  df_test_clock_advance(c, 10);
  assert_string_equal(events, "a@10 x@10 b@10 z@10 ");
  unref_all(h, 4);
  df_clock_free(c);
}

/* Until the next sort, a reset call keeps its place in the list. */
static void test_delayed_calls_after_reset_wait_for_the_next_sort(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *h[2];
  const char *names[2] = {"a", "b"};
  h[0] = later(c, 1, "a");
  h[1] = later(c, 2, "b");
  assert_int_equal(df_delayed_call_reset(h[0], 3), 0);
  assert_calls(c, h, names, 2, "a b");
  df_test_clock_advance(c, 0); /* advance sorts first */
  assert_calls(c, h, names, 2, "b a");
  unref_all(h, 2);
  df_clock_free(c);
}

/* Twisted: p@1 q@2 r@5, q.reset(5) then p.reset(5): both came from
 * earlier times, so both go before r, in their old order: p q r. */
static void test_two_resets_before_a_sort_keep_their_old_order(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *h[3] = {later(c, 1, "p"), later(c, 2, "q"), later(c, 5, "r")};
  const char *names[3] = {"p", "q", "r"};
  assert_int_equal(df_delayed_call_reset(h[1], 5), 0);
  assert_int_equal(df_delayed_call_reset(h[0], 5), 0);
  df_test_clock_advance(c, 0);
  assert_calls(c, h, names, 3, "p q r");
  df_test_clock_advance(c, 5);
  assert_string_equal(events, "p@5 q@5 r@5 ");
  unref_all(h, 3);
  df_clock_free(c);
}

/* Twisted: a@5 b@1, a.delay(-10): getTime -5, time -5, delayed_time 0
 * (activate_delay), and advance(0) runs it. */
static void test_delay_into_the_past_makes_the_call_due(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_delayed_call *h[2] = {later(c, 5, "a"), later(c, 1, "b")};
  assert_int_equal(df_delayed_call_delay(h[0], -10), 0);
  assert_true(df_delayed_call_time(h[0]) == -5.0);
  df_test_clock_advance(c, 0);
  assert_string_equal(events, "a@0 ");
  unref_all(h, 2);
  df_clock_free(c);
}

/* A delay after a reset later adds to the delayed time; a reset earlier
 * than the call's time drops it. */
static void test_delay_and_reset_combine_as_in_twisted(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *call = later(c, 2, "a");
  assert_int_equal(df_delayed_call_reset(call, 5), 0);  /* 2 + 3 */
  assert_int_equal(df_delayed_call_delay(call, 1), 0);  /* 2 + 4 */
  assert_true(df_delayed_call_time(call) == 6.0);
  assert_int_equal(df_delayed_call_delay(call, -3), 0); /* 2 + 1 */
  assert_true(df_delayed_call_time(call) == 3.0);
  assert_int_equal(df_delayed_call_reset(call, 1), 0);  /* 1 + 0 */
  assert_true(df_delayed_call_time(call) == 1.0);
  df_delayed_call_unref(call);
  df_clock_free(c);
}

/* Twisted: s@1 and w@1; s schedules t (delay 0), u (-1) and v (0.5):
 * the due ones run in the same advance, in time order: s u w t. */
static void schedule_more(void *arg) {
  df_clock *c = arg;
  ev("s@%g", df_clock_seconds(c));
  assert_int_equal(df_clock_call_later(c, 0, log_time, "t", NULL), 0);
  assert_int_equal(df_clock_call_later(c, -1, log_time, "u", NULL), 0);
  assert_int_equal(df_clock_call_later(c, 0.5, log_time, "v", NULL), 0);
}

static void test_due_calls_scheduled_during_advance_run_in_it(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  assert_int_equal(df_clock_call_later(c, 1, schedule_more, c, NULL), 0);
  assert_int_equal(df_clock_call_later(c, 1, log_time, "w", NULL), 0);
  df_test_clock_advance(c, 1);
  assert_string_equal(events, "s@1 u@1 w@1 t@1 ");
  assert_int_equal(df_test_clock_get_delayed_calls(c, NULL, 0), 1);
  df_test_clock_advance(c, 0.5);
  assert_string_equal(events, "s@1 u@1 w@1 t@1 v@1.5 ");
  df_clock_free(c);
}

/* advance(0) runs what is due now, and only that. */
static void test_advance_zero_runs_calls_due_now(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  df_clock_call_later(c, 0, log_time, "now", NULL);
  df_clock_call_later(c, 0.001, log_time, "soon", NULL);
  df_test_clock_advance(c, 0);
  assert_string_equal(events, "now@0 ");
  assert_true(df_clock_seconds(c) == 0.0);
  df_clock_free(c);
}

/* A call that advances the clock (test_task.py's test_callbackTimeSkips
 * does): the nested advance runs what becomes due; the outer one carries
 * on from the new time. */
static void advance_inside(void *arg) {
  ev("in@%g", df_clock_seconds(clock_now));
  df_test_clock_advance(clock_now, *(double *)arg);
  ev("out@%g", df_clock_seconds(clock_now));
}

static void test_advance_inside_a_call_nests(void **state) {
  (void)state;
  df_clock *c = clock_now = df_test_clock_new();
  double two = 2;
  df_clock_call_later(c, 1, advance_inside, &two, NULL);
  df_clock_call_later(c, 2, log_time, "b", NULL);
  df_clock_call_later(c, 4, log_time, "c", NULL);
  df_test_clock_advance(c, 1);
  assert_string_equal(events, "in@1 b@3 out@3 ");
  df_test_clock_advance(c, 1);
  assert_string_equal(events, "in@1 b@3 out@3 c@4 ");
  df_clock_free(c);
}

/* Time may go back, as in Twisted; NaN is refused, nothing changed. */
static void test_advance_back_and_refused_amounts(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  assert_int_equal(df_test_clock_advance(c, -2.5), 0);
  assert_true(df_clock_seconds(c) == -2.5);
  assert_int_equal(df_test_clock_advance(c, NAN), DF_EINVAL);
  assert_int_equal(df_test_clock_advance(c, INFINITY), 0);
  assert_int_equal(df_test_clock_advance(c, -INFINITY), DF_EINVAL);
  assert_true(df_clock_seconds(c) == INFINITY);
  double bad[] = {1, NAN};
  df_clock *c2 = df_test_clock_new();
  assert_int_equal(df_test_clock_pump(c2, bad, 2), DF_EINVAL);
  assert_true(df_clock_seconds(c2) == 0.0); /* the 1 was not applied */
  assert_int_equal(df_test_clock_pump(c2, NULL, 1), DF_EINVAL);
  assert_int_equal(df_test_clock_pump(c2, NULL, 0), 0);
  double steps[] = {0.25, 0.5, 0.25};
  assert_int_equal(df_test_clock_pump(c2, steps, 3), 0);
  assert_true(df_clock_seconds(c2) == 1.0);
  df_clock_free(c);
  df_clock_free(c2);
}

/* The test clock functions refuse other clocks. */
static double fake_seconds(df_clock *clock) { (void)clock; return 7; }
static const df_clock_type fake_type = {.name = "fake", .seconds = fake_seconds};

static void test_other_clocks_are_refused(void **state) {
  (void)state;
  df_clock fake = {&fake_type};
  double one = 1;
  assert_false(df_test_clock_is(&fake));
  assert_int_equal(df_test_clock_advance(&fake, 1), DF_EINVAL);
  assert_int_equal(df_test_clock_pump(&fake, &one, 1), DF_EINVAL);
  assert_int_equal(df_test_clock_get_delayed_calls(&fake, NULL, 0), 0);
  assert_int_equal(df_test_clock_advance(NULL, 1), DF_EINVAL);
  assert_true(df_clock_seconds(&fake) == 7);
  df_clock_free(&fake); /* no destroy function: nothing happens */
}

/* === a delayed call's errors and states ================================== */

static void test_cancel_reset_delay_after_cancel_or_run(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *run, *gone;
  df_clock_call_later(c, 1, nothing, NULL, &run);
  df_clock_call_later(c, 1, nothing, NULL, &gone);
  /* pending */
  assert_true(df_delayed_call_active(run));
  assert_false(df_delayed_call_called(run));
  assert_false(df_delayed_call_cancelled(run));
  assert_int_equal(df_delayed_call_cancel(gone), 0);
  df_test_clock_advance(c, 1);
  /* run */
  assert_false(df_delayed_call_active(run));
  assert_true(df_delayed_call_called(run));
  assert_false(df_delayed_call_cancelled(run));
  assert_int_equal(df_delayed_call_cancel(run), DF_EALREADY_CALLED);
  assert_int_equal(df_delayed_call_reset(run, 1), DF_EALREADY_CALLED);
  assert_int_equal(df_delayed_call_delay(run, 1), DF_EALREADY_CALLED);
  /* cancelled */
  assert_false(df_delayed_call_active(gone));
  assert_false(df_delayed_call_called(gone));
  assert_true(df_delayed_call_cancelled(gone));
  assert_int_equal(df_delayed_call_cancel(gone), DF_EALREADY_CANCELLED);
  assert_int_equal(df_delayed_call_reset(gone, 1), DF_EALREADY_CANCELLED);
  assert_int_equal(df_delayed_call_delay(gone, 1), DF_EALREADY_CANCELLED);
  assert_string_equal(df_strerror(DF_EALREADY_CANCELLED), "already cancelled");
  assert_string_equal(df_strerror(DF_EALREADY_CALLED), "already called");
  df_delayed_call_unref(run);
  df_delayed_call_unref(gone);
  df_clock_free(c);
}

static void test_bad_arguments_are_refused(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *call = (df_delayed_call *)&call;
  assert_int_equal(df_clock_call_later(NULL, 1, nothing, NULL, &call), DF_EINVAL);
  assert_null(call);
  assert_int_equal(df_clock_call_later(c, 1, NULL, NULL, &call), DF_EINVAL);
  assert_int_equal(df_clock_call_later(c, NAN, nothing, NULL, &call), DF_EINVAL);
  owned o = {0};
  assert_int_equal(df_clock_call_later_owned(c, NAN, owned_run, &o,
                                             owned_release, &call),
                   DF_EINVAL);
  assert_int_equal(o.released, 1); /* released on the error too */
  assert_int_equal(o.ran, 0);
  assert_int_equal(df_test_clock_get_delayed_calls(c, NULL, 0), 0);
  /* NULL handles */
  assert_int_equal(df_delayed_call_cancel(NULL), DF_EINVAL);
  assert_int_equal(df_delayed_call_reset(NULL, 1), DF_EINVAL);
  assert_int_equal(df_delayed_call_delay(NULL, 1), DF_EINVAL);
  assert_false(df_delayed_call_active(NULL));
  assert_false(df_delayed_call_called(NULL));
  assert_false(df_delayed_call_cancelled(NULL));
  assert_true(isnan(df_delayed_call_time(NULL)));
  assert_null(df_delayed_call_clock(NULL));
  assert_null(df_delayed_call_ref(NULL));
  df_delayed_call_unref(NULL);
  df_clock_free(NULL);
  assert_true(isnan(df_clock_seconds(NULL)));
  df_clock_free(c);
}

/* NaN times are refused, the call unchanged: a NaN argument, or
 * infinities of opposite signs (Twisted would sort by a NaN). An
 * infinite delay itself is fine: the call waits for ever. */
static void test_nan_times_are_refused(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *call;
  assert_int_equal(df_clock_call_later(c, INFINITY, nothing, NULL, &call), 0);
  assert_true(df_delayed_call_time(call) == INFINITY);
  assert_int_equal(df_delayed_call_reset(call, NAN), DF_EINVAL);
  assert_int_equal(df_delayed_call_reset(call, INFINITY), DF_EINVAL);
  assert_int_equal(df_delayed_call_delay(call, NAN), DF_EINVAL);
  assert_int_equal(df_delayed_call_delay(call, -INFINITY), DF_EINVAL);
  assert_true(df_delayed_call_time(call) == INFINITY);
  assert_int_equal(df_delayed_call_reset(call, 2), 0);
  assert_true(df_delayed_call_time(call) == 2.0);
  df_test_clock_advance(c, 1e308);
  assert_true(df_delayed_call_called(call));
  df_delayed_call_unref(call);
  df_test_clock_advance(c, INFINITY);
  assert_int_equal(df_clock_call_later(c, -INFINITY, nothing, NULL, &call),
                   DF_EINVAL);
  df_clock_free(c);
}

/* === owned arguments, each path ========================================== */

static void test_owned_argument_released_after_the_call_runs(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  owned o = {0};
  assert_int_equal(df_clock_call_later_owned(c, 1, owned_run, &o, owned_release, NULL), 0);
  df_test_clock_advance(c, 1);
  assert_int_equal(o.ran, 1);
  assert_int_equal(o.released, 1);
  assert_int_equal(o.ran_before_release, 1);
  df_clock_free(c);
  assert_int_equal(o.released, 1);
}

static void test_owned_argument_released_when_cancelled(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  owned o = {0};
  df_delayed_call *call;
  df_clock_call_later_owned(c, 1, owned_run, &o, owned_release, &call);
  assert_int_equal(df_delayed_call_cancel(call), 0);
  assert_int_equal(o.released, 1);
  df_test_clock_advance(c, 2);
  assert_int_equal(o.ran, 0);
  df_delayed_call_unref(call);
  df_clock_free(c);
  assert_int_equal(o.released, 1);
}

/* The clock freed with calls pending: none runs, each owned argument is
 * released, handles still held read cancelled and refuse changes. */
static void test_clock_freed_with_calls_pending(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  owned o[3] = {{0}};
  df_delayed_call *kept;
  df_clock_call_later_owned(c, 1, owned_run, &o[0], owned_release, &kept);
  df_clock_call_later_owned(c, 2, owned_run, &o[1], owned_release, NULL);
  df_clock_call_later_owned(c, 0, owned_run, &o[2], owned_release, NULL);
  assert_int_equal(df_delayed_call_reset(kept, 5), 0); /* a sort pending */
  df_clock_free(c);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(o[i].released, 1);
    assert_int_equal(o[i].ran, 0);
  }
  assert_true(df_delayed_call_cancelled(kept));
  assert_int_equal(df_delayed_call_cancel(kept), DF_EALREADY_CANCELLED);
  assert_int_equal(df_delayed_call_reset(kept, 1), DF_EALREADY_CANCELLED);
  df_delayed_call_unref(kept);
}

/* An owned argument whose release cancels another call of the clock, and
 * one whose release tries to reset it, while the clock is freed. */
static df_delayed_call *victim;
static void release_cancels_victim(void *arg) {
  (void)arg;
  int rc = df_delayed_call_cancel(victim);
  assert_true(rc == 0 || rc == DF_EALREADY_CANCELLED);
  rc = df_delayed_call_reset(victim, 1);
  assert_int_equal(rc, DF_EALREADY_CANCELLED);
}

static void test_release_cancelling_another_call_while_freeing(void **state) {
  (void)state;
  for (int order = 0; order < 2; order++) {
    df_clock *c = df_test_clock_new();
    owned o = {0};
    /* the victim discarded after, then before, the other call */
    df_clock_call_later_owned(c, order ? 2 : 1, owned_run, &o, owned_release,
                              &victim);
    df_clock_call_later_owned(c, order ? 1 : 2, nothing, NULL,
                              release_cancels_victim, NULL);
    df_clock_free(c);
    assert_int_equal(o.released, 1);
    assert_true(df_delayed_call_cancelled(victim));
    df_delayed_call_unref(victim);
  }
}

/* === calls that change the clock inside an advance ======================= */

/* A call cancelling another that is due in the same advance: it does not
 * run, its owned argument is released once. */
static void cancel_victim(void *arg) {
  (void)arg;
  ev("canceller");
  assert_int_equal(df_delayed_call_cancel(victim), 0);
}

static void test_call_cancelling_another_due_call(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  owned o = {0};
  df_clock_call_later(c, 1, cancel_victim, NULL, NULL);
  df_clock_call_later_owned(c, 1, owned_run, &o, owned_release, &victim);
  df_test_clock_advance(c, 1);
  assert_string_equal(events, "canceller ");
  assert_int_equal(o.ran, 0);
  assert_int_equal(o.released, 1);
  df_delayed_call_unref(victim);
  df_clock_free(c);
}

/* A call dropping the last outside reference to itself: the clock's own
 * reference keeps it alive until its function returns. */
static void unref_self(void *arg) {
  df_delayed_call **handle = arg;
  df_delayed_call_unref(*handle);
  *handle = NULL;
  ev("unref");
}

static void test_unref_inside_its_own_call(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *call;
  owned o = {0};
  df_clock_call_later(c, 1, unref_self, &call, &call);
  df_clock_call_later_owned(c, 1, owned_run, &o, owned_release, NULL);
  df_test_clock_advance(c, 1);
  assert_string_equal(events, "unref ");
  assert_null(call);
  assert_int_equal(o.ran, 1);
  df_clock_free(c);
}

/* A call freeing its clock: it finishes, no other call runs, the others'
 * owned arguments are released, scheduling meanwhile fails, and the clock
 * is freed when advance returns (valgrind and ASan check). */
static void free_clock(void *arg) {
  df_clock *c = arg;
  df_clock_free(c);
  ev("freed");
  df_delayed_call *late = (df_delayed_call *)&late;
  assert_int_equal(df_clock_call_later(c, 0, nothing, NULL, &late), DF_EINVAL);
  assert_null(late);
  /* cancelling a call still pending works until the clock goes */
  assert_int_equal(df_delayed_call_cancel(victim), 0);
}

static void test_clock_freed_inside_its_own_call(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  owned o[2] = {{0}};
  df_clock_call_later(c, 1, free_clock, c, NULL);
  df_clock_call_later_owned(c, 1, owned_run, &o[0], owned_release, &victim);
  df_clock_call_later_owned(c, 1, owned_run, &o[1], owned_release, NULL);
  df_test_clock_advance(c, 1);
  assert_string_equal(events, "freed ");
  for (int i = 0; i < 2; i++) {
    assert_int_equal(o[i].ran, 0);
    assert_int_equal(o[i].released, 1);
  }
  df_delayed_call_unref(victim);
}

/* The same from inside a nested advance and from a pump: the outermost
 * one frees the clock, the pump stops. */
static void advance_then_free(void *arg) {
  df_test_clock_advance(arg, 0);
  ev("nested");
}

static void test_clock_freed_inside_nested_advance_and_pump(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_clock_call_later(c, 1, advance_then_free, c, NULL);
  df_clock_call_later(c, 1, free_clock, c, NULL);
  owned o = {0};
  df_clock_call_later_owned(c, 1, owned_run, &o, owned_release, &victim);
  df_clock_call_later(c, 2, log_time, "never", NULL);
  double steps[] = {1, 1, 1};
  assert_int_equal(df_test_clock_pump(c, steps, 3), 0);
  assert_string_equal(events, "freed nested ");
  assert_int_equal(o.ran, 0);
  assert_int_equal(o.released, 1);
  df_delayed_call_unref(victim);
}

/* === out of memory ======================================================== */

/* Schedules 40 calls (growing the heap), resets a few, runs half, cancels
 * one, frees the clock. Returns the number of calls run, or -1 if the
 * clock could not be made. Each call's owned argument is released once
 * whatever failed. */
static int oom_released;
static void count_release(void *arg) {
  (void)arg;
  oom_released++;
}

static void count_run(void *arg) {
  (*(int *)arg)++;
}

static int64_t oom_scenario(void) {
  df_clock *c = df_test_clock_new();
  if (!c) return -1;
  int ran = 0, scheduled = 0;
  oom_released = 0;
  df_delayed_call *first = NULL;
  for (int i = 0; i < 40; i++) {
    df_delayed_call *call = NULL;
    int rc = df_clock_call_later_owned(c, i % 7, count_run, &ran,
                                       count_release,
                                       first ? NULL : &call);
    assert_true(rc == 0 || rc == DF_ENOMEM);
    if (rc == 0) scheduled++;
    if (call) first = call;
  }
  if (first) df_delayed_call_reset(first, 10);
  df_test_clock_advance(c, 3);
  if (first) df_delayed_call_cancel(first);
  df_clock_free(c);
  df_delayed_call_unref(first);
  assert_int_equal(oom_released, 40); /* every argument, once */
  return scheduled * 1000 + ran;
}

static void check_oom(int64_t outcome, bool failed) {
  if (!failed) assert_int_equal(outcome, 40 * 1000 + 23);
}

static void test_every_allocation_failure_is_handled(void **state) {
  (void)state;
  assert_int_equal(oom_scenario(), 40 * 1000 + 23);
  long points = support_fail_each_allocation(oom_scenario, check_oom, 1000);
  assert_true(points > 40);
}

/* === a model of task.Clock's list ========================================= */

/* task.Clock as Twisted writes it: a list, appended to and stably sorted
 * by getTime() in callLater, sorted at the start of advance and after
 * each call, removed from by cancel, popped from the front. Each model
 * entry is an index into the test's handles, whose times the library
 * keeps (the arithmetic of reset and delay is clock.c's, checked against
 * Twisted above). */
typedef struct model {
  size_t list[512];
  size_t len;
  double now;
} model;

static df_delayed_call *model_calls[512];

static void model_sort(model *m) {
  for (size_t i = 1; i < m->len; i++) { /* insertion sort: stable */
    size_t x = m->list[i], j = i;
    double t = df_delayed_call_time(model_calls[x]);
    while (j > 0 && t < df_delayed_call_time(model_calls[m->list[j - 1]])) {
      m->list[j] = m->list[j - 1];
      j--;
    }
    m->list[j] = x;
  }
}

static void model_remove(model *m, size_t id) {
  for (size_t i = 0; i < m->len; i++)
    if (m->list[i] == id) {
      memmove(&m->list[i], &m->list[i + 1], (m->len - i - 1) * sizeof m->list[0]);
      m->len--;
      return;
    }
  fail_msg("call %zu not in the model's list", id);
}

/* Runs are logged as "id " into this buffer by both sides. */
static char model_log[8192], clock_log[8192];
static void log_id(void *arg) {
  snprintf(clock_log + strlen(clock_log), sizeof clock_log - strlen(clock_log),
           "%zu ", (size_t)(uintptr_t)arg);
}

static void model_advance(model *m, double amount) {
  m->now += amount;
  model_sort(m);
  while (m->len > 0 && df_delayed_call_time(model_calls[m->list[0]]) <= m->now) {
    size_t id = m->list[0];
    model_remove(m, id);
    snprintf(model_log + strlen(model_log), sizeof model_log - strlen(model_log),
             "%zu ", id);
    model_sort(m);
  }
}

static void assert_same_list(model *m, df_clock *c) {
  df_delayed_call *calls[512];
  size_t n = df_test_clock_get_delayed_calls(c, calls, 512);
  assert_int_equal(n, m->len);
  for (size_t i = 0; i < n; i++) assert_ptr_equal(calls[i], model_calls[m->list[i]]);
}

static void test_clock_matches_a_model_of_twisted_list(void **state) {
  (void)state;
  static const double delays[] = {-1, 0, 0.25, 0.5, 1, 1, 2, 3};
  static const double moves[] = {-2, -0.5, 0, 0.5, 1, 2, 3, 0.25};
  srand(20220401);
  for (int program = 0; program < 300; program++) {
    df_clock *c = df_test_clock_new();
    model m = {.len = 0, .now = 0};
    size_t n = 0;
    model_log[0] = clock_log[0] = '\0';
    for (int step = 0; step < 120 && n < 512; step++) {
      int op = rand() % 20;
      size_t id = n ? (size_t)rand() % n : 0;
      if (op < 6 || n == 0) { /* callLater */
        assert_int_equal(df_clock_call_later(c, delays[rand() % 8], log_id,
                                             (void *)(uintptr_t)n, &model_calls[n]),
                         0);
        m.list[m.len++] = n++;
        model_sort(&m);
      } else if (op < 8) { /* cancel */
        if (df_delayed_call_active(model_calls[id])) model_remove(&m, id);
        df_delayed_call_cancel(model_calls[id]);
      } else if (op < 13) { /* resets and delays often, to make ties */
        df_delayed_call_reset(model_calls[id], moves[rand() % 8]);
      } else if (op < 16) {
        df_delayed_call_delay(model_calls[id], moves[rand() % 8]);
      } else if (op < 19) {
        double amount = moves[rand() % 8]; /* time may go back */
        model_advance(&m, amount);
        df_test_clock_advance(c, amount);
        assert_string_equal(clock_log, model_log);
      }
      assert_same_list(&m, c);
    }
    model_advance(&m, 100);
    df_test_clock_advance(c, 100);
    assert_string_equal(clock_log, model_log);
    assert_same_list(&m, c);
    unref_all(model_calls, n);
    df_clock_free(c);
  }
}

/* The model in step with the clock while it runs many calls due
 * together (the clock takes them out of its heap in bulk, in a sorted
 * run merged with the heap), each call acting on the clock as it runs:
 * scheduling a call (due at once, or before the run's next, by a zero or
 * negative delay), cancelling, resetting or delaying one (maybe one
 * still in the run), listing the calls, advancing (nested), or freeing
 * the clock. Each call checks that it is the model's next due call and
 * does the same to the model; task.Clock sorts after each call returns,
 * which the model does when the next call starts or the advance ends
 * (an extra sort where nothing changed since the last is none). Times
 * come from a few values, in bunches of ties, or spread. */
typedef struct stepped {
  model m;
  df_clock *clock;
  size_t n;          /* calls made                         */
  uint64_t rng;      /* xorshift64                         */
  int depth;         /* nested advances                    */
  bool freed;        /* a call freed the clock             */
  bool spread;       /* times spread, rather than bunched  */
} stepped;

static stepped st;

static uint64_t st_next(void) {
  st.rng ^= st.rng << 13;
  st.rng ^= st.rng >> 7;
  st.rng ^= st.rng << 17;
  return st.rng;
}

static double st_delay(void) {
  static const double bunched[] = {-1, 0, 0, 0.5, 1, 1, 1, 2, 2, 3};
  if (st.spread) return (double)(st_next() % 100000) / 10000.0 - 1.0;
  return bunched[st_next() % 10];
}

static void stepped_run(void *arg);

static void st_call_later(void) {
  if (st.n == 512) return;
  assert_int_equal(df_clock_call_later(st.clock, st_delay(), stepped_run,
                                       (void *)(uintptr_t)st.n,
                                       &model_calls[st.n]),
                   0);
  st.m.list[st.m.len++] = st.n++;
  model_sort(&st.m);
}

static void st_end_advance(void) {
  model_sort(&st.m);
  if (st.m.len > 0)
    assert_true(df_delayed_call_time(model_calls[st.m.list[0]]) > st.m.now);
  assert_same_list(&st.m, st.clock);
}

static void stepped_run(void *arg) {
  size_t id = (size_t)(uintptr_t)arg;
  model_sort(&st.m); /* after the previous call */
  assert_true(st.m.len > 0);
  assert_int_equal(st.m.list[0], id);
  assert_true(df_delayed_call_time(model_calls[id]) <= st.m.now);
  model_remove(&st.m, id);
  size_t other = (size_t)(st_next() % st.n);
  unsigned op = (unsigned)(st_next() % 100);
  if (op < 20) {
    st_call_later();
  } else if (op < 30) {
    if (df_delayed_call_active(model_calls[other])) model_remove(&st.m, other);
    df_delayed_call_cancel(model_calls[other]);
  } else if (op < 40) {
    df_delayed_call_reset(model_calls[other], st_delay());
  } else if (op < 48) {
    df_delayed_call_delay(model_calls[other], st_delay());
  } else if (op < 53) {
    assert_same_list(&st.m, st.clock);
  } else if (op < 56 && st.depth < 3) {
    double amount = (double)(st_next() % 3) - 1.0; /* -1, 0 or 1 */
    st.depth++;
    st.m.now += amount;
    model_sort(&st.m);
    assert_int_equal(df_test_clock_advance(st.clock, amount), 0);
    if (!st.freed) st_end_advance();
    st.depth--;
  } else if (op == 56 && st_next() % 8 == 0) {
    df_clock_free(st.clock); /* the outermost advance frees it */
    st.freed = true;
  }
}

static void test_clock_in_step_with_the_model_through_bulk_runs(void **state) {
  (void)state;
  st.rng = 20260401;
  int freed = 0;
  for (int program = 0; program < 400; program++) {
    st.clock = df_test_clock_new();
    assert_non_null(st.clock);
    st.m = (model){.len = 0, .now = 0};
    st.n = 0;
    st.depth = 0;
    st.freed = false;
    st.spread = program % 2;
    for (int round = 0; round < 4 && !st.freed; round++) {
      size_t calls = 2 + (size_t)(st_next() % 120);
      for (size_t k = 0; k < calls; k++) st_call_later();
      double amount = round == 3 ? 100 : (double)(st_next() % 4);
      st.m.now += amount;
      model_sort(&st.m);
      assert_int_equal(df_test_clock_advance(st.clock, amount), 0);
      if (!st.freed) st_end_advance();
    }
    freed += st.freed;
    if (!st.freed) df_clock_free(st.clock);
    unref_all(model_calls, st.n);
  }
  assert_true(freed > 0); /* the path was taken */
}

/* 10,000 calls at random times run once each, in time order (ties in
 * scheduling order). Timing belongs to bench/. */
static int64_t last_run_key;
static void check_order(void *arg) {
  int64_t key = (int64_t)(intptr_t)arg; /* time * 100000 + seq */
  assert_true(key > last_run_key);
  last_run_key = key;
}

static void test_ten_thousand_calls_run_in_order(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  srand(7);
  for (int i = 0; i < 10000; i++) {
    int t = rand() % 1000;
    assert_int_equal(df_clock_call_later(c, t, check_order,
                                         (void *)(intptr_t)((int64_t)t * 100000 + i),
                                         NULL),
                     0);
  }
  assert_int_equal(df_test_clock_get_delayed_calls(c, NULL, 0), 10000);
  last_run_key = -1;
  df_test_clock_advance(c, 1000);
  assert_int_equal(df_test_clock_get_delayed_calls(c, NULL, 0), 0);
  assert_true(last_run_key >= 0);
  df_clock_free(c);
}

/* A call's release function that frees the clock, for a call cancelled
 * outside any advance: the cancel returns, and nothing touches the freed
 * clock (valgrind and ASan check; the test clock keeps no struct of a
 * cancelled call, as keeping it would). */
static void release_frees_clock(void *arg) {
  df_clock_free(arg);
  ev("freed");
}

static void test_release_may_free_the_clock_during_a_cancel(void **state) {
  (void)state;
  df_clock *c = df_test_clock_new();
  df_delayed_call *call;
  assert_int_equal(
      df_clock_call_later_owned(c, 1, nothing, c, release_frees_clock, &call), 0);
  assert_int_equal(df_delayed_call_cancel(call), 0);
  assert_string_equal(events, "freed ");
  assert_true(df_delayed_call_cancelled(call));
  df_delayed_call_unref(call);
}

/* The clock keeps the struct of a call it ran that nobody else held, for
 * its next call: a second round of calls allocates nothing. A call whose
 * handle is held, or that was cancelled, is not kept: the next call
 * allocates. (Counts are deterministic: bench case j measures the
 * time.) */
static void test_clock_reuses_the_structs_of_the_calls_it_ran(void **state) {
  (void)state;
  support_count_allocations();
  df_clock *c = df_test_clock_new();
  for (int round = 0; round < 2; round++) {
    long before = support_allocations;
    for (int i = 0; i < 100; i++)
      assert_int_equal(df_clock_call_later(c, i % 7, nothing, NULL, NULL), 0);
    assert_int_equal(df_test_clock_advance(c, 7), 0);
    if (round == 1) assert_int_equal(support_allocations, before);
  }
  df_clock_free(c);

  c = df_test_clock_new();
  df_delayed_call *held, *cancelled;
  assert_int_equal(df_clock_call_later(c, 1, nothing, NULL, &held), 0);
  assert_int_equal(df_test_clock_advance(c, 1), 0); /* ran, held */
  assert_int_equal(df_clock_call_later(c, 1, nothing, NULL, &cancelled), 0);
  assert_int_equal(df_delayed_call_cancel(cancelled), 0);
  df_delayed_call_unref(cancelled); /* freed */
  long before = support_allocations;
  assert_int_equal(df_clock_call_later(c, 1, nothing, NULL, NULL), 0);
  assert_int_equal(support_allocations, before + 1); /* neither was kept */
  assert_int_equal(df_test_clock_advance(c, 1), 0); /* ran, kept */
  assert_int_equal(df_clock_call_later(c, 1, nothing, NULL, NULL), 0);
  assert_int_equal(support_allocations, before + 1); /* the one kept */
  assert_true(df_delayed_call_called(held));
  assert_true(df_delayed_call_time(held) == 1.0);
  df_delayed_call_unref(held);
  df_clock_free(c); /* its pending calls and the struct it kept */
  support_default_allocator();
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, support_teardown)
      /* test_task.py: ClockTests */
      T(test_seconds_start_at_zero),
      T(test_call_later_returns_an_active_call_at_its_time),
      T(test_cancelled_call_is_not_active),
      T(test_each_call_later_returns_a_new_call),
      T(test_advance_runs_calls_that_become_due),
      T(test_cancel_inside_its_own_call_is_already_called),
      T(test_delayed_call_runs_later),
      T(test_reset_later_runs_at_the_new_time),
      T(test_reset_sooner_runs_at_the_new_time),
      T(test_get_delayed_calls_lists_pending_calls),
      T(test_new_clock_has_no_delayed_calls),
      T(test_test_clock_is_a_clock),
      T(test_call_later_after_reset_keeps_calls_ordered),
      T(test_reset_after_call_later_keeps_calls_ordered),
      T(test_reset_inside_a_call_keeps_calls_ordered),
      /* the list's order */
      T(test_calls_due_together_run_in_scheduling_order),
      T(test_call_reset_later_to_a_tie_goes_first),
      T(test_call_reset_earlier_to_a_tie_goes_last),
      T(test_delayed_calls_after_reset_wait_for_the_next_sort),
      T(test_two_resets_before_a_sort_keep_their_old_order),
      T(test_delay_into_the_past_makes_the_call_due),
      T(test_delay_and_reset_combine_as_in_twisted),
      T(test_due_calls_scheduled_during_advance_run_in_it),
      T(test_advance_zero_runs_calls_due_now),
      T(test_advance_inside_a_call_nests),
      T(test_advance_back_and_refused_amounts),
      T(test_other_clocks_are_refused),
      /* a delayed call */
      T(test_cancel_reset_delay_after_cancel_or_run),
      T(test_bad_arguments_are_refused),
      T(test_nan_times_are_refused),
      T(test_owned_argument_released_after_the_call_runs),
      T(test_owned_argument_released_when_cancelled),
      T(test_clock_freed_with_calls_pending),
      T(test_release_cancelling_another_call_while_freeing),
      T(test_call_cancelling_another_due_call),
      T(test_unref_inside_its_own_call),
      T(test_clock_freed_inside_its_own_call),
      T(test_clock_freed_inside_nested_advance_and_pump),
      /* out of memory, the model, many calls */
      T(test_every_allocation_failure_is_handled),
      T(test_clock_matches_a_model_of_twisted_list),
      T(test_clock_in_step_with_the_model_through_bulk_runs),
      T(test_ten_thousand_calls_run_in_order),
      T(test_release_may_free_the_clock_during_a_cancel),
      T(test_clock_reuses_the_structs_of_the_calls_it_ran),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
