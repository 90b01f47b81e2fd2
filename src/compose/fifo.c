/* A fifo in a ring (internal.h): the waiting lists of DeferredLock,
 * DeferredSemaphore and DeferredQueue, and a queue's pending items.
 *
 * The ring holds `cap` elements (a power of two, so an index wraps with a
 * mask), the oldest at `head`. Pushing into a full ring doubles it,
 * unwrapping the elements into the new ring in order; popping never
 * shrinks it, so a primitive that has once had n waiters keeps room for n
 * (freed with the primitive). Removing from the middle, which only a
 * cancelled waiter does, shifts the elements behind it forward.
 *
 * The hand-over depth (internal.h) lives here too: it is what the
 * waiting lists of lock.c and queue.c share besides their fifos. */
#include <stdint.h>
#include <string.h>

#include "internal.h"

void df__fifo_init(df__fifo *f, size_t elem) {
  *f = (df__fifo){.ring = NULL, .elem = elem, .head = 0, .count = 0, .cap = 0};
}

void df__fifo_free(df__fifo *f) {
  df__free(f->ring);
  df__fifo_init(f, f->elem);
}

static inline unsigned char *slot(const df__fifo *f, size_t i) {
  return f->ring + ((f->head + i) & (f->cap - 1)) * f->elem;
}

void *df__fifo_at(const df__fifo *f, size_t i) { return slot(f, i); }

/* Move to a ring twice as large (8 elements at first). */
static int grow(df__fifo *f) {
  size_t cap = f->cap ? f->cap * 2 : 8;
  if (cap > SIZE_MAX / 2 / f->elem) return DF_ENOMEM;
  unsigned char *ring = df__malloc(cap * f->elem);
  if (!ring) return DF_ENOMEM;
  for (size_t i = 0; i < f->count; i++)
    memcpy(ring + i * f->elem, slot(f, i), f->elem);
  df__free(f->ring);
  f->ring = ring;
  f->head = 0;
  f->cap = cap;
  return 0;
}

int df__fifo_push(df__fifo *f, const void *elem) {
  if (f->count == f->cap && grow(f) != 0) return DF_ENOMEM;
  memcpy(slot(f, f->count), elem, f->elem);
  f->count++;
  return 0;
}

void df__fifo_pop(df__fifo *f, void *out) {
  memcpy(out, slot(f, 0), f->elem);
  f->head = (f->head + 1) & (f->cap - 1);
  f->count--;
}

void df__fifo_remove(df__fifo *f, size_t i) {
  for (; i + 1 < f->count; i++) memcpy(slot(f, i), slot(f, i + 1), f->elem);
  f->count--;
}

size_t df__fifo_find_pointer(const df__fifo *f, const void *p) {
  size_t i = 0;
  for (; i < f->count; i++) {
    const void *held;
    memcpy(&held, slot(f, i), sizeof held);
    if (held == p) break;
  }
  return i;
}

df_deferred *df__fifo_first_unfired(df__fifo *waiters) {
  while (waiters->count > 0) {
    df_deferred *d;
    memcpy(&d, slot(waiters, 0), sizeof d);
    if (DF_LIKELY(!df_deferred_called(d))) return d;
    df__fifo_pop(waiters, &d);
    df_deferred_unref(d);
  }
  return NULL;
}

void df__fifo_forget_waiter(df__fifo *waiters, df_deferred *d) {
  size_t i = df__fifo_find_pointer(waiters, d);
  if (i == waiters->count) return;
  df__fifo_remove(waiters, i);
  df_deferred_unref(d);
}

void df__fifo_cancel_waiters(df__fifo *waiters, const char *why) {
  while (waiters->count > 0) {
    df_deferred *d;
    df__fifo_pop(waiters, &d);
    if (!df_deferred_called(d)) /* skip one its user fired: a misuse */
      df_deferred_errback(d, df_failure_new(&df_error_cancelled, "%s", why));
    df_deferred_unref(d);
  }
}

_Thread_local unsigned df__hand_over_depth;
