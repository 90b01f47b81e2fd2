/* The limit the poetry benchmark measures poetry-server against: a poetry
 * server on libuv alone, as a libuv programmer would write it for speed,
 * doing the job of the tutorial's slow poetry server.
 *
 *   bare_poetry_server [--delay SECONDS] [--num-bytes N] [--backlog N] FILE
 *
 * Listens on 127.0.0.1, a free port, with the given backlog (default
 * 65535, as libdeferred-uv's DF_LISTEN_BACKLOG_DEFAULT: the kernel caps it
 * at net.core.somaxconn); prints "listening on 127.0.0.1:PORT", flushed;
 * runs until SIGTERM or SIGINT, then exits 0.
 *
 * With --delay 0 (the default) each connection is accepted, sent the
 * whole poem and closed: one uv_try_write of the poem, which the kernel
 * takes whole on loopback, and a close (the kernel sends the data, then
 * the FIN); only if the kernel takes part of it is the rest queued with
 * uv_write, straight from the poem (no copy), and the close waits for
 * it. Nothing is allocated but the connection itself, and nothing is read:
 * accept, write, close.
 *
 * With a delay, the slow server: N bytes (default 10) at once, then N
 * more every SECONDS from a timer of the connection's own, then the
 * close. This is the mode the benchmark's memory case uses: a connection
 * costs its uv_tcp_t, its uv_timer_t and a few counters, one allocation:
 *
 *   +--------------------+---------------------+-------------------+
 *   | uv_tcp_t (248 B)   | uv_timer_t (152 B)  | sent, handles     |
 *   +--------------------+---------------------+-------------------+
 *
 * A write the kernel does not take at once (a client that stopped
 * reading) stops the timer until uv_write has sent it; a failed write
 * closes the connection. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "bare_server.h"
#include "poem.h"

static uv_loop_t *loop;
static char *poem;
static size_t poem_size;
static uint64_t delay_ms;
static size_t chunk = 10;

typedef struct conn {
  uv_tcp_t tcp;     /* first: a handle is its connection */
  uv_timer_t timer; /* slow mode only */
  size_t sent;      /* bytes of the poem written or queued */
  int handles;      /* handles not yet closed: free the conn at 0 */
  bool timed;       /* the timer is initialised */
} conn;

static void handle_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->handles == 0) free(c);
}

static void close_conn(conn *c) {
  if (c->timed && !uv_is_closing((uv_handle_t *)&c->timer))
    uv_close((uv_handle_t *)&c->timer, handle_closed);
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, handle_closed);
}

static void send_chunk(conn *c);

static void queued_write_done(uv_write_t *req, int status) {
  conn *c = req->data;
  free(req);
  if (status == UV_ECANCELED) return;
  if (status < 0 || c->sent == poem_size) {
    close_conn(c);
    return;
  }
  uv_timer_again(&c->timer);
}

/* Write poem[sent, sent+len): now if the kernel takes it, else queued.
 * Returns false if the connection was closed. */
static bool write_now_or_queue(conn *c, size_t len) {
  uv_buf_t buf = uv_buf_init(poem + c->sent, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) {
    close_conn(c);
    return false;
  }
  c->sent += len;
  if ((size_t)n == len) return true;
  uv_write_t *req = malloc(sizeof *req);
  buf = uv_buf_init(buf.base + n, (unsigned)(len - (size_t)n));
  if (!req || uv_write(req, (uv_stream_t *)&c->tcp, &buf, 1, queued_write_done) < 0) {
    free(req);
    close_conn(c);
    return false;
  }
  req->data = c;
  if (c->timed) uv_timer_stop(&c->timer);
  return false;
}

static void send_chunk(conn *c) {
  size_t len = poem_size - c->sent < chunk ? poem_size - c->sent : chunk;
  if (write_now_or_queue(c, len) && c->sent == poem_size) close_conn(c);
}

static void tick(uv_timer_t *t) { send_chunk(t->data); }

static void accepted(uv_stream_t *server, int status) {
  if (status < 0) return;
  conn *c = malloc(sizeof *c);
  if (!c) return; /* it waits in the backlog */
  c->sent = 0;
  c->handles = 1;
  c->timed = false;
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
    close_conn(c);
    return;
  }
  if (!delay_ms) {
    if (write_now_or_queue(c, poem_size)) close_conn(c);
    return;
  }
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  c->handles = 2;
  c->timed = true;
  uv_timer_start(&c->timer, tick, delay_ms, delay_ms);
  send_chunk(c);
}

static int usage(void) {
  fprintf(stderr, "usage: bare_poetry_server [--delay SECONDS] [--num-bytes N] "
                  "[--backlog N] FILE\n");
  return 2;
}

int main(int argc, char **argv) {
  long backlog = 65535;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    char *end = NULL;
    if (strcmp(argv[i], "--delay") == 0 && i + 1 < argc) {
      double d = strtod(argv[++i], &end);
      if (!(d >= 0 && d < 1e6)) return usage();
      delay_ms = (uint64_t)(d * 1000 + 0.5);
    } else if (strcmp(argv[i], "--num-bytes") == 0 && i + 1 < argc) {
      long n = strtol(argv[++i], &end, 10);
      if (n < 1) return usage();
      chunk = (size_t)n;
    } else if (strcmp(argv[i], "--backlog") == 0 && i + 1 < argc) {
      backlog = strtol(argv[++i], &end, 10);
      if (backlog < 1 || backlog > 0x7fffffff) return usage();
    } else if (argv[i][0] != '-' && !path) {
      path = argv[i];
    } else {
      return usage();
    }
    if (end && *end) return usage();
  }
  if (!path) return usage();
  if (!(poem = poem_read("bare_poetry_server", path, &poem_size))) return 1;
  loop = uv_default_loop();
  return bench_bare_serve("bare_poetry_server", (int)backlog, accepted);
}
