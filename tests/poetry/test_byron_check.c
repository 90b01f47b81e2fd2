/* The gibberish rules (tools/poetry/check.c; byron.h, rules 1-9): each
 * rule with its exact message and line, its boundary (the last input that
 * passes), and the order between rules. */
#include "poetry_support.h"

/* Two lines that pass every rule. */
#define GOOD "Where, like a pillow on a bed\nA pregnant bank swell'd up to rest\n"

static char *repeat(const char *unit, size_t times) {
  size_t n = strlen(unit);
  char *s = malloc(n * times + 1);
  assert_non_null(s);
  for (size_t i = 0; i < times; i++) memcpy(s + i * n, unit, n);
  s[n * times] = '\0';
  return s;
}

/* --- rule 1: size --------------------------------------------------------- */

static void test_more_than_a_mebibyte_is_too_long(void **state) {
  (void)state;
  size_t n = BYRON_MAX_BYTES + 1;
  char *big = malloc(n);
  assert_non_null(big);
  for (size_t i = 0; i < n; i++) big[i] = (i % 40 == 39) ? '\n' : 'a' + i % 7;
  assert_gibberish_bytes(big, n, BYRON_RULE_TOO_LONG, 0,
                         "more than 1048576 bytes: longer than any poem");
  free(big);
}

static void test_exactly_a_mebibyte_is_accepted(void **state) {
  (void)state;
  /* 40-byte lines of verse, the last shortened to land on the limit */
  char *big = repeat("the fire and the rose are one and you\n", 27594);
  size_t n = strlen(big);
  assert_true(n < BYRON_MAX_BYTES);
  big = realloc(big, BYRON_MAX_BYTES);
  assert_non_null(big);
  memset(big + n, 'o', BYRON_MAX_BYTES - n - 1);
  big[BYRON_MAX_BYTES - 1] = '\n';
  char *out = byronify_bytes(big, BYRON_MAX_BYTES);
  assert_true(strncmp(out, "the fire and the rose are one and thee\n", 39) == 0);
  free(out);
  free(big);
}

/* --- rule 2: empty -------------------------------------------------------- */

static void test_no_bytes_is_empty(void **state) {
  (void)state;
  assert_gibberish("", BYRON_RULE_EMPTY, 0, "the poem is empty");
  /* a NULL poem of no bytes is an empty poem, not a bad argument */
  assert_gibberish_bytes(NULL, 0, BYRON_RULE_EMPTY, 0, "the poem is empty");
}

/* --- rule 3: bytes -------------------------------------------------------- */

static void test_each_kind_of_invalid_utf8_is_named_with_its_byte(void **state) {
  (void)state;
  static const struct {
    const char *text;
    const char *message;
  } cases[] = {
      {GOOD "stray \x80 continuation\n", "line 3 has invalid UTF-8 (byte 72 is 0x80)"},
      {GOOD "overlong \xC0\xAF slash\n", "line 3 has invalid UTF-8 (byte 75 is 0xC0)"},
      {GOOD "overlong \xC1\xBF\n", "line 3 has invalid UTF-8 (byte 75 is 0xC1)"},
      {GOOD "overlong \xE0\x80\xAF\n", "line 3 has invalid UTF-8 (byte 75 is 0xE0)"},
      {GOOD "overlong \xF0\x80\x80\xAF\n", "line 3 has invalid UTF-8 (byte 75 is 0xF0)"},
      {GOOD "surrogate \xED\xA0\x80\n", "line 3 has invalid UTF-8 (byte 76 is 0xED)"},
      {GOOD "too far \xF4\x90\x80\x80\n", "line 3 has invalid UTF-8 (byte 74 is 0xF4)"},
      {GOOD "no such lead \xF5\x80\x80\x80\n", "line 3 has invalid UTF-8 (byte 79 is 0xF5)"},
      {GOOD "no such lead \xFF\n", "line 3 has invalid UTF-8 (byte 79 is 0xFF)"},
      {GOOD "bad continuation \xC3\x28\n", "line 3 has invalid UTF-8 (byte 83 is 0xC3)"},
      {GOOD "cut short \xE2\x80", "line 3 has invalid UTF-8 (byte 76 is 0xE2)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_gibberish(cases[i].text, BYRON_RULE_INVALID_UTF8, 3, cases[i].message);
}

static void test_the_largest_code_point_and_a_bom_are_valid(void **state) {
  (void)state;
  /* U+10FFFF, U+FFFD and U+D7FF, U+E000 around the surrogates */
  char *out = byronify(GOOD "\xF4\x8F\xBF\xBF \xEF\xBF\xBD \xED\x9F\xBF \xEE\x80\x80\n");
  assert_non_null(strstr(out, "\xF4\x8F\xBF\xBF \xEF\xBF\xBD \xED\x9F\xBF \xEE\x80\x80\n"));
  free(out);
}

static void test_a_nul_byte_is_gibberish(void **state) {
  (void)state;
  static const char poem[] = "Where, like a\0 pillow on a bed\nA pregnant bank\n";
  assert_gibberish_bytes(poem, sizeof poem - 1, BYRON_RULE_NUL, 1,
                         "line 1 has a NUL byte (byte 14)");
}

static void test_control_characters_but_tab_cr_lf_are_gibberish(void **state) {
  (void)state;
  assert_gibberish(GOOD "\x1B[31mred\n", BYRON_RULE_CONTROL, 3,
                   "line 3 has the control character U+001B (byte 66)");
  assert_gibberish(GOOD "rub\x7Fout\n", BYRON_RULE_CONTROL, 3,
                   "line 3 has the control character U+007F (byte 69)");
  assert_gibberish(GOOD "page\fbreak\n", BYRON_RULE_CONTROL, 3,
                   "line 3 has the control character U+000C (byte 70)");
  assert_gibberish(GOOD "vertical\vtab\n", BYRON_RULE_CONTROL, 3,
                   "line 3 has the control character U+000B (byte 74)");
  /* C1 controls: U+0085 (next line) and U+009F, in UTF-8 */
  assert_gibberish(GOOD "next\xC2\x85line\n", BYRON_RULE_CONTROL, 3,
                   "line 3 has the control character U+0085 (byte 70)");
  assert_gibberish(GOOD "\xC2\x9F\n", BYRON_RULE_CONTROL, 3,
                   "line 3 has the control character U+009F (byte 66)");
  /* U+00A0, the first code point after them, is text */
  char *out = byronify(GOOD "no\xC2\xA0" "break\tand a tab\r\n");
  assert_non_null(strstr(out, "no\xC2\xA0" "break\tand a tab\n"));
  free(out);
}

static void test_the_first_bad_byte_decides_the_rule(void **state) {
  (void)state;
  static const char control_first[] = GOOD "\x01 then \0 then \xFF\n";
  assert_gibberish_bytes(control_first, sizeof control_first - 1,
                         BYRON_RULE_CONTROL, 3,
                         "line 3 has the control character U+0001 (byte 66)");
  static const char utf8_first[] = GOOD "\xFF then \0 then \x01\n";
  assert_gibberish_bytes(utf8_first, sizeof utf8_first - 1,
                         BYRON_RULE_INVALID_UTF8, 3,
                         "line 3 has invalid UTF-8 (byte 66 is 0xFF)");
}

static void test_line_numbers_count_lf_crlf_and_lone_cr(void **state) {
  (void)state;
  assert_gibberish("one\r\ntwo\rthree\nfour\r\r\n\x02", BYRON_RULE_CONTROL, 6,
                   "line 6 has the control character U+0002 (byte 23)");
}

static void test_byte_numbers_count_a_byte_order_mark(void **state) {
  (void)state;
  assert_gibberish("\xEF\xBB\xBF" "ab\x01", BYRON_RULE_CONTROL, 1,
                   "line 1 has the control character U+0001 (byte 6)");
}

/* --- rule 4: blank -------------------------------------------------------- */

static void test_only_white_space_is_blank(void **state) {
  (void)state;
  assert_gibberish(" \t\r\n\n  \r", BYRON_RULE_BLANK, 0,
                   "the poem is only white space");
  assert_gibberish("\n", BYRON_RULE_BLANK, 0, "the poem is only white space");
  assert_gibberish("\xEF\xBB\xBF", BYRON_RULE_BLANK, 0,
                   "the poem is only white space");
}

/* --- rule 5: prose -------------------------------------------------------- */

static void test_a_line_over_200_characters_is_prose(void **state) {
  (void)state;
  char *line = repeat("word ", 41); /* 205 with its last space ... */
  line[200] = '\0';                 /* ... cut to 200 */
  char *poem = malloc(strlen(line) + 200);
  sprintf(poem, GOOD "%s   \n", line); /* trailing white space: not counted */
  char *out = byronify(poem);
  free(out);
  sprintf(poem, GOOD "%sx\n", line);
  assert_gibberish(poem, BYRON_RULE_PROSE_LINE, 3,
                   "line 3 has 201 characters: that is prose, not verse "
                   "(a line of verse has at most 200)");
  free(poem);
  free(line);
}

static void test_prose_is_counted_in_characters_not_bytes(void **state) {
  (void)state;
  char *accents = repeat("\xC3\xA9t\xC3\xA9 ", 50); /* "été " x 50: 200 chars */
  char *poem = malloc(strlen(accents) + 100);
  sprintf(poem, "%s\n" GOOD, accents);
  char *out = byronify(poem);
  free(out);
  sprintf(poem, "  %s!\n" GOOD, accents); /* indentation is not counted */
  assert_gibberish(poem, BYRON_RULE_PROSE_LINE, 1,
                   "line 1 has 201 characters: that is prose, not verse "
                   "(a line of verse has at most 200)");
  free(poem);
  free(accents);
}

static void test_a_long_title_is_prose_too(void **state) {
  (void)state;
  char *title = repeat("Title ", 40); /* 240 */
  char *poem = malloc(strlen(title) + 100);
  sprintf(poem, "%s\n\n" GOOD, title);
  assert_gibberish(poem, BYRON_RULE_PROSE_LINE, 1,
                   "line 1 has 239 characters: that is prose, not verse "
                   "(a line of verse has at most 200)");
  free(poem);
  free(title);
}

/* --- rule 6: long words --------------------------------------------------- */

static void test_a_word_over_40_letters_is_gibberish(void **state) {
  (void)state;
  char *word = repeat("abcdefghij", 4);
  char poem[200];
  snprintf(poem, sizeof poem, GOOD "a %s word\n", word);
  free(byronify(poem));
  snprintf(poem, sizeof poem, GOOD "a %sk word\n", word);
  assert_gibberish(poem, BYRON_RULE_LONG_WORD, 3,
                   "line 3 has a word of 41 letters "
                   "(a word of verse has at most 40)");
  /* apostrophes join letters but are not letters */
  snprintf(poem, sizeof poem, GOOD "%.20s'%.20s\n", word, word + 20);
  free(byronify(poem));
  /* non-ASCII letters are letters: 41 of them, 82 bytes */
  char *greek = repeat("\xCE\xB1", 41);
  snprintf(poem, sizeof poem, GOOD "%s\n", greek);
  assert_gibberish(poem, BYRON_RULE_LONG_WORD, 3,
                   "line 3 has a word of 41 letters "
                   "(a word of verse has at most 40)");
  free(greek);
  free(word);
}

/* --- rules 7-9: lines and letters ----------------------------------------- */

static void test_one_line_of_verse_is_too_few(void **state) {
  (void)state;
  assert_gibberish("Where, like a pillow on a bed\n", BYRON_RULE_TOO_FEW_LINES,
                   0, "only 1 line of verse (a poem has at least 2)");
  /* the title is not verse */
  assert_gibberish("The Ecstasy\n\nWhere, like a pillow on a bed\n",
                   BYRON_RULE_TOO_FEW_LINES, 0,
                   "only 1 line of verse (a poem has at least 2)");
  /* nor is the attribution */
  assert_gibberish("The Ecstasy\n\n    -- John Donne\n", BYRON_RULE_TOO_FEW_LINES,
                   0, "no line of verse (a poem has at least 2)");
}

static void test_fewer_than_8_letters_are_too_few(void **state) {
  (void)state;
  assert_gibberish("ab\ncd\n", BYRON_RULE_TOO_FEW_LETTERS, 0,
                   "only 4 letters in the verse (a poem has at least 8)");
  assert_gibberish("a\n1\n", BYRON_RULE_TOO_FEW_LETTERS, 0,
                   "only 1 letter in the verse (a poem has at least 8)");
  /* the tutorial's gibberish */
  assert_gibberish("#$%^&*()!\n@@@ ###\n!!!\n", BYRON_RULE_TOO_FEW_LETTERS, 0,
                   "only 0 letters in the verse (a poem has at least 8)");
  /* a title's letters do not count */
  assert_gibberish("A Title Of Many Letters\n\n12 ab\n34 cd\n",
                   BYRON_RULE_TOO_FEW_LETTERS, 0,
                   "only 4 letters in the verse (a poem has at least 8)");
  free(byronify("abcd\nefgh\n"));
}

static void test_verse_less_than_half_letters_is_not_words(void **state) {
  (void)state;
  assert_gibberish("#$%^&*()!\n@@@ ### abcdefgh\n", BYRON_RULE_NOT_WORDS, 0,
                   "only 34% of the verse is letters, the rest digits, "
                   "punctuation or symbols (a poem has at least 50%)");
  /* exactly half passes; white space does not count */
  free(byronify("abcd 1234\n  efgh    5678\n"));
  assert_gibberish("abcd 1234\nefgh 56789\n", BYRON_RULE_NOT_WORDS, 0,
                   "only 47% of the verse is letters, the rest digits, "
                   "punctuation or symbols (a poem has at least 50%)");
}

static void test_emoji_are_not_letters_and_scripts_are(void **state) {
  (void)state;
  assert_gibberish("\xF0\x9F\x8C\xB9\xF0\x9F\x8C\xB9\xF0\x9F\x8C\xB9\xF0\x9F\x8C\xB9\xF0\x9F\x8C\xB9 rose\n"
                   "\xE2\x99\xA5\xE2\x99\xA5\xE2\x99\xA5 love\xE2\x80\xA6\n",
                   BYRON_RULE_NOT_WORDS, 0,
                   "only 47% of the verse is letters, the rest digits, "
                   "punctuation or symbols (a poem has at least 50%)");
  /* Greek and Russian words are letters */
  free(byronify("\xCE\xBC\xE1\xBF\x86\xCE\xBD\xCE\xB9\xCE\xBD \xE1\xBC\x84"
                "\xCE\xB5\xCE\xB9\xCE\xB4\xCE\xB5\n\xD0\xBC\xD0\xB8\xD1\x80 "
                "\xD0\xB2\xD0\xBE\xD0\xB9\xD0\xBD\xD0\xB0\n"));
}

/* --- order ---------------------------------------------------------------- */

static void test_an_earlier_rule_wins_over_an_earlier_line(void **state) {
  (void)state;
  char *word = repeat("x", 45);
  char *prose = repeat("ab ", 70);
  char *poem = malloc(strlen(word) + strlen(prose) + 100);
  sprintf(poem, "%s\nline two\n%s\n", word, prose);
  assert_gibberish(poem, BYRON_RULE_PROSE_LINE, 3,
                   "line 3 has 209 characters: that is prose, not verse "
                   "(a line of verse has at most 200)");
  /* and a byte rule wins over both, whatever its line */
  sprintf(poem, "%s\nline two\n%s\n\x01", word, prose);
  assert_gibberish(poem, BYRON_RULE_CONTROL, 4,
                   "line 4 has the control character U+0001 (byte 267)");
  free(poem);
  free(prose);
  free(word);
}

static void test_every_rule_has_a_name(void **state) {
  (void)state;
  static const char *const names[] = {
      "none",        "too long",   "empty",     "invalid UTF-8",
      "NUL byte",    "control character", "blank", "prose line",
      "long word",   "too few lines", "too few letters", "not words"};
  for (int r = BYRON_RULE_NONE; r <= BYRON_RULE_NOT_WORDS; r++)
    assert_string_equal(byron_rule_name((byron_rule)r), names[r]);
  assert_string_equal(byron_rule_name((byron_rule)99), "unknown rule");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_more_than_a_mebibyte_is_too_long),
      cmocka_unit_test(test_exactly_a_mebibyte_is_accepted),
      cmocka_unit_test(test_no_bytes_is_empty),
      cmocka_unit_test(test_each_kind_of_invalid_utf8_is_named_with_its_byte),
      cmocka_unit_test(test_the_largest_code_point_and_a_bom_are_valid),
      cmocka_unit_test(test_a_nul_byte_is_gibberish),
      cmocka_unit_test(test_control_characters_but_tab_cr_lf_are_gibberish),
      cmocka_unit_test(test_the_first_bad_byte_decides_the_rule),
      cmocka_unit_test(test_line_numbers_count_lf_crlf_and_lone_cr),
      cmocka_unit_test(test_byte_numbers_count_a_byte_order_mark),
      cmocka_unit_test(test_only_white_space_is_blank),
      cmocka_unit_test(test_a_line_over_200_characters_is_prose),
      cmocka_unit_test(test_prose_is_counted_in_characters_not_bytes),
      cmocka_unit_test(test_a_long_title_is_prose_too),
      cmocka_unit_test(test_a_word_over_40_letters_is_gibberish),
      cmocka_unit_test(test_one_line_of_verse_is_too_few),
      cmocka_unit_test(test_fewer_than_8_letters_are_too_few),
      cmocka_unit_test(test_verse_less_than_half_letters_is_not_words),
      cmocka_unit_test(test_emoji_are_not_letters_and_scripts_are),
      cmocka_unit_test(test_an_earlier_rule_wins_over_an_earlier_line),
      cmocka_unit_test(test_every_rule_has_a_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
