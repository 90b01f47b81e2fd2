/* The poetry benchmark's load client, on libuv alone (so that it costs the
 * same whatever server it drives; bench/net/client.c has the pieces it
 * shares with the echo benchmark's client):
 *
 *   poetry_load poems PORT FILE TOTAL INFLIGHT [OPTIONS]
 *       TOTAL downloads from 127.0.0.1:PORT, INFLIGHT of them at a time;
 *       each reads its poem to the end of file and checks every byte
 *       against FILE. With TOTAL = INFLIGHT it is a burst: every
 *       connection is started at once, before the first is served.
 *       Prints one line,
 *           poems=T complete=C short=S corrupt=X failed=F outstanding=O seconds=W
 *       (W: wall time from the first connect until the last poem was in,
 *       or until the timeout), and exits 0 if every poem came in whole, 1
 *       if any was lost: cut short by a clean close (short), with a wrong
 *       or extra byte (corrupt), refused or reset (failed), or still
 *       outstanding at the timeout.
 *   poetry_load slow PORT FILE TOTAL CONCURRENCY [OPTIONS] [--no-read]
 *       Opens TOTAL connections, CONCURRENCY being made at a time, and
 *       holds them open: each reads what the (slow) server sends and
 *       checks it, or, with --no-read, reads nothing at all. Once every
 *       connection has received its first bytes (so the server has
 *       accepted it and holds it; with --no-read, once every one is
 *       connected) prints "held TOTAL", and keeps them until its standard
 *       input closes (the driver reads the server's memory meanwhile);
 *       then prints "released open=N closed=K" and exits 0 if all TOTAL
 *       were still open, 1 if the server closed or lost any.
 *
 * OPTIONS:
 *   --timeout SECONDS  end the run after SECONDS (default 60) whatever is
 *                      outstanding, saying what was: a server that drops a
 *                      connection from a full accept queue leaves the
 *                      client waiting forever for a poem that never comes
 *                      (in slow mode the timeout applies until "held")
 *   --sources N        spread the connections over N source addresses,
 *                      127.0.0.1 to 127.0.0.N (default 1): each has the
 *                      whole ephemeral port range to itself
 *
 * Raises its descriptor limit to what it needs (at most 20,000). Usage
 * errors exit 2. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "client.h"
#include "poem.h"

enum stage {
  CONNECTING, /* connect not yet answered */
  WAITING,    /* connected, nothing received yet */
  RECEIVING,  /* part of the poem received */
  STAGES
};

typedef struct download {
  uv_tcp_t tcp; /* first: a handle is its download */
  uv_connect_t connect;
  size_t got;        /* bytes received, each matching the poem */
  enum stage stage;
  bool ended;        /* counted as complete or lost already */
} download;

/* What became of the downloads. */
enum outcome { COMPLETE, SHORT, CORRUPT, FAILED, OUTCOMES };
static const char *const outcome_names[OUTCOMES] = {"complete", "short",
                                                    "corrupt", "failed"};

static uv_loop_t *loop;
static struct sockaddr_in server;
static char *poem;
static size_t poem_size;
static bool slow_mode, reading = true;
static long total, started, closed_count, held;
static long in_stage[STAGES];
static long outcomes[OUTCOMES];
static char first_error[OUTCOMES][160]; /* the first reason for each loss */
static unsigned sources = 1;
static double timeout_seconds = 60;
static uint64_t t0, t_last;
static uv_timer_t deadline;
static bool over; /* timed out, released, or every download ended */

static void fatal(const char *what, int rc) {
  fprintf(stderr, "%s: %s: %s\n", bench_client_name, what, uv_strerror(rc));
  exit(1);
}

static void enter(download *d, enum stage s) {
  in_stage[d->stage]--;
  d->stage = s;
  in_stage[s]++;
}

static void start_next(void);
static void end_run(void);
static void give_up_holding(const char *why);

static void closed(uv_handle_t *h) {
  free(h);
  closed_count++;
  if (over || slow_mode) return; /* slow mode: the driver ends the run */
  start_next();
  if (closed_count == total) end_run();
}

/* The download is over, as `outcome`; `why` says why it was lost. */
static void finish(download *d, enum outcome outcome, const char *why, int rc) {
  if (d->ended) return;
  d->ended = true;
  in_stage[d->stage]--;
  outcomes[outcome]++;
  if (outcome == COMPLETE) t_last = uv_hrtime();
  if (outcome != COMPLETE && !first_error[outcome][0])
    snprintf(first_error[outcome], sizeof first_error[outcome], "%s%s%s after %zu bytes",
             why, rc ? ": " : "", rc ? uv_strerror(rc) : "", d->got);
  if (!uv_is_closing((uv_handle_t *)&d->tcp)) uv_close((uv_handle_t *)&d->tcp, closed);
  if (slow_mode && !over && held < total) give_up_holding("a connection was lost");
}

static void got(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  download *d = (download *)s;
  if (n == 0) return;
  if (n == UV_EOF) {
    if (d->got == poem_size)
      finish(d, COMPLETE, NULL, 0);
    else
      finish(d, SHORT, "closed by the server", 0);
    return;
  }
  if (n < 0) {
    finish(d, FAILED, "read", (int)n);
    return;
  }
  if ((size_t)n > poem_size - d->got) {
    finish(d, CORRUPT, "more bytes than the poem has", 0);
    return;
  }
  if (memcmp(b->base, poem + d->got, (size_t)n) != 0) {
    finish(d, CORRUPT, "a byte that differs from the poem's", 0);
    return;
  }
  d->got += (size_t)n;
  if (d->stage == WAITING) {
    enter(d, RECEIVING);
    if (slow_mode && ++held == total) {
      printf("held %ld\n", held);
      fflush(stdout);
      uv_timer_stop(&deadline);
    }
  }
}

static void connected(uv_connect_t *req, int status) {
  download *d = req->data;
  if (status == UV_ECANCELED) return; /* closed at the timeout */
  if (status < 0) {
    finish(d, FAILED, "connect", status);
    return;
  }
  enter(d, WAITING);
  if (slow_mode && !reading) {
    if (++held == total) {
      printf("held %ld\n", held);
      fflush(stdout);
      uv_timer_stop(&deadline);
    } else {
      start_next();
    }
    return;
  }
  int rc = uv_read_start((uv_stream_t *)d, bench_client_buffer, got);
  if (rc < 0) {
    finish(d, FAILED, "read", rc);
    return;
  }
  if (slow_mode) start_next(); /* CONCURRENCY connects at a time */
}

static void start_next(void) {
  if (over || started == total) return;
  download *d = calloc(1, sizeof *d);
  if (!d) fatal("out of memory", UV_ENOMEM);
  d->connect.data = d;
  d->stage = CONNECTING;
  in_stage[CONNECTING]++;
  unsigned source = (unsigned)(started % sources);
  started++;
  int rc = bench_client_connect(loop, &d->tcp, &d->connect, &server, source,
                                connected);
  if (rc < 0) finish(d, FAILED, "connect", rc);
}

static long lost(void) { return total - outcomes[COMPLETE]; }

/* A line on stderr for each way downloads were lost, with the first
 * reason: `when` qualifies them (" while held"). */
static void report_losses(const char *when) {
  for (int o = 1; o < OUTCOMES; o++)
    if (outcomes[o])
      fprintf(stderr, "%s: %ld %s%s, the first: %s\n", bench_client_name,
              outcomes[o], outcome_names[o], when, first_error[o]);
}

/* Every download has ended, or the time is up: the result line. */
static void end_run(void) {
  over = true;
  uint64_t end = lost() ? uv_hrtime() : t_last;
  long outstanding = total - outcomes[COMPLETE] - outcomes[SHORT] -
                     outcomes[CORRUPT] - outcomes[FAILED];
  printf("poems=%ld", total);
  for (int o = 0; o < OUTCOMES; o++) printf(" %s=%ld", outcome_names[o], outcomes[o]);
  printf(" outstanding=%ld seconds=%.6f\n", outstanding, (double)(end - t0) / 1e9);
  fflush(stdout);
  report_losses("");
  if (outstanding)
    fprintf(stderr, "%s: %ld outstanding at the timeout (%g s): %ld never "
            "started, %ld connecting, %ld connected with nothing received, %ld "
            "part-way through the poem\n", bench_client_name, outstanding,
            timeout_seconds, total - started, in_stage[CONNECTING],
            in_stage[WAITING], in_stage[RECEIVING]);
  bench_client_close_all(loop, closed);
}

/* Slow mode, before "held": a connection was lost, or the time is up. */
static void give_up_holding(const char *why) {
  over = true;
  fprintf(stderr, "%s: %s with %ld of %ld connections held: %ld connecting, "
          "%ld connected with nothing received\n", bench_client_name, why, held,
          total, in_stage[CONNECTING], in_stage[WAITING]);
  report_losses("");
  held = -1; /* main's exit status: not held */
  bench_client_close_all(loop, closed);
}

static void timed_out(uv_timer_t *t) {
  (void)t;
  if (slow_mode)
    give_up_holding("timed out");
  else
    end_run();
}

/* Slow mode: the driver has read the server's memory. */
static void release(void) {
  over = true;
  long open = in_stage[WAITING] + in_stage[RECEIVING];
  printf("released open=%ld closed=%ld\n", open, total - open);
  fflush(stdout);
  report_losses(" while held");
  bench_client_close_all(loop, closed);
}

static int usage(void) {
  fprintf(stderr,
          "usage: poetry_load poems PORT FILE TOTAL INFLIGHT [--timeout S] [--sources N]\n"
          "       poetry_load slow PORT FILE TOTAL CONCURRENCY [--timeout S] "
          "[--sources N] [--no-read]\n");
  return 2;
}

static bool positive(const char *text, long max, long *out) {
  char *end;
  long v = strtol(text, &end, 10);
  if (end == text || *end || v < 1 || v > max) return false;
  *out = v;
  return true;
}

int main(int argc, char **argv) {
  bench_client_name = "poetry_load";
  long port, concurrency, n;
  if (argc < 6) return usage();
  if (strcmp(argv[1], "slow") == 0)
    slow_mode = true;
  else if (strcmp(argv[1], "poems") != 0)
    return usage();
  if (!positive(argv[2], 65535, &port) || !positive(argv[4], 1000000000, &total) ||
      !positive(argv[5], total, &concurrency))
    return usage();
  for (int i = 6; i < argc; i++) {
    if (strcmp(argv[i], "--no-read") == 0 && slow_mode) {
      reading = false;
    } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      char *end;
      timeout_seconds = strtod(argv[++i], &end);
      if (*end || !(timeout_seconds > 0 && timeout_seconds < 1e6)) return usage();
    } else if (strcmp(argv[i], "--sources") == 0 && i + 1 < argc) {
      if (!positive(argv[++i], 254, &n)) return usage();
      sources = (unsigned)n;
    } else {
      return usage();
    }
  }
  poem = poem_read(bench_client_name, argv[3], &poem_size);
  if (!poem) return 2;
  /* one descriptor per connection open at once, and a few spare */
  if (bench_client_raise_nofile((slow_mode ? total : concurrency) + 16) < 0) return 1;
  loop = uv_default_loop();
  uv_ip4_addr("127.0.0.1", (int)port, &server);
  int rc = uv_timer_init(loop, &deadline);
  if (rc == 0)
    rc = uv_timer_start(&deadline, timed_out, (uint64_t)(timeout_seconds * 1000), 0);
  if (rc < 0) fatal("timer", rc);
  if (slow_mode && bench_client_watch_stdin(loop, release) < 0) return 1;
  t0 = t_last = uv_hrtime();
  for (long i = 0; i < concurrency; i++) start_next();
  uv_run(loop, UV_RUN_DEFAULT);
  int status = slow_mode ? !(held == total && in_stage[WAITING] + in_stage[RECEIVING] == total)
                         : lost() > 0;
  uv_loop_close(loop); /* every handle is closed by now */
  free(poem);
  return status;
}
