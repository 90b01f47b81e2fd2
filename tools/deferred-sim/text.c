/* deferred-sim: UTF-8 decoding and encoding (see text.h). */
#include "text.h"

#include <string.h>

/* Length of the sequence a lead byte starts, 0 if it cannot start one. */
static int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0; /* continuation byte, overlong C0/C1, or beyond U+10FFFF */
}

long sim_utf8_decode(const char *bytes, size_t len, uint32_t *out) {
  const unsigned char *s = (const unsigned char *)bytes;
  /* The smallest code point each length may encode: anything below is an
   * overlong form. */
  static const uint32_t min_for_length[5] = {0, 0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  long n = 0;
  while (i < len) {
    int k = sequence_length(s[i]);
    if (k == 0 || (size_t)k > len - i) return -1;
    uint32_t cp = k == 1 ? s[i] : (uint32_t)(s[i] & (0x7F >> k));
    for (int j = 1; j < k; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if (cp < min_for_length[k] || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return -1;
    out[n++] = cp;
    i += (size_t)k;
  }
  return n;
}

int sim_utf8_valid(const char *bytes, size_t len) {
  const unsigned char *s = (const unsigned char *)bytes;
  uint32_t cp[4];
  size_t i = 0;
  while (i < len) {
    /* Decode one sequence at a time so that a huge line needs no buffer. */
    int k = sequence_length(s[i]);
    if (k == 0 || (size_t)k > len - i) return 0;
    if (sim_utf8_decode(bytes + i, (size_t)k, cp) != 1) return 0;
    i += (size_t)k;
  }
  return 1;
}

size_t sim_utf8_count(const char *bytes, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char)bytes[i] & 0xC0) != 0x80) n++;
  return n;
}

/* Encode one code point into `b` (room for 4); returns its length. */
static size_t encode_one(uint32_t cp, char *b) {
  if (cp < 0x80) {
    b[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    b[0] = (char)(0xC0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    b[0] = (char)(0xE0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  b[0] = (char)(0xF0 | (cp >> 18));
  b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  b[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

void sim_utf8_put(uint32_t cp, FILE *out) {
  char b[4];
  fwrite(b, 1, encode_one(cp, b), out);
}

size_t sim_utf8_encode(const uint32_t *cp, size_t n, char *buf, size_t size) {
  size_t used = 0;
  if (size == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    char b[4];
    size_t k = encode_one(cp[i], b);
    if (used + k >= size) break;
    memcpy(buf + used, b, k);
    used += k;
  }
  buf[used] = '\0';
  return used;
}

void sim_quote(FILE *out, const char *bytes, size_t len) {
  size_t n = len;
  if (len > SIM_QUOTE_MAX) {
    /* Back up to the start of a code point: a continuation byte (or a
     * stray one, in an argument that is not UTF-8) is not cut from its
     * lead, and a cut never leaves half a character. */
    n = SIM_QUOTE_MAX;
    while (n > 0 && ((unsigned char)bytes[n] & 0xC0) == 0x80) n--;
  }
  fputc('"', out);
  fwrite(bytes, 1, n, out);
  if (n < len) fputs("...", out);
  fputc('"', out);
}

size_t sim_ascii(const char *s, uint32_t *out) {
  size_t n = 0;
  for (; s[n]; n++) out[n] = (unsigned char)s[n];
  return n;
}
