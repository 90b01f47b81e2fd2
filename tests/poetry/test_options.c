/* The poetry tools' shared command-line rules (tools/poetry/options.c):
 * option values in both forms, durations and integers, accepted and
 * refused, and the usage error's text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "options.h"

static void test_a_value_comes_after_the_option_or_after_an_equals(void **state) {
  (void)state;
  char *argv[] = {"tool", "--delay", "0.5", "--delay=2", "--delayed", "--delay"};
  int argc = 6, i = 1;
  bool missing = false;
  assert_string_equal(options_value(argc, argv, &i, "--delay", &missing), "0.5");
  assert_int_equal(i, 2); /* moved past the value */
  i = 3;
  assert_string_equal(options_value(argc, argv, &i, "--delay", &missing), "2");
  assert_int_equal(i, 3);
  i = 4; /* another option that starts the same */
  assert_null(options_value(argc, argv, &i, "--delay", &missing));
  assert_false(missing);
  i = 5; /* the last argument: no value */
  assert_string_equal(options_value(argc, argv, &i, "--delay", &missing),
                      "--delay");
  assert_true(missing);
}

static void test_seconds_are_plain_decimal_numbers_in_range(void **state) {
  (void)state;
  static const struct { const char *text; double value; } good[] = {
      {"0", 0}, {"0.7", 0.7}, {"2", 2}, {".25", 0.25}, {"1e-3", 0.001},
      {"1E2", 100}, {"3.", 3}, {"86400", 86400}};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    double v = -1;
    assert_int_equal(options_parse_seconds(good[i].text, 86400, &v), 0);
    assert_true(v == good[i].value);
  }
  static const char *const bad[] = {"",     "-1",   "+1",  " 1",   "1 ",
                                    "inf",  "nan",  "0x1", "1e",   "1e+",
                                    ".",    "e5",   "1.2.3", "86401", "1e999",
                                    "0.7s", "1,5"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    double v = 42;
    assert_int_equal(options_parse_seconds(bad[i], 86400, &v), -1);
    assert_true(v == 42); /* unchanged */
  }
  assert_int_equal(options_parse_seconds(NULL, 1, &(double){0}), -1);
}

static void test_integers_are_digits_only_in_range(void **state) {
  (void)state;
  long v = -1;
  assert_int_equal(options_parse_integer("0", 0, 65535, &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(options_parse_integer("65535", 0, 65535, &v), 0);
  assert_int_equal(v, 65535);
  assert_int_equal(options_parse_integer("007", 0, 10, &v), 0);
  assert_int_equal(v, 7);
  static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "0x10",
                                    "65536", "1.0", "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    v = 42;
    assert_int_equal(options_parse_integer(bad[i], 0, 65535, &v), -1);
    assert_int_equal(v, 42);
  }
  assert_int_equal(options_parse_integer("0", 1, 64, &v), -1);
}

/* What standard error gets while `fn` runs; *status is what it returned. */
typedef int (*stderr_fn)(const void *arg);
static void capture_stderr(stderr_fn fn, const void *arg, int *status,
                           char *text, size_t size) {
  char path[] = "/tmp/test_options_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  *status = fn(arg);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  ssize_t n = pread(fd, text, size - 1, 0);
  close(fd);
  unlink(path);
  text[n > 0 ? n : 0] = '\0';
}

static int bad_x(const void *arg) {
  (void)arg;
  return options_usage_error("tool", "usage: tool [--x N]", "bad --x \"%s\"",
                             "y");
}

static void test_a_usage_error_names_the_tool_and_points_at_help(void **state) {
  (void)state;
  char text[200];
  int status;
  capture_stderr(bad_x, NULL, &status, text, sizeof text);
  assert_int_equal(status, OPTIONS_EXIT_USAGE);
  assert_string_equal(text, "tool: bad --x \"y\"\n"
                            "usage: tool [--x N] (try 'tool --help')\n");
}

/* A command line's fault options, and whether --byronify came with them. */
typedef struct faults_case {
  options_faults f;
  const char *engine_option;
  bool engine_on;
} faults_case;

static int check_faults(const void *arg) {
  const faults_case *c = arg;
  return options_faults_check("tool", "usage: tool", &c->f, c->engine_option,
                              c->engine_on);
}

static void test_a_seed_needs_a_fault_rate_and_both_need_the_engine(
    void **state) {
  (void)state;
  static const struct {
    faults_case c;
    int status;
    const char *err;
  } cases[] = {
      {{{0, 0, false, false}, NULL, true}, -1, ""},
      {{{0.5, 0, true, false}, NULL, true}, -1, ""},
      {{{0.5, 7, true, true}, NULL, true}, -1, ""},
      {{{0, 7, false, true}, NULL, true}, OPTIONS_EXIT_USAGE,
       "tool: --seed needs --fault-rate (with the default rate, 0, no call "
       "fails)\nusage: tool (try 'tool --help')\n"},
      {{{0.5, 7, true, true}, "--byronify", true}, -1, ""},
      {{{0, 0, false, false}, "--byronify", false}, -1, ""},
      {{{0.5, 0, true, false}, "--byronify", false}, OPTIONS_EXIT_USAGE,
       "tool: --fault-rate needs --byronify\nusage: tool (try 'tool --help')\n"},
      {{{0.5, 7, true, true}, "--byronify", false}, OPTIONS_EXIT_USAGE,
       "tool: --fault-rate needs --byronify\nusage: tool (try 'tool --help')\n"},
      {{{0, 7, false, true}, "--byronify", false}, OPTIONS_EXIT_USAGE,
       "tool: --seed needs --byronify\nusage: tool (try 'tool --help')\n"},
      {{{0, 7, false, true}, "--byronify", true}, OPTIONS_EXIT_USAGE,
       "tool: --seed needs --fault-rate (with the default rate, 0, no call "
       "fails)\nusage: tool (try 'tool --help')\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[300];
    int status;
    capture_stderr(check_faults, &cases[i].c, &status, text, sizeof text);
    assert_int_equal(status, cases[i].status);
    assert_string_equal(text, cases[i].err);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_value_comes_after_the_option_or_after_an_equals),
      cmocka_unit_test(test_seconds_are_plain_decimal_numbers_in_range),
      cmocka_unit_test(test_integers_are_digits_only_in_range),
      cmocka_unit_test(test_a_usage_error_names_the_tool_and_points_at_help),
      cmocka_unit_test(test_a_seed_needs_a_fault_rate_and_both_need_the_engine),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
