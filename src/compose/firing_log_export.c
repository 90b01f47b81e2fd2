/* What the firing log's exporters share (internal.h): an output that
 * keeps its first error, the escaping of text for one line of the text
 * form, JSON strings, DOT strings and Graphviz HTML-like labels, and the
 * _file forms.
 *
 * Escaping walks the text one character at a time. Well-formed UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF) is
 * copied as it is, ASCII goes through the format's own table, and any
 * other byte, each on its own, becomes U+FFFD: the exports are always
 * valid UTF-8, whatever bytes a program's strings held. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* --- output ---------------------------------------------------------------- */

static void fail(df__out *o) {
  if (o->error == 0) o->error = errno > 0 ? -errno : -EIO;
}

void df__out_printf(df__out *o, const char *fmt, ...) {
  if (o->error) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vfprintf(o->file, fmt, ap);
  va_end(ap);
  if (n < 0) fail(o);
}

void df__out_puts(df__out *o, const char *s) {
  if (o->error) return;
  if (fputs(s, o->file) == EOF) fail(o);
}

static void out_bytes(df__out *o, const char *s, size_t n) {
  if (o->error || n == 0) return;
  if (fwrite(s, 1, n, o->file) != n) fail(o);
}

int df__out_finish(df__out *o) {
  if (!o->error && (fflush(o->file) != 0 || ferror(o->file))) fail(o);
  if (o->error) errno = -o->error;
  return o->error;
}

/* --- UTF-8 ------------------------------------------------------------------ */

static bool in(unsigned char c, unsigned char lo, unsigned char hi) {
  return c >= lo && c <= hi;
}

/* The length of the well-formed UTF-8 sequence of two to four bytes at
 * `s` (Unicode's table 3-7), or 0. A NUL ends any sequence. */
static size_t multibyte_length(const unsigned char *s) {
  unsigned char c = s[0];
  if (in(c, 0xC2, 0xDF)) return in(s[1], 0x80, 0xBF) ? 2 : 0;
  unsigned char lo = 0x80, hi = 0xBF;
  size_t n;
  if (in(c, 0xE0, 0xEF)) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F; /* no surrogates */
  } else if (in(c, 0xF0, 0xF4)) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F; /* nothing past U+10FFFF */
  } else {
    return 0;
  }
  if (!in(s[1], lo, hi)) return 0;
  for (size_t i = 2; i < n; i++)
    if (!in(s[i], 0x80, 0xBF)) return 0;
  return n;
}

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD in UTF-8 */

/* How a format writes what needs writing otherwise: each of `special`'s
 * ASCII characters as the string of `replacements` at the same place,
 * any other control character (below 0x20, and 0x7F) through `control`
 * (a printf format of one unsigned, or NULL: as `invalid`), and any byte
 * that is not part of well-formed UTF-8 as `invalid`. */
typedef struct escaping {
  const char *special;
  const char *const *replacements;
  const char *control;
  const char *invalid;
} escaping;

/* The text form keeps its one line per event: control characters are
 * written as C writes them, the rest as it is. */
static const escaping line_escaping = {
    "\n\r\t", (const char *const[]){"\\n", "\\r", "\\t"}, "\\x%02x",
    REPLACEMENT};

static const escaping json_escaping = {
    "\"\\\n\r\t\b\f",
    (const char *const[]){"\\\"", "\\\\", "\\n", "\\r", "\\t", "\\b", "\\f"},
    "\\u%04x", "\\ufffd"};

/* Inside a DOT quoted string Graphviz reads backslash escapes (\n, \l,
 * \N ...), so a backslash is doubled; a new line becomes \n (a centred
 * line break); other control characters have no place in a label. */
static const escaping dot_escaping = {
    "\"\\\n\t", (const char *const[]){"\\\"", "\\\\", "\\n", " "}, NULL,
    REPLACEMENT};

static const escaping html_escaping = {
    "&<>\"'\n\t",
    (const char *const[]){"&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "<br/>",
                          " "},
    NULL, REPLACEMENT};

/* Write `text` escaped as `how` says; well-formed multibyte characters
 * as they are. */
static void escape(df__out *o, const char *text, const escaping *how) {
  if (!text) return;
  const unsigned char *s = (const unsigned char *)text;
  while (*s && !o->error) {
    /* the plain run before the next byte that needs a look */
    const unsigned char *run = s;
    while (*s >= 0x20 && *s < 0x7F && !strchr(how->special, *s)) s++;
    out_bytes(o, (const char *)run, (size_t)(s - run));
    if (!*s) break;
    const char *special = *s < 0x80 ? strchr(how->special, *s) : NULL;
    size_t n;
    if (special) {
      df__out_puts(o, how->replacements[special - how->special]);
      s++;
    } else if (*s < 0x80) { /* a control character */
      if (how->control)
        df__out_printf(o, how->control, (unsigned)*s);
      else
        df__out_puts(o, how->invalid);
      s++;
    } else if ((n = multibyte_length(s)) != 0) {
      out_bytes(o, (const char *)s, n);
      s += n;
    } else {
      df__out_puts(o, how->invalid);
      s++;
    }
  }
}

void df__out_line_text(df__out *o, const char *text) {
  escape(o, text, &line_escaping);
}

void df__out_json_text(df__out *o, const char *text) {
  escape(o, text, &json_escaping);
}

void df__out_dot_text(df__out *o, const char *text) {
  escape(o, text, &dot_escaping);
}

void df__out_html_text(df__out *o, const char *text) {
  escape(o, text, &html_escaping);
}

/* --- files, names ------------------------------------------------------------ */

int df__write_to_path(const df_firing_log *log, const char *path,
                      int (*write)(const df_firing_log *, FILE *)) {
  if (!log || !path) return DF_EINVAL;
  FILE *f = fopen(path, "w");
  if (!f) return errno > 0 ? -errno : -EIO;
  int rc = write(log, f);
  if (fclose(f) != 0 && rc == 0) rc = errno > 0 ? -errno : -EIO;
  if (rc) errno = -rc;
  return rc;
}

const char *df__kind_name(df_kind kind) {
  switch (kind) {
  case DF_NONE: return "none";
  case DF_INT: return "int";
  case DF_DOUBLE: return "double";
  case DF_STRING: return "string";
  case DF_POINTER: return "pointer";
  case DF_FAILURE: return "failure";
  case DF_DEFERRED: return "deferred";
  }
  return "?";
}

const char *df__site_text(const char *file, int line, const char *func,
                          char *buf, size_t size) {
  if (!file)
    snprintf(buf, size, "?");
  else if (func)
    snprintf(buf, size, "%s:%d in %s", file, line, func);
  else
    snprintf(buf, size, "%s:%d", file, line);
  return buf;
}
