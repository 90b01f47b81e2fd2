/* Long stage queues (src/core/stages.c): after the inline segment, a
 * queue continues in pooled 16-stage blocks, and while it grows longer
 * than its head's segment each new block doubles, up to 1,024 stages.
 * These tests check order, counts, stage indexes in traces, allocations,
 * and (under valgrind and the sanitizers in CI) that every block, pooled
 * or not, is freed once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "support.h"

/* Checks that it runs as stage number `arg` (counting from 0). */
static df_result expect_index(df_result r, void *arg) {
  assert_int_equal(r.kind, DF_INT);
  assert_int_equal(r.u.i, (int64_t)(intptr_t)arg);
  return df_int(r.u.i + 1);
}

static df_result fail_here(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_raise(&generic_error, "stage failed");
}

/* Every length up to a few blocks of each size: all stages run, in order,
 * and the pending count is right before the fire. */
static void test_long_chains_run_in_order(void **state) {
  (void)state;
  static const int lengths[] = {0,    1,    2,    3,    17,   18,   19,
                                50,   51,   114,  115,  500,  1000, 2033,
                                2034, 4082, 5000, 9000, 20000};
  for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
    int n = lengths[k];
    df_deferred *d = df_deferred_new();
    for (int i = 0; i < n; i++)
      assert_int_equal(
          df_deferred_add_callback(d, expect_index, (void *)(intptr_t)i), 0);
    assert_int_equal(df_deferred_pending_stages(d), (size_t)n);
    df_deferred_callback(d, df_int(0));
    assert_int_equal(df_deferred_pending_stages(d), 0);
    df_result r;
    assert_int_equal(df_deferred_take_result(d, &r), 0);
    assert_int_equal(r.u.i, n);
    df_deferred_unref(d);
  }
}

/* A queue of 100,000 stages takes about a hundred block allocations (16,
 * 32, ... 1,024 stages, then 1,024 each), not 6,250 of 16 stages. */
static void test_long_queue_allocates_few_blocks(void **state) {
  (void)state;
  support_count_allocations();
  df_deferred *d = df_deferred_new();
  for (int i = 0; i < 100000; i++)
    df_deferred_add_callback(d, expect_index, (void *)(intptr_t)i);
  long made = support_allocations;
  assert_true(made < 120);
  df_deferred_callback(d, df_int(0));
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_int_equal(r.u.i, 100000);
  df_deferred_unref(d);
  support_default_allocator();
}

/* Once warm, a thread that builds chains of up to 2,000 stages (one block
 * of each size) over and over allocates nothing: the bigger blocks have
 * spare lists of their own. */
static void test_warm_long_chains_allocate_nothing(void **state) {
  (void)state;
  support_count_allocations();
  long warm = 0;
  for (int round = 0; round < 5; round++) {
    df_deferred *d = df_deferred_new();
    for (int i = 0; i < 2000; i++)
      df_deferred_add_callback(d, expect_index, (void *)(intptr_t)i);
    df_deferred_callback(d, df_int(0));
    df_result r;
    assert_int_equal(df_deferred_take_result(d, &r), 0);
    assert_int_equal(r.u.i, 2000);
    df_deferred_unref(d);
    if (round == 0) warm = support_allocations;
  }
  assert_int_equal(support_allocations, warm);
  support_default_allocator();
}

/* A queue that runs as fast as it grows (a paused deferred fed one stage
 * at a time) stays in pooled blocks: once warm it allocates nothing, and
 * its stages still run in order. */
static void test_streaming_queue_allocates_nothing(void **state) {
  (void)state;
  support_count_allocations();
  df_deferred *d = df_deferred_new();
  df_deferred_callback(d, df_int(0));
  int64_t next = 0; /* the value the next stage gets */
  long warm = 0;
  for (int i = 0; i < 20000; i++) {
    df_deferred_pause(d);
    int stages = i % 7 == 0 ? 2 : 1; /* sometimes two queue up */
    for (int k = 0; k < stages; k++)
      df_deferred_add_callback(d, expect_index,
                               (void *)(intptr_t)(next + k));
    assert_int_equal(df_deferred_pending_stages(d), (size_t)stages);
    df_deferred_unpause(d);
    assert_int_equal(df_deferred_pending_stages(d), 0);
    next += stages;
    if (i == 1000) warm = support_allocations;
  }
  assert_int_equal(support_allocations, warm);
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_int_equal(r.u.i, next);
  df_deferred_unref(d);
  support_default_allocator();
}

/* A failure raised far into a long queue names its stage by index, and an
 * unfired queue of big blocks is dropped without running. */
static void test_stage_index_in_a_big_block(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  for (int i = 0; i < 3000; i++)
    df_deferred_add_callback(d, expect_index, (void *)(intptr_t)i);
  df_deferred_add_callback(d, fail_here, NULL); /* stage 3000 */
  df_deferred_callback(d, df_int(0));
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_int_equal(r.kind, DF_FAILURE);
  assert_traceback_contains(r.u.failure, "stage 3000 ");
  df_result_drop(r);
  df_deferred_unref(d);

  df_deferred *unfired = df_deferred_new();
  for (int i = 0; i < 5000; i++)
    df_deferred_add_callback(unfired, expect_index, (void *)(intptr_t)i);
  df_deferred_unref(unfired); /* valgrind: every block freed */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_long_chains_run_in_order),
      cmocka_unit_test(test_long_queue_allocates_few_blocks),
      cmocka_unit_test(test_warm_long_chains_allocate_nothing),
      cmocka_unit_test(test_streaming_queue_allocates_nothing),
      cmocka_unit_test(test_stage_index_in_a_big_block),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
