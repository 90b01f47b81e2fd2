/* The C side of the benchmark suite: libdeferred, linked statically.
 *
 * bench/run.sh builds this with -O2 and runs it next to bench/peer_twisted.py and
 * bench/peer_node.mjs; bench/report.py merges their outputs into one table. Every
 * runtime runs the same cases:
 *
 *   a  create + 1 callback + fire
 *   b  create + 10 callbacks (each returns its input + 1) + fire
 *   c  10 stages: stage 5 fails, stage 7's errback recovers
 *   d  10 callbacks, each returning an already-fired deferred
 *   e  gatherResults of 100 deferreds, then fire them all (df_gather_results,
 *      a callback summing the values)
 *   f  one deferred with 1,000,000 stages; a chain of 1,000,000 deferreds
 *      each waiting on the next (C only: time, memory, C stack depth;
 *      cold, then warm)
 *
 * plus the direct-call limit: the 10 callbacks of case b called through a
 * volatile function-pointer table, which is what case b would cost if the
 * library were free.
 *
 * Output: one "R<TAB>key<TAB>value" line per figure (report.py reads them)
 * and "#" lines of commentary. Library allocations are counted by a
 * counting allocator installed with df_set_allocator(), on runs of their
 * own: the timed runs (but case f's cold one, whose counts are printed
 * with it) and the --callgrind modes use malloc directly.
 *
 * Exit status: 0; 1 on a command line it does not understand; 2 on a
 * wrong result (a bug, reported as a crash); 3 if the firing path of case
 * a or b allocates once warm. Never on timing.
 *
 * Modes:
 *   bench            full run
 *   bench --quick    few iterations (CI)
 *   bench --callgrind-b N   warm up, then N iterations of case b and
 *                    nothing else (run.sh runs it under callgrind twice
 *                    and divides the difference)
 *   bench --callgrind X N   the same for any case X in a-e, or f1 (f) and
 *                    f2 (g) with N stages / deferreds (by hand)
 */
#define _GNU_SOURCE /* malloc_usable_size */
#include <deferred.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* --- the counting allocator ------------------------------------------------ */

static struct {
  uint64_t mallocs;  /* malloc, and realloc(NULL, n) */
  uint64_t reallocs; /* realloc of a live block      */
  int64_t live;      /* usable bytes held by the library */
  int64_t peak;      /* the most `live` has been since a case f run began */
} counts;

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

static uint64_t allocations(void) { return counts.mallocs + counts.reallocs; }

/* Counting (true) or the C library's allocator. Counting is
 * instrumentation: allocations and bytes are counted on runs of their own,
 * and the timed runs use malloc directly, as a program linking the library
 * does (the hook's call and malloc_usable_size() cost 50 instructions a
 * malloc/free pair, 5 % of case f2). Swapping needs no deferred or
 * failure alive (df_set_allocator); counting_* call malloc, so a block
 * may be freed by either. */
static void use_counting_allocator(bool counting) {
  df_release_caches();
  int rc = counting ? df_set_allocator(counting_malloc, counting_realloc,
                                       counting_free)
                    : df_set_allocator(NULL, NULL, NULL);
  if (rc != 0) {
    fprintf(stderr, "bench: df_set_allocator failed\n");
    exit(2);
  }
}

/* --- helpers ----------------------------------------------------------------- */

static volatile int64_t sink; /* results go here so nothing is folded away */
static bool quick;

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "bench: wrong result in %s\n", what);
    exit(2);
  }
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long max_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static void emit(const char *key, double value) {
  printf("R\t%s\t%.6g\n", key, value);
}

/* Take a fired deferred's integer result and drop the deferred. */
static int64_t take_int(df_deferred *d) {
  df_result r;
  check(df_deferred_take_result(d, &r) == 0 && r.kind == DF_INT, "take");
  df_deferred_unref(d);
  return r.u.i;
}

/* --- the callbacks -------------------------------------------------------- */

/* Ten distinct "return input + 1" functions, so that case b and the
 * direct-call limit make the same ten indirect calls. */
#define ADD_ONE(n)                                         \
  static df_result add_one_##n(df_result r, void *arg) {  \
    (void)arg;                                             \
    r.u.i += 1;                                            \
    return r;                                              \
  }
ADD_ONE(0) ADD_ONE(1) ADD_ONE(2) ADD_ONE(3) ADD_ONE(4)
ADD_ONE(5) ADD_ONE(6) ADD_ONE(7) ADD_ONE(8) ADD_ONE(9)

static const df_callback_fn add_ones[10] = {
    add_one_0, add_one_1, add_one_2, add_one_3, add_one_4,
    add_one_5, add_one_6, add_one_7, add_one_8, add_one_9};

/* The direct-call limit reads the pointers through volatile, so the
 * compiler can neither inline the calls nor fold the loop. */
static df_callback_fn const volatile direct_table[10] = {
    add_one_0, add_one_1, add_one_2, add_one_3, add_one_4,
    add_one_5, add_one_6, add_one_7, add_one_8, add_one_9};

DF_ERROR_TYPE(bench_error, "BenchError", &df_error_exception);

static df_result raise_bench_error(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  /* No message, like Twisted's `raise BenchError()`: the failure is the
   * one allocation; a formatted message would be a second. */
  return df_raise(&bench_error, NULL);
}

static df_result recover(df_result r, void *arg) {
  (void)arg;
  check(df_failure_check(r.u.failure, &bench_error) != NULL, "case c trap");
  df_result_drop(r);
  return df_int(100);
}

static df_result return_fired_deferred(df_result r, void *arg) {
  (void)arg;
  return df_wait_on(df_succeed(df_int(r.u.i + 1)));
}

/* --- the cases ------------------------------------------------------------- */

/* Allocations made inside df_deferred_callback() for cases a, b, c, summed
 * over a run while count_firing is set; reset by the caller. The timed
 * runs leave it unset: counting is instrumentation, not part of the case
 * (and the other runtimes do not pay for it). */
static uint64_t firing_allocs;
static bool count_firing;
#define FIRE_COUNTED(call)                                    \
  do {                                                        \
    uint64_t before_ = count_firing ? allocations() : 0;      \
    call;                                                     \
    if (count_firing) firing_allocs += allocations() - before_; \
  } while (0)

static void case_a(long n) {
  for (long i = 0; i < n; i++) {
    df_deferred *d = df_deferred_new();
    df_deferred_add_callback(d, add_one_0, NULL);
    FIRE_COUNTED(df_deferred_callback(d, df_int(i)));
    int64_t v = take_int(d);
    check(v == i + 1, "case a");
    sink += v;
  }
}

static void case_b(long n) {
  for (long i = 0; i < n; i++) {
    df_deferred *d = df_deferred_new();
    for (int k = 0; k < 10; k++) df_deferred_add_callback(d, add_ones[k], NULL);
    FIRE_COUNTED(df_deferred_callback(d, df_int(i)));
    int64_t v = take_int(d);
    check(v == i + 10, "case b");
    sink += v;
  }
}

/* Stages 1-4 add one, 5 raises, 6 (a callback) is skipped, 7's errback
 * recovers with 100, 8-10 add one: the result is 103. */
static void case_c(long n) {
  for (long i = 0; i < n; i++) {
    df_deferred *d = df_deferred_new();
    for (int k = 0; k < 4; k++) df_deferred_add_callback(d, add_ones[k], NULL);
    df_deferred_add_callback(d, raise_bench_error, NULL);
    df_deferred_add_callback(d, add_one_5, NULL);
    df_deferred_add_errback(d, recover, NULL);
    for (int k = 7; k < 10; k++) df_deferred_add_callback(d, add_ones[k], NULL);
    FIRE_COUNTED(df_deferred_callback(d, df_int(i)));
    int64_t v = take_int(d);
    check(v == 103, "case c");
    sink += v;
  }
}

static void case_d(long n) {
  for (long i = 0; i < n; i++) {
    df_deferred *d = df_deferred_new();
    for (int k = 0; k < 10; k++)
      df_deferred_add_callback(d, return_fired_deferred, NULL);
    df_deferred_callback(d, df_int(i));
    int64_t v = take_int(d);
    check(v == i + 10, "case d");
    sink += v;
  }
}

/* Case e: gatherResults of 100 deferreds created unfired, then fired one
 * by one (each member released right after its fire), plus a callback
 * that sums the values. */
#define GATHER_N 100

static df_result sum_results(df_result r, void *arg) {
  (void)arg;
  const df_result_array *a = df_result_array_of(r);
  check(a && a->count == GATHER_N, "case e: the array");
  int64_t sum = 0;
  for (size_t k = 0; k < a->count; k++) sum += a->items[k].u.i;
  df_result_drop(r);
  return df_int(sum);
}

static void case_e(long n) {
  df_deferred *ds[GATHER_N];
  for (long i = 0; i < n; i++) {
    for (int k = 0; k < GATHER_N; k++) ds[k] = df_deferred_new();
    df_deferred *g = df_gather_results(ds, GATHER_N, false);
    df_deferred_add_callback(g, sum_results, NULL);
    for (int k = 0; k < GATHER_N; k++) {
      df_deferred_callback(ds[k], df_int(k));
      df_deferred_unref(ds[k]);
    }
    int64_t v = take_int(g);
    check(v == GATHER_N * (GATHER_N - 1) / 2, "case e");
    sink += v;
  }
}

/* The direct-call limit: case b's ten callbacks, no library. */
static void case_direct(long n) {
  for (long i = 0; i < n; i++) {
    df_result r = df_int(i);
    for (int k = 0; k < 10; k++) r = direct_table[k](r, NULL);
    check(r.u.i == i + 10, "direct");
    sink += r.u.i;
  }
}

/* --- timing -------------------------------------------------------------------- */

typedef void (*case_fn)(long n);

/* Best of `reps` runs of `n` iterations, after a warm-up; ns per iteration.
 * Also reports allocations per iteration, and those inside the fire, over
 * a separate, untimed run after a warm-up of its own with the counting
 * allocator; the timed runs use malloc directly. */
static double measure(const char *name, case_fn fn, long n, int reps) {
  long counted = n / 10 + 1;
  fn(counted); /* warm: caches filled, code and data in cache */
  uint64_t allocs = allocations();
  firing_allocs = 0;
  count_firing = true;
  fn(counted);
  count_firing = false;
  allocs = allocations() - allocs;
  uint64_t fire_allocs = firing_allocs;

  use_counting_allocator(false);
  fn(counted); /* warm again: the swap emptied the caches */
  double best = INFINITY;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ns();
    fn(n);
    double t = now_ns() - t0;
    if (t < best) best = t;
  }
  use_counting_allocator(true);

  double per_op = best / (double)n;
  char key[64];
  snprintf(key, sizeof key, "%s.ns", name);
  emit(key, per_op);
  snprintf(key, sizeof key, "%s.allocs", name);
  emit(key, (double)allocs / (double)counted);
  snprintf(key, sizeof key, "%s.fire_allocs", name);
  emit(key, (double)fire_allocs / (double)counted);
  fflush(stdout);
  return per_op;
}

/* --- memory: per pending stage, per unfired deferred ------------------------- */

/* Bytes per unfired deferred, as measured below: case f2's memory floor
 * (huge_chain) writes and reads that many per deferred. */
static double deferred_bytes;

static void measure_memory(void) {
  enum { N_DEFERREDS = 10000, N_STAGES = 100000 };
  static df_deferred *ds[N_DEFERREDS];

  /* Unfired deferreds, cold (no free list) then warm (free list full). */
  df_release_caches();
  int64_t live0 = counts.live;
  uint64_t a0 = allocations();
  for (int i = 0; i < N_DEFERREDS; i++) ds[i] = df_deferred_new();
  deferred_bytes = (double)(counts.live - live0) / N_DEFERREDS;
  emit("mem.deferred_bytes", deferred_bytes);
  emit("mem.deferred_allocs_cold", (double)(allocations() - a0) / N_DEFERREDS);
  for (int i = 0; i < 100; i++) df_deferred_unref(ds[i]);
  a0 = allocations();
  for (int i = 0; i < 100; i++) ds[i] = df_deferred_new();
  emit("mem.deferred_allocs_warm", (double)(allocations() - a0) / 100);
  for (int i = 0; i < N_DEFERREDS; i++) df_deferred_unref(ds[i]);

  /* Pending stages: one deferred with N_STAGES stages, cold. The first
   * two are inline in the deferred; the rest fill pooled blocks. */
  df_release_caches();
  df_deferred *d = df_deferred_new();
  live0 = counts.live;
  a0 = allocations();
  for (int i = 0; i < N_STAGES; i++) df_deferred_add_callback(d, add_one_0, NULL);
  emit("mem.stage_bytes", (double)(counts.live - live0) / N_STAGES);
  emit("mem.stage_allocs_cold", (double)(allocations() - a0) / N_STAGES);
  df_deferred_unref(d);
  df_release_caches();
}

/* --- case f: a million stages, a million-deferred chain ------------------- */

static uintptr_t stack_lowest; /* deepest C stack address seen in a callback */

static void probe_stack(void) {
  char here;
  uintptr_t a = (uintptr_t)&here;
  if (a < stack_lowest) stack_lowest = a;
}

static df_result add_one_probe(df_result r, void *arg) {
  (void)arg;
  probe_stack();
  r.u.i += 1;
  return r;
}

static df_result return_next(df_result r, void *arg) {
  probe_stack();
  df_result_drop(r);
  return df_wait_on(df_deferred_ref(arg));
}

/* Case f runs in a child process, so that its peak RSS is its own, and
 * twice: "cold", the first time the process touches that much memory
 * (every page is a fresh page fault), then "warm", the same run again
 * (best of F_WARM_RUNS),
 * with the memory the first run freed kept by malloc (M_TRIM_THRESHOLD)
 * rather than handed back to the kernel. Every other case is measured
 * warm (best of N after a warm-up run); the warm figures of f are the
 * comparable ones, and both are printed. */
static void keep_freed_memory(void) {
#if defined(__GLIBC__)
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

/* The figures of one run of f1 or f2, printed as key.name value. */
typedef struct f_figures {
  int count;
  const char *names[10];
  double values[10];
} f_figures;

static void f_add(f_figures *f, const char *name, double value) {
  f->names[f->count] = name;
  f->values[f->count++] = value;
}

static void f_emit(const f_figures *f, const char *key) {
  char name[64];
  for (int i = 0; i < f->count; i++) {
    snprintf(name, sizeof name, "%s.%s", key, f->names[i]);
    emit(name, f->values[i]);
  }
}

/* The counted figures (allocations, heap) of an untimed run with the
 * counting allocator, into `timed`, a run without it. */
static void f_take_counts(f_figures *timed, const f_figures *counted) {
  for (int i = 0; i < timed->count; i++)
    if (strncmp(timed->names[i], "allocs", 6) == 0 ||
        strncmp(timed->names[i], "heap", 4) == 0)
      timed->values[i] = counted->values[i];
}

/* values[1] is the total time per stage or deferred: keep the best run. */
static void f_keep_best(f_figures *best, const f_figures *run) {
  if (best->count == 0 || run->values[1] < best->values[1]) *best = *run;
}

/* One run of f1; `ds` is f2's (one deferred needs no array). */
static f_figures huge_stages_once(long n, df_deferred **ds) {
  (void)ds;
  char base;
  f_figures f = {0};
  stack_lowest = (uintptr_t)&base;
  long rss0 = max_rss_kib();
  int64_t live0 = counts.peak = counts.live;
  uint64_t a0 = allocations();
  double t0 = now_ns();
  df_deferred *d = df_deferred_new();
  for (long i = 0; i < n; i++) df_deferred_add_callback(d, add_one_probe, NULL);
  double t1 = now_ns();
  uint64_t a1 = allocations();
  df_deferred_callback(d, df_int(0));
  double t2 = now_ns();
  check(take_int(d) == n, "case f stages");
  f_add(&f, "n", (double)n);
  f_add(&f, "ns_per_stage", (t2 - t0) / (double)n);
  f_add(&f, "add_ns_per_stage", (t1 - t0) / (double)n);
  f_add(&f, "fire_ns_per_stage", (t2 - t1) / (double)n);
  f_add(&f, "allocs_per_stage", (double)(a1 - a0) / (double)n);
  f_add(&f, "heap_bytes_per_stage", (double)(counts.peak - live0) / (double)n);
  f_add(&f, "rss_kib", (double)(max_rss_kib() - rss0));
  f_add(&f, "stack_bytes", (double)((uintptr_t)&base - stack_lowest));
  return f;
}

/* Warm: best of F_WARM_RUNS, like the other cases' best of N. */
#define F_WARM_RUNS 3

/* Prints a cold run as key.cold, if it is to be printed. */
static void f_emit_cold(const f_figures *cold, const char *key, bool print) {
  char name[32];
  if (!print) return;
  snprintf(name, sizeof name, "%s.cold", key);
  f_emit(cold, name);
}

/* One size of f1 or f2 (`once` runs it on n, with `ds`): a cold run
 * (printed if `print_cold`; counted, so its time includes the counting
 * allocator's), an untimed warm run for the counts, then the best of
 * F_WARM_RUNS warm runs with malloc directly, printed under `key`. */
static void f_runs(long n, const char *key, bool print_cold,
                   f_figures (*once)(long n, df_deferred **ds),
                   df_deferred **ds) {
  f_figures cold = once(n, ds), best = {0};
  f_emit_cold(&cold, key, print_cold);
  f_figures counted = once(n, ds); /* warm, counted, untimed */
  use_counting_allocator(false);
  for (int r = 0; r < F_WARM_RUNS; r++) {
    f_figures run = once(n, ds);
    f_keep_best(&best, &run);
  }
  use_counting_allocator(true);
  f_take_counts(&best, &counted);
  f_emit(&best, key);
}

static void stages_runs(long n, const char *key, bool print_cold) {
  keep_freed_memory();
  f_runs(n, key, print_cold, huge_stages_once, NULL);
}

static void huge_stages(long n) { stages_runs(n, "f1", true); }

static f_figures huge_chain_once(long n, df_deferred **ds) {
  char base;
  f_figures f = {0};
  stack_lowest = (uintptr_t)&base;
  long rss0 = max_rss_kib();
  int64_t live0 = counts.peak = counts.live;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) ds[i] = df_deferred_new();
  for (long i = 0; i + 1 < n; i++)
    df_deferred_add_callback(ds[i], return_next, ds[i + 1]);
  df_deferred_add_callback(ds[n - 1], add_one_probe, NULL);
  double t1 = now_ns();
  /* Increasing order: each callback returns an unfired deferred, so each
   * deferred waits on the next; the last fire unwinds the whole chain. */
  for (long i = 0; i < n; i++) df_deferred_callback(ds[i], df_int(i));
  double t2 = now_ns();
  check(df_deferred_waiting_on(ds[0]) == NULL, "case f chain: resolved");
  for (long i = 1; i < n; i++) df_deferred_unref(ds[i]);
  check(take_int(ds[0]) == n, "case f chain");
  double t3 = now_ns();
  f_add(&f, "n", (double)n);
  f_add(&f, "ns_per_deferred", (t3 - t0) / (double)n);
  f_add(&f, "build_ns_per_deferred", (t1 - t0) / (double)n);
  f_add(&f, "fire_ns_per_deferred", (t2 - t1) / (double)n);
  f_add(&f, "free_ns_per_deferred", (t3 - t2) / (double)n);
  f_add(&f, "heap_bytes_per_deferred", (double)(counts.peak - live0) / (double)n);
  f_add(&f, "rss_kib", (double)(max_rss_kib() - rss0));
  f_add(&f, "stack_bytes", (double)((uintptr_t)&base - stack_lowest));
  return f;
}

/* What f2 cannot go below on this machine whatever the library does: a
 * chain of n deferreds of deferred_bytes each writes every byte once
 * (creating) and reads it back at least once (firing and freeing). This
 * times just that, one memset per deferred-sized piece of a buffer that
 * was touched beforehand (warm, like f2's figure) and one load per cache
 * line, best of F_WARM_RUNS: no allocator, no library. */
static double memory_floor_ns(long n) {
  size_t size = deferred_bytes > 0 ? (size_t)deferred_bytes : 64;
  char *buf = malloc((size_t)n * size);
  check(buf != NULL, "case f memory floor: malloc");
  memset(buf, 1, (size_t)n * size);
  double best = INFINITY;
  for (int r = 0; r < F_WARM_RUNS; r++) {
    double t0 = now_ns();
    for (long i = 0; i < n; i++) memset(buf + (size_t)i * size, (int)i, size);
    uint64_t sum = 0;
    for (size_t at = 0; at < (size_t)n * size; at += 64) {
      uint64_t word;
      memcpy(&word, buf + at, sizeof word);
      sum += word;
    }
    double t = now_ns() - t0;
    sink += (int64_t)(sum & 1);
    if (t < best) best = t;
  }
  free(buf);
  return best / (double)n;
}

/* One size of f2; the main size also prints its memory floor. */
static void chain_runs(long n, const char *key, bool main_size) {
  keep_freed_memory();
  df_deferred **ds = malloc((size_t)n * sizeof *ds);
  check(ds != NULL, "case f chain: malloc");
  memset(ds, 0, (size_t)n * sizeof *ds); /* its pages are not the library's */
  f_runs(n, key, main_size, huge_chain_once, ds);
  free(ds);
  if (main_size) {
    emit("f2.floor_ns_per_deferred", memory_floor_ns(n));
    emit("f2.floor_bytes", deferred_bytes);
  }
}

static void huge_chain(long n) { chain_runs(n, "f2", true); }

/* Case f at a smaller size, to show how its costs grow: printed as f1@N.*
 * and f2@N.* (report.py's growth table), without the cold run. */
#define F_SCALING_SIZES {10000, 100000}

static void stages_at_size(long n) {
  char key[32];
  snprintf(key, sizeof key, "f1@%ld", n);
  stages_runs(n, key, false);
}

static void chain_at_size(long n) {
  char key[32];
  snprintf(key, sizeof key, "f2@%ld", n);
  chain_runs(n, key, false);
}

/* Case f as a case_fn, for --callgrind. */
static void case_f1(long n) {
  if (n > 0) huge_stages_once(n, NULL);
}
static void case_f2(long n) {
  if (n < 2) return;
  df_deferred **ds = malloc((size_t)n * sizeof *ds);
  check(ds != NULL, "case f chain: malloc");
  huge_chain_once(n, ds);
  free(ds);
}

static void in_child(void (*fn)(long), long n) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    fn(n);
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  check(pid > 0 && waitpid(pid, &status, 0) == pid, "fork");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench: case f child failed (status %d)\n", status);
    exit(2);
  }
}

/* --- main ----------------------------------------------------------------- */

static int usage(void) {
  fprintf(stderr,
          "usage: bench [--quick | --callgrind-b N | --callgrind CASE N]\n"
          "  CASE: a, b, c, d, e, f (f1) or g (f2); N: a count, 0 or more\n");
  return 1;
}

/* A whole decimal count, 0 or more, or false. */
static bool parse_count(const char *text, long *out) {
  char *end;
  errno = 0;
  long n = strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || n < 0) return false;
  *out = n;
  return true;
}

int main(int argc, char **argv) {
  /* The instruction counts use malloc directly, as the timed runs do. */
  long n;
  if (argc > 1 && strcmp(argv[1], "--callgrind-b") == 0) {
    if (argc != 3 || !parse_count(argv[2], &n)) return usage();
    case_b(1000);
    case_b(n);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
    /* Any case, for profiling by hand: --callgrind a|b|c|d|e|f|g N */
    static const case_fn fns[] = {case_a, case_b, case_c,    case_d,
                                  case_e, case_f1, case_f2};
    if (argc != 4 || !parse_count(argv[3], &n)) return usage();
    int k = argv[2][0] - 'a';
    if (k < 0 || k > 6 || argv[2][1] != '\0') return usage();
    fns[k](100);
    fns[k](n);
    return 0;
  }
  quick = argc == 2 && strcmp(argv[1], "--quick") == 0;
  if (argc > 1 && !quick) return usage();
  /* Before the library allocates anything. */
  use_counting_allocator(true);
  long scale = quick ? 20 : 1;
  int reps = quick ? 2 : 7;

  struct rlimit stack;
  getrlimit(RLIMIT_STACK, &stack);
  printf("# C: libdeferred %s, static, best of %d runs per case\n",
         DF_VERSION_STRING, reps);
  emit("stack_limit_kib", stack.rlim_cur == RLIM_INFINITY
                              ? -1.0
                              : (double)stack.rlim_cur / 1024.0);

  measure("direct", case_direct, 4000000 / scale, reps);
  measure("a", case_a, 2000000 / scale, reps);
  measure("b", case_b, 1000000 / scale, reps);
  measure("c", case_c, 500000 / scale, reps);
  measure("d", case_d, 300000 / scale, reps);
  measure("e", case_e, 30000 / scale, reps);

  /* Steady-state allocations of adding stages, on their own. */
  {
    df_deferred *d = df_deferred_new();
    uint64_t a0 = allocations();
    for (int i = 0; i < 1000; i++) df_deferred_add_callback(d, add_one_0, NULL);
    df_deferred_unref(d);
    d = df_deferred_new();
    a0 = allocations();
    for (int i = 0; i < 1000; i++) df_deferred_add_callback(d, add_one_0, NULL);
    emit("stage_allocs_warm", (double)(allocations() - a0) / 1000);
    df_deferred_unref(d);
  }

  measure_memory();
  long huge = 1000000;
  static const long smaller[] = F_SCALING_SIZES;
  for (size_t i = 0; i < sizeof smaller / sizeof smaller[0]; i++) {
    in_child(stages_at_size, smaller[i]);
    in_child(chain_at_size, smaller[i]);
  }
  in_child(huge_stages, huge);
  in_child(huge_chain, huge);

  printf("R\tsink\t%" PRId64 "\n", (int64_t)sink % 10);
  fflush(stdout);

  /* The one assertion: the firing path of a and b does not allocate once
   * warm. (Re-measured here so the exit status does not depend on parsing
   * the output.) */
  case_a(100);
  case_b(100);
  firing_allocs = 0;
  count_firing = true;
  case_a(1000);
  case_b(1000);
  count_firing = false;
  if (firing_allocs != 0) {
    fprintf(stderr, "bench: the firing path of case a/b allocated %" PRIu64
                    " times once warm\n", firing_allocs);
    return 3;
  }
  return 0;
}
