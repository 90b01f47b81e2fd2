/* Failures: types and inheritance, check and trap, messages, payloads,
 * causes, serial numbers and the text renderings (rules FA1-FA5).
 *
 * The E-parts of twisted/test/test_failure.py FailureTests: trap/check
 * semantics (test_trapRaisesWrappedException, test_failureValueFromFailure,
 * test_trapRaisesSingleArg-style checks), the traceback layout with the
 * "exception caught here" marker (test_printingSmokeTest and the
 * test_printing*Traceback family), brief rendering and Failure.count.
 * Python-only parts (frames, captured vars, pickling, raiseException,
 * generators) have no C counterpart.
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

/* A user hierarchy, declared as the header says:
 *   Exception <- LookupError <- KeyError
 *   Exception <- GibberishError */
DF_ERROR_TYPE(lookup_error, "LookupError", &df_error_exception);
DF_ERROR_TYPE(key_error, "KeyError", &lookup_error);
DF_ERROR_TYPE(gibberish_error, "GibberishError", &df_error_exception);

/* --- types, check and trap ----------------------------------------------- */

static void test_type_is_a_follows_single_inheritance(void **state) {
  (void)state;
  assert_true(df_error_type_is_a(&key_error, &key_error));
  assert_true(df_error_type_is_a(&key_error, &lookup_error));
  assert_true(df_error_type_is_a(&key_error, &df_error_exception));
  assert_false(df_error_type_is_a(&lookup_error, &key_error));
  assert_false(df_error_type_is_a(&key_error, &gibberish_error));
  assert_false(df_error_type_is_a(NULL, &df_error_exception));
  assert_false(df_error_type_is_a(&key_error, NULL));
  /* every library type derives from Exception */
  const df_error_type *builtin[] = {
      &df_error_already_called, &df_error_cancelled, &df_error_timeout,
      &df_error_first_error,    &df_error_no_memory, &df_error_invalid_argument,
      &df_error_chain_cycle,    &df_error_no_result};
  for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
    assert_true(df_error_type_is_a(builtin[i], &df_error_exception));
  assert_string_equal(df_error_cancelled.name, "CancelledError");
  assert_string_equal(df_error_already_called.name, "AlreadyCalledError");
}

static void test_check_matches_type_and_its_ancestors(void **state) {
  (void)state;
  df_failure *f = df_failure_new(&key_error, "missing");
  assert_ptr_equal(df_failure_check(f, &key_error), &key_error);
  assert_ptr_equal(df_failure_check(f, &lookup_error), &lookup_error);
  assert_ptr_equal(df_failure_check(f, &df_error_exception),
                   &df_error_exception);
  assert_null(df_failure_check(f, &gibberish_error));
  assert_null(df_failure_check(f, &df_error_cancelled, &gibberish_error));
  df_failure *base = df_failure_new(&lookup_error, "base");
  assert_null(df_failure_check(base, &key_error)); /* not a descendant */
  assert_null(df_failure_check(NULL, &df_error_exception));
  df_failure_unref(base);
  df_failure_unref(f);
}

/* rule FA4: the first matching *argument* is returned, in argument order,
 * not the most specific one. */
static void test_check_returns_first_matching_argument(void **state) {
  (void)state;
  df_failure *f = df_failure_new(&key_error, "missing");
  assert_ptr_equal(df_failure_check(f, &gibberish_error, &key_error,
                                    &lookup_error),
                   &key_error);
  assert_ptr_equal(df_failure_check(f, &lookup_error, &key_error),
                   &lookup_error);
  assert_ptr_equal(df_failure_check(f, &df_error_exception, &key_error),
                   &df_error_exception);
  df_failure_unref(f);
}

/* errbacks using DF_TRAP */
static char trapped[128];
static df_result trap_lookup(df_result r, void *arg) {
  (void)arg;
  DF_TRAP(r, &lookup_error, &gibberish_error);
  snprintf(trapped, sizeof trapped, "trapped %s",
           df_failure_type(r.u.failure)->name);
  df_result_drop(r);
  return df_string("recovered");
}

static df_failure *seen;
static unsigned long seen_serial;
static df_result see_failure(df_result r, void *arg) {
  (void)arg;
  seen = r.u.failure;
  seen_serial = df_failure_serial(r.u.failure);
  df_result_drop(r);
  return df_none();
}

/* test_failure.py: FailureTests.test_trapRaisesWrappedException and
 * test_failureValueFromFailure: a trap that does not match passes the
 * failure on; the next errback sees the same failure (documented
 * difference: the same object, where Twisted makes a copy with the same
 * value and count). */
static void test_trap_without_match_passes_same_failure_on(void **state) {
  (void)state;
  trapped[0] = '\0';
  seen = NULL;
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, trap_lookup, NULL);
  df_deferred_add_errback(d, see_failure, NULL);
  df_failure *f = df_failure_new(&df_error_cancelled, "not a lookup");
  unsigned long serial = df_failure_serial(f);
  df_deferred_errback(d, df_failure_ref(f));
  assert_string_equal(trapped, "");
  assert_ptr_equal(seen, f);
  assert_int_equal(seen_serial, serial);
  df_failure_unref(f);
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

/* test_failure.py: FailureTests.test_trapDoesNotRaise-style: a matching
 * trap lets the errback handle it, and the value is unchanged. */
static void test_trap_with_match_lets_errback_handle_it(void **state) {
  (void)state;
  trapped[0] = '\0';
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, trap_lookup, NULL);
  df_deferred_errback(d, df_failure_new(&key_error, "k"));
  assert_string_equal(trapped, "trapped KeyError");
  assert_string_equal(df_deferred_result(d)->u.s, "recovered");
  df_deferred_unref(d);

  d = df_deferred_new();
  df_deferred_add_errback(d, trap_lookup, NULL);
  df_deferred_errback(d, df_failure_new(&gibberish_error, "g"));
  assert_string_equal(trapped, "trapped GibberishError");
  df_deferred_unref(d);
  assert_int_equal(reports, 0);
}

static df_result trap_in_callback(df_result r, void *arg) {
  (void)arg;
  DF_TRAP(r, &lookup_error);
  fail_msg("a success must pass through DF_TRAP");
  return r;
}

static void test_trap_passes_a_success_through(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, trap_in_callback, NULL);
  df_deferred_callback(d, df_int(3));
  assert_int_equal(df_deferred_result(d)->u.i, 3);
  df_deferred_unref(d);
}

/* --- construction and messages ------------------------------------------ */

static void test_message_is_printf_formatted(void **state) {
  (void)state;
  df_failure *f = df_failure_new(&gibberish_error, "not a poem: %d lines, %s",
                                 3, "no rhyme");
  assert_string_equal(df_failure_message(f), "not a poem: 3 lines, no rhyme");
  assert_ptr_equal(df_failure_type(f), &gibberish_error);
  df_failure_unref(f);
}

static void test_null_type_is_exception_and_null_format_is_empty(
    void **state) {
  (void)state;
  df_failure *f = df_failure_new(NULL, NULL);
  assert_ptr_equal(df_failure_type(f), &df_error_exception);
  assert_string_equal(df_failure_message(f), "");
  df_failure_unref(f);
  assert_string_equal(df_failure_message(NULL), "");
  assert_null(df_failure_type(NULL));
}

static void test_failure_records_where_it_was_raised(void **state) {
  (void)state;
  df_failure *f = df_failure_new(&key_error, "k"); int line = __LINE__;
  df_site s = df_failure_site(f);
  assert_string_equal(s.file, __FILE__);
  assert_int_equal(s.line, line);
  assert_string_equal(s.func, __func__);
  df_failure_unref(f);
}

/* Failure.count: a process-wide serial number that increases. */
static void test_serial_numbers_increase(void **state) {
  (void)state;
  df_failure *a = df_failure_new(NULL, "a");
  df_failure *b = df_failure_new(NULL, "b");
  df_failure *c = df_failure_new(NULL, "c");
  assert_true(df_failure_serial(a) > 0);
  assert_true(df_failure_serial(b) > df_failure_serial(a));
  assert_true(df_failure_serial(c) > df_failure_serial(b));
  df_failure_unref(a);
  df_failure_unref(b);
  df_failure_unref(c);
}

static void test_error_codes_become_typed_failures(void **state) {
  (void)state;
  df_result r = df_raise_code(DF_EALREADY_CALLED);
  assert_true(df_result_is_failure(r));
  assert_ptr_equal(df_failure_type(r.u.failure), &df_error_already_called);
  assert_string_equal(df_failure_message(r.u.failure),
                      "already called");
  df_result_drop(r);
  r = df_raise_code(DF_EINVAL);
  assert_ptr_equal(df_failure_type(r.u.failure), &df_error_invalid_argument);
  assert_string_equal(df_failure_message(r.u.failure), "invalid argument");
  df_result_drop(r);
  r = df_raise_code(DF_ENOMEM);
  assert_ptr_equal(df_failure_type(r.u.failure), &df_error_no_memory);
  assert_string_equal(df_failure_message(r.u.failure), "out of memory");
  df_result_drop(r);
  r = df_raise_code(-5); /* -EIO: the system's text */
  assert_ptr_equal(df_failure_type(r.u.failure), &df_error_invalid_argument);
  assert_string_equal(df_failure_message(r.u.failure), strerror(5));
  df_result_drop(r);
  r = df_raise_code(-1500); /* neither ours nor an errno */
  assert_string_equal(df_failure_message(r.u.failure), "unknown error");
  df_result_drop(r);
  assert_string_equal(df_strerror(0), "success");
  /* a negated errno value is described as strerror describes the errno */
  assert_string_equal(df_strerror(-28), strerror(28));
  assert_string_equal(df_strerror(-2000), "unknown error");
  assert_string_equal(df_strerror(7), "unknown error");
}

/* The preallocated MemoryError is shared: it never owns a payload or a
 * cause, and references to it are free. */
static void test_memory_error_failure_is_shared_and_owns_nothing(
    void **state) {
  (void)state;
  static int payload;
  df_failure *f = df_failure_from_code_at(DF_HERE, DF_ENOMEM);
  df_failure *g = df_failure_from_code_at(DF_HERE, DF_ENOMEM);
  assert_ptr_equal(f, g);
  df_failure_set_payload(f, &payload, count_destroy);
  assert_int_equal(destroyed, 1); /* refused, so destroyed at once */
  assert_null(df_failure_payload(f));
  df_failure *cause = df_failure_new(NULL, "cause");
  df_failure_set_payload(cause, &payload, count_destroy);
  assert_int_equal(df_failure_set_cause(f, cause), DF_EINVAL);
  assert_int_equal(destroyed, 2); /* the cause reference was released */
  df_failure_unref(f);
  df_failure_unref(g);
  assert_string_equal(df_failure_message(f), "out of memory");
}

/* --- payloads -------------------------------------------------------------- */

static void test_payload_destructor_runs_exactly_once(void **state) {
  (void)state;
  static int payload;
  df_failure *f = df_failure_new(NULL, "p");
  df_failure_set_payload(f, &payload, count_destroy);
  assert_ptr_equal(df_failure_payload(f), &payload);
  df_failure_ref(f);
  df_failure_unref(f);
  assert_int_equal(destroyed, 0); /* one reference left */
  df_failure_unref(f);
  assert_int_equal(destroyed, 1);
}

static void test_replacing_payload_destroys_the_old_one(void **state) {
  (void)state;
  static int first, second;
  df_failure *f = df_failure_new(NULL, "p");
  df_failure_set_payload(f, &first, count_destroy);
  df_failure_set_payload(f, &second, count_destroy);
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(df_failure_payload(f), &second);
  df_failure_set_payload(f, &first, NULL); /* borrowed now */
  assert_int_equal(destroyed, 2);
  df_failure_unref(f);
  assert_int_equal(destroyed, 2);
}

static void test_payload_of_failure_through_a_chain_destroyed_once(
    void **state) {
  (void)state;
  static int payload;
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, see_failure, NULL);
  df_failure *f = df_failure_new(&key_error, "k");
  df_failure_set_payload(f, &payload, count_destroy);
  df_deferred_errback(d, f);
  assert_int_equal(destroyed, 1); /* the errback dropped the last reference */
  df_deferred_unref(d);
  assert_int_equal(destroyed, 1);
}

/* --- causes ------------------------------------------------------------------ */

static void test_cause_is_kept_and_replaced(void **state) {
  (void)state;
  static int p1, p2;
  df_failure *f = df_failure_new(&gibberish_error, "effect");
  df_failure *c1 = df_failure_new(&key_error, "first cause");
  df_failure *c2 = df_failure_new(&key_error, "second cause");
  df_failure_set_payload(c1, &p1, count_destroy);
  df_failure_set_payload(c2, &p2, count_destroy);
  assert_null(df_failure_cause(f));
  assert_int_equal(df_failure_set_cause(f, c1), 0);
  assert_ptr_equal(df_failure_cause(f), c1);
  assert_int_equal(df_failure_set_cause(f, c2), 0); /* releases c1 */
  assert_int_equal(destroyed, 1);
  assert_ptr_equal(df_failure_cause(f), c2);
  df_failure_unref(f); /* and its cause with it */
  assert_int_equal(destroyed, 2);
}

static void test_cause_cycles_are_refused(void **state) {
  (void)state;
  static int pa, pb, pc;
  df_failure *a = df_failure_new(NULL, "a");
  df_failure *b = df_failure_new(NULL, "b");
  df_failure *c = df_failure_new(NULL, "c");
  df_failure_set_payload(a, &pa, count_destroy);
  df_failure_set_payload(b, &pb, count_destroy);
  df_failure_set_payload(c, &pc, count_destroy);
  assert_int_equal(df_failure_set_cause(a, df_failure_ref(a)), DF_EINVAL);
  assert_null(df_failure_cause(a));
  assert_int_equal(df_failure_set_cause(a, df_failure_ref(b)), 0);
  assert_int_equal(df_failure_set_cause(b, df_failure_ref(c)), 0);
  assert_int_equal(df_failure_set_cause(b, df_failure_ref(a)), DF_EINVAL);
  assert_int_equal(df_failure_set_cause(c, df_failure_ref(a)), DF_EINVAL);
  assert_ptr_equal(df_failure_cause(b), c); /* unchanged */
  assert_null(df_failure_cause(c));
  assert_int_equal(destroyed, 0);
  df_failure_unref(c);
  df_failure_unref(b);
  assert_int_equal(destroyed, 0); /* a still holds b, b holds c */
  df_failure_unref(a);
  assert_int_equal(destroyed, 3); /* each exactly once */
}

static void test_long_cause_chain_frees_every_failure_once(void **state) {
  (void)state;
  static int payload;
  enum { N = 5000 }; /* set_cause walks the whole chain each time */
  df_failure *head = df_failure_new(NULL, "0");
  df_failure_set_payload(head, &payload, count_destroy);
  for (int i = 1; i < N; i++) {
    df_failure *f = df_failure_new(NULL, "%d", i);
    df_failure_set_payload(f, &payload, count_destroy);
    assert_int_equal(df_failure_set_cause(f, head), 0);
    head = f;
  }
  df_failure_unref(head);
  assert_int_equal(destroyed, N);
}

/* --- text ------------------------------------------------------------------- */

static int raise_line;
static df_result raise_gibberish(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  raise_line = __LINE__; return df_raise(&gibberish_error, "not a poem");
}

static df_failure *kept;
static df_result keep(df_result r, void *arg) {
  (void)arg;
  kept = df_failure_ref(r.u.failure);
  return r;
}

/* test_failure.py: FailureTests.test_printingSmokeTest and
 * test_printingNoVars: Twisted's default layout, with the sites the C
 * library records: the fire above the marker, the stage and the raise
 * below it, then "Type: message". */
static void test_traceback_of_callback_failure_has_caught_here_marker(
    void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, raise_gibberish, NULL); int add_line = __LINE__;
  df_deferred_add_errback(d, keep, NULL);
  df_deferred_add_errback(d, see_failure, NULL);
  df_deferred_callback(d, df_int(1)); int fire_line = __LINE__;
  char *text = df_failure_traceback(kept);
  char expected[2048];
  snprintf(expected, sizeof expected,
           "Traceback (most recent call last):\n"
           "  File \"%s\", line %d, in %s\n"
           "    fired <Deferred at %p>\n"
           "--- <exception caught here> ---\n"
           "  File \"%s\", line %d, in %s\n"
           "    stage 0 callback raise_gibberish\n"
           "  File \"%s\", line %d, in raise_gibberish\n"
           "    raised GibberishError\n"
           "GibberishError: not a poem\n",
           __FILE__, fire_line, __func__, (void *)d, __FILE__, add_line,
           __func__, __FILE__, raise_line);
  assert_string_equal(text, expected);
  free(text);
  df_failure_unref(kept);
  df_deferred_unref(d);
}

static void test_traceback_of_fired_failure_marks_the_fire(void **state) {
  (void)state;
  df_deferred *d = df_deferred_new();
  df_deferred_add_errback(d, keep, NULL);
  df_deferred_add_errback(d, see_failure, NULL);
  df_failure *f = df_failure_new(&key_error, "k"); int raise_l = __LINE__;
  df_deferred_errback(d, f); int fire_line = __LINE__;
  char *text = df_failure_traceback(kept);
  char expected[2048];
  snprintf(expected, sizeof expected,
           "Traceback (most recent call last):\n"
           "  File \"%s\", line %d, in %s\n"
           "    fired <Deferred at %p>\n"
           "--- <exception caught here> ---\n"
           "  File \"%s\", line %d, in %s\n"
           "    raised KeyError\n"
           "KeyError: k\n",
           __FILE__, fire_line, __func__, (void *)d, __FILE__, raise_l,
           __func__);
  assert_string_equal(text, expected);
  free(text);
  df_failure_unref(kept);
  df_deferred_unref(d);
}

/* A failure never put in a chain was never caught: no marker. */
static void test_traceback_of_uncaught_failure_has_no_marker(void **state) {
  (void)state;
  df_failure *f = df_failure_new(&key_error, "k %d", 1); int line = __LINE__;
  char *text = df_failure_traceback(f);
  char expected[1024];
  snprintf(expected, sizeof expected,
           "Traceback (most recent call last):\n"
           "  File \"%s\", line %d, in %s\n"
           "    raised KeyError\n"
           "KeyError: k 1\n",
           __FILE__, line, __func__);
  assert_string_equal(text, expected);
  free(text);
  assert_null(df_failure_traceback(NULL));
  df_failure_unref(f);
}

/* Causes print first, as Python prints chained exceptions. */
static void test_traceback_prints_cause_first(void **state) {
  (void)state;
  df_failure *cause = df_failure_new(&key_error, "missing"); int l1 = __LINE__;
  df_failure *f = df_failure_new(&gibberish_error, "bad"); int l2 = __LINE__;
  df_failure_set_cause(f, cause);
  char *text = df_failure_traceback(f);
  char expected[1024];
  snprintf(expected, sizeof expected,
           "Traceback (most recent call last):\n"
           "  File \"%s\", line %d, in %s\n"
           "    raised KeyError\n"
           "KeyError: missing\n"
           "\n"
           "The above failure was the direct cause of the following failure:\n"
           "\n"
           "Traceback (most recent call last):\n"
           "  File \"%s\", line %d, in %s\n"
           "    raised GibberishError\n"
           "GibberishError: bad\n",
           __FILE__, l1, __func__, __FILE__, l2, __func__);
  assert_string_equal(text, expected);
  free(text);
  df_failure_unref(f);
}

static void test_print_writes_the_traceback(void **state) {
  (void)state;
  df_failure *f = df_failure_new(&key_error, "printed");
  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  df_failure_print(f, tmp);
  rewind(tmp);
  char text[1024] = {0};
  size_t n = fread(text, 1, sizeof text - 1, tmp);
  text[n] = '\0';
  fclose(tmp);
  char *expected = df_failure_traceback(f);
  assert_string_equal(text, expected);
  free(expected);
  df_failure_unref(f);
}

static void test_brief_is_type_colon_message_with_snprintf_rules(
    void **state) {
  (void)state;
  df_failure *f = df_failure_new(&gibberish_error, "not a poem");
  char buf[64];
  assert_int_equal(df_failure_brief(f, buf, sizeof buf),
                   strlen("GibberishError: not a poem"));
  assert_string_equal(buf, "GibberishError: not a poem");
  char small[8];
  assert_int_equal(df_failure_brief(f, small, sizeof small), 26);
  assert_string_equal(small, "Gibberi"); /* truncated, terminated */
  df_failure_brief(NULL, buf, sizeof buf);
  assert_string_equal(buf, "(no failure)");
  df_failure_unref(f);
}

static void test_describe_of_a_failure_result(void **state) {
  (void)state;
  df_result r = df_raise(&key_error, "k");
  char buf[128];
  df_result_describe(r, buf, sizeof buf);
  assert_string_equal(buf, "<Failure KeyError: k>");
  df_result_drop(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, support_setup, support_teardown)
      T(test_type_is_a_follows_single_inheritance),
      T(test_check_matches_type_and_its_ancestors),
      T(test_check_returns_first_matching_argument),
      T(test_trap_without_match_passes_same_failure_on),
      T(test_trap_with_match_lets_errback_handle_it),
      T(test_trap_passes_a_success_through),
      T(test_message_is_printf_formatted),
      T(test_null_type_is_exception_and_null_format_is_empty),
      T(test_failure_records_where_it_was_raised),
      T(test_serial_numbers_increase),
      T(test_error_codes_become_typed_failures),
      T(test_memory_error_failure_is_shared_and_owns_nothing),
      T(test_payload_destructor_runs_exactly_once),
      T(test_replacing_payload_destroys_the_old_one),
      T(test_payload_of_failure_through_a_chain_destroyed_once),
      T(test_cause_is_kept_and_replaced),
      T(test_cause_cycles_are_refused),
      T(test_long_cause_chain_frees_every_failure_once),
      T(test_traceback_of_callback_failure_has_caught_here_marker),
      T(test_traceback_of_fired_failure_marks_the_fire),
      T(test_traceback_of_uncaught_failure_has_no_marker),
      T(test_traceback_prints_cause_first),
      T(test_print_writes_the_traceback),
      T(test_brief_is_type_colon_message_with_snprintf_rules),
      T(test_describe_of_a_failure_result),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
