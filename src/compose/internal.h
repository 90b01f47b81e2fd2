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

#endif /* DF_COMPOSE_INTERNAL_H */
