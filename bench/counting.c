/* The benchmark's counting allocator: installed with df_set_allocator(),
 * it counts the library's allocations and the usable bytes it holds. */
#define _GNU_SOURCE /* malloc_usable_size */
#include "bench.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

bench_counts counts;

static size_t usable(void *p) {
#if defined(__GLIBC__)
  return p ? malloc_usable_size(p) : 0;
#else
  (void)p;
  return 0;
#endif
}

static void note_live(int64_t change) {
  counts.live += change;
  if (counts.live > counts.peak) counts.peak = counts.live;
}

static void *counting_malloc(size_t n) {
  void *p = malloc(n);
  if (p) {
    counts.mallocs++;
    note_live((int64_t)usable(p));
  }
  return p;
}

static void *counting_realloc(void *old, size_t n) {
  if (!old) return counting_malloc(n);
  size_t before = usable(old);
  void *p = realloc(old, n);
  if (p) {
    counts.reallocs++;
    note_live((int64_t)usable(p) - (int64_t)before);
  }
  return p;
}

static void counting_free(void *p) {
  counts.live -= (int64_t)usable(p);
  free(p);
}

uint64_t allocations(void) { return counts.mallocs + counts.reallocs; }

/* Counting (true) or the C library's allocator. Counting is
 * instrumentation: allocations and bytes are counted on runs of their own,
 * and the timed runs use malloc directly, as a program linking the library
 * does (the hook's call and malloc_usable_size() cost 50 instructions a
 * malloc/free pair, 5 % of case f2). Swapping needs no deferred or
 * failure alive (df_set_allocator); counting_* call malloc, so a block
 * may be freed by either. */
void use_counting_allocator(bool counting) {
  df_release_caches();
  int rc = counting ? df_set_allocator(counting_malloc, counting_realloc,
                                       counting_free)
                    : df_set_allocator(NULL, NULL, NULL);
  if (rc != 0) {
    fprintf(stderr, "bench: df_set_allocator failed\n");
    exit(2);
  }
}
