/* Private to src/compose: what the composition layer (DeferredList, and
 * later lock, queue, timeout ...) shares. Users never see this header.
 *
 * The layer is built on the public API (deferred.h) and nothing else from
 * src/core, with one exception: the allocation hooks, so that
 * df_set_allocator() covers the composition layer's allocations too (the
 * benchmark counts them, and the out-of-memory tests fail them). */
#ifndef DF_COMPOSE_INTERNAL_H
#define DF_COMPOSE_INTERNAL_H

#include <stddef.h>

#include "deferred.h"

#if defined(__GNUC__)
#define DF_NOINLINE __attribute__((noinline))
#define DF_LIKELY(x) __builtin_expect(!!(x), 1)
#define DF_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define DF_NOINLINE
#define DF_LIKELY(x) (x)
#define DF_UNLIKELY(x) (x)
#endif

/* src/core/alloc.c: the allocator df_set_allocator() installs. */
extern void *(*df__malloc)(size_t);
extern void (*df__free)(void *);

#endif /* DF_COMPOSE_INTERNAL_H */
