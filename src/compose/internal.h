/* Private to src/compose: what the composition layer (DeferredList, and
 * later lock, queue, timeout ...) shares. Users never see this header.
 *
 * The layer is built on the public API (deferred.h) and nothing else from
 * src/core, with one exception: the allocation hooks of ../private.h, so
 * that df_set_allocator() covers the composition layer's allocations too
 * (the benchmark counts them, and the out-of-memory tests fail them). */
#ifndef DF_COMPOSE_INTERNAL_H
#define DF_COMPOSE_INTERNAL_H

#include "../private.h"
#include "deferred.h"

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
