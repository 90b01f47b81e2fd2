/* Ownership (C-specific): every value handed to a chain is destroyed
 * exactly once, whatever path the chain takes.
 *
 * Values are df_pointer results with a counting destructor, and
 * df_string_dup strings whose destructor is swapped for a counting free.
 * Each test checks the count at the moment the value must have been
 * dropped, and that it was not dropped earlier.
 */
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

static int strings_freed;
static void count_free(void *p) {
  strings_freed++;
  free(p);
}

static const void *seen_pointer;
static const char *seen_string;

static int setup(void **state) {
  (void)state;
  strings_freed = 0;
  seen_pointer = NULL;
  seen_string = NULL;
  return support_setup(state);
}

/* A df_string_dup whose free is counted. */
static df_result counted_string(const char *s) {
  df_result r = df_string_dup(s);
  assert_int_equal(r.kind, DF_STRING);
  r.destructor = df_destructor_id(count_free);
  return r;
}

static int value_a, value_b;

static df_result consume(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_int(1);
}

static df_result consume_and_raise(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_raise(&generic_error, "consumed");
}

static df_result see(df_result r, void *arg) {
  (void)arg;
  if (r.kind == DF_POINTER) seen_pointer = r.u.p;
  if (r.kind == DF_STRING) seen_string = r.u.s;
  return r;
}

/* --- success and failure ------------------------------------------------- */

static void test_value_left_in_chain_destroyed_when_deferred_freed(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, pass, NULL);
  df_deferred_callback(d, df_pointer(&value_a, count_destroy));
  assert_int_equal(destroyed, 0);
  df_deferred_unref(d);
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(last_destroyed, &value_a);
}

static void test_value_dropped_by_callback_destroyed_once(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, consume, NULL);
  df_deferred_callback(d, df_pointer(&value_a, count_destroy));
  assert_int_equal(destroyed, 1);
  df_deferred_unref(d);
  assert_int_equal(destroyed, 1);
}

static void test_string_dup_freed_once_on_success(void **state) {
  (void)state;
  seen_string = NULL;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, see, NULL);
  df_deferred_callback(d, counted_string("poem"));
  assert_string_equal(seen_string, "poem");
  assert_int_equal(strings_freed, 0);
  df_deferred_unref(d);
  assert_int_equal(strings_freed, 1);
}

static void test_value_consumed_by_failing_callback_destroyed_once(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, consume_and_raise, NULL);
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_callback(d, counted_string("lost"));
  assert_int_equal(strings_freed, 1);
  df_deferred_unref(d);
  assert_int_equal(strings_freed, 1);
  assert_int_equal(reports, 0);
}

static void test_failure_payload_destroyed_once_after_report(void **state) {
  (void)state;
  df_failure *f = df_failure_new(&generic_error, "with payload");
  df_failure_set_payload(f, &value_a, count_destroy);
  df_deferred *d = df_fail(f);
  df_deferred_add_callback(d, pass, NULL); /* skipped: failure */
  df_deferred_unref(d);
  assert_int_equal(reports, 1);
  assert_int_equal(destroyed, 1);
}

static void test_refused_second_fire_drops_its_value_once(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_callback(d, df_pointer(&value_a, count_destroy));
  assert_int_equal(df_deferred_callback(d, df_pointer(&value_b, count_destroy)),
                   DF_EALREADY_CALLED);
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(last_destroyed, &value_b);
  df_deferred_unref(d);
  assert_int_equal(destroyed, 2);
  assert_ptr_equal(last_destroyed, &value_a);
}

/* --- cancellation ------------------------------------------------------------- */

static void canceller_fires_value(df_deferred *d, void *arg) {
  (void)arg;
  df_deferred_callback(d, df_pointer(&value_a, count_destroy));
}

static void test_value_fired_by_canceller_destroyed_once(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new_with_canceller(canceller_fires_value, NULL);
  df_deferred_add_callback(d, pass, NULL);
  df_deferred_cancel(d);
  assert_int_equal(destroyed, 0);
  df_deferred_cancel(d); /* nothing */
  df_deferred_unref(d);
  assert_int_equal(destroyed, 1);
}

static void test_value_swallowed_after_cancel_destroyed_once(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, handle, NULL);
  df_deferred_cancel(d);
  assert_int_equal(df_deferred_callback(d, df_pointer(&value_a, count_destroy)),
                   0); /* rule 24: swallowed, and dropped */
  assert_int_equal(destroyed, 1);
  df_deferred_unref(d);
  assert_int_equal(destroyed, 1);
}

/* --- released at various points ---------------------------------------- */

/* The consumer lets go before the producer fires: the chain keeps running
 * (fire-and-forget), and the value is dropped when the producer lets go. */
static void test_consumer_released_before_firing_chain_still_runs(
    void **state) {
  (void)state;
  seen_pointer = NULL;
  df_deferred *producer = df_deferred_new();
  df_deferred *consumer = df_deferred_ref(producer);
  df_deferred_add_callback(consumer, see, NULL);
  df_deferred_unref(consumer);
  df_deferred_callback(producer, df_pointer(&value_a, count_destroy));
  assert_ptr_equal(seen_pointer, &value_a);
  assert_int_equal(destroyed, 0);
  df_deferred_unref(producer);
  assert_int_equal(destroyed, 1);
}

/* Released before it ever fires: its stages are dropped unrun; their
 * arguments are borrowed and untouched. */
static void test_deferred_released_unfired_drops_stages_unrun(void **state) {
  (void)state;
  seen_pointer = NULL;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, see, &value_a);
  df_deferred_unref(d);
  assert_null(seen_pointer);
  assert_int_equal(destroyed, 0);
}

static void test_deferred_released_while_paused_drops_value_once(
    void **state) {
  (void)state;
  seen_pointer = NULL;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, see, NULL);
  df_deferred_pause(d);
  df_deferred_callback(d, df_pointer(&value_a, count_destroy));
  df_deferred_unref(d);
  assert_null(seen_pointer); /* the stage never ran */
  assert_int_equal(destroyed, 1);
}

/* Outer waits on inner, inner paused with a value; all references dropped:
 * the abandoned chain is freed and the value dropped once. */
static void test_abandoned_wait_chain_drops_held_value_once(void **state) {
  (void)state;
  seen_pointer = NULL;
  df_deferred *inner = df_deferred_new();
  df_deferred_pause(inner);
  df_deferred_callback(inner, counted_string("held"));
  df_deferred *outer = df_deferred_new();
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_add_callback(outer, see, NULL);
  df_deferred_callback(outer, df_pointer(&value_a, count_destroy));
  assert_int_equal(destroyed, 1); /* return_deferred dropped it */
  assert_ptr_equal(df_deferred_waiting_on(outer), inner);
  df_deferred_unref(outer);
  assert_int_equal(strings_freed, 0); /* we still hold inner */
  df_deferred_unref(inner);
  assert_int_equal(strings_freed, 1);
  assert_int_equal(destroyed, 1);
  assert_null(seen_pointer);
  assert_int_equal(reports, 0);
}

/* The same with an unfired inner deferred three levels down. */
static void test_abandoned_unfired_wait_chain_is_freed(void **state) {
  (void)state;
  df_deferred *c = df_deferred_new();
  df_deferred *b = df_deferred_new();
  df_deferred *a = df_deferred_new();
  df_deferred_add_callback(b, return_deferred, c);
  df_deferred_add_callback(a, return_deferred, b);
  df_deferred_add_callback(a, see, NULL);
  df_deferred_callback(b, df_pointer(&value_b, count_destroy));
  df_deferred_callback(a, df_pointer(&value_a, count_destroy));
  assert_int_equal(destroyed, 2); /* both consumed by their callbacks */
  df_deferred_unref(c);
  df_deferred_unref(a);
  df_deferred_unref(b); /* now nothing can fire c: the group goes */
  assert_int_equal(destroyed, 2);
  assert_int_equal(reports, 0);
}

/* A chain abandoned half-way while the inner still has a producer: when the
 * inner is fired later, the value flows to the (unowned) outer chain and is
 * dropped once when the chain ends. */
static void test_value_reaches_unowned_outer_after_half_way_release(
    void **state) {
  (void)state;
  seen_pointer = NULL;
  df_deferred *inner = df_deferred_new();
  df_deferred *outer = df_deferred_new();
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_add_callback(outer, see, NULL);
  df_deferred_callback(outer, df_none());
  df_deferred_unref(outer); /* kept alive by the wait edge */
  df_deferred_callback(inner, df_pointer(&value_a, count_destroy));
  assert_ptr_equal(seen_pointer, &value_a);
  assert_int_equal(destroyed, 1); /* outer was freed after its last stage */
  df_deferred_unref(inner);
  assert_int_equal(destroyed, 1);
}

/* --- values moved between deferreds ------------------------------------ */

static void test_value_moved_by_chain_deferred_destroyed_once(void **state) {
  (void)state;
  seen_pointer = NULL;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_add_callback(b, see, NULL);
  df_deferred_chain(a, b);
  df_deferred_callback(a, df_pointer(&value_a, count_destroy));
  assert_ptr_equal(seen_pointer, &value_a);
  assert_int_equal(df_deferred_result(a)->kind, DF_NONE);
  df_deferred_unref(a);
  assert_int_equal(destroyed, 0); /* b has it */
  df_deferred_unref(b);
  assert_int_equal(destroyed, 1);
}

static void test_chain_to_fired_target_drops_value_once(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new();
  df_deferred *b = df_succeed(df_pointer(&value_b, count_destroy));
  df_deferred_chain(a, b);
  df_deferred_add_errback(a, handle, NULL);
  df_deferred_callback(a, df_pointer(&value_a, count_destroy));
  assert_int_equal(destroyed, 1); /* a's value replaced by the failure */
  assert_ptr_equal(last_destroyed, &value_a);
  df_deferred_unref(a);
  df_deferred_unref(b);
  assert_int_equal(destroyed, 2);
}

static void test_chain_link_released_unfired_holds_nothing(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_chain(a, b);
  df_deferred_unref(a); /* the link is dropped with a */
  assert_null(df_deferred_chained_to(b));
  df_deferred_callback(b, df_pointer(&value_a, count_destroy));
  df_deferred_unref(b);
  assert_int_equal(destroyed, 1);
}

/* Two deferreds chained to each other hold each other through their
 * CHAIN stages; with no outside reference left they are freed, dropping
 * the value one of them held. */
static void test_chain_deferred_cycle_without_outside_refs_is_freed(
    void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_pause(a);
  df_deferred_callback(a, df_pointer(&value_a, count_destroy));
  df_deferred_chain(a, b);
  df_deferred_chain(b, a);
  df_deferred_unref(a);
  assert_int_equal(destroyed, 0);
  df_deferred_unref(b);
  assert_int_equal(destroyed, 1);
  assert_int_equal(reports, 0);
}

static void test_value_moved_by_implicit_chaining_destroyed_once(
    void **state) {
  (void)state;
  seen_pointer = NULL;
  df_deferred *inner = df_deferred_new(), *outer = df_deferred_new();
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_add_callback(outer, see, NULL);
  df_deferred_callback(outer, df_none());
  df_deferred_callback(inner, counted_string("moved"));
  assert_string_equal(seen_string ? seen_string : "", "moved");
  assert_int_equal(df_deferred_result(inner)->kind, DF_NONE);
  df_deferred_unref(inner);
  assert_int_equal(strings_freed, 0);
  df_deferred_unref(outer);
  assert_int_equal(strings_freed, 1);
}

static void test_value_taken_synchronously_destroyed_once(void **state) {
  (void)state;
  seen_pointer = NULL;
  df_deferred *inner = df_succeed(df_pointer(&value_a, count_destroy));
  df_deferred *outer = df_deferred_new();
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_add_callback(outer, see, NULL);
  df_deferred_callback(outer, df_none());
  assert_ptr_equal(seen_pointer, &value_a);
  df_deferred_unref(outer);
  assert_int_equal(destroyed, 1);
  df_deferred_unref(inner);
  assert_int_equal(destroyed, 1);
}

static void test_take_result_transfers_ownership(void **state) {
  (void)state;
  df_deferred *d = df_succeed(df_pointer(&value_a, count_destroy));
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_int_equal(df_deferred_result(d)->kind, DF_NONE);
  df_deferred_unref(d);
  assert_int_equal(destroyed, 0);
  void *p = df_result_take(&r); /* and out of the result */
  assert_ptr_equal(p, &value_a);
  assert_int_equal(r.kind, DF_NONE);
  df_result_drop(r);
  assert_int_equal(destroyed, 0);
}

static void test_result_take_refuses_other_kinds(void **state) {
  (void)state;
  df_result r = df_int(4);
  assert_null(df_result_take(&r));
  assert_int_equal(r.u.i, 4);
  df_result s = counted_string("taken");
  char *text = df_result_take(&s);
  assert_string_equal(text, "taken");
  df_result_drop(s);
  assert_int_equal(strings_freed, 0);
  free(text);
  assert_null(df_result_take(NULL));
}

static void test_string_take_frees_the_string(void **state) {
  (void)state;
  char *text = malloc(6);
  assert_non_null(text);
  memcpy(text, "owned", 6);
  df_deferred *d = df_succeed(df_string_take(text));
  assert_string_equal(df_deferred_result(d)->u.s, "owned");
  df_deferred_unref(d); /* free()d here: valgrind sees no leak */
  df_result borrowed = df_string("static text");
  df_result_drop(borrowed); /* owns nothing */
}

static void test_destructor_ids_are_stable(void **state) {
  (void)state;
  uint32_t id = df_destructor_id(count_destroy);
  assert_true(id != 0);
  assert_int_equal(df_destructor_id(count_destroy), id);
  assert_true(df_destructor_fn(id) == count_destroy);
  assert_int_equal(df_destructor_id(NULL), 0);
  assert_null(df_destructor_fn(0));
  df_result r = df_pointer(&value_a, count_destroy);
  assert_int_equal(r.destructor, id);
  df_result_drop(r);
  assert_int_equal(destroyed, 1);
}


/* --- owned stage arguments and canceller state -------------------------- */

static int released;
static void *released_arg;
static void count_release(void *arg) {
  released++;
  released_arg = arg;
}

static int owned_calls_with_arg;
static df_result owned_side(df_result r, void *arg) {
  if (arg == &value_a) owned_calls_with_arg++;
  assert_int_equal(released, 0); /* released only after the call */
  return r;
}

/* The stage's argument is released once, right after its callback ran. */
static void test_owned_stage_arg_released_after_run(void **state) {
  (void)state;
  released = 0;
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_add_owned(d, owned_side, owned_side, &value_a,
                                         count_release), 0);
  df_deferred_add_callback(d, consume, NULL);
  assert_int_equal(released, 0);
  df_deferred_callback(d, df_int(1));
  assert_int_equal(owned_calls_with_arg, 1);
  assert_int_equal(released, 1);
  assert_ptr_equal(released_arg, &value_a);
  df_deferred_unref(d);
  assert_int_equal(released, 1);
  owned_calls_with_arg = 0;
}

/* The errback side gets the same argument; a failure passing through a
 * NULL side releases it too. */
static void test_owned_stage_errback_and_pass_through(void **state) {
  (void)state;
  released = 0;
  df_deferred *d = df_deferred_new();
  df_deferred_add_owned(d, NULL, owned_side, &value_a, count_release);
  df_deferred_add_owned(d, owned_side, NULL, &value_b, count_release);
  df_deferred_add_errback(d, consume, NULL);
  df_deferred_errback(d, df_failure_new(&generic_error, "x"));
  assert_int_equal(owned_calls_with_arg, 1);
  assert_int_equal(released, 2);
  assert_ptr_equal(released_arg, &value_b);
  df_deferred_unref(d);
  owned_calls_with_arg = 0;
}

/* Never run: released when the deferred is freed. */
static void test_owned_stage_arg_released_when_dropped_unrun(void **state) {
  (void)state;
  released = 0;
  df_deferred *d = df_deferred_new();
  for (int i = 0; i < 40; i++) /* across stage blocks */
    df_deferred_add_owned(d, owned_side, NULL, &value_a, count_release);
  df_deferred_unref(d);
  assert_int_equal(released, 40);
}

/* Added to a fired deferred: runs at once, then released. Errors release
 * before returning. */
static void test_owned_stage_on_fired_deferred_and_errors(void **state) {
  (void)state;
  released = 0;
  df_deferred *d = df_succeed(df_int(3));
  df_deferred_add_owned(d, owned_side, NULL, &value_a, count_release);
  assert_int_equal(owned_calls_with_arg, 1);
  assert_int_equal(released, 1);
  df_deferred_unref(d);
  assert_int_equal(df_deferred_add_owned(NULL, owned_side, NULL, &value_a,
                                         count_release), DF_EINVAL);
  assert_int_equal(released, 2);
  owned_calls_with_arg = 0;
}

static int cancels;
static void cancel_with_state(df_deferred *d, void *arg) {
  (void)d;
  assert_ptr_equal(arg, &value_a);
  cancels++;
}

/* The canceller's state lives exactly as long as the deferred. */
static void test_new_owning_releases_state_when_freed(void **state) {
  (void)state;
  released = 0;
  cancels = 0;
  df_deferred *d = df_deferred_new_owning(cancel_with_state, &value_a,
                                          count_release);
  df_deferred_add_errback(d, consume, NULL);
  df_deferred_cancel(d);
  assert_int_equal(cancels, 1);
  assert_int_equal(released, 0);
  df_deferred_ref(d);
  df_deferred_unref(d);
  assert_int_equal(released, 0);
  df_deferred_unref(d);
  assert_int_equal(released, 1);
  assert_ptr_equal(released_arg, &value_a);
  /* No canceller: just owned state. */
  d = df_deferred_new_owning(NULL, &value_b, count_release);
  df_deferred_unref(d);
  assert_int_equal(released, 2);
}

/* Many values through short chains, half of them dropped by a callback,
 * half when the deferred is freed: each exactly once. */
static void test_many_values_each_destroyed_once(void **state) {
  (void)state;
  enum { N = 100000 };
  for (int i = 0; i < N; i++) {
    df_deferred *d = df_deferred_new();
    df_deferred_add_callback(d, i % 2 ? pass : consume, NULL);
    df_deferred_callback(d, df_pointer(&value_a, count_destroy));
    df_deferred_unref(d);
  }
  assert_int_equal(destroyed, N);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, support_teardown)
      T(test_value_left_in_chain_destroyed_when_deferred_freed),
      T(test_value_dropped_by_callback_destroyed_once),
      T(test_string_dup_freed_once_on_success),
      T(test_value_consumed_by_failing_callback_destroyed_once),
      T(test_failure_payload_destroyed_once_after_report),
      T(test_refused_second_fire_drops_its_value_once),
      T(test_value_fired_by_canceller_destroyed_once),
      T(test_value_swallowed_after_cancel_destroyed_once),
      T(test_consumer_released_before_firing_chain_still_runs),
      T(test_deferred_released_unfired_drops_stages_unrun),
      T(test_deferred_released_while_paused_drops_value_once),
      T(test_abandoned_wait_chain_drops_held_value_once),
      T(test_abandoned_unfired_wait_chain_is_freed),
      T(test_value_reaches_unowned_outer_after_half_way_release),
      T(test_value_moved_by_chain_deferred_destroyed_once),
      T(test_chain_to_fired_target_drops_value_once),
      T(test_chain_link_released_unfired_holds_nothing),
      T(test_chain_deferred_cycle_without_outside_refs_is_freed),
      T(test_value_moved_by_implicit_chaining_destroyed_once),
      T(test_value_taken_synchronously_destroyed_once),
      T(test_take_result_transfers_ownership),
      T(test_result_take_refuses_other_kinds),
      T(test_string_take_frees_the_string),
      T(test_destructor_ids_are_stable),
      T(test_many_values_each_destroyed_once),
      T(test_owned_stage_arg_released_after_run),
      T(test_owned_stage_errback_and_pass_through),
      T(test_owned_stage_arg_released_when_dropped_unrun),
      T(test_owned_stage_on_fired_deferred_and_errors),
      T(test_new_owning_releases_state_when_freed),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
