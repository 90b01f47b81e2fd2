/* The firing log (deferred/firing_log.h): what it records of each kind of
 * step, exactly; that it agrees with the observer event for event; how it
 * shares the observer slot (a previous observer called too and put back,
 * logs nested, an observer installed after it); the cap and the dropped
 * count; running out of memory; misuse. Timestamps come from the test
 * clock. The exports have their own suite, test_firing_log_export.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>

#include "support.h"

static df_clock *clock_;

static int log_setup(void **state) {
  clock_ = df_test_clock_new();
  assert_non_null(clock_);
  return support_setup(state);
}

static int log_teardown(void **state) {
  df_clock_free(clock_);
  df_set_observer(NULL, NULL, NULL);
  return support_teardown(state);
}

/* A log on the test clock, with the default limits. */
static df_firing_log *start_log(void) {
  df_firing_log_options options = {clock_, 0, 0};
  df_firing_log *log = NULL;
  assert_int_equal(df_firing_log_start(&options, &log), 0);
  assert_non_null(log);
  return log;
}

/* Every event of `log`, described, one per line. */
static const char *lines_of(const df_firing_log *log) {
  static char text[8192];
  text[0] = '\0';
  for (size_t i = 0; i < df_firing_log_count(log); i++) {
    size_t len = strlen(text);
    df_firing_log_describe(log, i, text + len, sizeof text - len);
    len = strlen(text);
    if (len + 1 < sizeof text) {
      text[len] = '\n';
      text[len + 1] = '\0';
    }
  }
  return text;
}

static unsigned serial(const df_deferred *d) { return df_deferred_serial(d); }

/* The serial of the deferred an event index names. */
static unsigned serial_at(const df_firing_log *log, uint32_t index) {
  const df_log_deferred *d = df_firing_log_deferred(log, index);
  return d ? d->serial : 0;
}

static df_result double_it(df_result r, void *arg) {
  (void)arg;
  return df_int(r.u.i * 2);
}

static df_result to_text(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_string("forty");
}

static df_result fail_it(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_raise(&generic_error, "no good");
}

static df_result recover(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_int(7);
}

/* --- what each kind of step records ---------------------------------------- */

static void test_a_success_chain_records_each_stage_with_its_kinds_and_site(
    void **state) {
  (void)state;
  df_test_clock_advance(clock_, 1.5);
  df_firing_log *log = start_log();
  df_deferred *d = df_deferred_new();
  int created_line = __LINE__ - 1;
  df_deferred_add_callback(d, double_it, NULL);
  int added_line = __LINE__ - 1;
  df_deferred_add_callback(d, to_text, NULL);
  int fired_line = __LINE__ + 1;
  df_deferred_callback(d, df_int(20));
  assert_int_equal(df_firing_log_stop(log), 0);

  unsigned n = serial(d);
  char expected[1024];
  snprintf(expected, sizeof expected,
           "[1.500000] Deferred#%u fired with 20 at tests/test_firing_log.c:%d "
           "in test_a_success_chain_records_each_stage_with_its_kinds_and_site\n"
           "[1.500000] Deferred#%u stage 0 callback double_it: 20 -> 40\n"
           "[1.500000] Deferred#%u stage 1 callback to_text: 40 -> 'forty'\n"
           "[1.500000] Deferred#%u finished a pass with 'forty'\n",
           n, fired_line, n, n, n);
  assert_string_equal(lines_of(log), expected);

  assert_int_equal(df_firing_log_deferred_count(log), 1);
  const df_log_deferred *ld = df_firing_log_deferred(log, 0);
  assert_int_equal(ld->serial, n);
  assert_string_equal(ld->created.file, "tests/test_firing_log.c");
  assert_int_equal(ld->created.line, created_line);

  const df_log_event *fired = df_firing_log_event(log, 0);
  assert_int_equal(fired->kind, DF_EVENT_FIRED);
  assert_int_equal(fired->result_kind, DF_INT);
  assert_null(fired->input_text);
  assert_int_equal(fired->other, DF_LOG_NO_DEFERRED);

  const df_log_event *stage = df_firing_log_event(log, 1);
  assert_int_equal(stage->kind, DF_EVENT_STAGE);
  assert_int_equal(stage->deferred, 0);
  assert_int_equal(stage->stage, 0);
  assert_false(stage->errback);
  assert_int_equal(stage->input_kind, DF_INT);
  assert_string_equal(stage->input_text, "20");
  assert_int_equal(stage->result_kind, DF_INT);
  assert_string_equal(stage->result_text, "40");
  assert_true(stage->time == 1.5);
  assert_non_null(stage->site);
  assert_string_equal(stage->site->callback_name, "double_it");
  assert_string_equal(stage->site->errback_name, "NULL");
  assert_string_equal(stage->site->file, "tests/test_firing_log.c");
  assert_int_equal(stage->site->line, added_line);

  const df_log_event *second = df_firing_log_event(log, 2);
  assert_int_equal(second->input_kind, DF_INT);
  assert_int_equal(second->result_kind, DF_STRING);
  assert_null(df_firing_log_event(log, 4));
  assert_int_equal(df_firing_log_dropped(log), 0);
  df_deferred_unref(d);
  df_firing_log_free(log);
}

static void test_a_failure_handled_by_an_errback_is_red_until_handled(
    void **state) {
  (void)state;
  df_firing_log *log = start_log();
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, fail_it, NULL);
  df_deferred_add_callback(d, double_it, NULL); /* skipped: no errback */
  df_deferred_add_errback(d, recover, NULL);
  int fired_line = __LINE__ + 1;
  df_deferred_callback(d, df_string("job"));
  df_firing_log_stop(log);

  unsigned n = serial(d);
  char expected[1024];
  snprintf(expected, sizeof expected,
           "[0.000000] Deferred#%u fired with 'job' at tests/test_firing_log.c:%d "
           "in test_a_failure_handled_by_an_errback_is_red_until_handled\n"
           "[0.000000] Deferred#%u stage 0 callback fail_it: 'job' -> "
           "<Failure GenericError: no good>\n"
           "[0.000000] Deferred#%u stage 1 errback (none): <Failure GenericError: "
           "no good> passed through\n"
           "[0.000000] Deferred#%u stage 2 errback recover: <Failure "
           "GenericError: no good> -> 7\n"
           "[0.000000] Deferred#%u finished a pass with 7\n",
           n, fired_line, n, n, n, n);
  assert_string_equal(lines_of(log), expected);
  const df_log_event *passed = df_firing_log_event(log, 2);
  assert_int_equal(passed->kind, DF_EVENT_PASSED);
  assert_true(passed->errback);
  assert_int_equal(passed->input_kind, DF_FAILURE);
  assert_int_equal(passed->result_kind, DF_FAILURE);
  assert_string_equal(passed->site->callback_name, "double_it");
  const df_log_event *handled = df_firing_log_event(log, 3);
  assert_true(handled->errback);
  assert_int_equal(handled->input_kind, DF_FAILURE);
  assert_int_equal(handled->result_kind, DF_INT);
  /* the same text is one copy */
  assert_ptr_equal(passed->result_text, handled->input_text);
  df_deferred_unref(d);
  df_firing_log_free(log);
}

static void test_a_wait_and_its_hand_off_name_both_deferreds(void **state) {
  (void)state;
  df_firing_log *log = start_log();
  df_deferred *outer = df_deferred_new();
  df_deferred *inner = df_deferred_new();
  df_deferred_add_callback(outer, return_deferred, inner);
  df_deferred_add_callback(outer, pass, NULL);
  int outer_line = __LINE__ + 1;
  df_deferred_callback(outer, df_none());
  df_test_clock_advance(clock_, 2.0);
  int inner_line = __LINE__ + 1;
  df_deferred_callback(inner, df_string("late"));
  df_firing_log_stop(log);

  unsigned o = serial(outer), i = serial(inner);
  char expected[2048];
  snprintf(expected, sizeof expected,
           "[0.000000] Deferred#%u fired with None at tests/test_firing_log.c:%d "
           "in test_a_wait_and_its_hand_off_name_both_deferreds\n"
           "[0.000000] Deferred#%u stage 0 callback return_deferred: None -> "
           "Deferred#%u\n"
           "[0.000000] Deferred#%u waits on Deferred#%u\n"
           "[2.000000] Deferred#%u fired with 'late' at tests/test_firing_log.c:%d "
           "in test_a_wait_and_its_hand_off_name_both_deferreds\n"
           "[2.000000] Deferred#%u handed 'late' to Deferred#%u\n"
           "[2.000000] Deferred#%u stage 1 callback pass: 'late' -> 'late'\n"
           "[2.000000] Deferred#%u finished a pass with 'late'\n"
           "[2.000000] Deferred#%u finished a pass with None\n",
           o, outer_line, o, i, o, i, i, inner_line, i, o, o, o, i);
  assert_string_equal(lines_of(log), expected);

  const df_log_event *returned = df_firing_log_event(log, 1);
  assert_int_equal(returned->result_kind, DF_DEFERRED);
  assert_int_equal(serial_at(log, returned->other), i);
  const df_log_event *waits = df_firing_log_event(log, 2);
  assert_int_equal(waits->kind, DF_EVENT_WAITING);
  assert_null(waits->result_text);
  assert_int_equal(serial_at(log, waits->deferred), o);
  assert_int_equal(serial_at(log, waits->other), i);
  const df_log_event *handed = df_firing_log_event(log, 4);
  assert_int_equal(handed->kind, DF_EVENT_HANDED_OFF);
  assert_int_equal(serial_at(log, handed->deferred), i);
  assert_int_equal(serial_at(log, handed->other), o);
  assert_true(handed->time == 2.0);
  /* the kind followed through the hand-off */
  assert_int_equal(df_firing_log_event(log, 5)->input_kind, DF_STRING);
  df_deferred_unref(outer);
  df_deferred_unref(inner);
  df_firing_log_free(log);
}

static df_result give_fired(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_wait_on(df_succeed(df_int(5)));
}

static void test_a_returned_deferred_that_had_fired_is_taken(void **state) {
  (void)state;
  df_firing_log *log = start_log();
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, give_fired, NULL);
  df_deferred_add_callback(d, double_it, NULL);
  df_deferred_callback(d, df_none());
  df_firing_log_stop(log);

  /* The one made inside give_fired is the log's second deferred. */
  assert_int_equal(df_firing_log_deferred_count(log), 2);
  unsigned n = serial(d), s = serial_at(log, 1);
  assert_int_equal(s, n + 1);
  const char *text = lines_of(log);
  char expected[2048];
  snprintf(expected, sizeof expected,
           "Deferred#%u stage 0 callback give_fired: None -> Deferred#%u\n"
           "[0.000000] Deferred#%u took 5 from Deferred#%u\n"
           "[0.000000] Deferred#%u stage 1 callback double_it: 5 -> 10\n"
           "[0.000000] Deferred#%u finished a pass with 10\n",
           n, s, n, s, n, n);
  assert_non_null(strstr(text, expected));
  assert_non_null(strstr(text, "fired with 5 at tests/test_firing_log.c:"));
  const df_log_event *took = df_firing_log_event(log, df_firing_log_count(log) - 3);
  assert_int_equal(took->kind, DF_EVENT_TOOK);
  assert_int_equal(took->result_kind, DF_INT);
  assert_int_equal(serial_at(log, took->other), s);
  df_deferred_unref(d);
  df_firing_log_free(log);
}

static void test_a_pause_stops_the_walk_and_unpause_goes_on(void **state) {
  (void)state;
  df_firing_log *log = start_log();
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, double_it, NULL);
  df_deferred_pause(d);
  int fired_line = __LINE__ + 1;
  df_deferred_callback(d, df_int(4));
  df_test_clock_advance(clock_, 0.25);
  df_deferred_unpause(d);
  df_firing_log_stop(log);

  unsigned n = serial(d);
  char expected[1024];
  snprintf(expected, sizeof expected,
           "[0.000000] Deferred#%u fired with 4 at tests/test_firing_log.c:%d "
           "in test_a_pause_stops_the_walk_and_unpause_goes_on\n"
           "[0.000000] Deferred#%u is paused: the walk stops here\n"
           "[0.250000] Deferred#%u stage 0 callback double_it: 4 -> 8\n"
           "[0.250000] Deferred#%u finished a pass with 8\n",
           n, fired_line, n, n, n);
  assert_string_equal(lines_of(log), expected);
  const df_log_event *paused = df_firing_log_event(log, 1);
  assert_int_equal(paused->kind, DF_EVENT_PAUSED);
  assert_null(paused->result_text);
  assert_null(paused->site);
  df_deferred_unref(d);
  df_firing_log_free(log);
}

static void test_a_cancel_fires_with_a_cancelled_error_at_its_site(
    void **state) {
  (void)state;
  df_firing_log *log = start_log();
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, handle, NULL);
  int cancel_line = __LINE__ + 1;
  df_deferred_cancel(d);
  df_firing_log_stop(log);

  unsigned n = serial(d);
  char expected[1024];
  snprintf(expected, sizeof expected,
           "[0.000000] Deferred#%u fired with <Failure CancelledError: > at "
           "tests/test_firing_log.c:%d in "
           "test_a_cancel_fires_with_a_cancelled_error_at_its_site\n"
           "[0.000000] Deferred#%u stage 0 errback handle: <Failure "
           "CancelledError: > -> None\n"
           "[0.000000] Deferred#%u finished a pass with None\n",
           n, cancel_line, n, n);
  assert_string_equal(lines_of(log), expected);
  const df_log_event *fired = df_firing_log_event(log, 0);
  assert_int_equal(fired->result_kind, DF_FAILURE);
  assert_int_equal(fired->fired_at.line, cancel_line);
  assert_string_equal(fired->fired_at.func,
                      "test_a_cancel_fires_with_a_cancelled_error_at_its_site");
  df_deferred_unref(d);
  df_firing_log_free(log);
}

static void test_chain_deferred_fires_its_target_named_as_the_other(
    void **state) {
  (void)state;
  df_firing_log *log = start_log();
  df_deferred *a = df_deferred_new();
  df_deferred *b = df_deferred_new();
  df_deferred_add_callback(b, double_it, NULL);
  df_deferred_chain(a, b);
  df_deferred_callback(a, df_int(3));
  df_firing_log_stop(log);

  unsigned sa = serial(a), sb = serial(b);
  const char *text = lines_of(log);
  char expected[1024];
  snprintf(expected, sizeof expected,
           "[0.000000] Deferred#%u chain_deferred fires Deferred#%u with 3\n"
           "[0.000000] Deferred#%u fired with 3 by chain_deferred from "
           "Deferred#%u\n"
           "[0.000000] Deferred#%u stage 0 callback double_it: 3 -> 6\n"
           "[0.000000] Deferred#%u finished a pass with 6\n"
           "[0.000000] Deferred#%u finished a pass with None\n",
           sa, sb, sb, sa, sb, sb, sa);
  assert_non_null(strstr(text, expected));
  const df_log_event *chained = df_firing_log_event(log, 1);
  assert_int_equal(chained->kind, DF_EVENT_CHAINED);
  assert_int_equal(serial_at(log, chained->other), sb);
  const df_log_event *fired = df_firing_log_event(log, 2);
  assert_int_equal(serial_at(log, fired->other), sa);
  assert_int_equal(fired->result_kind, DF_INT);
  df_deferred_unref(a);
  df_deferred_unref(b);
  df_firing_log_free(log);
}

/* --- the same events as the observer ---------------------------------------- */

static char observed[8192];
static int observed_events;

static void describe_event(const df_event *e, void *arg) {
  (void)arg;
  observed_events++;
  size_t len = strlen(observed);
  df_event_describe(e, observed + len, sizeof observed - len);
  len = strlen(observed);
  if (len + 1 < sizeof observed) {
    observed[len] = '\n';
    observed[len + 1] = '\0';
  }
}

/* Fires one of everything: stages on both sides, pass-throughs, a wait
 * and a hand-off, a take, a pause, chain_deferred, a cancel. */
static void fire_a_bit_of_everything(void) {
  df_deferred *d = df_deferred_new();
  df_deferred *later = df_deferred_new();
  df_deferred *chained = df_deferred_new();
  df_deferred_add_callback(d, double_it, NULL);
  df_deferred_add_callback(d, fail_it, NULL);
  df_deferred_add_callback(d, double_it, NULL);
  df_deferred_add_errback(d, recover, NULL);
  df_deferred_add_callback(d, give_fired, NULL);
  df_deferred_add_callback(d, return_deferred, later);
  df_deferred_add_callback(d, to_text, NULL);
  df_deferred_chain(d, chained);
  df_deferred_callback(d, df_int(1));
  df_deferred_pause(later);
  df_deferred_callback(later, df_int(2));
  df_deferred_unpause(later);
  df_deferred *cancelled = df_deferred_new();
  df_deferred_add_errback(cancelled, handle, NULL);
  df_deferred_cancel(cancelled);
  df_deferred_unref(d);
  df_deferred_unref(later);
  df_deferred_unref(chained);
  df_deferred_unref(cancelled);
}

static void test_each_event_reads_as_the_observer_described_it(void **state) {
  (void)state;
  observed[0] = '\0';
  observed_events = 0;
  df_set_observer(describe_event, NULL, NULL);
  df_firing_log *log = start_log();
  fire_a_bit_of_everything();
  df_firing_log_stop(log);

  /* The log's lines, without their times, are the observer's. */
  char recorded[8192] = "";
  for (size_t i = 0; i < df_firing_log_count(log); i++) {
    char line[512];
    df_firing_log_describe(log, i, line, sizeof line);
    const char *after_time = strchr(line, ']');
    assert_non_null(after_time);
    strcat(recorded, after_time + 2);
    strcat(recorded, "\n");
  }
  assert_int_equal(df_firing_log_count(log), (size_t)observed_events);
  assert_true(observed_events > 20);
  assert_string_equal(recorded, observed);
  /* stop put the previous observer back */
  assert_ptr_equal(df_set_observer(NULL, NULL, NULL), describe_event);
  df_firing_log_free(log);
}

/* --- the observer slot ---------------------------------------------------------- */

static int counted;
static void count_event(const df_event *e, void *arg) {
  (void)e;
  (*(int *)arg)++;
}

static void test_the_previous_observer_is_called_too_and_put_back(
    void **state) {
  (void)state;
  int mine = 0;
  df_set_observer(count_event, &mine, NULL);
  df_firing_log *log = start_log();
  df_deferred *d = df_succeed(df_int(1));
  df_deferred_add_callback(d, double_it, NULL);
  df_deferred_unref(d);
  assert_int_equal(df_firing_log_stop(log), 0);
  assert_int_equal(mine, (int)df_firing_log_count(log));
  assert_true(mine >= 3);
  void *arg = NULL;
  assert_ptr_equal(df_set_observer(NULL, NULL, &arg), count_event);
  assert_ptr_equal(arg, &mine);
  df_firing_log_free(log);
}

static void test_logs_nest_and_stop_in_any_order(void **state) {
  (void)state;
  int mine = 0;
  df_set_observer(count_event, &mine, NULL);
  df_firing_log *first = start_log();
  df_deferred_unref(df_succeed(df_int(1))); /* 2 events: fired, finished */
  df_firing_log *second = start_log();
  df_deferred_unref(df_succeed(df_int(2)));
  assert_int_equal(df_firing_log_stop(first), 0); /* the older one first */
  assert_false(df_firing_log_recording(first));
  assert_true(df_firing_log_recording(second));
  df_deferred_unref(df_succeed(df_int(3)));
  assert_int_equal(df_firing_log_stop(second), 0);
  df_deferred_unref(df_succeed(df_int(4)));
  assert_int_equal(df_firing_log_count(first), 4);
  assert_int_equal(df_firing_log_count(second), 4);
  assert_int_equal(mine, 8);
  assert_ptr_equal(df_set_observer(NULL, NULL, NULL), count_event);
  df_firing_log_free(first);
  df_firing_log_free(second);
}

/* An observer that passes each event on to the one it replaced. */
static df_observer_fn replaced;
static void *replaced_arg;
static void forward_event(const df_event *e, void *arg) {
  (void)arg;
  counted++;
  if (replaced) replaced(e, replaced_arg);
}

static void test_an_observer_installed_after_a_log_stays_when_it_stops(
    void **state) {
  (void)state;
  counted = 0;
  df_firing_log *first = start_log();
  replaced = df_set_observer(forward_event, NULL, &replaced_arg);
  df_deferred_unref(df_succeed(df_int(1)));
  assert_int_equal(df_firing_log_stop(first), 0);
  assert_int_equal(df_firing_log_count(first), 2); /* it forwarded them */
  assert_int_equal(counted, 2);
  /* still installed, still forwarding, into no log now */
  df_deferred_unref(df_succeed(df_int(2)));
  assert_int_equal(counted, 4);
  /* A second log replaces it, and it passes the events back: each is
   * recorded once, and the round stops there. */
  df_firing_log *second = start_log();
  df_deferred_unref(df_succeed(df_int(3)));
  assert_int_equal(df_firing_log_count(second), 2);
  assert_int_equal(counted, 6);
  assert_int_equal(df_firing_log_stop(second), 0);
  assert_ptr_equal(df_set_observer(NULL, NULL, NULL), forward_event);
  replaced = NULL;
  df_firing_log_free(first);
  df_firing_log_free(second);
}

/* --- limits -------------------------------------------------------------------- */

static void test_past_the_cap_events_are_dropped_and_counted(void **state) {
  (void)state;
  df_firing_log_options options = {clock_, 3, 0};
  df_firing_log *log;
  assert_int_equal(df_firing_log_start(&options, &log), 0);
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, double_it, NULL);
  df_deferred_add_callback(d, double_it, NULL);
  df_deferred_add_callback(d, double_it, NULL);
  df_deferred_callback(d, df_int(1)); /* fired, 3 stages, finished */
  df_firing_log_stop(log);
  assert_int_equal(df_firing_log_capacity(log), 3);
  assert_int_equal(df_firing_log_count(log), 3);
  assert_int_equal(df_firing_log_dropped(log), 2);
  assert_int_equal(df_firing_log_event(log, 2)->stage, 1);
  df_deferred_unref(d);
  df_firing_log_free(log);
}

static df_result return_long_text(df_result r, void *arg) {
  df_result_drop(r);
  return df_string(arg);
}

static void test_texts_are_cut_to_max_text_on_a_character_boundary(
    void **state) {
  (void)state;
  df_firing_log_options options = {clock_, 0, 12};
  df_firing_log *log;
  assert_int_equal(df_firing_log_start(&options, &log), 0);
  df_deferred *d = df_deferred_new();
  /* Its text is "'abcdefg\xc3\xa9tail'": 12 bytes is 9 before the
   * "...", and the 9th would split the é, so 8 are kept. */
  df_deferred_add_callback(d, return_long_text, "abcdefg\xc3\xa9tail");
  df_deferred_callback(d, df_string("short"));
  df_firing_log_stop(log);
  const df_log_event *stage = df_firing_log_event(log, 1);
  assert_string_equal(stage->input_text, "'short'");
  assert_string_equal(stage->result_text, "'abcdefg...");
  df_deferred_unref(d);
  df_firing_log_free(log);
}

static void test_a_deferred_freed_and_its_memory_reused_is_another_one(
    void **state) {
  (void)state;
  df_firing_log *log = start_log();
  df_deferred *first = df_deferred_new();
  unsigned first_serial = serial(first);
  df_deferred_callback(first, df_int(1));
  df_deferred_unref(first); /* its struct goes back to the cache */
  df_deferred *second = df_deferred_new();
  df_deferred_callback(second, df_int(2));
  unsigned second_serial = serial(second);
  df_deferred_unref(second);
  df_firing_log_stop(log);
  assert_int_not_equal(first_serial, second_serial);
  assert_int_equal(df_firing_log_deferred_count(log), 2);
  assert_int_equal(df_firing_log_deferred(log, 0)->serial, first_serial);
  assert_int_equal(df_firing_log_deferred(log, 1)->serial, second_serial);
  assert_int_equal(df_firing_log_event(log, 0)->deferred, 0);
  assert_int_equal(df_firing_log_event(log, 2)->deferred, 1);
  df_firing_log_free(log);
}

static void test_without_a_clock_times_are_seconds_since_the_start(
    void **state) {
  (void)state;
  df_firing_log *log;
  assert_int_equal(df_firing_log_start(NULL, &log), 0);
  df_deferred_unref(df_succeed(df_none()));
  double now = df_firing_log_end_time(log);
  df_firing_log_stop(log);
  const df_log_event *e = df_firing_log_event(log, 0);
  assert_true(e->time >= 0 && e->time <= now);
  assert_true(df_firing_log_end_time(log) >= now);
  assert_true(now < 60); /* seconds since the start, not since boot */
  df_firing_log_free(log);
}

/* --- out of memory ---------------------------------------------------------------- */

static int oom_observed;

/* A wait and a hand-off, a take, a failure handled: the log may run out of
 * memory at any of its allocations (and the chain's own may fail too).
 * Whatever happens, each event the observer saw is recorded or counted as
 * dropped, and the exports either succeed or say DF_ENOMEM. */
static int64_t oom_scenario(void) {
  oom_observed = 0;
  df_set_observer(count_event, &oom_observed, NULL);
  df_firing_log *log = NULL;
  df_firing_log_options options = {clock_, 0, 0};
  if (df_firing_log_start(&options, &log) != 0) {
    assert_null(log);
    df_set_observer(NULL, NULL, NULL);
    return -1;
  }
  df_deferred *outer = df_deferred_new();
  df_deferred *inner = df_deferred_new();
  if (outer && inner) {
    df_deferred_add_callback(outer, return_deferred, inner);
    df_deferred_add_callback(outer, give_fired, NULL);
    df_deferred_add_callback(outer, fail_it, NULL);
    df_deferred_add_errback(outer, recover, NULL);
    df_deferred_callback(outer, df_string("go"));
    df_deferred_callback(inner, df_int(1));
  }
  df_deferred_unref(outer);
  df_deferred_unref(inner);
  assert_int_equal(df_firing_log_stop(log), 0);
  assert_ptr_equal(df_set_observer(NULL, NULL, NULL), count_event);
  assert_int_equal(df_firing_log_count(log) + df_firing_log_dropped(log),
                   (uint64_t)oom_observed);
  for (size_t i = 0; i < df_firing_log_count(log); i++) {
    char line[512];
    assert_true(df_firing_log_describe(log, i, line, sizeof line) > 0);
  }
  FILE *f = tmpfile();
  assert_non_null(f);
  int dot = df_firing_log_write_dot(log, f);
  int trace = df_firing_log_write_trace(log, f);
  int text = df_firing_log_write_text(log, f);
  fclose(f);
  assert_true(dot == 0 || dot == DF_ENOMEM);
  assert_true(trace == 0 || trace == DF_ENOMEM);
  assert_int_equal(text, 0);
  int64_t outcome = (int64_t)df_firing_log_count(log);
  if (df_firing_log_dropped(log) || dot || trace) outcome = -2;
  df_firing_log_free(log);
  return outcome;
}

static void check_oom_outcome(int64_t outcome, bool failed) {
  if (!failed) assert_int_equal(outcome, 13); /* every event, both exports */
}

static void test_running_out_of_memory_drops_events_and_never_crashes(
    void **state) {
  (void)state;
  support_check_each_allocation_failure(oom_scenario, check_oom_outcome, 1000);
}

/* --- misuse ------------------------------------------------------------------------- */

static void *stop_elsewhere(void *arg) {
  return (void *)(intptr_t)df_firing_log_stop(arg);
}

static void test_misuse_is_refused_and_changes_nothing(void **state) {
  (void)state;
  assert_int_equal(df_firing_log_start(NULL, NULL), DF_EINVAL);
  assert_int_equal(df_firing_log_stop(NULL), DF_EINVAL);
  df_firing_log_free(NULL);
  assert_false(df_firing_log_recording(NULL));
  assert_int_equal(df_firing_log_count(NULL), 0);
  assert_null(df_firing_log_event(NULL, 0));
  assert_null(df_firing_log_deferred(NULL, 0));
  assert_int_equal(df_firing_log_dropped(NULL), 0);
  assert_true(isnan(df_firing_log_end_time(NULL)));
  char buf[8] = "x";
  assert_int_equal(df_firing_log_describe(NULL, 0, buf, sizeof buf), 0);
  assert_string_equal(buf, "");

  df_firing_log *log = start_log();
  /* from another thread: not recording there */
  pthread_t thread;
  void *rc;
  assert_int_equal(pthread_create(&thread, NULL, stop_elsewhere, log), 0);
  assert_int_equal(pthread_join(thread, &rc), 0);
  assert_int_equal((int)(intptr_t)rc, DF_EINVAL);
  assert_true(df_firing_log_recording(log));
  df_test_clock_advance(clock_, 3.0);
  assert_int_equal(df_firing_log_stop(log), 0);
  assert_int_equal(df_firing_log_stop(log), DF_EINVAL); /* twice */
  assert_true(df_firing_log_end_time(log) == 3.0);
  assert_null(df_set_observer(NULL, NULL, NULL));
  df_firing_log_free(log);
  /* a recording log freed: stopped first, the slot given back */
  log = start_log();
  df_firing_log_free(log);
  assert_null(df_set_observer(NULL, NULL, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, log_setup, log_teardown)
      T(test_a_success_chain_records_each_stage_with_its_kinds_and_site),
      T(test_a_failure_handled_by_an_errback_is_red_until_handled),
      T(test_a_wait_and_its_hand_off_name_both_deferreds),
      T(test_a_returned_deferred_that_had_fired_is_taken),
      T(test_a_pause_stops_the_walk_and_unpause_goes_on),
      T(test_a_cancel_fires_with_a_cancelled_error_at_its_site),
      T(test_chain_deferred_fires_its_target_named_as_the_other),
      T(test_each_event_reads_as_the_observer_described_it),
      T(test_the_previous_observer_is_called_too_and_put_back),
      T(test_logs_nest_and_stop_in_any_order),
      T(test_an_observer_installed_after_a_log_stays_when_it_stops),
      T(test_past_the_cap_events_are_dropped_and_counted),
      T(test_texts_are_cut_to_max_text_on_a_character_boundary),
      T(test_a_deferred_freed_and_its_memory_reused_is_another_one),
      T(test_without_a_clock_times_are_seconds_since_the_start),
      T(test_running_out_of_memory_drops_events_and_never_crashes),
      T(test_misuse_is_refused_and_changes_nothing),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
