/* Releasing long structures must not recurse: freeing one deferred can
 * free the next (its stages and its result hold references), a million
 * times over. These run on the default 8 MiB stack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <deferred.h>

#include "support.h"

#define MILLION 1000000

/* A million chain_deferred links, never fired: dropping the head frees the
 * whole list (each CHAIN stage held the next link). */
static void test_unfired_chain_deferred_list_freed_without_recursion(
    void **state) {
  (void)state;
  df_deferred *head = df_deferred_new();
  df_deferred *cur = df_deferred_ref(head);
  for (int i = 1; i < MILLION; i++) {
    df_deferred *next = df_deferred_new();
    assert_int_equal(df_deferred_chain(cur, next), 0);
    df_deferred_unref(cur);
    cur = next;
  }
  df_deferred_unref(cur); /* the last link: held by its CHAIN stage only */
  df_deferred_unref(head);
  /* valgrind (CI) checks that all million were freed */
}

/* A million deferreds each waiting on the next, the root never fired and
 * holding a value through a paused result: when the last outside
 * reference goes, the whole group is freed and the value destroyed. */
static void test_abandoned_million_deferred_waiting_chain_is_freed(
    void **state) {
  (void)state;
  destroyed = 0;
  df_deferred *root = df_deferred_new();
  df_deferred_pause(root);
  df_deferred_callback(root, df_pointer(&destroyed, count_destroy));
  df_deferred *prev = root; /* our reference to root */
  df_deferred_ref(root);
  for (int i = 0; i < MILLION; i++) {
    df_deferred *d = df_deferred_new();
    df_deferred_add_callback(d, return_deferred_owned, df_deferred_ref(prev));
    df_deferred_callback(d, df_none()); /* now waits on prev */
    assert_ptr_equal(df_deferred_waiting_on(d), prev);
    df_deferred_unref(prev);
    prev = d;
  }
  df_deferred_unref(root); /* our extra reference */
  assert_int_equal(destroyed, 0);
  df_deferred_unref(prev); /* the last outside reference */
  assert_int_equal(destroyed, 1);
}

/* The same with a failure in the paused root: the group is freed and the
 * failure is not reported (rule U4: fired while paused). */
static void test_abandoned_waiting_chain_with_paused_failure_not_reported(
    void **state) {
  (void)state;
  reports = 0;
  df_set_unhandled_handler(count_reports, NULL);
  df_deferred *root = df_deferred_new();
  df_deferred_pause(root);
  df_deferred_errback(root, df_failure_new(NULL, "never seen"));
  df_deferred *d = df_deferred_new();
  /* takes our reference */
  df_deferred_add_callback(d, return_deferred_owned, root);
  df_deferred_callback(d, df_none());
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
  df_set_unhandled_handler(NULL, NULL);
}

/* A million failures each caused by the previous: built in linear time
 * (the cycle check does not walk a chain the new failure cannot be in),
 * refused when it would close a loop, and freed without recursion. */
static void test_million_failure_cause_chain(void **state) {
  (void)state;
  df_failure *bottom = df_failure_new(NULL, "root cause");
  df_failure *top = df_failure_ref(bottom);
  for (int i = 1; i < MILLION; i++) {
    df_failure *f = df_failure_new(NULL, "level %d", i);
    assert_int_equal(df_failure_set_cause(f, top), 0); /* takes top */
    top = f;
  }
  /* bottom -> top would make a loop: refused, nothing changes */
  assert_int_equal(df_failure_set_cause(bottom, df_failure_ref(top)),
                   DF_EINVAL);
  assert_null(df_failure_cause(bottom));
  df_failure_unref(bottom);
  df_failure_unref(top);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unfired_chain_deferred_list_freed_without_recursion),
      cmocka_unit_test(test_abandoned_million_deferred_waiting_chain_is_freed),
      cmocka_unit_test(test_abandoned_waiting_chain_with_paused_failure_not_reported),
      cmocka_unit_test(test_million_failure_cause_chain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
