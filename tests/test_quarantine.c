/* Debug mode's quarantine (src/core/quarantine.c): a deferred made in
 * debug mode and freed is poisoned and not reused for at least the next
 * 1,024 deferreds freed on the thread, and a use of it after its last
 * unref (ref, unref, add, fire, cancel) aborts with a report naming the
 * deferred, where it was created and where its last reference went.
 *
 * Death tests: the deferred is made in the test (so its address and the
 * line that made it are known), then released and misused in a forked
 * child, whose end (SIGABRT) and stderr are checked: the report's first
 * lines exactly, then its three native backtraces (their frames' text
 * depends on the build, so only their form is checked). */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, waitpid (support.h) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deferred.h"
#include "support.h"

/* --- the releases and the uses, one per line (their lines are in reports) */

static const int release_line = __LINE__ + 1;
static void release(df_deferred *d) { df_deferred_unref(d); }

static const int unref_line = __LINE__ + 1;
static void use_unref(df_deferred *d) { df_deferred_unref(d); }
static void use_ref(df_deferred *d) { df_deferred_ref(d); }
static void use_add(df_deferred *d) { df_deferred_add_callback(d, pass, NULL); }
static const int callback_line = __LINE__ + 1;
static void use_callback(df_deferred *d) { df_deferred_callback(d, df_int(1)); }
static df_failure *oops(void) { return df_failure_new(NULL, "oops"); }
static const int errback_line = __LINE__ + 1;
static void use_errback(df_deferred *d) { df_deferred_errback(d, oops()); }
static const int cancel_line = __LINE__ + 1;
static void use_cancel(df_deferred *d) { df_deferred_cancel(d); }

typedef struct misuse {
  df_deferred *d;
  void (*use)(df_deferred *d);
  bool released; /* the child need not release it first */
} misuse;

static void release_then_use(void *arg) {
  misuse *m = arg;
  if (!m->released) release(m->d);
  m->use(m->d);
}

/* The lines after the report's head: three native backtraces, each a
 * heading and one or more frames, and nothing else. */
static void assert_backtraces_follow(const char *rest) {
  static const char *const headings[] = {
      "Native backtrace where it was created:\n",
      "Native backtrace where its last reference was released:\n",
      "Native backtrace of this use:\n"};
  for (size_t i = 0; i < 3; i++) {
    size_t n = strlen(headings[i]);
    if (strncmp(rest, headings[i], n) != 0)
      print_error("expected \"%s\" at:\n%s\n", headings[i], rest);
    assert_true(strncmp(rest, headings[i], n) == 0);
    rest += n;
    int frames = 0;
    while (strncmp(rest, "    ", 4) == 0 && strchr(rest, '\n')) {
      rest = strchr(rest, '\n') + 1;
      frames++;
    }
    assert_true(frames > 0);
  }
  assert_string_equal(rest, "");
}

/* Run the misuse in a child and check its report: `what` is the call
 * named, `used_line` the line of the use (0 for a call that records no
 * site), `released` the report's line about the last reference. */
static void expect_report(misuse *m, const char *what, int created_line,
                          const char *created_func, const char *released,
                          int used_line, const char *used_func) {
  support_child child;
  support_run_child(release_then_use, m, &child);
  assert_true(child.aborted);
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "libdeferred: %s on a freed deferred, <Deferred at %p> "
                   "(debug mode)\n"
                   "  created at tests/test_quarantine.c:%d in %s\n"
                   "%s",
                   what, (void *)m->d, created_line, created_func, released);
  if (used_line)
    snprintf(head + n, sizeof head - (size_t)n,
             "  used again at tests/test_quarantine.c:%d in %s\n", used_line,
             used_func);
  if (strncmp(child.text, head, strlen(head)) != 0)
    print_error("expected the report to start with:\n%s\ngot:\n%s\n", head,
                child.text);
  assert_true(strncmp(child.text, head, strlen(head)) == 0);
  assert_backtraces_follow(child.text + strlen(head));
  assert_null(strstr(child.text, "double free")); /* not glibc's message */
}

static char released_by_release[128];
static const char *released_here(void) {
  snprintf(released_by_release, sizeof released_by_release,
           "  last reference released at tests/test_quarantine.c:%d in "
           "release\n",
           release_line);
  return released_by_release;
}

/* Each test makes its deferred on one line, noting it. */
#define MAKE(d, line) \
  df_deferred *d = df_deferred_new(); const int line = __LINE__

/* The case: df_deferred_unref twice (it went unnoticed, the free
 * list reusing the memory; and with DF_DEBUG=1 glibc said "double free
 * detected"). */
static void test_double_unref_aborts_naming_the_deferred(void **state) {
  (void)state;
  MAKE(d, line);
  misuse m = {d, use_unref, false};
  expect_report(&m, "df_deferred_unref()", line, __func__, released_here(),
                unref_line, "use_unref");
  df_deferred_unref(d); /* the test's own copy, unharmed by the child */
}

static void test_ref_after_the_last_unref_aborts(void **state) {
  (void)state;
  MAKE(d, line);
  misuse m = {d, use_ref, false};
  expect_report(&m, "df_deferred_ref()", line, __func__, released_here(), 0,
                NULL);
  df_deferred_unref(d);
}

static void test_add_after_the_last_unref_aborts(void **state) {
  (void)state;
  MAKE(d, line);
  misuse m = {d, use_add, false};
  expect_report(&m, "an add (df_deferred_add_*)", line, __func__,
                released_here(), 0, NULL);
  df_deferred_unref(d);
}

static void test_callback_after_the_last_unref_aborts(void **state) {
  (void)state;
  MAKE(d, line);
  misuse m = {d, use_callback, false};
  expect_report(&m, "df_deferred_callback()", line, __func__, released_here(),
                callback_line, "use_callback");
  df_deferred_unref(d);
}

static void test_errback_after_the_last_unref_aborts(void **state) {
  (void)state;
  MAKE(d, line);
  misuse m = {d, use_errback, false};
  expect_report(&m, "df_deferred_errback()", line, __func__, released_here(),
                errback_line, "use_errback");
  df_deferred_unref(d);
}

static void test_cancel_after_the_last_unref_aborts(void **state) {
  (void)state;
  MAKE(d, line);
  misuse m = {d, use_cancel, false};
  expect_report(&m, "df_deferred_cancel()", line, __func__, released_here(),
                cancel_line, "use_cancel");
  df_deferred_unref(d);
}

/* An unref through a stale pointer: freed, then 100 more deferreds made
 * and freed (outside debug mode, the next one would have been given the
 * same memory), then the stale pointer let go. The report names the
 * deferred it pointed at, not a newer one. */
static void stale_unref(void *arg) {
  df_deferred *stale = arg;
  release(stale);
  for (int i = 0; i < 100; i++) {
    df_deferred *other = df_deferred_new();
    if (other == stale) return; /* reused: the test fails (no abort) */
    df_deferred_unref(other);
  }
  use_unref(stale);
}

static void test_unref_through_a_stale_pointer_aborts(void **state) {
  (void)state;
  MAKE(d, line);
  support_child child;
  support_run_child(stale_unref, d, &child);
  assert_true(child.aborted);
  char head[512];
  snprintf(head, sizeof head,
           "libdeferred: df_deferred_unref() on a freed deferred, <Deferred "
           "at %p> (debug mode)\n"
           "  created at tests/test_quarantine.c:%d in %s\n%s"
           "  used again at tests/test_quarantine.c:%d in use_unref\n",
           (void *)d, line, __func__, released_here(), unref_line);
  assert_true(strncmp(child.text, head, strlen(head)) == 0);
  assert_backtraces_follow(child.text + strlen(head));
  df_deferred_unref(d);
}

/* The last reference went with a chain_deferred stage the library held:
 * the report says so (its backtrace shows where). */
static void library_release_then_use(void *arg) {
  df_deferred **pair = arg; /* the chaining deferred, then the target */
  df_deferred_unref(pair[1]); /* the stage still holds it */
  df_deferred_unref(pair[0]); /* its stage goes, and with it the target */
  use_ref(pair[1]);
}

static void test_report_says_when_the_library_held_the_last_reference(
    void **state) {
  (void)state;
  df_deferred *a = df_deferred_new();
  MAKE(x, line);
  df_deferred_chain(a, x);
  df_deferred *pair[2] = {a, x};
  support_child child;
  support_run_child(library_release_then_use, pair, &child);
  assert_true(child.aborted);
  char head[512];
  snprintf(head, sizeof head,
           "libdeferred: df_deferred_ref() on a freed deferred, <Deferred at "
           "%p> (debug mode)\n"
           "  created at tests/test_quarantine.c:%d in %s\n"
           "  last reference released by libdeferred (one it held: see the "
           "backtrace)\n",
           (void *)x, line, __func__);
  assert_true(strncmp(child.text, head, strlen(head)) == 0);
  assert_backtraces_follow(child.text + strlen(head));
  df_deferred_unref(x);
  df_deferred_unref(a);
}

/* Not a use after free: the child lets go of its reference once and ends
 * normally, writing nothing. */
static void release_only(void *arg) { release(arg); }

static void test_one_unref_of_the_last_reference_is_quiet(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  support_child child;
  support_run_child(release_only, d, &child);
  assert_true(child.exited);
  assert_string_equal(child.text, "");
  df_deferred_unref(d);
}

/* Held back from reuse: none of the next 1,024 deferreds made (and freed)
 * on the thread gets the memory of one freed in debug mode. */
static void test_freed_deferred_is_not_reused_by_the_next_1024(void **state) {
  (void)state;
  df_release_caches(); /* an empty quarantine to start from */
  df_deferred *d = df_deferred_new();
  const void *freed = d;
  df_deferred_unref(d);
  for (int i = 0; i < 1024; i++) {
    df_deferred *other = df_deferred_new();
    assert_ptr_not_equal(other, freed);
    df_deferred_unref(other);
  }
  df_release_caches();
}

/* Outside debug mode nothing is held back: the free list gives the same
 * struct to the next deferred (the hot path is as it was). */
static void test_outside_debug_mode_a_freed_struct_is_reused(void **state) {
  (void)state;
  df_set_debugging(false);
  df_deferred *d = df_deferred_new();
  const void *freed = d;
  df_deferred_unref(d);
  df_deferred *next = df_deferred_new();
  assert_ptr_equal(next, freed);
  df_deferred_unref(next);
}

int main(void) {
#define T(f) \
  cmocka_unit_test_setup_teardown(f, support_debug_setup,  \
                                  support_debug_teardown)
  const struct CMUnitTest tests[] = {
      T(test_double_unref_aborts_naming_the_deferred),
      T(test_ref_after_the_last_unref_aborts),
      T(test_add_after_the_last_unref_aborts),
      T(test_callback_after_the_last_unref_aborts),
      T(test_errback_after_the_last_unref_aborts),
      T(test_cancel_after_the_last_unref_aborts),
      T(test_unref_through_a_stale_pointer_aborts),
      T(test_report_says_when_the_library_held_the_last_reference),
      T(test_one_unref_of_the_last_reference_is_quiet),
      T(test_freed_deferred_is_not_reused_by_the_next_1024),
      T(test_outside_debug_mode_a_freed_struct_is_reused),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
