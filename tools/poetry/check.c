/* Is it a genuine poem? Reads the input into lines, finds the title,
 * verse and attribution (byron.h, "The shape of a poem"), and applies the
 * gibberish rules in their order (byron.h, rules 1-9).
 *
 * Two passes over the bytes. The first (scan_bytes) validates UTF-8,
 * looks for NUL and control characters and counts the non-blank lines,
 * so that the second (split_lines) can allocate the line array at its
 * exact size: a megabyte of line breaks costs nothing. After those two,
 * only the lines are looked at: per line, its length in characters and
 * its longest word (rules 5, 6), and for the verse its letters (8, 9).
 * Every rule reports the first line that breaks it, and a rule earlier in
 * the list wins over a later one whatever their lines.
 */
#include <stdlib.h>
#include <string.h>

#include "byron_internal.h"

#define UTF8_BOM "\xEF\xBB\xBF"

/* A GibberishError for `rule`, found on `line` (0: the whole poem). */
#define gibberish(error, rule, line, ...) \
  byron__error_set((error), BYRON_EGIBBERISH, (rule), (line), __VA_ARGS__)

/* --- pass 1: the bytes ---------------------------------------------------- */

/* The length of the valid UTF-8 sequence at p[0] (of `left` bytes), or 0
 * if it is not one (bad lead byte, bad or missing continuation, overlong
 * form, surrogate, beyond U+10FFFF). */
static size_t utf8_sequence(const unsigned char *p, size_t left) {
  unsigned char c = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF; /* the allowed second byte */
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) {
    n = 2;
  } else if (c < 0xF0) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;      /* overlong */
    if (c == 0xED) hi = 0x9F;      /* surrogates */
  } else if (c < 0xF5) {
    n = 4;
    if (c == 0xF0) lo = 0x90;      /* overlong */
    if (c == 0xF4) hi = 0x8F;      /* beyond U+10FFFF */
  } else {
    return 0;
  }
  if (left < n || p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
  return n;
}

static bool is_blank_byte(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Rule 3, and the count of non-blank lines. Returns 0 or the rule's
 * error. `offset` is where `text` starts in the input (after a byte order
 * mark), for the byte numbers of the messages. */
static int scan_bytes(const char *text, size_t len, size_t offset,
                      size_t *non_blank, byron_error *error) {
  const unsigned char *p = (const unsigned char *)text;
  size_t line = 1, count = 0;
  bool line_has_text = false;
  for (size_t i = 0; i < len;) {
    unsigned char c = p[i];
    if (c > ' ' && c < 0x7F) { /* printable ASCII, the common case */
      line_has_text = true;
      i++;
      continue;
    }
    if (c == '\n' || c == '\r') {
      count += line_has_text;
      line_has_text = false;
      line++;
      i += (c == '\r' && i + 1 < len && p[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    if (!is_blank_byte(c)) line_has_text = true;
    if (c == 0)
      return gibberish(error, BYRON_RULE_NUL, line,
                       "line %zu has a NUL byte (byte %zu)", line,
                       offset + i + 1);
    if ((c < 0x20 && c != '\t') || c == 0x7F)
      return gibberish(error, BYRON_RULE_CONTROL, line,
                       "line %zu has the control character U+%04X (byte %zu)",
                       line, (unsigned)c, offset + i + 1);
    size_t n = utf8_sequence(p + i, len - i);
    if (n == 0)
      return gibberish(error, BYRON_RULE_INVALID_UTF8, line,
                       "line %zu has invalid UTF-8 (byte %zu is 0x%02X)", line,
                       offset + i + 1, (unsigned)c);
    if (n == 2 && c == 0xC2 && p[i + 1] < 0xA0) /* U+0080-U+009F */
      return gibberish(error, BYRON_RULE_CONTROL, line,
                       "line %zu has the control character U+%04X (byte %zu)",
                       line, (unsigned)p[i + 1], offset + i + 1);
    i += n;
  }
  *non_blank = count + line_has_text;
  return 0;
}

/* --- pass 2: the lines ---------------------------------------------------- */

static void split_lines(byron_poem *poem, size_t len) {
  const char *s = poem->text;
  size_t number = 1, n = 0;
  bool first_break = true;
  for (size_t i = 0; i <= len;) {
    size_t begin = i;
    while (i < len && s[i] != '\n' && s[i] != '\r') i++;
    size_t start = begin, stop = i;
    while (start < stop && (s[start] == ' ' || s[start] == '\t')) start++;
    while (stop > start && (s[stop - 1] == ' ' || s[stop - 1] == '\t')) stop--;
    if (stop > start)
      poem->lines[n++] =
          (byron_line){start, stop - start, start - begin, number};
    if (i == len) break;
    bool crlf = s[i] == '\r' && i + 1 < len && s[i + 1] == '\n';
    if (first_break) poem->crlf = crlf;
    first_break = false;
    i += crlf ? 2 : 1;
    number++;
  }
  poem->n_lines = n;
}

static bool blank_line_between(const byron_line *a, const byron_line *b) {
  return b->number > a->number + 1;
}

/* "by" and one to five names, each starting with a capital or a letter
 * outside ASCII ("by Ugo Foscolo", "By W. B. Yeats"). */
static bool is_by_line(const char *s, size_t len) {
  if (len < 4 || (s[0] != 'b' && s[0] != 'B') || (s[1] != 'y' && s[1] != 'Y') ||
      (s[2] != ' ' && s[2] != '\t'))
    return false;
  size_t names = 0;
  for (size_t i = 2; i < len;) {
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i == len) break;
    unsigned char c = (unsigned char)s[i];
    if (!(c >= 'A' && c <= 'Z')) {
      size_t next = i;
      if (c < 0x80 || !byron__is_letter(byron__utf8_next(s, &next)))
        return false;
    }
    names++;
    while (i < len && s[i] != ' ' && s[i] != '\t') i++;
  }
  return names >= 1 && names <= 5;
}

static bool is_attribution(const char *s, size_t len) {
  return (len >= 2 && s[0] == '-' && s[1] == '-') ||
         (len >= 3 && (memcmp(s, "\xE2\x80\x94", 3) == 0 ||   /* em dash */
                       memcmp(s, "\xE2\x80\x93", 3) == 0)) || /* en dash */
         is_by_line(s, len);
}

static void find_roles(byron_poem *poem) {
  const byron_line *l = poem->lines;
  size_t n = poem->n_lines, last = n - 1;
  /* With two lines or more, the title (line 0) and the attribution (the
   * last) are never the same line. */
  poem->has_title = n >= 2 && blank_line_between(&l[0], &l[1]);
  poem->has_attribution =
      n >= 2 && blank_line_between(&l[last - 1], &l[last]) &&
      is_attribution(poem->text + l[last].start, l[last].len);
  poem->first_verse = poem->has_title ? 1 : 0;
  poem->end_verse = poem->has_attribution ? last : n;
}

/* --- rules 5-9 ------------------------------------------------------------ */

typedef struct line_measure {
  size_t chars;        /* code points */
  size_t longest_word; /* letters */
  size_t letters;      /* letters */
  size_t non_white;    /* code points other than space and tab */
} line_measure;

static line_measure measure(const char *s, const byron_line *line) {
  line_measure m = {0, 0, 0, 0};
  byron_piece p;
  size_t end = line->start + line->len;
  for (size_t i = line->start; byron__next_piece(s, &i, end, &p);) {
    if (p.word) {
      if (p.letters > m.longest_word) m.longest_word = p.letters;
      m.letters += p.letters;
      m.chars += p.letters + p.straight + p.curly;
      m.non_white += p.letters + p.straight + p.curly;
    } else {
      m.chars++;
      if (p.cp != ' ' && p.cp != '\t') m.non_white++;
    }
  }
  return m;
}

static int apply_line_rules(const byron_poem *poem, byron_error *error) {
  const byron_line *prose = NULL, *long_word = NULL;
  size_t prose_chars = 0, word_letters = 0, letters = 0, non_white = 0;
  for (size_t i = 0; i < poem->n_lines; i++) {
    line_measure m = measure(poem->text, &poem->lines[i]);
    if (!prose && m.chars > BYRON_MAX_LINE_CHARS) {
      prose = &poem->lines[i];
      prose_chars = m.chars;
    }
    if (!long_word && m.longest_word > BYRON_MAX_WORD_LETTERS) {
      long_word = &poem->lines[i];
      word_letters = m.longest_word;
    }
    if (i >= poem->first_verse && i < poem->end_verse) {
      letters += m.letters;
      non_white += m.non_white;
    }
  }
  if (prose)
    return gibberish(error, BYRON_RULE_PROSE_LINE, prose->number,
                     "line %zu has %zu characters: that is prose, not verse "
                     "(a line of verse has at most %d)",
                     prose->number, prose_chars, BYRON_MAX_LINE_CHARS);
  if (long_word)
    return gibberish(error, BYRON_RULE_LONG_WORD, long_word->number,
                     "line %zu has a word of %zu letters "
                     "(a word of verse has at most %d)",
                     long_word->number, word_letters, BYRON_MAX_WORD_LETTERS);
  size_t verse = poem->end_verse - poem->first_verse;
  if (verse < BYRON_MIN_VERSE_LINES) {
    if (verse == 0)
      return gibberish(error, BYRON_RULE_TOO_FEW_LINES, 0,
                       "no line of verse (a poem has at least %d)",
                       BYRON_MIN_VERSE_LINES);
    return gibberish(error, BYRON_RULE_TOO_FEW_LINES, 0,
                     "only %zu line%s of verse (a poem has at least %d)", verse,
                     verse == 1 ? "" : "s", BYRON_MIN_VERSE_LINES);
  }
  if (letters < BYRON_MIN_LETTERS)
    return gibberish(error, BYRON_RULE_TOO_FEW_LETTERS, 0,
                     "only %zu letter%s in the verse (a poem has at least %d)",
                     letters, letters == 1 ? "" : "s", BYRON_MIN_LETTERS);
  if (letters * 100 < non_white * BYRON_MIN_LETTER_PERCENT)
    return gibberish(error, BYRON_RULE_NOT_WORDS, 0,
                     "only %zu%% of the verse is letters, the rest digits, "
                     "punctuation or symbols (a poem has at least %d%%)",
                     letters * 100 / non_white, BYRON_MIN_LETTER_PERCENT);
  return 0;
}

/* --- the whole ------------------------------------------------------------ */

int byron__poem_read(byron_poem *poem, const char *text, size_t len,
                     byron_error *error) {
  memset(poem, 0, sizeof *poem);
  if (len > BYRON_MAX_BYTES)
    return gibberish(error, BYRON_RULE_TOO_LONG, 0,
                     "more than %d bytes: longer than any poem",
                     BYRON_MAX_BYTES);
  if (len == 0)
    return gibberish(error, BYRON_RULE_EMPTY, 0, "the poem is empty");
  size_t offset = 0;
  if (len >= 3 && memcmp(text, UTF8_BOM, 3) == 0) offset = 3;
  text += offset;
  len -= offset;

  size_t non_blank = 0;
  int rc = scan_bytes(text, len, offset, &non_blank, error);
  if (rc < 0) return rc;
  if (non_blank == 0)
    return gibberish(error, BYRON_RULE_BLANK, 0,
                     "the poem is only white space");

  poem->text = text;
  poem->lines = malloc(non_blank * sizeof *poem->lines);
  if (!poem->lines) return DF_ENOMEM;
  split_lines(poem, len);
  find_roles(poem);
  rc = apply_line_rules(poem, error);
  if (rc < 0) byron__poem_free(poem);
  return rc;
}

void byron__poem_free(byron_poem *poem) {
  free(poem->lines);
  poem->lines = NULL;
  poem->n_lines = 0;
}
