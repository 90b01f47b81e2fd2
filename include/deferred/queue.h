/* libdeferred: DeferredQueue, a queue whose get returns a deferred.
 *
 * Twisted's DeferredQueue: producers put results in, consumers get a
 * deferred that fires with the oldest item, at once if one is waiting,
 * else at the put that brings one. Two optional limits bound it:
 *
 *   size      items it may hold waiting for a get; a put beyond it is
 *             refused with DF_EQUEUE_OVERFLOW (Twisted's QueueOverflow,
 *             raised synchronously);
 *   backlog   gets it may hold waiting for an item; a get beyond it
 *             returns a deferred already failed with QueueUnderflow
 *             (df_error_queue_underflow; Twisted raises it synchronously).
 *
 * DF_QUEUE_UNLIMITED (Twisted's None) lifts either limit; 0 is allowed
 * (size 0: every put needs a waiting get; backlog 0: every get needs a
 * waiting item), as in Twisted.
 *
 *     df_queue *q;
 *     df_queue_new(DF_QUEUE_UNLIMITED, DF_QUEUE_UNLIMITED, &q);
 *     df_deferred *d = df_queue_get(q);        // unfired: nothing queued
 *     df_deferred_add_callback(d, handle_line, NULL);
 *     df_queue_put(q, df_string_dup("hello")); // handle_line runs now
 *
 * Why two different reports: put returns an int, so its refusal is an
 * error code, as everywhere in the library; get returns a deferred, so
 * its refusal is that deferred's failure, which the consumer's errback
 * handles like any other (DF_TRAP(r, &df_error_queue_underflow)).
 *
 * Items are df_results (values or failures): the queue owns an item from
 * the put until a get's deferred fires with it, which hands it to that
 * deferred's chain. A failure item makes the get's deferred fail.
 *
 * Cancelling a get's deferred while it waits removes it from the queue's
 * waiting gets: it fails with CancelledError and no later put touches it
 * (Twisted's test_cancelQueueAfterGet). Cancelling one that fired does
 * nothing. The queue holds a reference to each waiting get's deferred, so
 * one you dropped still takes an item when its turn comes (cancel it to
 * give up the turn). The queue alone fires these deferreds; one you fire
 * yourself is skipped by the next put.
 *
 * Lifetime: the creator owns the queue and frees it with df_queue_free,
 * which fails the waiting gets with CancelledError, oldest first, and
 * drops the items still queued (their destructors run), both inside the
 * call. While it does so (in the gets' errbacks or the items'
 * destructors), put drops its item and returns DF_EINVAL, and get returns
 * a deferred already failed with CancelledError. Any call after the free
 * has returned is a use after free.
 *
 * Threads: a queue, and the deferreds it returns, are used from one
 * thread at a time.
 */
#ifndef DEFERRED_QUEUE_H
#define DEFERRED_QUEUE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_queue df_queue;

/* No limit, for `size` or `backlog` (Twisted's None). */
#define DF_QUEUE_UNLIMITED SIZE_MAX

/* "QueueOverflow" and "QueueUnderflow", as in Twisted; both derive from
 * df_error_exception. The library fails a get with QueueUnderflow; put
 * returns DF_EQUEUE_OVERFLOW instead of a failure, so QueueOverflow is
 * there for callbacks that pass a refused put down their chain:
 * `return df_raise(&df_error_queue_overflow, "...");` (df_raise_code of
 * DF_EQUEUE_OVERFLOW gives a ValueError with the same text). */
extern const df_error_type df_error_queue_overflow;
extern const df_error_type df_error_queue_underflow;

/* Create an empty queue into `*out` (Twisted's DeferredQueue(size,
 * backlog)). The caller owns it (df_queue_free). Returns 0, DF_EINVAL if
 * `out` is NULL, or DF_ENOMEM (then *out is NULL). Puts and gets allocate
 * only to grow the queue's rings (never shrunk before the free). */
int df_queue_new(size_t size, size_t backlog, df_queue **out);

/* Free `q`: waiting gets fail with CancelledError, oldest first, and
 * queued items are dropped (see Lifetime at the top). NULL is ignored.
 * Calling it again from inside that (an errback of one of its gets)
 * does nothing; calling it after it returned is a use after free. */
void df_queue_free(df_queue *q);

/* Add `item` (Twisted's put()).
 *
 * If a get waits, the oldest one's deferred fires with `item` now, inside
 * this call; otherwise the item is queued behind the others. The queue
 * takes ownership of `item` in every case: on an error it is dropped (its
 * destructor runs), as df_deferred_callback does (check df_queue_pending()
 * against df_queue_size() first to keep an item the queue would refuse).
 * Returns 0; DF_EQUEUE_OVERFLOW if no get waits and `size` items are
 * queued already (Twisted's QueueOverflow); DF_EINVAL if `q` is NULL,
 * `item` is a df_wait_on (a deferred cannot be an item; pass it as a
 * df_pointer if you mean to queue the object), or the queue is being
 * freed; DF_ENOMEM. Safe to call from any callback, including a get's. */
int df_queue_put(df_queue *q, df_result item);

/* Take the oldest item (Twisted's get()): returns a new reference to a
 * deferred that fires with it, already fired if an item was queued,
 * otherwise when a put brings one (after the gets that wait before it).
 * If `backlog` gets wait already, the deferred comes already failed with
 * QueueUnderflow and the queue is unchanged. Returns NULL only if memory
 * runs out (nothing changed: no item is lost); a NULL `q` gives a deferred
 * already failed with ValueError, a queue being freed one failed with
 * CancelledError. The macro records the caller's site as the deferred's
 * creation site. */
#define df_queue_get(q) df_queue_get_at((q), DF_HERE)
df_deferred *df_queue_get_at(df_queue *q, const char *file, int line,
                             const char *func);

/* Items queued (Twisted's len(q.pending)) and gets waiting
 * (len(q.waiting)). 0 for NULL. */
size_t df_queue_pending(const df_queue *q);
size_t df_queue_waiting(const df_queue *q);

/* The limits given to df_queue_new (DF_QUEUE_UNLIMITED for none). 0 for
 * NULL. */
size_t df_queue_size(const df_queue *q);
size_t df_queue_backlog(const df_queue *q);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_QUEUE_H */
