/* Helpers shared by the cmocka suites tests/test_*.c.
 *
 * Each suite is its own executable and includes this header once: the
 * data are `static` and the functions `static inline`, so every executable
 * gets its own copy and a suite that does not use a helper pays nothing
 * (and gets no unused-function warning). What is here:
 *
 *   - error types several suites raise (GenericError, RuntimeError, ...);
 *   - the event log: recording callbacks append "label:value " to `events`
 *     and the tests compare the whole string;
 *   - counters: `reports` (unhandled-failure reports) and `destroyed`
 *     (values whose counting destructor ran);
 *   - the usual cmocka setup/teardown built on them;
 *   - small callbacks that several suites use under the same name;
 *   - death tests: a function run in a forked child, its stderr captured
 *     (for suites that define _POSIX_C_SOURCE before including this);
 *   - a counting allocator, and the out-of-memory driver: a scenario run
 *     again and again with each of its allocations refused in turn (or
 *     each run of several allocations in a row, or every allocation from
 *     each one on).
 *
 * Suite-specific helpers stay in their suite. The callbacks below keep the
 * names the suites gave them, since a stage's callback name shows in
 * reports (test_unhandled.c compares it).
 */
#ifndef DF_TESTS_SUPPORT_H
#define DF_TESTS_SUPPORT_H

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deferred.h"

/* --- error types ---------------------------------------------------------- */

/* Python's exception types, as the Twisted tests the suites port use them. */
static DF_ERROR_TYPE(generic_error, "GenericError", &df_error_exception);
static DF_ERROR_TYPE(runtime_error, "RuntimeError", &df_error_exception);
static DF_ERROR_TYPE(zero_division_error, "ZeroDivisionError",
                     &df_error_exception);

/* --- the event log: every recording callback appends "label:value " ------- */

/* The log itself; support_reset() empties it. Longer text is cut off. */
static char events[4096];

/* Appends printf-style text and one space to `events`. */
static inline void ev(const char *fmt, ...) {
  size_t len = strlen(events);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(events + len, sizeof events - len, fmt, ap);
  va_end(ap);
  len = strlen(events);
  if (len + 1 < sizeof events) {
    events[len] = ' ';
    events[len + 1] = '\0';
  }
}

/* Logs "label:<r>": a failure's brief text, or a value's description. */
static inline void ev_result(const char *label, df_result r) {
  char buf[256];
  if (df_result_is_failure(r))
    df_failure_brief(r.u.failure, buf, sizeof buf);
  else
    df_result_describe(r, buf, sizeof buf);
  ev("%s:%s", label, buf);
}

/* --- counters ------------------------------------------------------------- */

/* Unhandled-failure reports seen by count_reports (or a suite's handler). */
static int reports;

/* Unhandled handler that only counts reports. */
static inline void count_reports(const df_unhandled *report, void *arg) {
  (void)report;
  (void)arg;
  reports++;
}

/* Times count_destroy ran, and the pointer it was last given. */
static int destroyed;
static void *last_destroyed;

/* Destructor for df_pointer values and payloads: counts, frees nothing. */
static inline void count_destroy(void *p) {
  destroyed++;
  last_destroyed = p;
}

/* --- setup and teardown --------------------------------------------------- */

/* Empties the event log and zeroes the shared counters. */
static inline void support_reset(void) {
  events[0] = '\0';
  reports = 0;
  destroyed = 0;
  last_destroyed = NULL;
}

/* cmocka setup: support_reset(), and count_reports as unhandled handler. */
static inline int support_setup(void **state) {
  (void)state;
  support_reset();
  df_set_unhandled_handler(count_reports, NULL);
  return 0;
}

/* cmocka teardown: puts the default unhandled handler back. */
static inline int support_teardown(void **state) {
  (void)state;
  df_set_unhandled_handler(NULL, NULL);
  return 0;
}

/* The same for suites about debug mode: debugging on for the test, off
 * after it. */
static inline int support_debug_setup(void **state) {
  support_setup(state);
  df_set_debugging(true);
  return 0;
}

static inline int support_debug_teardown(void **state) {
  df_set_debugging(false);
  return support_teardown(state);
}

/* --- failures -------------------------------------------------------------- */

/* The type of the failure `d` holds (NULL if it holds none, or has not
 * fired). */
static inline const df_error_type *failure_type_of(const df_deferred *d) {
  const df_result *r = df_deferred_result(d);
  return r && df_result_is_failure(*r) ? df_failure_type(r->u.failure) : NULL;
}

/* Asserts that f's traceback (df_failure_traceback) contains `needle`,
 * and prints the traceback if it does not. */
static inline void assert_traceback_contains(const df_failure *f,
                                             const char *needle) {
  char *text = df_failure_traceback(f);
  assert_non_null(text);
  bool found = strstr(text, needle) != NULL;
  if (!found) print_error("no \"%s\" in the traceback:\n%s", needle, text);
  free(text);
  assert_true(found);
}

/* --- callbacks ------------------------------------------------------------ */

/* Passes the result on unchanged. */
static inline df_result pass(df_result r, void *arg) {
  (void)arg;
  return r;
}

/* Handles the result: drops it and returns None. */
static inline df_result handle(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_none();
}

/* Handles whatever the deferreds hold (failures made on purpose:
 * Twisted's "catch") with a last errback, then releases them. */
static inline void release_handled(df_deferred *const *ds, size_t n) {
  for (size_t i = 0; i < n; i++) {
    df_deferred_add_errback(ds[i], handle, NULL);
    df_deferred_unref(ds[i]);
  }
}

/* Returns the deferred given as `arg`, which stays the caller's (Twisted's
 * `lambda _: other`): takes a reference of its own. */
static inline df_result return_deferred(df_result r, void *arg) {
  df_result_drop(r);
  return df_wait_on(df_deferred_ref(arg));
}

/* Returns the deferred given as `arg`, handing over the reference `arg`
 * carries (for chains whose links nothing else holds). */
static inline df_result return_deferred_owned(df_result r, void *arg) {
  df_result_drop(r);
  return df_wait_on(arg);
}

/* --- out of memory ------------------------------------------------------- */

/* An allocator that refuses support_fail_run allocations in a row (malloc
 * or realloc), starting with the support_fail_at-th one it is asked for
 * (none if that is 0), counting them in support_failed_allocations. */
#define SUPPORT_FAIL_FOREVER LONG_MAX /* a run: every allocation from then on */
static long support_allocations, support_fail_at, support_fail_run = 1;
static long support_failed_allocations;

/* Counts one allocation; true if it is one to refuse. */
static inline bool support_refuse_this_allocation(void) {
  long n = ++support_allocations;
  if (support_fail_at <= 0 || n < support_fail_at ||
      n - support_fail_at >= support_fail_run)
    return false;
  support_failed_allocations++;
  return true;
}

static inline void *support_failing_malloc(size_t n) {
  return support_refuse_this_allocation() ? NULL : malloc(n);
}

static inline void *support_failing_realloc(void *p, size_t n) {
  return support_refuse_this_allocation() ? NULL : realloc(p, n);
}

/* Empty the caches (the allocator may change only then), zero the counts
 * and install the failing allocator. */
static inline void support_install_failing_allocator(void) {
  df_release_caches();
  support_allocations = 0;
  support_failed_allocations = 0;
  assert_int_equal(df_set_allocator(support_failing_malloc,
                                    support_failing_realloc, free),
                   0);
}

/* From an empty cache on, count the library's allocations in
 * support_allocations (refusing none); support_default_allocator() puts
 * the default allocator back (the caches are emptied first: the
 * allocator may change only then). */
static inline void support_count_allocations(void) {
  support_fail_at = 0; /* never refuse */
  support_install_failing_allocator();
}

/* From an empty cache on, refuse every allocation of the library until
 * support_default_allocator(). */
static inline void support_refuse_every_allocation(void) {
  support_fail_at = 1;
  support_fail_run = SUPPORT_FAIL_FOREVER;
  support_install_failing_allocator();
}

static inline void support_default_allocator(void) {
  df_release_caches();
  df_set_allocator(NULL, NULL, NULL);
}

/* Run `scenario` with `run` of the library's allocations refused in a row
 * from the n-th on (SUPPORT_FAIL_FOREVER: every one from the n-th on), for
 * n = 1, 2, ..., until a run gets through without reaching its n-th
 * allocation. Before each run the caches are emptied (the allocator may
 * change only then) and `destroyed` is zeroed; after it the default
 * allocator is back. `check(outcome, failed)` asserts what a run may end
 * with, `failed` telling whether an allocation was refused; n must stay
 * below `max_points`. Returns how many starting points there were. */
static inline long support_fail_runs_of_allocations(
    int64_t (*scenario)(void), void (*check)(int64_t outcome, bool failed),
    long max_points, long run) {
  long runs = 0;
  support_fail_run = run;
  for (support_fail_at = 1;; support_fail_at++) {
    support_failed_allocations = 0;
    destroyed = 0;
    support_install_failing_allocator();
    int64_t outcome = scenario();
    support_default_allocator();
    runs++;
    bool failed = support_failed_allocations != 0;
    check(outcome, failed);
    if (!failed) break;
    assert_true(support_fail_at < max_points);
  }
  support_fail_run = 1;
  return runs - 1;
}

/* The same with one allocation refused at a time. */
static inline long support_fail_each_allocation(
    int64_t (*scenario)(void), void (*check)(int64_t outcome, bool failed),
    long max_points) {
  return support_fail_runs_of_allocations(scenario, check, max_points, 1);
}

/* support_fail_each_allocation, asserting that the scenario allocates
 * more than a few times (so that the test refuses something) and printing
 * how many allocations it refused. */
static inline void support_check_each_allocation_failure(
    int64_t (*scenario)(void), void (*check)(int64_t outcome, bool failed),
    long max_points) {
  long points = support_fail_each_allocation(scenario, check, max_points);
  assert_true(points > 4);
  print_message("%ld allocation failure points, each handled\n", points);
}

/* --- death tests (for suites that define _POSIX_C_SOURCE first) --------- */

#if defined(_POSIX_C_SOURCE)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* How a child run by support_run_child ended, and what it wrote to stderr
 * (without the lines valgrind adds when the suite runs under it). */
typedef struct support_child {
  bool aborted;     /* killed by SIGABRT */
  bool exited;      /* ended by _exit: fn returned (the status is not
                       checked: valgrind sets its own, for the leaks of a
                       child that exits without freeing) */
  char text[32768]; /* cut off beyond this */
} support_child;

/* Drop the lines valgrind writes to the child's stderr ("==123== ...",
 * "**123** ..."): they are not the child's. */
static inline void support_drop_valgrind_lines(char *text) {
  char *out = text;
  for (char *line = text; *line;) {
    char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
    char c = line[0];
    bool valgrind = false;
    if ((c == '=' || c == '*') && line[1] == c) {
      size_t digits = strspn(line + 2, "0123456789");
      valgrind = digits > 0 && line[2 + digits] == c && line[3 + digits] == c;
    }
    if (!valgrind) {
      memmove(out, line, len);
      out += len;
    }
    line += len;
  }
  *out = '\0';
}

/* Run fn(arg) in a forked child whose stderr is captured (a death test:
 * fn is expected to abort). The child never returns to cmocka: it ends
 * in fn, or with _exit(0) after it. */
static inline void support_run_child(void (*fn)(void *), void *arg,
                                     support_child *out) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    close(fds[1]);
    /* cmocka catches these in the test process; the child must die */
    signal(SIGABRT, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    fn(arg);
    fflush(stderr);
    _exit(0);
  }
  close(fds[1]);
  size_t len = 0;
  char chunk[4096];
  ssize_t n;
  while ((n = read(fds[0], chunk, sizeof chunk)) > 0) {
    size_t take = (size_t)n;
    if (take > sizeof out->text - 1 - len) take = sizeof out->text - 1 - len;
    memcpy(out->text + len, chunk, take);
    len += take;
  }
  close(fds[0]);
  out->text[len] = '\0';
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  out->aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  out->exited = WIFEXITED(status);
  support_drop_valgrind_lines(out->text);
}
#endif /* _POSIX_C_SOURCE */

#endif /* DF_TESTS_SUPPORT_H */
