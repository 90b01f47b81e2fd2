/* deferred-sim: the deferred simulator of the Twisted tutorial, part 9.
 *
 * Reads callback/errback pairs (docs/deferred-sim.md, "The input,
 * exactly"), fires two real libdeferred deferreds through them (fire.c),
 * and prints the chain and both firings as ASCII art (draw.c), and
 * optionally as an SVG picture (svg.c) and, with --trace, the firing logs
 * libdeferred's observer reported (trace.c). This file holds the command line,
 * the line-by-line rules (numbering, empty lines, the end of the list)
 * and the exit statuses: 0 drawn, 1 nothing to draw or an I/O failure,
 * 2 a usage error.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <deferred.h>

#include "chain.h"
#include "draw.h"
#include "input.h"
#include "parse.h"
#include "std_fds.h"
#include "svg.h"
#include "text.h"
#include "trace.h"

static const char usage_line[] =
    "usage: deferred-sim [--narrow] [--trace] [--svg FILE] < pairs.txt\n";

static const char help[] =
    "\n"
    "Reads callback/errback pairs, one a line, until an empty line or the\n"
    "end of input, and draws the chain and the paths taken by\n"
    "d.callback(initial) and d.errback(initial*), fired by libdeferred.\n"
    "Each member is `return VALUE`, `fail VALUE` or `passthru` (any\n"
    "prefix, any case: r, f, p ...); VALUE is 1 to 6 characters.\n"
    "\n"
    "  --narrow     draw the three diagrams one after the other\n"
    "  --trace      after the drawing, print each firing's log: every step\n"
    "               libdeferred reported as it ran the chain\n"
    "  --svg FILE   also write the diagrams as an SVG picture to FILE\n"
    "  -h, --help   show this help\n"
    "  --version    show the version\n";

static const char instructions[] =
    "Type callback/errback pairs, one a line, for example:\n"
    "  return good  fail bad\n"
    "  f googly     passthru\n"
    "Members: return VALUE, fail VALUE, passthru (r, f, p will do).\n"
    "An empty line (or end of input) draws the chain.\n";

typedef struct options {
  bool narrow;
  bool trace;
  const char *svg_path;
} options;

/* A usage error: what is wrong, the usage line and where the help is, on
 * standard error (the whole help would push the error off a small
 * terminal). Returns the exit status, 2. */
static int usage_error(const char *what, const char *arg, const char *after) {
  fprintf(stderr, "deferred-sim: %s ", what);
  sim_quote(stderr, arg, strlen(arg));
  fprintf(stderr, "%s\n%stry \"deferred-sim --help\" for more\n", after,
          usage_line);
  return 2;
}

/* Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, options *opt) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--narrow") == 0) {
      opt->narrow = true;
    } else if (strcmp(a, "--trace") == 0) {
      opt->trace = true;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage_line, stdout);
      fputs(help, stdout);
      return 0;
    } else if (strcmp(a, "--version") == 0) {
      printf("deferred-sim (libdeferred) %s\n", DF_VERSION_STRING);
      return 0;
    } else if (strcmp(a, "--svg") == 0 && i + 1 < argc) {
      opt->svg_path = argv[++i];
    } else if (strncmp(a, "--svg=", 6) == 0 && a[6]) {
      opt->svg_path = a + 6;
    } else if (strcmp(a, "--svg") == 0 || strcmp(a, "--svg=") == 0) {
      return usage_error("missing FILE after", a, "");
    } else if (a[0] == '-') {
      return usage_error("unknown option", a, "");
    } else {
      return usage_error("unexpected argument", a,
                         ": the pairs are read from standard input");
    }
  }
  return -1;
}

/* Report that the SVG file cannot be written, and why. */
static void cannot_write(const char *path, int err) {
  fputs("deferred-sim: cannot write ", stderr);
  sim_quote(stderr, path, strlen(path));
  fprintf(stderr, ": %s\n", strerror(err));
}

/* Fire, draw, print the logs, write the SVG (`svg` is NULL without
 * --svg; it is finished or abandoned here). Returns the exit status. */
static int simulate(const sim_chain *pairs, const options *opt,
                    sim_svg_file *svg) {
  int (*fire)(const sim_pair *, size_t, bool, sim_firing *) =
      opt->trace ? sim_fire_traced : sim_fire;
  sim_firing on_callback, on_errback;
  if (fire(pairs->pairs, pairs->n, false, &on_callback) < 0) goto nomem;
  if (fire(pairs->pairs, pairs->n, true, &on_errback) < 0) {
    sim_firing_free(&on_callback);
    goto nomem;
  }
  sim_drawing drawing = {pairs->pairs, pairs->n, &on_callback, &on_errback};
  int status = 0;
  if (sim_draw_print(stdout, &drawing, opt->narrow) < 0) {
    fputs("deferred-sim: out of memory\n", stderr);
    status = 1;
  }
  if (status == 0 && opt->trace) sim_trace_print(stdout, &drawing);
  if (svg && status == 0) {
    int err = sim_svg_finish(svg, &drawing);
    if (err != 0) {
      cannot_write(svg->path, err);
      status = 1;
    }
  } else if (svg) {
    sim_svg_abandon(svg);
  }
  sim_firing_free(&on_callback);
  sim_firing_free(&on_errback);
  return status;
nomem:
  fputs("deferred-sim: out of memory\n", stderr);
  if (svg) sim_svg_abandon(svg);
  return 1;
}

int main(int argc, char **argv) {
  /* Before any file is opened: with standard output closed, the SVG file
   * would be descriptor 1 and get the drawing too. */
  if (std_fds_missing("deferred-sim", std_fds_guard(),
                      STD_FDS_IN | STD_FDS_OUT))
    return 1;
  options opt = {false, false, NULL};
  int status = parse_options(argc, argv, &opt);
  if (status >= 0) return status;

  /* Before anything is read: a file that cannot be written is reported
   * now, not after the user has typed a whole chain. */
  sim_svg_file svg_file, *svg = NULL;
  if (opt.svg_path) {
    int err = sim_svg_open(&svg_file, opt.svg_path);
    if (err != 0) {
      cannot_write(opt.svg_path, err);
      return 1;
    }
    svg = &svg_file;
  }

  bool interactive = isatty(STDIN_FILENO);
  if (interactive) fputs(instructions, stderr);
  sim_input in;
  sim_chain pairs = {NULL, 0, 0};
  int read = sim_input_open(&in, STDIN_FILENO, interactive ? "> " : NULL);
  if (read == 0) read = sim_chain_read(&pairs, &in, stderr);
  if (read == -2) {
    /* Nothing is drawn from a chain the error may have cut short. */
    fprintf(stderr, "deferred-sim: cannot read standard input: %s\n",
            strerror(in.error));
    status = 1;
  } else if (read < 0) {
    fputs("deferred-sim: out of memory\n", stderr);
    status = 1;
  } else if (pairs.n == 0) {
    fputs("deferred-sim: no valid pair: nothing to draw\n", stderr);
    status = 1;
  } else {
    status = simulate(&pairs, &opt, svg);
    svg = NULL; /* finished or abandoned */
  }
  if (svg) sim_svg_abandon(svg);
  sim_input_close(&in);
  sim_chain_free(&pairs);
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "deferred-sim: cannot write the drawing: %s\n",
            errno ? strerror(errno) : "write error");
    status = 1;
  }
  return status;
}
