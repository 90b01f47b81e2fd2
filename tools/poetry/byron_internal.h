/* The Byronification Engine's pieces and what they share (private to
 * tools/poetry; the API is byron.h).
 *
 *   text.c     what a letter is beyond ASCII, the output buffer's growth
 *              (UTF-8 decoding, the word walker and appends that fit are
 *              inline, below)
 *   check.c    reads the poem into lines, finds its title, verse and
 *              attribution, and applies the gibberish rules
 *   words.c    the lexicon and the word transforms of the verse
 *   stanza.c   writes the new poem: title, ottava rima stanzas,
 *              attribution
 *   byron.c    the API: fault injection, error reports, the two forms
 *
 *   poem bytes --check.c--> byron_poem (lines, roles) --words.c-->
 *   byron_words (a decision per word) --stanza.c--> new poem bytes
 */
#ifndef BYRON_INTERNAL_H
#define BYRON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "byron.h"

/* --- text.c --------------------------------------------------------------- */

/* The code point at s[*i] of text already checked to be valid UTF-8
 * (check.c does that first); advances *i past it. Inline, with ASCII
 * first: it runs for every character, twice. */
static inline uint32_t byron__utf8_next(const char *s, size_t *i) {
  const unsigned char *p = (const unsigned char *)s + *i;
  if (p[0] < 0x80) {
    *i += 1;
    return p[0];
  }
  if (p[0] < 0xE0) {
    *i += 2;
    return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (p[0] < 0xF0) {
    *i += 3;
    return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) |
           (p[2] & 0x3F);
  }
  *i += 4;
  return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
         ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

static inline bool byron__is_ascii_letter(unsigned char c) {
  return (unsigned)((c | 0x20) - 'a') < 26;
}

bool byron__is_letter_beyond_ascii(uint32_t cp);

static inline bool byron__is_letter(uint32_t cp) {
  return cp < 0x80 ? byron__is_ascii_letter((unsigned char)cp)
                   : byron__is_letter_beyond_ascii(cp);
}

/* Is s[i] the start of an apostrophe (' or U+2019)? Sets *size to its
 * length in bytes. `end` bounds the text. */
static inline bool byron__is_apostrophe(const char *s, size_t i, size_t end,
                                        size_t *size) {
  if (s[i] == '\'') {
    *size = 1;
    return true;
  }
  if (end - i >= 3 && memcmp(s + i, "\xE2\x80\x99", 3) == 0) { /* U+2019 */
    *size = 3;
    return true;
  }
  return false;
}

/* A piece of a line: a word (a run of letters with single apostrophes
 * between letters), or one code point that is not a letter. */
typedef struct byron_piece {
  size_t start, end; /* bytes */
  bool word;
  uint32_t cp;       /* not a word: the code point */
  size_t letters;    /* a word: its letters ... */
  size_t straight, curly; /* ... its apostrophes, ' and U+2019 ... */
  bool ascii;        /* ... and whether every letter is ASCII */
} byron_piece;

/* The piece at s[*i] of valid UTF-8 ending at `end`, advancing *i past
 * it; false at the end:
 *
 *     for (size_t i = start; byron__next_piece(s, &i, end, &piece);) ...
 *
 * Inline, ASCII letters first: the rules and the transforms walk every
 * line with it. (Inlining it and byron__buf_add took a fifth off the
 * engine's instructions: 48.8 to 38.8 million for 290 KiB of Donne.) */
static inline bool byron__next_piece(const char *s, size_t *i, size_t end,
                       byron_piece *p) {
  if (*i >= end) return false;
  size_t at = *i, next = at;
  p->start = at;
  p->cp = byron__utf8_next(s, &next);
  p->word = byron__is_letter(p->cp);
  if (!p->word) {
    *i = p->end = next;
    p->letters = p->straight = p->curly = 0;
    p->ascii = true;
    return true;
  }
  size_t letters = 0, straight = 0, curly = 0;
  bool ascii = true;
  while (at < end) {
    unsigned char c = (unsigned char)s[at];
    if (byron__is_ascii_letter(c)) { /* the common case, first */
      letters++;
      at++;
      continue;
    }
    next = at;
    uint32_t cp = c < 0x80 ? c : byron__utf8_next(s, &next);
    if (cp >= 0x80 && byron__is_letter_beyond_ascii(cp)) {
      letters++;
      ascii = false;
      at = next;
      continue;
    }
    /* An apostrophe joins two letters ("swell'd", "l’immago"). */
    size_t size;
    if (!byron__is_apostrophe(s, at, end, &size) || at + size >= end) break;
    size_t after = at + size;
    if (!byron__is_letter(byron__utf8_next(s, &after))) break;
    if (size == 1) straight++;
    else curly++;
    at += size;
  }
  p->end = *i = at;
  p->letters = letters;
  p->straight = straight;
  p->curly = curly;
  p->ascii = ascii;
  return true;
}

/* A growing output string. Appending after a failed allocation does
 * nothing, and `failed` stays set: the caller checks once at the end. */
typedef struct byron_buf {
  char *data;
  size_t len, cap;
  bool failed;
} byron_buf;

void byron__buf_init(byron_buf *b, size_t capacity);
void byron__buf_add_growing(byron_buf *b, const char *bytes, size_t n);
void byron__buf_free(byron_buf *b);

/* Append n bytes: inline while they fit, which is nearly always (the
 * buffer starts at the size the poem will about have). */
static inline void byron__buf_add(byron_buf *b, const char *bytes, size_t n) {
  if (!b->failed && b->cap - b->len >= n) {
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
  } else {
    byron__buf_add_growing(b, bytes, n);
  }
}

/* --- byron.c ------------------------------------------------------------- */

/* Fill in `error` (rule, line, a printf-formatted message, cut to fit)
 * and return `code`. */
int byron__error_set(byron_error *error, int code, byron_rule rule,
                     size_t line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* --- check.c -------------------------------------------------------------- */

/* A non-blank line of the input. [start, start + len) is its text
 * without leading and trailing spaces and tabs; `indent` bytes of
 * white space come before it. */
typedef struct byron_line {
  size_t start, len, indent;
  size_t number; /* in the input, from 1 */
} byron_line;

/* A poem that passed the rules: its non-blank lines, and which are the
 * title and the attribution (the rest, lines[first_verse] up to
 * lines[end_verse], are verse). */
typedef struct byron_poem {
  const char *text; /* the input, borrowed, after any byte order mark */
  byron_line *lines;
  size_t n_lines;
  bool has_title, has_attribution;
  size_t first_verse, end_verse;
  bool crlf; /* the first line break was CR LF */
} byron_poem;

/* Read `len` bytes at `text` (borrowed; may be NULL if len is 0) into
 * `poem` and apply the gibberish rules. Returns 0 (free the poem with
 * byron__poem_free), BYRON_EGIBBERISH with `error` filled in, or
 * DF_ENOMEM; `poem` owns nothing on an error. */
int byron__poem_read(byron_poem *poem, const char *text, size_t len,
                     byron_error *error);
void byron__poem_free(byron_poem *poem);

/* --- words.c -------------------------------------------------------------- */

/* A word of the verse and what becomes of it. */
typedef struct byron_token {
  const char *replacement; /* lower-case, ASCII apostrophes; NULL: none */
  uint32_t start;          /* byte offset in poem->text */
  uint32_t line;           /* index in poem->lines */
  uint16_t len;            /* bytes (a word has at most 40 letters) */
  uint16_t stem;           /* bytes the replacement stands for: len, or
                              len - 2 or - 4 for a possessive 's */
  uint8_t flags;           /* BYRON__TOKEN_* */
  uint8_t spelling;        /* the case pattern of the stem (words.c) */
  uint8_t entry;           /* its lexicon entry + 1, 0 for none (words.c) */
} byron_token;

#define BYRON__TOKEN_ASCII 0x01    /* every letter is ASCII */
#define BYRON__TOKEN_ADJACENT 0x02 /* only white space since the previous
                                      word (line breaks included) */
#define BYRON__TOKEN_SENTENCE 0x04 /* first word, or . ! ? ; : since the
                                      previous word */
#define BYRON__TOKEN_SAME_LINE 0x08 /* on the previous word's line */
#define BYRON__TOKEN_DELETED 0x10  /* merged into the previous word ("it is"
                                      -> 'tis): written as nothing, with
                                      the space before it */
#define BYRON__TOKEN_CAPITAL 0x20  /* write the first letter in upper case */

/* The decisions for a poem's verse. */
typedef struct byron_words {
  byron_token *tokens;
  size_t n_tokens;
  size_t next; /* the first token not yet written (byron__words_write_line) */
  bool english;
  bool curly; /* inserted apostrophes are U+2019 */
} byron_words;

/* Find the verse's words and decide what each becomes. Returns 0 or
 * DF_ENOMEM (with `words` owning nothing). */
int byron__words_decide(byron_words *words, const byron_poem *poem);

/* Append verse line `line` (an index in poem->lines), transformed, to
 * `out`. Lines must be written in order, each once. */
void byron__words_write_line(byron_words *words, const byron_poem *poem,
                             size_t line, byron_buf *out);
void byron__words_free(byron_words *words);

/* The lexicon's keys are sorted and unique, and so is the list of
 * sounded -ed words (which silent_ed() searches by halves): true if so.
 * For the tests. */
bool byron__lexicon_is_sorted(void);
bool byron__sounded_ed_is_sorted(void); /* the same for the -ed list */

/* --- stanza.c ------------------------------------------------------------- */

/* Write the new poem into `out` (initialised by the caller). Returns 0
 * or DF_ENOMEM. */
int byron__poem_write(const byron_poem *poem, byron_buf *out);

#endif /* BYRON_INTERNAL_H */
