/* The shape of the new poem (tools/poetry/stanza.c, and the title and
 * attribution found by check.c): ottava rima stanzas, the last short
 * stanza, title, attribution, line breaks, white space. */
#include "poetry_support.h"

/* n lines of verse "line 1" ... "line n", each ending with "\n". */
static char *numbered_lines(size_t n, const char *prefix) {
  char *s = malloc(n * 16 + 1);
  assert_non_null(s);
  s[0] = '\0';
  for (size_t i = 1; i <= n; i++)
    sprintf(s + strlen(s), "%sline %zu\n", prefix, i);
  return s;
}

/* The stanzas the engine should write for n numbered lines: eight a
 * stanza, the last two of each indented, a blank line between. */
static char *expected_stanzas(size_t n) {
  char *s = malloc(n * 24 + 1);
  assert_non_null(s);
  s[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t start = i - i % 8, len = n - start < 8 ? n - start : 8;
    if (i % 8 == 0 && i > 0) strcat(s, "\n");
    sprintf(s + strlen(s), "%sline %zu\n",
            i % 8 + 2 >= len ? BYRON_COUPLET_INDENT : "", i + 1);
  }
  return s;
}

static void assert_stanzas_of(size_t n) {
  char *in = numbered_lines(n, "");
  char *want = expected_stanzas(n);
  assert_byronified(in, want);
  free(in);
  free(want);
}

static void test_eight_lines_are_six_and_an_indented_couplet(void **state) {
  (void)state;
  assert_byronified("line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n",
                    "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n"
                    "    line 7\n    line 8\n");
}

static void test_stanzas_are_separated_by_one_blank_line(void **state) {
  (void)state;
  assert_stanzas_of(16);
  assert_stanzas_of(24);
}

static void test_a_last_short_stanza_closes_with_its_couplet(void **state) {
  (void)state;
  /* a sonnet: eight, then four and a couplet */
  char *sonnet = numbered_lines(14, "");
  assert_byronified(sonnet,
                    "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n"
                    "    line 7\n    line 8\n\n"
                    "line 9\nline 10\nline 11\nline 12\n"
                    "    line 13\n    line 14\n");
  free(sonnet);
  /* one line over: it closes alone, indented */
  char *nine = numbered_lines(9, "");
  assert_byronified(nine, "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n"
                          "    line 7\n    line 8\n\n    line 9\n");
  free(nine);
  /* two and three lines */
  assert_byronified("line 1\nline 2\n", "    line 1\n    line 2\n");
  assert_byronified("line 1\nline 2\nline 3\n", "line 1\n    line 2\n    line 3\n");
  for (size_t n = 2; n <= 41; n++) assert_stanzas_of(n);
}

static void test_the_original_stanzas_and_indentation_go(void **state) {
  (void)state;
  assert_byronified("\n\n   line 1\n\t\tline 2   \n  \n\nline 3\t\n\n\n",
                    "line 1\n    line 2\n    line 3\n");
  /* white space inside a line stays */
  assert_byronified("a  wide\tline\nand  one more\n",
                    "    a  wide\tline\n    and  one more\n");
}

static void test_the_title_is_kept_as_it_was(void **state) {
  (void)state;
  /* its words are not changed; one blank line after it */
  assert_byronified("Over You, My Love\n\n\n\nover you\nmy love\n",
                    "Over You, My Love\n\n    o'er thee\n    my love\n");
  /* its indentation stays, trailing white space goes; blank lines
   * before it go */
  assert_byronified("\n\n   Centred Title  \n\nline 1\nline 2\n",
                    "   Centred Title\n\n    line 1\n    line 2\n");
}

static void test_a_first_line_without_a_blank_after_it_is_verse(void **state) {
  (void)state;
  assert_byronified("Not a title\nline 2\n", "    Not a title\n    line 2\n");
}

static void test_the_attribution_is_kept_as_it_was(void **state) {
  (void)state;
  static const char *const attributions[] = {
      "    -- John Donne",
      "\xE2\x80\x94 Lord Byron",
      "\xE2\x80\x93 Lord Byron",
      "by Ugo Foscolo",
      "By W. B. Yeats",
      "BY \xC3\x89mile Verhaeren",
      "--",
  };
  for (size_t i = 0; i < sizeof attributions / sizeof attributions[0]; i++) {
    char in[200], want[200];
    snprintf(in, sizeof in, "Title\n\nover you\nmy love\n\n\n%s  \n",
             attributions[i]);
    snprintf(want, sizeof want,
             "Title\n\n    o'er thee\n    my love\n\n%s\n", attributions[i]);
    assert_byronified(in, want);
  }
}

static void test_lines_that_only_look_like_attributions_are_verse(void **state) {
  (void)state;
  /* "by" and lower-case words; no blank line before; six names */
  assert_byronified("line 1\nline 2\n\nby the sea\n",
                    "line 1\n    line 2\n    by the sea\n");
  assert_byronified("line 1\nline 2\n-- John Donne\n",
                    "line 1\n    line 2\n    -- John Donne\n");
  assert_byronified("line 1\nline 2\n\nby A B C D E F\n",
                    "line 1\n    line 2\n    by A B C D E F\n");
  assert_byronified("line 1\nline 2\n\nby 1633\n",
                    "line 1\n    line 2\n    by 1633\n");
}

static void test_crlf_in_gives_crlf_out(void **state) {
  (void)state;
  assert_byronified("Title\r\n\r\nover you\r\nmy love\r\n\r\n-- Anon\r\n",
                    "Title\r\n\r\n    o'er thee\r\n    my love\r\n\r\n-- Anon\r\n");
  /* the first break decides */
  assert_byronified("line 1\nline 2\r\n", "    line 1\n    line 2\n");
  /* a lone CR is a line break, written as LF */
  assert_byronified("line 1\rline 2\r", "    line 1\n    line 2\n");
}

static void test_the_last_line_always_ends_with_a_break(void **state) {
  (void)state;
  assert_byronified("line 1\nline 2", "    line 1\n    line 2\n");
  assert_byronified("Title\n\nline 1\nline 2\n\n-- Anon",
                    "Title\n\n    line 1\n    line 2\n\n-- Anon\n");
}

static void test_a_byte_order_mark_is_dropped(void **state) {
  (void)state;
  assert_byronified("\xEF\xBB\xBFTitle\n\nline 1\nline 2\n",
                    "Title\n\n    line 1\n    line 2\n");
}

static void test_non_ascii_text_comes_out_byte_for_byte(void **state) {
  (void)state;
  /* every line of Foscolo's first quatrain, with its curly apostrophes */
  static const char in[] =
      "Forse perch\xC3\xA9 della fatal quiete\n"
      "tu sei l\xE2\x80\x99immago, a me si cara vieni,\n"
      "o Sera! E quando ti corteggian liete\n"
      "le nubi estive e i zeffiri sereni,\n";
  static const char want[] =
      "Forse perch\xC3\xA9 della fatal quiete\n"
      "tu sei l\xE2\x80\x99immago, a me si cara vieni,\n"
      "    o Sera! E quando ti corteggian liete\n"
      "    le nubi estive e i zeffiri sereni,\n";
  assert_byronified(in, want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eight_lines_are_six_and_an_indented_couplet),
      cmocka_unit_test(test_stanzas_are_separated_by_one_blank_line),
      cmocka_unit_test(test_a_last_short_stanza_closes_with_its_couplet),
      cmocka_unit_test(test_the_original_stanzas_and_indentation_go),
      cmocka_unit_test(test_the_title_is_kept_as_it_was),
      cmocka_unit_test(test_a_first_line_without_a_blank_after_it_is_verse),
      cmocka_unit_test(test_the_attribution_is_kept_as_it_was),
      cmocka_unit_test(test_lines_that_only_look_like_attributions_are_verse),
      cmocka_unit_test(test_crlf_in_gives_crlf_out),
      cmocka_unit_test(test_the_last_line_always_ends_with_a_break),
      cmocka_unit_test(test_a_byte_order_mark_is_dropped),
      cmocka_unit_test(test_non_ascii_text_comes_out_byte_for_byte),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
