/* byronify: the Byronification Engine as a filter (byronify.1,
 * docs/byronify.md).
 *
 * Reads one poem from FILE or standard input (at most BYRON_MAX_BYTES + 1
 * bytes are read: one more than a poem may have, so that a longer input
 * is refused without being read to its end), makes one engine call, and
 * writes the new poem to standard output. Exit statuses: 0 written, 1 an
 * input or output error, 2 a usage error, 3 a GibberishError, 4 another
 * engine error (an injected fault, out of memory).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byron.h"
#include "options.h"
#include "poem.h"
#include "std_fds.h"

enum {
  EXIT_WRITTEN = 0,
  EXIT_IO = 1,
  EXIT_USAGE = 2,
  EXIT_GIBBERISH = 3,
  EXIT_ENGINE = 4
};

static const char usage_line[] =
    "usage: byronify [--fault-rate R --seed S] [FILE]";

static const char help[] =
    "\n"
    "Rewrites a poem in the style of Lord Byron: archaic pronouns and verbs\n"
    "(thou art, thy, thine, thee, doth, hath, 'tis), poetic elisions (o'er,\n"
    "ne'er, e'er, e'en, heav'n), capitalised abstractions (Love, Time, Death,\n"
    "Night), and the verse regrouped into ottava rima stanzas: six lines and\n"
    "an indented closing couplet. The first line that is not blank stays the\n"
    "title when a blank line follows it, and a last line such as \"-- John\n"
    "Donne\" or \"by W. B. Yeats\" after a blank line stays the\n"
    "attribution. A poem that is not in English keeps its words and gets\n"
    "only the stanzas. Reads FILE, or standard input when FILE is absent or\n"
    "-, and writes the new poem to standard output.\n"
    "\n"
    "Input that is not a genuine poem fails with a GibberishError: more than\n"
    "1 MiB, empty, invalid UTF-8, NUL or control characters, only white\n"
    "space, a line over 200 characters, a word over 40 letters, fewer than\n"
    "2 lines of verse, fewer than 8 letters, or letters less than half of\n"
    "the text.\n"
    "\n"
    "  --fault-rate R  make the engine fail with a CannotByronifyError with\n"
    "                  chance R, a number from 0 (never, the default) to 1\n"
    "                  (always): the tutorial's engine \"sometimes throws\n"
    "                  random exceptions\"\n"
    "  --seed S        the seed of the fault draws, an integer from 0 (the\n"
    "                  default) to 18446744073709551615; a run is one call,\n"
    "                  so with a given R the seed alone decides; needs\n"
    "                  --fault-rate\n"
    "  -h, --help      show this help\n"
    "  --version       show the version\n"
    "\n"
    "Exit status: 0 the poem was written, 1 the input could not be read or\n"
    "the output written, 2 a usage error, 3 a GibberishError, 4 another\n"
    "engine error (an injected fault, or out of memory).\n";

typedef struct options {
  const char *path; /* NULL or "-": standard input */
  options_faults faults;
} options;

#define usage_error(...) options_usage_error("byronify", usage_line, __VA_ARGS__)

/* Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, options *opt) {
  bool only_files = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int status;
    if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
      if (opt->path)
        return usage_error("more than one FILE (\"%s\")", a);
      opt->path = a;
    } else if (strcmp(a, "--") == 0) {
      only_files = true;
    } else if ((status = options_help_or_version("byronify", usage_line, help,
                                                 a)) >= 0) {
      return status;
    } else if ((status = options_fault_injection("byronify", usage_line, argc,
                                                 argv, &i, &opt->faults)) < 0) {
      return usage_error("unknown option \"%s\"", a);
    } else if (status > 0) {
      return status;
    }
  }
  return options_faults_check("byronify", usage_line, &opt->faults, NULL,
                              true);
}

int main(int argc, char **argv) {
  /* First: a closed standard stream must not become the FILE opened. */
  int closed = std_fds_guard();
  options opt = {NULL, {0}};
  int status = parse_options(argc, argv, &opt);
  if (status >= 0) return status;
  byron_engine engine;
  byron_engine_init(&engine, opt.faults.rate, opt.faults.seed); /* checked */

  bool from_stdin = !opt.path || strcmp(opt.path, "-") == 0;
  if (std_fds_missing("byronify", closed,
                      STD_FDS_OUT | (from_stdin ? STD_FDS_IN : 0)))
    return EXIT_IO;
  const char *name = from_stdin ? "standard input" : opt.path;
  FILE *in = from_stdin ? stdin : fopen(opt.path, "rb");
  if (!in) {
    fprintf(stderr, "byronify: cannot open \"%s\": %s\n", opt.path,
            strerror(errno));
    return EXIT_IO;
  }
  char *poem;
  size_t len;
  int rc = poem_read_stream(in, (size_t)BYRON_MAX_BYTES + 1, &poem, &len);
  int read_errno = errno;
  if (!from_stdin) fclose(in);
  if (rc < 0) {
    if (from_stdin)
      fprintf(stderr, "byronify: cannot read standard input: %s\n",
              strerror(read_errno));
    else
      fprintf(stderr, "byronify: cannot read \"%s\": %s\n", opt.path,
              strerror(read_errno));
    return EXIT_IO;
  }

  char *out;
  size_t out_len;
  byron_error error;
  rc = byron_transform(&engine, poem, len, &out, &out_len, &error);
  free(poem);
  if (rc == BYRON_EGIBBERISH) {
    fprintf(stderr, "byronify: %s: %s: %s\n", name, byron_gibberish_error.name,
            error.message);
    return EXIT_GIBBERISH;
  }
  if (rc < 0) {
    const char *type = rc == BYRON_EFAULT ? byron_cannot_byronify_error.name
                       : rc == DF_ENOMEM  ? df_error_no_memory.name
                                          : df_error_invalid_argument.name;
    fprintf(stderr, "byronify: %s: %s: %s\n", name, type, error.message);
    return EXIT_ENGINE;
  }
  size_t written = fwrite(out, 1, out_len, stdout);
  free(out);
  if (written != out_len || fflush(stdout) != 0) {
    fprintf(stderr, "byronify: cannot write the poem: %s\n", strerror(errno));
    return EXIT_IO;
  }
  return EXIT_WRITTEN;
}
