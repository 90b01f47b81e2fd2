/* DeferredQueue (deferred/queue.h): Twisted's DeferredQueue.
 *
 * Two fifos, at most one of them non-empty between calls: `pending`, the
 * items nobody has asked for yet (df_result, owned by the queue), and
 * `waiting`, the gets nobody has given an item yet (df_deferred *, one
 * reference each). put() hands its item to the oldest waiting get or
 * queues it; get() takes the oldest item or joins the waiting gets. A
 * waiting get's canceller takes it out of `waiting` (Twisted's
 * _cancelGet).
 *
 * Invariant between calls: items wait only when no get does. Only inside
 * a hand-over nested deeper than DF__HAND_OVER_MAX_DEPTH (internal.h) do
 * both wait, until the hand-over loop below passes the items on; put()
 * and get() then still keep the order of both lines.
 *
 * Lifetime: `refs` counts the owner (until df_queue_free) and each
 * hand-over loop, whose get's callbacks may free the queue.
 */
#include "internal.h"

DF_ERROR_TYPE(df_error_queue_overflow, "QueueOverflow", &df_error_exception);
DF_ERROR_TYPE(df_error_queue_underflow, "QueueUnderflow", &df_error_exception);

struct df_queue {
  df__fifo pending; /* df_result: items, oldest first                */
  df__fifo waiting; /* df_deferred *: gets, oldest first, referenced */
  size_t size;      /* most items pending (DF_QUEUE_UNLIMITED: none) */
  size_t backlog;   /* most gets waiting                             */
  unsigned refs;    /* the owner + each hand_over() loop             */
  bool closed;      /* freed by its owner                            */
  bool handing_over; /* a hand_over() loop is on the stack           */
};

int df_queue_new(size_t size, size_t backlog, df_queue **out) {
  if (!out) return DF_EINVAL;
  df_queue *q = df__malloc(sizeof *q);
  *out = q;
  if (!q) return DF_ENOMEM;
  df__fifo_init(&q->pending, sizeof(df_result));
  df__fifo_init(&q->waiting, sizeof(df_deferred *));
  q->size = size;
  q->backlog = backlog;
  q->refs = 1;
  q->closed = false;
  q->handing_over = false;
  return 0;
}

static void queue_unref(df_queue *q) {
  if (--q->refs > 0) return;
  df__fifo_free(&q->waiting);
  df__fifo_free(&q->pending);
  df__free(q);
}

void df_queue_free(df_queue *q) {
  if (!q || q->closed) return;
  q->closed = true;
  df__fifo_cancel_waiters(&q->waiting,
                          "DeferredQueue freed while this get waited");
  while (q->pending.count > 0) {
    df_result item;
    df__fifo_pop(&q->pending, &item);
    df_result_drop(item);
  }
  queue_unref(q);
}

/* A waiting get is cancelled: out of the line, with our reference
 * (df_deferred_cancel holds one until we return). */
static void cancel_get(df_deferred *d, void *arg) {
  df_queue *q = arg;
  df__fifo_forget_waiter(&q->waiting, d);
}

/* `item` goes to the oldest waiting get, `d` (still in the line, unfired),
 * whose callbacks run now (Twisted's order); then, while items and gets
 * both wait (left so by puts nested too deep, see the top), the oldest
 * item goes to the oldest get. */
static void hand_over(df_queue *q, df_deferred *d, df_result item) {
  bool outermost = !q->handing_over;
  q->handing_over = true;
  q->refs++;
  df__hand_over_depth++;
  for (;;) {
    df__fifo_pop(&q->waiting, &d);
    df_deferred_callback(d, item);
    df_deferred_unref(d);
    if (q->closed || q->pending.count == 0 ||
        (d = df__fifo_first_unfired(&q->waiting)) == NULL)
      break;
    df__fifo_pop(&q->pending, &item);
  }
  df__hand_over_depth--;
  if (outermost) q->handing_over = false;
  queue_unref(q);
}

int df_queue_put(df_queue *q, df_result item) {
  if (!q || item.kind == DF_DEFERRED || q->closed) {
    df_result_drop(item);
    return DF_EINVAL;
  }
  df_deferred *d = df__fifo_first_unfired(&q->waiting);
  bool too_deep = q->handing_over &&
                  df__hand_over_depth >= DF__HAND_OVER_MAX_DEPTH;
  if (d && q->pending.count == 0 && !too_deep) {
    hand_over(q, d, item);
    return 0;
  }
  /* Queued: nobody waits (then `size` applies), or a get waits but the
   * hand-over loop below is to serve it (no overflow: Twisted would have
   * handed the item over). */
  if (!d && q->pending.count >= q->size) {
    df_result_drop(item);
    return DF_EQUEUE_OVERFLOW;
  }
  if (df__fifo_push(&q->pending, &item) != 0) {
    df_result_drop(item);
    return DF_ENOMEM;
  }
  return 0;
}

static df_deferred *failed_get(const df_error_type *type, const char *what,
                               const char *file, int line, const char *func) {
  return df_fail_at(df_failure_new_at(file, line, func, type, "%s", what), file,
                    line, func);
}

df_deferred *df_queue_get_at(df_queue *q, const char *file, int line,
                             const char *func) {
  if (!q)
    return failed_get(&df_error_invalid_argument, "df_queue_get: NULL", file,
                      line, func);
  if (q->closed)
    return failed_get(&df_error_cancelled,
                      "DeferredQueue got while being freed", file, line, func);
  if (q->pending.count > 0 && !df__fifo_first_unfired(&q->waiting)) {
    /* Twisted's succeed(pending.pop(0)); the deferred is made first, so
     * that running out of memory loses no item */
    df_deferred *d = df_deferred_new_at(NULL, NULL, file, line, func);
    if (DF_UNLIKELY(!d)) return NULL;
    df_result item;
    df__fifo_pop(&q->pending, &item);
    df_deferred_callback_at(d, item, file, line, func);
    return d;
  }
  if (q->waiting.count >= q->backlog)
    return failed_get(&df_error_queue_underflow,
                      "too many gets waiting on a DeferredQueue", file, line,
                      func);
  df_deferred *d = df_deferred_new_at(cancel_get, q, file, line, func);
  if (DF_UNLIKELY(!d)) return NULL;
  if (DF_UNLIKELY(df__fifo_push(&q->waiting, &d) != 0)) {
    df_deferred_unref(d);
    return NULL;
  }
  return df_deferred_ref(d);
}

size_t df_queue_pending(const df_queue *q) { return q ? q->pending.count : 0; }

size_t df_queue_waiting(const df_queue *q) { return q ? q->waiting.count : 0; }

size_t df_queue_size(const df_queue *q) { return q ? q->size : 0; }

size_t df_queue_backlog(const df_queue *q) { return q ? q->backlog : 0; }
