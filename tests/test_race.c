/* First success, race and the cancelling gather option
 * (deferred/race.h, DF_LIST_CANCEL_PENDING in deferred/list.h).
 *
 * Twisted 22.4 has none of them; Twisted 23.8's RaceTests are ported for
 * df_first_success (its `race`), each test naming the one it ports, with
 * loops over the sizes hypothesis draws. Then: which members are
 * cancelled, in which order and when (before the combined deferred
 * fires); members that had fired before construction; cancelling the
 * combined deferred; what the members' chains go on with and what is
 * reported as unhandled; FailureGroup; n == 0; bad arguments; out of
 * memory. tests/test_race_properties.c checks the same rules on random
 * scenarios against a model.
 */
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

/* --- helpers -------------------------------------------------------------- */

/* A member whose canceller logs "cancel:<i>" and counts (Twisted 23.8's
 * _setupRaceState: the canceller only records; the member then fails
 * with CancelledError). */
enum { MAX_MEMBERS = 64 };
static int cancelled[MAX_MEMBERS];
static int indexes[MAX_MEMBERS];
static void counting_canceller(df_deferred *d, void *arg) {
  (void)d;
  int i = *(int *)arg;
  cancelled[i]++;
  ev("cancel:%d", i);
}

static void make_members(df_deferred **ds, int n) {
  for (int i = 0; i < n; i++) {
    indexes[i] = i;
    ds[i] = df_deferred_new_with_canceller(counting_canceller, &indexes[i]);
    assert_non_null(ds[i]);
  }
}

static void release_members(df_deferred **ds, int n) {
  for (int i = 0; i < n; i++) df_deferred_unref(ds[i]);
}

/* What the combined deferred fired with, in words: "(value, index)",
 * "FirstError[...]", "FailureGroup[...]", "CancelledError: ...". */
static void outcome_text(df_result r, char *buf, size_t size) {
  df_first_result *h = df_first_result_of(r);
  char one[512];
  if (h) {
    if (df_result_is_failure(h->value))
      df_failure_brief(h->value.u.failure, one, sizeof one);
    else
      df_result_describe(h->value, one, sizeof one);
    snprintf(buf, size, "(%s, %zu)", one, h->index);
  } else if (df_result_is_failure(r)) {
    df_failure_brief(r.u.failure, buf, size);
  } else {
    df_result_describe(r, buf, size);
  }
}

/* Logs "out:<outcome>" and handles it. */
static df_result log_outcome(df_result r, void *arg) {
  char text[1024];
  outcome_text(r, text, sizeof text);
  ev("%s:%s", arg ? (const char *)arg : "out", text);
  df_result_drop(r);
  return df_none();
}

/* Logs "label:<result>" and passes it on. */
static df_result log_result(df_result r, void *arg) {
  ev_result(arg, r);
  return r;
}

/* The outcome `d` holds, in words (it must have fired). */
static const char *held_outcome(const df_deferred *d) {
  static char text[1024];
  const df_result *r = df_deferred_result(d);
  assert_non_null(r);
  outcome_text(*r, text, sizeof text);
  return text;
}

static int values[4];

static int setup(void **state) {
  memset(cancelled, 0, sizeof cancelled);
  return support_setup(state);
}

/* === Twisted 23.8's RaceTests, for df_first_success ======================= */

/* test_defer.py (Twisted 23.8): RaceTests.test_success */
static void test_first_success_fires_value_index_and_cancels_the_rest(
    void **state) {
  (void)state;
  for (int before = 0; before <= 3; before++)
    for (int after = 0; after <= 3; after++) {
      int n = before + 1 + after;
      df_deferred *ds[8];
      memset(cancelled, 0, sizeof cancelled);
      make_members(ds, n);
      df_deferred *race = df_first_success(ds, (size_t)n, 0);
      df_deferred_callback(ds[before], df_pointer(&values[0], NULL));
      df_first_result *h = df_first_result_of(*df_deferred_result(race));
      assert_non_null(h);
      assert_int_equal(h->index, before);
      assert_ptr_equal(h->value.u.p, &values[0]);
      for (int i = 0; i < n; i++) assert_int_equal(cancelled[i], i != before);
      df_deferred_unref(race);
      release_members(ds, n);
    }
  assert_int_equal(reports, 0); /* the losers' CancelledErrors are ours */
}

/* test_defer.py (Twisted 23.8): RaceTests.test_failure */
static void test_first_success_all_failed_gives_failure_group_in_order(
    void **state) {
  (void)state;
  for (int n = 1; n <= 7; n++) {
    df_deferred *ds[8];
    memset(cancelled, 0, sizeof cancelled);
    make_members(ds, n);
    df_deferred *race = df_first_success(ds, (size_t)n, DF_LIST_CONSUME_ERRORS);
    df_failure *failure = df_failure_new(&df_error_exception,
                                         "The test demands failures.");
    for (int i = n - 1; i >= 0; i--) /* out of order on purpose */
      df_deferred_errback(ds[i], df_failure_ref(failure));
    const df_result *r = df_deferred_result(race);
    assert_true(df_result_is_failure(*r));
    const df_failure_group *g = df_failure_group_of(r->u.failure);
    assert_non_null(g);
    assert_int_equal(g->count, n);
    for (int i = 0; i < n; i++) {
      assert_ptr_equal(g->failures[i], failure);
      assert_int_equal(cancelled[i], 0);
    }
    df_failure_unref(failure);
    release_handled(&race, 1);
    release_members(ds, n);
  }
  assert_int_equal(reports, 0);
}

/* test_defer.py (Twisted 23.8): RaceTests.test_resultAfterCancel: a
 * member that fires after it was cancelled changes nothing and nothing is
 * reported. */
static void test_member_firing_after_its_cancel_changes_nothing(void **state) {
  (void)state;
  for (int before = 0; before <= 3; before++)
    for (int after = 0; after <= 3; after++) {
      int n = before + 2 + after;
      df_deferred *ds[8];
      for (int i = 0; i < n; i++) ds[i] = df_deferred_new(); /* no canceller */
      df_deferred *race = df_first_success(ds, (size_t)n, 0);
      df_deferred_callback(ds[before], df_none());
      /* cancelled without a canceller: this fire is swallowed (rule 24) */
      assert_int_equal(df_deferred_callback(ds[before + 1], df_none()), 0);
      char expected[32];
      snprintf(expected, sizeof expected, "(None, %d)", before);
      assert_string_equal(held_outcome(race), expected);
      df_deferred_unref(race);
      release_members(ds, n);
    }
  assert_int_equal(reports, 0);
}

/* Twisted 23.8's canceller `lambda d: d.callback(object())`. */
static void fire_with_value_canceller(df_deferred *d, void *arg) {
  ev("cancel:%s", (const char *)arg);
  df_deferred_callback(d, df_pointer(&values[1], count_destroy));
}

/* test_defer.py (Twisted 23.8): RaceTests.test_resultFromCancel: a loser
 * whose canceller fires it with a success does not disturb the outcome;
 * its value stays with it. */
static void test_loser_canceller_firing_success_does_not_disturb(void **state) {
  (void)state;
  df_deferred *ds[2] = {
      df_deferred_new(),
      df_deferred_new_with_canceller(fire_with_value_canceller, "1")};
  df_deferred *race = df_first_success(ds, 2, 0);
  df_deferred_callback(ds[0], df_pointer(&values[0], NULL));
  df_first_result *h = df_first_result_of(*df_deferred_result(race));
  assert_int_equal(h->index, 0);
  assert_ptr_equal(h->value.u.p, &values[0]);
  assert_ptr_equal(df_deferred_result(ds[1])->u.p, &values[1]);
  df_deferred_unref(race);
  release_members(ds, 2);
  assert_int_equal(destroyed, 1);
}

/* test_defer.py (Twisted 23.8): RaceTests.test_cancel. Cancelling the
 * combined deferred cancels every member; we fail it with CancelledError
 * where Twisted 23.8 fails it with a FailureGroup of CancelledErrors. */
static void test_cancel_first_success_cancels_all_and_fails_cancelled(
    void **state) {
  (void)state;
  for (int n = 1; n <= 3; n++) {
    df_deferred *ds[3];
    memset(cancelled, 0, sizeof cancelled);
    make_members(ds, n);
    df_deferred *race = df_first_success(ds, (size_t)n, 0);
    df_deferred_cancel(race);
    for (int i = 0; i < n; i++) assert_int_equal(cancelled[i], 1);
    assert_string_equal(held_outcome(race), "CancelledError: ");
    release_handled(&race, 1);
    release_members(ds, n);
  }
  assert_int_equal(reports, 0);
}

/* === order and timing of the cancels ====================================== */

/* The losers are cancelled in input order, before the combined deferred's
 * callbacks see the winner. */
static void test_losers_cancelled_in_order_before_combined_fires(void **state) {
  (void)state;
  df_deferred *ds[4];
  make_members(ds, 4);
  df_deferred *race = df_first_success(ds, 4, 0);
  df_deferred_add_callback(race, log_outcome, NULL);
  df_deferred_callback(ds[2], df_int(2));
  assert_string_equal(events, "cancel:0 cancel:1 cancel:3 out:(2, 2) ");
  df_deferred_unref(race);
  release_members(ds, 4);
  assert_int_equal(reports, 0);
}

/* df_race: the first result wins, a failure included (FirstError with
 * index and sub-failure); the rest are cancelled first. */
static void test_race_first_failure_wins_with_first_error(void **state) {
  (void)state;
  df_deferred *ds[3];
  make_members(ds, 3);
  df_deferred *race = df_race(ds, 3, 0);
  df_deferred_add_errback(race, log_outcome, NULL);
  df_deferred_add_errback(ds[1], handle, NULL); /* its own chain handles it */
  df_deferred_errback(ds[1], df_failure_new(&generic_error, "first"));
  assert_string_equal(events, "cancel:0 cancel:2 out:FirstError: "
                              "FirstError[#1, GenericError: first] ");
  df_deferred_unref(race);
  release_members(ds, 3);
  assert_int_equal(reports, 0);
}

static void test_race_first_success_wins(void **state) {
  (void)state;
  df_deferred *ds[3];
  make_members(ds, 3);
  df_deferred *race = df_race(ds, 3, 0);
  df_deferred_callback(ds[2], df_string("fast"));
  assert_string_equal(events, "cancel:0 cancel:1 ");
  assert_string_equal(held_outcome(race), "('fast', 2)");
  df_deferred_unref(race);
  release_members(ds, 3);
  assert_int_equal(reports, 0);
}

/* The FirstError of a race holds the member's failure as index,
 * sub_failure and cause. */
static void test_race_first_error_details(void **state) {
  (void)state;
  df_deferred *ds[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *race = df_race(ds, 2, DF_LIST_CONSUME_ERRORS);
  df_failure *f = df_failure_new(&runtime_error, "boom");
  df_deferred_errback(ds[1], df_failure_ref(f));
  const df_failure *fe = df_deferred_result(race)->u.failure;
  const df_first_error *details = df_first_error_of(fe);
  assert_non_null(details);
  assert_int_equal(details->index, 1);
  assert_ptr_equal(details->sub_failure, f);
  assert_ptr_equal(df_failure_cause(fe), f);
  df_failure_unref(f);
  release_handled(&race, 1);
  release_members(ds, 2);
  assert_int_equal(reports, 0);
}

/* A member that had fired before the call decides at once: the members
 * before it are cancelled, then those after it once they are attached;
 * the constructor returns the combined deferred fired. */
static void test_member_fired_before_construction_decides_at_once(
    void **state) {
  (void)state;
  df_deferred *ds[4];
  make_members(ds, 4);
  df_deferred_callback(ds[1], df_int(1));
  df_deferred *race = df_first_success(ds, 4, 0);
  assert_true(df_deferred_called(race));
  assert_string_equal(events, "cancel:0 cancel:2 cancel:3 ");
  assert_string_equal(held_outcome(race), "(1, 1)");
  /* the later members' CancelledErrors were consumed by their stage */
  assert_int_equal(df_deferred_result(ds[3])->kind, DF_NONE);
  df_deferred_unref(race);
  release_members(ds, 4);
  assert_int_equal(reports, 0);
}

/* Two members had fired: the first in input order wins, the other's
 * result passes on down its chain untouched. */
static void test_two_members_fired_before_construction_first_wins(
    void **state) {
  (void)state;
  df_deferred *ds[3] = {df_deferred_new(), df_succeed(df_int(10)),
                        df_succeed(df_int(20))};
  df_deferred *race = df_race(ds, 3, 0);
  assert_string_equal(held_outcome(race), "(10, 1)");
  assert_int_equal(df_deferred_result(ds[2])->u.i, 20);
  assert_int_equal(df_deferred_result(ds[0])->kind, DF_NONE); /* cancelled */
  df_deferred_unref(race);
  release_members(ds, 3);
  assert_int_equal(reports, 0);
}

/* A loser's canceller that fires another pending member: that member's
 * result comes after the outcome (not recorded), and it is not cancelled
 * again: every member is cancelled at most once. */
static df_deferred *to_fire;
static void fire_other_canceller(df_deferred *d, void *arg) {
  (void)d;
  ev("cancel:%s", (const char *)arg);
  df_deferred_callback(to_fire, df_int(99));
}

static void test_canceller_firing_a_later_member_spares_it(void **state) {
  (void)state;
  df_deferred *ds[4];
  make_members(ds, 4);
  df_deferred_unref(ds[1]);
  ds[1] = df_deferred_new_with_canceller(fire_other_canceller, "1");
  to_fire = ds[2];
  df_deferred *race = df_first_success(ds, 4, 0);
  df_deferred_callback(ds[0], df_int(0));
  assert_string_equal(events, "cancel:1 cancel:3 ");
  assert_int_equal(cancelled[2], 0);
  assert_int_equal(df_deferred_result(ds[2])->u.i, 99);
  assert_string_equal(held_outcome(race), "(0, 0)");
  df_deferred_unref(race);
  release_members(ds, 4);
  assert_int_equal(reports, 0);
}

/* The same deferred twice: it wins once and is never cancelled. */
static void test_winner_listed_twice_is_not_cancelled(void **state) {
  (void)state;
  df_deferred *ds[3];
  make_members(ds, 2);
  ds[2] = ds[0];
  df_deferred *race = df_first_success(ds, 3, 0);
  df_deferred_callback(ds[0], df_int(5));
  assert_int_equal(cancelled[0], 0);
  assert_int_equal(cancelled[1], 1);
  assert_string_equal(held_outcome(race), "(5, 0)");
  df_deferred_unref(race);
  release_members(ds, 2);
}

/* === cancelling the combined deferred ===================================== */

/* A member whose canceller fires it with a value wins the cancelled race;
 * the other members are cancelled once each. */
static void test_cancel_combined_member_canceller_value_wins(void **state) {
  (void)state;
  df_deferred *ds[3];
  make_members(ds, 3);
  df_deferred_unref(ds[1]);
  ds[1] = df_deferred_new_with_canceller(fire_with_value_canceller, "1");
  df_deferred *race = df_race(ds, 3, 0);
  df_deferred_add_both(race, log_outcome, NULL);
  df_deferred_cancel(race);
  const char *expected = "cancel:0 cancel:1 cancel:2 out:(<pointer ";
  assert_int_equal(strncmp(events, expected, strlen(expected)), 0);
  assert_non_null(strstr(events, ">, 1) "));
  assert_int_equal(cancelled[0] + cancelled[2], 2);
  df_deferred_unref(race);
  release_members(ds, 3);
  assert_int_equal(destroyed, 1); /* the value, with the race's result */
  assert_int_equal(reports, 0);
}

/* A canceller that fails its member with a failure of its own: under
 * first success it counts towards the group; when every member does so,
 * the cancelled deferred fails with the FailureGroup. */
static void failing_canceller(df_deferred *d, void *arg) {
  df_deferred_errback(d, df_failure_new(&runtime_error, "aborted %s",
                                        (const char *)arg));
}

static void test_cancel_first_success_cancellers_failing_give_group(
    void **state) {
  (void)state;
  df_deferred *ds[2] = {df_deferred_new_with_canceller(failing_canceller, "a"),
                        df_deferred_new_with_canceller(failing_canceller, "b")};
  df_deferred *race = df_first_success(ds, 2, DF_LIST_CONSUME_ERRORS);
  df_deferred_cancel(race);
  assert_string_equal(held_outcome(race),
                      "FailureGroup: FailureGroup[#0 RuntimeError: aborted a; "
                      "#1 RuntimeError: aborted b]");
  release_handled(&race, 1);
  release_members(ds, 2);
  assert_int_equal(reports, 0);
}

/* ...and when only some do, it fails with CancelledError; those failures
 * are the members' own, shared as usual (handled here by consuming). */
static void test_cancel_first_success_some_cancellers_failing(void **state) {
  (void)state;
  df_deferred *ds[2] = {df_deferred_new_with_canceller(failing_canceller, "a"),
                        df_deferred_new()};
  df_deferred *race = df_first_success(ds, 2, 0);
  df_deferred_cancel(race);
  assert_string_equal(held_outcome(race), "CancelledError: ");
  assert_ptr_equal(df_failure_type(df_deferred_result(ds[0])->u.failure),
                   &runtime_error);
  assert_int_equal(df_deferred_result(ds[1])->kind, DF_NONE); /* ours */
  release_handled(&race, 1);
  release_handled(&ds[0], 1);
  df_deferred_unref(ds[1]);
  assert_int_equal(reports, 0);
}

/* Cancelling once decided does nothing; members already recorded are not
 * cancelled (first success: a member that failed before). */
static void test_cancel_after_decided_or_for_recorded_members(void **state) {
  (void)state;
  df_deferred *ds[3];
  make_members(ds, 3);
  df_deferred *race = df_first_success(ds, 3, DF_LIST_CONSUME_ERRORS);
  df_deferred_errback(ds[0], df_failure_new(&generic_error, "early"));
  df_deferred_cancel(race);
  assert_string_equal(events, "cancel:1 cancel:2 ");
  assert_string_equal(held_outcome(race), "CancelledError: ");
  df_deferred_cancel(race);
  assert_string_equal(events, "cancel:1 cancel:2 ");
  release_handled(&race, 1);
  release_members(ds, 3);
  assert_int_equal(reports, 0);
}

/* === what the members' chains see, and unhandled reports ================== */

/* Without DF_LIST_CONSUME_ERRORS a member's own failure is shared: it is
 * reported when its member goes unhandled; with it, it ends at the
 * member's stage. The CancelledErrors of the losers are never reported. */
static void test_member_failures_reported_unless_consumed(void **state) {
  (void)state;
  for (int consume = 0; consume < 2; consume++) {
    reports = 0;
    df_deferred *ds[3];
    make_members(ds, 3);
    df_deferred *race =
        df_first_success(ds, 3, consume ? DF_LIST_CONSUME_ERRORS : 0);
    df_deferred_errback(ds[0], df_failure_new(&generic_error, "own"));
    df_deferred_callback(ds[1], df_int(1));
    df_deferred_unref(race);
    release_members(ds, 3);
    assert_int_equal(reports, consume ? 0 : 1);
  }
}

/* Owned values: the winner's moves into the (value, index) and is freed
 * with it; the member goes on with None. */
static void test_winner_owned_value_moves_into_the_result(void **state) {
  (void)state;
  df_deferred *ds[2];
  make_members(ds, 2);
  df_deferred *race = df_race(ds, 2, 0);
  df_deferred_add_callback(ds[1], log_result, "member");
  df_deferred_callback(ds[1], df_pointer(&values[2], count_destroy));
  assert_string_equal(events, "cancel:0 member:None ");
  release_members(ds, 2);
  assert_int_equal(destroyed, 0);
  df_deferred_unref(race);
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(last_destroyed, &values[2]);
}

/* A race nobody holds still fires, cancels, and reports its failure. */
static void test_dropped_race_still_decides_and_reports(void **state) {
  (void)state;
  df_deferred *ds[2];
  make_members(ds, 2);
  df_deferred *race = df_race(ds, 2, DF_LIST_CONSUME_ERRORS);
  df_deferred_unref(race);
  df_deferred_errback(ds[0], df_failure_new(&generic_error, "lost"));
  assert_string_equal(events, "cancel:1 ");
  assert_int_equal(reports, 1); /* the race's FirstError */
  release_members(ds, 2);
  assert_int_equal(reports, 1);
}

/* === FailureGroup, n == 0, bad arguments ================================== */

static void test_no_members_fail_at_once_with_empty_group(void **state) {
  (void)state;
  df_deferred *a = df_first_success(NULL, 0, 0);
  df_deferred *b = df_race(NULL, 0, 0);
  assert_string_equal(held_outcome(a), "FailureGroup: FailureGroup[]");
  assert_string_equal(held_outcome(b), "FailureGroup: FailureGroup[]");
  const df_failure_group *g =
      df_failure_group_of(df_deferred_result(a)->u.failure);
  assert_non_null(g);
  assert_int_equal(g->count, 0);
  release_handled(&a, 1);
  release_handled(&b, 1);
  assert_int_equal(reports, 0);
}

/* A long group's message lists what fits and says how many more. */
static void test_long_failure_group_message_is_summed_up(void **state) {
  (void)state;
  enum { N = 40 };
  df_deferred *ds[N];
  for (int i = 0; i < N; i++)
    ds[i] = df_fail(df_failure_new(&generic_error, "mirror %02d is down", i));
  df_deferred *race = df_first_success(ds, N, DF_LIST_CONSUME_ERRORS);
  const char *text = held_outcome(race);
  const char *start = "FailureGroup: FailureGroup[#0 GenericError: mirror 00 "
                      "is down; #1 GenericError: mirror 01 is down; ";
  assert_int_equal(strncmp(text, start, strlen(start)), 0);
  assert_non_null(strstr(text, " more]"));
  assert_true(strlen(text) < 700);
  const df_failure_group *g =
      df_failure_group_of(df_deferred_result(race)->u.failure);
  assert_int_equal(g->count, N);
  assert_string_equal(df_failure_message(g->failures[N - 1]),
                      "mirror 39 is down");
  release_handled(&race, 1);
  release_members(ds, N);
  assert_int_equal(reports, 0);
}

static void test_failure_group_of_other_failures_is_null(void **state) {
  (void)state;
  df_failure *plain = df_failure_new(&generic_error, "x");
  df_failure *foreign = df_failure_new(&df_error_failure_group, "user's own");
  df_failure_set_payload(foreign, &values[0], NULL);
  assert_null(df_failure_group_of(plain));
  assert_null(df_failure_group_of(foreign));
  assert_null(df_failure_group_of(NULL));
  df_failure_unref(plain);
  df_failure_unref(foreign);
}

static void test_bad_arguments_give_value_error(void **state) {
  (void)state;
  df_deferred *m = df_deferred_new();
  df_deferred *with_null[2] = {m, NULL};
  df_deferred *bad[5] = {
      df_race(&m, 1, DF_LIST_FIRE_ON_ONE_CALLBACK),
      df_first_success(&m, 1, DF_LIST_CANCEL_PENDING),
      df_first_success(NULL, 2, 0),
      df_race(with_null, 2, 0),
      df_gather_results_ex(&m, 1, DF_LIST_FIRE_ON_ONE_CALLBACK)};
  const char *expected[5] = {
      "ValueError: df_race: unknown flag",
      "ValueError: df_first_success: unknown flag",
      "ValueError: df_first_success: members is NULL",
      "ValueError: df_race: a member is NULL",
      "ValueError: df_gather_results: unknown flag"};
  for (int i = 0; i < 5; i++) {
    assert_string_equal(held_outcome(bad[i]), expected[i]);
    release_handled(&bad[i], 1);
  }
  assert_int_equal(df_deferred_pending_stages(m), 0); /* untouched */
  df_deferred_unref(m);
  assert_int_equal(reports, 0);
}

/* === the gather option, and DeferredList with DF_LIST_CANCEL_PENDING ====== */

/* The first failure cancels the members still pending, before the
 * FirstError fires. */
static void test_gather_cancel_pending_cancels_rest_at_first_failure(
    void **state) {
  (void)state;
  df_deferred *ds[4];
  make_members(ds, 4);
  df_deferred *g = df_gather_results_ex(ds, 4, DF_LIST_CANCEL_PENDING |
                                                   DF_LIST_CONSUME_ERRORS);
  df_deferred_add_errback(g, log_outcome, NULL);
  df_deferred_callback(ds[0], df_int(0));
  df_deferred_errback(ds[2], df_failure_new(&generic_error, "bad"));
  assert_string_equal(events, "cancel:1 cancel:3 out:FirstError: "
                              "FirstError[#2, GenericError: bad] ");
  df_deferred_unref(g);
  release_members(ds, 4);
  assert_int_equal(reports, 0);
}

/* Without a failure it is gatherResults: the values, nothing cancelled. */
static void test_gather_cancel_pending_all_succeed_gives_values(void **state) {
  (void)state;
  df_deferred *ds[3];
  make_members(ds, 3);
  df_deferred *g = df_gather_results_ex(ds, 3, DF_LIST_CANCEL_PENDING);
  for (int i = 0; i < 3; i++) df_deferred_callback(ds[i], df_int(i * 10));
  df_result_array *a = df_result_array_of(*df_deferred_result(g));
  assert_non_null(a);
  assert_int_equal(a->count, 3);
  assert_int_equal(a->items[2].u.i, 20);
  assert_string_equal(events, "");
  df_deferred_unref(g);
  release_members(ds, 3);
}

/* Cancelling it cancels every member; their CancelledErrors are the
 * list's own (not recorded, not reported): it fails with CancelledError,
 * where plain gatherResults fails with FirstError[#0, CancelledError]. */
static void test_cancel_gather_cancel_pending_fails_cancelled(void **state) {
  (void)state;
  df_deferred *ds[3];
  make_members(ds, 3);
  df_deferred *g = df_gather_results_ex(ds, 3, DF_LIST_CANCEL_PENDING);
  df_deferred_cancel(g);
  assert_string_equal(events, "cancel:0 cancel:1 cancel:2 ");
  assert_string_equal(held_outcome(g), "CancelledError: ");
  release_handled(&g, 1);
  release_members(ds, 3);
  assert_int_equal(reports, 0);
}

/* ...unless every member's canceller gives a value (Twisted's
 * test_cancelGatherResultsWithAllDeferredsCallback, with the option). */
static void test_cancel_gather_cancel_pending_all_cancellers_callback(
    void **state) {
  (void)state;
  df_deferred *ds[2] = {
      df_deferred_new_with_canceller(fire_with_value_canceller, "0"),
      df_deferred_new_with_canceller(fire_with_value_canceller, "1")};
  df_deferred *g = df_gather_results_ex(ds, 2, DF_LIST_CANCEL_PENDING);
  df_deferred_cancel(g);
  df_result_array *a = df_result_array_of(*df_deferred_result(g));
  assert_non_null(a);
  assert_int_equal(a->count, 2);
  df_deferred_unref(g);
  release_members(ds, 2);
  assert_int_equal(destroyed, 2);
}

/* df_gather_results_ex with no flag is df_gather_results. */
static void test_gather_results_ex_without_flags_is_gather_results(
    void **state) {
  (void)state;
  df_deferred *ds[2];
  make_members(ds, 2);
  df_deferred *g = df_gather_results_ex(ds, 2, 0);
  df_deferred_add_errback(ds[0], handle, NULL);
  df_deferred_errback(ds[0], df_failure_new(&generic_error, "x"));
  assert_string_equal(held_outcome(g),
                      "FirstError: FirstError[#0, GenericError: x]");
  assert_string_equal(events, ""); /* nothing cancelled */
  release_handled(&g, 1);
  df_deferred_callback(ds[1], df_int(1));
  release_members(ds, 2);
  assert_int_equal(reports, 0);
}

/* The flag on a DeferredList that fires on one callback. */
static void test_deferred_list_with_cancel_pending(void **state) {
  (void)state;
  df_deferred *ds[3];
  make_members(ds, 3);
  df_deferred *dl = df_deferred_list(ds, 3, DF_LIST_FIRE_ON_ONE_CALLBACK |
                                                DF_LIST_CANCEL_PENDING);
  df_deferred_callback(ds[1], df_int(7));
  assert_string_equal(events, "cancel:0 cancel:2 ");
  assert_string_equal(held_outcome(dl), "(7, 1)");
  df_deferred_unref(dl);
  release_members(ds, 3);
  assert_int_equal(reports, 0);
}

/* === out of memory ======================================================== */

/* Races, first successes and cancelling gathers over members with full
 * inline stages (each stage needs a block), a member fired before,
 * decisions, a cancel; returns the race's winning value (-1: none). */
static int64_t oom_scenario(void) {
  enum { N = 4 };
  df_deferred *d[N];
  int64_t outcome = -1;
  bool all = true;
  for (int i = 0; i < N; i++) {
    d[i] = df_deferred_new();
    if (d[i])
      for (int k = 0; k < 2; k++) df_deferred_add_callback(d[i], pass, NULL);
    all = all && d[i];
  }
  if (all) {
    df_deferred_callback(d[3], df_pointer(&values[0], count_destroy));
    df_deferred *race = df_race(d, N - 1, 0);
    df_deferred *g = df_gather_results_ex(d, N - 1, DF_LIST_CANCEL_PENDING);
    df_deferred_callback(d[1], df_int(1)); /* race: d0 and d2 cancelled */
    df_deferred *first = df_first_success(d, N, DF_LIST_CONSUME_ERRORS);
    df_deferred *none = df_race(NULL, 0, 0);
    const df_result *r = race ? df_deferred_result(race) : NULL;
    if (r && df_first_result_of(*r))
      outcome = df_first_result_of(*r)->value.u.i;
    df_deferred_cancel(g);
    df_deferred *all_of[4] = {race, first, g, none};
    for (int i = 0; i < 4; i++)
      if (all_of[i]) release_handled(&all_of[i], 1);
  }
  for (int i = 0; i < N; i++) {
    if (d[i]) df_deferred_add_errback(d[i], handle, NULL);
    df_deferred_unref(d[i]);
  }
  return outcome;
}

static void check_oom_outcome(int64_t outcome, bool failed) {
  assert_true(destroyed <= 1);
  if (!failed) assert_int_equal(outcome, 1);
}

static void test_every_allocation_failure_is_handled(void **state) {
  (void)state;
  df_release_caches();
  destroyed = 0;
  assert_int_equal(oom_scenario(), 1);
  assert_int_equal(destroyed, 1);
  support_check_each_allocation_failure(oom_scenario, check_oom_outcome, 10000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, support_teardown)
      /* Twisted 23.8's RaceTests */
      T(test_first_success_fires_value_index_and_cancels_the_rest),
      T(test_first_success_all_failed_gives_failure_group_in_order),
      T(test_member_firing_after_its_cancel_changes_nothing),
      T(test_loser_canceller_firing_success_does_not_disturb),
      T(test_cancel_first_success_cancels_all_and_fails_cancelled),
      /* order and timing */
      T(test_losers_cancelled_in_order_before_combined_fires),
      T(test_race_first_failure_wins_with_first_error),
      T(test_race_first_success_wins),
      T(test_race_first_error_details),
      T(test_member_fired_before_construction_decides_at_once),
      T(test_two_members_fired_before_construction_first_wins),
      T(test_canceller_firing_a_later_member_spares_it),
      T(test_winner_listed_twice_is_not_cancelled),
      /* cancelling the combined deferred */
      T(test_cancel_combined_member_canceller_value_wins),
      T(test_cancel_first_success_cancellers_failing_give_group),
      T(test_cancel_first_success_some_cancellers_failing),
      T(test_cancel_after_decided_or_for_recorded_members),
      /* members' chains */
      T(test_member_failures_reported_unless_consumed),
      T(test_winner_owned_value_moves_into_the_result),
      T(test_dropped_race_still_decides_and_reports),
      /* FailureGroup, n == 0, bad arguments */
      T(test_no_members_fail_at_once_with_empty_group),
      T(test_long_failure_group_message_is_summed_up),
      T(test_failure_group_of_other_failures_is_null),
      T(test_bad_arguments_give_value_error),
      /* the gather option and DeferredList */
      T(test_gather_cancel_pending_cancels_rest_at_first_failure),
      T(test_gather_cancel_pending_all_succeed_gives_values),
      T(test_cancel_gather_cancel_pending_fails_cancelled),
      T(test_cancel_gather_cancel_pending_all_cancellers_callback),
      T(test_gather_results_ex_without_flags_is_gather_results),
      T(test_deferred_list_with_cancel_pending),
      /* out of memory */
      T(test_every_allocation_failure_is_handled),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
