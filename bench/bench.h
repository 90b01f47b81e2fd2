/* What the parts of the C benchmark share (bench.c has the overview):
 * the counting allocator (counting.c), the cases a-e and the direct-call
 * limit (cases.c), case f (case_f.c), the composition cases g-j
 * (cases_compose.c), the ideal bounds of e and f2 (ideal.c), and the
 * helpers every part uses,
 * inline here so that the cases' loops are compiled as they were when
 * the benchmark was one file (their callgrind counts are compared across
 * commits in docs/performance.md). */
#ifndef DF_BENCH_H
#define DF_BENCH_H

#include <deferred.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* --- helpers (bench.c) ----------------------------------------------------- */

extern volatile int64_t sink; /* results go here so nothing is folded away */

/* A wrong result is a bug: say which case and exit with status 2. */
static inline void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "bench: wrong result in %s\n", what);
    exit(2);
  }
}

/* Take a fired deferred's integer result and drop the deferred. */
static inline int64_t take_int(df_deferred *d) {
  df_result r;
  check(df_deferred_take_result(d, &r) == 0 && r.kind == DF_INT, "take");
  df_deferred_unref(d);
  return r.u.i;
}

double now_ns(void);      /* CLOCK_MONOTONIC */
long max_rss_kib(void);   /* this process's peak RSS */
void emit(const char *key, double value); /* an "R<TAB>key<TAB>value" line */

/* Bytes per unfired deferred, as measure_memory() in bench.c found them:
 * case f2's memory floor writes and reads that many per deferred. */
extern double deferred_bytes;

typedef void (*case_fn)(long n);
/* The shortest of `reps` timed runs of fn(n), in ns (the caller warms up). */
double best_run_ns(case_fn fn, long n, int reps);

/* --- the counting allocator (counting.c) ----------------------------------- */

typedef struct bench_counts {
  uint64_t mallocs;  /* malloc, and realloc(NULL, n) */
  uint64_t reallocs; /* realloc of a live block      */
  int64_t live;      /* usable bytes held by the library */
  int64_t peak;      /* the most `live` has been since a case f run began */
} bench_counts;
extern bench_counts counts;

/* Library allocations so far (mallocs and reallocs), while counting. */
uint64_t allocations(void);
/* Install the counting allocator (true) or the C library's (false); the
 * library's caches are released first. Exits with status 2 on failure. */
void use_counting_allocator(bool counting);

/* --- cases a-e and the direct-call limit (cases.c) ------------------------- */

/* Allocations made inside df_deferred_callback() for cases a, b, c, summed
 * over a run while count_firing is set; reset by the caller. */
extern uint64_t firing_allocs;
extern bool count_firing;

df_result add_one_0(df_result r, void *arg); /* returns its input + 1 */

void case_a(long n);
void case_b(long n);
void case_c(long n);
void case_d(long n);
void case_e(long n);
void case_direct(long n);
void case_direct_one_site(long n);

/* --- cases g-j: the composition layer (cases_compose.c) ------------------- */

#define RACE_N 100        /* g: members of a race                        */
#define SEM_TOKENS 10     /* i: a semaphore's tokens ...                 */
#define SEM_WAITERS 100   /*    ... and the acquires of a round          */
#define TIMER_N 10000     /* j, j2: delayed calls on one test clock      */
#define TIMER_N_SMALL 1000 /* j@1000: the size Twisted's task.Clock runs */

/* Each takes a count of rounds: races (g), lock rounds (h, h2), semaphore
 * rounds (i), test clocks of TIMER_N calls (j, j2) or TIMER_N_SMALL
 * (j_small). */
void case_g(long n);
void case_h(long n);
void case_h2(long n);
void case_i(long n);
void case_j(long n);
void case_j_small(long n);
void case_j2(long n);

/* --- case f (case_f.c) ----------------------------------------------------- */

/* Case f at a smaller size, to show how its costs grow: printed as f1@N.*
 * and f2@N.* (report.py's growth table), without the cold run. */
#define F_SCALING_SIZES {10000, 100000}

void huge_stages(long n);    /* f1 at its main size, cold and warm */
void huge_chain(long n);     /* f2 at its main size, and its memory floor */
void stages_at_size(long n); /* f1@n, warm only */
void chain_at_size(long n);  /* f2@n, warm only */
/* One run of f1 or f2 on n, for --callgrind. */
void case_f1(long n);
void case_f2(long n);
/* --- ideal bounds (ideal.c) ----------------------------------------------- */

/* The best of `reps` runs of case e's pattern (n gathers, ns per gather)
 * and of f2's (a chain of n, ns per deferred) with the least a deferred
 * must hold and do, no library and no allocator: what a library, doing
 * all that and more, will not beat on this machine. */
double ideal_gather_ns(long n, int reps);
double ideal_chain_ns(long n, int reps);

/* Run fn(n) in a forked child (its own peak RSS); exits with status 2 if
 * the child fails. */
void in_child(void (*fn)(long), long n);

#endif /* DF_BENCH_H */
