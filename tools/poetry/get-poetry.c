/* get-poetry: download poems from many poetry servers at once, the
 * Twisted tutorial's client (get-poetry.1, docs/poetry.md).
 *
 *   get-poetry [--byronify [--fault-rate R --seed S]] [--timeout SECONDS]
 *              [--progress|--no-progress] [--hosts FILE] [HOST:]PORT ...
 *
 * This file is the command line: the options, the addresses (to
 * endpoints, poetry_address.c), the name lookups (--hosts FILE,
 * hosts_file.c), the progress display's mode, and the exit status. The
 * program itself, one deferred chain per address, is poetry_program.c;
 * it runs under df_react (Twisted's task.react), which ends the process
 * once the program's deferred has fired.
 *
 * Exit statuses: 0 every poem was printed (or --help, --version); 1 at
 * least one download failed (or was interrupted); 2 a usage error (an
 * unknown option, a bad value or address, a --hosts file that cannot be
 * read). Standard output closed at the start: 1, before anything is
 * opened. Where the poems are written (on the reactor's thread or off
 * it): write_off_the_loop, below, and poetry_program.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosts_file.h"
#include "options.h"
#include "poetry_address.h"
#include "poetry_program.h"
#include "std_fds.h"

enum { EXIT_ALL_PRINTED = 0, EXIT_FAILED = 1, EXIT_USAGE = OPTIONS_EXIT_USAGE };

#define DEFAULT_TIMEOUT 30.0
#define MAX_TIMEOUT 86400.0

static const char usage_line[] =
    "usage: get-poetry [--byronify [--fault-rate R --seed S]] "
    "[--timeout SECONDS] [--progress|--no-progress] [--hosts FILE] "
    "[HOST:]PORT ...";

static const char help[] =
    "\n"
    "Downloads a poem from every address at once and prints each to standard\n"
    "output as soon as it is complete, exactly as received. A poem is complete\n"
    "when its server closes the connection cleanly; a reset, a timeout, a\n"
    "refused connection or a failed name lookup is a failed download, never a\n"
    "short poem. Everything but the poems goes to standard error. A reader\n"
    "of standard output that pauses (a pager) holds up no download, unless\n"
    "standard output is a terminal or standard error's file.\n"
    "\n"
    "Addresses: PORT (on 127.0.0.1), HOST:PORT, [IPV6]:PORT, or an endpoint\n"
    "description such as tcp:host=example.org:port=10000.\n"
    "\n"
    "  --byronify         rewrite each poem with the Byronification Engine;\n"
    "                     a GibberishError means the download failed, any other\n"
    "                     engine error prints the poem as received\n"
    "  --fault-rate R     make the engine fail (CannotByronifyError) with\n"
    "                     chance R, 0 (the default) to 1; needs --byronify\n"
    "  --seed S           the seed of those failures (default 0); needs\n"
    "                     --fault-rate\n"
    "  --timeout SECONDS  give up on an address after SECONDS without a\n"
    "                     connection or without bytes (default 30; 0: never)\n"
    "  --progress         show the bytes received per address on standard\n"
    "                     error (the default when it is a terminal)\n"
    "  --no-progress      do not\n"
    "  --hosts FILE       look names up in FILE (the form of /etc/hosts) and\n"
    "                     nowhere else: no DNS query is ever sent\n"
    "  -h, --help         show this help\n"
    "  --version          show the version\n"
    "\n"
    "At the end, a line per address on standard error says what came of it.\n"
    "\n"
    "Exit status: 0 every poem was printed, 1 a download failed, 2 a usage\n"
    "error (a bad option, value or address, or an unreadable --hosts file).\n";

typedef struct options {
  bool byronify;
  options_faults faults;
  double timeout;
  int progress; /* -1: when standard error is a terminal; 0 no; 1 yes */
  const char *hosts;
  char **addresses;
  size_t count;
} options;

#define usage_error(...) \
  options_usage_error("get-poetry", usage_line, __VA_ARGS__)

/* Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, options *opt) {
  bool only_addresses = false;
  opt->addresses = calloc((size_t)argc, sizeof *opt->addresses);
  if (!opt->addresses) {
    fprintf(stderr, "get-poetry: out of memory\n");
    return EXIT_FAILED;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    bool missing = false;
    int status;
    if (only_addresses || a[0] != '-') {
      opt->addresses[opt->count++] = argv[i];
    } else if (strcmp(a, "--") == 0) {
      only_addresses = true;
    } else if ((status = options_help_or_version("get-poetry", usage_line,
                                                 help, a)) >= 0) {
      return status;
    } else if (strcmp(a, "--byronify") == 0) {
      opt->byronify = true;
    } else if (strcmp(a, "--progress") == 0) {
      opt->progress = 1;
    } else if (strcmp(a, "--no-progress") == 0) {
      opt->progress = 0;
    } else if ((status = options_fault_injection("get-poetry", usage_line, argc,
                                                 argv, &i, &opt->faults)) >= 0) {
      if (status > 0) return status;
    } else if ((v = options_value(argc, argv, &i, "--timeout", &missing))) {
      if (missing) return usage_error("%s needs a value", a);
      if (options_parse_seconds(v, MAX_TIMEOUT, &opt->timeout) < 0)
        return usage_error("bad --timeout \"%s\": a number of seconds from 0 "
                           "to 86400 is needed", v);
    } else if ((v = options_value(argc, argv, &i, "--hosts", &missing))) {
      if (missing) return usage_error("%s needs a value", a);
      opt->hosts = v;
    } else {
      return usage_error("unknown option \"%s\"", a);
    }
  }
  int status = options_faults_check("get-poetry", usage_line, &opt->faults,
                                    "--byronify", opt->byronify);
  if (status >= 0) return status;
  if (opt->count == 0) return usage_error("no address given");
  return -1;
}

/* --- the program ------------------------------------------------------------------ */

/* What main made, freed once df_react has returned (after the reactor). */
static options opt;
static poetry_program program;
static df_resolver *hosts;
static char *labels; /* the tasks' labels, LABEL_SIZE bytes each */

#define LABEL_SIZE (DF_ADDRESS_TEXT_SIZE + 256)

static df_result report_and_exit(df_result failed, void *arg) {
  poetry_program *prog = arg;
  poetry_program_summary(prog);
  int64_t n = df_result_int(failed);
  return n ? df_system_exit(EXIT_FAILED) : df_none();
}

static df_deferred *exit_with(int status) {
  return df_succeed(status ? df_system_exit(status) : df_none());
}

/* The shutdown (SIGINT, SIGTERM) waits for the pool's jobs: a poem being
 * written to a reader that does not read must give up. */
static df_deferred *stop_output(void *arg) {
  poetry_program_stop_output(arg);
  return NULL;
}

/* Whether the poems are written off the reactor's thread (poetry_program.c
 * says why): not to a terminal, which takes them at once and shares the
 * screen with the progress line and the messages, nor to standard
 * error's own file (2>&1), where a message written meanwhile would land
 * inside a poem. */
static bool write_off_the_loop(void) {
  struct stat out, err;
  if (isatty(STDOUT_FILENO) || fstat(STDOUT_FILENO, &out) < 0) return false;
  return fstat(STDERR_FILENO, &err) < 0 || out.st_dev != err.st_dev ||
         out.st_ino != err.st_ino;
}

static progress_mode progress_wanted(void) {
  bool terminal = isatty(STDERR_FILENO);
  if (opt.progress == 0 || (opt.progress < 0 && !terminal)) return PROGRESS_OFF;
  return terminal ? PROGRESS_TERMINAL : PROGRESS_LINES;
}

static df_deferred *get_poetry(df_reactor *r, int argc, char **argv) {
  opt.timeout = DEFAULT_TIMEOUT;
  opt.progress = -1;
  int status = parse_options(argc, argv, &opt);
  if (status >= 0) return exit_with(status);

  char why[512];
  if (opt.hosts) {
    int rc = poetry_hosts_load(opt.hosts, &hosts, why, sizeof why);
    if (rc < 0) {
      fprintf(stderr, "get-poetry: --hosts: %s\n", why);
      return exit_with(rc == DF_ENOMEM ? EXIT_FAILED : EXIT_USAGE);
    }
    df_reactor_install_resolver(r, hosts);
  }

  program.tasks = calloc(opt.count, sizeof *program.tasks);
  labels = calloc(opt.count, LABEL_SIZE);
  if (!program.tasks || !labels) {
    fprintf(stderr, "get-poetry: out of memory\n");
    return exit_with(EXIT_FAILED);
  }
  for (size_t i = 0; i < opt.count; i++) {
    poetry_task *t = &program.tasks[i];
    char *label = labels + i * LABEL_SIZE;
    int rc = poetry_address_endpoint(r, opt.addresses[i], opt.timeout,
                                     &t->endpoint, label, LABEL_SIZE, why,
                                     sizeof why);
    if (rc < 0) {
      fprintf(stderr, "get-poetry: bad address \"%s\": %s\n", opt.addresses[i],
              why);
      if (rc == DF_EINVAL)
        fprintf(stderr, "%s (try 'get-poetry --help')\n", usage_line);
      return exit_with(rc == DF_ENOMEM ? EXIT_FAILED : EXIT_USAGE);
    }
    t->label = label;
    program.count = i + 1;
  }

  program.clock = df_reactor_clock(r);
  program.timeout = opt.timeout;
  program.byronify = opt.byronify;
  byron_engine_init(&program.engine, opt.faults.rate, opt.faults.seed);
  program.out = stdout;
  program.err = stderr;
  if (write_off_the_loop()) {
    program.writer = r;
    program.out_fd = STDOUT_FILENO;
    if (df_reactor_add_system_event_trigger(r, DF_PHASE_BEFORE,
                                            DF_SYSTEM_SHUTDOWN, stop_output,
                                            &program, NULL) < 0) {
      fprintf(stderr, "get-poetry: out of memory\n");
      return exit_with(EXIT_FAILED);
    }
  }
  progress_mode mode = progress_wanted();
  if (mode != PROGRESS_OFF &&
      progress_new(program.clock, stderr, mode,
                   isatty(STDOUT_FILENO) && isatty(STDERR_FILENO),
                   &program.progress) < 0) {
    fprintf(stderr, "get-poetry: out of memory\n");
    return exit_with(EXIT_FAILED);
  }

  df_deferred *d = poetry_program_start(&program);
  if (!d || df_deferred_add_callback(d, report_and_exit, &program) < 0) {
    df_deferred_unref(d);
    fprintf(stderr, "get-poetry: out of memory\n");
    return exit_with(EXIT_FAILED);
  }
  return d;
}

int main(int argc, char **argv) {
  /* Before the reactor opens anything: a socket must never take the place
   * of a closed standard output, and the poems need one. */
  if (std_fds_missing("get-poetry", std_fds_guard(), STD_FDS_OUT))
    return EXIT_FAILED;
  int status = df_react(get_poetry, argc, argv);
  poetry_program_free_output(&program);
  progress_free(program.progress);
  for (size_t i = 0; i < program.count; i++)
    df_endpoint_free(program.tasks[i].endpoint);
  free(labels);
  free(program.tasks);
  free(opt.addresses);
  df_resolver_free(hosts);
  return status;
}
