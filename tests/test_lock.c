/* DeferredLock and DeferredSemaphore (deferred/lock.h).
 *
 * Ports of twisted/test/test_defer.py's OtherPrimitivesTests for the lock
 * and the semaphore (each test names the one it ports), then what C
 * adds: errors instead of assertions, FIFO order, run() releasing on every
 * path, cancelled waiters left alone, the primitive freed with waiters or
 * under a run, hand-overs nested deeper than Twisted's recursion allows,
 * and out of memory at every allocation.
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

/* Twisted's self.counter and _incr. */
static int counter;
static df_result incr(df_result r, void *arg) {
  (void)arg;
  counter++;
  df_result_drop(r);
  return df_none();
}

/* What a recording callback saw last: its kind, pointer, failure type. */
static struct seen {
  df_kind kind;
  void *p;
  const df_error_type *type;
} seen;

static df_result record_seen(df_result r, void *arg) {
  (void)arg;
  seen.kind = r.kind;
  seen.p = r.kind == DF_POINTER ? r.u.p : NULL;
  seen.type = df_result_is_failure(r) ? df_failure_type(r.u.failure) : NULL;
  df_result_drop(r);
  return df_none();
}

static df_result fail_on_errback(df_result r, void *arg) {
  (void)arg;
  fail_msg("unexpected errback call");
  return r;
}

/* Logs "label" and drops the result (a waiter that got the token). */
static df_result log_label(df_result r, void *arg) {
  ev("%s", (const char *)arg);
  df_result_drop(r);
  return df_none();
}

/* Logs "label:<result>" and passes it on. */
static df_result log_result(df_result r, void *arg) {
  ev_result(arg, r);
  return r;
}

static df_lock *the_lock;
static df_semaphore *the_sem;

/* A waiter that logs and gives the lock back at once. */
static df_result log_and_release(df_result r, void *arg) {
  ev("%s", (const char *)arg);
  assert_int_equal(df_lock_release(the_lock), 0);
  return r;
}

/* Acquire with one stage, drop the reference. */
static void acquire_then(df_lock *lock, df_callback_fn cb, void *arg) {
  df_deferred *d = df_lock_acquire(lock);
  assert_non_null(d);
  df_deferred_add_callback(d, cb, arg);
  df_deferred_unref(d);
}

static int setup(void **state) {
  counter = 0;
  memset(&seen, 0, sizeof seen);
  the_lock = NULL;
  the_sem = NULL;
  return support_setup(state);
}

/* === ports of OtherPrimitivesTests ======================================== */

/* run()'s function in testLock: records its argument (Twisted's
 * resultValue) and returns the control deferred (returnValue). */
static df_deferred *control;
static void *helper_result;
static int first_unique, second_unique, unique_object;
static df_result run_helper(void *arg) {
  helper_result = arg;
  return df_wait_on(df_deferred_ref(control));
}

/* helper() used as a callback: result = its input. */
static df_result helper_callback(df_result r, void *arg) {
  (void)arg;
  helper_result = r.kind == DF_POINTER ? r.u.p : NULL;
  df_result_drop(r);
  return df_none();
}

/* test_defer.py: OtherPrimitivesTests.testLock */
static void test_lock_acquire_release_run_and_cancel(void **state) {
  (void)state;
  df_lock *lock;
  assert_int_equal(df_lock_new(&lock), 0);
  acquire_then(lock, incr, NULL);
  assert_true(df_lock_locked(lock));
  assert_int_equal(counter, 1);

  acquire_then(lock, incr, NULL);
  assert_true(df_lock_locked(lock));
  assert_int_equal(counter, 1);

  assert_int_equal(df_lock_release(lock), 0);
  assert_true(df_lock_locked(lock));
  assert_int_equal(counter, 2);

  assert_int_equal(df_lock_release(lock), 0);
  assert_false(df_lock_locked(lock));
  assert_int_equal(counter, 2);

  /* assertRaises(TypeError, lock.run): no function */
  df_deferred *bad = df_lock_run(lock, NULL, NULL);
  assert_ptr_equal(failure_type_of(bad), &df_error_invalid_argument);
  release_handled(&bad, 1);
  assert_false(df_lock_locked(lock));

  control = df_deferred_new();
  df_deferred *result_deferred = df_lock_run(lock, run_helper, &first_unique);
  assert_true(df_lock_locked(lock));
  assert_ptr_equal(helper_result, &first_unique);

  df_deferred_add_callback(result_deferred, helper_callback, NULL);

  acquire_then(lock, incr, NULL);
  assert_true(df_lock_locked(lock));
  assert_int_equal(counter, 2);

  df_deferred_callback(control, df_pointer(&second_unique, NULL));
  assert_ptr_equal(helper_result, &second_unique);
  assert_true(df_lock_locked(lock));
  assert_int_equal(counter, 3);

  df_deferred *d = df_lock_acquire(lock);
  df_deferred_add_both(d, record_seen, NULL);
  df_deferred_cancel(d);
  assert_int_equal(seen.kind, DF_FAILURE);
  assert_ptr_equal(seen.type, &df_error_cancelled);

  assert_int_equal(df_lock_release(lock), 0);
  assert_false(df_lock_locked(lock));

  df_deferred_unref(d);
  df_deferred_unref(result_deferred);
  df_deferred_unref(control);
  df_lock_free(lock);
  assert_int_equal(reports, 0);
}

/* test_defer.py: OtherPrimitivesTests.test_cancelLockAfterAcquired */
static void test_cancel_acquired_lock_deferred_does_nothing(void **state) {
  (void)state;
  df_lock *lock;
  assert_int_equal(df_lock_new(&lock), 0);
  df_deferred *d = df_lock_acquire(lock);
  df_deferred_add_errback(d, fail_on_errback, NULL);
  df_deferred_cancel(d);
  assert_int_equal(df_deferred_result(d)->kind, DF_POINTER);
  assert_ptr_equal(df_deferred_result(d)->u.p, lock);
  assert_true(df_lock_locked(lock)); /* still ours to release */
  assert_int_equal(df_lock_release(lock), 0);
  df_deferred_unref(d);
  df_lock_free(lock);
}

/* test_defer.py: OtherPrimitivesTests.test_cancelLockBeforeAcquired */
static void test_cancel_waiting_lock_deferred_fails_it_at_once(void **state) {
  (void)state;
  df_lock *lock;
  assert_int_equal(df_lock_new(&lock), 0);
  df_deferred *holder = df_lock_acquire(lock);
  df_deferred *d = df_lock_acquire(lock);
  df_deferred_cancel(d);
  assert_ptr_equal(failure_type_of(d), &df_error_cancelled);
  assert_int_equal(df_lock_waiting(lock), 0);
  release_handled(&d, 1);
  df_deferred_unref(holder);
  df_lock_free(lock);
  assert_int_equal(reports, 0);
}

/* testSemaphore's helper: records its argument, returns the control. */
static void *helper_arg;
static df_result semaphore_helper(void *arg) {
  helper_arg = arg;
  return df_wait_on(df_deferred_ref(control));
}

/* results.append: keeps the value's kind, passes None on (append returns
 * None). */
static int results_appended;
static df_kind results_last_kind;
static df_result append_result(df_result r, void *arg) {
  (void)arg;
  results_appended++;
  results_last_kind = r.kind;
  df_result_drop(r);
  return df_none();
}

/* fail/succeed of testSemaphore: success.append(False / True). */
static char success_log[8];
static df_result append_false(df_result r, void *arg) {
  (void)arg;
  strcat(success_log, "F");
  df_result_drop(r);
  return df_none();
}
static df_result append_true(df_result r, void *arg) {
  (void)arg;
  strcat(success_log, "T");
  df_result_drop(r);
  return df_none();
}

/* test_defer.py: OtherPrimitivesTests.testSemaphore */
static void test_semaphore_run_tokens_cancel_and_release(void **state) {
  (void)state;
  enum { N = 13 };
  df_semaphore *sem;
  assert_int_equal(df_semaphore_new(N, &sem), 0);

  control = df_deferred_new();
  results_appended = 0;
  df_deferred *result_deferred =
      df_semaphore_run(sem, semaphore_helper, &unique_object);
  df_deferred_add_callback(result_deferred, append_result, NULL);
  df_deferred_add_callback(result_deferred, incr, NULL);
  assert_int_equal(results_appended, 0);
  assert_ptr_equal(helper_arg, &unique_object);
  df_deferred_callback(control, df_none());
  assert_int_equal(results_appended, 1);
  assert_int_equal(results_last_kind, DF_NONE);
  assert_int_equal(counter, 1);

  counter = 0;
  for (int i = 1; i <= N; i++) {
    df_deferred *d = df_semaphore_acquire(sem);
    df_deferred_add_callback(d, incr, NULL);
    df_deferred_unref(d);
    assert_int_equal(counter, i);
  }

  success_log[0] = '\0';
  df_deferred *d = df_semaphore_acquire(sem);
  df_deferred_add_callbacks(d, append_false, NULL, append_true, NULL);
  df_deferred_cancel(d);
  assert_string_equal(success_log, "T");
  df_deferred_unref(d);

  d = df_semaphore_acquire(sem);
  df_deferred_add_callback(d, incr, NULL);
  df_deferred_unref(d);
  assert_int_equal(counter, N);

  assert_int_equal(df_semaphore_release(sem), 0);
  assert_int_equal(counter, N + 1);

  for (int i = 1; i <= N; i++) {
    assert_int_equal(df_semaphore_release(sem), 0);
    assert_int_equal(counter, N + 1);
  }
  assert_int_equal(df_semaphore_tokens(sem), N);
  assert_int_equal(df_semaphore_limit(sem), N);

  df_deferred_unref(result_deferred);
  df_deferred_unref(control);
  df_semaphore_free(sem);
  assert_int_equal(reports, 0);
}

/* test_defer.py: OtherPrimitivesTests.test_semaphoreInvalidTokens */
static void test_semaphore_refuses_tokens_below_one(void **state) {
  (void)state;
  df_semaphore *sem = (df_semaphore *)&counter; /* overwritten with NULL */
  assert_int_equal(df_semaphore_new(0, &sem), DF_EINVAL);
  assert_null(sem);
  assert_int_equal(df_semaphore_new(-1, &sem), DF_EINVAL);
  assert_null(sem);
  assert_int_equal(df_semaphore_new(1, NULL), DF_EINVAL);
}

/* test_defer.py: OtherPrimitivesTests.test_cancelSemaphoreAfterAcquired */
static void test_cancel_acquired_semaphore_deferred_does_nothing(void **state) {
  (void)state;
  df_semaphore *sem;
  assert_int_equal(df_semaphore_new(1, &sem), 0);
  df_deferred *d = df_semaphore_acquire(sem);
  df_deferred_add_errback(d, fail_on_errback, NULL);
  df_deferred_cancel(d);
  assert_ptr_equal(df_deferred_result(d)->u.p, sem);
  assert_int_equal(df_semaphore_tokens(sem), 0);
  df_deferred_unref(d);
  df_semaphore_free(sem);
}

/* test_defer.py: OtherPrimitivesTests.test_cancelSemaphoreBeforeAcquired */
static void test_cancel_waiting_semaphore_deferred_fails_it_at_once(
    void **state) {
  (void)state;
  df_semaphore *sem;
  assert_int_equal(df_semaphore_new(1, &sem), 0);
  df_deferred *holder = df_semaphore_acquire(sem);
  df_deferred *d = df_semaphore_acquire(sem);
  df_deferred_cancel(d);
  assert_ptr_equal(failure_type_of(d), &df_error_cancelled);
  assert_int_equal(df_semaphore_waiting(sem), 0);
  release_handled(&d, 1);
  df_deferred_unref(holder);
  df_semaphore_free(sem);
  assert_int_equal(reports, 0);
}

/* === errors instead of assertions ========================================= */

/* Releasing an unlocked lock, or a semaphore with all its tokens, is
 * DF_EINVAL and changes nothing (Twisted asserts). */
static void test_release_of_what_is_not_held_is_refused(void **state) {
  (void)state;
  df_lock *lock;
  assert_int_equal(df_lock_new(&lock), 0);
  assert_int_equal(df_lock_release(lock), DF_EINVAL);
  assert_false(df_lock_locked(lock));
  acquire_then(lock, incr, NULL);
  assert_int_equal(df_lock_release(lock), 0);
  assert_int_equal(df_lock_release(lock), DF_EINVAL);
  assert_false(df_lock_locked(lock));
  df_lock_free(lock);

  df_semaphore *sem;
  assert_int_equal(df_semaphore_new(2, &sem), 0);
  assert_int_equal(df_semaphore_release(sem), DF_EINVAL);
  assert_int_equal(df_semaphore_tokens(sem), 2);
  df_deferred *d = df_semaphore_acquire(sem);
  assert_int_equal(df_semaphore_tokens(sem), 1);
  assert_int_equal(df_semaphore_release(sem), 0);
  assert_int_equal(df_semaphore_release(sem), DF_EINVAL);
  assert_int_equal(df_semaphore_tokens(sem), 2);
  df_deferred_unref(d);
  df_semaphore_free(sem);
}

/* NULL everywhere: error codes, ValueError deferreds, zeros. */
static void test_null_arguments_give_errors(void **state) {
  (void)state;
  assert_int_equal(df_lock_new(NULL), DF_EINVAL);
  assert_int_equal(df_lock_release(NULL), DF_EINVAL);
  assert_int_equal(df_semaphore_release(NULL), DF_EINVAL);
  assert_false(df_lock_locked(NULL));
  assert_int_equal(df_lock_waiting(NULL), 0);
  assert_int_equal(df_semaphore_tokens(NULL), 0);
  assert_int_equal(df_semaphore_limit(NULL), 0);
  assert_int_equal(df_semaphore_waiting(NULL), 0);
  df_lock_free(NULL);
  df_semaphore_free(NULL);
  df_deferred *d[4] = {df_lock_acquire(NULL), df_semaphore_acquire(NULL),
                       df_lock_run(NULL, run_helper, NULL),
                       df_semaphore_run(NULL, run_helper, NULL)};
  for (int i = 0; i < 4; i++) {
    assert_ptr_equal(failure_type_of(d[i]), &df_error_invalid_argument);
    release_handled(&d[i], 1);
  }
  assert_int_equal(reports, 0);
}

/* === order ================================================================ */

/* Waiters get the lock first come, first served, each inside the release
 * that hands it over. */
static void test_waiters_are_served_in_order_inside_release(void **state) {
  (void)state;
  df_lock *lock;
  assert_int_equal(df_lock_new(&lock), 0);
  acquire_then(lock, log_label, "holder");
  acquire_then(lock, log_label, "w1");
  acquire_then(lock, log_label, "w2");
  acquire_then(lock, log_label, "w3");
  assert_int_equal(df_lock_waiting(lock), 3);
  assert_string_equal(events, "holder ");
  for (int i = 0; i < 3; i++) {
    ev("release");
    assert_int_equal(df_lock_release(lock), 0);
  }
  assert_string_equal(events, "holder release w1 release w2 release w3 ");
  assert_true(df_lock_locked(lock));
  assert_int_equal(df_lock_release(lock), 0);
  assert_false(df_lock_locked(lock));
  df_lock_free(lock);
}

/* A waiter that releases inside its callback hands the lock on before
 * the release it is in returns, as Twisted's recursion does. */
static void test_release_inside_a_waiter_hands_on_at_once(void **state) {
  (void)state;
  assert_int_equal(df_lock_new(&the_lock), 0);
  acquire_then(the_lock, log_label, "holder");
  acquire_then(the_lock, log_and_release, "w1");
  acquire_then(the_lock, log_label, "w2");
  ev("release");
  assert_int_equal(df_lock_release(the_lock), 0);
  ev("returned");
  assert_string_equal(events, "holder release w1 w2 returned ");
  assert_true(df_lock_locked(the_lock)); /* w2 holds it */
  df_lock_release(the_lock);
  df_lock_free(the_lock);
}

/* A semaphore: every free token is taken at once; the others wait. */
static void test_semaphore_waiters_wait_for_tokens_in_order(void **state) {
  (void)state;
  df_semaphore *sem;
  assert_int_equal(df_semaphore_new(2, &sem), 0);
  const char *names[5] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < 5; i++) {
    df_deferred *d = df_semaphore_acquire(sem);
    df_deferred_add_callback(d, log_label, (void *)names[i]);
    df_deferred_unref(d);
  }
  assert_string_equal(events, "a b ");
  assert_int_equal(df_semaphore_tokens(sem), 0);
  assert_int_equal(df_semaphore_waiting(sem), 3);
  df_semaphore_release(sem);
  df_semaphore_release(sem);
  assert_string_equal(events, "a b c d ");
  df_semaphore_release(sem);
  df_semaphore_release(sem);
  assert_string_equal(events, "a b c d e ");
  assert_int_equal(df_semaphore_tokens(sem), 1);
  df_semaphore_release(sem);
  assert_int_equal(df_semaphore_tokens(sem), 2);
  df_semaphore_free(sem);
}

/* A cancelled waiter is out of the line: the next release skips it, and
 * it is never fired again (no AlreadyCalledError, Twisted's
 * test_cancelQueueAfterGet for the lock). */
static void test_cancelled_waiter_is_skipped_by_later_releases(void **state) {
  (void)state;
  df_lock *lock;
  assert_int_equal(df_lock_new(&lock), 0);
  acquire_then(lock, log_label, "holder");
  df_deferred *w1 = df_lock_acquire(lock);
  df_deferred_add_both(w1, log_result, "w1");
  acquire_then(lock, log_label, "w2");
  df_deferred_cancel(w1);
  assert_int_equal(df_lock_waiting(lock), 1);
  df_lock_release(lock);
  assert_string_equal(events, "holder w1:CancelledError:  w2 ");
  df_deferred_cancel(w1); /* fired: nothing */
  release_handled(&w1, 1);
  df_lock_release(lock);
  assert_false(df_lock_locked(lock));
  df_lock_free(lock);
  assert_int_equal(reports, 0);
}

/* The lock holds its waiters: one whose caller dropped its reference
 * still gets the lock (and its callbacks run) when its turn comes. */
static void test_dropped_waiter_still_gets_the_lock(void **state) {
  (void)state;
  df_lock *lock;
  assert_int_equal(df_lock_new(&lock), 0);
  df_deferred *holder = df_lock_acquire(lock);
  acquire_then(lock, log_label, "dropped");
  df_lock_release(lock);
  assert_string_equal(events, "dropped ");
  assert_true(df_lock_locked(lock));
  df_lock_release(lock);
  df_deferred_unref(holder);
  df_lock_free(lock);
}

/* A waiter fired by its user (a misuse) gets no token: the release skips
 * it and serves the next one. */
static void test_waiter_fired_by_its_user_is_skipped(void **state) {
  (void)state;
  df_lock *lock;
  assert_int_equal(df_lock_new(&lock), 0);
  df_deferred *holder = df_lock_acquire(lock);
  df_deferred *misused = df_lock_acquire(lock);
  acquire_then(lock, log_label, "next");
  df_deferred_callback(misused, df_int(7));
  df_lock_release(lock);
  assert_string_equal(events, "next ");
  assert_int_equal(df_deferred_result(misused)->u.i, 7);
  assert_int_equal(df_lock_waiting(lock), 0);
  df_lock_release(lock);
  assert_false(df_lock_locked(lock));
  df_deferred_unref(misused);
  df_deferred_unref(holder);
  df_lock_free(lock);
}

/* Hand-overs nested far deeper than Twisted's recursion survives (it
 * stops at about 200 with RecursionError, the lock left held): 100,000
 * waiters that each release inside their callback all get the lock, in
 * order, in bounded C stack; the lock ends free. */
static long served, last_served;
static df_result count_and_release(df_result r, void *arg) {
  long me = (long)(intptr_t)arg;
  assert_int_equal(me, last_served + 1);
  last_served = me;
  served++;
  assert_int_equal(df_lock_release(the_lock), 0);
  return r;
}

static void test_deep_hand_overs_run_in_bounded_stack(void **state) {
  (void)state;
  enum { N = 100000 };
  assert_int_equal(df_lock_new(&the_lock), 0);
  df_deferred *holder = df_lock_acquire(the_lock);
  served = 0;
  last_served = -1;
  for (long i = 0; i < N; i++)
    acquire_then(the_lock, count_and_release, (void *)(intptr_t)i);
  assert_int_equal(df_lock_release(the_lock), 0);
  assert_int_equal(served, N);
  assert_false(df_lock_locked(the_lock));
  assert_int_equal(df_lock_waiting(the_lock), 0);
  df_deferred_unref(holder);
  df_lock_free(the_lock);
}

/* A waiter that acquires again inside its callback, while the deep
 * hand-over has a token free for the waiters before it, queues behind
 * them (first come, first served holds beyond the depth too). */
static df_result release_and_reacquire(df_result r, void *arg) {
  long me = (long)(intptr_t)arg;
  served++;
  assert_int_equal(df_lock_release(the_lock), 0);
  if (me == 300) { /* 256 deep: the token is free, 99 wait for it */
    ev("waiting=%zu", df_lock_waiting(the_lock));
    acquire_then(the_lock, log_label, "again");
  }
  if (me == 301) ev("301");
  return r;
}

static void test_acquire_during_deep_hand_over_keeps_its_turn(void **state) {
  (void)state;
  assert_int_equal(df_lock_new(&the_lock), 0);
  df_deferred *holder = df_lock_acquire(the_lock);
  served = 0;
  for (long i = 0; i < 400; i++)
    acquire_then(the_lock, release_and_reacquire, (void *)(intptr_t)i);
  df_lock_release(the_lock);
  assert_int_equal(served, 400);
  assert_string_equal(events, "waiting=99 301 again ");
  assert_true(df_lock_locked(the_lock)); /* "again" holds it */
  df_lock_release(the_lock);
  df_deferred_unref(holder);
  df_lock_free(the_lock);
}

/* === run() releases on every path ========================================= */

static df_result return_value(void *arg) {
  (void)arg;
  ev("fn");
  return df_int(42);
}

static df_result return_failure(void *arg) {
  (void)arg;
  ev("fn");
  return df_raise(&generic_error, "fn failed");
}

static df_result return_control(void *arg) {
  (void)arg;
  ev("fn");
  return df_wait_on(df_deferred_ref(control));
}

/* Logs whether the lock is held when the run's outcome arrives. */
static df_result log_locked_and_result(df_result r, void *arg) {
  ev("locked=%d", df_lock_locked(the_lock));
  return log_result(r, arg);
}

/* fn returns a value, a failure, a deferred that succeeds, one that
 * fails: in every case the lock is released before the run's own
 * callbacks see fn's outcome, unchanged. */
static void test_run_releases_before_the_outcome_on_every_path(void **state) {
  (void)state;
  assert_int_equal(df_lock_new(&the_lock), 0);
  df_deferred *d = df_lock_run(the_lock, return_value, NULL);
  df_deferred_add_callbacks(d, log_locked_and_result, "out",
                            log_locked_and_result, "out");
  assert_string_equal(events, "fn locked=0 out:42 ");
  df_deferred_unref(d);

  events[0] = '\0';
  d = df_lock_run(the_lock, return_failure, NULL);
  df_deferred_add_callbacks(d, log_locked_and_result, "out",
                            log_locked_and_result, "out");
  assert_string_equal(events, "fn locked=0 out:GenericError: fn failed ");
  release_handled(&d, 1);

  for (int fails = 0; fails < 2; fails++) {
    events[0] = '\0';
    control = df_deferred_new();
    d = df_lock_run(the_lock, return_control, NULL);
    df_deferred_add_callbacks(d, log_locked_and_result, "out",
                              log_locked_and_result, "out");
    assert_string_equal(events, "fn ");
    assert_true(df_lock_locked(the_lock));
    if (fails)
      df_deferred_errback(control, df_failure_new(&generic_error, "late"));
    else
      df_deferred_callback(control, df_string("late"));
    assert_string_equal(events, fails ? "fn locked=0 out:GenericError: late "
                                      : "fn locked=0 out:'late' ");
    release_handled(&d, 1);
    df_deferred_unref(control);
  }
  assert_false(df_lock_locked(the_lock));
  df_lock_free(the_lock);
  assert_int_equal(reports, 0);
}

/* The release is on fn's deferred, as Twisted's _releaseAndReturn: when
 * that deferred fires, the next waiter gets the lock even though the
 * run's own deferred is paused; the run's callbacks see the outcome when
 * it is unpaused. (Found by tests/differential_compose, regression
 * run_paused_releases_when_fn_deferred_fires.) */
static void test_run_releases_when_fn_deferred_fires_even_if_paused(
    void **state) {
  (void)state;
  assert_int_equal(df_lock_new(&the_lock), 0);
  control = df_deferred_new();
  df_deferred *d = df_lock_run(the_lock, return_control, NULL);
  df_deferred_add_callback(d, log_result, "out");
  assert_int_equal(df_deferred_pause(d), 0);
  /* fn's deferred carries the release stage, the run deferred waits */
  assert_int_equal(df_deferred_pending_stages(control), 2);
  acquire_then(the_lock, log_label, "next");
  df_deferred_callback(control, df_int(5));
  assert_string_equal(events, "fn next ");
  assert_true(df_lock_locked(the_lock)); /* "next" holds it now */
  assert_int_equal(df_lock_waiting(the_lock), 0);
  df_deferred_unpause(d);
  assert_string_equal(events, "fn next out:5 ");
  assert_int_equal(df_lock_release(the_lock), 0);
  df_deferred_unref(d);
  df_deferred_unref(control);
  df_lock_free(the_lock);
  assert_int_equal(reports, 0);
}

/* Cancelling a run that waits for the lock takes it out of the line: fn
 * is never called, the holder keeps the lock. */
static void test_cancelled_waiting_run_never_calls_fn(void **state) {
  (void)state;
  assert_int_equal(df_lock_new(&the_lock), 0);
  df_deferred *holder = df_lock_acquire(the_lock);
  df_deferred *d = df_lock_run(the_lock, return_value, NULL);
  df_deferred_cancel(d);
  assert_ptr_equal(failure_type_of(d), &df_error_cancelled);
  assert_int_equal(df_lock_waiting(the_lock), 0);
  df_lock_release(the_lock);
  assert_false(df_lock_locked(the_lock));
  assert_string_equal(events, "");
  release_handled(&d, 1);
  df_deferred_unref(holder);
  df_lock_free(the_lock);
  assert_int_equal(reports, 0);
}

/* Cancelling a run whose fn's deferred is pending goes to that deferred
 * (rule C3); its CancelledError comes back, and the lock is released. */
static void test_cancelled_running_run_cancels_fn_deferred_and_releases(
    void **state) {
  (void)state;
  assert_int_equal(df_lock_new(&the_lock), 0);
  control = df_deferred_new();
  df_deferred *d = df_lock_run(the_lock, return_control, NULL);
  df_deferred_add_errback(d, log_locked_and_result, "out");
  df_deferred_cancel(d);
  assert_ptr_equal(failure_type_of(control), NULL); /* its result went on */
  assert_string_equal(events, "fn locked=0 out:CancelledError:  ");
  release_handled(&d, 1);
  df_deferred_unref(control);
  df_lock_free(the_lock);
  assert_int_equal(reports, 0);
}

/* A run that waits hands the lock to fn when its turn comes, inside the
 * release. */
static void test_waiting_run_calls_fn_inside_the_release(void **state) {
  (void)state;
  assert_int_equal(df_lock_new(&the_lock), 0);
  df_deferred *holder = df_lock_acquire(the_lock);
  df_deferred *d = df_lock_run(the_lock, return_value, NULL);
  df_deferred_add_callback(d, log_result, "out");
  assert_string_equal(events, "");
  ev("release");
  df_lock_release(the_lock);
  assert_string_equal(events, "release fn out:42 ");
  assert_false(df_lock_locked(the_lock));
  df_deferred_unref(d);
  df_deferred_unref(holder);
  df_lock_free(the_lock);
}

/* The run's deferred fired by its user while it waits (a misuse): fn is
 * not called and no token is given back that was never taken. */
static void test_run_deferred_fired_by_user_calls_nothing(void **state) {
  (void)state;
  df_semaphore *sem;
  assert_int_equal(df_semaphore_new(1, &sem), 0);
  df_deferred *holder = df_semaphore_acquire(sem);
  df_deferred *d = df_semaphore_run(sem, return_value, NULL);
  df_deferred_callback(d, df_int(1));
  assert_ptr_equal(failure_type_of(d), &df_error_invalid_argument);
  assert_string_equal(events, "");
  assert_int_equal(df_semaphore_tokens(sem), 0);
  df_semaphore_release(sem);
  assert_int_equal(df_semaphore_tokens(sem), 1);
  release_handled(&d, 1);
  df_deferred_unref(holder);
  df_semaphore_free(sem);
  assert_int_equal(reports, 0);
}

/* === lifetimes ============================================================ */

/* Freeing with waiters fails them, oldest first, with CancelledError
 * saying why; a waiting run fails the same way without calling fn;
 * nothing leaks (valgrind). */
static void test_free_fails_waiters_in_order_with_cancelled_error(
    void **state) {
  (void)state;
  df_lock *lock;
  assert_int_equal(df_lock_new(&lock), 0);
  df_deferred *holder = df_lock_acquire(lock);
  df_deferred *w[2] = {df_lock_acquire(lock),
                       df_lock_run(lock, return_value, NULL)};
  df_deferred_add_errback(w[0], log_result, "w0");
  df_deferred_add_errback(w[1], log_result, "w1");
  df_lock_free(lock);
  assert_string_equal(events, "w0:CancelledError: DeferredLock freed while "
                              "this acquire waited w1:CancelledError: "
                              "DeferredLock freed while this acquire waited ");
  release_handled(&w[0], 1);
  release_handled(&w[1], 1);
  df_deferred_unref(holder);
  assert_int_equal(reports, 0);
}

/* A waiter's errback run by the free may acquire (it gets a deferred
 * already failed), release (nothing happens) and free again (nothing). */
static df_result misbehave_during_free(df_result r, void *arg) {
  (void)arg;
  df_deferred *d = df_semaphore_acquire(the_sem);
  ev_result("acquire", *df_deferred_result(d));
  release_handled(&d, 1);
  ev("release=%d", df_semaphore_release(the_sem));
  df_semaphore_free(the_sem);
  return r;
}

static void test_waiter_errback_may_use_the_semaphore_being_freed(
    void **state) {
  (void)state;
  assert_int_equal(df_semaphore_new(1, &the_sem), 0);
  df_deferred *holder = df_semaphore_acquire(the_sem);
  df_deferred *w = df_semaphore_acquire(the_sem);
  df_deferred_add_errback(w, misbehave_during_free, NULL);
  df_semaphore_free(the_sem);
  assert_string_equal(events, "acquire:CancelledError: DeferredSemaphore "
                              "acquired while being freed release=0 ");
  release_handled(&w, 1);
  df_deferred_unref(holder);
  assert_int_equal(reports, 0);
}

/* Freed under a run whose fn's deferred is pending: the run goes on, its
 * release does nothing, and the memory goes with the run (ASan and
 * valgrind check both). */
static void test_free_during_run_keeps_memory_until_the_run_ends(void **state) {
  (void)state;
  df_semaphore *sem;
  assert_int_equal(df_semaphore_new(1, &sem), 0);
  control = df_deferred_new();
  df_deferred *d = df_semaphore_run(sem, return_control, NULL);
  df_deferred_add_callback(d, log_result, "out");
  df_semaphore_free(sem);
  df_deferred_callback(control, df_int(5));
  assert_string_equal(events, "fn out:5 ");
  df_deferred_unref(d);
  df_deferred_unref(control);
}

/* Freed inside the callback of the waiter a release hands the lock to. */
static df_result free_the_lock(df_result r, void *arg) {
  (void)arg;
  ev("free");
  df_lock_free(the_lock);
  return r;
}

static void test_free_inside_the_hand_over_callback(void **state) {
  (void)state;
  assert_int_equal(df_lock_new(&the_lock), 0);
  df_deferred *holder = df_lock_acquire(the_lock);
  acquire_then(the_lock, free_the_lock, NULL);
  df_deferred *never = df_lock_acquire(the_lock); /* failed by the free */
  df_deferred_add_both(never, log_result, "never");
  df_deferred_unref(never);
  assert_int_equal(df_lock_release(the_lock), 0);
  assert_string_equal(events, "free never:CancelledError: DeferredLock freed "
                              "while this acquire waited ");
  df_deferred_unref(holder);
  assert_int_equal(reports, 1); /* "never"'s failure: nobody handled it */
}

/* === out of memory ======================================================== */

/* A lock and a semaphore with waiters past the first ring, runs, a
 * cancel and a free; returns how many runs called fn (-1: could not
 * start). */
static int64_t oom_scenario(void) {
  df_lock *lock = NULL;
  df_semaphore *sem = NULL;
  int64_t ran = -1;
  counter = 0;
  if (df_lock_new(&lock) == 0 && df_semaphore_new(2, &sem) == 0) {
    ran = 0;
    df_deferred *ds[24] = {0};
    control = df_deferred_new();
    for (int i = 0; i < 12; i++) {
      /* every third run waits on a deferred: the release goes on it */
      ds[i] = df_lock_run(lock, i % 3 || !control ? return_value : return_control,
                          NULL);
      ds[12 + i] = df_semaphore_acquire(sem);
    }
    if (ds[5]) df_deferred_cancel(ds[5]);
    for (int i = 0; i < 24; i++)
      if (ds[i]) df_deferred_add_both(ds[i], incr, NULL);
    for (int i = 0; i < 12; i++) df_semaphore_release(sem);
    /* the first run waits on control, the rest wait for the lock */
    if (control) df_deferred_callback(control, df_int(1));
    ran = counter;
    for (int i = 0; i < 24; i++) df_deferred_unref(ds[i]);
    df_deferred_unref(control);
  }
  df_lock_free(lock);
  df_semaphore_free(sem);
  return ran;
}

static void check_oom_outcome(int64_t outcome, bool failed) {
  if (!failed) assert_int_equal(outcome, 12 + 12);
  assert_true(outcome <= 24);
}

static void test_every_allocation_failure_is_handled(void **state) {
  (void)state;
  events[0] = '\0';
  assert_int_equal(oom_scenario(), 24);
  support_check_each_allocation_failure(oom_scenario, check_oom_outcome, 1000);
  assert_int_equal(reports, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, support_teardown)
      /* OtherPrimitivesTests */
      T(test_lock_acquire_release_run_and_cancel),
      T(test_cancel_acquired_lock_deferred_does_nothing),
      T(test_cancel_waiting_lock_deferred_fails_it_at_once),
      T(test_semaphore_run_tokens_cancel_and_release),
      T(test_semaphore_refuses_tokens_below_one),
      T(test_cancel_acquired_semaphore_deferred_does_nothing),
      T(test_cancel_waiting_semaphore_deferred_fails_it_at_once),
      /* errors */
      T(test_release_of_what_is_not_held_is_refused),
      T(test_null_arguments_give_errors),
      /* order */
      T(test_waiters_are_served_in_order_inside_release),
      T(test_release_inside_a_waiter_hands_on_at_once),
      T(test_semaphore_waiters_wait_for_tokens_in_order),
      T(test_cancelled_waiter_is_skipped_by_later_releases),
      T(test_dropped_waiter_still_gets_the_lock),
      T(test_waiter_fired_by_its_user_is_skipped),
      T(test_deep_hand_overs_run_in_bounded_stack),
      T(test_acquire_during_deep_hand_over_keeps_its_turn),
      /* run */
      T(test_run_releases_before_the_outcome_on_every_path),
      T(test_run_releases_when_fn_deferred_fires_even_if_paused),
      T(test_cancelled_waiting_run_never_calls_fn),
      T(test_cancelled_running_run_cancels_fn_deferred_and_releases),
      T(test_waiting_run_calls_fn_inside_the_release),
      T(test_run_deferred_fired_by_user_calls_nothing),
      /* lifetimes */
      T(test_free_fails_waiters_in_order_with_cancelled_error),
      T(test_waiter_errback_may_use_the_semaphore_being_freed),
      T(test_free_during_run_keeps_memory_until_the_run_ends),
      T(test_free_inside_the_hand_over_callback),
      /* out of memory */
      T(test_every_allocation_failure_is_handled),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
