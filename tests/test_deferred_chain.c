/* The callback chain: arguments, ordering, pause, implicit chaining,
 * chain_deferred, re-entrancy, repr and stack depth.
 *
 * Ports of twisted/test/test_defer.py DeferredTests groups 1-3, 6, 7 and
 * 10-17 (docs/semantics.md lists the groups).
 * Python's extra positional and keyword arguments become the one `arg`
 * pointer of a C callback; `list.append` callbacks become callbacks that
 * record the value in the event log and return None, as append does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "deferred.h"
#include "support.h"

/* --- recording callbacks (the event log is in support.h) --------------- */

/* Records the value and passes it on (Twisted's self._callback). */
static df_result record(df_result r, void *arg) {
  ev_result(arg ? (const char *)arg : "cb", r);
  return r;
}

/* Records the value and returns None (Twisted's list.append). */
static df_result append(df_result r, void *arg) {
  ev_result(arg ? (const char *)arg : "append", r);
  df_result_drop(r);
  return df_none();
}

static df_result raise_generic(df_result r, void *arg) {
  df_result_drop(r);
  return df_raise(&generic_error, "%s", arg ? (const char *)arg : "oops");
}

/* --- group 1: callback arguments --------------------------------------- */

typedef struct capture {
  int calls;
  df_result seen;
  void *arg;
} capture;

static capture cap;

static df_result capture_cb(df_result r, void *arg) {
  cap.calls++;
  cap.seen = r;
  cap.arg = arg;
  return r;
}

/* test_defer.py: DeferredTests.testCallbackWithoutArgs */
static void test_callback_without_arg_receives_result_and_null(void **state) {
  (void)state;
  memset(&cap, 0, sizeof cap);
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_add_callbacks(d, capture_cb, NULL, append,
                                             "eb"), 0);
  assert_int_equal(df_deferred_callback(d, df_string("hello")), 0);
  assert_string_equal(events, ""); /* no errback */
  assert_int_equal(cap.calls, 1);
  assert_int_equal(cap.seen.kind, DF_STRING);
  assert_string_equal(cap.seen.u.s, "hello");
  assert_null(cap.arg);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredTests.testCallbackWithArgs */
static void test_callback_arg_is_passed_after_the_result(void **state) {
  (void)state;
  memset(&cap, 0, sizeof cap);
  static char world[] = "world";
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, capture_cb, world);
  df_deferred_callback(d, df_string("hello"));
  assert_int_equal(cap.calls, 1);
  assert_string_equal(cap.seen.u.s, "hello");
  assert_ptr_equal(cap.arg, world);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredTests.testCallbackWithKwArgs: named arguments
 * become the fields of a struct passed as `arg`. */
typedef struct kw_args {
  const char *world;
  int count;
} kw_args;

static df_result kw_cb(df_result r, void *arg) {
  const kw_args *kw = arg;
  ev("kw:%s/%s/%d", r.u.s, kw->world, kw->count);
  return r;
}

static void test_callback_struct_arg_carries_named_arguments(void **state) {
  (void)state;
  kw_args kw = {"world", 2};
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, kw_cb, &kw);
  df_deferred_callback(d, df_string("hello"));
  assert_string_equal(events, "kw:hello/world/2 ");
  df_deferred_unref(d);
}

/* --- group 2: two callbacks ----------------------------------------------- */

/* test_defer.py: DeferredTests.testTwoCallbacks */
static void test_second_callback_receives_first_callbacks_return(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, record, "cb1");
  df_deferred_add_callback(d, append, "cb2");
  df_deferred_add_errback(d, append, "eb");
  df_deferred_callback(d, df_string("hello"));
  assert_string_equal(events, "cb1:'hello' cb2:'hello' ");
  assert_int_equal(df_deferred_result(d)->kind, DF_NONE); /* append's None */
  df_deferred_unref(d);
}

static df_result plus_one(df_result r, void *arg) {
  (void)arg;
  return df_int(r.u.i + 1);
}

static void test_each_callback_return_replaces_the_result(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  for (int i = 0; i < 40; i++) df_deferred_add_callback(d, plus_one, NULL);
  assert_int_equal(df_deferred_pending_stages(d), 40);
  df_deferred_callback(d, df_int(2));
  assert_int_equal(df_deferred_pending_stages(d), 0);
  assert_int_equal(df_deferred_result(d)->u.i, 42);
  df_deferred_unref(d);
}

/* --- group 3: addCallbacks normalisation ---------------------------------- */

/* test_defer.py: DeferredTests.test_addCallbacksNoneErrback */
static void test_null_errback_passes_failure_through(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, record, "cb", NULL, NULL);
  df_failure *f = df_failure_new(&generic_error, "oopsie");
  df_deferred_errback(d, df_failure_ref(f));
  assert_string_equal(events, ""); /* the callback did not run */
  df_deferred_add_errback(d, append, "eb");
  assert_string_equal(events, "eb:GenericError: oopsie ");
  df_failure_unref(f);
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.test_addCallbacksNoneCallbackArgs */
static void test_null_callback_arg_gives_callback_null(void **state) {
  (void)state;
  memset(&cap, 0, sizeof cap);
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, capture_cb, NULL, append, "eb");
  df_deferred_callback(d, df_string("hello"));
  assert_int_equal(cap.calls, 1);
  assert_null(cap.arg);
  assert_string_equal(events, "");
  df_deferred_unref(d);
}

static df_failure *eb_seen;
static void *eb_arg;
static df_result keep_failure(df_result r, void *arg) {
  eb_seen = df_failure_ref(r.u.failure);
  eb_arg = arg;
  df_result_drop(r);
  return df_none();
}

/* test_defer.py: DeferredTests.test_addCallbacksNoneErrbackArgs */
static void test_null_errback_arg_gives_errback_null(void **state) {
  (void)state;
  eb_seen = NULL;
  eb_arg = (void *)1;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, record, "cb", keep_failure, NULL);
  df_failure *f = df_failure_new(&generic_error, "oopsie");
  df_deferred_errback(d, df_failure_ref(f));
  df_deferred_add_errback(d, append, "eb2"); /* gets nothing: handled */
  assert_string_equal(events, "");
  assert_ptr_equal(eb_seen, f); /* the same failure object (rule 3) */
  assert_null(eb_arg);
  df_failure_unref(eb_seen);
  df_failure_unref(f);
  df_deferred_unref(d);
}

static void test_null_callback_passes_success_through(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callbacks(d, NULL, NULL, append, "eb");
  df_deferred_add_errback(d, append, "eb2");
  df_deferred_add_callback(d, record, "cb");
  df_deferred_callback(d, df_int(7));
  assert_string_equal(events, "cb:7 ");
  df_deferred_unref(d);
}

static void test_add_both_runs_same_function_on_either_side(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_add_both(a, append, "both");
  df_deferred_add_both(b, append, "both");
  df_deferred_callback(a, df_int(1));
  df_deferred_errback(b, df_failure_new(&generic_error, "x"));
  assert_string_equal(events, "both:1 both:GenericError: x ");
  df_deferred_unref(a);
  df_deferred_unref(b);
  assert_int_equal(reports, 0);
}

static void test_errback_returning_value_switches_to_callback_side(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, raise_generic, "boom");
  df_deferred_add_callback(d, record, "skipped");
  df_deferred_add_errback(d, append, "eb");     /* returns None */
  df_deferred_add_errback(d, append, "skipped2");
  df_deferred_add_callback(d, record, "cb");
  df_deferred_callback(d, df_int(1));
  assert_string_equal(events, "eb:GenericError: boom cb:None ");
  df_deferred_unref(d);
}

static void test_add_callbacks_rejects_null_deferred(void **state) {
  (void)state;
  assert_int_equal(df_deferred_add_callback(NULL, record, NULL), DF_EINVAL);
  assert_int_equal(df_deferred_chain(NULL, NULL), DF_EINVAL);
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_chain(d, d), DF_EINVAL);
  assert_int_equal(df_deferred_pending_stages(d), 0);
  df_deferred_unref(d);
}

/* --- group 6: immediate results and pause ------------------------------- */

/* test_defer.py: DeferredTests.testImmediateSuccess */
static void test_succeeded_deferred_runs_callback_when_added(void **state) {
  (void)state;
  df_deferred *d = df_succeed(df_string("success"));
  df_deferred_add_callback(d, append, "l");
  assert_string_equal(events, "l:'success' ");
  df_deferred_unref(d);
}

/* test_defer.py: DeferredTests.testImmediateFailure */
static void test_failed_deferred_runs_errback_when_added(void **state) {
  (void)state;
  df_deferred *d = df_fail(df_failure_new(&generic_error, "fail"));
  df_deferred_add_errback(d, append, "l");
  assert_string_equal(events, "l:GenericError: fail ");
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.testPausedFailure */
static void test_paused_failure_delays_errback_until_unpause(void **state) {
  (void)state;
  df_deferred *d = df_fail(df_failure_new(&generic_error, "fail"));
  assert_int_equal(df_deferred_pause(d), 0);
  assert_int_equal(df_deferred_paused(d), 1);
  df_deferred_add_errback(d, append, "l");
  assert_string_equal(events, "");
  assert_int_equal(df_deferred_pending_stages(d), 1);
  assert_int_equal(df_deferred_unpause(d), 0);
  assert_string_equal(events, "l:GenericError: fail ");
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

static df_result return_failure(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_failed(df_failure_new(&zero_division_error, "division by zero"));
}

/* test_defer.py: DeferredTests.testCallbackErrors */
static void test_raising_and_returning_failure_both_reach_errback(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, raise_generic, "raised");
  df_deferred_add_errback(d, append, "l");
  df_deferred_callback(d, df_int(1));
  df_deferred_unref(d);

  d = df_deferred_new();
  df_deferred_add_callback(d, return_failure, NULL);
  df_deferred_add_errback(d, append, "l");
  df_deferred_callback(d, df_int(1));
  df_deferred_unref(d);
  assert_string_equal(events, "l:GenericError: raised "
                              "l:ZeroDivisionError: division by zero ");
}

/* test_defer.py: DeferredTests.testUnpauseBeforeCallback */
static void test_unpause_before_firing_runs_nothing(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_pause(d);
  df_deferred_add_callback(d, record, "cb");
  assert_int_equal(df_deferred_unpause(d), 0);
  assert_string_equal(events, "");
  assert_false(df_deferred_called(d));
  df_deferred_callback(d, df_int(3));
  assert_string_equal(events, "cb:3 ");
  df_deferred_unref(d);
}

/* Documented difference: Twisted lets the counter go negative. */
static void test_unpause_below_zero_is_einval_and_changes_nothing(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  assert_int_equal(df_deferred_unpause(d), DF_EINVAL);
  assert_int_equal(df_deferred_paused(d), 0);
  df_deferred_add_callback(d, record, "cb");
  df_deferred_callback(d, df_int(1));
  assert_string_equal(events, "cb:1 "); /* not paused */
  assert_int_equal(df_deferred_unpause(NULL), DF_EINVAL);
  assert_int_equal(df_deferred_pause(NULL), DF_EINVAL);
  df_deferred_unref(d);
}

static void test_nested_pauses_need_as_many_unpauses(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, record, "cb");
  df_deferred_pause(d);
  df_deferred_pause(d);
  df_deferred_callback(d, df_int(1));
  df_deferred_unpause(d);
  assert_string_equal(events, "");
  assert_int_equal(df_deferred_paused(d), 1);
  df_deferred_unpause(d);
  assert_string_equal(events, "cb:1 ");
  df_deferred_unref(d);
}

static df_deferred *pause_target;
static df_result pause_self(df_result r, void *arg) {
  ev("pause");
  df_deferred_pause(arg);
  return r;
}

/* rule 17: a pause made inside a running callback does not stop the
 * remaining stages of that pass. */
static void test_pause_inside_callback_does_not_stop_current_pass(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  pause_target = d;
  df_deferred_add_callback(d, pause_self, d);
  df_deferred_add_callback(d, record, "after");
  df_deferred_callback(d, df_int(5));
  assert_string_equal(events, "pause after:5 ");
  assert_int_equal(df_deferred_paused(d), 1);
  df_deferred_add_callback(d, record, "later"); /* paused now */
  assert_string_equal(events, "pause after:5 ");
  df_deferred_unpause(d);
  assert_string_equal(events, "pause after:5 later:5 ");
  df_deferred_unref(d);
}

/* --- group 7: chaining with pause ---------------------------------------- */

/* test_defer.py: DeferredTests.testReturnDeferred */
static void test_returned_paused_deferred_holds_outer_until_unpaused(void **state) {
  (void)state;
  df_deferred *d1 = df_deferred_new(), *d2 = df_deferred_new();
  df_deferred_pause(d2);
  df_deferred_add_callback(d1, return_deferred, d2);
  df_deferred_add_callback(d1, record, "cb");
  df_deferred_callback(d1, df_int(1));
  assert_string_equal(events, ""); /* not called yet */
  df_deferred_callback(d2, df_int(2));
  assert_string_equal(events, ""); /* still not called */
  df_deferred_unpause(d2);
  assert_string_equal(events, "cb:2 ");
  df_deferred_unref(d1);
  df_deferred_unref(d2);
}

/* test_defer.py: DeferredTests.test_chainedPausedDeferredWithResult */
static void test_paused_deferred_with_result_chains_and_waits(void **state) {
  (void)state;
  static int expected;
  df_deferred *paused = df_deferred_new();
  df_deferred_callback(paused, df_pointer(&expected, NULL));
  df_deferred_pause(paused);
  df_deferred *chained = df_deferred_new();
  df_deferred_add_callback(chained, return_deferred, paused);
  df_deferred_callback(chained, df_none());
  assert_ptr_equal(df_deferred_waiting_on(chained), paused);

  capture seen = {0};
  memset(&cap, 0, sizeof cap);
  df_deferred_add_callback(chained, capture_cb, &seen);
  assert_int_equal(cap.calls, 0);
  df_deferred_unpause(paused);
  assert_int_equal(cap.calls, 1);
  assert_ptr_equal(cap.seen.u.p, &expected);
  assert_int_equal(df_deferred_result(paused)->kind, DF_NONE);
  df_deferred_unref(chained);
  df_deferred_unref(paused);
}

/* test_defer.py: DeferredTests.test_pausedDeferredChained */
static void test_paused_waiter_does_not_stop_inner_later_callbacks(void **state) {
  (void)state;
  df_deferred *first = df_deferred_new(), *second = df_deferred_new();
  df_deferred_add_callback(first, return_deferred, second);
  df_deferred_callback(first, df_none());
  df_deferred_pause(first);
  df_deferred_callback(second, df_none());
  df_deferred_add_callback(second, append, "result");
  assert_string_equal(events, "result:None ");
  df_deferred_unref(first);
  df_deferred_unref(second);
}

/* rule 13: the waiter still paused by the user at hand-off gets the
 * result, but the inner deferred's later stages wait for a new trigger. */
static void test_user_paused_waiter_takes_result_but_inner_stops(void **state) {
  (void)state;
  df_deferred *outer = df_deferred_new(), *inner = df_deferred_new();
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_add_callback(outer, record, "outer");
  df_deferred_callback(outer, df_none());
  df_deferred_pause(outer);
  df_deferred_add_callback(inner, record, "inner-later"); /* after CONTINUE */
  df_deferred_callback(inner, df_int(9));
  assert_string_equal(events, "");
  assert_null(df_deferred_waiting_on(outer));
  assert_int_equal(df_deferred_result(outer)->u.i, 9);
  assert_int_equal(df_deferred_pending_stages(inner), 1);
  df_deferred_unpause(outer); /* resumes outer, not inner */
  assert_string_equal(events, "outer:9 ");
  assert_int_equal(df_deferred_pending_stages(inner), 1);
  df_deferred_add_callback(inner, record, "inner-trigger");
  assert_string_equal(events, "outer:9 inner-later:None inner-trigger:None ");
  df_deferred_unref(outer);
  df_deferred_unref(inner);
}

/* --- group 10: nested chain order ---------------------------------------- */

typedef struct nested_ctx {
  df_deferred *inner;
  bool transform; /* add a transforming callback to inner before returning */
} nested_ctx;

static df_result first_callback(df_result r, void *arg) {
  nested_ctx *ctx = arg;
  ev("firstCallback:%s", r.kind == DF_STRING ? r.u.s : "?");
  df_result_drop(r);
  if (ctx->transform) df_deferred_add_callback(ctx->inner, record, "transform");
  return df_wait_on(df_deferred_ref(ctx->inner));
}

static char doubled[64];
static df_result second_callback(df_result r, void *arg) {
  (void)arg;
  ev("secondCallback:%s", r.u.s);
  snprintf(doubled, sizeof doubled, "%s%s", r.u.s, r.u.s);
  return df_string(doubled);
}

static df_result start_of_cb(df_result r, void *arg) {
  ev("start-of-cb:%s", r.u.s);
  df_deferred *d = df_succeed(df_string("inner"));
  df_deferred_add_callback(d, first_callback, arg);
  df_deferred_add_callback(d, second_callback, NULL);
  df_deferred_add_errback(d, append, "failure");
  return df_wait_on(d);
}

/* test_defer.py: DeferredTests.test_innerCallbacksPreserved */
static void test_middle_callbacks_run_before_outer_gets_result(void **state) {
  (void)state;
  nested_ctx ctx = {df_deferred_new(), false};
  df_deferred *outer = df_succeed(df_string("outer"));
  df_deferred_add_callback(outer, start_of_cb, &ctx);
  df_deferred_callback(ctx.inner, df_string("orange"));
  df_deferred_add_callback(outer, append, "result");
  df_deferred_add_errback(ctx.inner, append, "failure");
  df_deferred_add_errback(outer, append, "failure");
  assert_string_equal(events, "start-of-cb:outer firstCallback:inner "
                              "secondCallback:orange result:'orangeorange' ");
  df_deferred_unref(outer);
  df_deferred_unref(ctx.inner);
}

/* test_defer.py: DeferredTests.test_nestedAsynchronousChainedDeferreds */
static void test_inner_fired_later_resumes_outer_chain(void **state) {
  (void)state;
  nested_ctx ctx = {df_deferred_new(), false};
  df_deferred *outer = df_succeed(df_string("outer"));
  df_deferred_add_callback(outer, start_of_cb, &ctx);
  df_deferred_add_callback(outer, append, "result");
  assert_string_equal(events, "start-of-cb:outer firstCallback:inner ");
  df_deferred_callback(ctx.inner, df_string("orange"));
  df_deferred_add_errback(ctx.inner, append, "failure");
  df_deferred_add_errback(outer, append, "failure");
  assert_string_equal(events, "start-of-cb:outer firstCallback:inner "
                              "secondCallback:orange result:'orangeorange' ");
  df_deferred_unref(outer);
  df_deferred_unref(ctx.inner);
}

/* test_defer.py:
 * DeferredTests.test_nestedAsynchronousChainedDeferredsWithExtraCallbacks */
static void test_callback_added_to_inner_before_return_transforms_value(
    void **state) {
  (void)state;
  nested_ctx ctx = {df_deferred_new(), true};
  df_deferred *outer = df_succeed(df_string("outer"));
  df_deferred_add_callback(outer, start_of_cb, &ctx);
  df_deferred_add_callback(outer, append, "result");
  assert_string_equal(events, "start-of-cb:outer firstCallback:inner ");
  df_deferred_callback(ctx.inner, df_string("withers"));
  df_deferred_add_errback(outer, append, "failure");
  df_deferred_add_errback(ctx.inner, append, "failure");
  assert_string_equal(events, "start-of-cb:outer firstCallback:inner "
                              "transform:'withers' secondCallback:withers "
                              "result:'witherswithers' ");
  df_deferred_unref(outer);
  df_deferred_unref(ctx.inner);
}

/* Twisted's gatherResults([a]) is a deferred whose own callbacks come
 * before the CONTINUE stage; here: a deferred `g` fired by a through
 * chain_deferred, with a bracketing callback of its own. */
static char bracketed[64];
static df_result bracket(df_result r, void *arg) {
  (void)arg;
  snprintf(bracketed, sizeof bracketed, "[%s]", r.u.s);
  return df_string(bracketed);
}

static df_result gather_first(df_result r, void *arg) {
  ev_result("firstCallback", r);
  df_result_drop(r);
  df_deferred *g = df_deferred_new();
  df_deferred_add_callback(g, bracket, NULL);
  df_deferred_chain(arg, g);
  return df_wait_on(g);
}

static df_result gather_cb(df_result r, void *arg) {
  ev_result("cb", r);
  df_result_drop(r);
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, gather_first, arg);
  df_deferred_add_callback(d, append, "secondCallback");
  df_deferred_add_errback(d, append, "failure");
  df_deferred_callback(d, df_none());
  return df_wait_on(d);
}

/* test_defer.py: DeferredTests.test_continueCallbackNotFirst */
static void test_continue_stage_need_not_be_first(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new();
  df_deferred *outer = df_succeed(df_string("outer"));
  df_deferred_add_callback(outer, gather_cb, a);
  df_deferred_add_errback(outer, append, "failure");
  assert_string_equal(events, "cb:'outer' firstCallback:None ");
  df_deferred_callback(a, df_string("withers"));
  assert_string_equal(events, "cb:'outer' firstCallback:None "
                              "secondCallback:'[withers]' ");
  df_deferred_unref(outer);
  df_deferred_unref(a);
}

/* test_defer.py: DeferredTests.test_callbackOrderPreserved */
static void test_outer_callbacks_added_after_chaining_run_last(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new();
  df_deferred *outer = df_deferred_new();
  df_deferred_add_callback(outer, gather_cb, a);
  df_deferred_add_callback(outer, append, "final");
  df_deferred_add_errback(outer, append, "failure");
  df_deferred_callback(outer, df_string("outer"));
  assert_string_equal(events, "cb:'outer' firstCallback:None ");
  df_deferred_callback(a, df_string("withers"));
  assert_string_equal(events, "cb:'outer' firstCallback:None "
                              "secondCallback:'[withers]' final:None ");
  df_deferred_unref(outer);
  df_deferred_unref(a);
}

/* --- group 11: re-entrancy ------------------------------------------------- */

static df_result callback3(df_result r, void *arg) {
  (void)arg;
  ev("3");
  return r;
}
static df_result callback2(df_result r, void *arg) {
  (void)arg;
  ev("2");
  return r;
}
static df_result callback1_adds_3(df_result r, void *arg) {
  ev("1");
  df_deferred_add_callback(arg, callback3, NULL);
  return r;
}

/* test_defer.py: DeferredTests.test_reentrantRunCallbacks */
static void test_callback_added_inside_callback_goes_to_the_end(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, callback1_adds_3, d);
  df_deferred_add_callback(d, callback2, NULL);
  df_deferred_callback(d, df_none());
  assert_string_equal(events, "1 2 3 ");
  df_deferred_unref(d);
}

static df_result callback1_adds_2(df_result r, void *arg) {
  ev("1");
  df_deferred_add_callback(arg, callback2, NULL);
  ev("added"); /* callback2 has not run inside add_callback */
  return r;
}

/* test_defer.py: DeferredTests.test_nonReentrantCallbacks */
static void test_callback_added_inside_callback_waits_for_return(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, callback1_adds_2, d);
  df_deferred_callback(d, df_none());
  assert_string_equal(events, "1 added 2 ");
  df_deferred_unref(d);
}

static df_result callback1_adds_raiser(df_result r, void *arg) {
  df_deferred_add_callback(arg, raise_generic, "callback raised exception");
  return r;
}

/* test_defer.py: DeferredTests.test_reentrantRunCallbacksWithFailure */
static void test_failure_of_callback_added_inside_callback_reaches_errback(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, callback1_adds_raiser, d);
  df_deferred_callback(d, df_none());
  const df_result *r = df_deferred_result(d);
  assert_non_null(r);
  assert_true(df_result_is_failure(*r));
  assert_ptr_equal(df_failure_type(r->u.failure), &generic_error);
  assert_string_equal(df_failure_message(r->u.failure),
                      "callback raised exception");
  df_deferred_add_errback(d, append, "eb");
  assert_string_equal(events, "eb:GenericError: callback raised exception ");
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

static df_result unpause_self(df_result r, void *arg) {
  ev("unpause:%d", df_deferred_unpause(arg));
  return r;
}

/* rule 21: unpause from inside d's own callback starts no nested loop. */
static void test_unpause_inside_own_callback_does_not_nest(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, pause_self, d);
  df_deferred_add_callback(d, unpause_self, d);
  df_deferred_add_callback(d, record, "last");
  df_deferred_callback(d, df_int(4));
  assert_string_equal(events, "pause unpause:0 last:4 ");
  assert_int_equal(df_deferred_paused(d), 0);
  df_deferred_unref(d);
}

/* rule 22: firing another deferred from a callback runs its chain nested. */
static df_result fire_other(df_result r, void *arg) {
  ev("before");
  df_deferred_callback(arg, df_int(8));
  ev("after");
  return r;
}

static void test_firing_other_deferred_inside_callback_runs_it_now(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new(), *e = df_deferred_new();
  df_deferred_add_callback(e, record, "e");
  df_deferred_add_callback(d, fire_other, e);
  df_deferred_callback(d, df_int(1));
  assert_string_equal(events, "before e:8 after ");
  df_deferred_unref(d);
  df_deferred_unref(e);
}

/* --- group 12: implicit chain transfer ---------------------------------- */

/* test_defer.py: DeferredTests.test_synchronousImplicitChain */
static void test_returned_fired_deferred_gives_its_result_and_keeps_none(
    void **state) {
  (void)state;
  static int result;
  df_deferred *first = df_succeed(df_pointer(&result, NULL));
  df_deferred *second = df_deferred_new();
  df_deferred_add_callback(second, return_deferred, first);
  df_deferred_callback(second, df_none());
  memset(&cap, 0, sizeof cap);
  df_deferred_add_callback(first, append, "first");
  assert_string_equal(events, "first:None ");
  df_deferred_add_callback(second, capture_cb, NULL);
  assert_int_equal(cap.calls, 1);
  assert_ptr_equal(cap.seen.u.p, &result);
  df_deferred_unref(first);
  df_deferred_unref(second);
}

/* test_defer.py: DeferredTests.test_asynchronousImplicitChain */
static void test_returned_unfired_deferred_passes_result_when_fired(
    void **state) {
  (void)state;
  static int result;
  df_deferred *first = df_deferred_new(), *second = df_deferred_new();
  df_deferred_add_callback(second, return_deferred, first);
  df_deferred_callback(second, df_none());
  df_deferred_add_callback(first, append, "first");
  memset(&cap, 0, sizeof cap);
  df_deferred_add_callback(second, capture_cb, NULL);
  assert_string_equal(events, "");
  assert_int_equal(cap.calls, 0);
  df_deferred_callback(first, df_pointer(&result, NULL));
  assert_string_equal(events, "first:None ");
  assert_int_equal(cap.calls, 1);
  assert_ptr_equal(cap.seen.u.p, &result);
  df_deferred_unref(first);
  df_deferred_unref(second);
}

/* test_defer.py: DeferredTests.test_synchronousImplicitErrorChain */
static void test_returned_failed_deferred_gives_failure_and_no_report(
    void **state) {
  (void)state;
  df_failure *f = df_failure_new(&runtime_error, "First Deferred's Failure");
  df_deferred *first = df_fail(df_failure_ref(f));
  df_deferred *second = df_deferred_new();
  df_deferred_add_callback(second, return_deferred, first);
  df_deferred_callback(second, df_none());
  df_deferred_add_callback(first, append, "first");
  assert_string_equal(events, "first:None ");
  const df_result *r = df_deferred_result(second);
  assert_true(df_result_is_failure(*r));
  assert_ptr_equal(r->u.failure, f); /* the very same failure */
  df_deferred_unref(first);
  assert_int_equal(reports, 0); /* first never reports it (rule 9) */
  df_deferred_add_errback(second, append, "second");
  df_deferred_unref(second);
  df_failure_unref(f);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.test_asynchronousImplicitErrorChain */
static void test_returned_deferred_failing_later_hands_failure_over(
    void **state) {
  (void)state;
  df_deferred *first = df_deferred_new(), *second = df_deferred_new();
  df_deferred_add_callback(second, return_deferred, first);
  df_deferred_callback(second, df_none());
  df_deferred_add_errback(second, append, "secondError");
  df_deferred_add_callback(first, append, "firstResult");
  df_deferred_add_callback(second, append, "secondResult");
  assert_string_equal(events, "");
  df_deferred_errback(first,
                      df_failure_new(&runtime_error, "First Deferred's Failure"));
  assert_string_equal(events,
                      "secondError:RuntimeError: First Deferred's Failure "
                      "secondResult:None firstResult:None ");
  df_deferred_unref(first);
  df_deferred_unref(second);
  assert_int_equal(reports, 0);
}

/* test_defer.py: DeferredTests.test_doubleAsynchronousImplicitChaining */
static void test_implicit_chaining_is_transitive(void **state) {
  (void)state;
  static int result;
  df_deferred *first = df_deferred_new(), *second = df_deferred_new(),
              *third = df_deferred_new();
  df_deferred_add_callback(second, return_deferred, first);
  df_deferred_add_callback(third, return_deferred, second);
  memset(&cap, 0, sizeof cap);
  df_deferred_add_callback(third, capture_cb, NULL);
  df_deferred_callback(second, df_none());
  df_deferred_callback(third, df_none());
  assert_int_equal(cap.calls, 0);
  df_deferred_callback(first, df_pointer(&result, NULL));
  assert_int_equal(cap.calls, 1);
  assert_ptr_equal(cap.seen.u.p, &result);
  df_deferred_unref(first);
  df_deferred_unref(second);
  df_deferred_unref(third);
}

/* test_defer.py:
 * DeferredTests.test_resultOfDeferredResultOfDeferredOfFiredDeferredCalled */
static void test_callback_added_to_middle_after_resolution_runs(void **state) {
  (void)state;
  df_deferred *first = df_deferred_new(), *second = df_deferred_new(),
              *third = df_deferred_new();
  df_deferred_add_callback(first, return_deferred, second);
  df_deferred_add_callback(second, return_deferred, third);
  df_deferred_callback(second, df_none());
  df_deferred_callback(first, df_none());
  df_deferred_callback(third, df_none());
  df_deferred_add_callback(second, append, "results");
  assert_string_equal(events, "results:None ");
  df_deferred_unref(first);
  df_deferred_unref(second);
  df_deferred_unref(third);
}

/* Documented difference: a deferred whose callbacks are running is waited
 * on rather than stolen from. */
static df_deferred *running_outer;
static df_result return_running(df_result r, void *arg) {
  (void)arg;
  ev_result("inner-cb", r);
  df_deferred *outer = df_deferred_new();
  df_deferred_add_callback(outer, return_deferred, running_outer);
  df_deferred_add_callback(outer, record, "outer");
  df_deferred_callback(outer, df_none());
  ev("outer-waiting:%d", df_deferred_waiting_on(outer) == running_outer);
  df_deferred_unref(outer); /* the wait edge keeps it alive */
  return r;
}

static void test_returning_running_deferred_waits_for_it(void **state) {
  (void)state;
  df_deferred *inner = df_deferred_new();
  running_outer = inner;
  df_deferred_add_callback(inner, return_running, NULL);
  df_deferred_add_callback(inner, plus_one, NULL);
  df_deferred_callback(inner, df_int(1));
  assert_string_equal(events, "inner-cb:1 outer-waiting:1 outer:2 ");
  assert_int_equal(df_deferred_result(inner)->kind, DF_NONE);
  df_deferred_unref(inner);
}

/* --- re-entrant runs of a deferred the loop is still running ------------ */

/* W waits on X; X's only stage hands X's result to W. From W's callback,
 * while the loop still has X's frame below W's, X gets a stage that makes
 * it wait on Y, and a stage after that; with `fire_y_inside`, W's
 * callback then fires Y, whose hand-off to X comes while X is still on
 * the loop stack (loop_stack.c: a deferred on the stack twice, with the
 * reserve its wait edge took); else Y is fired after everything returned
 * (the reserve is not needed, and freed). Checked against Twisted 22.4:
 * the same events in the same order, and the same results. */
static df_deferred *reentry_x, *reentry_y;
static bool reentry_fire_y_inside;

static df_result x_waits_on_y(df_result r, void *arg) {
  (void)arg;
  ev_result("x_ret_y", r);
  return df_wait_on(df_deferred_ref(reentry_y));
}

static df_result x_after(df_result r, void *arg) {
  (void)arg;
  ev_result("x_after", r);
  df_result_drop(r);
  return df_string("x-done");
}

static df_result w_adds_to_x(df_result r, void *arg) {
  (void)arg;
  ev_result("w", r);
  df_result_drop(r);
  assert_int_equal(df_deferred_add_callback(reentry_x, x_waits_on_y, NULL), 0);
  assert_int_equal(df_deferred_add_both(reentry_x, x_after, NULL), 0);
  if (reentry_fire_y_inside)
    assert_int_equal(df_deferred_callback(reentry_y, df_string("y")), 0);
  ev("w-end");
  return df_string("w-done");
}

static void reentered_wait(bool fire_y_inside, const char *expected) {
  support_reset();
  df_deferred *x = df_deferred_new(), *w = df_deferred_new();
  reentry_x = x;
  reentry_y = df_deferred_new();
  reentry_fire_y_inside = fire_y_inside;
  df_deferred_add_callback(w, return_deferred, x);
  df_deferred_callback(w, df_none());
  assert_ptr_equal(df_deferred_waiting_on(w), x);
  df_deferred_add_callback(w, w_adds_to_x, NULL);
  df_deferred_add_callback(w, record, "w_last");
  assert_int_equal(df_deferred_callback(x, df_string("x")), 0);
  ev("|");
  if (!fire_y_inside)
    assert_int_equal(df_deferred_callback(reentry_y, df_string("y")), 0);
  assert_string_equal(events, expected);
  assert_null(df_deferred_waiting_on(x));
  assert_string_equal(df_deferred_result(x)->u.s, "x-done");
  assert_string_equal(df_deferred_result(w)->u.s, "w-done");
  df_deferred_unref(x);
  df_deferred_unref(w);
  df_deferred_unref(reentry_y);
}

static void test_deferred_on_the_loop_stack_waits_and_is_handed_off_again(
    void **state) {
  (void)state;
  reentered_wait(true, "w:'x' x_ret_y:None x_after:'y' w-end "
                       "w_last:'w-done' | ");
}

static void test_deferred_on_the_loop_stack_waits_for_a_later_hand_off(
    void **state) {
  (void)state;
  reentered_wait(false, "w:'x' x_ret_y:None w-end w_last:'w-done' | "
                        "x_after:'y' ");
}

/* t, run by the loop in a frame (a waiter just handed its result), makes
 * a wait edge whose making frees a deferred: c2 chained to t after t had
 * fired, so c2 failed with AlreadyCalledError and t's chained_to holds
 * the last reference to c2 (rule 15). Waiting on r lets it go; c2's
 * unhandled failure is reported then, and the handler fires r, whose
 * hand-off to t comes while t's frame is still on the loop stack: t's
 * next stage runs inside the handler, and t goes on with its value. */
static df_deferred *handed_r;

static void fire_r_from_handler(const df_unhandled *report, void *arg) {
  (void)arg;
  ev("report:%s", df_failure_type(report->failure)->name);
  assert_int_equal(df_deferred_callback(handed_r, df_int(9)), 0);
  ev("report-end");
}

static df_result chain_late_then_wait(df_result r, void *arg) {
  df_deferred *t = arg;
  ev_result("t", r);
  df_deferred *c2 = df_deferred_new();
  assert_int_equal(df_deferred_chain(c2, t), 0);
  assert_int_equal(df_deferred_callback(c2, df_int(1)), 0);
  df_deferred_unref(c2); /* t's chained_to holds it now */
  return r;
}

static df_result wait_on_r(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  ev("t-waits");
  return df_wait_on(df_deferred_ref(handed_r));
}

static void test_wait_whose_making_reports_may_be_handed_off_at_once(
    void **state) {
  (void)state;
  df_set_unhandled_handler(fire_r_from_handler, NULL);
  df_deferred *t = df_deferred_new(), *a = df_deferred_new();
  handed_r = df_deferred_new();
  df_deferred_add_callback(t, return_deferred, a);
  df_deferred_add_callback(t, chain_late_then_wait, t);
  df_deferred_add_callback(t, wait_on_r, NULL);
  df_deferred_add_callback(t, record, "t-got");
  df_deferred_callback(t, df_none());
  assert_ptr_equal(df_deferred_waiting_on(t), a);
  assert_int_equal(df_deferred_callback(a, df_int(5)), 0); /* hands off */
  assert_string_equal(events, "t:5 t-waits report:AlreadyCalledError "
                              "t-got:9 report-end ");
  assert_null(df_deferred_waiting_on(t));
  assert_int_equal(df_deferred_result(t)->u.i, 9);
  df_deferred_unref(t);
  df_deferred_unref(a);
  df_deferred_unref(handed_r);
  df_set_unhandled_handler(count_reports, NULL);
}

/* --- group 14: chainedTo bookkeeping ------------------------------------ */

/* test_defer.py: DeferredTests.test_chainDeferredRecordsExplicitChain */
static void test_chain_deferred_records_chained_to(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  assert_null(df_deferred_chained_to(a));
  assert_int_equal(df_deferred_chain(b, a), 0);
  assert_ptr_equal(df_deferred_chained_to(a), b);
  df_deferred_unref(a);
  df_deferred_unref(b);
}

/* test_defer.py: DeferredTests.test_explicitChainClearedWhenResolved */
static void test_chained_to_cleared_when_chain_resolves(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_chain(b, a);
  df_deferred_callback(b, df_none());
  assert_null(df_deferred_chained_to(a));
  df_deferred_unref(a);
  df_deferred_unref(b);
}

/* test_defer.py: DeferredTests.test_chainDeferredRecordsImplicitChain */
static void test_implicit_chaining_records_chained_to(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_add_callback(a, return_deferred, b);
  df_deferred_callback(a, df_none());
  assert_ptr_equal(df_deferred_chained_to(a), b);
  assert_ptr_equal(df_deferred_waiting_on(a), b);
  df_deferred_callback(b, df_none());
  assert_null(df_deferred_chained_to(a));
  assert_null(df_deferred_waiting_on(a));
  df_deferred_unref(a);
  df_deferred_unref(b);
}

/* chained_to is a reference, as Twisted's _chainedTo is: a waiter that is
 * paused when the deferred it waits on fires keeps naming that deferred
 * until its own run starts, and the deferred stays alive for it though
 * its owner has let it go (it used to be freed, leaving chained_to
 * pointing at freed memory). */
static void test_paused_waiter_keeps_the_deferred_it_waited_on_alive(
    void **state) {
  (void)state;
  static int tag;
  df_deferred *a = df_deferred_new();
  df_deferred *b = df_deferred_new_owning(NULL, &tag, count_destroy);
  df_deferred_add_callback(a, return_deferred, b);
  df_deferred_callback(a, df_none());
  df_deferred_pause(a);
  df_deferred_callback(b, df_int(3)); /* hands 3 to a, which is paused */
  df_deferred_unref(b);
  assert_int_equal(destroyed, 0);
  df_release_caches(); /* no spare struct left to hide a use after free */
  df_deferred *on = df_deferred_chained_to(a);
  assert_ptr_equal(on, b);
  assert_true(df_deferred_called(on));
  assert_int_equal(df_deferred_result(on)->kind, DF_NONE); /* went to a */
  assert_int_equal(df_deferred_result(a)->u.i, 3);
  assert_int_equal(df_deferred_unpause(a), 0); /* a's run lets b go */
  assert_null(df_deferred_chained_to(a));
  assert_int_equal(destroyed, 1);
  df_deferred_unref(a);
}

/* The same for chain_deferred: a paused target, fired by the stage of the
 * deferred it is chained to, keeps that deferred until its run starts. */
static void test_paused_chain_target_keeps_the_chaining_deferred_alive(
    void **state) {
  (void)state;
  static int tag;
  df_deferred *a = df_deferred_new_owning(NULL, &tag, count_destroy);
  df_deferred *b = df_deferred_new();
  df_deferred_chain(a, b);
  df_deferred_pause(b);
  df_deferred_callback(a, df_int(4)); /* fires b, which is paused */
  df_deferred_unref(a);
  assert_int_equal(destroyed, 0);
  df_release_caches();
  df_deferred *on = df_deferred_chained_to(b);
  assert_ptr_equal(on, a);
  assert_true(df_deferred_called(on));
  assert_int_equal(df_deferred_result(b)->u.i, 4);
  assert_int_equal(df_deferred_unpause(b), 0);
  assert_null(df_deferred_chained_to(b));
  assert_int_equal(destroyed, 1);
  df_deferred_unref(b);
}

/* A deferred held only through another's chained_to can still be part of
 * a group nothing outside holds: x is held by w's chained_to (w was
 * paused when x handed it 1), and w by x's wait on it. Once both owners
 * let go, both are freed. */
static void test_group_closed_by_chained_to_is_freed(void **state) {
  (void)state;
  static int tag;
  df_deferred *w = df_deferred_new();
  df_deferred *x = df_deferred_new_owning(NULL, &tag, count_destroy);
  df_deferred_add_callback(w, return_deferred, x);
  df_deferred_callback(w, df_none());
  df_deferred_pause(w);
  df_deferred_callback(x, df_int(1));
  assert_ptr_equal(df_deferred_chained_to(w), x);
  df_deferred_add_callback(x, return_deferred, w); /* x now waits on w */
  assert_ptr_equal(df_deferred_waiting_on(x), w);
  df_deferred_unref(w);
  df_deferred_unref(x);
  assert_int_equal(destroyed, 1);
}

/* rule 15: chain_deferred fires the target with d's result; d's result is
 * then None. */
static void test_chain_deferred_passes_result_and_leaves_none(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_add_callback(b, record, "b");
  df_deferred_chain(a, b);
  df_deferred_add_callback(a, record, "a");
  df_deferred_callback(a, df_int(6));
  assert_string_equal(events, "b:6 a:None ");
  df_deferred_unref(a);
  df_deferred_unref(b);
}

static void test_chain_deferred_passes_failure_to_errbacks(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_add_errback(b, append, "b");
  df_deferred_chain(a, b);
  df_deferred_add_both(a, record, "a");
  df_deferred_errback(a, df_failure_new(&generic_error, "x"));
  assert_string_equal(events, "b:GenericError: x a:None ");
  df_deferred_unref(a);
  df_deferred_unref(b);
  assert_int_equal(reports, 0);
}

/* rule 15: if the target had already fired, d's result becomes an
 * AlreadyCalledError failure. */
static void test_chain_to_already_fired_deferred_fails_with_already_called(
    void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_succeed(df_int(1));
  df_deferred_chain(a, b);
  df_deferred_add_errback(a, append, "a");
  df_deferred_callback(a, df_int(2));
  assert_string_equal(events, "a:AlreadyCalledError: chain_deferred: the "
                              "chained deferred was already called ");
  assert_int_equal(df_deferred_result(b)->u.i, 1); /* unchanged */
  df_deferred_unref(a);
  df_deferred_unref(b);
}

/* --- group 15: a callback returns its own deferred ------------------------ */

static df_result return_self(df_result r, void *arg) {
  df_result_drop(r);
  return df_wait_on(df_deferred_ref(arg));
}

/* test_defer.py: DeferredTests.test_circularChainWarning and
 * test_circularChainException. Documented difference: instead of a
 * DeprecationWarning and a deferred stuck for ever, the chain fails with
 * ChainCycleError and goes on. */
static void test_callback_returning_own_deferred_fails_with_chain_cycle(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, return_self, d);
  df_deferred_add_callback(d, record, "skipped");
  df_deferred_callback(d, df_string("foo"));
  assert_null(df_deferred_waiting_on(d));
  assert_int_equal(df_deferred_pending_stages(d), 0);
  const df_result *r = df_deferred_result(d);
  assert_true(df_result_is_failure(*r));
  assert_ptr_equal(df_failure_check(r->u.failure, &df_error_chain_cycle),
                   &df_error_chain_cycle);
  df_deferred_add_errback(d, append, "eb");
  assert_string_equal(events, "eb:ChainCycleError: a callback returned a "
                              "deferred that is waiting on the deferred it was "
                              "attached to; this would wait for ever ");
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

static void test_callback_returning_deferred_waiting_on_it_fails(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_add_callback(b, return_deferred, a); /* before CONTINUE(a) */
  df_deferred_add_callback(a, return_deferred, b);
  df_deferred_add_errback(a, append, "a");
  df_deferred_callback(a, df_none());
  assert_ptr_equal(df_deferred_waiting_on(a), b);
  df_deferred_callback(b, df_none()); /* returns a, which waits on b */
  /* b's failure is handed to a, which was waiting on b */
  assert_null(df_deferred_waiting_on(a));
  assert_string_equal(events, "a:ChainCycleError: a callback returned a "
                              "deferred that is waiting on the deferred it was "
                              "attached to; this would wait for ever ");
  df_deferred_unref(a);
  df_deferred_unref(b);
  assert_int_equal(reports, 0);
}

/* --- group 16: repr ------------------------------------------------------------ */

/* test_defer.py: DeferredTests.test_repr */
static void test_describe_unfired(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  char expected[128], got[128];
  snprintf(expected, sizeof expected, "<Deferred at %p>", (void *)d);
  size_t n = df_deferred_describe(d, got, sizeof got);
  assert_string_equal(got, expected);
  assert_int_equal(n, strlen(expected));
  df_deferred_unref(d);
}

/* test_defer.py: DeferredTests.test_reprWithResult */
static void test_describe_with_result(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_callback(d, df_string("orange"));
  char expected[128], got[128];
  snprintf(expected, sizeof expected, "<Deferred at %p current result: 'orange'>",
           (void *)d);
  df_deferred_describe(d, got, sizeof got);
  assert_string_equal(got, expected);
  df_deferred_unref(d);

  d = df_succeed(df_int(42));
  snprintf(expected, sizeof expected, "<Deferred at %p current result: 42>",
           (void *)d);
  df_deferred_describe(d, got, sizeof got);
  assert_string_equal(got, expected);
  df_deferred_unref(d);
}

/* test_defer.py: DeferredTests.test_reprWithChaining */
static void test_describe_chained_says_waiting_on(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_chain(b, a);
  char expected[128], got[128];
  snprintf(expected, sizeof expected,
           "<Deferred at %p waiting on Deferred at %p>", (void *)a, (void *)b);
  df_deferred_describe(a, got, sizeof got);
  assert_string_equal(got, expected);
  df_deferred_unref(a);
  df_deferred_unref(b);
}

static void test_describe_implicitly_waiting(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_add_callback(a, return_deferred, b);
  df_deferred_callback(a, df_none());
  char expected[128], got[128];
  snprintf(expected, sizeof expected,
           "<Deferred at %p waiting on Deferred at %p>", (void *)a, (void *)b);
  df_deferred_describe(a, got, sizeof got);
  assert_string_equal(got, expected);
  df_deferred_callback(b, df_int(3));
  snprintf(expected, sizeof expected, "<Deferred at %p current result: 3>",
           (void *)a);
  df_deferred_describe(a, got, sizeof got);
  assert_string_equal(got, expected);
  df_deferred_unref(a);
  df_deferred_unref(b);
}

/* --- group 17: stack depth ------------------------------------------------- */

/* The C stack the library uses is measured between two addresses taken
 * around the same call: a local of fire_measured()'s frame, just before it
 * fires the deferred, and a local of the callback that then runs. Their
 * difference does not depend on how the compiler framed the test's other
 * functions (it may inline or clone chain_deferreds() differently for
 * each chain length), only on the library's frames in between. */
#if defined(__clang__)
#define NOT_INLINED __attribute__((noinline))
#else
#define NOT_INLINED __attribute__((noinline, noclone))
#endif

/* Deeper than this would mean the library recursed: its frames between
 * a fire and a callback take well under a kilobyte with any compiler and
 * sanitizer this project builds with. */
#define STACK_DEPTH_BOUND (16 * 1024)

static uintptr_t recorded_depth;
static int depth_records;
static volatile uintptr_t fire_baseline;

static NOT_INLINED df_result record_stack_depth(df_result r, void *arg) {
  (void)arg;
  volatile char marker = 0;
  recorded_depth = fire_baseline - (uintptr_t)&marker; /* the stack grows down */
  depth_records++;
  return r;
}

/* Fire `d` (with None) from a frame of its own, noting where that frame
 * is first. */
static NOT_INLINED void fire_measured(df_deferred *d) {
  volatile char marker = 0;
  fire_baseline = (uintptr_t)&marker;
  df_deferred_callback(d, df_none());
}

/* Twisted's chainDeferreds(howMany) from test_boundedStackDepth: top's
 * callback returns inner[n-1], whose callback returns inner[n-2], ...,
 * inner[0]'s returns `last`. All callbacks are added first; then top and
 * every inner are fired in creation order (so each returns a deferred that
 * is already waiting), and finally `last`, which resolves them all.
 * Returns how much C stack lay between firing `last` and the callback
 * that then runs on top. */
static uintptr_t chain_deferreds(long how_many) {
  depth_records = 0;
  df_deferred **inners = test_malloc((size_t)how_many * sizeof *inners);
  for (long i = 0; i < how_many; i++) inners[i] = df_deferred_new();
  df_deferred *top = df_deferred_new(), *last = df_deferred_new();
  df_deferred_add_callback(top, return_deferred_owned,
                           df_deferred_ref(inners[how_many - 1]));
  df_deferred_add_callback(top, record_stack_depth, NULL);
  for (long i = how_many - 1; i > 0; i--)
    df_deferred_add_callback(inners[i], return_deferred_owned,
                             df_deferred_ref(inners[i - 1]));
  df_deferred_add_callback(inners[0], return_deferred_owned,
                           df_deferred_ref(last));
  df_deferred_callback(top, df_none());
  for (long i = 0; i < how_many; i++) {
    df_deferred_callback(inners[i], df_none());
    df_deferred_unref(inners[i]); /* kept alive by the wait edges */
  }
  test_free(inners);
  assert_int_equal(depth_records, 0); /* sanity: not yet */
  fire_measured(last);
  assert_int_equal(depth_records, 1);
  assert_null(df_deferred_waiting_on(top));
  assert_int_equal(df_deferred_pending_stages(top), 0);
  df_deferred_unref(last);
  df_deferred_unref(top);
  assert_true(recorded_depth > 0 && recorded_depth < STACK_DEPTH_BOUND);
  return recorded_depth;
}

/* test_defer.py: DeferredTests.test_boundedStackDepth */
static void test_callback_stack_depth_does_not_depend_on_chain_length(
    void **state) {
  (void)state;
  uintptr_t one = chain_deferreds(1);
  assert_int_equal(chain_deferreds(2), one);
  assert_int_equal(chain_deferreds(100), one);
}

/* The same with a million deferreds waiting on each other, on the default
 * stack: the hand-off is iterative (rule 11). */
static void test_million_deferred_implicit_waiting_chain(void **state) {
  (void)state;
  uintptr_t one = chain_deferreds(1);
  assert_int_equal(chain_deferreds(1000000), one);
}

#define MILLION 1000000L

static df_result count_and_pass(df_result r, void *arg) {
  (*(long *)arg)++;
  return r;
}

/* A million deferreds linked with chain_deferred, links made from the head
 * towards the tail, then the head fired: Twisted recurses once per link
 * (rule 15); we must not. */
static void test_million_chain_deferred_links_built_head_first(void **state) {
  (void)state;
  long passed = 0;
  df_deferred *head = df_deferred_new();
  df_deferred *cur = df_deferred_ref(head);
  for (long i = 1; i < MILLION; i++) {
    df_deferred *next = df_deferred_new();
    df_deferred_add_callback(next, count_and_pass, &passed);
    assert_int_equal(df_deferred_chain(cur, next), 0);
    df_deferred_unref(cur); /* the CHAIN stage holds next */
    cur = next;
  }
  df_deferred *tail = cur; /* our reference */
  df_deferred_callback(head, df_int(77));
  assert_int_equal(passed, MILLION - 1);
  assert_int_equal(df_deferred_result(tail)->u.i, 77);
  assert_int_equal(df_deferred_result(head)->kind, DF_NONE);
  df_deferred_unref(head);
  df_deferred_unref(tail);
}

/* The same, links made from the tail towards the head, and a failure
 * travelling down (errback side). */
static void test_million_chain_deferred_links_built_tail_first(void **state) {
  (void)state;
  long passed = 0;
  df_deferred *tail = df_deferred_new();
  df_deferred_add_errback(tail, append, "tail");
  df_deferred *cur = df_deferred_ref(tail);
  for (long i = 1; i < MILLION; i++) {
    df_deferred *prev = df_deferred_new();
    df_deferred_add_callbacks(prev, NULL, NULL, count_and_pass, &passed);
    assert_int_equal(df_deferred_chain(prev, cur), 0);
    df_deferred_unref(cur);
    cur = prev;
  }
  df_deferred *head = cur;
  df_deferred_errback(head, df_failure_new(&generic_error, "deep"));
  assert_int_equal(passed, MILLION - 1);
  assert_string_equal(events, "tail:GenericError: deep ");
  df_deferred_unref(head);
  df_deferred_unref(tail);
  assert_int_equal(reports, 0);
}

/* Chain links added to a head that has already fired: each link fires its
 * target at once, from the tail end backwards through the building loop. */
static void test_million_chain_deferred_links_added_after_firing(void **state) {
  (void)state;
  df_deferred *head = df_succeed(df_int(5));
  df_deferred *cur = df_deferred_ref(head);
  for (long i = 1; i < MILLION; i++) {
    df_deferred *next = df_deferred_new();
    df_deferred_chain(cur, next); /* cur fired: next fires now */
    assert_true(df_deferred_called(next));
    df_deferred_unref(cur);
    cur = next;
  }
  assert_int_equal(df_deferred_result(cur)->u.i, 5);
  df_deferred_unref(cur);
  df_deferred_unref(head);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, support_setup, support_teardown)
      T(test_callback_without_arg_receives_result_and_null),
      T(test_callback_arg_is_passed_after_the_result),
      T(test_callback_struct_arg_carries_named_arguments),
      T(test_second_callback_receives_first_callbacks_return),
      T(test_each_callback_return_replaces_the_result),
      T(test_null_errback_passes_failure_through),
      T(test_null_callback_arg_gives_callback_null),
      T(test_null_errback_arg_gives_errback_null),
      T(test_null_callback_passes_success_through),
      T(test_add_both_runs_same_function_on_either_side),
      T(test_errback_returning_value_switches_to_callback_side),
      T(test_add_callbacks_rejects_null_deferred),
      T(test_succeeded_deferred_runs_callback_when_added),
      T(test_failed_deferred_runs_errback_when_added),
      T(test_paused_failure_delays_errback_until_unpause),
      T(test_raising_and_returning_failure_both_reach_errback),
      T(test_unpause_before_firing_runs_nothing),
      T(test_unpause_below_zero_is_einval_and_changes_nothing),
      T(test_nested_pauses_need_as_many_unpauses),
      T(test_pause_inside_callback_does_not_stop_current_pass),
      T(test_returned_paused_deferred_holds_outer_until_unpaused),
      T(test_paused_deferred_with_result_chains_and_waits),
      T(test_paused_waiter_does_not_stop_inner_later_callbacks),
      T(test_user_paused_waiter_takes_result_but_inner_stops),
      T(test_middle_callbacks_run_before_outer_gets_result),
      T(test_inner_fired_later_resumes_outer_chain),
      T(test_callback_added_to_inner_before_return_transforms_value),
      T(test_continue_stage_need_not_be_first),
      T(test_outer_callbacks_added_after_chaining_run_last),
      T(test_callback_added_inside_callback_goes_to_the_end),
      T(test_callback_added_inside_callback_waits_for_return),
      T(test_failure_of_callback_added_inside_callback_reaches_errback),
      T(test_unpause_inside_own_callback_does_not_nest),
      T(test_firing_other_deferred_inside_callback_runs_it_now),
      T(test_returned_fired_deferred_gives_its_result_and_keeps_none),
      T(test_returned_unfired_deferred_passes_result_when_fired),
      T(test_returned_failed_deferred_gives_failure_and_no_report),
      T(test_returned_deferred_failing_later_hands_failure_over),
      T(test_implicit_chaining_is_transitive),
      T(test_callback_added_to_middle_after_resolution_runs),
      T(test_returning_running_deferred_waits_for_it),
      T(test_deferred_on_the_loop_stack_waits_and_is_handed_off_again),
      T(test_deferred_on_the_loop_stack_waits_for_a_later_hand_off),
      T(test_wait_whose_making_reports_may_be_handed_off_at_once),
      T(test_chain_deferred_records_chained_to),
      T(test_chained_to_cleared_when_chain_resolves),
      T(test_implicit_chaining_records_chained_to),
      T(test_paused_waiter_keeps_the_deferred_it_waited_on_alive),
      T(test_paused_chain_target_keeps_the_chaining_deferred_alive),
      T(test_group_closed_by_chained_to_is_freed),
      T(test_chain_deferred_passes_result_and_leaves_none),
      T(test_chain_deferred_passes_failure_to_errbacks),
      T(test_chain_to_already_fired_deferred_fails_with_already_called),
      T(test_callback_returning_own_deferred_fails_with_chain_cycle),
      T(test_callback_returning_deferred_waiting_on_it_fails),
      T(test_describe_unfired),
      T(test_describe_with_result),
      T(test_describe_chained_says_waiting_on),
      T(test_describe_implicitly_waiting),
      T(test_callback_stack_depth_does_not_depend_on_chain_length),
      T(test_million_deferred_implicit_waiting_chain),
      T(test_million_chain_deferred_links_built_head_first),
      T(test_million_chain_deferred_links_built_tail_first),
      T(test_million_chain_deferred_links_added_after_firing),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
