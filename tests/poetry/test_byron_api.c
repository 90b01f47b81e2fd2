/* The engine's API (tools/poetry/byron.c): fault injection with pinned
 * sequences, the two forms of the call and their errors, ownership,
 * determinism, the option parsers.
 *
 * The pinned fault sequences were computed by an independent splitmix64
 * written in Python (fail when (mix(seed + n * golden) >> 11) * 2^-53 <
 * rate for call n = 1, 2, ...), not by this code. */
#include <math.h>

#include "poetry_support.h"

static const char poem[] =
    "Sonnet - To Science\n\n"
    "Science! true daughter of Old Time thou art!\n"
    "Who alterest all things with thy peering eyes.\n";
static const char poem_out[] =
    "Sonnet - To Science\n\n"
    "    Science! true daughter of Old Time thou art!\n"
    "    Who alterest all things with thy peering eyes.\n";

/* One call: 'F' injected fault, '.' a poem, '?' anything else. */
static char outcome(byron_engine *engine) {
  char *out;
  size_t len;
  byron_error error;
  int rc = byron_transform(engine, poem, sizeof poem - 1, &out, &len, &error);
  if (rc == 0) {
    bool same = strcmp(out, poem_out) == 0;
    free(out);
    return same ? '.' : '?';
  }
  return rc == BYRON_EFAULT ? 'F' : '?';
}

static void outcomes(byron_engine *engine, char *buf, size_t n) {
  for (size_t i = 0; i < n; i++) buf[i] = outcome(engine);
  buf[n] = '\0';
}

/* --- the engine ----------------------------------------------------------- */

static void test_engine_init_takes_rates_from_0_to_1(void **state) {
  (void)state;
  byron_engine e;
  assert_int_equal(byron_engine_init(&e, 0.0, 0), 0);
  assert_int_equal(byron_engine_init(&e, 1.0, UINT64_MAX), 0);
  assert_int_equal(byron_engine_init(&e, 0.5, 42), 0);
  assert_true(e.fault_rate == 0.5);
  assert_int_equal(e.seed, 42);
  assert_int_equal(e.calls, 0);
}

static void test_engine_init_refuses_bad_rates_and_changes_nothing(void **state) {
  (void)state;
  byron_engine e = {0.25, 9, 3};
  const double bad[] = {-0.0001, 1.0000001, -1.0, 2.0, NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(byron_engine_init(&e, bad[i], 1), DF_EINVAL);
    assert_true(e.fault_rate == 0.25);
    assert_int_equal(e.seed, 9);
    assert_int_equal(e.calls, 3);
  }
  assert_int_equal(byron_engine_init(NULL, 0.5, 1), DF_EINVAL);
}

static void test_rate_0_never_fails(void **state) {
  (void)state;
  byron_engine e;
  byron_engine_init(&e, 0.0, 42);
  char seen[201];
  outcomes(&e, seen, 200);
  for (size_t i = 0; i < 200; i++) assert_int_equal(seen[i], '.');
  assert_int_equal(e.calls, 200);
  /* a zeroed engine is the same */
  byron_engine zero = {0, 0, 0};
  assert_int_equal(outcome(&zero), '.');
}

static void test_rate_1_fails_every_call_with_its_number(void **state) {
  (void)state;
  byron_engine e;
  byron_engine_init(&e, 1.0, 7);
  for (int i = 1; i <= 100; i++) {
    char *out = (char *)"untouched";
    size_t len = 5;
    byron_error error;
    assert_int_equal(byron_transform(&e, poem, sizeof poem - 1, &out, &len, &error),
                     BYRON_EFAULT);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_int_equal(error.rule, BYRON_RULE_NONE);
    assert_int_equal(error.line, 0);
    char want[100];
    snprintf(want, sizeof want, "injected fault on call %d (fault rate 1, seed 7)", i);
    assert_string_equal(error.message, want);
  }
}

static void test_rate_one_half_follows_the_pinned_sequence(void **state) {
  (void)state;
  byron_engine e;
  byron_engine_init(&e, 0.5, 42);
  char seen[33];
  outcomes(&e, seen, 32);
  assert_string_equal(seen, ".FFFF.F.F.FF...FFFF..F..FF......");
  /* seed 43 is another sequence */
  byron_engine_init(&e, 0.5, 43);
  outcomes(&e, seen, 32);
  assert_string_equal(seen, "..F.FFF..F.F..FFFFF.F..F..F...F.");
}

static void test_fault_counts_over_many_calls_are_pinned(void **state) {
  (void)state;
  const struct {
    double rate;
    uint64_t seed;
    int faults;
  } cases[] = {{0.5, 42, 4978}, {0.1, 42, 961}, {0.5, 7, 5049}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    byron_engine e;
    byron_engine_init(&e, cases[c].rate, cases[c].seed);
    int faults = 0;
    for (int i = 0; i < 10000; i++) {
      char *out;
      size_t len;
      /* the poem does not matter: the draw comes first */
      int rc = byron_transform(&e, "ab\ncdefgh\n", 10, &out, &len, NULL);
      if (rc == BYRON_EFAULT) faults++;
      else free(out);
    }
    assert_int_equal(faults, cases[c].faults);
  }
}

static void test_one_call_per_run_the_seed_decides(void **state) {
  (void)state;
  /* what byronify --fault-rate 0.5 --seed S does: a first call */
  const char want[] = "...FFF.F..FF..F.F.F.";
  for (uint64_t seed = 0; seed < 20; seed++) {
    byron_engine e;
    byron_engine_init(&e, 0.5, seed);
    assert_int_equal(outcome(&e), want[seed]);
  }
}

static void test_a_copied_engine_repeats_the_sequence(void **state) {
  (void)state;
  byron_engine e;
  byron_engine_init(&e, 0.5, 42);
  char first[9], rest[25];
  outcomes(&e, first, 8);
  byron_engine fork = e;
  outcomes(&e, rest, 24);
  char again[25];
  outcomes(&fork, again, 24);
  assert_string_equal(rest, again);
  assert_string_equal(first, ".FFFF.F.");
}

static void test_gibberish_wins_over_a_fault_and_still_draws(void **state) {
  (void)state;
  byron_engine e;
  byron_engine_init(&e, 1.0, 7);
  char *out;
  size_t len;
  byron_error error;
  assert_int_equal(byron_transform(&e, "", 0, &out, &len, &error), BYRON_EGIBBERISH);
  assert_int_equal(error.rule, BYRON_RULE_EMPTY);
  assert_int_equal(e.calls, 1);
  /* so the second call is call 2 */
  assert_int_equal(byron_transform(&e, poem, sizeof poem - 1, &out, &len, &error),
                   BYRON_EFAULT);
  assert_string_equal(error.message, "injected fault on call 2 (fault rate 1, seed 7)");
}

/* --- bad arguments -------------------------------------------------------- */

static void test_bad_arguments_are_einval_and_draw_nothing(void **state) {
  (void)state;
  byron_engine e;
  byron_engine_init(&e, 0.5, 42);
  char *out;
  size_t len = 7;
  byron_error error;
  assert_int_equal(byron_transform(&e, poem, 10, NULL, &len, &error), DF_EINVAL);
  assert_string_equal(error.message, "invalid argument: no place for the poem");
  assert_int_equal(len, 0);
  assert_int_equal(byron_transform(&e, poem, 10, &out, NULL, &error), DF_EINVAL);
  assert_null(out);
  assert_int_equal(byron_transform(&e, NULL, 10, &out, &len, &error), DF_EINVAL);
  assert_string_equal(error.message, "invalid argument: a NULL poem of 10 bytes");
  assert_int_equal(error.rule, BYRON_RULE_NONE);
  assert_int_equal(e.calls, 0);
  /* an engine whose rate was set by hand to nonsense */
  byron_engine broken = {NAN, 0, 0};
  assert_int_equal(byron_transform(&broken, poem, 10, &out, &len, &error), DF_EINVAL);
  assert_string_equal(error.message,
                      "invalid argument: the fault rate is not from 0 to 1");
  assert_int_equal(broken.calls, 0);
  /* a NULL error is allowed */
  assert_int_equal(byron_transform(NULL, NULL, 3, &out, &len, NULL), DF_EINVAL);
}

/* --- the df_result form --------------------------------------------------- */

static void test_result_form_owns_the_same_poem_as_the_int_form(void **state) {
  (void)state;
  df_result r = byron_byronificate(NULL, poem, sizeof poem - 1);
  assert_int_equal(r.kind, DF_STRING);
  assert_int_not_equal(r.destructor, 0); /* it owns the text */
  assert_string_equal(r.u.s, poem_out);
  char *text = df_result_take(&r); /* hand it over */
  assert_int_equal(r.kind, DF_NONE);
  assert_string_equal(text, poem_out);
  free(text);
  r = byron_byronificate(NULL, poem, sizeof poem - 1);
  df_result_drop(r); /* frees it (valgrind and ASan check) */
}

static void test_result_form_raises_typed_failures(void **state) {
  (void)state;
  assert_string_equal(byron_gibberish_error.name, "GibberishError");
  assert_string_equal(byron_cannot_byronify_error.name, "CannotByronifyError");
  assert_ptr_equal(byron_gibberish_error.parent, &df_error_exception);
  assert_ptr_equal(byron_cannot_byronify_error.parent, &df_error_exception);

  df_result r = byron_byronificate(NULL, "#$%\n@@@\n", 8);
  assert_true(df_result_is_failure(r));
  assert_non_null(df_failure_check(r.u.failure, &byron_gibberish_error));
  char brief[200];
  df_failure_brief(r.u.failure, brief, sizeof brief);
  assert_string_equal(brief, "GibberishError: only 0 letters in the verse "
                             "(a poem has at least 8)");
  df_result_drop(r);

  byron_engine e;
  byron_engine_init(&e, 1.0, 5);
  r = byron_byronificate(&e, poem, sizeof poem - 1);
  assert_true(df_result_is_failure(r));
  /* not a GibberishError: the tutorial's step 5 keeps the original */
  assert_null(df_failure_check(r.u.failure, &byron_gibberish_error));
  assert_non_null(df_failure_check(r.u.failure, &byron_cannot_byronify_error));
  df_failure_brief(r.u.failure, brief, sizeof brief);
  assert_string_equal(brief, "CannotByronifyError: injected fault on call 1 "
                             "(fault rate 1, seed 5)");
  df_result_drop(r);

  r = byron_byronificate(NULL, NULL, 4);
  assert_true(df_result_is_failure(r));
  assert_ptr_equal(df_failure_type(r.u.failure), &df_error_invalid_argument);
  df_result_drop(r);
}

static void test_the_same_poem_always_gives_the_same_bytes(void **state) {
  (void)state;
  char *a = byronify(poem), *b = byronify(poem);
  assert_string_equal(a, b);
  df_result r = byron_byronificate(NULL, poem, sizeof poem - 1);
  assert_string_equal(r.u.s, a);
  df_result_drop(r);
  free(a);
  free(b);
}

/* --- codes and parsers ---------------------------------------------------- */

static void test_strerror_names_the_engine_codes(void **state) {
  (void)state;
  assert_string_equal(byron_strerror(BYRON_EGIBBERISH), "not a genuine poem");
  assert_string_equal(byron_strerror(BYRON_EFAULT), "injected fault");
  assert_string_equal(byron_strerror(DF_ENOMEM), "out of memory");
  assert_string_equal(byron_strerror(DF_EINVAL), "invalid argument");
  assert_string_equal(byron_strerror(0), "success");
}

static void test_parse_fault_rate_takes_decimals_from_0_to_1(void **state) {
  (void)state;
  const struct {
    const char *text;
    double value;
  } good[] = {{"0", 0},    {"1", 1},      {"0.5", 0.5}, {".25", 0.25},
              {"1.0", 1},  {"5e-1", 0.5}, {"1E0", 1},   {"0.000", 0},
              {"1e-400", 0}, {"2.5e-1", 0.25}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    double rate = -1;
    assert_int_equal(byron_parse_fault_rate(good[i].text, &rate), 0);
    assert_true(rate == good[i].value);
  }
  const char *const bad[] = {"",     "-0.5", "+0.5", " 0.5", "0.5 ", "1.5",
                             "2",    "0x1p-1", "inf", "nan", "0.5x", ".",
                             "e1",   "1e",   "1e+1", "0,5",  "--1", "1e400"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    double rate = 0.75;
    assert_int_equal(byron_parse_fault_rate(bad[i], &rate), DF_EINVAL);
    assert_true(rate == 0.75);
  }
  double rate;
  assert_int_equal(byron_parse_fault_rate(NULL, &rate), DF_EINVAL);
  assert_int_equal(byron_parse_fault_rate("0.5", NULL), DF_EINVAL);
}

static void test_parse_seed_takes_64_bit_decimals(void **state) {
  (void)state;
  uint64_t seed = 1;
  assert_int_equal(byron_parse_seed("0", &seed), 0);
  assert_int_equal(seed, 0);
  assert_int_equal(byron_parse_seed("42", &seed), 0);
  assert_int_equal(seed, 42);
  assert_int_equal(byron_parse_seed("007", &seed), 0);
  assert_int_equal(seed, 7);
  assert_int_equal(byron_parse_seed("18446744073709551615", &seed), 0);
  assert_true(seed == UINT64_MAX);
  const char *const bad[] = {"",   "18446744073709551616", "99999999999999999999",
                             "-1", "+1", " 1", "1 ", "0x10", "1.5", "1e3", "seed"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    seed = 5;
    assert_int_equal(byron_parse_seed(bad[i], &seed), DF_EINVAL);
    assert_int_equal(seed, 5);
  }
  assert_int_equal(byron_parse_seed(NULL, &seed), DF_EINVAL);
  assert_int_equal(byron_parse_seed("1", NULL), DF_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_engine_init_takes_rates_from_0_to_1),
      cmocka_unit_test(test_engine_init_refuses_bad_rates_and_changes_nothing),
      cmocka_unit_test(test_rate_0_never_fails),
      cmocka_unit_test(test_rate_1_fails_every_call_with_its_number),
      cmocka_unit_test(test_rate_one_half_follows_the_pinned_sequence),
      cmocka_unit_test(test_fault_counts_over_many_calls_are_pinned),
      cmocka_unit_test(test_one_call_per_run_the_seed_decides),
      cmocka_unit_test(test_a_copied_engine_repeats_the_sequence),
      cmocka_unit_test(test_gibberish_wins_over_a_fault_and_still_draws),
      cmocka_unit_test(test_bad_arguments_are_einval_and_draw_nothing),
      cmocka_unit_test(test_result_form_owns_the_same_poem_as_the_int_form),
      cmocka_unit_test(test_result_form_raises_typed_failures),
      cmocka_unit_test(test_the_same_poem_always_gives_the_same_bytes),
      cmocka_unit_test(test_strerror_names_the_engine_codes),
      cmocka_unit_test(test_parse_fault_rate_takes_decimals_from_0_to_1),
      cmocka_unit_test(test_parse_seed_takes_64_bit_decimals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
