/* Private to src/compose: what the composition layer (DeferredList, race,
 * lock, queue, timeout ...) shares. Users never see this header.
 *
 * The layer is built on the public API (deferred.h) and nothing else from
 * src/core, with one exception: the allocation hooks of ../private.h, so
 * that df_set_allocator() covers the composition layer's allocations too
 * (the benchmark counts them, and the out-of-memory tests fail them). */
#ifndef DF_COMPOSE_INTERNAL_H
#define DF_COMPOSE_INTERNAL_H

#include "../private.h"
#include "deferred.h"

/* --- list.c: the one engine behind every "many deferreds" function -------- */

/* A list flag only the layer sets (above the public DF_LIST_* bits): when
 * every member failed (also when there is no member), fail with one
 * FailureGroup of them all instead of firing with the array. race.c's
 * first success and race use it. */
#define DF__LIST_FAILURE_GROUP (1u << 16)

/* What a public function built on the list engine is: its name (for
 * messages), the flags its caller may pass, and those it always has. */
typedef struct df__list_api {
  const char *name;
  unsigned allowed;
  unsigned implied;
} df__list_api;

/* df_deferred_list_at(), for the functions described by `api`: `flags`
 * outside api->allowed give a list already failed with ValueError, as
 * other bad arguments do; api->implied is added to the rest. */
df_deferred *df__list_new(const df__list_api *api,
                          df_deferred *const *members, size_t n,
                          unsigned flags, const char *file, int line,
                          const char *func);

/* --- race.c --------------------------------------------------------------- */

/* A FailureGroup failure (deferred/race.h) of the `n` failure results in
 * `failures`, in that order, raised at the site given. It takes over each
 * failure's reference: the entries become None. Never NULL; if memory runs
 * out it has no payload (or is the MemoryError failure). */
df_failure *df__failure_group_new(df_result *failures, size_t n,
                                  const char *file, int line,
                                  const char *func);

/* --- fifo.c: the waiting lists of lock, semaphore and queue --------------- */

/* A first-in first-out sequence of fixed-size elements (deferred pointers
 * waiting on a lock, results waiting in a queue) in a ring that doubles
 * when full, so that a steady stream of push/pop allocates nothing. */
typedef struct df__fifo {
  unsigned char *ring;
  size_t elem;  /* size of an element, in bytes                    */
  size_t head;  /* ring index of the oldest element                */
  size_t count; /* elements held                                   */
  size_t cap;   /* ring size in elements: 0 or a power of two      */
} df__fifo;

/* An empty fifo of `elem`-byte elements (allocates nothing). */
void df__fifo_init(df__fifo *f, size_t elem);
/* Free the ring; the elements, if they own anything, are the caller's to
 * drop first. The fifo is empty (and usable) again. */
void df__fifo_free(df__fifo *f);
/* Append a copy of `*elem` at the back. 0, or DF_ENOMEM (nothing
 * changed). */
int df__fifo_push(df__fifo *f, const void *elem);
/* The i-th element from the front (0 is the oldest); i < count. */
void *df__fifo_at(const df__fifo *f, size_t i);
/* Copy the oldest element into `*out` and remove it; count > 0. */
void df__fifo_pop(df__fifo *f, void *out);
/* Remove the i-th element from the front, keeping the others' order. */
void df__fifo_remove(df__fifo *f, size_t i);
/* The index of the first element whose first pointer-sized bytes hold
 * `p`, or f->count if none (a linear search: cancelling a waiter is
 * O(waiters), as Twisted's list.remove). */
size_t df__fifo_find_pointer(const df__fifo *f, const void *p);

/* Remove the deferreds at the front of a fifo of waiters (df_deferred *,
 * one reference each) that have fired already (fired by their user, a
 * misuse the primitives survive), dropping their references. Returns the
 * oldest waiter still unfired, left in the fifo, or NULL if none. */
df_deferred *df__fifo_first_unfired(df__fifo *waiters);

/* A waiter is cancelled (its canceller runs): take `d` out of `waiters`
 * and drop the fifo's reference (df_deferred_cancel holds one until the
 * canceller returns). Nothing if `d` is not there. */
void df__fifo_forget_waiter(df__fifo *waiters, df_deferred *d);

/* The primitive is freed: fail each waiter still unfired with a
 * CancelledError saying `why`, oldest first (their errbacks run now),
 * dropping the fifo's references, until the fifo is empty. */
void df__fifo_cancel_waiters(df__fifo *waiters, const char *why);

/* Hand-overs: a release (or put) fires a waiter, whose callbacks may
 * release (or put) again, and so on: Twisted recurses, and so do we, up
 * to this many hand-overs nested on one thread (Twisted 22.4 itself stops
 * with RecursionError at about 200, leaving the lock held). Deeper, a
 * primitive whose own hand-over is active further down the stack leaves
 * the token (or item) to that hand-over's loop, which passes it on when
 * the current waiter's callback returns: the same waiters fire in the
 * same order, in constant C stack. */
#define DF__HAND_OVER_MAX_DEPTH 256u
extern _Thread_local unsigned df__hand_over_depth;

/* src/compose/clock.c: a weak reference to a clock, for what outlives
 * the calls it schedules (a LoopingCall waiting on its function's
 * deferred has no call pending, yet will schedule one). `clock` reads
 * NULL once df_clock_free has been called on the clock. Init and clear
 * take a process-wide lock (references are made and dropped rarely: one
 * per loop); reading `clock` takes none, on the clock's own thread. */
typedef struct df__clock_ref {
  df_clock *clock;
  struct df__clock_ref *prev, *next;
} df__clock_ref;

void df__clock_ref_init(df__clock_ref *ref, df_clock *clock);
void df__clock_ref_clear(df__clock_ref *ref);

#endif /* DF_COMPOSE_INTERNAL_H */
