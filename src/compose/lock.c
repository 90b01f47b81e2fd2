/* DeferredLock and DeferredSemaphore (deferred/lock.h): Twisted's
 * _ConcurrencyPrimitive, DeferredLock and DeferredSemaphore.
 *
 * One engine serves both: a lock is a semaphore of one token in a struct
 * of its own type. The engine is three pieces:
 *
 *   admit()      an acquire's deferred takes a free token (fired now) or
 *                joins the waiting list (the fifo holds a reference);
 *   give_back()  a released token goes to the oldest waiter still
 *                unfired (fired now), or becomes free;
 *   cancel       a waiter's canceller takes it out of the list.
 *
 * Invariant between calls: a free token means nobody waits. Only inside
 * a hand-over nested deeper than DF__HAND_OVER_MAX_DEPTH (internal.h) can
 * a token be free while waiters wait, until the hand-over loop below
 * passes it on; admit() then still queues new waiters behind the others.
 *
 * run() is Twisted's: an acquire deferred with one stage of ours,
 * execute (callback only: once the token is ours, call fn). A value or a
 * failure gives the token back at once; a deferred fn returns gets a
 * stage of ours, release_and_return (both sides: give the token back,
 * pass the outcome on), as Twisted's maybeDeferred(f).addBoth(
 * _releaseAndReturn), and the acquire deferred waits on it. The release
 * so happens when fn's outcome is known, before the caller's callbacks
 * see it, and does not wait for the acquire deferred: paused, it still
 * lets the next waiter in when fn's deferred fires, as in Twisted.
 *
 * Lifetime: `refs` counts the owner (until df_*_free), each run() whose
 * execute is pending, and each release_and_return pending, so that
 * freeing the primitive under a run in progress leaves memory the release
 * can read; `closed` then makes that release (and anything else) do
 * nothing.
 */
#include "internal.h"

struct df_semaphore {
  long tokens;      /* free tokens (Twisted's `tokens`)                    */
  long limit;       /* Twisted's `limit`                                   */
  df__fifo waiters; /* df_deferred *, oldest first, one reference each     */
  unsigned refs;    /* the owner, each run() with stages pending, and each
                       give_back() firing a waiter                         */
  bool closed;      /* freed by its owner: waiters failed, nothing admitted */
  bool handing_over; /* a give_back() loop is on the stack                 */
  const char *kind; /* "DeferredLock" or "DeferredSemaphore"                */
  const char *why_freed; /* the CancelledError of waiters at the free      */
};

struct df_lock {
  struct df_semaphore sem;
};

/* --- life ----------------------------------------------------------------- */

static int sem_new(long tokens, const char *kind, const char *why_freed,
                   df_semaphore **out) {
  df_semaphore *sem = df__malloc(sizeof *sem);
  if (!sem) return DF_ENOMEM;
  sem->tokens = tokens;
  sem->limit = tokens;
  df__fifo_init(&sem->waiters, sizeof(df_deferred *));
  sem->refs = 1;
  sem->closed = false;
  sem->handing_over = false;
  sem->kind = kind;
  sem->why_freed = why_freed;
  *out = sem;
  return 0;
}

static void sem_unref(df_semaphore *sem) {
  if (--sem->refs > 0) return;
  df__fifo_free(&sem->waiters);
  df__free(sem);
}

/* The owner lets go: every waiter fails, oldest first, then the memory
 * goes unless a run() still holds it. A waiter's errback may acquire or
 * release (both see `closed`) or call this again (which does nothing). */
static void sem_close(df_semaphore *sem) {
  if (sem->closed) return;
  sem->closed = true;
  sem->tokens = 0; /* keeps acquires off their fast path: admit() refuses */
  df__fifo_cancel_waiters(&sem->waiters, sem->why_freed);
  sem_unref(sem);
}

/* --- acquire, release, cancel --------------------------------------------- */

/* A waiter is cancelled: out of the line, and our reference with it
 * (df_deferred_cancel holds one until we return). A waiter already handed
 * its token has fired and never gets here (Twisted's _cancelAcquire). */
static void cancel_acquire(df_deferred *d, void *arg) {
  df_semaphore *sem = arg;
  df__fifo_forget_waiter(&sem->waiters, d);
}

/* `d`, unfired and with `sem` as its canceller's argument, takes a free
 * token (and fires now) or joins the line. DF_ENOMEM if the line cannot
 * grow (nothing changed). */
static int admit(df_semaphore *sem, df_deferred *d, const char *file, int line,
                 const char *func) {
  if (DF_UNLIKELY(sem->closed)) {
    df_deferred_errback_at(
        d,
        df_failure_new_at(file, line, func, &df_error_cancelled,
                          "%s acquired while being freed", sem->kind),
        file, line, func);
    return 0;
  }
  if (sem->tokens > 0 && sem->waiters.count == 0) {
    sem->tokens--;
    df_deferred_callback_at(d, df_pointer(sem, NULL), file, line, func);
    return 0;
  }
  if (df__fifo_push(&sem->waiters, &d) != 0) return DF_ENOMEM;
  df_deferred_ref(d);
  return 0;
}

/* A token comes back: it goes to the oldest waiter still unfired, whose
 * callbacks run now, inside the release (Twisted's order), and so on
 * while tokens are free and waiters wait (a waiter's callback may release
 * again). A release nested deeper than DF__HAND_OVER_MAX_DEPTH inside
 * this semaphore's own hand-over only frees the token: the loop below it
 * passes it on. A waiter's callback may free the semaphore: the loop's
 * reference keeps the memory until the loop ends, and `closed` ends it. */
static DF_NOINLINE void give_back(df_semaphore *sem) {
  sem->tokens++;
  if (sem->handing_over && df__hand_over_depth >= DF__HAND_OVER_MAX_DEPTH)
    return;
  bool outermost = !sem->handing_over;
  sem->handing_over = true;
  sem->refs++;
  df__hand_over_depth++;
  df_deferred *d;
  while (!sem->closed && sem->tokens > 0 &&
         (d = df__fifo_first_unfired(&sem->waiters)) != NULL) {
    df__fifo_pop(&sem->waiters, &d);
    sem->tokens--;
    df_deferred_callback(d, df_pointer(sem, NULL));
    df_deferred_unref(d);
  }
  df__hand_over_depth--;
  if (outermost) sem->handing_over = false;
  sem_unref(sem);
}

static df_deferred *invalid(const char *what, const char *file, int line,
                            const char *func) {
  return df_fail_at(df_failure_new_at(file, line, func,
                                      &df_error_invalid_argument, "%s", what),
                    file, line, func);
}

/* An acquire that joins the line (or meets a semaphore being freed). */
static DF_NOINLINE df_deferred *wait_for_token(df_semaphore *sem,
                                               const char *file, int line,
                                               const char *func) {
  df_deferred *d = df_deferred_new_at(cancel_acquire, sem, file, line, func);
  if (DF_UNLIKELY(!d)) return NULL;
  if (DF_UNLIKELY(admit(sem, d, file, line, func) != 0)) {
    df_deferred_unref(d);
    return NULL;
  }
  return d;
}

static df_deferred *sem_acquire(df_semaphore *sem, const char *file, int line,
                                const char *func) {
  if (DF_LIKELY(sem->tokens > 0 && sem->waiters.count == 0)) {
    /* A free token: a deferred made fired, as Twisted's d.callback(self)
     * right after Deferred(canceller) leaves it (a fired deferred's
     * canceller is never called, rule C4, so it needs none). */
    df_deferred *d = df_succeed_at(df_pointer(sem, NULL), file, line, func);
    if (DF_LIKELY(d != NULL)) sem->tokens--;
    return d;
  }
  return wait_for_token(sem, file, line, func);
}

static int sem_release(df_semaphore *sem) {
  if (DF_UNLIKELY(sem->closed)) return 0;
  if (sem->tokens >= sem->limit) return DF_EINVAL; /* Twisted asserts */
  if (DF_LIKELY(sem->waiters.count == 0))
    sem->tokens++; /* nobody to hand it to: the common case, kept short */
  else
    give_back(sem);
  return 0;
}

/* --- run ------------------------------------------------------------------ */

typedef struct run_call {
  df_semaphore *sem; /* one reference (sem->refs) */
  df_function fn;
  void *arg;         /* borrowed, fn's            */
} run_call;

static void run_call_free(void *p) {
  run_call *c = p;
  sem_unref(c->sem);
  df__free(c);
}

/* Twisted's _releaseAndReturn, on the deferred fn returned (both sides).
 * Its argument is the primitive, with a reference of its own. */
static df_result release_and_return(df_result r, void *arg) {
  sem_release(arg);
  return r;
}

static void release_stage_free(void *arg) { sem_unref(arg); }

/* The token is ours (Twisted's execute): call fn and give the token back
 * once its outcome is known: now for a value or a failure, when its
 * deferred fires for a deferred. Anything but our own fire (the user
 * fired the deferred) gets no call and no token. */
static df_result execute(df_result r, void *arg) {
  run_call *c = arg;
  df_semaphore *sem = c->sem;
  if (DF_UNLIKELY(r.kind != DF_POINTER || r.u.p != sem)) {
    df_result_drop(r);
    return df_raise(&df_error_invalid_argument,
                    "%s run: the acquire deferred was fired by someone else",
                    sem->kind);
  }
  df_result out = c->fn(c->arg);
  if (out.kind != DF_DEFERRED || !out.u.deferred) {
    sem_release(sem);
    return out;
  }
  sem->refs++; /* the stage's, released with it */
  if (DF_UNLIKELY(df_deferred_add_owned(out.u.deferred, release_and_return,
                                        release_and_return, sem,
                                        release_stage_free) != 0)) {
    /* The stage's reference went with the error; the token must not be
     * lost: give it back now, and fail the run instead of waiting. */
    sem_release(sem);
    df_result_drop(out);
    return df_raise(&df_error_no_memory,
                    "%s run: no memory to wait for the function's deferred",
                    sem->kind);
  }
  return out;
}

static df_deferred *sem_run(df_semaphore *sem, df_function fn, void *arg,
                            const char *file, int line, const char *func) {
  run_call *c = df__malloc(sizeof *c);
  if (DF_UNLIKELY(!c)) return NULL;
  *c = (run_call){sem, fn, arg};
  sem->refs++;
  df_deferred *d = df_deferred_new_at(cancel_acquire, sem, file, line, func);
  if (DF_UNLIKELY(!d)) {
    run_call_free(c);
    return NULL;
  }
  /* The stage goes on before the deferred can fire, so nothing runs (and
   * no token is taken) until it is in place. */
  if (DF_UNLIKELY(df_deferred_add_owned(d, execute, NULL, c, run_call_free) !=
                  0) ||
      DF_UNLIKELY(admit(sem, d, file, line, func) != 0)) {
    df_deferred_unref(d); /* drops the stage unrun: c goes with it */
    return NULL;
  }
  return d;
}

/* --- DeferredSemaphore ---------------------------------------------------- */

int df_semaphore_new(long tokens, df_semaphore **out) {
  if (!out) return DF_EINVAL;
  *out = NULL;
  if (tokens < 1) return DF_EINVAL; /* Twisted's ValueError */
  return sem_new(tokens, "DeferredSemaphore",
                 "DeferredSemaphore freed while this acquire waited", out);
}

void df_semaphore_free(df_semaphore *sem) {
  if (sem) sem_close(sem);
}

df_deferred *df_semaphore_acquire_at(df_semaphore *sem, const char *file,
                                     int line, const char *func) {
  if (!sem) return invalid("df_semaphore_acquire: NULL", file, line, func);
  return sem_acquire(sem, file, line, func);
}

int df_semaphore_release(df_semaphore *sem) {
  return sem ? sem_release(sem) : DF_EINVAL;
}

df_deferred *df_semaphore_run_at(df_semaphore *sem, df_function fn, void *arg,
                                 const char *file, int line, const char *func) {
  if (!sem || !fn)
    return invalid(sem ? "df_semaphore_run: no function"
                       : "df_semaphore_run: NULL",
                   file, line, func);
  return sem_run(sem, fn, arg, file, line, func);
}

long df_semaphore_tokens(const df_semaphore *sem) {
  return sem ? sem->tokens : 0;
}

long df_semaphore_limit(const df_semaphore *sem) {
  return sem ? sem->limit : 0;
}

size_t df_semaphore_waiting(const df_semaphore *sem) {
  return sem ? sem->waiters.count : 0;
}

/* --- DeferredLock: a semaphore of one token ------------------------------- */

int df_lock_new(df_lock **out) {
  if (!out) return DF_EINVAL;
  *out = NULL;
  df_semaphore *sem;
  int rc = sem_new(1, "DeferredLock",
                   "DeferredLock freed while this acquire waited", &sem);
  if (rc == 0) *out = (df_lock *)(void *)sem;
  return rc;
}

void df_lock_free(df_lock *lock) {
  if (lock) sem_close(&lock->sem);
}

df_deferred *df_lock_acquire_at(df_lock *lock, const char *file, int line,
                                const char *func) {
  if (!lock) return invalid("df_lock_acquire: NULL", file, line, func);
  return sem_acquire(&lock->sem, file, line, func);
}

int df_lock_release(df_lock *lock) {
  return lock ? sem_release(&lock->sem) : DF_EINVAL;
}

df_deferred *df_lock_run_at(df_lock *lock, df_function fn, void *arg,
                            const char *file, int line, const char *func) {
  if (!lock || !fn)
    return invalid(lock ? "df_lock_run: no function" : "df_lock_run: NULL",
                   file, line, func);
  return sem_run(&lock->sem, fn, arg, file, line, func);
}

bool df_lock_locked(const df_lock *lock) {
  return lock && lock->sem.tokens == 0;
}

size_t df_lock_waiting(const df_lock *lock) {
  return lock ? lock->sem.waiters.count : 0;
}
