/* Reusing the structs of freed deferreds (src/core/cache.c, stages.c).
 *
 * A freed deferred's struct goes to a per-thread free list, and keeps the
 * stage block its queue ended in, for the next deferred made from it to
 * start its queue there. Creation leaves the fields it does not need
 * (the debug record, an owned canceller's release) as the last life
 * left them, read only under the COLD flag. These tests check that nothing of a
 * struct's last life shows in its next: results, counts of calls, and
 * allocations (the counting allocator of support.h). valgrind and the
 * sanitizers (CI) check that every kept block is freed exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "support.h"

static df_result add_one(df_result r, void *arg) {
  (void)arg;
  return df_int(r.u.i + 1);
}

/* A deferred with `stages` add_one callbacks, fired with 0: returns the
 * result, and frees the deferred. */
static int64_t run_chain(int stages) {
  df_deferred *d = df_deferred_new();
  assert_non_null(d);
  for (int i = 0; i < stages; i++)
    assert_int_equal(df_deferred_add_callback(d, add_one, NULL), 0);
  assert_int_equal(df_deferred_callback(d, df_int(0)), 0);
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_int_equal(r.kind, DF_INT);
  df_deferred_unref(d);
  return r.u.i;
}

static void count_allocations(void) {
  df_release_caches();
  support_fail_at = 0; /* never refuse */
  support_allocations = 0;
  assert_int_equal(df_set_allocator(support_failing_malloc,
                                    support_failing_realloc, free),
                   0);
}

static void default_allocator(void) {
  df_release_caches();
  df_set_allocator(NULL, NULL, NULL);
}

/* Chains of every length from 0 to 70 stages (the inline segment, then one
 * to five blocks), one after the other and in every order of lengths:
 * each struct comes back with whatever block it kept, and every chain
 * still computes its own length. */
static void test_chains_of_every_length_reuse_structs(void **state) {
  (void)state;
  for (int round = 0; round < 3; round++) {
    for (int n = 0; n <= 70; n++) assert_int_equal(run_chain(n), n);
    for (int n = 70; n >= 0; n--) assert_int_equal(run_chain(n), n);
    for (int n = 0; n <= 70; n += 17) {
      assert_int_equal(run_chain(n), n);
      assert_int_equal(run_chain(1), 1);
      assert_int_equal(run_chain(16), 16);
      assert_int_equal(run_chain(2), 2);
    }
  }
}

/* Once warm, a chain that needs a block gets it with its struct: no
 * allocation at all, over and over. */
static void test_warm_long_chains_allocate_nothing(void **state) {
  (void)state;
  count_allocations();
  assert_int_equal(run_chain(12), 12); /* warm: a struct and a block */
  long warm = support_allocations;
  assert_true(warm >= 2);
  for (int i = 0; i < 1000; i++) assert_int_equal(run_chain(12), 12);
  assert_int_equal(support_allocations, warm);
  default_allocator();
}

/* More structs with kept blocks than the free list holds (256): the
 * structs beyond it are freed with their blocks (valgrind: no leak). */
static void test_overflowing_the_free_list_frees_kept_blocks(void **state) {
  (void)state;
  enum { N = 600 };
  df_deferred **ds = calloc(N, sizeof *ds);
  assert_non_null(ds);
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++) {
      ds[i] = df_deferred_new();
      for (int k = 0; k < 5; k++) df_deferred_add_callback(ds[i], add_one, NULL);
      df_deferred_callback(ds[i], df_int(i));
    }
    for (int i = 0; i < N; i++) {
      df_result r;
      assert_int_equal(df_deferred_take_result(ds[i], &r), 0);
      assert_int_equal(r.u.i, i + 5);
      df_deferred_unref(ds[i]);
    }
  }
  free(ds);
  df_release_caches(); /* frees the spares' kept blocks too */
  assert_int_equal(run_chain(20), 20);
}

/* A block kept by a struct is the first segment of the next queue: a
 * deferred made from it and never fired, with stages that own their
 * arguments, releases each argument once when freed. */
static int released;
static void count_release(void *arg) {
  (void)arg;
  released++;
}

static void test_unfired_queue_in_a_kept_block_is_dropped(void **state) {
  (void)state;
  assert_int_equal(run_chain(10), 10); /* leaves a struct with a block */
  released = 0;
  df_deferred *d = df_deferred_new();
  for (int k = 0; k < 20; k++)
    assert_int_equal(
        df_deferred_add_owned(d, add_one, NULL, &released, count_release), 0);
  assert_int_equal(df_deferred_pending_stages(d), 20);
  df_deferred_unref(d);
  assert_int_equal(released, 20);
}

/* An owned canceller's release runs once, in the life that set it: the
 * next deferred made from the same struct does not inherit it. */
static void test_owned_canceller_release_is_not_inherited(void **state) {
  (void)state;
  released = 0;
  df_deferred *d = df_deferred_new_owning(NULL, &released, count_release);
  assert_non_null(d);
  df_deferred_unref(d);
  assert_int_equal(released, 1);
  for (int i = 0; i < 10; i++) {
    df_deferred *e = df_deferred_new();
    df_deferred_callback(e, df_int(i));
    df_deferred_unref(e);
    df_deferred *f = df_deferred_new_owning(NULL, NULL, NULL);
    df_deferred_unref(f);
  }
  assert_int_equal(released, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chains_of_every_length_reuse_structs),
      cmocka_unit_test(test_warm_long_chains_allocate_nothing),
      cmocka_unit_test(test_overflowing_the_free_list_frees_kept_blocks),
      cmocka_unit_test(test_unfired_queue_in_a_kept_block_is_dropped),
      cmocka_unit_test(test_owned_canceller_release_is_not_inherited),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
