/* libFuzzer target for the Byronification Engine (tools/poetry).
 *
 * Each input is a whole poem. Besides the sanitizers, it checks what
 * byron.h promises:
 *
 *   - a failure is a GibberishError (never out of memory, never a bad
 *     argument) with a rule, a one-line message, and a line number within
 *     the input;
 *   - a new poem is NUL-free, valid UTF-8 with no control characters but
 *     its line breaks and tabs, ends with a line break, uses CR LF for
 *     every break exactly when the input's first break was CR LF, has as
 *     many non-blank lines as the input (nothing lost, nothing invented),
 *     and carries the input's non-ASCII characters unchanged (the same
 *     code points, in the same order, but for inserted curly
 *     apostrophes);
 *   - the call is deterministic: a second call, and the df_result form,
 *     give the same bytes;
 *   - with a fault rate of 1 the call fails, with GibberishError exactly
 *     when the plain call did, and CannotByronifyError otherwise.
 *
 * Build and run: fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byron.h"
#include "fuzz_check.h"

#define CURLY_APOSTROPHE 0x2019

/* The code point at s[*i] of valid UTF-8 (checked by the caller). */
static uint32_t decode(const unsigned char *s, size_t *i) {
  uint32_t c = s[*i];
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
  for (size_t k = 1; k < n; k++) cp = (cp << 6) | (s[*i + k] & 0x3F);
  *i += n;
  return cp;
}

/* Strict UTF-8, as the engine's rule 3 reads it. */
static bool valid_utf8(const unsigned char *s, size_t len) {
  for (size_t i = 0; i < len;) {
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3
               : c < 0xF5 ? 4 : 0;
    if (n == 0 || i + n > len) return false;
    for (size_t k = 1; k < n; k++)
      if ((s[i + k] & 0xC0) != 0x80) return false;
    size_t j = i;
    uint32_t cp = decode(s, &j);
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += n;
  }
  return true;
}

/* The non-blank lines (not only spaces and tabs) of text whose breaks
 * are LF, CR LF or CR. */
static size_t non_blank_lines(const unsigned char *s, size_t len) {
  size_t count = 0;
  bool text = false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\n' || s[i] == '\r') {
      count += text;
      text = false;
      if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') i++;
    } else if (s[i] != ' ' && s[i] != '\t') {
      text = true;
    }
  }
  return count + text;
}

/* The non-ASCII code points of valid UTF-8 but curly apostrophes, into
 * `out` (room for len); returns how many. */
static size_t non_ascii(const unsigned char *s, size_t len, uint32_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp = decode(s, &i);
    if (cp >= 0x80 && cp != CURLY_APOSTROPHE) out[n++] = cp;
  }
  return n;
}

static void check_poem(const unsigned char *in, size_t in_len,
                       const unsigned char *out, size_t out_len) {
  CHECK(out_len > 0 && memchr(out, 0, out_len) == NULL);
  CHECK(valid_utf8(out, out_len));
  CHECK(out[out_len - 1] == '\n');
  /* the engine drops a leading byte order mark */
  if (in_len >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0) {
    in += 3;
    in_len -= 3;
  }
  bool crlf = false;
  for (size_t i = 0; i < in_len; i++)
    if (in[i] == '\n' || in[i] == '\r') {
      crlf = in[i] == '\r' && i + 1 < in_len && in[i + 1] == '\n';
      break;
    }
  for (size_t i = 0; i < out_len; i++) {
    unsigned char c = out[i];
    CHECK(c >= 0x20 || c == '\t' || c == '\n' || c == '\r');
    CHECK(c != 0x7F);
    if (c == '\r') CHECK(crlf && i + 1 < out_len && out[i + 1] == '\n');
    if (c == '\n') CHECK(crlf == (i > 0 && out[i - 1] == '\r'));
  }
  CHECK(non_blank_lines(out, out_len) == non_blank_lines(in, in_len));
  uint32_t *a = malloc((in_len + 1) * sizeof *a);
  uint32_t *b = malloc((out_len + 1) * sizeof *b);
  CHECK(a && b);
  size_t na = non_ascii(in, in_len, a), nb = non_ascii(out, out_len, b);
  CHECK(na == nb && memcmp(a, b, na * sizeof *a) == 0);
  free(a);
  free(b);
}

static void check_gibberish(const byron_error *error, const uint8_t *data,
                            size_t size) {
  CHECK(error->rule > BYRON_RULE_NONE && error->rule <= BYRON_RULE_NOT_WORDS);
  size_t n = strlen(error->message);
  CHECK(n > 0 && memchr(error->message, '\n', n) == NULL);
  size_t breaks = 0;
  for (size_t i = 0; i < size; i++)
    if (data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n')))
      breaks++;
  CHECK(error->line <= breaks + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *poem = (const char *)data;
  char *out = NULL;
  size_t out_len = 0;
  byron_error error;
  int rc = byron_transform(NULL, poem, size, &out, &out_len, &error);
  CHECK(rc == 0 || rc == BYRON_EGIBBERISH);

  byron_engine always;
  CHECK(byron_engine_init(&always, 1.0, size) == 0);
  char *faulty = NULL;
  size_t faulty_len = 0;
  byron_error fault;
  int frc = byron_transform(&always, poem, size, &faulty, &faulty_len, &fault);
  CHECK(frc == (rc == 0 ? BYRON_EFAULT : BYRON_EGIBBERISH));
  CHECK(faulty == NULL && faulty_len == 0 && always.calls == 1);

  df_result r = byron_byronificate(NULL, poem, size);
  if (rc == BYRON_EGIBBERISH) {
    CHECK(out == NULL && out_len == 0);
    check_gibberish(&error, data, size);
    CHECK(fault.rule == error.rule && strcmp(fault.message, error.message) == 0);
    CHECK(df_result_is_failure(r));
    CHECK(df_failure_type(r.u.failure) == &byron_gibberish_error);
    CHECK(strcmp(df_failure_message(r.u.failure), error.message) == 0);
  } else {
    check_poem(data, size, (const unsigned char *)out, out_len);
    char *again;
    size_t again_len;
    CHECK(byron_transform(NULL, poem, size, &again, &again_len, NULL) == 0);
    CHECK(again_len == out_len && memcmp(again, out, out_len) == 0);
    free(again);
    CHECK(r.kind == DF_STRING && strcmp(r.u.s, out) == 0);
  }
  df_result_drop(r);
  free(out);
  return 0;
}
