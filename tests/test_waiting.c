/* Deferreds still waiting (src/core/waiting.c): df_dump_waiting and
 * df_foreach_waiting list the live deferreds made in debug mode that were
 * never fired or wait on another deferred, oldest first, with where each
 * was created and what it waits on; in debug mode the list is also
 * written to stderr at exit. Texts are compared exactly. */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, waitpid (support.h) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deferred.h"
#include "support.h"

/* What df_dump_waiting writes, as a string (the caller frees it). */
static char *dump_text(size_t *listed) {
  FILE *f = tmpfile();
  assert_non_null(f);
  *listed = df_dump_waiting(f);
  long n = ftell(f);
  assert_true(n >= 0);
  char *text = malloc((size_t)n + 1);
  assert_non_null(text);
  rewind(f);
  assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* "<Deferred at 0x...> (created at tests/test_waiting.c:LINE in FUNC)" */
static const char *words(char *buf, size_t size, const df_deferred *d,
                         int line, const char *func) {
  snprintf(buf, size,
           "<Deferred at %p> (created at tests/test_waiting.c:%d in %s)",
           (const void *)d, line, func);
  return buf;
}

#define MAKE(d, line) \
  df_deferred *d = df_deferred_new(); const int line = __LINE__

static void test_nothing_waiting_writes_nothing(void **state) {
  (void)state;
  df_deferred *fired = df_succeed(df_int(1));
  df_deferred *d = df_deferred_new();
  df_deferred_callback(d, df_none());
  size_t listed;
  char *text = dump_text(&listed);
  assert_int_equal(listed, 0);
  assert_string_equal(text, "");
  free(text);
  assert_int_equal(df_foreach_waiting(NULL, NULL), 0);
  df_deferred_unref(fired);
  df_deferred_unref(d);
}

/* Never fired, waiting on another, to be fired by chain_deferred, paused;
 * not listed: a fired deferred, and one made outside debug mode. */
static void test_dump_lists_each_waiting_deferred_and_what_it_waits_on(
    void **state) {
  (void)state;
  MAKE(never, never_line);
  MAKE(inner, inner_line);
  MAKE(outer, outer_line);
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_callback(outer, df_none()); /* outer waits on inner */
  MAKE(target, target_line);
  df_deferred_chain(never, target);
  MAKE(paused, paused_line);
  df_deferred_pause(paused);
  df_deferred *done = df_succeed(df_int(2));
  df_set_debugging(false);
  df_deferred *untracked = df_deferred_new();
  df_set_debugging(true);

  char a[160], b[160], expected[2048];
  int n = snprintf(expected, sizeof expected,
                   "libdeferred (debug mode): 5 deferreds still waiting, "
                   "oldest first:\n");
  n += snprintf(expected + n, sizeof expected - (size_t)n,
                "  %s was never fired\n",
                words(a, sizeof a, never, never_line, __func__));
  n += snprintf(expected + n, sizeof expected - (size_t)n,
                "  %s was never fired\n",
                words(a, sizeof a, inner, inner_line, __func__));
  n += snprintf(expected + n, sizeof expected - (size_t)n,
                "  %s waits on %s\n",
                words(a, sizeof a, outer, outer_line, __func__),
                words(b, sizeof b, inner, inner_line, __func__));
  n += snprintf(expected + n, sizeof expected - (size_t)n,
                "  %s was never fired; chain_deferred from %s is to fire it\n",
                words(a, sizeof a, target, target_line, __func__),
                words(b, sizeof b, never, never_line, __func__));
  snprintf(expected + n, sizeof expected - (size_t)n,
           "  %s was never fired (paused)\n",
           words(a, sizeof a, paused, paused_line, __func__));
  size_t listed;
  char *text = dump_text(&listed);
  assert_int_equal(listed, 5);
  assert_string_equal(text, expected);
  free(text);

  /* fired now: the chain resolves, and only `paused` is left */
  df_deferred_callback(inner, df_int(1));
  df_deferred_callback(never, df_int(2));
  text = dump_text(&listed);
  snprintf(expected, sizeof expected,
           "libdeferred (debug mode): 1 deferred still waiting, oldest "
           "first:\n  %s was never fired (paused)\n",
           words(a, sizeof a, paused, paused_line, __func__));
  assert_int_equal(listed, 1);
  assert_string_equal(text, expected);
  free(text);

  df_deferred *all[] = {never, inner, outer, target, paused, done, untracked};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    df_deferred_unref(all[i]);
  text = dump_text(&listed); /* freed deferreds are not listed */
  assert_int_equal(listed, 0);
  free(text);
}

typedef struct seen {
  const df_deferred *items[8];
  size_t n;
} seen;

static void note(const df_deferred *d, void *arg) {
  seen *s = arg;
  if (s->n < 8) s->items[s->n++] = d;
}

static void test_foreach_visits_the_same_deferreds_oldest_first(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred *c = df_deferred_new();
  df_deferred_callback(b, df_none()); /* fired: not visited */
  seen s = {{NULL}, 0};
  assert_int_equal(df_foreach_waiting(note, &s), 2);
  assert_int_equal(s.n, 2);
  assert_ptr_equal(s.items[0], a);
  assert_ptr_equal(s.items[1], c);
  assert_int_equal(df_foreach_waiting(NULL, NULL), 2); /* just counts */
  df_deferred_unref(a);
  df_deferred_unref(b);
  df_deferred_unref(c);
}

/* At exit, in debug mode, the list goes to stderr: a child that exits
 * with one deferred still waiting. */
static void exit_now(void *arg) {
  (void)arg;
  exit(0);
}

static void test_debug_mode_lists_waiting_deferreds_at_exit(void **state) {
  (void)state;
  MAKE(d, line);
  support_child child;
  support_run_child(exit_now, NULL, &child);
  assert_true(child.exited);
  char a[160], expected[512];
  snprintf(expected, sizeof expected,
           "libdeferred (debug mode): 1 deferred still waiting, oldest "
           "first:\n  %s was never fired\n",
           words(a, sizeof a, d, line, __func__));
  assert_string_equal(child.text, expected);

  df_deferred_callback(d, df_none()); /* now nothing waits: nothing said */
  support_run_child(exit_now, NULL, &child);
  assert_true(child.exited);
  assert_string_equal(child.text, "");
  df_deferred_unref(d);
}

int main(void) {
#define T(f) \
  cmocka_unit_test_setup_teardown(f, support_debug_setup,  \
                                  support_debug_teardown)
  const struct CMUnitTest tests[] = {
      T(test_nothing_waiting_writes_nothing),
      T(test_dump_lists_each_waiting_deferred_and_what_it_waits_on),
      T(test_foreach_visits_the_same_deferreds_oldest_first),
      T(test_debug_mode_lists_waiting_deferreds_at_exit),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
