/* Helpers shared by the Byronification Engine's cmocka suites
 * (tests/poetry/test_byron_*.c). Like tests/support.h: static inline, one
 * copy per suite executable.
 *
 *   byronify(text)          the new poem (asserts success); free() it
 *   assert_byronified(a, b) byronifying a gives exactly b
 *   assert_gibberish(text, rule, line, message)
 *                           byronifying text fails with that rule, line
 *                           and exact message, by both forms of the call
 *   verse_line(line)        the first line of the new poem made of `line`
 *                           and a fixed English second line (PAIR_LINE),
 *                           without its couplet indentation: for testing
 *                           one line's words
 */
#ifndef BYRON_POETRY_SUPPORT_H
#define BYRON_POETRY_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byron.h"

/* The line verse_line() puts after the line under test: English, and
 * nothing in it changes or changes the line before it. */
#define PAIR_LINE "and the last line is here"

static inline char *byronify_bytes(const char *text, size_t len) {
  char *out = NULL;
  size_t out_len = 0;
  byron_error error;
  int rc = byron_transform(NULL, text, len, &out, &out_len, &error);
  if (rc != 0) print_error("byron_transform: %d: %s\n", rc, error.message);
  assert_int_equal(rc, 0);
  assert_non_null(out);
  assert_int_equal(strlen(out), out_len);
  return out;
}

static inline char *byronify(const char *text) {
  return byronify_bytes(text, strlen(text));
}

static inline void assert_byronified(const char *text, const char *expected) {
  char *out = byronify(text);
  if (strcmp(out, expected) != 0)
    print_error("byronified:\n%s\nexpected:\n%s\n", out, expected);
  assert_string_equal(out, expected);
  free(out);
}

static inline void assert_gibberish_bytes(const char *text, size_t len,
                                          byron_rule rule, size_t line,
                                          const char *message) {
  char *out = (char *)"not touched";
  size_t out_len = 99;
  byron_error error;
  assert_int_equal(byron_transform(NULL, text, len, &out, &out_len, &error),
                   BYRON_EGIBBERISH);
  assert_null(out);
  assert_int_equal(out_len, 0);
  assert_string_equal(byron_rule_name(error.rule), byron_rule_name(rule));
  assert_int_equal(error.line, line);
  assert_string_equal(error.message, message);
  /* the df_result form raises a GibberishError with the same message */
  df_result r = byron_byronificate(NULL, text, len);
  assert_true(df_result_is_failure(r));
  assert_ptr_equal(df_failure_type(r.u.failure), &byron_gibberish_error);
  assert_string_equal(df_failure_message(r.u.failure), message);
  df_result_drop(r);
}

static inline void assert_gibberish(const char *text, byron_rule rule,
                                    size_t line, const char *message) {
  assert_gibberish_bytes(text, strlen(text), rule, line, message);
}

/* The new first line of `line` + "\n" PAIR_LINE "\n": two lines, so both
 * are the couplet; the indentation is taken off. Free() it. */
static inline char *verse_line(const char *line) {
  size_t n = strlen(line);
  char *poem = malloc(n + sizeof PAIR_LINE + 2);
  assert_non_null(poem);
  memcpy(poem, line, n);
  memcpy(poem + n, "\n" PAIR_LINE "\n", sizeof PAIR_LINE + 2); /* and NUL */
  char *out = byronify(poem);
  free(poem);
  size_t indent = sizeof BYRON_COUPLET_INDENT - 1;
  assert_memory_equal(out, BYRON_COUPLET_INDENT, indent);
  size_t first = strcspn(out, "\n"); /* the first line's length */
  assert_int_equal(out[first], '\n');
  assert_string_equal(out + first + 1, BYRON_COUPLET_INDENT PAIR_LINE "\n");
  size_t len = first - indent;
  memmove(out, out + indent, len);
  out[len] = '\0';
  return out;
}

static inline void assert_verse_line(const char *line, const char *expected) {
  char *out = verse_line(line);
  if (strcmp(out, expected) != 0)
    print_error("\"%s\" became\n\"%s\", expected\n\"%s\"\n", line, out,
                expected);
  assert_string_equal(out, expected);
  free(out);
}

#endif /* BYRON_POETRY_SUPPORT_H */
