/* DeferredList and gatherResults (rules DL1-DL4, 49, C6, U5).
 *
 * Ports of twisted/test/test_defer.py's DeferredList tests (checklist
 * group 4), DeferredList cancel tests (group 5), gatherResults tests
 * (group 8), DeferredListEmptyTests and FirstErrorTests' str; then what
 * C adds: every value destroyed exactly once on every path (counting
 * destructors), unhandled-failure reports (U5), and lifetimes in every
 * order (list or members released first, cancelled, fired during
 * construction), and out of memory at every allocation.
 *
 * What a list fired with is logged in Python's notation, so that
 * tests/list_vs_twisted.py can print the same scenarios from Twisted:
 * "[(True, '1'), (False, GenericError: 2)]", "('x', 0)", or a failure as
 * "Type: message".
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

/* --- helpers ------------------------------------------------------------- */

/* One entry: a value's repr, or a failure's "Type: message". */
static size_t entry_text(df_result r, char *buf, size_t size) {
  if (df_result_is_failure(r)) return df_failure_brief(r.u.failure, buf, size);
  return df_result_describe(r, buf, size);
}

/* What a list fired with, in Python's notation (see the top). */
static void list_text(df_result r, char *buf, size_t size) {
  df_result_array *a = df_result_array_of(r);
  df_first_result *h = df_first_result_of(r);
  size_t len = 0;
  char one[256];
  buf[0] = '\0';
  if (a) {
    len += (size_t)snprintf(buf + len, size - len, "[");
    for (size_t i = 0; i < a->count && len < size; i++) {
      entry_text(a->items[i], one, sizeof one);
      len += (size_t)snprintf(buf + len, size - len, "%s(%s, %s)",
                              i ? ", " : "",
                              df_result_array_succeeded(a, i) ? "True" : "False",
                              one);
    }
    if (len < size) snprintf(buf + len, size - len, "]");
  } else if (h) {
    entry_text(h->value, one, sizeof one);
    snprintf(buf, size, "(%s, %zu)", one, h->index);
  } else {
    entry_text(r, buf, size);
  }
}

/* Logs "list:<what the list fired with>" and passes it on. */
static df_result log_list(df_result r, void *arg) {
  char text[1024];
  list_text(r, text, sizeof text);
  ev("%s:%s", arg ? (const char *)arg : "list", text);
  return r;
}

/* Logs and handles (drops) what reaches it. */
static df_result log_and_handle(df_result r, void *arg) {
  log_list(r, arg);
  df_result_drop(r);
  return df_none();
}

/* Logs a member's result as "label:<entry>" and passes it on. */
static df_result log_entry(df_result r, void *arg) {
  char text[256];
  entry_text(r, text, sizeof text);
  ev("%s:%s", (const char *)arg, text);
  return r;
}

/* Twisted's fakeCallbackCanceller. */
static int canceller_calls;
static void callback_canceller(df_deferred *d, void *arg) {
  (void)arg;
  canceller_calls++;
  df_deferred_callback(d, df_string("Callback Result"));
}

/* A canceller that does nothing (then the member fails with
 * CancelledError). */
static void idle_canceller(df_deferred *d, void *arg) {
  (void)d;
  (void)arg;
  canceller_calls++;
}

static int setup(void **state) {
  canceller_calls = 0;
  return support_setup(state);
}

/* === group 4: DeferredList basics ======================================= */

/* test_defer.py: DeferredTests.testDeferredList */
static void test_list_fires_success_failure_pairs_in_input_order(void **state) {
  (void)state;
  df_deferred *d[3] = {df_deferred_new(), df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 3, 0);
  df_deferred_add_callbacks(dl, log_list, NULL, log_list, NULL);
  df_deferred_callback(d[0], df_string("1"));
  df_deferred_add_errback(d[1], handle, NULL); /* Twisted's "catch" */
  df_deferred_errback(d[1], df_failure_new(&generic_error, "2"));
  assert_string_equal(events, "");
  df_deferred_callback(d[2], df_string("3"));
  assert_string_equal(events,
                      "list:[(True, '1'), (False, GenericError: 2), (True, '3')] ");
  df_deferred_unref(dl);
  for (int i = 0; i < 3; i++) df_deferred_unref(d[i]);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.testEmptyDeferredList (DL1) */
static void test_empty_list_fires_empty_array_not_with_fire_on_one_callback(
    void **state) {
  (void)state;
  df_deferred *dl1 = df_deferred_list(NULL, 0, 0);
  df_deferred_add_callback(dl1, log_list, NULL);
  assert_string_equal(events, "list:[] ");
  events[0] = '\0';
  df_deferred *dl2 = df_deferred_list(NULL, 0, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_deferred_add_callback(dl2, log_list, NULL);
  assert_string_equal(events, "");
  assert_false(df_deferred_called(dl2));
  df_deferred_unref(dl1);
  df_deferred_unref(dl2);
}

/* test_defer.py: DeferredListEmptyTests.testDeferredListEmpty */
static void test_empty_list_callback_runs_with_empty_array(void **state) {
  (void)state;
  df_deferred *dl = df_deferred_list(NULL, 0, 0);
  const df_result *r = df_deferred_result(dl);
  assert_non_null(r);
  df_result_array *a = df_result_array_of(*r);
  assert_non_null(a);
  assert_int_equal(a->count, 0);
  df_deferred_unref(dl);
}

/* test_defer.py: DeferredTests.testDeferredListFireOnOneError */
static void test_fire_on_one_errback_gives_first_error_with_sub_failure_and_index(
    void **state) {
  (void)state;
  df_deferred *d[3] = {df_deferred_new(), df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 3, DF_LIST_FIRE_ON_ONE_ERRBACK);
  df_deferred_add_errback(d[1], handle, NULL);
  df_deferred_callback(d[0], df_string("1"));
  assert_false(df_deferred_called(dl));
  df_deferred_errback(d[1], df_failure_new(&generic_error, "from def2"));
  assert_true(df_deferred_called(dl));
  assert_ptr_equal(failure_type_of(dl), &df_error_first_error);
  const df_failure *f = df_deferred_result(dl)->u.failure;
  const df_first_error *fe = df_first_error_of(f);
  assert_non_null(fe);
  assert_int_equal(fe->index, 1);
  assert_ptr_equal(df_failure_type(fe->sub_failure), &generic_error);
  assert_string_equal(df_failure_message(fe->sub_failure), "from def2");
  assert_ptr_equal(df_failure_cause(f), fe->sub_failure);
  df_deferred_add_errback(dl, handle, NULL);
  df_deferred_unref(dl);
  for (int i = 0; i < 3; i++) df_deferred_unref(d[i]);
  assert_int_equal(reports, 0);
}

/* test_defer.py: FirstErrorTests.test_str, in C's words: the message
 * names the index and the sub-failure's brief. */
static void test_first_error_message_names_index_and_sub_failure(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_ERRBACK);
  df_deferred_add_errback(dl, log_and_handle, NULL);
  df_deferred_errback(d[1], df_failure_new(&generic_error, "bad"));
  assert_string_equal(events, "list:FirstError: FirstError[#1, GenericError: bad] ");
  df_deferred_unref(dl);
  release_handled(d, 2);
}

/* test_defer.py: DeferredTests.testDeferredListDontConsumeErrors (U5) */
static void test_without_consume_errors_member_errbacks_still_see_failure(
    void **state) {
  (void)state;
  df_deferred *d1 = df_deferred_new();
  df_deferred *dl = df_deferred_list(&d1, 1, 0);
  df_deferred_add_errback(d1, log_entry, "trap");
  df_deferred_add_callback(dl, log_list, NULL);
  df_deferred_errback(d1, df_failure_new(&generic_error, "Bang"));
  assert_string_equal(events,
                      "list:[(False, GenericError: Bang)] trap:GenericError: Bang ");
  df_deferred_unref(dl);
  release_handled(&d1, 1);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.testDeferredListConsumeErrors (DL4, U5) */
static void test_consume_errors_member_errbacks_see_none(void **state) {
  (void)state;
  df_deferred *d1 = df_deferred_new();
  df_deferred *dl = df_deferred_list(&d1, 1, DF_LIST_CONSUME_ERRORS);
  df_deferred_add_errback(d1, log_entry, "trap");
  df_deferred_add_callback(d1, log_entry, "member");
  df_deferred_add_callback(dl, log_list, NULL);
  df_deferred_errback(d1, df_failure_new(&generic_error, "Bang"));
  assert_string_equal(events, "list:[(False, GenericError: Bang)] member:None ");
  df_deferred_unref(dl);
  df_deferred_unref(d1);
  assert_int_equal(reports, 0);
}

/* test_defer.py:
 * DeferredTests.testDeferredListFireOnOneErrorWithAlreadyFiredDeferreds */
static void test_already_failed_member_fails_fire_on_one_errback_list_at_once(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred_errback(d[0], df_failure_new(&generic_error, "Bang"));
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_ERRBACK);
  df_deferred_add_errback(dl, log_and_handle, NULL);
  assert_string_equal(events,
                      "list:FirstError: FirstError[#0, GenericError: Bang] ");
  df_deferred_unref(dl);
  release_handled(d, 2);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.testDeferredListWithAlreadyFiredDeferreds
 * (DL2: the list has fired when the constructor returns) */
static void test_already_fired_members_fire_list_at_once(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred_errback(d[0], df_failure_new(&generic_error, "Bang"));
  df_deferred_callback(d[1], df_int(2));
  df_deferred *dl = df_deferred_list(d, 2, 0);
  assert_true(df_deferred_called(dl));
  df_deferred_add_callback(dl, log_list, NULL);
  assert_string_equal(events, "list:[(False, GenericError: Bang), (True, 2)] ");
  df_deferred_unref(dl);
  release_handled(d, 2);
  assert_int_equal(reports, 0);
}

/* DL3 [v]: fireOnOneCallback fires (value, index) at the first success;
 * failures before it do not fire it. */
static void test_fire_on_one_callback_gives_value_and_index(void **state) {
  (void)state;
  df_deferred *d[3] = {df_deferred_new(), df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 3, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_deferred_add_callback(dl, log_list, NULL);
  df_deferred_errback(d[0], df_failure_new(&generic_error, "first"));
  assert_false(df_deferred_called(dl));
  df_deferred_callback(d[2], df_string("x"));
  assert_string_equal(events, "list:('x', 2) ");
  df_deferred_callback(d[1], df_int(1)); /* recorded nowhere: passes on */
  df_deferred_add_callback(d[1], log_entry, "d1");
  assert_string_equal(events, "list:('x', 2) d1:1 ");
  df_deferred_unref(dl);
  release_handled(d, 3);
  assert_int_equal(reports, 0);
}

/* DL3 [v]: with fireOnOneCallback, if every member fails, the list still
 * fires with the whole list. */
static void test_fire_on_one_callback_all_failed_fires_whole_list(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_deferred_add_callback(dl, log_list, NULL);
  df_deferred_errback(d[1], df_failure_new(&generic_error, "b"));
  df_deferred_errback(d[0], df_failure_new(&generic_error, "a"));
  assert_string_equal(events,
                      "list:[(False, GenericError: a), (False, GenericError: b)] ");
  df_deferred_unref(dl);
  release_handled(d, 2);
}

/* DL2: the list's stage goes after the stages a member already has, and
 * before those added later: earlier callbacks change what the list sees. */
static void test_list_stage_sits_between_earlier_and_later_member_stages(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, log_entry, "before");
  df_deferred *dl = df_deferred_list(&d, 1, 0);
  df_deferred_add_callback(d, log_entry, "after");
  df_deferred_add_callback(dl, log_list, NULL);
  df_deferred_callback(d, df_int(7));
  assert_string_equal(events, "before:7 list:[(True, 7)] after:7 ");
  df_deferred_unref(dl);
  df_deferred_unref(d);
}

/* DL2: members are processed in input order during construction; the same
 * deferred may appear twice and gets two stages. */
static void test_same_member_twice_is_recorded_twice(void **state) {
  (void)state;
  df_deferred *d = df_succeed(df_int(5));
  df_deferred *e = df_deferred_new();
  df_deferred *members[3] = {d, e, d};
  df_deferred *dl = df_deferred_list(members, 3, 0);
  assert_false(df_deferred_called(dl));
  df_deferred_add_callback(dl, log_list, NULL);
  df_deferred_callback(e, df_int(6));
  assert_string_equal(events, "list:[(True, 5), (True, 6), (True, 5)] ");
  df_deferred_unref(dl);
  df_deferred_unref(d);
  df_deferred_unref(e);
}

/* DL3: after a fireOnOne* fire, later results pass on unchanged; with
 * consumeErrors, later failures still become None (DL4). */
static void test_results_after_list_fired_pass_on_consumed_errors_become_none(
    void **state) {
  (void)state;
  df_deferred *d[3] = {df_deferred_new(), df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(
      d, 3, DF_LIST_FIRE_ON_ONE_ERRBACK | DF_LIST_CONSUME_ERRORS);
  df_deferred_add_errback(dl, log_and_handle, NULL);
  df_deferred_errback(d[0], df_failure_new(&generic_error, "one"));
  df_deferred_errback(d[1], df_failure_new(&generic_error, "two"));
  df_deferred_callback(d[2], df_int(3));
  for (int i = 0; i < 3; i++) df_deferred_add_both(d[i], log_entry, "m");
  assert_string_equal(events,
                      "list:FirstError: FirstError[#0, GenericError: one] "
                      "m:None m:None m:3 ");
  df_deferred_unref(dl);
  for (int i = 0; i < 3; i++) df_deferred_unref(d[i]);
  assert_int_equal(reports, 0);
}

/* Bad arguments give a list failed with ValueError; members untouched. */
static void test_bad_arguments_give_value_error_and_leave_members_alone(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), NULL};
  df_deferred *lists[3] = {df_deferred_list(d, 2, 0),
                           df_deferred_list(NULL, 1, 0),
                           df_deferred_list(d, 1, 1u << 7)};
  for (int i = 0; i < 3; i++) {
    assert_non_null(lists[i]);
    assert_ptr_equal(failure_type_of(lists[i]), &df_error_invalid_argument);
    df_deferred_add_errback(lists[i], handle, NULL);
    df_deferred_unref(lists[i]);
  }
  assert_int_equal(df_deferred_pending_stages(d[0]), 0);
  df_deferred_unref(d[0]);
  assert_int_equal(reports, 0);
}

/* Accessors refuse what is not theirs. */
static void test_accessors_refuse_other_results(void **state) {
  (void)state;
  int x = 0;
  assert_null(df_result_array_of(df_pointer(&x, NULL)));
  assert_null(df_result_array_of(df_int(1)));
  assert_null(df_first_result_of(df_pointer(&x, count_destroy)));
  assert_false(df_result_array_succeeded(NULL, 0));
  df_result r = df_result_array_take(NULL, 0);
  assert_true(df_result_is_failure(r));
  df_result_drop(r);
  r = df_first_result_take(NULL);
  assert_true(df_result_is_failure(r));
  df_result_drop(r);
  df_failure *f = df_failure_new(&df_error_first_error, "made by hand");
  assert_null(df_first_error_of(f));
  assert_null(df_first_error_of(NULL));
  df_failure_unref(f);
  df_result_array_free(NULL);
  df_first_result_free(NULL);
  assert_int_equal(destroyed, 0);
}

/* === group 5: DeferredList cancel (C6) ==================================== */

/* test_defer.py: DeferredTests.test_cancelDeferredList */
static void test_cancel_list_cancels_every_member(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, 0);
  df_deferred_cancel(dl);
  assert_ptr_equal(failure_type_of(d[0]), &df_error_cancelled);
  assert_ptr_equal(failure_type_of(d[1]), &df_error_cancelled);
  df_deferred_add_callback(dl, log_list, NULL);
  assert_string_equal(events,
                      "list:[(False, CancelledError: ), (False, CancelledError: )] ");
  df_deferred_unref(dl);
  release_handled(d, 2);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.test_cancelDeferredListCallback */
static void test_cancel_list_member_canceller_callbacks_gives_list(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new_with_canceller(callback_canceller, NULL),
                       df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, 0);
  df_deferred_cancel(dl);
  assert_ptr_equal(failure_type_of(d[1]), &df_error_cancelled);
  df_deferred_add_callback(dl, log_list, NULL);
  assert_string_equal(
      events, "list:[(True, 'Callback Result'), (False, CancelledError: )] ");
  assert_int_equal(canceller_calls, 1);
  df_deferred_unref(dl);
  release_handled(d, 2);
}

/* test_defer.py: DeferredTests.test_cancelDeferredListWithFireOnOneCallback */
static void test_cancel_fire_on_one_callback_list_cancels_every_member(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_deferred_cancel(dl);
  assert_ptr_equal(failure_type_of(d[0]), &df_error_cancelled);
  assert_ptr_equal(failure_type_of(d[1]), &df_error_cancelled);
  df_deferred_unref(dl);
  release_handled(d, 2);
}

/* test_defer.py: DeferredTests.
 * test_cancelDeferredListWithFireOnOneCallbackAndDeferredCallback */
static void test_cancel_fire_on_one_callback_member_callbacks_gives_value_index(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new_with_canceller(callback_canceller, NULL),
                       df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_deferred_cancel(dl);
  assert_ptr_equal(failure_type_of(d[1]), &df_error_cancelled);
  df_deferred_add_callback(dl, log_list, NULL);
  assert_string_equal(events, "list:('Callback Result', 0) ");
  df_deferred_unref(dl);
  release_handled(d, 2);
}

/* test_defer.py: DeferredTests.test_cancelDeferredListWithFireOnOneErrback */
static void test_cancel_fire_on_one_errback_list_gives_first_error_cancelled(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_ERRBACK);
  df_deferred_cancel(dl);
  assert_ptr_equal(failure_type_of(d[0]), &df_error_cancelled);
  assert_ptr_equal(failure_type_of(d[1]), &df_error_cancelled);
  assert_ptr_equal(failure_type_of(dl), &df_error_first_error);
  const df_first_error *fe =
      df_first_error_of(df_deferred_result(dl)->u.failure);
  assert_non_null(fe);
  assert_int_equal(fe->index, 0);
  assert_ptr_equal(df_failure_type(fe->sub_failure), &df_error_cancelled);
  df_deferred_add_errback(dl, handle, NULL);
  df_deferred_unref(dl);
  release_handled(d, 2);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.
 * test_cancelDeferredListWithFireOnOneErrbackAllDeferredsCallback */
static void test_cancel_fire_on_one_errback_all_members_callback_gives_list(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new_with_canceller(callback_canceller, NULL),
                       df_deferred_new_with_canceller(callback_canceller, NULL)};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_ERRBACK);
  df_deferred_cancel(dl);
  df_deferred_add_callback(dl, log_list, NULL);
  assert_string_equal(events, "list:[(True, 'Callback Result'), "
                              "(True, 'Callback Result')] ");
  df_deferred_unref(dl);
  release_handled(d, 2);
}

/* test_defer.py: DeferredTests.test_cancelDeferredListWithOriginalDeferreds
 * (only the members given at construction are cancelled) */
static void test_cancel_list_cancels_only_the_members_it_was_given(
    void **state) {
  (void)state;
  df_deferred *args[3] = {df_deferred_new(), df_deferred_new(), NULL};
  df_deferred *one = args[0], *two = args[1];
  df_deferred *dl = df_deferred_list(args, 2, 0);
  df_deferred *three = df_deferred_new();
  args[0] = three; /* the caller's array changes after construction */
  args[2] = three;
  df_deferred_cancel(dl);
  assert_ptr_equal(failure_type_of(one), &df_error_cancelled);
  assert_ptr_equal(failure_type_of(two), &df_error_cancelled);
  assert_false(df_deferred_called(three));
  df_deferred_unref(dl);
  df_deferred *handled[2] = {one, two};
  release_handled(handled, 2);
  df_deferred_unref(three);
}

/* test_defer.py: DeferredTests.test_cancelDeferredListWithException. A C
 * canceller cannot raise; the nearest case is one that does not fire its
 * deferred: that member still fails with CancelledError, and the members
 * after it are still cancelled. */
static void test_cancel_list_goes_on_after_a_canceller_that_does_not_fire(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new_with_canceller(idle_canceller, NULL),
                       df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, 0);
  df_deferred_cancel(dl);
  assert_int_equal(canceller_calls, 1);
  assert_ptr_equal(failure_type_of(d[0]), &df_error_cancelled);
  assert_ptr_equal(failure_type_of(d[1]), &df_error_cancelled);
  assert_true(df_deferred_called(dl));
  df_deferred_unref(dl);
  release_handled(d, 2);
}

/* test_defer.py: DeferredTests.test_cancelFiredOnOneCallbackDeferredList */
static void test_cancel_after_fire_on_one_callback_fired_does_nothing(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_deferred_callback(d[0], df_none());
  df_deferred_cancel(dl);
  assert_false(df_deferred_called(d[1]));
  df_deferred_add_callback(dl, log_list, NULL);
  assert_string_equal(events, "list:(None, 0) ");
  df_deferred_unref(dl);
  df_deferred_unref(d[0]);
  df_deferred_unref(d[1]);
}

/* test_defer.py: DeferredTests.test_cancelFiredOnOneErrbackDeferredList */
static void test_cancel_after_fire_on_one_errback_fired_does_nothing(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_ERRBACK);
  df_deferred_errback(d[0], df_failure_new(&generic_error, "test"));
  df_deferred_cancel(dl);
  assert_false(df_deferred_called(d[1]));
  assert_ptr_equal(failure_type_of(d[0]), &generic_error);
  assert_ptr_equal(failure_type_of(dl), &df_error_first_error);
  df_deferred_add_errback(dl, handle, NULL);
  df_deferred_unref(dl);
  release_handled(d, 2);
  assert_int_equal(reports, 0);
}

/* C6: members the list has recorded are not cancelled again; a list that
 * is still unfired after cancelling its members fails with CancelledError
 * (a documented difference: Twisted's stays unfired). Here member 0 is
 * paused, so its CancelledError waits for the unpause (rule C5). */
static void test_cancel_leaves_recorded_members_and_fails_list_if_unfired(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, 0);
  df_deferred_add_errback(dl, log_and_handle, NULL);
  df_deferred_callback(d[1], df_int(1));
  df_deferred_pause(d[0]);
  df_deferred_cancel(dl);
  assert_string_equal(events, "list:CancelledError:  ");
  assert_int_equal(df_deferred_pending_stages(d[0]), 1);
  const df_result *r1 = df_deferred_result(d[1]);
  assert_int_equal(r1->kind, DF_INT); /* not touched */
  df_deferred_unpause(d[0]); /* the list has fired: passes on */
  assert_ptr_equal(failure_type_of(d[0]), &df_error_cancelled);
  df_deferred_unref(dl);
  release_handled(d, 2);
  assert_int_equal(reports, 0);
}

/* Difference: an empty fireOnOneCallback list never fires by itself, but
 * cancelling it fails it with CancelledError. */
static void test_cancel_empty_fire_on_one_callback_list_fails_it(void **state) {
  (void)state;
  df_deferred *dl = df_deferred_list(NULL, 0, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_deferred_cancel(dl);
  assert_ptr_equal(failure_type_of(dl), &df_error_cancelled);
  df_deferred_add_errback(dl, handle, NULL);
  df_deferred_unref(dl);
}

/* === group 8: gatherResults (rule 49) ===================================== */

/* test_defer.py: DeferredTests.test_gatherResults */
static void test_gather_results_values_in_order_then_first_error(void **state) {
  (void)state;
  df_deferred *ok[2] = {df_succeed(df_int(1)), df_succeed(df_int(2))};
  df_deferred *g = df_gather_results(ok, 2, false);
  df_deferred_add_callback(g, log_list, NULL);
  assert_string_equal(events, "list:[(True, 1), (True, 2)] ");
  df_deferred_unref(g);
  df_deferred_unref(ok[0]);
  df_deferred_unref(ok[1]);

  events[0] = '\0';
  df_deferred *dl[2] = {df_succeed(df_int(1)),
                        df_fail(df_failure_new(&df_error_invalid_argument, "v"))};
  g = df_gather_results(dl, 2, false);
  df_deferred_add_errback(g, log_and_handle, NULL);
  assert_string_equal(events, "list:FirstError: FirstError[#1, ValueError: v] ");
  df_deferred_unref(g);
  release_handled(dl, 2); /* "get rid of error" */
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.test_gatherResultsWithConsumeErrors */
static void test_gather_results_consume_errors(void **state) {
  (void)state;
  df_deferred *good = df_succeed(df_int(1));
  df_deferred *bad = df_fail(df_failure_new(&runtime_error, "oh noes"));
  df_deferred *members[2] = {good, bad};
  df_deferred *g = df_gather_results(members, 2, true);
  df_deferred_add_errback(bad, log_entry, "unconsumed");
  df_deferred_add_errback(g, log_and_handle, "gathered");
  assert_string_equal(events,
                      "gathered:FirstError: FirstError[#1, RuntimeError: oh noes] ");
  df_deferred_unref(g);
  df_deferred_unref(good);
  df_deferred_unref(bad);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.test_cancelGatherResults */
static void test_cancel_gather_results_cancels_members_first_error(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *g = df_gather_results(d, 2, false);
  df_deferred_cancel(g);
  assert_ptr_equal(failure_type_of(d[0]), &df_error_cancelled);
  assert_ptr_equal(failure_type_of(d[1]), &df_error_cancelled);
  const df_first_error *fe =
      df_first_error_of(df_deferred_result(g)->u.failure);
  assert_non_null(fe);
  assert_ptr_equal(df_failure_type(fe->sub_failure), &df_error_cancelled);
  df_deferred_add_errback(g, handle, NULL);
  df_deferred_unref(g);
  release_handled(d, 2);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.test_cancelGatherResultsWithAllDeferredsCallback */
static void test_cancel_gather_results_all_members_callback_gives_values(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new_with_canceller(callback_canceller, NULL),
                       df_deferred_new_with_canceller(callback_canceller, NULL)};
  df_deferred *g = df_gather_results(d, 2, false);
  df_deferred_cancel(g);
  const df_result *r = df_deferred_result(g);
  df_result_array *a = df_result_array_of(*r);
  assert_non_null(a);
  assert_int_equal(a->count, 2);
  assert_string_equal(a->items[0].u.s, "Callback Result");
  assert_string_equal(a->items[1].u.s, "Callback Result");
  df_deferred_unref(g);
  df_deferred_unref(d[0]);
  df_deferred_unref(d[1]);
}

/* gatherResults of nothing fires an empty array. */
static void test_gather_results_of_nothing_is_empty_array(void **state) {
  (void)state;
  df_deferred *g = df_gather_results(NULL, 0, false);
  df_deferred_add_callback(g, log_list, NULL);
  assert_string_equal(events, "list:[] ");
  df_deferred_unref(g);
}

/* === C ownership: every value destroyed exactly once ====================== */

static int value_a, value_b, value_c;

/* Takes the array out of the list's result and keeps it in *arg. */
static df_result keep_array(df_result r, void *arg) {
  df_result_array **out = arg;
  *out = df_result_array_of(r);
  assert_non_null(*out);
  assert_ptr_equal(df_result_take(&r), *out);
  return r; /* None now */
}

/* Moves entry 0 out of the array into *arg, then drops the rest. */
static df_result take_entry_0(df_result r, void *arg) {
  *(df_result *)arg = df_result_array_take(df_result_array_of(r), 0);
  df_result_drop(r);
  return df_none();
}

/* Moves the value out of a first result into *arg. */
static df_result take_first_value(df_result r, void *arg) {
  df_first_result *h = df_first_result_of(r);
  assert_non_null(h);
  *(df_result *)arg = df_first_result_take(h);
  df_result_drop(r);
  return df_none();
}

/* An owned value moves into the list: the member goes on with None, and
 * the value is destroyed once, when the list's result is dropped. */
static void test_owned_value_moves_into_list_member_goes_on_with_none(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred *dl = df_deferred_list(&d, 1, 0);
  df_deferred_add_callback(d, log_entry, "member");
  df_deferred_callback(d, df_pointer(&value_a, count_destroy));
  assert_string_equal(events, "member:None ");
  assert_int_equal(destroyed, 0);
  df_result_array *a = df_result_array_of(*df_deferred_result(dl));
  assert_ptr_equal(a->items[0].u.p, &value_a);
  df_deferred_unref(d);
  assert_int_equal(destroyed, 0);
  df_deferred_unref(dl);
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(last_destroyed, &value_a);
}

/* A value owning nothing is copied: the member keeps it too. */
static void test_value_owning_nothing_is_copied(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred *dl = df_deferred_list(&d, 1, 0);
  df_deferred_add_callback(d, log_entry, "member");
  df_deferred_callback(d, df_pointer(&value_a, NULL));
  assert_int_equal(df_deferred_result(d)->kind, DF_POINTER);
  assert_ptr_equal(df_deferred_result(d)->u.p, &value_a);
  df_result_array *a = df_result_array_of(*df_deferred_result(dl));
  assert_ptr_equal(a->items[0].u.p, &value_a);
  df_deferred_unref(dl);
  df_deferred_unref(d);
  assert_int_equal(destroyed, 0);
}

/* An array kept with df_result_take lives on after the list, and
 * df_result_array_free destroys its values once. */
static void test_kept_array_outlives_list_and_frees_its_values(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, 0);
  df_result_array *kept = NULL;
  df_deferred_add_callback(dl, keep_array, &kept);
  df_deferred_callback(d[0], df_pointer(&value_a, count_destroy));
  df_deferred_callback(d[1], df_pointer(&value_b, count_destroy));
  assert_non_null(kept);
  df_deferred_unref(dl);
  df_deferred_unref(d[0]);
  df_deferred_unref(d[1]);
  assert_int_equal(destroyed, 0);
  assert_ptr_equal(kept->items[1].u.p, &value_b);
  df_result_array_free(kept);
  assert_int_equal(destroyed, 2);
}

/* An entry moved out belongs to the caller; dropping the array leaves it. */
static void test_entry_taken_out_is_the_callers(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, 0);
  df_result taken = df_none();
  df_deferred_add_callback(dl, take_entry_0, &taken);
  df_deferred_callback(d[0], df_pointer(&value_a, count_destroy));
  df_deferred_callback(d[1], df_pointer(&value_b, count_destroy));
  assert_int_equal(destroyed, 1); /* value_b, with the array */
  assert_ptr_equal(last_destroyed, &value_b);
  assert_ptr_equal(taken.u.p, &value_a);
  df_deferred_unref(dl);
  release_handled(d, 2);
  assert_int_equal(destroyed, 1);
  df_result_drop(taken);
  assert_int_equal(destroyed, 2);
}

/* fireOnOneCallback: the owned value moves into the (value, index); the
 * caller may take it; a later owned value stays with its member. */
static void test_first_result_owns_value_later_values_stay_with_members(
    void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_result taken = df_none();
  df_deferred_add_callback(dl, take_first_value, &taken);
  df_deferred_callback(d[1], df_pointer(&value_a, count_destroy));
  assert_ptr_equal(taken.u.p, &value_a);
  df_deferred_callback(d[0], df_pointer(&value_b, count_destroy));
  assert_ptr_equal(df_deferred_result(d[0])->u.p, &value_b);
  df_deferred_unref(dl);
  assert_int_equal(destroyed, 0);
  df_deferred_unref(d[0]);
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(last_destroyed, &value_b);
  df_deferred_unref(d[1]);
  df_result_drop(taken);
  assert_int_equal(destroyed, 2);
}

/* A first result kept with df_result_take is freed with its value by
 * df_first_result_free. */
static void test_kept_first_result_frees_its_value(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred *dl = df_deferred_list(&d, 1, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_deferred_callback(d, df_pointer(&value_a, count_destroy));
  df_result r;
  assert_int_equal(df_deferred_take_result(dl, &r), 0);
  df_first_result *h = df_first_result_of(r);
  assert_int_equal(h->index, 0);
  df_result_take(&r);
  df_deferred_unref(dl);
  df_deferred_unref(d);
  assert_int_equal(destroyed, 0);
  df_first_result_free(h);
  assert_int_equal(destroyed, 1);
}

/* Values recorded before a FirstError are dropped with the list. */
static void test_values_recorded_before_first_error_dropped_with_list(
    void **state) {
  (void)state;
  df_deferred *d[3] = {df_deferred_new(), df_deferred_new(), df_deferred_new()};
  df_deferred *g = df_gather_results(d, 3, true);
  df_deferred_add_errback(g, handle, NULL);
  df_deferred_callback(d[0], df_pointer(&value_a, count_destroy));
  df_deferred_errback(d[1], df_failure_new(&generic_error, "x"));
  df_deferred_callback(d[2], df_pointer(&value_b, count_destroy));
  assert_int_equal(destroyed, 0);
  df_deferred_unref(g);
  assert_int_equal(destroyed, 1); /* value_a, recorded by the list */
  assert_ptr_equal(last_destroyed, &value_a);
  for (int i = 0; i < 3; i++) df_deferred_unref(d[i]);
  assert_int_equal(destroyed, 2); /* value_b stayed with d[2] */
  assert_int_equal(reports, 0);
}

/* A failure shared by the member and the list is freed (its payload
 * destroyed) once, after both let it go; consumeErrors moves it. */
static void test_shared_failure_payload_destroyed_once(void **state) {
  (void)state;
  for (int consume = 0; consume < 2; consume++) {
    destroyed = 0;
    df_deferred *d = df_deferred_new();
    df_deferred *dl =
        df_deferred_list(&d, 1, consume ? DF_LIST_CONSUME_ERRORS : 0);
    df_failure *f = df_failure_new(&generic_error, "with payload");
    df_failure_set_payload(f, &value_c, count_destroy);
    df_deferred_errback(d, f);
    df_deferred_add_errback(d, handle, NULL);
    df_deferred_unref(d);
    assert_int_equal(destroyed, 0); /* the list still has it */
    df_deferred_unref(dl);
    assert_int_equal(destroyed, 1);
    assert_ptr_equal(last_destroyed, &value_c);
  }
  assert_int_equal(reports, 0);
}

/* Strings: a df_string_dup moves (freed once), a df_string is copied. */
static void test_strings_move_or_copy_by_ownership(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *g = df_gather_results(d, 2, false);
  df_deferred_add_callback(g, log_list, NULL);
  df_deferred_callback(d[0], df_string_dup("owned"));
  df_deferred_callback(d[1], df_string("static"));
  assert_string_equal(events, "list:[(True, 'owned'), (True, 'static')] ");
  assert_int_equal(df_deferred_result(d[0])->kind, DF_NONE);
  assert_string_equal(df_deferred_result(d[1])->u.s, "static");
  df_deferred_unref(g); /* frees "owned"; valgrind checks it */
  df_deferred_unref(d[0]);
  df_deferred_unref(d[1]);
}

/* === unhandled failures (U5) ============================================== */

/* Without consumeErrors a member's failure still ends its own chain and is
 * reported when the member goes; the list (fired with an array) is not. */
static void test_unconsumed_member_failure_is_reported_by_the_member(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred *dl = df_deferred_list(&d, 1, 0);
  df_deferred_errback(d, df_failure_new(&generic_error, "lost"));
  df_deferred_unref(dl);
  assert_int_equal(reports, 0);
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
}

/* With consumeErrors the member's chain goes on with None: no report. */
static void test_consumed_member_failure_is_not_reported(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred *dl = df_deferred_list(&d, 1, DF_LIST_CONSUME_ERRORS);
  df_deferred_errback(d, df_failure_new(&generic_error, "consumed"));
  df_deferred_unref(d);
  df_deferred_unref(dl);
  assert_int_equal(reports, 0);
}

/* gatherResults nobody handles: the FirstError is reported when the list
 * goes, and so is the member's own failure unless consumed. */
static void test_unhandled_first_error_reported_and_member_unless_consumed(
    void **state) {
  (void)state;
  for (int consume = 0; consume < 2; consume++) {
    reports = 0;
    df_deferred *d = df_deferred_new();
    df_deferred *g = df_gather_results(&d, 1, consume);
    df_deferred_errback(d, df_failure_new(&generic_error, "x"));
    df_deferred_unref(g);
    assert_int_equal(reports, 1); /* the list's FirstError */
    df_deferred_unref(d);
    assert_int_equal(reports, consume ? 1 : 2);
  }
}

/* A list the user dropped is kept alive by its pending member stages, so
 * its failure is still reported (as in Twisted) once the last stage ran. */
static void test_dropped_list_still_reports_its_failure(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *g = df_gather_results(d, 2, true);
  df_deferred_unref(g); /* before anything fired */
  df_deferred_errback(d[0], df_failure_new(&generic_error, "x"));
  assert_int_equal(reports, 0); /* d[1]'s stage still holds the list */
  df_deferred_callback(d[1], df_int(1));
  assert_int_equal(reports, 1);
  df_deferred_unref(d[0]);
  df_deferred_unref(d[1]);
  assert_int_equal(reports, 1);
}

/* The report of a FirstError shows its cause, the member's failure. */
static char *report_text;
static void capture_text(const df_unhandled *report, void *arg) {
  (void)arg;
  reports++;
  free(report_text);
  report_text = df_unhandled_format(report);
}

static void test_first_error_report_shows_the_member_failure(void **state) {
  (void)state;
  df_set_unhandled_handler(capture_text, NULL);
  df_deferred *d = df_deferred_new();
  df_deferred *g = df_gather_results(&d, 1, true);
  df_deferred_errback(d, df_failure_new(&generic_error, "root cause"));
  df_deferred_unref(d);
  df_deferred_unref(g);
  assert_int_equal(reports, 1);
  assert_non_null(report_text);
  assert_non_null(strstr(report_text, "GenericError: root cause\n"));
  assert_non_null(strstr(report_text, "FirstError: FirstError[#0, GenericError: root cause]"));
  free(report_text);
  report_text = NULL;
}

/* === lifetimes in every order ============================================= */

/* Members released before they fire: their results never come, the list
 * stays unfired (a member nobody fires, in Twisted terms); cancelling it
 * has no member left to cancel and fails it; all memory goes. */
static void test_members_released_unfired_leave_list_unfired(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, 0);
  df_deferred_callback(d[0], df_pointer(&value_a, count_destroy));
  df_deferred_unref(d[0]);
  df_deferred_unref(d[1]);
  assert_false(df_deferred_called(dl));
  assert_int_equal(destroyed, 0);
  df_deferred_cancel(dl);
  assert_ptr_equal(failure_type_of(dl), &df_error_cancelled);
  df_deferred_add_errback(dl, handle, NULL);
  df_deferred_unref(dl);
  assert_int_equal(destroyed, 1); /* recorded, never delivered */
  assert_int_equal(reports, 0);
}

/* The list released first, then the members released unfired: nothing
 * fires, nothing is reported, nothing leaks. */
static void test_list_then_members_released_unfired(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, DF_LIST_FIRE_ON_ONE_ERRBACK);
  df_deferred_add_callback(dl, log_list, NULL);
  df_deferred_unref(dl);
  df_deferred_unref(d[1]);
  df_deferred_unref(d[0]);
  assert_string_equal(events, "");
  assert_int_equal(reports, 0);
}

/* The list released first, the members fired later: the list still fires
 * (its callbacks run), and is freed with its values after the last. */
static void test_list_released_first_still_fires(void **state) {
  (void)state;
  df_deferred *d[2] = {df_deferred_new(), df_deferred_new()};
  df_deferred *dl = df_deferred_list(d, 2, 0);
  df_deferred_add_callback(dl, log_list, NULL);
  df_deferred_unref(dl);
  df_deferred_callback(d[1], df_pointer(&value_b, count_destroy));
  df_deferred_callback(d[0], df_int(0));
  const char *expected = "list:[(True, 0), (True, <pointer ";
  assert_int_equal(strncmp(events, expected, strlen(expected)), 0);
  assert_int_equal(destroyed, 1); /* the list went with its result */
  df_deferred_unref(d[0]);
  df_deferred_unref(d[1]);
}

/* Fired during construction and released at once. */
static void test_list_fired_during_construction_released_at_once(void **state) {
  (void)state;
  df_deferred *d[2] = {df_succeed(df_pointer(&value_a, count_destroy)),
                       df_succeed(df_int(1))};
  df_deferred *g = df_gather_results(d, 2, false);
  assert_true(df_deferred_called(g));
  df_deferred_unref(g);
  assert_int_equal(destroyed, 1);
  df_deferred_unref(d[0]);
  df_deferred_unref(d[1]);
  assert_int_equal(destroyed, 1);
}

/* A list callback that releases the members and cancels the list. */
static df_deferred *held[2];
static df_result release_members_and_cancel(df_result r, void *arg) {
  df_deferred_unref(held[0]);
  df_deferred_unref(held[1]);
  held[0] = held[1] = NULL;
  df_deferred_cancel(arg); /* fired: does nothing */
  return r;
}

static void test_list_callback_may_release_members_and_cancel(void **state) {
  (void)state;
  held[0] = df_deferred_new();
  held[1] = df_deferred_new();
  df_deferred *dl = df_deferred_list(held, 2, DF_LIST_FIRE_ON_ONE_CALLBACK);
  df_deferred_add_callback(dl, release_members_and_cancel, dl);
  df_deferred_callback(held[0], df_int(1)); /* fires dl inside d0's stage */
  assert_null(held[0]);
  assert_true(df_deferred_called(dl));
  df_deferred_add_callback(dl, log_list, NULL);
  assert_string_equal(events, "list:(1, 0) ");
  df_deferred_unref(dl);
}

/* A member canceller that releases the last reference to a later member
 * (whose stage is then dropped unrun) and to the list: the cancel loop
 * skips the gone member and finishes safely. */
static df_deferred *victim;
static df_deferred *list_ref;
static void releasing_canceller(df_deferred *d, void *arg) {
  (void)arg;
  canceller_calls++;
  df_deferred_unref(victim);
  victim = NULL;
  df_deferred_unref(list_ref);
  list_ref = NULL;
  df_deferred_callback(d, df_int(1));
}

static void test_member_canceller_releasing_other_member_and_list(void **state) {
  (void)state;
  df_deferred *first = df_deferred_new_with_canceller(releasing_canceller, NULL);
  victim = df_deferred_new();
  df_deferred *last = df_deferred_new();
  df_deferred *members[3] = {first, victim, last};
  list_ref = df_deferred_list(members, 3, 0);
  df_deferred *dl = df_deferred_ref(list_ref);
  df_deferred_cancel(dl);
  assert_int_equal(canceller_calls, 1);
  assert_ptr_equal(failure_type_of(last), &df_error_cancelled);
  /* victim never fired: the list cannot complete, and so cancel failed it */
  assert_ptr_equal(failure_type_of(dl), &df_error_cancelled);
  df_deferred_add_errback(dl, handle, NULL);
  df_deferred_unref(dl);
  df_deferred_unref(first);
  release_handled(&last, 1);
  assert_int_equal(reports, 0);
}

/* Many members: O(n), fired in reverse order. */
static void test_ten_thousand_members(void **state) {
  (void)state;
  enum { N = 10000 };
  static df_deferred *d[N];
  for (int i = 0; i < N; i++) d[i] = df_deferred_new();
  df_deferred *g = df_gather_results(d, N, false);
  for (int i = N - 1; i >= 0; i--) {
    df_deferred_callback(d[i], df_int(i));
    df_deferred_unref(d[i]);
  }
  df_result_array *a = df_result_array_of(*df_deferred_result(g));
  assert_int_equal(a->count, N);
  int64_t sum = 0;
  for (int i = 0; i < N; i++) sum += a->items[i].u.i;
  assert_int_equal(sum, (int64_t)N * (N - 1) / 2);
  df_deferred_unref(g);
}

/* === out of memory ========================================================== */

/* Lists over members with full inline stages (so each list stage needs a
 * block), one fired before, a FirstError, a fireOnOneCallback; returns
 * what the plain list delivered (-1: it did not). */
static int64_t oom_scenario(void) {
  enum { N = 4 };
  df_deferred *d[N];
  int64_t outcome = -1;
  for (int i = 0; i < N; i++) {
    d[i] = df_deferred_new();
    if (d[i])
      for (int k = 0; k < 2; k++) df_deferred_add_callback(d[i], pass, NULL);
  }
  bool all = true;
  for (int i = 0; i < N; i++) all = all && d[i];
  if (all) {
    df_deferred_callback(d[0], df_pointer(&value_a, count_destroy));
    df_deferred *dl = df_deferred_list(d, N, 0);
    df_deferred *g = df_gather_results(d, N, true);
    df_deferred *one = df_deferred_list(d, N, DF_LIST_FIRE_ON_ONE_CALLBACK);
    df_deferred_errback(d[1], df_failure_new(&generic_error, "x"));
    df_deferred_callback(d[2], df_int(2));
    df_deferred_callback(d[3], df_int(3));
    const df_result *r = df_deferred_result(dl);
    if (r && df_result_array_of(*r))
      outcome = df_result_array_of(*r)->items[3].u.i;
    df_deferred_cancel(one);
    df_deferred_unref(dl);
    df_deferred_unref(g);
    df_deferred_unref(one);
  }
  for (int i = 0; i < N; i++) {
    if (d[i]) df_deferred_add_errback(d[i], handle, NULL);
    df_deferred_unref(d[i]);
  }
  return outcome;
}

/* A run refusing an allocation ends with the list's sum or could not run
 * (-1); the one refusing nothing ends with the sum. The guarded value is
 * never destroyed twice. */
static void check_oom_outcome(int64_t outcome, bool failed) {
  assert_true(destroyed <= 1);
  if (!failed)
    assert_int_equal(outcome, 3);
  else
    assert_true(outcome == -1 || outcome == 3);
}

static void test_every_allocation_failure_is_handled(void **state) {
  (void)state;
  df_release_caches();
  destroyed = 0;
  assert_int_equal(oom_scenario(), 3);
  assert_int_equal(destroyed, 1);
  support_check_each_allocation_failure(oom_scenario, check_oom_outcome, 10000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, support_teardown)
      /* group 4 and DeferredListEmptyTests, FirstErrorTests */
      T(test_list_fires_success_failure_pairs_in_input_order),
      T(test_empty_list_fires_empty_array_not_with_fire_on_one_callback),
      T(test_empty_list_callback_runs_with_empty_array),
      T(test_fire_on_one_errback_gives_first_error_with_sub_failure_and_index),
      T(test_first_error_message_names_index_and_sub_failure),
      T(test_without_consume_errors_member_errbacks_still_see_failure),
      T(test_consume_errors_member_errbacks_see_none),
      T(test_already_failed_member_fails_fire_on_one_errback_list_at_once),
      T(test_already_fired_members_fire_list_at_once),
      T(test_fire_on_one_callback_gives_value_and_index),
      T(test_fire_on_one_callback_all_failed_fires_whole_list),
      T(test_list_stage_sits_between_earlier_and_later_member_stages),
      T(test_same_member_twice_is_recorded_twice),
      T(test_results_after_list_fired_pass_on_consumed_errors_become_none),
      T(test_bad_arguments_give_value_error_and_leave_members_alone),
      T(test_accessors_refuse_other_results),
      /* group 5 */
      T(test_cancel_list_cancels_every_member),
      T(test_cancel_list_member_canceller_callbacks_gives_list),
      T(test_cancel_fire_on_one_callback_list_cancels_every_member),
      T(test_cancel_fire_on_one_callback_member_callbacks_gives_value_index),
      T(test_cancel_fire_on_one_errback_list_gives_first_error_cancelled),
      T(test_cancel_fire_on_one_errback_all_members_callback_gives_list),
      T(test_cancel_list_cancels_only_the_members_it_was_given),
      T(test_cancel_list_goes_on_after_a_canceller_that_does_not_fire),
      T(test_cancel_after_fire_on_one_callback_fired_does_nothing),
      T(test_cancel_after_fire_on_one_errback_fired_does_nothing),
      T(test_cancel_leaves_recorded_members_and_fails_list_if_unfired),
      T(test_cancel_empty_fire_on_one_callback_list_fails_it),
      /* group 8 */
      T(test_gather_results_values_in_order_then_first_error),
      T(test_gather_results_consume_errors),
      T(test_cancel_gather_results_cancels_members_first_error),
      T(test_cancel_gather_results_all_members_callback_gives_values),
      T(test_gather_results_of_nothing_is_empty_array),
      /* ownership */
      T(test_owned_value_moves_into_list_member_goes_on_with_none),
      T(test_value_owning_nothing_is_copied),
      T(test_kept_array_outlives_list_and_frees_its_values),
      T(test_entry_taken_out_is_the_callers),
      T(test_first_result_owns_value_later_values_stay_with_members),
      T(test_kept_first_result_frees_its_value),
      T(test_values_recorded_before_first_error_dropped_with_list),
      T(test_shared_failure_payload_destroyed_once),
      T(test_strings_move_or_copy_by_ownership),
      /* unhandled failures */
      T(test_unconsumed_member_failure_is_reported_by_the_member),
      T(test_consumed_member_failure_is_not_reported),
      T(test_unhandled_first_error_reported_and_member_unless_consumed),
      T(test_dropped_list_still_reports_its_failure),
      T(test_first_error_report_shows_the_member_failure),
      /* lifetimes */
      T(test_members_released_unfired_leave_list_unfired),
      T(test_list_then_members_released_unfired),
      T(test_list_released_first_still_fires),
      T(test_list_fired_during_construction_released_at_once),
      T(test_list_callback_may_release_members_and_cancel),
      T(test_member_canceller_releasing_other_member_and_list),
      T(test_ten_thousand_members),
      /* out of memory */
      T(test_every_allocation_failure_is_handled),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
