/* The Byronification Engine's API (byron.h): the two forms of the call,
 * fault injection, the error types and the option parsers.
 *
 * A call goes: check the arguments; draw (fault injection) if there is an
 * engine; read the poem and apply the rules (check.c); fail with the
 * injected fault if the draw said so; write the new poem (stanza.c, which
 * uses words.c). The draw comes before everything that looks at the poem,
 * so that which calls fail depends on the seed and the number of calls
 * alone, never on what the poems were.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byron_internal.h"

DF_ERROR_TYPE(byron_gibberish_error, "GibberishError", &df_error_exception);
DF_ERROR_TYPE(byron_cannot_byronify_error, "CannotByronifyError",
              &df_error_exception);

const char *byron_rule_name(byron_rule rule) {
  switch (rule) {
  case BYRON_RULE_NONE: return "none";
  case BYRON_RULE_TOO_LONG: return "too long";
  case BYRON_RULE_EMPTY: return "empty";
  case BYRON_RULE_INVALID_UTF8: return "invalid UTF-8";
  case BYRON_RULE_NUL: return "NUL byte";
  case BYRON_RULE_CONTROL: return "control character";
  case BYRON_RULE_BLANK: return "blank";
  case BYRON_RULE_PROSE_LINE: return "prose line";
  case BYRON_RULE_LONG_WORD: return "long word";
  case BYRON_RULE_TOO_FEW_LINES: return "too few lines";
  case BYRON_RULE_TOO_FEW_LETTERS: return "too few letters";
  case BYRON_RULE_NOT_WORDS: return "not words";
  }
  return "unknown rule";
}

const char *byron_strerror(int code) {
  switch (code) {
  case BYRON_EGIBBERISH: return "not a genuine poem";
  case BYRON_EFAULT: return "injected fault";
  default: return df_strerror(code);
  }
}

/* --- fault injection ------------------------------------------------------ */

static bool valid_rate(double rate) {
  return rate >= 0.0 && rate <= 1.0; /* false for NaN too */
}

int byron_engine_init(byron_engine *engine, double fault_rate, uint64_t seed) {
  if (!engine || !valid_rate(fault_rate)) return DF_EINVAL;
  engine->fault_rate = fault_rate;
  engine->seed = seed;
  engine->calls = 0;
  return 0;
}

/* splitmix64 (Steele, Lea and Flood): the n-th number of the sequence of
 * seed s is mix(s + n * golden), so a draw needs no state but n. */
static uint64_t splitmix64(uint64_t x) {
  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

/* The next draw: true if this call is to fail. A uniform number in
 * [0, 1) with 53 bits, below the rate: never for 0, always for 1. */
static bool draw_fault(byron_engine *engine) {
  engine->calls++;
  uint64_t x = splitmix64(engine->seed +
                          engine->calls * UINT64_C(0x9E3779B97F4A7C15));
  double u = (double)(x >> 11) * 0x1.0p-53;
  return u < engine->fault_rate;
}

/* --- the call ------------------------------------------------------------- */

int byron__error_set(byron_error *error, int code, byron_rule rule,
                     size_t line, const char *fmt, ...) {
  error->rule = rule;
  error->line = line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error->message, sizeof error->message, fmt, ap);
  va_end(ap);
  return code;
}

/* An error that is not a GibberishError. */
#define fail(error, code, ...) \
  byron__error_set((error), (code), BYRON_RULE_NONE, 0, __VA_ARGS__)

int byron_transform(byron_engine *engine, const char *poem, size_t len,
                    char **out, size_t *out_len, byron_error *error) {
  byron_error ignored;
  if (!error) error = &ignored;
  error->rule = BYRON_RULE_NONE;
  error->line = 0;
  error->message[0] = '\0';
  if (out) *out = NULL;
  if (out_len) *out_len = 0;
  if (!out || !out_len)
    return fail(error, DF_EINVAL, "invalid argument: no place for the poem");
  if (!poem && len > 0)
    return fail(error, DF_EINVAL, "invalid argument: a NULL poem of %zu bytes",
                len);
  if (engine && !valid_rate(engine->fault_rate))
    return fail(error, DF_EINVAL,
                "invalid argument: the fault rate is not from 0 to 1");

  bool fault = engine && draw_fault(engine);
  byron_poem parsed;
  int rc = byron__poem_read(&parsed, poem, len, error);
  if (rc == BYRON_EGIBBERISH) return rc; /* whatever the draw said */
  if (rc < 0) return fail(error, rc, "out of memory");
  if (fault) {
    byron__poem_free(&parsed);
    return fail(error, BYRON_EFAULT,
                "injected fault on call %llu (fault rate %g, seed %llu)",
                (unsigned long long)engine->calls, engine->fault_rate,
                (unsigned long long)engine->seed);
  }

  /* The new poem is about as long as the old: a few bytes more per line. */
  byron_buf text;
  byron__buf_init(&text, len + len / 4 + 64);
  rc = byron__poem_write(&parsed, &text);
  byron__buf_add(&text, "", 1); /* the terminator */
  byron__poem_free(&parsed);
  if (rc < 0 || text.failed) {
    byron__buf_free(&text);
    return fail(error, DF_ENOMEM, "out of memory");
  }
  *out = text.data;
  *out_len = text.len - 1;
  return 0;
}

df_result byron_byronificate(byron_engine *engine, const char *poem,
                             size_t len) {
  char *text;
  size_t text_len;
  byron_error error;
  int rc = byron_transform(engine, poem, len, &text, &text_len, &error);
  switch (rc) {
  case 0: {
    df_result r = df_string_take(text);
    if (r.destructor != 0) return r;
    free(text); /* the destructor table could not grow */
    return df_raise(&df_error_no_memory, "out of memory");
  }
  case BYRON_EGIBBERISH:
    return df_raise(&byron_gibberish_error, "%s", error.message);
  case BYRON_EFAULT:
    return df_raise(&byron_cannot_byronify_error, "%s", error.message);
  case DF_ENOMEM:
    return df_raise(&df_error_no_memory, "%s", error.message);
  default:
    return df_raise(&df_error_invalid_argument, "%s", error.message);
  }
}

/* --- option parsers ------------------------------------------------------- */

int byron_parse_fault_rate(const char *text, double *rate) {
  if (!text || !rate) return DF_EINVAL;
  /* Digits, one point, an exponent: what strtod reads besides these
   * (white space, signs, hexadecimal, inf, nan) is refused. */
  bool digits = false;
  for (const char *p = text; *p; p++) {
    if (*p >= '0' && *p <= '9') digits = true;
    else if (*p != '.' && *p != 'e' && *p != 'E' &&
             !((*p == '-' || *p == '+') && p > text && (p[-1] | 0x20) == 'e'))
      return DF_EINVAL;
  }
  if (!digits || !((text[0] >= '0' && text[0] <= '9') || text[0] == '.'))
    return DF_EINVAL;
  char *end;
  double value = strtod(text, &end);
  if (*end != '\0' || !isfinite(value) || !valid_rate(value)) return DF_EINVAL;
  *rate = value;
  return 0;
}

int byron_parse_seed(const char *text, uint64_t *seed) {
  if (!text || !seed || !*text) return DF_EINVAL;
  uint64_t value = 0;
  for (const char *p = text; *p; p++) {
    if (*p < '0' || *p > '9') return DF_EINVAL;
    unsigned digit = (unsigned)(*p - '0');
    if (value > (UINT64_MAX - digit) / 10) return DF_EINVAL; /* too large */
    value = value * 10 + digit;
  }
  *seed = value;
  return 0;
}
