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

#endif /* DF_COMPOSE_INTERNAL_H */
