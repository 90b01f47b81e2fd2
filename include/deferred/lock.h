/* libdeferred: DeferredLock and DeferredSemaphore.
 *
 * Twisted's concurrency primitives for code that runs on one event loop:
 * no thread ever blocks. Acquiring returns a deferred that fires when the
 * lock (or one of the semaphore's tokens) is yours, at once if it is free;
 * releasing hands it to the oldest waiter, whose deferred fires inside the
 * release call. `run` wraps a function in acquire and release:
 *
 *     df_lock *lock;
 *     if (df_lock_new(&lock) != 0) ...;
 *     df_deferred *d = df_lock_run(lock, write_the_file, job);
 *     df_deferred_add_callbacks(d, written, job, report_error, job);
 *     df_deferred_unref(d);
 *
 * A DeferredLock is a DeferredSemaphore of one token; each has its own
 * type so that the compiler keeps them apart, and the same rules:
 *
 *   - Waiters are served first come, first served (FIFO).
 *   - The deferred an acquire returns fires with the primitive itself: a
 *     DF_POINTER result that borrows the df_lock* or df_semaphore* (owns
 *     nothing). Cancelling it while it waits removes it from the waiting
 *     list (it then fails with CancelledError, and no later release will
 *     touch it); cancelling it once it fired does nothing, and the token
 *     stays yours to release (Twisted's test_cancelLockAfterAcquired).
 *   - The primitive holds a reference to each waiting deferred, so a
 *     waiter fires even if you dropped yours; dropping it does not give up
 *     the place in the line (cancel it for that). The primitive alone
 *     fires these deferreds: firing one yourself is a programming error,
 *     after which the primitive skips it (it is not given a token).
 *   - Releasing what is not held (an unlocked lock, a semaphore with all
 *     its tokens) is refused with DF_EINVAL and changes nothing (Twisted
 *     asserts).
 *
 * Lifetime: the creator owns the primitive and frees it with
 * df_lock_free / df_semaphore_free. Freeing fails every waiter, oldest
 * first, with CancelledError ("DeferredLock freed while this acquire
 * waited"), inside the free call, so that no deferred is left that can
 * never fire. Tokens still held are forgotten: outside run(), a holder
 * must not release the primitive once freed. A run() in progress keeps
 * the memory alive until its function's outcome is known, and then
 * releases nothing. While a free is failing the waiters (in their
 * errbacks), acquire and run give deferreds already failed with
 * CancelledError, and release does nothing and returns 0. Any call after
 * the free has returned is a use after free.
 *
 * Threads: a primitive, and the deferreds it returns, are used from one
 * thread at a time.
 */
#ifndef DEFERRED_LOCK_H
#define DEFERRED_LOCK_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_lock df_lock;
typedef struct df_semaphore df_semaphore;

/* --- DeferredLock --------------------------------------------------------- */

/* Create an unlocked lock into `*out` (Twisted's DeferredLock()). The
 * caller owns it (df_lock_free). Returns 0, DF_EINVAL if `out` is NULL,
 * or DF_ENOMEM (then *out is NULL). Allocates once; acquire and release
 * allocate only to grow the waiting list. */
int df_lock_new(df_lock **out);

/* Free `lock`, failing its waiters with CancelledError (see Lifetime at
 * the top). NULL is ignored. Calling it again from inside that (an
 * errback of one of its waiters) does nothing; calling it after it
 * returned is a use after free. It may be called from inside a callback
 * of the lock's own deferreds, a release's hand-over included. */
void df_lock_free(df_lock *lock);

/* Acquire the lock (Twisted's acquire()): returns a new reference to a
 * deferred that fires with `lock` (a borrowed DF_POINTER) when the lock
 * is yours: already fired if the lock was free (it is now locked), else
 * at the release that hands it to you, after the waiters before you.
 * Cancelling it while it waits removes it from the line. Returns NULL if
 * memory runs out (nothing changed); a NULL `lock` gives a deferred
 * already failed with ValueError. The macro records the caller's site as
 * the deferred's creation site. */
#define df_lock_acquire(lock) df_lock_acquire_at((lock), DF_HERE)
df_deferred *df_lock_acquire_at(df_lock *lock, const char *file, int line,
                                const char *func);

/* Release the lock (Twisted's release()): if someone waits, the oldest
 * waiter gets the lock and its deferred fires now, inside this call (the
 * lock stays locked); otherwise the lock is unlocked. Returns 0, or
 * DF_EINVAL if `lock` is NULL or not locked (nothing changed). Safe to
 * call from any callback, including the waiter's. */
int df_lock_release(df_lock *lock);

/* Acquire, call `fn(arg)`, release (Twisted's run()).
 *
 * Returns a new reference to a deferred for fn's outcome. Once the lock is
 * yours, `fn(arg)` is called (at once, inside this call, if the lock is
 * free); it may return a value, a failure, or df_wait_on(d) for a deferred
 * (the lock is then held until `d` fires). The lock is released whatever
 * happens: after a value, a failure, `d`'s success or `d`'s failure, and
 * before the returned deferred's own callbacks see that outcome, which
 * they receive unchanged. As in Twisted, the release for `d` is a stage
 * the library adds to `d` when fn returns it, so it happens when `d`
 * fires, after the stages `d` had then and before those added later,
 * even if the returned deferred is paused; should memory run out for
 * that stage, the lock is released at once and the returned deferred
 * fails with MemoryError. Cancelling the returned deferred while it waits
 * for the lock removes it from the line (fn is never called, it fails
 * with CancelledError); while it waits for `d`, the cancel goes to `d`
 * (rule C3). `arg` is borrowed: it must live until fn has been called,
 * or until the returned deferred fails without calling it (free it in a
 * stage of your own added to the returned deferred). Returns NULL if
 * memory runs out (nothing changed, fn not called); a NULL `lock` or `fn`
 * gives a deferred already failed with ValueError (Twisted's TypeError).
 * The returned deferred is the lock's acquire deferred with one stage of
 * the library's (which calls fn): do not fire it yourself. */
#define df_lock_run(lock, fn, arg) df_lock_run_at((lock), (fn), (arg), DF_HERE)
df_deferred *df_lock_run_at(df_lock *lock, df_function fn, void *arg,
                            const char *file, int line, const char *func);

/* Is the lock held (Twisted's `locked`)? False for NULL. */
bool df_lock_locked(const df_lock *lock);

/* How many acquires wait (Twisted's len(lock.waiting)). 0 for NULL. */
size_t df_lock_waiting(const df_lock *lock);

/* --- DeferredSemaphore ---------------------------------------------------- */

/* Create a semaphore of `tokens` tokens, all free, into `*out` (Twisted's
 * DeferredSemaphore(tokens)); `tokens` is also its limit. The caller owns
 * it (df_semaphore_free). Returns 0; DF_EINVAL if `tokens` < 1 (Twisted's
 * ValueError) or `out` is NULL; DF_ENOMEM. On an error *out is NULL (when
 * `out` is not). */
int df_semaphore_new(long tokens, df_semaphore **out);

/* Free `sem`, failing its waiters with CancelledError (see Lifetime at
 * the top). NULL is ignored. Same rules as df_lock_free. */
void df_semaphore_free(df_semaphore *sem);

/* Take a token (Twisted's acquire()): a new reference to a deferred that
 * fires with `sem` (a borrowed DF_POINTER) once a token is yours, already
 * fired if one was free. Same rules as df_lock_acquire. */
#define df_semaphore_acquire(sem) df_semaphore_acquire_at((sem), DF_HERE)
df_deferred *df_semaphore_acquire_at(df_semaphore *sem, const char *file,
                                     int line, const char *func);

/* Give a token back (Twisted's release()): the oldest waiter gets it, its
 * deferred firing inside this call, or the token becomes free. Returns 0,
 * or DF_EINVAL if `sem` is NULL or all its tokens are free already
 * (released more often than acquired; nothing changed). */
int df_semaphore_release(df_semaphore *sem);

/* Take a token, call `fn(arg)`, give the token back whatever happens
 * (Twisted's run()). Same rules as df_lock_run. */
#define df_semaphore_run(sem, fn, arg) \
  df_semaphore_run_at((sem), (fn), (arg), DF_HERE)
df_deferred *df_semaphore_run_at(df_semaphore *sem, df_function fn, void *arg,
                                 const char *file, int line, const char *func);

/* Free tokens (Twisted's `tokens`), the limit given to df_semaphore_new
 * (`limit`), and how many acquires wait (len(sem.waiting)). 0 for NULL. */
long df_semaphore_tokens(const df_semaphore *sem);
long df_semaphore_limit(const df_semaphore *sem);
size_t df_semaphore_waiting(const df_semaphore *sem);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_LOCK_H */
