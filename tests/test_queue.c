/* DeferredQueue (deferred/queue.h).
 *
 * Ports of twisted/test/test_defer.py's OtherPrimitivesTests for the
 * queue (each test names the one it ports), then what C adds: who owns an
 * item at each step (counting destructors), refusals as an error code
 * (put) and a failed deferred (get), cancelled gets left alone, the queue
 * freed with gets waiting and items queued, hand-overs nested deeper than
 * Twisted's recursion allows, and out of memory at every allocation.
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

/* Twisted's gotten.append: logs "got:<value>", returns None. */
static df_result append_gotten(df_result r, void *arg) {
  (void)arg;
  ev_result("got", r);
  df_result_drop(r);
  return df_none();
}

/* get().addCallback(gotten.append), the reference dropped. */
static void get_into_gotten(df_queue *q) {
  df_deferred *d = df_queue_get(q);
  assert_non_null(d);
  df_deferred_add_callback(d, append_gotten, NULL);
  df_deferred_unref(d);
}

/* Logs "label:<result>" and passes it on. */
static df_result log_result(df_result r, void *arg) {
  ev_result(arg, r);
  return r;
}

static df_result fail_on_errback(df_result r, void *arg) {
  (void)arg;
  fail_msg("unexpected errback call");
  return r;
}

static int values[8];
static df_queue *the_queue;

/* === ports of OtherPrimitivesTests ======================================== */

/* test_defer.py: OtherPrimitivesTests.testQueue */
static void test_queue_limits_order_and_refusals(void **state) {
  (void)state;
  enum { N = 2, M = 2 };
  df_queue *queue;
  assert_int_equal(df_queue_new(N, M, &queue), 0);

  for (int i = 0; i < M; i++) get_into_gotten(queue);
  df_deferred *refused = df_queue_get(queue); /* QueueUnderflow */
  assert_ptr_equal(failure_type_of(refused), &df_error_queue_underflow);
  release_handled(&refused, 1);

  for (int i = 0; i < M; i++) {
    assert_int_equal(df_queue_put(queue, df_int(i)), 0);
  }
  assert_string_equal(events, "got:0 got:1 ");
  for (int i = 0; i < N; i++)
    assert_int_equal(df_queue_put(queue, df_int(N + i)), 0);
  assert_string_equal(events, "got:0 got:1 "); /* queued, nobody waits */
  assert_int_equal(df_queue_put(queue, df_none()), DF_EQUEUE_OVERFLOW);

  events[0] = '\0';
  get_into_gotten(queue);
  assert_string_equal(events, "got:2 ");
  get_into_gotten(queue);
  assert_string_equal(events, "got:2 got:3 ");
  df_queue_free(queue);

  assert_int_equal(df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &queue),
                   0);
  events[0] = '\0';
  for (int i = 0; i < N; i++) get_into_gotten(queue);
  for (int i = 0; i < N; i++)
    assert_int_equal(df_queue_put(queue, df_int(i)), 0);
  assert_string_equal(events, "got:0 got:1 ");
  df_queue_free(queue);

  assert_int_equal(df_queue_new(0, DF_QUEUE_UNLIMITED, &queue), 0);
  assert_int_equal(df_queue_put(queue, df_none()), DF_EQUEUE_OVERFLOW);
  df_queue_free(queue);

  assert_int_equal(df_queue_new(DF_QUEUE_UNLIMITED, 0, &queue), 0);
  refused = df_queue_get(queue);
  assert_ptr_equal(failure_type_of(refused), &df_error_queue_underflow);
  release_handled(&refused, 1);
  df_queue_free(queue);
  assert_int_equal(reports, 0);
}

/* test_defer.py: OtherPrimitivesTests.test_cancelQueueAfterSynchronousGet */
static void test_cancel_get_that_fired_does_nothing(void **state) {
  (void)state;
  df_queue *queue;
  assert_int_equal(df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &queue),
                   0);
  df_deferred *d = df_queue_get(queue);
  df_deferred_add_errback(d, fail_on_errback, NULL);
  assert_int_equal(df_queue_put(queue, df_none()), 0);
  df_deferred_cancel(d);
  assert_int_equal(df_deferred_result(d)->kind, DF_NONE);
  df_deferred_unref(d);
  df_queue_free(queue);
}

/* test_cancelQueueAfterGet's cb: put, then wait on a get that must see
 * the item (if the cancelled get were still linked to the queue, the put
 * would fire it again: AlreadyCalledError). */
static df_result put_then_get(df_result r, void *arg) {
  df_queue *queue = arg;
  df_result_drop(r);
  assert_int_equal(df_queue_put(queue, df_pointer(&values[0], NULL)), 0);
  df_deferred *next = df_queue_get(queue);
  df_deferred_add_callback(next, log_result, "get");
  return df_wait_on(next);
}

/* test_defer.py: OtherPrimitivesTests.test_cancelQueueAfterGet */
static void test_cancelled_get_is_not_fired_by_a_later_put(void **state) {
  (void)state;
  df_queue *queue;
  assert_int_equal(df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &queue),
                   0);
  df_deferred *d = df_queue_get(queue);
  df_deferred_cancel(d);
  assert_ptr_equal(failure_type_of(d), &df_error_cancelled);
  df_deferred_add_errback(d, handle, NULL); /* assertImmediateFailure */
  df_deferred_add_callback(d, put_then_get, queue);
  df_deferred_add_callback(d, log_result, "done");
  assert_non_null(strstr(events, "get:<pointer "));
  assert_non_null(strstr(events, "done:<pointer "));
  assert_int_equal(df_queue_pending(queue), 0);
  assert_int_equal(df_queue_waiting(queue), 0);
  df_deferred_unref(d);
  df_queue_free(queue);
  assert_int_equal(reports, 0);
}

/* === ownership of items =================================================== */

/* An owned item belongs to the queue until a get fires with it; then to
 * that get's chain. Refused and NULL-queue items are dropped at once (the
 * put takes them in every case); a deferred is no item. */
static void test_items_are_owned_until_a_get_takes_them(void **state) {
  (void)state;
  df_queue *q;
  assert_int_equal(df_queue_new(1, DF_QUEUE_UNLIMITED, &q), 0);
  assert_int_equal(df_queue_put(q, df_pointer(&values[0], count_destroy)), 0);
  assert_int_equal(destroyed, 0);
  assert_int_equal(df_queue_put(q, df_pointer(&values[1], count_destroy)),
                   DF_EQUEUE_OVERFLOW);
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(last_destroyed, &values[1]);
  df_deferred *d = df_queue_get(q);
  assert_ptr_equal(df_deferred_result(d)->u.p, &values[0]);
  assert_int_equal(destroyed, 1);
  df_deferred_unref(d);
  assert_int_equal(destroyed, 2);

  df_deferred *other = df_deferred_new();
  assert_int_equal(df_queue_put(q, df_wait_on(df_deferred_ref(other))),
                   DF_EINVAL);
  assert_int_equal(df_queue_pending(q), 0);
  assert_int_equal(df_queue_put(NULL, df_pointer(&values[2], count_destroy)),
                   DF_EINVAL);
  assert_int_equal(destroyed, 3);
  df_deferred_unref(other); /* the put dropped the reference it was given */
  df_queue_free(q);
}

/* A failure put into the queue fails the get that takes it. */
static void test_failure_item_fails_the_get(void **state) {
  (void)state;
  df_queue *q;
  assert_int_equal(df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &q), 0);
  df_deferred *waiting = df_queue_get(q);
  df_deferred_add_errback(waiting, log_result, "waiting");
  assert_int_equal(df_queue_put(q, df_raise(&generic_error, "bad item")), 0);
  assert_int_equal(df_queue_put(q, df_raise(&generic_error, "queued")), 0);
  df_deferred *later = df_queue_get(q);
  assert_ptr_equal(failure_type_of(later), &generic_error);
  assert_string_equal(events, "waiting:GenericError: bad item ");
  release_handled(&waiting, 1);
  release_handled(&later, 1);
  df_queue_free(q);
  assert_int_equal(reports, 0);
}

/* Items and gets both come out first in, first out. */
static void test_items_and_gets_are_served_in_order(void **state) {
  (void)state;
  df_queue *q;
  assert_int_equal(df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &q), 0);
  for (int i = 0; i < 20; i++) assert_int_equal(df_queue_put(q, df_int(i)), 0);
  assert_int_equal(df_queue_pending(q), 20);
  for (int i = 0; i < 20; i++) {
    df_deferred *d = df_queue_get(q);
    assert_int_equal(df_deferred_result(d)->u.i, i);
    df_deferred_unref(d);
  }
  for (int i = 0; i < 3; i++) get_into_gotten(q);
  assert_int_equal(df_queue_waiting(q), 3);
  for (int i = 0; i < 3; i++) df_queue_put(q, df_int(10 * i));
  assert_string_equal(events, "got:0 got:10 got:20 ");
  assert_int_equal(df_queue_size(q), DF_QUEUE_UNLIMITED);
  assert_int_equal(df_queue_backlog(q), DF_QUEUE_UNLIMITED);
  df_queue_free(q);
}

/* A get fired by its user (a misuse) is skipped: the item goes to the
 * next one, or is queued; nothing is lost. */
static void test_get_fired_by_its_user_is_skipped(void **state) {
  (void)state;
  df_queue *q;
  assert_int_equal(df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &q), 0);
  df_deferred *misused = df_queue_get(q);
  df_deferred_callback(misused, df_int(-1));
  assert_int_equal(df_queue_put(q, df_pointer(&values[0], count_destroy)), 0);
  assert_int_equal(df_queue_pending(q), 1);
  assert_int_equal(df_queue_waiting(q), 0);
  assert_int_equal(destroyed, 0);
  df_deferred_unref(misused);
  df_queue_free(q); /* drops the queued item */
  assert_int_equal(destroyed, 1);
}

/* NULL queue and out parameter. */
static void test_null_arguments_give_errors(void **state) {
  (void)state;
  assert_int_equal(df_queue_new(1, 1, NULL), DF_EINVAL);
  df_deferred *d = df_queue_get(NULL);
  assert_ptr_equal(failure_type_of(d), &df_error_invalid_argument);
  release_handled(&d, 1);
  assert_int_equal(df_queue_pending(NULL), 0);
  assert_int_equal(df_queue_waiting(NULL), 0);
  assert_int_equal(df_queue_size(NULL), 0);
  assert_int_equal(df_queue_backlog(NULL), 0);
  df_queue_free(NULL);
  assert_string_equal(df_strerror(DF_EQUEUE_OVERFLOW), "queue overflow");
  assert_int_equal(reports, 0);
}

/* === lifetimes ============================================================ */

/* Freeing fails the waiting gets, oldest first, with CancelledError
 * saying why, and drops the queued items (each destructor once). */
static void test_free_fails_gets_and_drops_items(void **state) {
  (void)state;
  df_queue *q;
  assert_int_equal(df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &q), 0);
  df_deferred *g[2] = {df_queue_get(q), df_queue_get(q)};
  df_deferred_add_errback(g[0], log_result, "g0");
  df_deferred_add_errback(g[1], log_result, "g1");
  df_queue_free(q);
  assert_string_equal(events, "g0:CancelledError: DeferredQueue freed while "
                              "this get waited g1:CancelledError: "
                              "DeferredQueue freed while this get waited ");
  release_handled(&g[0], 1);
  release_handled(&g[1], 1);

  assert_int_equal(df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &q), 0);
  for (int i = 0; i < 3; i++)
    df_queue_put(q, df_pointer(&values[i], count_destroy));
  df_queue_put(q, df_string_dup("freed by the queue")); /* valgrind checks */
  df_queue_free(q);
  assert_int_equal(destroyed, 3);
  assert_int_equal(reports, 0);
}

/* A get's errback run by the free may get (a deferred already failed),
 * put (refused, the item dropped) and free again (nothing). */
static df_result misbehave_during_free(df_result r, void *arg) {
  (void)arg;
  df_deferred *d = df_queue_get(the_queue);
  ev_result("get", *df_deferred_result(d));
  release_handled(&d, 1);
  ev("put=%d", df_queue_put(the_queue, df_pointer(&values[0], count_destroy)));
  df_queue_free(the_queue);
  return r;
}

static void test_get_errback_may_use_the_queue_being_freed(void **state) {
  (void)state;
  assert_int_equal(
      df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &the_queue), 0);
  df_deferred *g = df_queue_get(the_queue);
  df_deferred_add_errback(g, misbehave_during_free, NULL);
  df_queue_free(the_queue);
  assert_string_equal(events,
                      "get:CancelledError: DeferredQueue got while being freed "
                      "put=-22 ");
  assert_int_equal(destroyed, 1);
  release_handled(&g, 1);
  assert_int_equal(reports, 0);
}

/* Freed inside the callback of the get a put fires: the put returns
 * safely, the other gets fail. */
static df_result free_the_queue(df_result r, void *arg) {
  (void)arg;
  ev("free");
  df_queue_free(the_queue);
  return r;
}

static void test_free_inside_the_get_a_put_fires(void **state) {
  (void)state;
  assert_int_equal(
      df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &the_queue), 0);
  df_deferred *first = df_queue_get(the_queue);
  df_deferred_add_callback(first, free_the_queue, NULL);
  df_deferred *second = df_queue_get(the_queue);
  df_deferred_add_errback(second, log_result, "second");
  assert_int_equal(df_queue_put(the_queue, df_int(1)), 0);
  assert_string_equal(events,
                      "free second:CancelledError: DeferredQueue freed while "
                      "this get waited ");
  df_deferred_unref(first);
  release_handled(&second, 1);
  assert_int_equal(reports, 0);
}

/* === nested hand-overs ==================================================== */

/* 100,000 gets whose callbacks each put the next item: far deeper than
 * Twisted's recursion survives, all served in order, in bounded stack. */
static long next_expected;
static df_result check_and_put_next(df_result r, void *arg) {
  (void)arg;
  assert_int_equal(r.u.i, next_expected);
  next_expected++;
  assert_int_equal(df_queue_put(the_queue, df_int(r.u.i + 1)), 0);
  return r;
}

static void test_deep_hand_overs_run_in_bounded_stack(void **state) {
  (void)state;
  enum { N = 100000 };
  assert_int_equal(
      df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &the_queue), 0);
  for (long i = 0; i < N; i++) {
    df_deferred *d = df_queue_get(the_queue);
    df_deferred_add_callback(d, check_and_put_next, NULL);
    df_deferred_unref(d);
  }
  next_expected = 0;
  assert_int_equal(df_queue_put(the_queue, df_int(0)), 0);
  assert_int_equal(next_expected, N);
  assert_int_equal(df_queue_waiting(the_queue), 0);
  assert_int_equal(df_queue_pending(the_queue), 1); /* the last one's put */
  df_deferred *d = df_queue_get(the_queue);
  assert_int_equal(df_deferred_result(d)->u.i, N);
  df_deferred_unref(d);
  df_queue_free(the_queue);
}

/* A get made inside a deep hand-over, while items wait for the gets
 * before it, queues behind those gets and gets the next item after
 * theirs. */
static df_result put_and_get_at_300(df_result r, void *arg) {
  long me = (long)(intptr_t)arg;
  assert_int_equal(df_queue_put(the_queue, df_int(me + 1)), 0);
  if (me == 300) { /* 256 deep: the item waits, so do gets 301..399 */
    ev("pending=%zu waiting=%zu", df_queue_pending(the_queue),
       df_queue_waiting(the_queue));
    df_deferred *d = df_queue_get(the_queue);
    df_deferred_add_callback(d, log_result, "late");
    df_deferred_unref(d);
  }
  return r;
}

static void test_get_during_deep_hand_over_keeps_its_turn(void **state) {
  (void)state;
  assert_int_equal(
      df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &the_queue), 0);
  for (long i = 0; i < 400; i++) {
    df_deferred *d = df_queue_get(the_queue);
    df_deferred_add_callback(d, put_and_get_at_300, (void *)(intptr_t)i);
    df_deferred_unref(d);
  }
  assert_int_equal(df_queue_put(the_queue, df_int(0)), 0);
  assert_string_equal(events, "pending=1 waiting=99 late:400 ");
  assert_int_equal(df_queue_pending(the_queue), 0);
  assert_int_equal(df_queue_waiting(the_queue), 0);
  df_queue_free(the_queue);
}

/* === out of memory ======================================================== */

/* Gets and puts past the first ring, a cancel, an overflow and a free;
 * returns how many items reached a get (-1: no queue). No item is lost
 * or destroyed twice: every owned item is destroyed exactly once. */
static int gotten;
static df_result count_gotten(df_result r, void *arg) {
  (void)arg;
  if (!df_result_is_failure(r)) gotten++;
  df_result_drop(r);
  return df_none();
}

static int64_t oom_scenario(void) {
  df_queue *q = NULL;
  gotten = 0;
  if (df_queue_new(12, DF_QUEUE_UNLIMITED, &q) != 0) return -1;
  df_deferred *gets[10] = {0};
  for (int i = 0; i < 10; i++) {
    gets[i] = df_queue_get(q);
    if (gets[i]) df_deferred_add_both(gets[i], count_gotten, NULL);
  }
  if (gets[3]) df_deferred_cancel(gets[3]);
  for (int i = 0; i < 24; i++)
    df_queue_put(q, df_pointer(&values[i % 8], count_destroy));
  for (int i = 0; i < 4; i++) {
    df_deferred *d = df_queue_get(q);
    if (d) df_deferred_add_both(d, count_gotten, NULL);
    df_deferred_unref(d);
  }
  for (int i = 0; i < 10; i++) df_deferred_unref(gets[i]);
  df_queue_free(q);
  return gotten;
}

static void check_oom_outcome(int64_t outcome, bool failed) {
  assert_int_equal(destroyed, outcome < 0 ? 0 : 24); /* every item, once */
  if (!failed) assert_int_equal(outcome, 9 + 4);
}

static void test_every_allocation_failure_is_handled(void **state) {
  (void)state;
  destroyed = 0;
  assert_int_equal(oom_scenario(), 13);
  assert_int_equal(destroyed, 24);
  support_check_each_allocation_failure(oom_scenario, check_oom_outcome, 1000);
  assert_int_equal(reports, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, support_setup, support_teardown)
      /* OtherPrimitivesTests */
      T(test_queue_limits_order_and_refusals),
      T(test_cancel_get_that_fired_does_nothing),
      T(test_cancelled_get_is_not_fired_by_a_later_put),
      /* items */
      T(test_items_are_owned_until_a_get_takes_them),
      T(test_failure_item_fails_the_get),
      T(test_items_and_gets_are_served_in_order),
      T(test_get_fired_by_its_user_is_skipped),
      T(test_null_arguments_give_errors),
      /* lifetimes */
      T(test_free_fails_gets_and_drops_items),
      T(test_get_errback_may_use_the_queue_being_freed),
      T(test_free_inside_the_get_a_put_fires),
      /* nesting */
      T(test_deep_hand_overs_run_in_bounded_stack),
      T(test_get_during_deep_hand_over_keeps_its_turn),
      /* out of memory */
      T(test_every_allocation_failure_is_handled),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
