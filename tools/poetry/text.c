/* Text primitives of the Byronification Engine: decoding UTF-8 that
 * check.c has already validated, telling letters from the rest, finding
 * the end of a word, and the output buffer.
 *
 * "Letter" is an approximation of Unicode's letter categories good enough
 * for telling verse from gibberish without tables: ASCII letters, and
 * every code point from U+00C0 on except the blocks that hold punctuation,
 * symbols and pictographs (byron.h lists them). Combining marks count as
 * letters, so a decomposed "é" is a word's two letters, not a break.
 */
#include <stdlib.h>
#include <string.h>

#include "byron_internal.h"

uint32_t byron__utf8_next(const char *s, size_t *i) {
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

bool byron__is_letter(uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  if (cp < 0xC0) return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
  if (cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) return false; /* punctuation .. symbols */
  if (cp >= 0x2E00 && cp <= 0x2E7F) return false; /* supplemental punct. */
  if (cp >= 0x3000 && cp <= 0x303F) return false; /* CJK punctuation */
  if (cp >= 0xE000 && cp <= 0xF8FF) return false; /* private use */
  if (cp >= 0xFE00 && cp <= 0xFE0F) return false; /* variation selectors */
  if (cp >= 0xFE30 && cp <= 0xFE4F) return false; /* CJK compatibility */
  if (cp >= 0xFFF0 && cp <= 0xFFFF) return false; /* specials */
  if (cp >= 0x1F000 && cp <= 0x1FBFF) return false; /* emoji, pictographs */
  if (cp >= 0xE0000) return false; /* tags, private use planes */
  return true;
}

bool byron__is_apostrophe(const char *s, size_t i, size_t end, size_t *size) {
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

bool byron__next_piece(const char *s, size_t *i, size_t end,
                       byron_piece *piece) {
  if (*i >= end) return false;
  byron_piece p = {*i, *i, false, 0, 0, 0, 0, true};
  size_t next = p.end;
  p.cp = byron__utf8_next(s, &next);
  if (!byron__is_letter(p.cp)) {
    p.end = next;
  } else {
    p.word = true;
    while (p.end < end) {
      next = p.end;
      uint32_t cp = byron__utf8_next(s, &next);
      if (byron__is_letter(cp)) {
        p.letters++;
        if (cp >= 0x80) p.ascii = false;
        p.end = next;
        continue;
      }
      /* An apostrophe joins two letters ("swell'd", "l’immago"). */
      size_t size;
      if (!byron__is_apostrophe(s, p.end, end, &size) || p.end + size >= end)
        break;
      size_t after = p.end + size;
      if (!byron__is_letter(byron__utf8_next(s, &after))) break;
      if (size == 1) p.straight++;
      else p.curly++;
      p.end += size;
    }
  }
  *piece = p;
  *i = p.end;
  return true;
}

void byron__buf_init(byron_buf *b, size_t capacity) {
  b->len = 0;
  b->cap = capacity ? capacity : 64;
  b->data = malloc(b->cap);
  b->failed = b->data == NULL;
  if (b->failed) b->cap = 0;
}

void byron__buf_add(byron_buf *b, const char *bytes, size_t n) {
  if (b->failed || n == 0) return;
  if (b->cap - b->len < n) {
    size_t cap = b->cap;
    while (cap - b->len < n) cap = cap < 64 ? 64 : cap * 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
      b->failed = true;
      return;
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, bytes, n);
  b->len += n;
}

void byron__buf_free(byron_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
