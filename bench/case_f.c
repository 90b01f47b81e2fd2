/* Case f, C only: one deferred with 1,000,000 stages (f1) and a chain of
 * 1,000,000 deferreds each waiting on the next (f2): time, allocations,
 * heap, peak RSS and the deepest C stack a callback sees, cold and warm,
 * at the main size and at the smaller F_SCALING_SIZES, each in a forked
 * child; and f2's memory floor. */
#define _GNU_SOURCE /* fork, waitpid, mallopt */
#include "bench.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

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

void huge_stages(long n) { stages_runs(n, "f1", true); }

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

/* One size of f2; the main size also prints its memory floor and its
 * ideal bound (ideal.c). */
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
    emit("f2.ideal_ns_per_deferred", ideal_chain_ns(n, F_WARM_RUNS));
  }
}

void huge_chain(long n) { chain_runs(n, "f2", true); }

void stages_at_size(long n) {
  char key[32];
  snprintf(key, sizeof key, "f1@%ld", n);
  stages_runs(n, key, false);
}

void chain_at_size(long n) {
  char key[32];
  snprintf(key, sizeof key, "f2@%ld", n);
  chain_runs(n, key, false);
}

/* Case f as a case_fn, for --callgrind. */
void case_f1(long n) {
  if (n > 0) huge_stages_once(n, NULL);
}
void case_f2(long n) {
  if (n < 2) return;
  df_deferred **ds = malloc((size_t)n * sizeof *ds);
  check(ds != NULL, "case f chain: malloc");
  huge_chain_once(n, ds);
  free(ds);
}

void in_child(void (*fn)(long), long n) {
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
