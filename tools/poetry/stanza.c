/* Writing the new poem: the title, the verse in ottava rima stanzas, the
 * attribution (byron.h, "The transformation").
 *
 *   Title                      <- the title line, as it was
 *                              <- one blank line
 *   line 1                     \
 *   ...                         > six lines flush left
 *   line 6                     /
 *       line 7                 \  the closing couplet, indented by
 *       line 8                 /  BYRON_COUPLET_INDENT
 *                              <- a blank line between stanzas
 *   line 9 ...                 <- a last, shorter stanza still ends with
 *       ...                       its last two lines indented
 *
 *       -- Attribution         <- after one blank line, as it was
 *
 * Every line ends with the poem's line break (LF, or CR LF if the input's
 * first break was CR LF).
 */
#include "byron_internal.h"

static void write_line_as_is(const byron_poem *poem, const byron_line *l,
                             byron_buf *out) {
  byron__buf_add(out, poem->text + l->start - l->indent, l->indent + l->len);
}

int byron__poem_write(const byron_poem *poem, byron_buf *out) {
  const char *eol = poem->crlf ? "\r\n" : "\n";
  size_t eol_len = poem->crlf ? 2 : 1;
  byron_words words;
  if (byron__words_decide(&words, poem) < 0) return DF_ENOMEM;

  if (poem->has_title) {
    write_line_as_is(poem, &poem->lines[0], out);
    byron__buf_add(out, eol, eol_len);
    byron__buf_add(out, eol, eol_len);
  }
  size_t verse = poem->end_verse - poem->first_verse;
  for (size_t k = 0; k < verse; k++) {
    size_t place = k % 8, stanza_start = k - place;
    size_t stanza_len = verse - stanza_start < 8 ? verse - stanza_start : 8;
    if (place == 0 && k > 0) byron__buf_add(out, eol, eol_len);
    if (place + 2 >= stanza_len) /* one of the last two: the couplet */
      byron__buf_add(out, BYRON_COUPLET_INDENT,
                     sizeof BYRON_COUPLET_INDENT - 1);
    byron__words_write_line(&words, poem, poem->first_verse + k, out);
    byron__buf_add(out, eol, eol_len);
  }
  if (poem->has_attribution) {
    byron__buf_add(out, eol, eol_len);
    write_line_as_is(poem, &poem->lines[poem->n_lines - 1], out);
    byron__buf_add(out, eol, eol_len);
  }
  byron__words_free(&words);
  return out->failed ? DF_ENOMEM : 0;
}
