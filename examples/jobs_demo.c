/* jobs-demo: a small program's deferreds, and the record of how they
 * fired (deferred/firing_log.h).
 *
 *     jobs-demo [--dot FILE] [--trace FILE] [--events] [--dump-waiting]
 *
 * Everything runs on the test clock, so the run takes no time and is the
 * same every time:
 *
 *   - four jobs share a semaphore of two tokens (df_semaphore_run): two
 *     run at once, the others wait for a token; each job's work is a
 *     df_defer_later on the clock;
 *   - "package" fails (a JobError), and its errback handles it;
 *   - "upload" would take 10 s but has a 4 s timeout
 *     (df_deferred_add_timeout): it is cancelled, and its errback gets a
 *     TimeoutError;
 *   - meanwhile the configuration is asked of three mirrors at once
 *     (df_first_success): one refuses, the fastest answer wins, and the
 *     slowest is cancelled;
 *   - and "deploy" waits for a sign-off that nobody gives: a chain left
 *     waiting, as in a program that hangs.
 *
 * It prints what happened, as it happens, and records every firing in a
 * firing log, written as a Graphviz graph (--dot) and as Chrome
 * trace-event JSON (--trace) at the end; --events prints the log itself,
 * and --dump-waiting (debug mode) lists the deferreds still waiting at the
 * end, as a program that hangs would (df_dump_waiting).
 * docs/firing-log.md shows the graph. Only the public API is used. */
#include <deferred.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static DF_ERROR_TYPE(job_error, "JobError", &df_error_exception);
static DF_ERROR_TYPE(connection_refused, "ConnectionRefusedError",
                     &df_error_exception);

typedef struct demo {
  df_clock *clock;
  df_semaphore *workers;
  int succeeded, failed, timed_out;
  char config[64];
  df_deferred *deploy, *sign_off; /* the step that hangs */
} demo;

typedef struct job {
  demo *demo;
  const char *name;
  double seconds;  /* how long its work takes          */
  double timeout;  /* 0: none                          */
  const char *output; /* NULL: it fails               */
} job;

typedef struct mirror {
  demo *demo;
  const char *name;
  double seconds;
  const char *answer; /* NULL: it refuses             */
} mirror;

/* One line of the account, after the clock's time. */
static void say(const demo *demo, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("[%4.1f] ", df_clock_seconds(demo->clock));
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

/* A result as the account shows it: a failure by its type and message. */
static const char *text_of(df_result r, char *buf, size_t size) {
  if (df_result_is_failure(r))
    df_failure_brief(r.u.failure, buf, size);
  else
    df_result_describe(r, buf, size);
  return buf;
}

/* --- the jobs ------------------------------------------------------------ */

/* The end of a job's work: its output, or a failure. */
static df_result finish_work(void *arg) {
  job *j = arg;
  if (!j->output) return df_raise(&job_error, "%s: disk full", j->name);
  return df_string(j->output);
}

/* A token is ours: start the work, which ends `seconds` from now. */
static df_result start_job(void *arg) {
  job *j = arg;
  say(j->demo, "%s: starts (%g s of work)", j->name, j->seconds);
  df_deferred *work = df_defer_later(j->demo->clock, j->seconds, finish_work, j);
  if (!work) return df_raise_code(DF_ENOMEM);
  return df_wait_on(work);
}

static df_result job_done(df_result r, void *arg) {
  job *j = arg;
  char text[160];
  say(j->demo, "%s: done: %s", j->name, text_of(r, text, sizeof text));
  j->demo->succeeded++;
  df_result_drop(r);
  return df_none();
}

static df_result job_failed(df_result r, void *arg) {
  job *j = arg;
  char text[160];
  text_of(r, text, sizeof text);
  if (df_failure_check(r.u.failure, &df_error_timeout, NULL)) {
    say(j->demo, "%s: gave up after %g s: %s", j->name, j->timeout, text);
    j->demo->timed_out++;
  } else {
    say(j->demo, "%s: failed, handled: %s", j->name, text);
    j->demo->failed++;
  }
  df_result_drop(r);
  return df_none();
}

static int submit(job *j) {
  df_deferred *d = df_semaphore_run(j->demo->workers, start_job, j);
  if (!d) return DF_ENOMEM;
  int rc = 0;
  if (j->timeout > 0)
    rc = df_deferred_add_timeout(d, j->demo->clock, j->timeout, NULL, NULL);
  if (rc == 0) rc = df_deferred_add_callbacks(d, job_done, j, job_failed, j);
  df_deferred_unref(d);
  return rc;
}

/* --- the mirrors ---------------------------------------------------------- */

static df_result mirror_answers(void *arg) {
  mirror *m = arg;
  if (!m->answer)
    return df_raise(&connection_refused, "%s: connection refused", m->name);
  say(m->demo, "mirror %s: answers %s", m->name, m->answer);
  return df_string(m->answer);
}

/* What became of a mirror that did not win: refused, or cancelled by
 * df_first_success once another had answered. Passes the failure on to
 * first_success's own stage. */
static df_result mirror_lost(df_result r, void *arg) {
  mirror *m = arg;
  char text[160];
  if (df_failure_check(r.u.failure, &df_error_cancelled, NULL))
    say(m->demo, "mirror %s: cancelled, another answered first", m->name);
  else
    say(m->demo, "mirror %s: %s", m->name, text_of(r, text, sizeof text));
  return r;
}

static df_result got_config(df_result r, void *arg) {
  demo *demo = arg;
  df_first_result *first = df_first_result_of(r);
  if (first && first->value.kind == DF_STRING)
    snprintf(demo->config, sizeof demo->config, "%s (mirror #%zu)",
             first->value.u.s, first->index);
  say(demo, "config: %s", demo->config);
  df_result_drop(r);
  return df_none();
}

static df_result no_config(df_result r, void *arg) {
  demo *demo = arg;
  char text[160];
  say(demo, "config: every mirror failed: %s", text_of(r, text, sizeof text));
  df_result_drop(r);
  return df_none();
}

static int ask_mirrors(mirror *mirrors, size_t n) {
  df_deferred *asked[8];
  size_t made = 0;
  int rc = 0;
  for (; made < n && rc == 0; made++) {
    asked[made] = df_defer_later(mirrors[made].demo->clock,
                                 mirrors[made].seconds, mirror_answers,
                                 &mirrors[made]);
    if (!asked[made]) break;
    rc = df_deferred_add_errback(asked[made], mirror_lost, &mirrors[made]);
  }
  df_deferred *config = NULL;
  if (made == n && rc == 0) {
    config = df_first_success(asked, n, DF_LIST_CONSUME_ERRORS);
    if (config)
      rc = df_deferred_add_callbacks(config, got_config, mirrors[0].demo,
                                     no_config, mirrors[0].demo);
  }
  if (!config && rc == 0) rc = DF_ENOMEM;
  for (size_t i = 0; i < made; i++) df_deferred_unref(asked[i]);
  df_deferred_unref(config);
  return rc;
}

/* --- the step that hangs ------------------------------------------------------ */

static df_result wait_for_sign_off(df_result r, void *arg) {
  demo *demo = arg;
  df_result_drop(r);
  say(demo, "deploy: waits for a sign-off");
  return df_wait_on(df_deferred_ref(demo->sign_off));
}

static df_result deployed(df_result r, void *arg) {
  say(arg, "deploy: signed off, deployed");
  return r;
}

static int deploy(demo *demo) {
  demo->sign_off = df_deferred_new();
  demo->deploy = df_deferred_new();
  if (!demo->sign_off || !demo->deploy) return DF_ENOMEM;
  int rc = df_deferred_add_callback(demo->deploy, wait_for_sign_off, demo);
  if (rc == 0) rc = df_deferred_add_callback(demo->deploy, deployed, demo);
  if (rc == 0) rc = df_deferred_callback(demo->deploy, df_none());
  return rc;
}

/* --- the run ---------------------------------------------------------------- */

/* Advance the clock to each next call until none is left. */
static void run_clock(df_clock *clock) {
  df_delayed_call *next;
  while (df_test_clock_get_delayed_calls(clock, &next, 1) > 0) {
    double wait = df_delayed_call_time(next) - df_clock_seconds(clock);
    df_test_clock_advance(clock, wait > 0 ? wait : 0);
  }
}

static int workload(demo *demo) {
  static job jobs[] = {
      {NULL, "compile", 2.0, 0, "compile: 120 objects"},
      {NULL, "test", 3.0, 0, "test: 48 passed"},
      {NULL, "package", 1.0, 0, NULL},
      {NULL, "upload", 10.0, 4.0, "upload: done"},
  };
  static mirror mirrors[] = {
      {NULL, "a", 0.5, NULL},
      {NULL, "b", 1.5, "config v7"},
      {NULL, "c", 5.0, "config v6"},
  };
  size_t n_jobs = sizeof jobs / sizeof jobs[0];
  size_t n_mirrors = sizeof mirrors / sizeof mirrors[0];
  say(demo, "%zu jobs, %ld at a time; config asked of %zu mirrors", n_jobs,
      df_semaphore_limit(demo->workers), n_mirrors);
  int rc = 0;
  for (size_t i = 0; i < n_jobs && rc == 0; i++) {
    jobs[i].demo = demo;
    rc = submit(&jobs[i]);
  }
  for (size_t i = 0; i < n_mirrors; i++) mirrors[i].demo = demo;
  if (rc == 0) rc = ask_mirrors(mirrors, n_mirrors);
  if (rc == 0) rc = deploy(demo);
  if (rc == 0) run_clock(demo->clock);
  say(demo, "all done: %d jobs succeeded, %d failed (handled), %d timed out",
      demo->succeeded, demo->failed, demo->timed_out);
  if (rc == 0 && df_deferred_waiting_on(demo->deploy) == demo->sign_off)
    say(demo, "deploy: still waiting for its sign-off: it hangs");
  return rc;
}

/* --- the command line ---------------------------------------------------------- */

static const char usage[] =
    "usage: jobs-demo [--dot FILE] [--trace FILE] [--events] [--dump-waiting]";

static void help(void) {
  printf("%s\n\n"
         "Run a small workload of deferreds on the test clock (four jobs\n"
         "sharing two workers, one failing, one timing out, a race of three\n"
         "mirrors whose losers are cancelled, and a step left waiting for\n"
         "ever), print what happened, and write the firing log of the run.\n\n"
         "  --dot FILE     write the firing log as a Graphviz graph\n"
         "                 (render it: dot -Tsvg FILE -o jobs.svg)\n"
         "  --trace FILE   write it as Chrome trace-event JSON (open it at\n"
         "                 ui.perfetto.dev or in chrome://tracing)\n"
         "  --events       print the firing log, one line per event\n"
         "  --dump-waiting run in debug mode and list the deferreds still\n"
         "                 waiting at the end (df_dump_waiting)\n"
         "  --help         show this help\n\n"
         "Exit status: 0 on success, 1 if a file cannot be written or memory\n"
         "runs out, 2 for a bad command line.\n",
         usage);
}

static int bad_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "jobs-demo: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n%s\ntry \"jobs-demo --help\" for more\n", usage);
  return 2;
}

/* An output file named on the command line, opened before the run so that
 * a file that cannot be written is reported before anything happens. */
typedef struct output {
  const char *option; /* "--dot" */
  const char *path;
  FILE *file;
  int fd;             /* open, not yet a FILE: -1 if none */
  bool existed;       /* the file was there: never removed */
  struct stat st;
} output;

/* Open without truncating: the two outputs and standard output are first
 * told apart by what they are (device and inode), not by their names, so
 * that "x", "./x", a hard link and a symbolic link to it are one file, and
 * a file named twice is refused with its contents untouched. */
static bool open_output(output *o) {
  if (!o->path) return true;
  struct stat before;
  o->existed = stat(o->path, &before) == 0;
  o->fd = open(o->path, O_WRONLY | O_CREAT, 0666);
  if (o->fd < 0 || fstat(o->fd, &o->st) != 0) {
    fprintf(stderr, "jobs-demo: cannot write \"%s\": %s\n", o->path,
            strerror(errno));
    return false;
  }
  return true;
}

/* Regular files only: two outputs may well both be /dev/null. */
static bool same_file(const struct stat *a, const struct stat *b) {
  return S_ISREG(a->st_mode) && S_ISREG(b->st_mode) && a->st_dev == b->st_dev &&
         a->st_ino == b->st_ino;
}

/* Refuse one file for both outputs, or an output that is standard
 * output's own file (the account would be overwritten). Returns 0 or
 * the exit status, 2. */
static int check_outputs(const output *dot, const output *trace) {
  struct stat out;
  bool have_out = fstat(STDOUT_FILENO, &out) == 0;
  if (dot->fd >= 0 && trace->fd >= 0 && same_file(&dot->st, &trace->st))
    return bad_usage("--dot \"%s\" and --trace \"%s\" are the same file",
                     dot->path, trace->path);
  const output *both[] = {dot, trace};
  for (int i = 0; i < 2; i++)
    if (both[i]->fd >= 0 && have_out && same_file(&both[i]->st, &out))
      return bad_usage("%s \"%s\" is standard output", both[i]->option,
                       both[i]->path);
  return 0;
}

/* Truncate and make it a FILE; false after a message. */
static bool start_output(output *o) {
  if (o->fd < 0) return true;
  if ((S_ISREG(o->st.st_mode) && ftruncate(o->fd, 0) != 0) ||
      !(o->file = fdopen(o->fd, "w"))) {
    fprintf(stderr, "jobs-demo: cannot write \"%s\": %s\n", o->path,
            strerror(errno));
    return false;
  }
  o->fd = -1; /* the FILE's now */
  return true;
}

/* Close an output that will not be written; a file it made goes again. */
static void abandon_output(output *o) {
  if (o->file) fclose(o->file);
  if (o->fd >= 0) close(o->fd);
  if ((o->file || o->fd >= 0) && !o->existed) unlink(o->path);
  o->file = NULL;
  o->fd = -1;
}

/* Write with `write`, close, and say so; false (after a message) on an
 * error. */
static bool finish_output(output *o, const df_firing_log *log,
                          int (*write)(const df_firing_log *, FILE *),
                          const char *what) {
  if (!o->file) return true;
  int rc = write(log, o->file);
  if (fclose(o->file) != 0 && rc == 0) rc = -errno;
  o->file = NULL;
  if (rc != 0) {
    fprintf(stderr, "jobs-demo: cannot write \"%s\": %s\n", o->path,
            df_strerror(rc));
    return false;
  }
  printf("wrote %s to %s\n", what, o->path);
  return true;
}

int main(int argc, char **argv) {
  output dot = {"--dot", NULL, NULL, -1, false, {0}};
  output trace = {"--trace", NULL, NULL, -1, false, {0}};
  bool events = false, dump_waiting = false;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      help();
      return 0;
    } else if (strcmp(arg, "--events") == 0) {
      events = true;
    } else if (strcmp(arg, "--dump-waiting") == 0) {
      dump_waiting = true;
    } else if (strcmp(arg, "--dot") == 0 || strcmp(arg, "--trace") == 0) {
      output *o = arg[2] == 'd' ? &dot : &trace;
      if (i + 1 >= argc) return bad_usage("%s needs a FILE", arg);
      if (o->path)
        return bad_usage("%s given twice (\"%s\", then \"%s\")", arg, o->path,
                         argv[i + 1]);
      o->path = argv[++i];
    } else {
      return bad_usage("unknown option \"%s\"", arg);
    }
  }
  int status = 0;
  if (!open_output(&dot) || !open_output(&trace))
    status = 1;
  else if ((status = check_outputs(&dot, &trace)) == 0 &&
           (!start_output(&dot) || !start_output(&trace)))
    status = 1;
  if (status != 0) {
    abandon_output(&dot);
    abandon_output(&trace);
    return status;
  }

  /* Debug mode keeps a list of the live deferreds (and checks each use),
   * which df_dump_waiting reads: it must be on before they are made. */
  if (dump_waiting) df_set_debugging(true);
  demo demo = {NULL, NULL, 0, 0, 0, "none", NULL, NULL};
  df_firing_log *log = NULL;
  int rc = DF_ENOMEM;
  demo.clock = df_test_clock_new();
  df_firing_log_options options = {demo.clock, 0, 0};
  if (demo.clock && df_semaphore_new(2, &demo.workers) == 0 &&
      df_firing_log_start(&options, &log) == 0) {
    rc = workload(&demo);
    df_firing_log_stop(log);
    if (rc == 0 && dump_waiting) df_dump_waiting(stdout);
  }
  df_semaphore_free(demo.workers);
  df_clock_free(demo.clock);
  /* The hanging pair only hold each other now: freed together. */
  df_deferred_unref(demo.deploy);
  df_deferred_unref(demo.sign_off);
  if (rc != 0) {
    fprintf(stderr, "jobs-demo: %s\n", df_strerror(rc));
    df_firing_log_free(log);
    return 1;
  }

  printf("firing log: %zu events about %zu deferreds, %llu dropped\n",
         df_firing_log_count(log), df_firing_log_deferred_count(log),
         (unsigned long long)df_firing_log_dropped(log));
  bool ok = true;
  if (events) {
    fflush(stdout);
    ok = df_firing_log_write_text(log, stdout) == 0;
  }
  ok &= finish_output(&dot, log, df_firing_log_write_dot, "the graph");
  ok &= finish_output(&trace, log, df_firing_log_write_trace, "the trace");
  df_firing_log_free(log);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "jobs-demo: cannot write to standard output: %s\n",
            strerror(errno));
    return 1;
  }
  return ok ? 0 : 1;
}
