/* libdeferred: the deterministic test clock (Twisted's task.Clock).
 *
 * A df_clock whose time moves only when the program says so: it starts at
 * 0.0 and df_test_clock_advance() moves it forward, running every call that
 * has become due. Tests of anything written against deferred/clock.h
 * (timeouts, defer_later, LoopingCall, a protocol's own timers) use it to
 * run in no time and always the same way:
 *
 *     df_clock *clock = df_test_clock_new();
 *     df_deferred *d = df_defer_later(clock, 3.0, NULL, NULL);
 *     df_test_clock_advance(clock, 2.0);     // nothing yet
 *     df_test_clock_advance(clock, 1.0);     // d fires, with None
 *     df_deferred_unref(d);
 *     df_clock_free(clock);
 *
 * It reproduces task.Clock exactly, including what is observable of its
 * list of calls (Twisted's Clock.calls), which Twisted keeps stably sorted
 * by getTime() at three moments only: when a call is scheduled, when
 * advance() starts, and after each call advance() runs. Cancelling removes
 * a call without sorting; reset and delay change a call's time without
 * sorting. So:
 *
 *   - calls due at the same time run in the order they were scheduled;
 *   - a call whose time reset() or delay() changed keeps its place in
 *     df_test_clock_get_delayed_calls() until the next sort, which places
 *     it among calls due at its new time by its place before the sort:
 *     a call moved later goes before the calls already due at its new
 *     time, one moved earlier after them;
 *   - inside a call that advance() runs, df_clock_seconds() reads the
 *     advanced time, and a call scheduled there that is already due (a
 *     delay of 0 or less) runs in the same advance, in time order with
 *     the calls still due;
 *   - advance(0) runs the calls due now.
 *
 * It does so in O(log n) per call scheduled, cancelled or run (a heap
 * ordered by the time at the last sort and a sequence number that stands
 * for the place in Twisted's list), and O(m log n) for a sort after m
 * calls were reset or delayed, where Twisted sorts its whole list each
 * time. Like its heap, which keeps the room it once needed, the clock
 * keeps the memory of the calls it ran that nobody else held, for its next
 * calls: at most as many as it once had pending, until it is freed.
 *
 * Functions taking a `df_clock *` here return DF_EINVAL for a clock that
 * is not a test clock. Threads: one thread at a time, as every clock. */
#ifndef DEFERRED_TEST_CLOCK_H
#define DEFERRED_TEST_CLOCK_H

#include "clock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new test clock at time 0.0, with no calls. Returns the clock (free it
 * with df_clock_free), or NULL if memory runs out.
 *
 * df_clock_free on a test clock discards its pending calls as clock.h
 * says. It may be called from inside one of the clock's own calls: the
 * call then finishes, no further call runs, and the clock is freed when
 * the outermost df_test_clock_advance() returns (until then scheduling on
 * it fails with DF_EINVAL). */
df_clock *df_test_clock_new(void);

/* Is `clock` a test clock? False for NULL. */
bool df_test_clock_is(const df_clock *clock);

/* Move the clock `amount` seconds forward and run every call that is due
 * (Twisted's advance): the time becomes seconds() + amount, then, as long
 * as the first call of the sorted list is due (its time <= the clock's
 * time), that call is removed and run, and the list sorted again.
 *
 * A negative amount moves time back (Twisted allows it). Calls may
 * advance the clock again (a nested advance runs what becomes due then,
 * and the outer one carries on from the new time). A call that schedules
 * itself again with no delay on every run keeps advance() running for
 * ever, as in Twisted. Returns 0, or DF_EINVAL (nothing changed) if
 * `clock` is not a test clock, `amount` is NaN or the time would become
 * NaN (infinities of opposite signs). */
int df_test_clock_advance(df_clock *clock, double amount);

/* Advance by each of `amounts[0..n-1]` in turn (Twisted's pump). Returns
 * 0, or DF_EINVAL, nothing changed, for a clock that is not a test clock,
 * `amounts` NULL with n > 0, or amounts whose sum from now would be NaN
 * at some step (a NaN amount, infinities of opposite signs). Should a
 * call move the clock so that a later step would give NaN after all, pump
 * stops before that step and returns DF_EINVAL. A clock freed by one of
 * its calls stops the pump, and is freed when it returns. */
int df_test_clock_pump(df_clock *clock, const double *amounts, size_t n);

/* The pending calls, in the order of Twisted's Clock.calls (what its
 * getDelayedCalls() returns): sorted by time, ties in the order explained
 * at the top of this file, except that calls reset or delayed since the
 * last sort are still where they were.
 *
 * Writes the first min(count, size) calls to `calls` and returns the
 * count (pass size 0, `calls` NULL, for the count alone). The pointers are
 * borrowed: each stays valid while the call is pending, or longer with a
 * df_delayed_call_ref. Returns 0 for a clock that is not a test clock.
 * O(n log n) the first time after the list changed, O(n) after. */
size_t df_test_clock_get_delayed_calls(df_clock *clock,
                                       df_delayed_call **calls, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_TEST_CLOCK_H */
