/* The firing observer (deferred/observe.h): every step of a firing is
 * reported, in the order the loop takes it, and described in one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "support.h"

/* Each event, described, one per line. */
static char lines[4096];

static void log_event(const df_event *e, void *arg) {
  (void)arg;
  size_t len = strlen(lines);
  df_event_describe(e, lines + len, sizeof lines - len);
  len = strlen(lines);
  if (len + 1 < sizeof lines) {
    lines[len] = '\n';
    lines[len + 1] = '\0';
  }
}

static int observe_setup(void **state) {
  lines[0] = '\0';
  df_set_observer(log_event, NULL, NULL);
  return support_setup(state);
}

static int observe_teardown(void **state) {
  df_set_observer(NULL, NULL, NULL);
  return support_teardown(state);
}

static df_result good(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_string("good");
}

static df_result bad(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_raise(NULL, "bad");
}

static df_result recover(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_int(7);
}

/* Serials are per thread and count every deferred this process made, so
 * the tests name deferreds by df_deferred_serial. */
static unsigned serial(const df_deferred *d) { return df_deferred_serial(d); }

static void test_observer_sees_each_stage_side_input_and_output(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, good, NULL);
  df_deferred_add_callback(d, bad, NULL);
  df_deferred_add_callback(d, good, NULL); /* skipped: errback side empty */
  df_deferred_add_errback(d, recover, NULL);
  int line = __LINE__ + 1;
  df_deferred_callback(d, df_string("initial"));
  char expected[1024];
  unsigned n = serial(d);
  snprintf(expected, sizeof expected,
           "Deferred#%u fired with 'initial' at tests/test_observe.c:%d in "
           "test_observer_sees_each_stage_side_input_and_output\n"
           "Deferred#%u stage 0 callback good: 'initial' -> 'good'\n"
           "Deferred#%u stage 1 callback bad: 'good' -> <Failure Exception: bad>\n"
           "Deferred#%u stage 2 errback (none): <Failure Exception: bad> passed through\n"
           "Deferred#%u stage 3 errback recover: <Failure Exception: bad> -> 7\n"
           "Deferred#%u finished a pass with 7\n",
           n, line, n, n, n, n, n);
  assert_string_equal(lines, expected);
  df_deferred_unref(d);
}

static void test_observer_sees_waiting_and_hand_off(void **state) {
  (void)state;
  df_deferred *outer = df_deferred_new(), *inner = df_deferred_new();
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_callback(outer, df_int(1));
  lines[0] = '\0'; /* from here on */
  /* Added after outer started waiting: runs after the hand-off and gets
   * None (rule 10). */
  df_deferred_add_callback(inner, recover, NULL);
  int line = __LINE__ + 1;
  df_deferred_callback(inner, df_int(2));
  char expected[1024];
  unsigned o = serial(outer), i = serial(inner);
  snprintf(expected, sizeof expected,
           "Deferred#%u fired with 2 at tests/test_observe.c:%d in "
           "test_observer_sees_waiting_and_hand_off\n"
           "Deferred#%u handed 2 to Deferred#%u\n"
           "Deferred#%u finished a pass with 2\n"
           "Deferred#%u stage 1 callback recover: None -> 7\n"
           "Deferred#%u finished a pass with 7\n",
           i, line, i, o, o, i, i);
  assert_string_equal(lines, expected);
  df_deferred_unref(outer);
  df_deferred_unref(inner);
}

static void test_observer_sees_wait_then_take(void **state) {
  (void)state;
  df_deferred *outer = df_deferred_new(), *inner = df_deferred_new();
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_callback(inner, df_int(5)); /* already fired: taken (rule 9) */
  lines[0] = '\0';
  df_deferred_callback(outer, df_int(1));
  unsigned o = serial(outer), i = serial(inner);
  char expected[1024];
  snprintf(expected, sizeof expected,
           "Deferred#%u stage 0 callback return_deferred: 1 -> Deferred#%u\n"
           "Deferred#%u took 5 from Deferred#%u\n"
           "Deferred#%u finished a pass with 5\n",
           o, i, o, i, o);
  assert_non_null(strstr(lines, expected));
  df_deferred_unref(outer);
  df_deferred_unref(inner);
}

static void test_observer_sees_chain_deferred_and_pause(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  df_deferred_chain(a, b);
  df_deferred_pause(b);
  lines[0] = '\0';
  df_deferred_callback(a, df_string("x"));
  unsigned na = serial(a), nb = serial(b);
  char expected[1024];
  snprintf(expected, sizeof expected,
           "Deferred#%u chain_deferred fires Deferred#%u with 'x'\n"
           "Deferred#%u fired with 'x' by chain_deferred from Deferred#%u\n"
           "Deferred#%u is paused: the walk stops here\n"
           "Deferred#%u finished a pass with None\n",
           na, nb, nb, na, nb, na);
  assert_non_null(strstr(lines, expected));
  df_deferred_unpause(b);
  df_deferred_unref(a);
  df_deferred_unref(b);
}

static void test_removing_the_observer_stops_events(void **state) {
  (void)state;
  void *old_arg = (void *)1;
  assert_ptr_equal(df_set_observer(NULL, NULL, &old_arg), log_event);
  assert_null(old_arg);
  df_deferred *d = df_succeed(df_int(1));
  df_deferred_add_callback(d, recover, NULL);
  assert_string_equal(lines, "");
  df_deferred_unref(d);
}

static void test_serials_count_up_per_thread(void **state) {
  (void)state;
  df_deferred *a = df_deferred_new(), *b = df_deferred_new();
  assert_int_equal(serial(b), serial(a) + 1);
  assert_int_equal(df_deferred_serial(NULL), 0);
  df_deferred_unref(a);
  df_deferred_unref(b);
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, observe_setup, observe_teardown)
  const struct CMUnitTest tests[] = {
      T(test_observer_sees_each_stage_side_input_and_output),
      T(test_observer_sees_waiting_and_hand_off),
      T(test_observer_sees_wait_then_take),
      T(test_observer_sees_chain_deferred_and_pause),
      T(test_removing_the_observer_stops_events),
      T(test_serials_count_up_per_thread),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
