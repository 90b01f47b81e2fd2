/* The Byronification Engine: takes a poem and returns a new poem like the
 * original "but in the style of Lord Byron" (the Twisted tutorial, part
 * 9), or fails with a GibberishError when the input is not a genuine poem.
 *
 * A library of the poetry tools (byronify, get-poetry --byronify), not
 * part of libdeferred's API; it uses libdeferred only for its error types
 * and for the df_result form of the call. docs/byronify.md is the user's
 * account of everything below; this header is the programmer's.
 *
 * What is a genuine poem. The input is checked against these rules, in
 * this order; the first that fails gives a GibberishError whose message
 * names the rule's finding (byron_rule lists them):
 *
 *   1. at most BYRON_MAX_BYTES bytes                       TOO_LONG
 *   2. not empty                                           EMPTY
 *   3. valid UTF-8 (no overlong forms, surrogates or code
 *      points past U+10FFFF), no NUL byte, and no control
 *      character but tab, CR and LF (C0, DEL and C1); the
 *      first offending byte decides which rule it is       INVALID_UTF8,
 *                                                          NUL, CONTROL
 *   4. not only white space                                BLANK
 *   5. no line longer than BYRON_MAX_LINE_CHARS characters PROSE_LINE
 *   6. no word longer than BYRON_MAX_WORD_LETTERS letters  LONG_WORD
 *   7. at least BYRON_MIN_VERSE_LINES lines of verse       TOO_FEW_LINES
 *   8. at least BYRON_MIN_LETTERS letters in the verse     TOO_FEW_LETTERS
 *   9. at least BYRON_MIN_LETTER_PERCENT % of the verse's
 *      characters other than white space are letters      NOT_WORDS
 *
 * The shape of a poem. Lines end with LF, CR LF or a lone CR; a leading
 * UTF-8 byte order mark is dropped. The first non-blank line is the TITLE
 * when a blank line follows it and something follows that. The last
 * non-blank line is the ATTRIBUTION when a blank line comes before it and
 * it starts with "--", an en or em dash, or "by" followed by one to five
 * capitalised names ("by Ugo Foscolo"). Every other non-blank line is a
 * line of VERSE. "Letters" are ASCII letters and every code point from
 * U+00C0 on except the Latin-1 signs (U+00D7, U+00F7), the punctuation,
 * symbol, arrow, box and dingbat blocks (U+2000-U+2BFF, U+2E00-U+2E7F,
 * U+3000-U+303F), the private use area, variation selectors, the CJK
 * compatibility forms, specials, and emoji (U+1F000-U+1FBFF); the
 * feminine and masculine ordinals and the micro sign count too. A "word"
 * is a run of letters, with an apostrophe (' or U+2019) allowed between
 * two of them.
 *
 * The transformation (deterministic: the same bytes give the same poem).
 *
 *   - The title and the attribution are kept as they are (less trailing
 *     white space), the title followed by one blank line, the attribution
 *     preceded by one.
 *   - The verse is regrouped into ottava rima stanzas of eight lines, a
 *     blank line between stanzas: six lines flush left and a closing
 *     couplet indented by BYRON_COUPLET_INDENT, as Don Juan is printed.
 *     A last stanza of fewer than eight lines still closes with its last
 *     two lines indented (its only line, if it has one). The original's
 *     indentation, trailing white space and stanza breaks go; everything
 *     inside a line (spacing, punctuation) stays.
 *   - If the verse is English (at least one word in ten is a common
 *     English function word: the, and, of, to, ...), its words are made
 *     Byronic. A poem that is not English (Foscolo's Italian "Alla Sera")
 *     keeps its words as they are and gets only the layout; in every poem
 *     a word with a letter outside ASCII passes through unchanged. The
 *     changes, each keeping the word's case pattern (lower, Capitalised,
 *     ALL CAPS) and the punctuation around it:
 *       you     -> thou as a subject (before a verb of the table below,
 *                  after an inverting auxiliary as in "are you", after
 *                  if/when/that/though/as/while/..., or opening a
 *                  sentence), thee otherwise; the verb next to it takes
 *                  the second person: thou art, wert, wast, hast, hadst,
 *                  dost, didst, wilt, shalt, canst, couldst, wouldst,
 *                  shouldst, mayst, mightst, knowest, seest, lovest ...
 *                  ("are you" -> "art thou", "you are" -> "thou art")
 *       your    -> thine before a vowel (and hour, honour, honest, heir),
 *                  thy otherwise; yours -> thine, yourself -> thyself,
 *                  you're -> thou'rt, you'll -> thou'lt, you've ->
 *                  thou'st, you'd -> thou'dst
 *       does -> doth, has -> hath; "it is" -> 'tis, "it was" -> 'twas
 *                  (on one line)
 *       elisions: over -> o'er, never -> ne'er, ever -> e'er, even ->
 *                  e'en, heaven -> heav'n (and heavens, heavenly),
 *                  every -> ev'ry, evening -> ev'ning, whatever ->
 *                  whate'er (whenever, wherever, however, whoever),
 *                  against -> 'gainst, beneath -> 'neath, among ->
 *                  'mongst, taken -> ta'en, given -> giv'n, power ->
 *                  pow'r, flower -> flow'r (and plurals); often -> oft,
 *                  between -> betwixt, perhaps/maybe -> perchance,
 *                  nothing -> naught, anything -> aught
 *       a past tense whose -ed is silent is written -'d: dragged ->
 *                  dragg'd, wandered -> wander'd (five letters or more;
 *                  not after d, t, e or i, as in twisted, freed, dried;
 *                  not -led or -red after another consonant, as in
 *                  tangled, sacred; not a few words whose -ed is sounded
 *                  or no past tense: naked, wicked, rugged, deathbed ...)
 *       personified abstractions are capitalised: love, time, death,
 *                  night, hope, fate, fortune, nature, truth, beauty,
 *                  life, youth, heaven, honour, joy, sorrow, grief,
 *                  glory, fame, liberty, freedom, pleasure, passion,
 *                  memory, virtue, wisdom, folly, despair, peace, war,
 *                  mercy, pity, justice, faith, reason, science, fear;
 *                  except after a pronoun, "to", "not" or an auxiliary,
 *                  where the word is a verb ("he should love thee"), and
 *                  after a possessive, where it is someone's ("my love")
 *     The context a change looks at is the word on either side, and only
 *     across white space (line breaks too): "you, are" is not "you are";
 *     . ! ? ; : open a sentence. Case mixes other than the three above
 *     count as lower case. A possessive keeps its 's: heaven's ->
 *     Heav'n's. Inserted
 *     apostrophes are U+2019 when the verse uses more of those than of
 *     ASCII ones.
 *   - The output ends every line with LF, or with CR LF when the input's
 *     first line break was CR LF; it is valid UTF-8 and contains no NUL.
 *
 * Speed: linear in the input; docs/byronify.md gives the figure per KiB
 * (bench/byron.c measures it). No call keeps any state but the engine's
 * call counter, below.
 *
 * Fault injection. The tutorial's engine "sometimes throws random
 * exceptions". A byron_engine with a fault rate R > 0 makes each call
 * fail with CannotByronifyError, which is not a GibberishError, with
 * probability R: every call with valid arguments draws the next number of
 * a pseudo-random sequence fixed by the seed (splitmix64), whatever the
 * poem, so the calls that fail depend only on the seed and the call's
 * position in the sequence. A poem that breaks a rule above still fails
 * with GibberishError when its draw says "fault". R = 0 never fails, R = 1
 * fails every call. Passing a NULL engine means no fault injection.
 */
#ifndef BYRON_H
#define BYRON_H

#include <stddef.h>
#include <stdint.h>

#include <deferred.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- limits (see the rules above) ----------------------------------------- */

#define BYRON_MAX_BYTES (1024 * 1024) /* rule 1 */
#define BYRON_MAX_LINE_CHARS 200      /* rule 5, code points, trimmed   */
#define BYRON_MAX_WORD_LETTERS 40     /* rule 6                         */
#define BYRON_MIN_VERSE_LINES 2       /* rule 7                         */
#define BYRON_MIN_LETTERS 8           /* rule 8                         */
#define BYRON_MIN_LETTER_PERCENT 50   /* rule 9                         */
#define BYRON_COUPLET_INDENT "    "   /* before each line of a couplet  */

/* --- errors --------------------------------------------------------------- */

/* The error types of the df_result form:
 *
 *   byron_gibberish_error        "GibberishError": not a genuine poem
 *   byron_cannot_byronify_error  "CannotByronifyError": an injected fault
 *
 * Both derive directly from df_error_exception, so neither matches the
 * other in df_failure_check or DF_TRAP. */
extern const df_error_type byron_gibberish_error;
extern const df_error_type byron_cannot_byronify_error;

/* The codes of the int form, besides DF_ENOMEM and DF_EINVAL. */
#define BYRON_EGIBBERISH (-2101) /* not a genuine poem                  */
#define BYRON_EFAULT (-2102)     /* an injected fault                   */

/* Which rule a poem broke (byron_error.rule). */
typedef enum byron_rule {
  BYRON_RULE_NONE = 0,      /* not a GibberishError                     */
  BYRON_RULE_TOO_LONG,      /* more than BYRON_MAX_BYTES bytes          */
  BYRON_RULE_EMPTY,         /* no bytes at all                          */
  BYRON_RULE_INVALID_UTF8,  /* a byte that is not valid UTF-8           */
  BYRON_RULE_NUL,           /* a NUL byte                               */
  BYRON_RULE_CONTROL,       /* a control character but tab, CR, LF      */
  BYRON_RULE_BLANK,         /* only spaces, tabs and line breaks        */
  BYRON_RULE_PROSE_LINE,    /* a line too long to be verse              */
  BYRON_RULE_LONG_WORD,     /* a word too long to be a word             */
  BYRON_RULE_TOO_FEW_LINES, /* fewer than BYRON_MIN_VERSE_LINES          */
  BYRON_RULE_TOO_FEW_LETTERS, /* fewer than BYRON_MIN_LETTERS letters    */
  BYRON_RULE_NOT_WORDS      /* mostly digits, punctuation or symbols    */
} byron_rule;

/* What went wrong, filled by byron_transform on every error.
 *
 *   rule     the broken rule for BYRON_EGIBBERISH, else BYRON_RULE_NONE
 *   line     the input line (from 1) the finding is on, 0 if it is about
 *            the whole poem or not a GibberishError
 *   message  one line of English, no trailing newline, always terminated,
 *            for example "line 3 has 212 characters: that is prose, not
 *            verse (a line of verse has at most 200)" */
typedef struct byron_error {
  byron_rule rule;
  size_t line;
  char message[200];
} byron_error;

/* A short lower-case name of a rule ("prose line", "invalid UTF-8"...);
 * "none" for BYRON_RULE_NONE, "unknown rule" for a value not listed. */
const char *byron_rule_name(byron_rule rule);

/* An English description of a code this header's functions return:
 * "not a genuine poem", "injected fault", and df_strerror() for the rest.
 * Never NULL. */
const char *byron_strerror(int code);

/* --- the engine (fault injection) ----------------------------------------- */

/* The state fault injection needs. A plain value: no allocation, nothing
 * to free, copy it to fork a sequence. Use one engine from one thread at a
 * time (every call with valid arguments advances `calls`). */
typedef struct byron_engine {
  double fault_rate; /* chance that a call fails, 0 to 1 */
  uint64_t seed;     /* fixes the sequence of draws */
  uint64_t calls;    /* draws so far */
} byron_engine;

/* Set up `engine` for `fault_rate` and `seed`, with no call made yet.
 * Returns 0, or DF_EINVAL (leaving `engine` unchanged) if `engine` is NULL
 * or `fault_rate` is not a number from 0 to 1 (NaN, infinite, negative,
 * above 1). A zeroed byron_engine is a valid engine with no faults. */
int byron_engine_init(byron_engine *engine, double fault_rate, uint64_t seed);

/* Parse the text of a --fault-rate option: a decimal number from 0 to 1
 * ("0", "0.25", ".5", "1", "5e-1"), nothing before or after it. Returns 0
 * with the value in *rate, or DF_EINVAL (with *rate unchanged) for
 * anything else: empty text, signs, white space, hexadecimal, inf, nan,
 * trailing characters, a number outside [0, 1], NULL arguments. */
int byron_parse_fault_rate(const char *text, double *rate);

/* Parse the text of a --seed option: a decimal integer from 0 to
 * 18446744073709551615 (UINT64_MAX), digits only. Returns 0 with the value
 * in *seed, or DF_EINVAL (with *seed unchanged) for anything else (empty
 * text, a sign, white space, other characters, too large, NULL). */
int byron_parse_seed(const char *text, uint64_t *seed);

/* --- byronification ------------------------------------------------------- */

/* Byronify `len` bytes at `poem` (borrowed; any bytes, no terminator
 * needed; `poem` may be NULL when `len` is 0).
 *
 * On success returns 0, with *out a new NUL-terminated string the caller
 * owns (free() it) and *out_len its length without the terminator.
 * Otherwise *out is NULL, *out_len 0, and, if `error` is not NULL, it
 * says what went wrong; the return value is
 *
 *   BYRON_EGIBBERISH  the poem broke a rule (error->rule says which)
 *   BYRON_EFAULT      fault injection chose this call
 *   DF_ENOMEM         out of memory (nothing is left allocated)
 *   DF_EINVAL         `out` or `out_len` is NULL, or `poem` is NULL with
 *                     `len` > 0; the engine draws nothing then
 *
 * `engine` may be NULL (no fault injection); otherwise it is updated
 * (one draw). Never aborts, whatever the bytes; time and memory are
 * linear in `len` (at most BYRON_MAX_BYTES of it is ever looked at). */
int byron_transform(byron_engine *engine, const char *poem, size_t len,
                    char **out, size_t *out_len, byron_error *error);

/* The same call as a df_result, for use inside a callback chain:
 *
 *   success   a DF_STRING result owning the new poem (NUL-terminated, no
 *             NUL inside; dropping the result frees it; df_result_take
 *             hands it over to free() yourself)
 *   failure   a df_raise'd failure of byron_gibberish_error (message as
 *             byron_error.message), byron_cannot_byronify_error (injected
 *             fault), df_error_no_memory, or df_error_invalid_argument
 *             (`poem` NULL with `len` > 0)
 *
 * `poem` stays the caller's, so an errback can still keep the original
 * (the tutorial's step 5):
 *
 *     df_result r = byron_byronificate(engine, poem, len);
 *     if (df_result_is_failure(r) &&
 *         !df_failure_check(r.u.failure, &byron_gibberish_error)) {
 *       df_result_drop(r);   // a bug in the engine: keep the original
 *       ...
 *     }
 */
df_result byron_byronificate(byron_engine *engine, const char *poem,
                             size_t len);

#ifdef __cplusplus
}
#endif

#endif /* BYRON_H */
