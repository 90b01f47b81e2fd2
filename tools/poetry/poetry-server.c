/* poetry-server: the slow poetry server of the Twisted tutorial
 * (poetry-server.1, docs/poetry.md).
 *
 *   poetry-server [--port N] [--iface ADDR] [--delay SECONDS]
 *                 [--num-bytes N] [--backlog N] [--workers N] [--quiet]
 *                 POETRY_FILE
 *
 * Reads the poem once, then serves it to every client, N bytes every
 * SECONDS (slow_sender.c does the serving), until SIGINT or SIGTERM.
 *
 * How it runs. Each worker is a reactor with its own listening socket and
 * its own slow_server; with --workers N, N - 1 of them run on threads of
 * their own and every socket sets SO_REUSEPORT, so the kernel spreads the
 * connections over them. Worker 0 runs on the main thread and listens
 * first (on the port asked for, or a free one, which the others then
 * share). The line giving the port is printed once every worker is
 * running, that is, once every reactor watches SIGINT and SIGTERM: a
 * script that signals the server as soon as it has read the port never
 * kills it before it could stop cleanly. On a signal every reactor runs
 * its before-shutdown trigger (stop listening, cut off the clients still
 * mid-poem: they see a reset, never a clean close of a cut poem), then
 * closes what is left; main sums the workers' figures and reports them.
 *
 * Exit statuses: 0 stopped by SIGINT or SIGTERM (or --help, --version);
 * 1 the poem file cannot be served (missing, unreadable, empty, too
 * long), or standard output is closed or cannot take the port line; 2 a
 * usage error; 3 cannot listen (port in use, address not
 * available); 4 another failure at start (no memory, no thread).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "poem.h"
#include "slow_sender.h"
#include "std_fds.h"

enum {
  EXIT_STOPPED = 0,
  EXIT_POEM = 1, /* the poem file cannot be served ...              */
  EXIT_IO = 1,   /* ... or standard output cannot take the port line */
  EXIT_USAGE = OPTIONS_EXIT_USAGE,
  EXIT_LISTEN = 3,
  EXIT_START = 4
};

#define MAX_WORKERS 64
#define MAX_DELAY 86400.0

static const char usage_line[] =
    "usage: poetry-server [--port N] [--iface ADDR] [--delay SECONDS] "
    "[--num-bytes N] [--backlog N] [--workers N] [--quiet] POETRY_FILE";

static const char help[] =
    "\n"
    "The slow poetry server of the Twisted tutorial: sends POETRY_FILE to\n"
    "every client that connects, N bytes every SECONDS, then closes the\n"
    "connection cleanly. Serves any number of clients at once, until SIGINT\n"
    "or SIGTERM; then the clients still being sent to are cut off (they see a\n"
    "reset, not a clean close) and their number is reported.\n"
    "\n"
    "  --port N         listen on port N (default 0: a free port)\n"
    "  --iface ADDR     the numeric address to listen on (default 127.0.0.1;\n"
    "                   0.0.0.0 every IPv4 interface, :: every interface)\n"
    "  --delay SECONDS  seconds between two chunks (default 0.7); 0 sends as\n"
    "                   fast as each client reads\n"
    "  --num-bytes N    bytes per chunk (default 10)\n"
    "  --backlog N      the accept queue's length (default: the largest the\n"
    "                   system allows, net.core.somaxconn)\n"
    "  --workers N      N reactor threads sharing the port with SO_REUSEPORT\n"
    "                   (default 1; at most 64)\n"
    "  --quiet          no line per client on standard error\n"
    "  -h, --help       show this help\n"
    "  --version        show the version\n"
    "\n"
    "The first line on standard output ends with the port, for scripts:\n"
    "  poetry-server: serving poem.txt (653 bytes, 10 every 0.7 s) on "
    "127.0.0.1:43125\n"
    "\n"
    "Exit status: 0 stopped by SIGINT or SIGTERM, 1 the poem file cannot be\n"
    "served (missing, unreadable, empty, over 64 MiB) or standard output\n"
    "cannot take the port line, 2 a usage error, 3 cannot listen (port in\n"
    "use, address not available), 4 another failure at start (out of\n"
    "memory, no thread).\n";

typedef struct options {
  long port;
  const char *iface;
  double delay;
  long num_bytes;
  long backlog; /* 0: the system's largest */
  long workers;
  bool quiet;
  const char *path;
} options;

#define usage_error(...) \
  options_usage_error("poetry-server", usage_line, __VA_ARGS__)

/* A numeric option's value into *out, or a usage error. */
static int integer_option(const char *name, const char *value, long min,
                          long max, long *out) {
  if (options_parse_integer(value, min, max, out) == 0) return -1;
  return usage_error("bad %s \"%s\": an integer from %ld to %ld is needed",
                     name, value, min, max);
}

/* Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, options *opt) {
  bool only_files = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    bool missing = false;
    int status = -1;
    if (only_files || a[0] != '-') {
      if (opt->path) return usage_error("more than one POETRY_FILE (\"%s\")", a);
      opt->path = a;
    } else if (strcmp(a, "--") == 0) {
      only_files = true;
    } else if ((status = options_help_or_version("poetry-server", usage_line,
                                                 help, a)) >= 0) {
      return status;
    } else if (strcmp(a, "--quiet") == 0) {
      opt->quiet = true;
    } else if ((v = options_value(argc, argv, &i, "--port", &missing))) {
      status = missing ? usage_error("%s needs a value", a)
                       : integer_option("--port", v, 0, 65535, &opt->port);
    } else if ((v = options_value(argc, argv, &i, "--iface", &missing))) {
      df_address check;
      if (missing) return usage_error("%s needs a value", a);
      if (df_address_parse(&check, v, 0) < 0)
        return usage_error("bad --iface \"%s\": a numeric IPv4 or IPv6 "
                           "address is needed", v);
      opt->iface = v;
    } else if ((v = options_value(argc, argv, &i, "--delay", &missing))) {
      if (missing) return usage_error("%s needs a value", a);
      if (options_parse_seconds(v, MAX_DELAY, &opt->delay) < 0)
        return usage_error("bad --delay \"%s\": a number of seconds from 0 "
                           "to 86400 is needed", v);
    } else if ((v = options_value(argc, argv, &i, "--num-bytes", &missing))) {
      status = missing ? usage_error("%s needs a value", a)
                       : integer_option("--num-bytes", v, 1, SLOW_MAX_POEM,
                                        &opt->num_bytes);
    } else if ((v = options_value(argc, argv, &i, "--backlog", &missing))) {
      status = missing ? usage_error("%s needs a value", a)
                       : integer_option("--backlog", v, 1, 65535,
                                        &opt->backlog);
    } else if ((v = options_value(argc, argv, &i, "--workers", &missing))) {
      status = missing ? usage_error("%s needs a value", a)
                       : integer_option("--workers", v, 1, MAX_WORKERS,
                                        &opt->workers);
    } else {
      return usage_error("unknown option \"%s\"", a);
    }
    if (status >= 0) return status;
  }
  if (!opt->path) return usage_error("no POETRY_FILE given");
  return -1;
}

/* --- the poem --------------------------------------------------------------------- */

/* Read the whole file once. Returns 0, or EXIT_POEM after a message. */
static int read_poem(const char *path, char **data, size_t *len) {
  FILE *in = fopen(path, "rb");
  if (!in) {
    fprintf(stderr, "poetry-server: cannot open \"%s\": %s\n", path,
            strerror(errno));
    return EXIT_POEM;
  }
  int rc = poem_read_stream(in, (size_t)SLOW_MAX_POEM + 1, data, len);
  int read_errno = errno;
  fclose(in);
  if (rc < 0) {
    fprintf(stderr, "poetry-server: cannot read \"%s\": %s\n", path,
            strerror(read_errno));
    return EXIT_POEM;
  }
  if (*len == 0 || *len > SLOW_MAX_POEM) {
    fprintf(stderr, "poetry-server: \"%s\" %s\n", path,
            *len ? "is longer than 64 MiB: too long to serve"
                 : "is empty: there is no poem to serve");
    free(*data);
    return EXIT_POEM;
  }
  return 0;
}

/* --- workers ------------------------------------------------------------------------ */

typedef struct worker {
  df_reactor *reactor;
  slow_server server;
  df_listening_port *port;
  pthread_t thread;
  bool on_thread;
  const options *opt;
  int port_number;     /* the port to share (workers after the first) */
  int start_status;    /* EXIT_STOPPED, EXIT_LISTEN or EXIT_START */
  char why[256];       /* the reason when start_status says failure */
  atomic_int ready;    /* 0 starting, 1 listening, -1 failed */
  atomic_int running;  /* its reactor runs (watches the signals) */
} worker;

static worker workers[MAX_WORKERS];

/* The before-shutdown trigger: stop accepting, cut off the clients still
 * mid-poem; the shutdown waits for the port to close. */
static df_deferred *stop_serving(void *arg) {
  worker *w = arg;
  df_deferred *closed = df_listening_port_stop(w->port);
  slow_server_cut_off(&w->server);
  return closed;
}

static void now_running(void *arg) {
  atomic_store(&((worker *)arg)->running, 1);
}

/* Make the reactor, the server and the listening socket. */
static void start_worker(worker *w, const char *poem, size_t len) {
  const options *opt = w->opt;
  int rc = df_uv_reactor_new(&w->reactor);
  if (rc < 0) {
    w->start_status = EXIT_START;
    snprintf(w->why, sizeof w->why, "cannot make a reactor: %s",
             df_strerror(rc));
    return;
  }
  slow_server_init(&w->server, df_reactor_clock(w->reactor), poem, len,
                   (size_t)opt->num_bytes, opt->delay,
                   opt->quiet ? NULL : stderr);
  df_failure *why = NULL;
  rc = df_reactor_listen_tcp(w->reactor, w->port_number, &w->server.base,
                             opt->iface, (int)opt->backlog,
                             opt->workers > 1 ? DF_LISTEN_REUSE_PORT : 0,
                             &w->port, &why);
  if (rc < 0) {
    w->start_status = rc == DF_ENOMEM ? EXIT_START : EXIT_LISTEN;
    snprintf(w->why, sizeof w->why, "%s",
             why ? df_failure_message(why) : df_strerror(rc));
    df_failure_unref(why);
    return;
  }
  df_address bound;
  df_listening_port_get_host(w->port, &bound);
  w->port_number = df_address_port(&bound);
  if (df_reactor_add_system_event_trigger(w->reactor, DF_PHASE_BEFORE,
                                          DF_SYSTEM_SHUTDOWN, stop_serving, w,
                                          NULL) < 0 ||
      df_reactor_call_when_running(w->reactor, now_running, w) < 0) {
    w->start_status = EXIT_START;
    snprintf(w->why, sizeof w->why, "out of memory");
  }
}

static const char *poem_bytes;
static size_t poem_length;

static void *worker_thread(void *arg) {
  worker *w = arg;
  start_worker(w, poem_bytes, poem_length);
  atomic_store(&w->ready, w->start_status == EXIT_STOPPED ? 1 : -1);
  if (w->start_status == EXIT_STOPPED) df_reactor_run(w->reactor);
  return NULL;
}

/* Wait (at most 10 s) until *flag is not 0. */
static int wait_flag(atomic_int *flag) {
  for (int i = 0; i < 10000 && atomic_load(flag) == 0; i++) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  return atomic_load(flag);
}

/* The port line could not be written: main's exit status is EXIT_IO. */
static bool announce_failed;

/* Worker 0's call_when_running: once every worker runs, say where. */
static void announce(void *arg) {
  const options *opt = arg;
  for (long i = 1; i < opt->workers; i++)
    if (wait_flag(&workers[i].running) != 1) {
      fprintf(stderr, "poetry-server: worker %ld did not start running\n", i);
      df_reactor_stop(workers[0].reactor);
      return;
    }
  df_address bound;
  char where[DF_ADDRESS_TEXT_SIZE];
  df_listening_port_get_host(workers[0].port, &bound);
  df_address_format(&bound, where, sizeof where);
  const char *name = strrchr(opt->path, '/');
  name = name ? name + 1 : opt->path;
  char how[64] = "";
  if (opt->workers > 1)
    snprintf(how, sizeof how, ", %ld workers", opt->workers);
  if (opt->delay > 0)
    printf("poetry-server: serving %s (%zu bytes, %ld every %g s%s) on %s\n",
           name, poem_length, opt->num_bytes, opt->delay, how, where);
  else
    printf("poetry-server: serving %s (%zu bytes, at full speed%s) on %s\n",
           name, poem_length, how, where);
  /* A server nobody can find must not run on: a script waiting for the
   * port would wait for ever. */
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "poetry-server: cannot write the port line to standard "
            "output: %s\n", errno ? strerror(errno) : "write error");
    announce_failed = true;
    df_reactor_stop(workers[0].reactor);
  }
}

static void stop_reactor(void *arg) { df_reactor_stop(arg); }

/* A server holding thousands of slow clients needs a descriptor for each:
 * take every descriptor the hard limit allows. */
static void raise_descriptor_limit(void) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

/* With SO_REUSEPORT, a second server of the same user could join the
 * port instead of being refused: before the workers bind a given port,
 * check that no socket listens there (SO_REUSEADDR but not SO_REUSEPORT,
 * as a plain server binds). Returns 0, or EXIT_LISTEN after a message. */
static int check_port_free(const options *opt) {
  df_address a;
  df_address_parse(&a, opt->iface, (int)opt->port); /* checked already */
  int fd = socket(df_address_family(&a), SOCK_STREAM, 0);
  if (fd < 0) return 0; /* the workers' own bind will say */
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  int rc = bind(fd, &a.u.sa, df_address_length(&a));
  int bind_errno = errno;
  close(fd);
  if (rc == 0 || bind_errno != EADDRINUSE) return 0;
  fprintf(stderr, "poetry-server: Couldn't listen on %s:%ld: address already "
          "in use.\n", opt->iface, opt->port);
  return EXIT_LISTEN;
}

static void report(const options *opt) {
  slow_stats all = {0};
  for (long i = 0; i < opt->workers; i++) {
    const slow_stats *s = &workers[i].server.stats;
    all.clients += s->clients;
    all.completed += s->completed;
    all.left += s->left;
    all.cut_off += s->cut_off;
  }
  fprintf(stderr, "poetry-server: stopped after %llu client%s: %llu sent the "
          "whole poem, %llu left early, %llu cut off mid-poem\n",
          (unsigned long long)all.clients, all.clients == 1 ? "" : "s",
          (unsigned long long)all.completed, (unsigned long long)all.left,
          (unsigned long long)all.cut_off);
}

int main(int argc, char **argv) {
  /* Before any socket is made: none may take the place of a closed
   * standard output, which the port line needs. */
  if (std_fds_missing("poetry-server", std_fds_guard(), STD_FDS_OUT))
    return EXIT_IO;
  options opt = {.iface = "127.0.0.1", .delay = 0.7, .num_bytes = 10,
                 .workers = 1};
  int status = parse_options(argc, argv, &opt);
  if (status >= 0) return status;
  char *poem;
  status = read_poem(opt.path, &poem, &poem_length);
  if (status) return status;
  poem_bytes = poem;
  raise_descriptor_limit();
  if (opt.workers > 1 && opt.port != 0 && (status = check_port_free(&opt))) {
    free(poem);
    return status;
  }

  /* Worker 0 first: the others share its port. */
  for (long i = 0; i < opt.workers; i++) workers[i].opt = &opt;
  workers[0].port_number = (int)opt.port;
  start_worker(&workers[0], poem, poem_length);
  status = workers[0].start_status;
  long started = 1;
  for (; status == EXIT_STOPPED && started < opt.workers; started++) {
    worker *w = &workers[started];
    w->port_number = workers[0].port_number;
    w->on_thread = pthread_create(&w->thread, NULL, worker_thread, w) == 0;
    if (!w->on_thread) {
      status = EXIT_START;
      snprintf(w->why, sizeof w->why, "cannot start a thread");
      break;
    }
    if (wait_flag(&w->ready) != 1) status = w->start_status;
  }
  if (status == EXIT_STOPPED &&
      df_reactor_call_when_running(workers[0].reactor, announce, &opt) < 0)
    status = EXIT_START;
  if (status == EXIT_STOPPED) df_reactor_run(workers[0].reactor);

  /* Stopped (or failed to start): stop and join the others. */
  for (long i = 1; i < opt.workers; i++) {
    worker *w = &workers[i];
    if (!w->on_thread) continue;
    if (atomic_load(&w->ready) == 1)
      df_reactor_call_from_thread(w->reactor, stop_reactor, w->reactor);
    pthread_join(w->thread, NULL);
  }
  for (long i = 0; i < opt.workers; i++)
    if (workers[i].start_status != EXIT_STOPPED) {
      fprintf(stderr, "poetry-server: %s\n", workers[i].why);
      break;
    }
  if (status == EXIT_STOPPED && announce_failed) status = EXIT_IO;
  if (status == EXIT_STOPPED) report(&opt);
  for (long i = 0; i < opt.workers; i++) {
    df_listening_port_unref(workers[i].port);
    df_reactor_free(workers[i].reactor);
  }
  free(poem);
  return status;
}
