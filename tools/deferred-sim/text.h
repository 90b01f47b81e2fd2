/* deferred-sim: text as code points.
 *
 * The simulator measures every text in code points and gives each code
 * point one canvas cell (docs/deferred-sim.md: "a code point takes one
 * cell of the drawing"), so text is decoded once, when a line is
 * read, and kept as arrays of uint32_t until the canvas is printed.
 */
#ifndef SIM_TEXT_H
#define SIM_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A VALUE is 1 to 6 code points. */
#define SIM_VALUE_MAX 6

/* Room in a word: a VALUE, or the firings' own "initial" (7). */
#define SIM_WORD_CAP 8

/* A value as typed, stored inline so that pairs need no allocation. */
typedef struct sim_word {
  uint32_t cp[SIM_WORD_CAP];
  size_t len;
} sim_word;

/* Decode `len` bytes of strict UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) into `out`, which has room for `len`
 * code points. Returns the number of code points, or -1 if the bytes are
 * not valid UTF-8. A NUL byte is U+0000, a code point like any other. */
long sim_utf8_decode(const char *bytes, size_t len, uint32_t *out);

/* True if the `len` bytes are strict UTF-8 as above. */
int sim_utf8_valid(const char *bytes, size_t len);

/* The number of code points in `len` bytes of valid UTF-8. */
size_t sim_utf8_count(const char *bytes, size_t len);

/* Write code point `cp` as UTF-8 to `out`. */
void sim_utf8_put(uint32_t cp, FILE *out);

/* Encode `n` code points as UTF-8 into `buf` (size `size`, always
 * terminated, truncated at a code point boundary). Returns the bytes
 * written, without the terminator. */
size_t sim_utf8_encode(const uint32_t *cp, size_t n, char *buf, size_t size);

/* Error messages quote what the user typed, cut to this many bytes. */
#define SIM_QUOTE_MAX 80

/* Write `len` bytes between double quotes to `out`, for an error message:
 * at most SIM_QUOTE_MAX of them, cut on a code point boundary and followed
 * by "..." inside the quotes when there are more (a value of megabytes
 * gives a line a terminal can show). */
void sim_quote(FILE *out, const char *bytes, size_t len);

/* Copy the ASCII string `s` into `out` as code points; returns its length.
 * `out` must have room for strlen(s) code points. */
size_t sim_ascii(const char *s, uint32_t *out);

#endif /* SIM_TEXT_H */
