/* The word transforms (tools/poetry/words.c; byron.h, "The
 * transformation"): pronouns and verbs by position, elisions, -'d,
 * abstractions, case patterns, punctuation, possessives, apostrophes,
 * non-ASCII words and non-English poems.
 *
 * Most tests byronify one line followed by PAIR_LINE (poetry_support.h)
 * and compare the line that comes out. */
#include "poetry_support.h"

/* --- the lexicon ---------------------------------------------------------- */

bool byron__lexicon_is_sorted(void);
bool byron__sounded_ed_is_sorted(void);

static void test_the_lexicon_and_the_sounded_ed_list_are_sorted_and_unique(void **state) {
  (void)state;
  assert_true(byron__lexicon_is_sorted());
  assert_true(byron__sounded_ed_is_sorted());
}

/* --- you: thou or thee ---------------------------------------------------- */

static void test_you_before_a_verb_is_thou_and_the_verb_agrees(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"and you are my sun", "and thou art my sun"},
      {"and you were my sun", "and thou wert my sun"},
      {"and you was my sun", "and thou wast my sun"},
      {"and you have my sun", "and thou hast my sun"},
      {"and you had my sun", "and thou hadst my sun"},
      {"and you do my will", "and thou dost my will"},
      {"and you did my will", "and thou didst my will"},
      {"and you will go", "and thou wilt go"},
      {"and you shall go", "and thou shalt go"},
      {"and you can go", "and thou canst go"},
      {"and you could go", "and thou couldst go"},
      {"and you would go", "and thou wouldst go"},
      {"and you should go", "and thou shouldst go"},
      {"and you may go", "and thou mayst go"},
      {"and you might go", "and thou mightst go"},
      {"and you must go", "and thou must go"},
      {"and you know the sea", "and thou knowest the sea"},
      {"and you see the sea", "and thou seest the sea"},
      {"and you say the sea", "and thou sayest the sea"},
      {"and you go to sea", "and thou goest to sea"},
      {"and you come to me", "and thou comest to me"},
      {"and you love the sea", "and thou lovest the sea"},
      {"and you hear the sea", "and thou hearest the sea"},
      {"and you think of me", "and thou thinkest of me"},
      {"and you feel the sea", "and thou feelest the sea"},
      {"and you seem to me", "and thou seemest to me"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_verse_line(cases[i][0], cases[i][1]);
}

static void test_you_after_an_inverting_auxiliary_is_thou(void **state) {
  (void)state;
  assert_verse_line("and are you awake?", "and art thou awake?");
  assert_verse_line("why do you know me?", "why dost thou know me?");
  assert_verse_line("what have you done?", "what hast thou done?");
  assert_verse_line("and will you weep?", "and wilt thou weep?");
  assert_verse_line("where were you then?", "where wert thou then?");
  assert_verse_line("how can you sleep?", "how canst thou sleep?");
  assert_verse_line("why did you go?", "why didst thou go?");
}

static void test_you_opening_a_sentence_or_a_clause_is_thou(void **state) {
  (void)state;
  assert_verse_line("You, whom the waves adore", "Thou, whom the waves adore");
  assert_verse_line("she wept; you slept", "she wept; thou slept");
  assert_verse_line("she wept! you slept", "she wept! thou slept");
  assert_verse_line("and if you sleep", "and if thou sleep");
  assert_verse_line("and when you sleep", "and when thou sleep");
  assert_verse_line("and though you sleep", "and though thou sleep");
  assert_verse_line("and while you sleep", "and while thou sleep");
  assert_verse_line("far more than you", "far more than thou");
}

static void test_you_elsewhere_is_thee(void **state) {
  (void)state;
  assert_verse_line("I give to you the rose", "I give to thee the rose");
  assert_verse_line("and I love you.", "and I love thee.");
  assert_verse_line("with you, for you", "with thee, for thee");
  /* "you, are": only white space links a word to the next */
  assert_verse_line("with you, are we", "with thee, are we");
}

static void test_thou_and_its_verb_keep_their_case(void **state) {
  (void)state;
  assert_verse_line("You are the one", "Thou art the one");
  assert_verse_line("YOU ARE THE ONE", "THOU ART THE ONE");
  assert_verse_line("Are You The One", "Art Thou The One");
  assert_verse_line("so I told YOU", "so I told THEE");
}

static void test_context_crosses_line_breaks_but_not_sentence_breaks(void **state) {
  (void)state;
  assert_byronified("I wonder if\nyou are the sea\n",
                    "    I wonder if\n    thou art the sea\n");
  assert_byronified("the birds sing to you.\nAre they not sweet\n",
                    "    the birds sing to thee.\n    Are they not sweet\n");
}

/* --- your and the other second persons ------------------------------------ */

static void test_your_is_thy_or_thine_before_a_vowel_sound(void **state) {
  (void)state;
  assert_verse_line("and your heart", "and thy heart");
  assert_verse_line("and your eyes", "and thine eyes");
  assert_verse_line("and your own heart", "and thine own heart");
  assert_verse_line("and your honour", "and thine honour");
  assert_verse_line("and your hour", "and thine hour");
  assert_verse_line("and your heir", "and thine heir");
  assert_verse_line("and Your Eyes", "and Thine Eyes");
  assert_verse_line("and YOUR EYES", "and THINE EYES");
  /* not across punctuation: "your," is thy */
  assert_verse_line("the fault is your, own", "the fault is thy, own");
  /* nor before a word that is not ASCII */
  assert_verse_line("and your \xC3\xA9lan", "and thy \xC3\xA9lan");
}

static void test_contractions_of_you_become_those_of_thou(void **state) {
  (void)state;
  assert_verse_line("the gold is yours", "the gold is thine");
  assert_verse_line("and know yourself", "and know thyself");
  assert_verse_line("and you're mine", "and thou'rt mine");
  assert_verse_line("and you'll see", "and thou'lt see");
  assert_verse_line("and you've seen", "and thou'st seen");
  assert_verse_line("and you'd weep", "and thou'dst weep");
  assert_verse_line("and You're mine", "and Thou'rt mine");
}

static void test_does_and_has_are_doth_and_hath(void **state) {
  (void)state;
  assert_verse_line("the sea does sigh and has sighed",
                    "the sea doth sigh and hath sigh'd");
  assert_verse_line("Does he know? HAS he seen?", "Doth he know? HATH he seen?");
}

static void test_it_is_and_it_was_become_tis_and_twas(void **state) {
  (void)state;
  assert_verse_line("and it is the end", "and 'tis the end");
  assert_verse_line("It was the end", "'Twas the end");
  assert_verse_line("IT IS THE END", "'TIS THE END");
  assert_verse_line("and it  \tis the end", "and 'tis the end");
  /* not across punctuation, nor across lines */
  assert_verse_line("and it, is the end", "and it, is the end");
  assert_byronified("and the end of it\nis the end of me\n",
                    "    and the end of it\n    is the end of me\n");
}

/* --- elisions ------------------------------------------------------------- */

static void test_each_elision(void **state) {
  (void)state;
  static const char *const cases[][2] = {
      {"over", "o'er"},         {"never", "ne'er"},       {"ever", "e'er"},
      {"even", "e'en"},         {"heavens", "heav'ns"},   {"heavenly", "heav'nly"},
      {"every", "ev'ry"},       {"evening", "ev'ning"},   {"whatever", "whate'er"},
      {"whenever", "whene'er"}, {"wherever", "where'er"}, {"however", "howe'er"},
      {"whoever", "whoe'er"},   {"against", "'gainst"},   {"beneath", "'neath"},
      {"among", "'mongst"},     {"taken", "ta'en"},       {"given", "giv'n"},
      {"power", "pow'r"},       {"powers", "pow'rs"},     {"flower", "flow'r"},
      {"flowers", "flow'rs"},   {"often", "oft"},         {"between", "betwixt"},
      {"perhaps", "perchance"}, {"maybe", "perchance"},   {"nothing", "naught"},
      {"anything", "aught"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char line[64], expected[64];
    snprintf(line, sizeof line, "and the %s of the sea", cases[i][0]);
    snprintf(expected, sizeof expected, "and the %s of the sea", cases[i][1]);
    assert_verse_line(line, expected);
  }
  /* heaven is elided and personified */
  assert_verse_line("and the heaven of the sea", "and the Heav'n of the sea");
}

static void test_elisions_keep_case_and_punctuation(void **state) {
  (void)state;
  assert_verse_line("Over the sea, (never!) \"ever\"",
                    "O'er the sea, (ne'er!) \"e'er\"");
  assert_verse_line("OVER THE SEA AGAINST", "O'ER THE SEA 'GAINST");
  assert_verse_line("Against the sea, Beneath it", "'Gainst the sea, 'Neath it");
  assert_verse_line("an ever-living flower", "an e'er-living flow'r");
}

static void test_silent_ed_is_elided(void **state) {
  (void)state;
  assert_verse_line("he dragged and loved and wandered",
                    "he dragg'd and lov'd and wander'd");
  assert_verse_line("the jewelled and stirred and pierced and played",
                    "the jewell'd and stirr'd and pierc'd and play'd");
  assert_verse_line("Dragged and DRAGGED", "Dragg'd and DRAGG'D");
}

static void test_sounded_ed_is_kept(void **state) {
  (void)state;
  static const char *const kept[] = {
      "twisted", "faded",  "freed",   "dried",  "tangled", "troubled",
      "sacred",  "hundred", "kindred", "naked", "wicked",  "rugged",
      "wretched", "deathbed", "bloodshed", "shred", "bed", "red"};
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
    char line[64];
    snprintf(line, sizeof line, "and the %s one", kept[i]);
    assert_verse_line(line, line);
  }
}

/* --- abstractions --------------------------------------------------------- */

static void test_abstractions_are_personified(void **state) {
  (void)state;
  static const char *const words[] = {
      "love",   "time",    "death",  "night",   "hope",     "fate",
      "fortune", "nature", "truth",  "beauty",  "life",     "youth",
      "joy",    "sorrow",  "grief",  "glory",   "fame",     "liberty",
      "freedom", "pleasure", "passion", "memory", "virtue", "wisdom",
      "folly",  "despair", "peace",  "war",     "honour",   "mercy",
      "pity",   "justice", "faith",  "reason",  "science",  "fear"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    char line[64], expected[64];
    snprintf(line, sizeof line, "and the %s of the sea", words[i]);
    snprintf(expected, sizeof expected, "and the %c%s of the sea",
             words[i][0] - 32, words[i] + 1);
    assert_verse_line(line, expected);
  }
}

static void test_abstractions_after_pronouns_auxiliaries_possessives_stay(void **state) {
  (void)state;
  assert_verse_line("how should he love thee", "how should he love thee");
  assert_verse_line("we hope, they fear, I love", "we hope, they fear, I love");
  assert_verse_line("to love is not to fear", "to love is not to fear");
  assert_verse_line("my love, her hope, our fate", "my love, her hope, our fate");
  assert_verse_line("your love and thy hope", "thy love and thy hope");
  assert_verse_line("and love of life", "and Love of Life");
  assert_verse_line("LOVE and Love", "LOVE and Love");
}

static void test_possessives_keep_their_s(void **state) {
  (void)state;
  assert_verse_line("on heaven's love's night's wing",
                    "on Heav'n's Love's Night's wing");
  /* no change for pronouns and verbs with 's */
  assert_verse_line("it's you's does's", "it's you's does's");
}

/* --- apostrophes, non-ASCII, non-English ---------------------------------- */

#define RSQ "\xE2\x80\x99" /* U+2019, the curly apostrophe */

static void test_curly_apostrophes_are_used_where_the_verse_does(void **state) {
  (void)state;
  assert_byronified("the heaven" RSQ "s light\nis o" RSQ "er the sea\n",
                    "    the Heav" RSQ "n" RSQ "s light\n"
                    "    is o" RSQ "er the sea\n");
  /* one of each: ASCII */
  assert_verse_line("the world" RSQ "s end is o'er, over",
                    "the world" RSQ "s end is o'er, o'er");
  assert_verse_line("and you" RSQ "re mine, over",
                    "and thou" RSQ "rt mine, o" RSQ "er");
}

static void test_words_with_non_ascii_letters_pass_through(void **state) {
  (void)state;
  assert_verse_line("and na\xC3\xAFve ever, \xC3\xBC" "ber never, n\xC3\xA9ver",
                    "and na\xC3\xAFve e'er, \xC3\xBC" "ber ne'er, n\xC3\xA9ver");
  assert_verse_line("the caf\xC3\xA9 of love", "the caf\xC3\xA9 of Love");
}

static void test_a_poem_not_in_english_keeps_its_words(void **state) {
  (void)state;
  /* Italian with English-looking words: no English markers, no change */
  assert_byronified("e quando over la fate\nsempre never tempo ever\n",
                    "    e quando over la fate\n    sempre never tempo ever\n");
  /* one marker in ten is enough: 2 of 20 words */
  assert_byronified("e quando over la fate sempre never tempo ever the\n"
                    "e quando over la fate sempre never tempo ever the\n",
                    "    e quando o'er la Fate sempre ne'er tempo e'er the\n"
                    "    e quando o'er la Fate sempre ne'er tempo e'er the\n");
}

static void test_words_are_only_letters(void **state) {
  (void)state;
  assert_verse_line("over9 _ever_ 3never", "o'er9 _e'er_ 3ne'er");
  assert_verse_line("'tis thee and thou", "'tis thee and thou");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_the_lexicon_and_the_sounded_ed_list_are_sorted_and_unique),
      cmocka_unit_test(test_you_before_a_verb_is_thou_and_the_verb_agrees),
      cmocka_unit_test(test_you_after_an_inverting_auxiliary_is_thou),
      cmocka_unit_test(test_you_opening_a_sentence_or_a_clause_is_thou),
      cmocka_unit_test(test_you_elsewhere_is_thee),
      cmocka_unit_test(test_thou_and_its_verb_keep_their_case),
      cmocka_unit_test(test_context_crosses_line_breaks_but_not_sentence_breaks),
      cmocka_unit_test(test_your_is_thy_or_thine_before_a_vowel_sound),
      cmocka_unit_test(test_contractions_of_you_become_those_of_thou),
      cmocka_unit_test(test_does_and_has_are_doth_and_hath),
      cmocka_unit_test(test_it_is_and_it_was_become_tis_and_twas),
      cmocka_unit_test(test_each_elision),
      cmocka_unit_test(test_elisions_keep_case_and_punctuation),
      cmocka_unit_test(test_silent_ed_is_elided),
      cmocka_unit_test(test_sounded_ed_is_kept),
      cmocka_unit_test(test_abstractions_are_personified),
      cmocka_unit_test(test_abstractions_after_pronouns_auxiliaries_possessives_stay),
      cmocka_unit_test(test_possessives_keep_their_s),
      cmocka_unit_test(test_curly_apostrophes_are_used_where_the_verse_does),
      cmocka_unit_test(test_words_with_non_ascii_letters_pass_through),
      cmocka_unit_test(test_a_poem_not_in_english_keeps_its_words),
      cmocka_unit_test(test_words_are_only_letters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
