/* Out of memory: every allocation the library makes can fail, and each
 * failure is handled (DF_ENOMEM returned, NULL from a constructor, or the
 * preallocated MemoryError in the chain), never a crash or a leak.
 *
 * The scenario below touches every allocating path (deferreds, stage
 * blocks, failures and their messages, the scratch vector of cycle
 * collection, report text) and is run once with the allocation
 * number N failing, for every N until a run completes without reaching
 * its N-th allocation; then with several allocations in a row failing
 * from the N-th, and with every allocation from the N-th on failing.
 * Waiting and chain_deferred chains, 40 and 100,000 deep, are then fired
 * with every allocation failing: no hand-off to a waiter and no chained
 * fire may be lost, and none asks for memory (the loop stack is threaded
 * through the deferreds on it: src/core/loop_stack.c). valgrind (CI)
 * checks that nothing leaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

static df_result add_one(df_result r, void *arg) {
  (void)arg;
  if (r.kind != DF_INT) return r;
  return df_int(r.u.i + 1);
}

static df_result raise_it(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_raise(&generic_error, "failure number %d", 42);
}

static df_result recover(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_int(100);
}

static void quiet(const df_unhandled *report, void *arg) {
  (void)arg;
  char *text = df_unhandled_format(report); /* allocates: may fail */
  free(text);
  reports++;
}

/* Returns what the scenario's main chain ended with (-1 if it could not
 * run at all). Releases everything it made. */
static int64_t scenario(void) {
  int64_t outcome = -1;
  df_deferred *d = df_deferred_new();
  if (d) {
    for (int i = 0; i < 40; i++) /* inline stages, then blocks */
      if (df_deferred_add_callback(d, add_one, NULL) != 0) break;
    df_deferred_add_callback(d, raise_it, NULL);
    df_deferred_add_errback(d, recover, NULL);
    df_deferred *inner = df_deferred_new();
    if (inner) { /* the chain waits on inner: a frame for the hand-off */
      df_deferred_add_callback(d, return_deferred, inner);
      df_deferred_add_callback(inner, add_one, NULL);
    }
    df_deferred_add_callback(d, add_one, NULL);
    df_deferred_callback(d, df_int(0));
    if (inner) {
      df_deferred_callback(inner, df_int(7));
      df_deferred_unref(inner);
    }
    const df_result *r = df_deferred_result(d);
    if (r && r->kind == DF_INT) outcome = r->u.i;
    df_deferred_unref(d);
  }

  /* chain_deferred, a cycle to collect, an unhandled failure */
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  if (a && b) {
    df_deferred_chain(a, b);
    df_deferred_chain(b, a);
    df_deferred_pause(a);
    df_deferred_errback(a, df_failure_new(&generic_error, "left %s", "here"));
  }
  df_deferred_unref(a); /* the a<->b cycle: freed, a's failure reported */
  df_deferred_unref(b);
  df_deferred *c = df_fail(df_failure_new(NULL, "unhandled"));
  df_deferred_unref(c);
  return outcome;
}

/* With allocations refused the chain may end early or differently, but
 * only with a value it can legitimately reach: k of the 40 adds (the
 * loop stops at the first refused add), then maybe inner's and the last
 * add (when the raise was never added: up to 42), or the recovery's 100
 * and those two adds. The run that refuses nothing ends as with enough
 * memory. */
static void check_outcome(int64_t outcome, bool failed) {
  if (!failed)
    assert_int_equal(outcome, 9);
  else
    assert_true(outcome == -1 || (outcome >= 0 && outcome <= 42) ||
                (outcome >= 100 && outcome <= 102));
}

static void test_every_allocation_failure_is_handled(void **state) {
  (void)state;
  df_set_unhandled_handler(quiet, NULL);
  /* Outcome with enough memory: 0 + 40 adds, then raise -> recover (100),
   * then the wait: inner's 7 + 1 = 8 handed over, + 1 = 9. */
  df_release_caches();
  assert_int_equal(scenario(), 9);

  support_check_each_allocation_failure(scenario, check_outcome, 100000);
  df_set_unhandled_handler(NULL, NULL);
}

/* Runs of 2, 3 and 5 allocations failing in a row, and every allocation
 * failing from some point on (sustained out of memory): the same outcomes
 * as one failure at a time. */
static void test_every_run_of_allocation_failures_is_handled(void **state) {
  (void)state;
  df_set_unhandled_handler(quiet, NULL);
  const long runs[] = {2, 3, 5, SUPPORT_FAIL_FOREVER};
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
    long points = support_fail_runs_of_allocations(scenario, check_outcome,
                                                   100000, runs[i]);
    assert_true(points > 4);
  }
  df_set_unhandled_handler(NULL, NULL);
}

/* --- hand-offs and chained fires with no memory at all ------------------ */

#define CHAIN_LENGTH 40

/* Records "name:value" and gives value + 1 on (a waiter's own stage). */
static df_result record_and_add_one(df_result r, void *arg) {
  ev("%s:%lld", (const char *)arg, (long long)r.u.i);
  return df_int(r.u.i + 1);
}

static df_result record_after(df_result r, void *arg) {
  ev("after%d:%s", (int)(intptr_t)arg, r.kind == DF_NONE ? "None" : "?");
  return r;
}

static char names[CHAIN_LENGTH][8];

/* ds[i] waits on ds[i + 1] (i < 39), and has a stage that records what it
 * gets; with `stage_after_continue`, each ds[i + 1] also has a stage
 * queued after the hand-off to ds[i], so that no hand-off is its
 * deferred's last stage. Built with memory; ds[39] is left unfired. */
static void build_waiting_chain(df_deferred **ds, bool stage_after_continue) {
  for (int i = 0; i < CHAIN_LENGTH; i++) {
    ds[i] = df_deferred_new();
    snprintf(names[i], sizeof names[i], "w%d", i);
  }
  for (int i = 0; i < CHAIN_LENGTH - 1; i++) {
    assert_int_equal(df_deferred_add_callback(ds[i], return_deferred, ds[i + 1]),
                     0);
    assert_int_equal(df_deferred_add_callback(ds[i], record_and_add_one,
                                              names[i]),
                     0);
  }
  for (int i = 0; i < CHAIN_LENGTH - 1; i++) {
    assert_int_equal(df_deferred_callback(ds[i], df_none()), 0);
    assert_ptr_equal(df_deferred_waiting_on(ds[i]), ds[i + 1]);
    if (stage_after_continue)
      assert_int_equal(df_deferred_add_callback(ds[i + 1], record_after,
                                                (void *)(intptr_t)(i + 1)),
                       0);
  }
}

/* What the waiters recorded, in the order the loop runs them (rule 11:
 * each waiter runs as soon as it is handed its result, before the rest of
 * the deferred that handed it over). */
static void expect_waiters_ran(bool stage_after_continue) {
  char expected[2048] = "";
  size_t n = 0;
  for (int i = CHAIN_LENGTH - 2; i >= 0; i--)
    n += (size_t)snprintf(expected + n, sizeof expected - n, "w%d:%d ", i,
                          7 + (CHAIN_LENGTH - 2 - i));
  for (int i = 1; stage_after_continue && i < CHAIN_LENGTH; i++)
    n += (size_t)snprintf(expected + n, sizeof expected - n, "after%d:None ", i);
  assert_string_equal(events, expected);
}

/* Fire ds[39] with every allocation refused (the caches emptied): the
 * hand-offs ask for no memory at all. */
static void fire_waiting_chain_without_memory(bool stage_after_continue) {
  df_deferred *ds[CHAIN_LENGTH];
  support_reset();
  build_waiting_chain(ds, stage_after_continue);
  support_refuse_every_allocation();
  assert_int_equal(df_deferred_callback(ds[CHAIN_LENGTH - 1], df_int(7)), 0);
  long refused = support_failed_allocations;
  support_default_allocator();
  expect_waiters_ran(stage_after_continue);
  for (int i = 0; i < CHAIN_LENGTH - 1; i++)
    assert_null(df_deferred_waiting_on(ds[i]));
  assert_int_equal(df_deferred_result(ds[0])->u.i, 7 + CHAIN_LENGTH - 1);
  for (int i = 0; i < CHAIN_LENGTH; i++) df_deferred_unref(ds[i]);
  assert_int_equal(refused, 0);
}

/* A 40-deep waiting chain fired with every allocation failing: every one
 * of the 39 waiters gets its result, in the order it gets it with memory. */
static void test_waiting_chain_hands_off_with_every_allocation_failing(
    void **state) {
  (void)state;
  fire_waiting_chain_without_memory(false);
}

/* The same when every hand-off has a stage after it (the deferred that
 * hands over must be resumed after its waiter). */
static void test_hand_off_followed_by_stages_with_every_allocation_failing(
    void **state) {
  (void)state;
  fire_waiting_chain_without_memory(true);
}

/* 100,000 deferreds chained through returned deferreds: ds[i]'s callback
 * returns ds[i + 1], so each waits on the next, and a counting stage
 * follows; with `stage_after_continue`, each ds[i + 1] also has a stage
 * queued after its hand-off to ds[i] (so no hand-off is its deferred's
 * last stage, and each deferred must go on after its waiter is done).
 * Built with memory; then ds[last] is fired with every allocation
 * refused. The result reaches ds[0], every waiter runs once, in order
 * (ds[last - 1] first), and nothing asks for memory. Before the loop
 * stack lived in the deferreds, such a chain stopped part of the way
 * (hand-offs nested on the C stack up to a bound, the rest left queued). */
#define DEEP_CHAIN 100000

static long deep_results, deep_next, deep_after;
static df_result count_in_order(df_result r, void *arg) {
  long i = (long)(intptr_t)arg;
  if (i == deep_next) deep_next--; /* a waiter out of order stops it */
  deep_results++;
  return r;
}
static df_result count_ascending(df_result r, void *arg) {
  long i = (long)(intptr_t)arg;
  if (i == deep_next) deep_next++;
  deep_results++;
  return r;
}
static df_result count_after(df_result r, void *arg) {
  (void)arg;
  deep_after++;
  return r;
}

static void fire_deep_waiting_chain_without_memory(bool stage_after_continue) {
  df_deferred **ds = test_malloc(DEEP_CHAIN * sizeof *ds);
  deep_results = deep_after = 0;
  deep_next = DEEP_CHAIN - 2;
  for (long i = 0; i < DEEP_CHAIN; i++) ds[i] = df_deferred_new();
  for (long i = 0; i < DEEP_CHAIN - 1; i++) {
    assert_int_equal(
        df_deferred_add_callback(ds[i], return_deferred, ds[i + 1]), 0);
    assert_int_equal(df_deferred_add_callback(ds[i], count_in_order,
                                              (void *)(intptr_t)i),
                     0);
  }
  for (long i = 0; i < DEEP_CHAIN - 1; i++) {
    assert_int_equal(df_deferred_callback(ds[i], df_none()), 0);
    if (stage_after_continue)
      assert_int_equal(df_deferred_add_callback(ds[i + 1], count_after, NULL),
                       0);
  }
  support_refuse_every_allocation();
  assert_int_equal(df_deferred_callback(ds[DEEP_CHAIN - 1], df_int(1)), 0);
  long refused = support_failed_allocations;
  support_default_allocator();
  assert_int_equal(refused, 0);
  assert_int_equal(deep_results, DEEP_CHAIN - 1);
  assert_int_equal(deep_next, -1); /* each in its turn */
  assert_int_equal(deep_after, stage_after_continue ? DEEP_CHAIN - 1 : 0);
  for (long i = 0; i < DEEP_CHAIN - 1; i++)
    assert_null(df_deferred_waiting_on(ds[i]));
  assert_int_equal(df_deferred_result(ds[0])->u.i, 1);
  for (long i = 1; i < DEEP_CHAIN; i++)
    assert_int_equal(df_deferred_result(ds[i])->kind, DF_NONE);
  for (long i = 0; i < DEEP_CHAIN; i++) df_deferred_unref(ds[i]);
  test_free(ds);
}

static void test_deep_waiting_chain_delivers_without_memory(
    void **state) {
  (void)state;
  fire_deep_waiting_chain_without_memory(false);
}

static void test_deep_hand_offs_with_stages_after_deliver_without_memory(
    void **state) {
  (void)state;
  fire_deep_waiting_chain_without_memory(true);
}

/* 100,000 deferreds linked with chain_deferred (c[i] -> c[i + 1]), each
 * with a counting stage before its link, fired with every allocation
 * refused: every chained fire happens, in order, the last deferred gets
 * the result, and nothing asks for memory. */
static void test_deep_chain_deferred_list_fires_without_memory(
    void **state) {
  (void)state;
  df_deferred **cs = test_malloc(DEEP_CHAIN * sizeof *cs);
  deep_results = 0;
  deep_next = 0;
  for (long i = 0; i < DEEP_CHAIN; i++) {
    cs[i] = df_deferred_new();
    assert_int_equal(df_deferred_add_callback(cs[i], count_ascending,
                                              (void *)(intptr_t)i),
                     0);
  }
  for (long i = 0; i < DEEP_CHAIN - 1; i++)
    assert_int_equal(df_deferred_chain(cs[i], cs[i + 1]), 0);
  support_refuse_every_allocation();
  assert_int_equal(df_deferred_callback(cs[0], df_int(5)), 0);
  long refused = support_failed_allocations;
  support_default_allocator();
  assert_int_equal(refused, 0);
  assert_int_equal(deep_results, DEEP_CHAIN);
  assert_int_equal(deep_next, DEEP_CHAIN);
  assert_int_equal(df_deferred_result(cs[DEEP_CHAIN - 1])->u.i, 5);
  for (long i = 0; i < DEEP_CHAIN - 1; i++)
    assert_int_equal(df_deferred_result(cs[i])->kind, DF_NONE);
  for (long i = 0; i < DEEP_CHAIN; i++) df_deferred_unref(cs[i]);
  test_free(cs);
}

/* With no memory, the callbacks run in the same order as with enough,
 * even when a paused waiter abandons the walk (rule 13) deep in
 * hand-offs: ds[3] is paused, so the hand-offs from ds[39] stop there
 * (the stages after them stay queued), and go on once it is unpaused. */
static void paused_midway(bool no_memory, char *log, size_t size) {
  df_deferred *ds[CHAIN_LENGTH];
  support_reset();
  build_waiting_chain(ds, true);
  df_deferred_pause(ds[3]);
  if (no_memory) support_refuse_every_allocation();
  df_deferred_callback(ds[CHAIN_LENGTH - 1], df_int(7));
  ev("|");
  df_deferred_unpause(ds[3]);
  if (no_memory) {
    assert_int_equal(support_failed_allocations, 0);
    support_default_allocator();
  }
  snprintf(log, size, "%s", events);
  for (int i = 0; i < CHAIN_LENGTH; i++) df_deferred_unref(ds[i]);
}

static void test_paused_waiter_stops_hand_offs_alike_without_memory(
    void **state) {
  (void)state;
  static char with_memory[4096], without[4096];
  paused_midway(false, with_memory, sizeof with_memory);
  assert_non_null(strstr(with_memory, "w4:41 | w3:42 w2:43 w1:44 w0:45 "));
  paused_midway(true, without, sizeof without);
  assert_string_equal(without, with_memory);
}

/* A deferred the loop is still running (x handed its result to w, whose
 * callback is running) is run again from w's callback and made to wait
 * on y: the wait edge takes the reserve x will need if y hands it its
 * result while x is still on the loop stack (loop_stack.c). With that
 * one allocation refused, x's chain goes on with a MemoryError, as with
 * any wait edge that cannot be made, y is left alone, and nothing is lost
 * or leaked. */
static df_deferred *reentry_x, *reentry_y;

static df_result x_waits_on_y(df_result r, void *arg) {
  (void)arg;
  ev("x_ret_y:%s", r.kind == DF_NONE ? "None" : "?");
  /* the next allocation is the wait edge's reserve: refuse it */
  support_fail_at = support_allocations + 1;
  support_fail_run = 1;
  return df_wait_on(df_deferred_ref(reentry_y));
}

static df_result x_after(df_result r, void *arg) {
  (void)arg;
  ev("x_after:%s", df_result_is_failure(r) &&
                           df_failure_type(r.u.failure) == &df_error_no_memory
                       ? "MemoryError"
                       : "?");
  df_result_drop(r);
  return df_int(1);
}

static df_result w_adds_to_x(df_result r, void *arg) {
  (void)arg;
  ev("w");
  assert_int_equal(df_deferred_add_callback(reentry_x, x_waits_on_y, NULL), 0);
  assert_int_equal(df_deferred_add_both(reentry_x, x_after, NULL), 0);
  assert_int_equal(df_deferred_callback(reentry_y, df_int(2)), 0);
  ev("w-end");
  return r;
}

static void test_reentered_wait_without_memory_for_its_reserve_fails_cleanly(
    void **state) {
  (void)state;
  support_reset();
  df_deferred *x = df_deferred_new(), *w = df_deferred_new();
  reentry_x = x;
  reentry_y = df_deferred_new();
  df_deferred_add_callback(w, return_deferred, x);
  df_deferred_callback(w, df_none());
  df_deferred_add_callback(w, w_adds_to_x, NULL);
  support_count_allocations();
  assert_int_equal(df_deferred_callback(x, df_none()), 0);
  long refused = support_failed_allocations;
  support_default_allocator();
  assert_int_equal(refused, 1);
  assert_string_equal(events, "w x_ret_y:None x_after:MemoryError w-end ");
  assert_null(df_deferred_waiting_on(x));
  assert_int_equal(df_deferred_result(x)->u.i, 1);
  assert_int_equal(df_deferred_result(reentry_y)->u.i, 2); /* not taken */
  df_deferred_unref(x);
  df_deferred_unref(w);
  df_deferred_unref(reentry_y);
}

/* chain_deferred links c[0] -> c[1] -> ... -> c[39], each with a stage
 * before its link that records and adds one, fired with every allocation
 * failing: each chained fire happens (rule 15), none fails with a
 * MemoryError instead. */
static void test_chain_deferred_fires_with_every_allocation_failing(
    void **state) {
  (void)state;
  df_deferred *cs[CHAIN_LENGTH];
  support_reset();
  for (int i = 0; i < CHAIN_LENGTH; i++) {
    cs[i] = df_deferred_new();
    snprintf(names[i], sizeof names[i], "c%d", i);
    assert_int_equal(df_deferred_add_callback(cs[i], record_and_add_one,
                                              names[i]),
                     0);
  }
  for (int i = 0; i < CHAIN_LENGTH - 1; i++)
    assert_int_equal(df_deferred_chain(cs[i], cs[i + 1]), 0);
  support_refuse_every_allocation();
  assert_int_equal(df_deferred_callback(cs[0], df_int(0)), 0);
  support_default_allocator();
  char expected[1024] = "";
  size_t n = 0;
  for (int i = 0; i < CHAIN_LENGTH; i++)
    n += (size_t)snprintf(expected + n, sizeof expected - n, "c%d:%d ", i, i);
  assert_string_equal(events, expected);
  assert_int_equal(df_deferred_result(cs[CHAIN_LENGTH - 1])->u.i, CHAIN_LENGTH);
  for (int i = 0; i < CHAIN_LENGTH - 1; i++)
    assert_int_equal(df_deferred_result(cs[i])->kind, DF_NONE);
  for (int i = 0; i < CHAIN_LENGTH; i++) df_deferred_unref(cs[i]);
}

static void test_allocator_must_be_all_or_nothing(void **state) {
  (void)state;
  assert_int_equal(df_set_allocator(support_failing_malloc, NULL, free),
                   DF_EINVAL);
  assert_int_equal(df_set_allocator(NULL, NULL, NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_allocation_failure_is_handled),
      cmocka_unit_test(test_every_run_of_allocation_failures_is_handled),
      cmocka_unit_test(test_waiting_chain_hands_off_with_every_allocation_failing),
      cmocka_unit_test(
          test_hand_off_followed_by_stages_with_every_allocation_failing),
      cmocka_unit_test(test_chain_deferred_fires_with_every_allocation_failing),
      cmocka_unit_test(
          test_paused_waiter_stops_hand_offs_alike_without_memory),
      cmocka_unit_test(
          test_reentered_wait_without_memory_for_its_reserve_fails_cleanly),
      cmocka_unit_test(
          test_deep_waiting_chain_delivers_without_memory),
      cmocka_unit_test(
          test_deep_hand_offs_with_stages_after_deliver_without_memory),
      cmocka_unit_test(
          test_deep_chain_deferred_list_fires_without_memory),
      cmocka_unit_test(test_allocator_must_be_all_or_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
