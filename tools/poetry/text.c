/* Text primitives of the Byronification Engine that are not inline in
 * byron_internal.h: which code points beyond ASCII are letters, and the
 * output buffer's growth.
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

bool byron__is_letter_beyond_ascii(uint32_t cp) {
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

void byron__buf_init(byron_buf *b, size_t capacity) {
  b->len = 0;
  b->cap = capacity ? capacity : 64;
  b->data = malloc(b->cap);
  b->failed = b->data == NULL;
  if (b->failed) b->cap = 0;
}

void byron__buf_add_growing(byron_buf *b, const char *bytes, size_t n) {
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
