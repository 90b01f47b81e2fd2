/* Firing a deferred whose queue is one stage (run_one() in
 * src/core/deferred.c): the stage is called directly, without the firing
 * loop, and whatever it does that is not the plain end (a failure, a
 * deferred, a stage added, a reference dropped, an observer installed)
 * must go on exactly as the loop would go on. Each test checks the
 * result and the events; valgrind and the sanitizers (CI) check that
 * nothing is freed twice or leaked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

static df_result add_one(df_result r, void *arg) {
  (void)arg;
  ev_result("add_one", r);
  return df_int(r.u.i + 1);
}

static df_result record(df_result r, void *arg) {
  ev_result((const char *)arg, r);
  return r;
}

/* Fires `d` with `v` and takes its result (d must have finished). */
static df_result fire_and_take(df_deferred *d, int64_t v) {
  assert_int_equal(df_deferred_callback(d, df_int(v)), 0);
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  return r;
}

static void test_one_callback_gives_its_value(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, add_one, NULL);
  df_result r = fire_and_take(d, 41);
  assert_int_equal(r.kind, DF_INT);
  assert_int_equal(r.u.i, 42);
  assert_false(df_deferred_paused(d));
  df_deferred_unref(d);
  assert_string_equal(events, "add_one:41 ");
}

/* The stage holds an owned value: the deferred keeps it until freed. */
static df_result return_owned(df_result r, void *arg) {
  (void)r;
  return df_pointer(arg, count_destroy);
}

/* The callback drops the caller's reference: the run's own keeps the
 * deferred alive until the stage has returned, then it is freed, and the
 * value it ended with is destroyed with it. */
static df_result drop_own_deferred(df_result r, void *arg) {
  df_deferred_unref(arg);
  return return_owned(r, &destroyed);
}

static void test_callback_dropping_the_last_reference(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, drop_own_deferred, d);
  assert_int_equal(df_deferred_callback(d, df_int(1)), 0);
  /* d is gone: its owned value was destroyed when it was freed */
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(last_destroyed, &destroyed);
}

/* A stage added from inside the only stage runs after it (rule 19). */
static df_result add_another(df_result r, void *arg) {
  ev_result("first", r);
  df_deferred_add_callback(arg, add_one, NULL);
  return df_int(r.u.i * 10);
}

static void test_stage_added_from_inside_runs_next(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, add_another, d);
  df_result r = fire_and_take(d, 3);
  assert_int_equal(r.u.i, 31);
  assert_string_equal(events, "first:3 add_one:30 ");
  df_deferred_unref(d);
}

static df_result raise_it(df_result r, void *arg) {
  (void)r;
  (void)arg;
  return df_raise(&generic_error, "from the only stage");
}

/* A failure from the only stage is d's result; unhandled, it is reported
 * when d goes, naming the stage it came from. */
static void test_failure_from_the_only_stage(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, raise_it, NULL);
  assert_int_equal(df_deferred_callback(d, df_int(0)), 0);
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_int_equal(r.kind, DF_FAILURE);
  assert_ptr_equal(df_failure_type(r.u.failure), &generic_error);
  assert_traceback_contains(r.u.failure, "raise_it");
  df_result_drop(r);
  df_deferred_unref(d);
  assert_int_equal(reports, 0); /* taken: handled */

  d = df_deferred_new();
  df_deferred_add_callback(d, raise_it, NULL);
  df_deferred_callback(d, df_int(0));
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
}

/* Returning a fired deferred gives its value (rule 9); returning an
 * unfired one makes d wait for it (rule 10). */
static df_result return_fired(df_result r, void *arg) {
  (void)arg;
  return df_wait_on(df_succeed(df_int(r.u.i + 100)));
}

static void test_returned_deferreds(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, return_fired, NULL);
  df_result r = fire_and_take(d, 1);
  assert_int_equal(r.u.i, 101);
  df_deferred_unref(d);

  df_deferred *inner = df_deferred_new();
  d = df_deferred_new();
  df_deferred_add_callback(d, return_deferred, inner);
  assert_int_equal(df_deferred_callback(d, df_int(1)), 0);
  assert_ptr_equal(df_deferred_waiting_on(d), inner);
  assert_int_equal(df_deferred_take_result(d, &r), DF_EINVAL); /* waiting */
  df_deferred_add_callback(d, record, "after");
  df_deferred_callback(inner, df_int(7));
  assert_null(df_deferred_waiting_on(d));
  assert_string_equal(events, "after:7 ");
  df_deferred_unref(inner);
  df_deferred_unref(d);
}

/* An owned stage: release runs once, after its callback. */
static df_result owned_callback(df_result r, void *arg) {
  ev("callback:%s", (const char *)arg);
  return r;
}

static void owned_release(void *arg) { ev("release:%s", (const char *)arg); }

static void test_owned_stage_released_once(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_owned(d, owned_callback, owned_callback, "x", owned_release);
  df_result r = fire_and_take(d, 5);
  assert_int_equal(r.u.i, 5);
  df_deferred_unref(d);
  assert_string_equal(events, "callback:x release:x ");
}

/* d is the target of a's chain_deferred: a's CHAIN stage holds a
 * reference to it. d's only stage drops the caller's reference, so after
 * the run d is held by that stage alone, which a (held) can still reach:
 * d is not garbage. a fires it later and meets AlreadyCalledError. */
static void test_chained_target_dropping_its_reference(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new();
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_chain(a, d), 0);
  df_deferred_add_callback(d, drop_own_deferred, d);
  assert_int_equal(df_deferred_callback(d, df_int(1)), 0);
  assert_int_equal(destroyed, 0); /* d lives on, held by a's stage */
  assert_int_equal(df_deferred_callback(a, df_int(2)), 0);
  df_result r;
  assert_int_equal(df_deferred_take_result(a, &r), 0);
  assert_int_equal(r.kind, DF_FAILURE);
  assert_ptr_equal(df_failure_type(r.u.failure), &df_error_already_called);
  df_result_drop(r);
  assert_int_equal(destroyed, 1); /* a's stage let d go */
  df_deferred_unref(a);
  assert_int_equal(reports, 0);
}

/* An observer installed by the only stage sees the deferred finish, as it
 * would after the loop. */
static int finished_events;
static void count_finished(const df_event *e, void *arg) {
  (void)arg;
  if (e->kind == DF_EVENT_FINISHED) finished_events++;
}

static df_result install_observer(df_result r, void *arg) {
  (void)arg;
  df_set_observer(count_finished, NULL, NULL);
  return r;
}

static void test_observer_installed_by_the_stage(void **state) {
  (void)state;
  finished_events = 0;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, install_observer, NULL);
  df_result r = fire_and_take(d, 9);
  df_set_observer(NULL, NULL, NULL);
  assert_int_equal(r.u.i, 9);
  assert_int_equal(finished_events, 1);
  df_deferred_unref(d);
}

/* A paused deferred does not run its stage until unpaused (rules 16, 18). */
static void test_paused_deferred_waits(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, add_one, NULL);
  df_deferred_pause(d);
  df_deferred_callback(d, df_int(1));
  assert_string_equal(events, "");
  df_deferred_unpause(d);
  assert_string_equal(events, "add_one:1 ");
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_int_equal(r.u.i, 2);
  df_deferred_unref(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_one_callback_gives_its_value,
                                      support_setup, support_teardown),
      cmocka_unit_test_setup_teardown(test_callback_dropping_the_last_reference,
                                      support_setup, support_teardown),
      cmocka_unit_test_setup_teardown(test_stage_added_from_inside_runs_next,
                                      support_setup, support_teardown),
      cmocka_unit_test_setup_teardown(test_failure_from_the_only_stage,
                                      support_setup, support_teardown),
      cmocka_unit_test_setup_teardown(test_returned_deferreds, support_setup,
                                      support_teardown),
      cmocka_unit_test_setup_teardown(test_owned_stage_released_once,
                                      support_setup, support_teardown),
      cmocka_unit_test_setup_teardown(test_chained_target_dropping_its_reference,
                                      support_setup, support_teardown),
      cmocka_unit_test_setup_teardown(test_observer_installed_by_the_stage,
                                      support_setup, support_teardown),
      cmocka_unit_test_setup_teardown(test_paused_deferred_waits, support_setup,
                                      support_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
