/* libdeferred-uv: the reactor (Twisted's IReactorCore and IReactorTime).
 *
 * A df_reactor is the event loop a program's deferreds are fired from:
 * it runs until stopped, tells the time and runs delayed calls (it is a
 * df_clock, so add_timeout, defer_later and LoopingCall work on it), makes
 * TCP connections and listens (tcp.h, endpoint.h), runs blocking work on
 * threads (thread.h), and stops cleanly on SIGINT and SIGTERM.
 *
 * df_reactor is an interface with two implementations:
 *   - the libuv reactor, df_uv_reactor_new() (its own uv_loop_t) or
 *     df_uv_reactor_new_on_loop() (a loop the application already runs,
 *     so an existing libuv program adopts deferreds one piece at a time);
 *   - the fake reactor of fake_reactor.h, on a test clock, which records
 *     listen and connect calls and connects protocols to memory
 *     transports, for unit tests without sockets or sleeping.
 * Code written against the functions of this header, tcp.h, endpoint.h
 * and thread.h runs unchanged on either.
 *
 * Lifecycle (Twisted's reactor.run / stop / callWhenRunning and system
 * event triggers):
 *
 *   new ──> run ──(stop, SIGINT, SIGTERM)──> shutdown ──> run returns ──> free
 *
 *   "startup":  after-phase triggers and call_when_running functions run
 *               once the loop is running.
 *   "shutdown": before-phase triggers run first, and the reactor waits for
 *               every deferred they return; then the during phase (and the
 *               reactor's own: every listening port stops, every
 *               connection and connection attempt ends with a
 *               ConnectionLost); then the after phase; then run returns.
 *               In debug mode (df_set_debugging), the deferreds still
 *               waiting are listed on stderr at that point.
 * A reactor runs once (Twisted's ReactorNotRestartable).
 *
 * Time: df_reactor_seconds() is Twisted's seconds(): seconds since the
 * Unix epoch, as time.time(), but advancing with the monotonic clock from
 * the moment the reactor was made, so that it never jumps when the system
 * clock is set (it can drift from the wall clock by what is set while the
 * reactor lives). It is read afresh on each call (nanosecond resolution),
 * not cached per loop iteration. A delayed call runs when the loop finds
 * it due: never early (inside it, seconds() >= its time), late by the
 * loop's latency plus at most the 1 ms resolution of libuv's timers.
 * Calls due at the same time run in the order they were scheduled; a call
 * scheduled (or moved) while due calls are running runs at the earliest
 * in the next loop iteration, as in Twisted's runUntilCurrent.
 *
 * Threads: one reactor per thread. A reactor and everything it owns
 * (ports, connections, delayed calls, deferreds it fires) are used only
 * from the thread that runs it, except df_reactor_call_from_thread, which
 * any thread may call. Several reactors, each run by its own thread, work
 * independently in one process (a SIGINT or SIGTERM stops all of them).
 *
 * Signals: while a libuv reactor runs, SIGINT and SIGTERM stop it (unless
 * df_reactor_set_signal_handling(r, false) was called); the signal's
 * disposition is restored when it stops. Making a libuv reactor sets
 * SIGPIPE to be ignored if it was at its default (a write to a connection
 * the peer has closed then fails with EPIPE and ends that connection,
 * instead of killing the process).
 */
#ifndef DEFERRED_UV_REACTOR_H
#define DEFERRED_UV_REACTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "../clock.h"
#include "../core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_reactor df_reactor;

/* libuv's loop, as <uv.h> declares it. This header does not include
 * <uv.h> (which needs POSIX feature macros a strict C11 program may not
 * define); include it to use the loop. */
typedef struct uv_loop_s uv_loop_t;

/* --- making and freeing ------------------------------------------------------ */

/* Make a libuv reactor with a loop of its own. Returns 0 and sets `*out`,
 * or DF_EINVAL (NULL `out`), DF_ENOMEM, or a negated errno value if the
 * loop could not be made (-EMFILE ...: libuv's UV_E* codes are negated
 * errno values); `*out` is then NULL. */
int df_uv_reactor_new(df_reactor **out);

/* Make a libuv reactor on `loop` (borrowed: it must outlive the reactor,
 * and the reactor must be freed before uv_loop_close). The reactor adds
 * its own handles to the loop; those that only wait (for signals, for
 * call_from_thread) do not keep the loop alive, while pending delayed
 * calls, listening ports and connections do, as any libuv handle would.
 * The application may keep running the loop itself with uv_run (then
 * call df_reactor_start to fire the startup event), or call
 * df_reactor_run. Same returns as df_uv_reactor_new. */
int df_uv_reactor_new_on_loop(uv_loop_t *loop, df_reactor **out);

/* Free the reactor. Anything still open is closed first, as the shutdown
 * does (without its triggers): listening ports stop, connections end with
 * ConnectionLost (their protocols' connection_lost and free run during
 * this call), connection attempts fail, thread jobs still queued are
 * cancelled (their deferreds fail with CancelledError) and running ones
 * waited for, pending delayed calls are discarded (df_clock.h), calls
 * queued by call_from_thread are dropped. To do so it runs the loop until
 * the reactor's handles have closed (on an application's loop this may
 * run the application's ready callbacks too). A reactor with a loop of
 * its own then closes the loop: handles an application added to it
 * (through df_uv_reactor_loop) are closed without their close callback
 * and its requests waited for, so close yours first. Must not be called
 * from inside the reactor's own callbacks, nor while df_reactor_run is
 * running. NULL is ignored. */
void df_reactor_free(df_reactor *r);

/* The libuv loop a libuv reactor runs on (borrowed: it lives as long as
 * the reactor, see df_reactor_free), NULL for a fake or a NULL `r`. */
uv_loop_t *df_uv_reactor_loop(df_reactor *r);

/* The implementation's name: "libuv reactor" or "fake reactor" (static;
 * "" for a NULL `r`, never NULL). */
const char *df_reactor_name(const df_reactor *r);

/* --- running ------------------------------------------------------------------ */

/* Run the loop until the reactor has stopped (reactor.run). Fires the
 * startup event, runs, and returns 0 once the shutdown has completed.
 * Returns DF_EINVAL if `r` is NULL, is running, or has run before; or,
 * with nothing started (it may be run again), DF_ENOMEM or a negated
 * errno value if the SIGINT/SIGTERM watchers could not be set up
 * (df_reactor_set_signal_handling turns them off). On the fake reactor,
 * run fires the startup event and returns at once (there is no loop: the
 * test drives the clock). */
int df_reactor_run(df_reactor *r);

/* Become running without running the loop, for a reactor on an
 * application's loop that the application keeps running with uv_run:
 * the startup event fires from the loop's next iteration. Returns 0,
 * DF_EINVAL if running or run before, or the signal watchers' errors as
 * df_reactor_run (nothing started). */
int df_reactor_start(df_reactor *r);

/* Begin the shutdown (reactor.stop): the sequence described at the top of
 * this file runs from the loop, and df_reactor_run returns when it is
 * over. Returns 0, DF_EINVAL if the reactor is not running or is already
 * stopping (Twisted's ReactorNotRunning), or DF_ENOMEM (the shutdown
 * could not be scheduled; the reactor goes on running: try again). Safe
 * inside any of the reactor's callbacks. */
int df_reactor_stop(df_reactor *r);

/* Is the reactor running (started and not yet stopped; true during the
 * shutdown's before phase)? */
bool df_reactor_running(const df_reactor *r);

/* Has its shutdown completed? */
bool df_reactor_stopped(const df_reactor *r);

/* Whether the next run/start watches SIGINT and SIGTERM (default true;
 * Twisted's installSignalHandlers). Returns 0, or DF_EINVAL once running. */
int df_reactor_set_signal_handling(df_reactor *r, bool on);

/* --- system events --------------------------------------------------------------- */

typedef enum df_system_event { DF_SYSTEM_STARTUP, DF_SYSTEM_SHUTDOWN } df_system_event;
typedef enum df_event_phase { DF_PHASE_BEFORE, DF_PHASE_DURING, DF_PHASE_AFTER } df_event_phase;

/* A trigger. It may return a new reference to a deferred (before phase:
 * the reactor waits until it fires; other phases: the deferred is simply
 * released) or NULL. A failure it fires with is not handled by the
 * reactor: it is reported as unhandled, as Twisted logs it. */
typedef df_deferred *(*df_trigger_fn)(void *arg);

/* Add a trigger for `phase` of `event` (addSystemEventTrigger). Triggers
 * of a phase run in the order they were added, each once; one added to a
 * phase while that phase runs runs in it too (as Twisted's), one added
 * after the phase has run never runs (a reactor starts and stops once).
 * `arg` is borrowed. If `id_out` is not NULL it receives the trigger's id
 * (never 0) for df_reactor_remove_system_event_trigger. Returns 0,
 * DF_EINVAL (NULL `r` or `fn`, an unknown phase or event) or DF_ENOMEM. */
int df_reactor_add_system_event_trigger(df_reactor *r, df_event_phase phase,
                                        df_system_event event, df_trigger_fn fn,
                                        void *arg, uint64_t *id_out);

/* Remove a trigger that has not run (removeSystemEventTrigger). Returns
 * 0, or DF_EINVAL for an unknown id or one that has run. */
int df_reactor_remove_system_event_trigger(df_reactor *r, uint64_t id);

/* Run `fn(arg)` once the reactor is running: now, if it is, else as an
 * after-startup trigger (callWhenRunning). Returns 0, DF_EINVAL or
 * DF_ENOMEM. */
int df_reactor_call_when_running(df_reactor *r, df_call_fn fn, void *arg);

/* --- time ---------------------------------------------------------------------- */

/* The reactor as a clock (borrowed; lives as long as the reactor). For
 * the fake reactor, the test clock it was made with. NULL for a NULL
 * `r`. */
df_clock *df_reactor_clock(df_reactor *r);

/* df_clock_seconds(df_reactor_clock(r)), and
 * df_clock_call_later(df_reactor_clock(r), ...) (Twisted's callLater);
 * see clock.h for ownership and errors. */
double df_reactor_seconds(df_reactor *r);
int df_reactor_call_later(df_reactor *r, double delay, df_call_fn fn, void *arg,
                          df_delayed_call **out);

/* --- react ----------------------------------------------------------------------- */

/* The function df_react runs. Returns a new reference to a deferred that
 * fires when the program is done (NULL counts as a failure). */
typedef df_deferred *(*df_react_main)(df_reactor *r, int argc, char **argv);

/* Twisted's task.react: make a libuv reactor, call `main(r, argc, argv)`,
 * run the reactor until the deferred it returned has fired (or the
 * reactor was stopped otherwise, by a signal or df_reactor_stop), free
 * the reactor and return the process's exit status:
 *   0   the deferred succeeded (or the reactor stopped before it fired);
 *   N   it failed with df_system_exit(N) (SystemExit);
 *   1   it failed otherwise (the failure is printed on stderr, after
 *       "main function encountered error", and counts as handled), or
 *       the reactor could not be made, or `main` returned NULL.
 * So a command-line tool is `return df_react(my_main, argc, argv);`. */
int df_react(df_react_main main, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_REACTOR_H */
