/* libdeferred: time, without a reactor.
 *
 * A df_clock is anything that can tell the time and run a function later:
 * Twisted's IReactorTime. The composition layer (timeouts, defer_later,
 * LoopingCall) is written against this interface only, so it works on any
 * event loop that implements it: the libuv reactor of libdeferred-uv, the
 * deterministic test clock (deferred/test_clock.h), or a GLib or epoll
 * loop of the application's own.
 *
 * Using a clock:
 *
 *     df_delayed_call *call;
 *     df_clock_call_later(clock, 2.5, say_hello, arg, &call);
 *     ...
 *     if (df_delayed_call_active(call)) df_delayed_call_cancel(call);
 *     df_delayed_call_unref(call);
 *
 * Time is a double, in seconds, as in Twisted, so that interval
 * arithmetic rounds the same way. A delayed call is Twisted's DelayedCall:
 * it runs once, at df_delayed_call_time(), unless it is cancelled first;
 * reset() and delay() move it, with Twisted's rules (a call moved later
 * keeps its time and gains a "delayed time"; one moved earlier is
 * rescheduled at once).
 *
 * Ownership: a delayed call is reference counted. The clock holds one
 * reference while the call is pending; the `out` argument of
 * df_clock_call_later, when not NULL, receives a second one, which the
 * caller releases with df_delayed_call_unref (pass NULL for `out` when the
 * handle is not wanted). The function's argument is borrowed, unless the
 * call is made with df_clock_call_later_owned, which calls `release(arg)`
 * exactly once: after the function returns, when the call is cancelled, or
 * when the clock is freed with the call still pending.
 *
 * Threads: a clock, and its delayed calls, are used from one thread.
 *
 * Implementing a clock (for event-loop authors): embed a `df_clock` as the
 * first member of your loop's struct, set its `type` to a df_clock_type of
 * yours, and implement the functions below. The library keeps each call's
 * state (pending, called, cancelled, its time) and the rules of
 * cancel/reset/delay; the loop only keeps the pending calls in order of
 * df_delayed_call_time() and, when one is due, removes it from its
 * schedule and calls df_delayed_call_run(). What the loop must allow:
 *
 *   - a call's function may use the loop again: schedule new calls
 *     (schedule is then called from inside df_delayed_call_run), cancel,
 *     reset or delay others (unschedule, reschedule), cancel itself (an
 *     error, DF_EALREADY_CALLED, that reaches no loop function), read
 *     seconds(), and drop its own handle;
 *   - df_delayed_call_run drops the loop's reference, so the call may be
 *     freed when it returns: forget it first;
 *   - calls due at the same time run in the order they were scheduled
 *     (Twisted's reactor and task.Clock both do), and a call scheduled
 *     while due calls run, itself due, may run in the same pass or the
 *     next (task.Clock runs it in the same advance);
 *   - time is a double: compare df_delayed_call_time() with seconds() as
 *     doubles (due when time <= seconds()), never rounded to a tick, or
 *     interval arithmetic (LoopingCall) drifts from Twisted's. A call's
 *     time is never NaN (the library refuses those), but may be in the
 *     past (due at once) or +infinity (never due): convert with care to
 *     a loop's own units (a uint64_t of milliseconds cannot hold it);
 *   - when destroy discards calls, their owned arguments' release
 *     functions may cancel other calls of the same loop (unschedule of a
 *     call not yet discarded) or try to schedule new ones (refuse them
 *     with DF_EINVAL): take each call out of the schedule before
 *     discarding it. */
#ifndef DEFERRED_CLOCK_H
#define DEFERRED_CLOCK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_clock df_clock;
typedef struct df_delayed_call df_delayed_call;

/* The function a delayed call runs. */
typedef void (*df_call_fn)(void *arg);

/* What an event loop implements to be a clock. Every function gets the
 * clock it belongs to. */
typedef struct df_clock_type {
  /* The loop's name, for messages ("test clock", "libuv reactor"). */
  const char *name;
  /* The current time in seconds (Twisted's seconds()). */
  double (*seconds)(df_clock *clock);
  /* Start keeping `call` (pending, due at df_delayed_call_time(call)).
   * Returns 0, or a negative DF_E* code (DF_ENOMEM; DF_EINVAL for a loop
   * that is shutting down), then the loop keeps nothing and the call
   * fails as a whole with that code. Must not run calls, even due ones:
   * they run the next time the loop runs its due calls. */
  int (*schedule)(df_clock *clock, df_delayed_call *call);
  /* The time of a pending call changed (reset or delay): move it. Called
   * after every successful reset or delay, earlier or later, with
   * df_delayed_call_time() already giving the new time. (Twisted calls
   * its resetter only for moves earlier and lets its reactor find the
   * later ones when they reach the head of its queue; a loop may do the
   * same, see df_delayed_call_activate_delay, or move the call at once.)
   * Must not run calls. */
  void (*reschedule)(df_clock *clock, df_delayed_call *call);
  /* Forget a pending call: it is being cancelled. Must not run calls. */
  void (*unschedule)(df_clock *clock, df_delayed_call *call);
  /* Free the clock (df_clock_free). Before freeing, the loop calls
   * df_delayed_call_discard() on every call it still keeps. May be NULL
   * for a clock whose owner frees it by other means; that owner still
   * calls df_clock_free(clock) before the clock goes (with a NULL destroy
   * it only tells the library's objects that outlive their calls on the
   * clock, such as a LoopingCall waiting on its function's deferred, that
   * the clock is gone), and discards the calls it keeps. */
  void (*destroy)(df_clock *clock);
} df_clock_type;

/* The part of a loop that makes it a clock; see "Implementing a clock". */
struct df_clock {
  const df_clock_type *type;
};

/* --- using a clock ---------------------------------------------------------- */

/* The current time of `clock`, in seconds. */
double df_clock_seconds(df_clock *clock);

/* Run `fn(arg)` once, `delay` seconds from now (Twisted's callLater).
 *
 * A delay of 0 or less makes the call due at once: it runs the next time
 * the loop runs its due calls (never inside this function). An infinite
 * delay is allowed (the call never runs unless reset). If `out` is not
 * NULL it receives a new reference to the delayed call (release it with
 * df_delayed_call_unref). `arg` is borrowed. Returns 0; DF_EINVAL if
 * `clock` or `fn` is NULL, `delay` is NaN, or the time it gives is NaN
 * (an infinite delay of the opposite sign to an infinite now), or the
 * loop refuses (a test clock being freed); DF_ENOMEM. On an error nothing
 * is scheduled and `*out` is set to NULL. */
int df_clock_call_later(df_clock *clock, double delay, df_call_fn fn,
                        void *arg, df_delayed_call **out);

/* Like df_clock_call_later, but the call owns `arg`: `release(arg)` (if
 * not NULL) runs exactly once, after `fn` returns, when the call is
 * cancelled, or when the clock is freed first; and also before this
 * returns an error. `release` must not use the delayed call. */
int df_clock_call_later_owned(df_clock *clock, double delay, df_call_fn fn,
                              void *arg, void (*release)(void *),
                              df_delayed_call **out);

/* Free a clock through its type's destroy function. Pending calls never
 * run: each is discarded (owned arguments released; handles still held
 * report it as cancelled, and cancel/reset/delay on them return
 * DF_EALREADY_CANCELLED without touching the freed clock). LoopingCalls
 * on the clock learn that it is gone (deferred/looping.h). NULL is
 * ignored. Must not be called from inside one of the clock's own calls,
 * unless the clock's documentation allows it (the test clock does), nor
 * twice. Thread-safe with respect to other clocks. */
void df_clock_free(df_clock *clock);

/* --- delayed calls ------------------------------------------------------------ */

/* Cancel a pending call: it will not run (Twisted's cancel). Returns 0;
 * DF_EALREADY_CALLED if it has run or is running; DF_EALREADY_CANCELLED
 * if it was cancelled before; DF_EINVAL for NULL. */
int df_delayed_call_cancel(df_delayed_call *call);

/* Reschedule a pending call to `seconds_from_now` from the clock's current
 * time (Twisted's reset). As in Twisted, a call moved earlier gets that
 * time and no delayed time; one moved later keeps its time and its
 * delayed time becomes the difference. Same errors as
 * df_delayed_call_cancel, and DF_EINVAL (nothing changed) for a NaN
 * argument or a new time that would be NaN (infinities of opposite signs:
 * Twisted accepts those and then sorts by NaN). Callable from inside any
 * call's function, including to move another call of the same clock. */
int df_delayed_call_reset(df_delayed_call *call, double seconds_from_now);

/* Move a pending call `seconds_later` later, or earlier if negative
 * (Twisted's delay): the delayed time grows by `seconds_later`; if it
 * becomes negative it is folded into the time (activate_delay). Same
 * errors as df_delayed_call_reset. */
int df_delayed_call_delay(df_delayed_call *call, double seconds_later);

/* Is the call still pending, neither run nor cancelled (Twisted's
 * active())? A call is no longer active from the moment its function
 * starts. False for NULL. */
bool df_delayed_call_active(const df_delayed_call *call);
/* Has it run (or started running)? Was it cancelled (or discarded with
 * its clock)? */
bool df_delayed_call_called(const df_delayed_call *call);
bool df_delayed_call_cancelled(const df_delayed_call *call);

/* When the call runs, in the clock's seconds (Twisted's getTime(): its
 * time plus its delayed time). NaN for NULL. */
double df_delayed_call_time(const df_delayed_call *call);

/* The clock a call belongs to (borrowed). NULL for NULL. */
df_clock *df_delayed_call_clock(const df_delayed_call *call);

/* Reference counting; ref returns `call`, unref of NULL is ignored. */
df_delayed_call *df_delayed_call_ref(df_delayed_call *call);
void df_delayed_call_unref(df_delayed_call *call);

/* --- for clock implementations ------------------------------------------------ */

/* Run a due call that the loop has just removed from its schedule: marks
 * it called, calls its function, releases an owned argument, and drops
 * the reference the clock held (so `call` may be freed on return). A call
 * that is not pending (cancelled meanwhile) is only released. */
void df_delayed_call_run(df_delayed_call *call);

/* A pending call the loop drops without running it (the loop is being
 * freed): marks it cancelled, releases an owned argument, and drops the
 * clock's reference. */
void df_delayed_call_discard(df_delayed_call *call);

/* Twisted's activate_delay(): fold a call's delayed time into its time.
 * Twisted's reactor does this when a delayed call reaches the head of its
 * queue; the test clock never needs to. */
void df_delayed_call_activate_delay(df_delayed_call *call);

/* One pointer of the loop's own per call (a timer handle, a heap index
 * ...), NULL until set. */
void df_delayed_call_set_loop_data(df_delayed_call *call, void *data);
void *df_delayed_call_loop_data(const df_delayed_call *call);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_CLOCK_H */
