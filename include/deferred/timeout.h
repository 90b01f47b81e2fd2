/* libdeferred: deferreds and time, on any clock (deferred/clock.h).
 *
 *   df_deferred_add_timeout   Twisted's Deferred.addTimeout: cancel a
 *                             deferred that has not fired by a deadline,
 *                             and make its CancelledError a TimeoutError
 *   df_defer_later            Twisted's task.deferLater: a deferred that
 *                             fires with a function's result after a delay
 *
 *     df_deferred *d = fetch_poem(host);
 *     df_deferred_add_timeout(d, clock, 10.0, NULL, NULL);
 *     df_deferred_add_errback(d, give_up, NULL);    // sees the TimeoutError
 *
 * Both work on any clock, the test clock (deferred/test_clock.h) as much
 * as a reactor's. Threads: the deferred and its clock are used from one
 * thread. */
#ifndef DEFERRED_TIMEOUT_H
#define DEFERRED_TIMEOUT_H

#include "clock.h"
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a timed-out deferred's result becomes (Twisted's onTimeoutCancel):
 * called with the result the deferred has at the point add_timeout was
 * called (ownership included: usually a CancelledError failure, or what
 * a canceller fired it with) and the timeout in seconds; returns the
 * result the chain goes on with, as a callback does (a value, a failure,
 * or df_wait_on(another)). */
typedef df_result (*df_timeout_fn)(df_result result, double timeout,
                                   void *arg);

/* The default df_timeout_fn (Twisted's _cancelledToTimedOutError): a
 * CancelledError (or a failure of a type derived from it) becomes a new
 * TimeoutError failure (df_error_timeout) whose message is the text of
 * Twisted's str(TimeoutError(timeout, "Deferred")), e.g. "(10.0,
 * 'Deferred')", with the timeout written as Python writes a float; any
 * other failure and any value is returned unchanged. `arg` is ignored.
 * Public so that a custom function can fall back on it. */
df_result df_cancelled_to_timeout(df_result result, double timeout, void *arg);

/* Time out `d` (Twisted's addTimeout): schedule, on `clock`, a call that
 * cancels `d` `timeout` seconds from now, and add to `d` one stage that
 * turns the outcome of that cancel into the timeout's result and stops
 * the call if `d` gets a result first.
 *
 * The rules are Twisted's:
 *   - the timeout covers the stages added to `d` before this call, none
 *     added after: those before see the cancel as usual (a CancelledError,
 *     or what d's canceller fired it with, or the cancel forwarded to a
 *     deferred they returned, rule C3), those after see the timeout's
 *     result;
 *   - if the timer fires, `on_timeout(result, timeout, arg)` decides what
 *     the stages after see, whatever the result (NULL `on_timeout` means
 *     df_cancelled_to_timeout: a CancelledError becomes a TimeoutError,
 *     anything else, e.g. a value a canceller fired `d` with, goes on);
 *   - if `d` reaches the stage before the timer fires (it succeeded,
 *     failed, or was cancelled by someone else), the result passes
 *     through unchanged, `on_timeout` is not called and the timer is
 *     cancelled (so nothing cancels `d`, or what it waits on, later).
 * If `d` has fired and is not paused or waiting, the stage runs now and
 * the timer is cancelled before this returns.
 *
 * Lifetime: until the timer fires or is cancelled, the clock's call holds
 * a reference to `d` (Twisted's reactor holds the deferred the same way),
 * so `d` may be released at once: it is timed out, and its failure
 * reported as unhandled if nothing handles it, when the deadline comes.
 * Freeing the clock first discards the call and drops that reference (`d`
 * then never times out). `arg` is borrowed until the stage has run or `d`
 * is freed. `d` and `clock` are borrowed.
 *
 * Returns 0; DF_EINVAL if `d` or `clock` is NULL, `timeout` is NaN, or
 * the clock refuses the call; DF_ENOMEM. On an error nothing is changed:
 * no call is scheduled and no stage added. The macro records the caller's
 * site, which the cancel and the TimeoutError carry. */
#define df_deferred_add_timeout(d, clock, timeout, on_timeout, arg) \
  df_deferred_add_timeout_at((d), (clock), (timeout), (on_timeout), (arg), \
                             DF_HERE)
int df_deferred_add_timeout_at(df_deferred *d, df_clock *clock, double timeout,
                               df_timeout_fn on_timeout, void *arg,
                               const char *file, int line, const char *func);

/* A deferred that fires `delay` seconds from now on `clock` with the
 * outcome of `fn(arg)` (Twisted's task.deferLater).
 *
 * When the delay is over, `fn(arg)` runs as the deferred's first
 * callback: its value, its failure, or the result of the deferred it
 * returns with df_wait_on, is what the callbacks added to the deferred
 * get. A NULL `fn` fires the deferred with None. Cancelling the deferred
 * before then cancels the call (`fn` never runs) and fails it with
 * CancelledError; once `fn` has returned a deferred, cancelling is
 * forwarded to that one (rule C3).
 *
 * Returns a new reference to the deferred, or NULL if memory runs out
 * (nothing scheduled). A NULL `clock` or a NaN `delay` gives a deferred
 * already failed with ValueError, as does a clock that refuses the call
 * (a test clock being freed). Until the call runs or is cancelled, the
 * clock holds a reference to the deferred, so it may be released at once
 * (as in Twisted, where the reactor holds it); freeing the clock first
 * discards the call, and the deferred, if released, goes with it unfired.
 * `arg` is borrowed until `fn` has run or the deferred is freed. The
 * macro records the caller's site as the deferred's creation site. */
#define df_defer_later(clock, delay, fn, arg) \
  df_defer_later_at((clock), (delay), (fn), (arg), DF_HERE)
df_deferred *df_defer_later_at(df_clock *clock, double delay, df_function fn,
                               void *arg, const char *file, int line,
                               const char *func);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_TIMEOUT_H */
