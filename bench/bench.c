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
 *   g  df_race of 100 members with cancellers, one fires, 99 cancelled
 *   h  a DeferredLock acquire + release (h2: contended, a hand-over)
 *   i  a DeferredSemaphore of 10 tokens, 100 acquires and releases
 *   j  10,000 delayed calls on the test clock, run by one advance (j2:
 *      scheduled, then cancelled), per call
 *
 * (cases_compose.c says what each of g-j does; the peers run them where
 * the runtime has the feature), plus the direct-call limit: the 10 callbacks of case b called through a
 * volatile function-pointer table, each from a call site of its own, which
 * is what case b would cost if the library were free; and, for reference,
 * the same 10 calls from one call site in a loop, as a dispatcher makes
 * them; and for cases e and f2 their ideal bounds (ideal.c): the same
 * pattern with the least a deferred must hold and do and no library,
 * which a library, doing all that and more, will not beat on the machine.
 * Those two cases' targets are set against these bounds (report.py).
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
 *   bench --callgrind CASE N   a warm-up run of CASE, then N iterations
 *                    of it and nothing else (run.sh runs it under
 *                    callgrind at N and at 0 and divides the difference);
 *                    CASE is a-e, f1, f2, g, h, h2, i, j, j@1000 or j2
 */
#define _GNU_SOURCE /* clock_gettime, getrusage */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* --- helpers ----------------------------------------------------------------- */

volatile int64_t sink;
double deferred_bytes;

double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

long max_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

void emit(const char *key, double value) {
  printf("R\t%s\t%.6g\n", key, value);
}

/* --- timing -------------------------------------------------------------------- */

double best_run_ns(case_fn fn, long n, int reps) {
  double best = INFINITY;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ns();
    fn(n);
    double t = now_ns() - t0;
    if (t < best) best = t;
  }
  return best;
}

/* What run_case() finds, per iteration of a case. */
typedef struct measured {
  double ns;          /* the best timed run's time                    */
  double allocs;      /* library allocations (counting allocator)     */
  double fire_allocs; /* those inside df_deferred_callback() (a-c)    */
} measured;

/* Best of `reps` runs of `n` iterations, after a warm-up. Allocations
 * are counted over a separate, untimed run after a warm-up of its own
 * with the counting allocator; the timed runs use malloc directly. */
static measured run_case(case_fn fn, long n, int reps) {
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
  double best = best_run_ns(fn, n, reps);
  use_counting_allocator(true);
  return (measured){best / (double)n, (double)allocs / (double)counted,
                    (double)fire_allocs / (double)counted};
}

static void emit_field(const char *name, const char *field, double value) {
  char key[64];
  snprintf(key, sizeof key, "%s.%s", name, field);
  emit(key, value);
}

/* Cases a-e and the direct-call limit: ns, allocations and allocations
 * inside the fire, per iteration. */
static void measure(const char *name, case_fn fn, long n, int reps) {
  measured m = run_case(fn, n, reps);
  emit_field(name, "ns", m.ns);
  emit_field(name, "allocs", m.allocs);
  emit_field(name, "fire_allocs", m.fire_allocs);
  fflush(stdout);
}

/* Cases g-j: ns and allocations per operation, an iteration being `per`
 * operations (10,000 delayed calls for j: its figures are per call). */
static void measure_per(const char *name, case_fn fn, long n, int reps,
                        long per) {
  measured m = run_case(fn, n, reps);
  emit_field(name, "ns", m.ns / (double)per);
  emit_field(name, "allocs", m.allocs / (double)per);
  fflush(stdout);
}

/* --- memory: per pending stage, per unfired deferred ------------------------- */

/* Allocations per stage added to a warm thread: a first deferred's 1,000
 * stages fill the block caches, a second's 1,000 are counted. */
static void measure_stage_allocs_warm(void) {
  df_deferred *d = df_deferred_new();
  for (int i = 0; i < 1000; i++) df_deferred_add_callback(d, add_one_0, NULL);
  df_deferred_unref(d);
  d = df_deferred_new();
  uint64_t a0 = allocations();
  for (int i = 0; i < 1000; i++) df_deferred_add_callback(d, add_one_0, NULL);
  emit("stage_allocs_warm", (double)(allocations() - a0) / 1000);
  df_deferred_unref(d);
}

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

/* --- the machine ---------------------------------------------------------- */

#if defined(__clang__)
#define COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#else
#define COMPILER "an unknown compiler"
#endif
#ifndef DF_BENCH_C_FLAGS /* bench/CMakeLists.txt passes the build's flags */
#define DF_BENCH_C_FLAGS "flags not known"
#endif

/* The CPU's model name from /proc/cpuinfo, or "unknown CPU". */
static void cpu_model(char *out, size_t size) {
  snprintf(out, size, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) == 0 && colon) {
      snprintf(out, size, "%s", colon + 1 + strspn(colon + 1, " \t"));
      out[strcspn(out, "\n")] = '\0';
      break;
    }
  }
  fclose(f);
}

/* "#" lines saying what the figures were measured on (report.py prints
 * them above the table), so that a pasted run carries its machine. */
static void print_machine(void) {
  char cpu[160];
  cpu_model(cpu, sizeof cpu);
  struct utsname u;
  if (uname(&u) != 0) snprintf(u.sysname, sizeof u.sysname, "unknown OS");
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  printf("# machine: %s, %ld online CPUs, %.1f GiB; %s %s %s\n", cpu,
         sysconf(_SC_NPROCESSORS_ONLN),
         pages > 0 && page > 0 ? (double)pages * (double)page / 1073741824.0
                               : 0.0,
         u.sysname, u.release, u.machine);
  char compiler[] = COMPILER; /* clang's version ends in a space */
  size_t len = strlen(compiler);
  while (len > 0 && compiler[len - 1] == ' ') compiler[--len] = '\0';
  printf("# C built with %s, %s\n", compiler, DF_BENCH_C_FLAGS);
}

/* --- main ----------------------------------------------------------------- */

/* The cases --callgrind runs by name, each with the warm-up run it gets
 * first (the same in both of run.sh's runs, so it cancels out). */
static const struct named_case {
  const char *name;
  case_fn fn;
  long warm_up;
} named_cases[] = {
    {"a", case_a, 100},   {"b", case_b, 100},   {"c", case_c, 100},
    {"d", case_d, 100},   {"e", case_e, 100},   {"f1", case_f1, 100},
    {"f2", case_f2, 100}, {"g", case_g, 100},   {"h", case_h, 100},
    {"h2", case_h2, 100}, {"i", case_i, 100},   {"j", case_j, 2},
    {"j@1000", case_j_small, 2},                {"j2", case_j2, 2},
};
enum { N_NAMED_CASES = sizeof named_cases / sizeof named_cases[0] };

static int usage(void) {
  fprintf(stderr, "usage: bench [--quick | --callgrind CASE N]\n"
                  "  CASE: one of");
  for (int k = 0; k < N_NAMED_CASES; k++)
    fprintf(stderr, " %s", named_cases[k].name);
  fprintf(stderr, "; N: a count of iterations, 0 or more\n");
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

/* `n` iterations divided by the quick mode's `scale`, at least one. */
static long scaled(long n, long scale) {
  return n / scale > 0 ? n / scale : 1;
}

int main(int argc, char **argv) {
  /* The instruction counts use malloc directly, as the timed runs do. */
  if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
    long n;
    if (argc != 4 || !parse_count(argv[3], &n)) return usage();
    for (int k = 0; k < N_NAMED_CASES; k++) {
      if (strcmp(argv[2], named_cases[k].name) != 0) continue;
      named_cases[k].fn(named_cases[k].warm_up);
      named_cases[k].fn(n);
      return 0;
    }
    return usage();
  }
  bool quick = argc == 2 && strcmp(argv[1], "--quick") == 0;
  if (argc > 1 && !quick) return usage();
  /* Before the library allocates anything. */
  use_counting_allocator(true);
  long scale = quick ? 20 : 1;
  int reps = quick ? 2 : 7;

  struct rlimit stack;
  getrlimit(RLIMIT_STACK, &stack);
  print_machine();
  printf("# C: libdeferred %s, static, best of %d runs per case\n",
         DF_VERSION_STRING, reps);
  /* report.py judges no timed target on a quick run's figures. */
  emit("quick", quick ? 1.0 : 0.0);
  emit("stack_limit_kib", stack.rlim_cur == RLIM_INFINITY
                              ? -1.0
                              : (double)stack.rlim_cur / 1024.0);

  measure("direct", case_direct, 4000000 / scale, reps);
  measure("direct_one_site", case_direct_one_site, 4000000 / scale, reps);
  measure("a", case_a, 2000000 / scale, reps);
  measure("b", case_b, 1000000 / scale, reps);
  measure("c", case_c, 500000 / scale, reps);
  measure("d", case_d, 300000 / scale, reps);
  measure("e", case_e, 30000 / scale, reps);
  emit("e_ideal.ns", ideal_gather_ns(30000 / scale, reps));

  /* The composition layer: g per race, h and h2 per round, i per round
   * of 100 acquires, j and j2 per delayed call. */
  measure_per("g", case_g, scaled(20000, scale), reps, 1);
  measure_per("h", case_h, scaled(4000000, scale), reps, 1);
  measure_per("h2", case_h2, scaled(1000000, scale), reps, 1);
  measure_per("i", case_i, scaled(40000, scale), reps, 1);
  measure_per("j", case_j, scaled(40, scale), reps, TIMER_N);
  measure_per("j@1000", case_j_small, scaled(400, scale), reps, TIMER_N_SMALL);
  measure_per("j2", case_j2, scaled(40, scale), reps, TIMER_N);

  measure_stage_allocs_warm();
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
