/* Out of memory: every allocation the library makes can fail, and each
 * failure is handled (DF_ENOMEM returned, NULL from a constructor, or the
 * preallocated MemoryError in the chain), never a crash or a leak.
 *
 * The scenario below touches every allocating path (deferreds, stage
 * blocks, the loop stack, failures and their messages, the scratch vector
 * of cycle collection, report text) and is run once with the allocation
 * number N failing, for every N until a run completes without reaching
 * its N-th allocation; then with several allocations in a row failing
 * from the N-th, and with every allocation from the N-th on failing.
 * Waiting and chain_deferred chains are then fired with every allocation
 * failing: no hand-off to a waiter and no chained fire may be lost.
 * valgrind (CI) checks that nothing leaks. */
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

/* Fire ds[39] with every allocation refused: with the caches emptied
 * (the loop stack has no frame at all), or, with `warm_stack`, with a
 * loop stack that already has room for 32 frames (it grows no further). */
static void fire_waiting_chain_without_memory(bool stage_after_continue,
                                              bool warm_stack) {
  df_deferred *ds[CHAIN_LENGTH];
  support_reset();
  if (warm_stack) {
    support_count_allocations(); /* refuses nothing yet */
    df_deferred *a = df_deferred_new(), *b = df_deferred_new();
    df_deferred_add_callback(a, return_deferred, b);
    df_deferred_callback(a, df_none());
    df_deferred_callback(b, df_none()); /* a hand-off: the stack gets 32 */
    df_deferred_unref(a);
    df_deferred_unref(b);
  }
  build_waiting_chain(ds, stage_after_continue);
  if (warm_stack) { /* the same allocator: no need to empty the caches */
    support_fail_at = support_allocations + 1;
    support_fail_run = SUPPORT_FAIL_FOREVER;
  } else {
    support_refuse_every_allocation();
  }
  assert_int_equal(df_deferred_callback(ds[CHAIN_LENGTH - 1], df_int(7)), 0);
  long refused = support_failed_allocations;
  support_default_allocator();
  expect_waiters_ran(stage_after_continue);
  for (int i = 0; i < CHAIN_LENGTH - 1; i++)
    assert_null(df_deferred_waiting_on(ds[i]));
  assert_int_equal(df_deferred_result(ds[0])->u.i, 7 + CHAIN_LENGTH - 1);
  for (int i = 0; i < CHAIN_LENGTH; i++) df_deferred_unref(ds[i]);
  print_message("%ld allocations refused on the way\n", refused);
}

/* A 40-deep waiting chain fired with every allocation failing: every one
 * of the 39 waiters gets its result, whether the loop stack has no room
 * at all or room for 32 frames (it used to lose 8 of them, and the
 * memory of the hand-off stages: the stack could not grow, nor the
 * requeued hand-off get a block). */
static void test_waiting_chain_hands_off_with_every_allocation_failing(
    void **state) {
  (void)state;
  fire_waiting_chain_without_memory(false, false);
  fire_waiting_chain_without_memory(false, true);
}

/* The same when every hand-off has a stage after it (the deferred that
 * hands over must be resumed after its waiter). */
static void test_hand_off_followed_by_stages_with_every_allocation_failing(
    void **state) {
  (void)state;
  fire_waiting_chain_without_memory(true, false);
  fire_waiting_chain_without_memory(true, true);
}

/* With no memory at all, hand-offs that are not their deferred's last
 * stage nest on the C stack, up to a bound (deferred.c: 512 levels of 32
 * frames). Past it a hand-off stays queued, with its reference, and goes
 * on when its deferred runs again: a 40,000-deep chain of such hand-offs
 * gets only part of the way with no memory, and the rest of the way once
 * a stage is added to the deferred where it stopped. */
#define DEEP_CHAIN 40000

static long deep_results;
static df_result count_result(df_result r, void *arg) {
  (void)arg;
  deep_results++;
  return r;
}

static void test_hand_offs_past_the_nesting_bound_resume_on_the_next_run(
    void **state) {
  (void)state;
  df_deferred **ds = test_malloc(DEEP_CHAIN * sizeof *ds);
  deep_results = 0;
  for (long i = 0; i < DEEP_CHAIN; i++) ds[i] = df_deferred_new();
  for (long i = 0; i < DEEP_CHAIN - 1; i++) {
    df_deferred_add_callback(ds[i], return_deferred, ds[i + 1]);
    df_deferred_add_callback(ds[i], count_result, NULL);
  }
  for (long i = 0; i < DEEP_CHAIN - 1; i++) {
    df_deferred_callback(ds[i], df_none());
    df_deferred_add_callback(ds[i + 1], pass, NULL); /* after the hand-off */
  }
  support_refuse_every_allocation();
  df_deferred_callback(ds[DEEP_CHAIN - 1], df_int(1));
  support_default_allocator();
  long stopped = 0; /* the first waiter still waiting, from the far end */
  for (long i = DEEP_CHAIN - 2; i >= 0 && !stopped; i--)
    if (df_deferred_waiting_on(ds[i])) stopped = i;
  assert_true(stopped > 0);
  assert_int_equal(deep_results, DEEP_CHAIN - 2 - stopped);
  print_message("%ld hand-offs made with no memory, the rest after\n",
                deep_results);
  /* where it stopped: the hand-off to ds[stopped] is still queued */
  assert_int_equal(df_deferred_pending_stages(ds[stopped + 1]), 2);
  df_deferred_add_callback(ds[stopped + 1], pass, NULL); /* runs it again */
  assert_int_equal(deep_results, DEEP_CHAIN - 1);
  for (long i = 0; i < DEEP_CHAIN - 1; i++)
    assert_null(df_deferred_waiting_on(ds[i]));
  assert_int_equal(df_deferred_result(ds[0])->u.i, 1);
  for (long i = 0; i < DEEP_CHAIN; i++) df_deferred_unref(ds[i]);
  test_free(ds);
}

/* With no memory, the callbacks run in the same order as with enough,
 * even when a paused waiter abandons the walk (rule 13) deep in hand-offs
 * run nested: ds[3] is paused, so the hand-offs from ds[39] stop there
 * (the stages after them stay queued), and go on once it is unpaused. */
static void paused_midway(bool no_memory, bool warm_stack, char *log,
                          size_t size) {
  df_deferred *ds[CHAIN_LENGTH];
  support_reset();
  if (no_memory && warm_stack) {
    support_count_allocations();
    df_deferred *a = df_deferred_new(), *b = df_deferred_new();
    df_deferred_add_callback(a, return_deferred, b);
    df_deferred_callback(a, df_none());
    df_deferred_callback(b, df_none()); /* the loop stack gets 32 frames */
    df_deferred_unref(a);
    df_deferred_unref(b);
  }
  build_waiting_chain(ds, true);
  df_deferred_pause(ds[3]);
  if (no_memory && warm_stack) {
    support_fail_at = support_allocations + 1;
    support_fail_run = SUPPORT_FAIL_FOREVER;
  } else if (no_memory) {
    support_refuse_every_allocation();
  }
  df_deferred_callback(ds[CHAIN_LENGTH - 1], df_int(7));
  ev("|");
  df_deferred_unpause(ds[3]);
  if (no_memory) support_default_allocator();
  snprintf(log, size, "%s", events);
  for (int i = 0; i < CHAIN_LENGTH; i++) df_deferred_unref(ds[i]);
}

static void test_paused_waiter_stops_hand_offs_alike_without_memory(
    void **state) {
  (void)state;
  static char with_memory[4096], without[4096];
  paused_midway(false, false, with_memory, sizeof with_memory);
  assert_non_null(strstr(with_memory, "w4:41 | w3:42 w2:43 w1:44 w0:45 "));
  paused_midway(true, false, without, sizeof without);
  assert_string_equal(without, with_memory);
  paused_midway(true, true, without, sizeof without);
  assert_string_equal(without, with_memory);
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
          test_hand_offs_past_the_nesting_bound_resume_on_the_next_run),
      cmocka_unit_test(test_allocator_must_be_all_or_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
