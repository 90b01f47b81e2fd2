/* libdeferred-uv: threads (Twisted's deferToThread and callFromThread).
 *
 * A reactor runs on one thread; blocking work (a file read, a
 * computation, a library without an asynchronous API) goes to a thread
 * pool with df_reactor_defer_to_thread, and its result comes back to the
 * reactor's thread as a deferred. The libuv reactor uses libuv's pool
 * (shared by every loop of the process; UV_THREADPOOL_SIZE threads, 4 by
 * default, which also run getaddrinfo). Another thread hands work to the
 * reactor with df_reactor_call_from_thread, the one reactor function that
 * is safe to call from any thread.
 */
#ifndef DEFERRED_UV_THREAD_H
#define DEFERRED_UV_THREAD_H

#include "../clock.h"
#include "../core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_reactor df_reactor;

/* Run `fn(arg)` on a pool thread and return a new reference to a deferred
 * that fires, on the reactor's thread, with what `fn` returned (a value,
 * or a failure: `fn` "raises" by returning df_raise(...)). `fn` must not
 * return df_wait_on(...) (that fails the deferred with ValueError), and
 * must not use the reactor or any deferred; it may create failures and
 * values, which then belong to the result. `arg` is borrowed: it must
 * stay valid until the deferred has fired.
 *
 * Cancelling the deferred while the job is still queued takes it off the
 * queue (it never runs) and fails the deferred with CancelledError; once
 * it is running it cannot be stopped: the deferred still fails with
 * CancelledError at once, and the job's result is dropped when it comes.
 *
 * On the fake reactor the job is queued until the test runs it with
 * df_fake_reactor_run_threads. Returns NULL only if out of memory; a NULL
 * `fn` or a stopped reactor gives a failed deferred (ValueError). */
typedef df_result (*df_thread_fn)(void *arg);
df_deferred *df_reactor_defer_to_thread(df_reactor *r, df_thread_fn fn,
                                        void *arg);

/* Run `fn(arg)` on the reactor's thread, from the loop, soon
 * (callFromThread). Safe from any thread, including the reactor's own and
 * signal-free contexts of other threads (not from a signal handler).
 * Calls run in the order they were made. `arg` is borrowed. Calls still
 * queued when the reactor is freed never run. Returns 0, DF_EINVAL (NULL
 * `r` or `fn`) or DF_ENOMEM. The reactor must not be freed while another
 * thread may still call this. */
int df_reactor_call_from_thread(df_reactor *r, df_call_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_THREAD_H */
