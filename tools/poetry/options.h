/* Command-line helpers shared by the poetry tools (byronify, poetry-server,
 * get-poetry): the same option syntax, the same number rules and the
 * same form of usage error in all three.
 *
 *   options_help_or_version  -h, --help and --version, alike in every tool
 *   options_fault_injection  the engine's --fault-rate R and --seed S
 *                          (byronify, get-poetry)
 *   options_value          "--name VALUE" or "--name=VALUE"
 *   options_parse_seconds  a duration: a decimal number of seconds
 *   options_parse_integer  a count or a port: decimal digits in a range
 *   options_usage_error    "TOOL: MESSAGE" and "USAGE (try 'TOOL --help')"
 *                          on stderr; returns OPTIONS_EXIT_USAGE
 */
#ifndef POETRY_OPTIONS_H
#define POETRY_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The exit status of a usage error, the same in every tool. */
#define OPTIONS_EXIT_USAGE 2

/* If `arg` is -h or --help, print `usage`, a newline and `help` on stdout;
 * if it is --version, print "TOOL (libdeferred) VERSION". Returns 0 (the
 * exit status) when it was one of them and was written, 1 after a message
 * on stderr if standard output could not take it (a full disk, a closed
 * pipe: never a success that printed nothing), -1 otherwise. */
int options_help_or_version(const char *tool, const char *usage,
                            const char *help, const char *arg);

/* The Byronification Engine's fault injection on a command line. */
typedef struct options_faults {
  double rate;     /* --fault-rate: 0 to 1 (byron_parse_fault_rate) */
  uint64_t seed;   /* --seed (byron_parse_seed)                     */
  bool rate_given;
  bool seed_given;
} options_faults;

/* If argv[*i] is --fault-rate or --seed (either form of options_value),
 * parse its value into `f` and return 0, or print a usage error and
 * return OPTIONS_EXIT_USAGE; return -1 if it is neither. */
int options_fault_injection(const char *tool, const char *usage, int argc,
                            char **argv, int *i, options_faults *f);

/* After the whole command line: the rules between the engine's options.
 * --seed needs --fault-rate (with the default rate, 0, no call ever
 * fails, so a seed alone would be silently ignored); and when the engine
 * is turned on by an option, `engine_option` ("--byronify") names it and
 * `engine_on` says whether it was given: --fault-rate and --seed need it.
 * `engine_option` NULL: the engine is always on (byronify). Returns -1 to
 * go on, or prints a usage error and returns OPTIONS_EXIT_USAGE. */
int options_faults_check(const char *tool, const char *usage,
                         const options_faults *f, const char *engine_option,
                         bool engine_on);

/* The value of option `name` ("--delay") at argv[*i]: the text after '='
 * in "--delay=0.5", or argv[*i + 1] for "--delay 0.5" (then *i is moved
 * past it). Returns NULL if argv[*i] is not that option; if it is but no
 * value follows, sets *missing and returns argv[*i] itself. */
const char *options_value(int argc, char **argv, int *i, const char *name,
                          bool *missing);

/* Parse a number of seconds: decimal ("0.7", "2", ".25", "1e-3"), from 0
 * to `max`, nothing before or after it (no sign, no space, no inf, nan or
 * hexadecimal). Returns 0 with *out set, or -1 with *out unchanged. */
int options_parse_seconds(const char *text, double max, double *out);

/* Parse a decimal integer (digits only) from `min` to `max`. Returns 0
 * with *out set, or -1 with *out unchanged. */
int options_parse_integer(const char *text, long min, long max, long *out);

/* Print "TOOL: " and the printf-style message, then the usage line and a
 * pointer to --help, on stderr. Returns OPTIONS_EXIT_USAGE. */
int options_usage_error(const char *tool, const char *usage, const char *fmt,
                        ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* POETRY_OPTIONS_H */
