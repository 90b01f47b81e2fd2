/* Command-line helpers of the poetry tools (options.h). */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byron.h"

const char *options_value(int argc, char **argv, int *i, const char *name,
                          bool *missing) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return a;
  }
  return argv[++*i];
}

/* Digits, at most one '.', an optional exponent: what strtod would also
 * read, less everything it reads that a user did not mean as seconds
 * (signs, spaces, inf, nan, hexadecimal). */
static bool looks_decimal(const char *s) {
  bool digits = false, dot = false;
  for (; *s && *s != 'e' && *s != 'E'; s++) {
    if (*s >= '0' && *s <= '9') digits = true;
    else if (*s == '.' && !dot) dot = true;
    else return false;
  }
  if (!digits) return false;
  if (*s == '\0') return true;
  s++; /* the exponent */
  if (*s == '+' || *s == '-') s++;
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

int options_parse_seconds(const char *text, double max, double *out) {
  if (!text || !looks_decimal(text)) return -1;
  errno = 0;
  char *end;
  double v = strtod(text, &end);
  if (*end || (errno && v != 0) || !isfinite(v) || v < 0 || v > max) return -1;
  *out = v;
  return 0;
}

int options_parse_integer(const char *text, long min, long max, long *out) {
  if (!text || !*text) return -1;
  for (const char *s = text; *s; s++)
    if (*s < '0' || *s > '9') return -1;
  errno = 0;
  char *end;
  long v = strtol(text, &end, 10);
  if (*end || errno || v < min || v > max) return -1;
  *out = v;
  return 0;
}

int options_usage_error(const char *tool, const char *usage, const char *fmt,
                        ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", tool);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n%s (try '%s --help')\n", usage, tool);
  return OPTIONS_EXIT_USAGE;
}

int options_help_or_version(const char *tool, const char *usage,
                            const char *help, const char *arg) {
  if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
    printf("%s\n%s", usage, help);
  else if (strcmp(arg, "--version") == 0)
    printf("%s (libdeferred) %s\n", tool, DF_VERSION_STRING);
  else
    return -1;
  errno = 0;
  if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
  fprintf(stderr, "%s: cannot write to standard output: %s\n", tool,
          errno ? strerror(errno) : "write error");
  return 1;
}

int options_faults_check(const char *tool, const char *usage,
                         const options_faults *f, const char *engine_option,
                         bool engine_on) {
  if (engine_option && !engine_on && (f->rate_given || f->seed_given))
    return options_usage_error(tool, usage, "%s needs %s",
                               f->rate_given ? "--fault-rate" : "--seed",
                               engine_option);
  if (f->seed_given && !f->rate_given)
    return options_usage_error(tool, usage, "--seed needs --fault-rate (with "
                               "the default rate, 0, no call fails)");
  return -1;
}

int options_fault_injection(const char *tool, const char *usage, int argc,
                            char **argv, int *i, options_faults *f) {
  const char *a = argv[*i], *v;
  bool missing = false;
  if ((v = options_value(argc, argv, i, "--fault-rate", &missing))) {
    if (missing) return options_usage_error(tool, usage, "%s needs a value", a);
    if (byron_parse_fault_rate(v, &f->rate) < 0)
      return options_usage_error(tool, usage, "bad --fault-rate \"%s\": a "
                                 "number from 0 to 1 is needed", v);
    f->rate_given = true;
    return 0;
  }
  if ((v = options_value(argc, argv, i, "--seed", &missing))) {
    if (missing) return options_usage_error(tool, usage, "%s needs a value", a);
    if (byron_parse_seed(v, &f->seed) < 0)
      return options_usage_error(tool, usage, "bad --seed \"%s\": an integer "
                                 "from 0 to 18446744073709551615 is needed", v);
    f->seed_given = true;
    return 0;
  }
  return -1;
}
