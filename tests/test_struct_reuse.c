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
  support_count_allocations();
  assert_int_equal(run_chain(12), 12); /* warm: a struct and a block */
  long warm = support_allocations;
  assert_true(warm >= 2);
  for (int i = 0; i < 1000; i++) assert_int_equal(run_chain(12), 12);
  assert_int_equal(support_allocations, warm);
  support_default_allocator();
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

/* --- `return df_wait_on(df_succeed(x))` ------------------------------------
 * The firing loop takes the value of such a deferred and keeps its struct
 * for the next df_succeed as it is, when nothing but df_succeed ever
 * touched it. Whatever else the last one went through must not show. */

static df_result return_succeed(df_result r, void *arg) {
  (void)arg;
  return df_wait_on(df_succeed(df_int(r.u.i + 1)));
}

static df_deferred *kept_for_later;
static df_result return_succeed_touched(df_result r, void *arg) {
  intptr_t how = (intptr_t)arg;
  df_deferred *s = df_succeed(df_int(r.u.i + 1));
  if (how == 1) { /* paused and unpaused: still as made */
    df_deferred_pause(s);
    df_deferred_unpause(s);
  } else if (how == 2) { /* a callback ran on it */
    df_deferred_add_callback(s, add_one, NULL);
  } else if (how == 3) { /* a chain_deferred source fired into it */
    df_deferred *src = df_deferred_new();
    df_deferred_chain(src, s); /* s is called: the chain fails */
    df_deferred_callback(src, df_int(0));
    df_deferred_add_errback(src, handle, NULL);
    df_deferred_unref(src);
  } else if (how == 4) { /* still held by someone else */
    df_deferred_unref(kept_for_later); /* the one before, if any */
    kept_for_later = df_deferred_ref(s);
  }
  return df_wait_on(s);
}

static void test_returned_succeed_structs_start_afresh(void **state) {
  (void)state;
  for (intptr_t how = 0; how <= 4; how++) {
    /* structs with no kept block, as df_succeed's reuse needs */
    df_release_caches();
    df_deferred *d = df_deferred_new();
    for (int i = 0; i < 5; i++) {
      df_deferred_add_callback(d, return_succeed, NULL);
      df_deferred_add_callback(d, return_succeed_touched, (void *)how);
    }
    df_deferred_callback(d, df_int(0));
    df_result r;
    assert_int_equal(df_deferred_take_result(d, &r), 0);
    assert_int_equal(r.u.i, how == 2 ? 15 : 10);
    df_deferred_unref(d);
    if (kept_for_later) {
      assert_true(df_deferred_called(kept_for_later));
      df_deferred_unref(kept_for_later);
      kept_for_later = NULL;
    }
    /* the next one, whichever struct it gets, is as new */
    int line = __LINE__ + 1;
    df_deferred *fresh = df_succeed(df_int(7));
    assert_true(df_deferred_called(fresh));
    assert_int_equal(df_deferred_paused(fresh), 0);
    assert_int_equal(df_deferred_pending_stages(fresh), 0);
    assert_null(df_deferred_chained_to(fresh));
    assert_int_equal(df_deferred_created_site(fresh).line, line);
    df_deferred_add_callback(fresh, add_one, NULL);
    assert_int_equal(df_deferred_take_result(fresh, &r), 0);
    assert_int_equal(r.u.i, 8);
    df_deferred_unref(fresh);
  }
}

/* Each df_succeed gets a serial of its own, reused struct or not. */
static uint32_t serials[8];
static int n_serials;
static df_result return_succeed_noting_serial(df_result r, void *arg) {
  (void)arg;
  df_deferred *s = df_succeed(df_int(r.u.i + 1));
  serials[n_serials++] = df_deferred_serial(s);
  return df_wait_on(s);
}

static void test_reused_succeed_structs_get_new_serials(void **state) {
  (void)state;
  n_serials = 0;
  df_deferred *d = df_deferred_new();
  for (int i = 0; i < 8; i++)
    df_deferred_add_callback(d, return_succeed_noting_serial, NULL);
  df_deferred_callback(d, df_int(0));
  for (int i = 1; i < 8; i++) assert_int_equal(serials[i], serials[i - 1] + 1);
  df_deferred_unref(d);
  df_release_caches(); /* frees the kept struct too (valgrind) */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chains_of_every_length_reuse_structs),
      cmocka_unit_test(test_warm_long_chains_allocate_nothing),
      cmocka_unit_test(test_overflowing_the_free_list_frees_kept_blocks),
      cmocka_unit_test(test_unfired_queue_in_a_kept_block_is_dropped),
      cmocka_unit_test(test_owned_canceller_release_is_not_inherited),
      cmocka_unit_test(test_returned_succeed_structs_start_afresh),
      cmocka_unit_test(test_reused_succeed_structs_get_new_serials),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
