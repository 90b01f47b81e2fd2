/* libdeferred: calling a function every interval (Twisted's
 * task.LoopingCall), on any clock (deferred/clock.h).
 *
 *     df_looping_call *lc;
 *     df_looping_call_new(clock, send_heartbeat, conn, NULL, &lc);
 *     df_deferred *done;
 *     df_looping_call_start(lc, 5.0, true, &done);  // now, then every 5 s
 *     ...
 *     df_looping_call_stop(lc);                     // `done` fires with lc
 *
 * The rules are Twisted's:
 *
 *   - runs are due at start_time + k * interval. After each run the next
 *     is scheduled for the next of those times that is still in the
 *     future, so intervals missed (a slow function, a late clock) are
 *     skipped, not made up; a loop made with df_looping_call_with_count
 *     gets, at each run, how many intervals have passed since its last
 *     run (1 normally, more after skips; a run that would get 0 is
 *     skipped);
 *   - the function's result decides what happens next: a value (dropped)
 *     schedules the next run; a failure stops the loop and fails the
 *     deferred start() returned with it; a deferred (df_wait_on) delays
 *     the next run until it fires, and its failure, if it fails, stops the
 *     loop the same way;
 *   - interval 0 runs the function again as soon as the clock runs its
 *     due calls (a test clock's advance(0) runs it until it stops), and a
 *     counting loop then always gets 1;
 *   - stop() ends the loop: the deferred start() returned fires with the
 *     loop, at once, or, if the function is running or its deferred is
 *     pending, when that is over (with the failure, if it fails).
 *
 * Ownership and lifetime: a loop is reference counted; the constructors
 * return one reference, which the caller releases with
 * df_looping_call_unref. While the loop runs, the clock's pending call, or
 * the deferred its function returned, holds a reference too, so a started
 * loop runs on when its owner lets it go, as in Twisted (stop it first if
 * that is not wanted; freeing the clock also lets it go). The function's
 * argument is borrowed, or owned with a `release` function, called once
 * when the loop is freed.
 *
 * Freeing the clock ends the loops on it, in any state: a run scheduled
 * is discarded, and a loop waiting on its function's deferred schedules
 * nothing when that fires. Their start deferreds fire only if
 * df_looping_call_stop is called; df_looping_call_start and _reset then
 * return DF_EINVAL, and df_looping_call_clock returns NULL.
 *
 * Threads: a loop and its clock are used from one thread. */
#ifndef DEFERRED_LOOPING_H
#define DEFERRED_LOOPING_H

#include "clock.h"
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_looping_call df_looping_call;

/* The function of a counting loop: `count` is the number of intervals
 * that have passed since its last run (Twisted's withCount). Returns as a
 * df_function does: a value, a failure, or df_wait_on(d). */
typedef df_result (*df_count_function)(int64_t count, void *arg);

/* A new loop calling `fn(arg)` on `clock` (Twisted's LoopingCall(f)); not
 * started. `release`, if not NULL, makes the loop own `arg`:
 * `release(arg)` is called once, when the loop is freed, or before this
 * returns an error. On success `*out` is a new reference. Returns 0;
 * DF_EINVAL if `clock`, `fn` or `out` is NULL; DF_ENOMEM. On an error
 * `*out` (if `out` is not NULL) is set to NULL. */
int df_looping_call_new(df_clock *clock, df_function fn, void *arg,
                        void (*release)(void *), df_looping_call **out);

/* Like df_looping_call_new, but `fn(count, arg)` is told how many
 * intervals have passed since its last run (Twisted's
 * LoopingCall.withCount). Before the first run "its last run" is the
 * start time, or one interval before it for a start with `now` (so the
 * first count is 1); in a loop of interval 0 the count is always 1. A
 * run whose count would be 0 or less does not call `fn` (it is
 * scheduled again as usual). */
int df_looping_call_with_count(df_clock *clock, df_count_function fn,
                               void *arg, void (*release)(void *),
                               df_looping_call **out);

/* Reference counting; ref returns `lc`, unref of NULL is ignored.
 * Freeing a loop that has not stopped (its clock was freed, or its
 * function returned a deferred that was freed unfired) drops its start
 * deferred unfired. */
df_looping_call *df_looping_call_ref(df_looping_call *lc);
void df_looping_call_unref(df_looping_call *lc);

/* Start calling the function every `interval` seconds (Twisted's start):
 * now, before this returns, if `now`, else first after one interval.
 *
 * If `out` is not NULL it receives a new reference to the loop's
 * deferred, which fires with the loop (df_looping_call_of reads it back)
 * when the loop is stopped, or fails with the failure that stopped it. A
 * failure nobody handles is reported when the deferred is released, so
 * pass `out` unless the function cannot fail. With `now` that may all
 * have happened when this returns. A loop may be started again once it
 * has stopped. Returns 0; DF_EINVAL if `lc` is NULL, the loop is running
 * (Twisted asserts), `interval` is negative or NaN (Twisted's
 * ValueError), or the loop's clock has been freed; DF_ENOMEM. On an error nothing changed and `*out` is NULL.
 * The macro records the caller's site as the deferred's creation site. */
#define df_looping_call_start(lc, interval, now, out) \
  df_looping_call_start_at((lc), (interval), (now), (out), DF_HERE)
int df_looping_call_start_at(df_looping_call *lc, double interval, bool now,
                             df_deferred **out, const char *file, int line,
                             const char *func);

/* Stop the loop (Twisted's stop): no further run is scheduled. If a run
 * was scheduled it is cancelled and the start deferred fires with the
 * loop before this returns; if the function is running (stop called from
 * inside it) or its deferred is pending, the start deferred fires when
 * that is over. Returns 0, or DF_EINVAL if `lc` is NULL or not running
 * (Twisted asserts). */
int df_looping_call_stop(df_looping_call *lc);

/* Skip the next run and start counting intervals from now (Twisted's
 * reset): the next run comes one interval from now. Does nothing while
 * the function is running or its deferred is pending. A counting loop
 * still counts from its last run, as Twisted's does, so the first count
 * after a reset may differ from 1 (a run whose count would be 0 or less
 * is skipped, as always). Returns 0; DF_EINVAL if `lc` is NULL, not
 * running (Twisted asserts), or its clock has been freed; DF_ENOMEM
 * (nothing changed). */
int df_looping_call_reset(df_looping_call *lc);

/* Is the loop running: started, and neither stopped nor failed since
 * (Twisted's running)? It is false by the time the start deferred fires.
 * False for NULL. */
bool df_looping_call_running(const df_looping_call *lc);

/* The interval (Twisted's interval): NaN before the first start, and
 * for NULL. */
double df_looping_call_interval(const df_looping_call *lc);

/* Change the interval of a loop, started or not (Twisted lets a program
 * assign `interval`): it counts from the next scheduling on, and in the
 * count of a counting loop. A run already scheduled keeps its time.
 * Returns 0, or DF_EINVAL (nothing changed) for NULL, a negative or a
 * NaN interval. */
int df_looping_call_set_interval(df_looping_call *lc, double interval);

/* When the loop was started, or last reset, in the clock's seconds
 * (Twisted's starttime); NaN before the first start, and for NULL. */
double df_looping_call_start_time(const df_looping_call *lc);

/* The run scheduled next (Twisted's `call`), borrowed: NULL when none is
 * (not running, or the function is running or its deferred pending). */
df_delayed_call *df_looping_call_next_call(const df_looping_call *lc);

/* The clock the loop runs on (borrowed); NULL for NULL, and once the
 * clock has been freed. */
df_clock *df_looping_call_clock(const df_looping_call *lc);

/* The loop inside `r` if `r` is what a start deferred fired with (a
 * DF_POINTER holding a reference to the loop, released with the result),
 * else NULL. Borrowed from `r`. */
df_looping_call *df_looping_call_of(df_result r);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_LOOPING_H */
