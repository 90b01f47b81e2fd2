/* The benchmark's load client, on libuv alone (so that the client costs
 * the same whatever server it drives):
 *
 *   net_load echo PORT CONNS SIZE TRIPS
 *       CONNS connections to 127.0.0.1:PORT each send SIZE bytes and wait
 *       for all SIZE back, again and again, TRIPS round trips in all;
 *       then each half-closes and waits for the server to close.
 *   net_load connect PORT TOTAL CONCURRENCY
 *       TOTAL connections, CONCURRENCY at a time: connect, send 1 byte,
 *       read it back, half-close, wait for the server's close.
 *   net_load hold PORT TOTAL CONCURRENCY
 *       TOTAL connections, CONCURRENCY being made at a time, each
 *       connected and then left idle; prints "held TOTAL" once all are up
 *       and keeps them until its standard input closes (for the driver
 *       to read the server's memory meanwhile).
 *
 * Prints "ok N SECONDS" (N operations, wall time) and exits 0, or a
 * message and 1 if anything failed (a refused or reset connection, a
 * short echo): a benchmark that loses connections is not a result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct client {
  uv_tcp_t handle;
  uv_connect_t connect;
  uv_shutdown_t shutdown;
  size_t got;
} client;

static uv_loop_t *loop;
static struct sockaddr_in server;
static char *message;
static size_t size;
static long total, started, finished, trips_started;
static int failed;
static char rbuf[65536];

static void fail(const char *what, int status) {
  if (!failed) fprintf(stderr, "net_load: %s: %s\n", what, uv_strerror(status));
  failed = 1;
  uv_stop(loop);
}

static void start_next(void);
static void closed(uv_handle_t *h) {
  free(h);
  finished++;
  if (finished == total)
    uv_stop(loop);
  else
    start_next();
}

static void give(uv_handle_t *h, size_t s, uv_buf_t *b) {
  (void)h;
  (void)s;
  *b = uv_buf_init(rbuf, sizeof rbuf);
}

static void write_done(uv_write_t *req, int status) {
  free(req);
  if (status < 0) fail("write", status);
}

static void send_message(client *c) {
  uv_buf_t b = uv_buf_init(message, (unsigned)size);
  if (uv_try_write((uv_stream_t *)c, &b, 1) == (int)size) return;
  uv_write_t *req = malloc(sizeof *req);
  uv_write(req, (uv_stream_t *)c, &b, 1, write_done);
}

static void shut(uv_shutdown_t *req, int status) {
  if (status < 0) fail("shutdown", status);
  (void)req;
}

static int echo_mode, hold_mode;
static long held;
static uv_pipe_t input;
static long trips_total;

static void got(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  client *c = (client *)s;
  (void)b;
  if (n == UV_EOF) {
    uv_close((uv_handle_t *)c, closed);
    return;
  }
  if (n < 0) {
    fail("read", (int)n);
    return;
  }
  c->got += (size_t)n;
  if (c->got < size) return;
  if (c->got > size) {
    fprintf(stderr, "net_load: more bytes back than sent\n");
    failed = 1;
    uv_stop(loop);
    return;
  }
  c->got = 0;
  if (echo_mode && trips_started < trips_total) {
    trips_started++;
    send_message(c);
  } else {
    uv_shutdown(&c->shutdown, s, shut);
  }
}

static void connected(uv_connect_t *req, int status) {
  client *c = req->data;
  if (status < 0) {
    fail("connect", status);
    return;
  }
  uv_tcp_nodelay(&c->handle, 1);
  if (hold_mode) {
    if (++held == total) {
      printf("held %ld\n", held);
      fflush(stdout);
    } else {
      start_next();
    }
    return;
  }
  uv_read_start((uv_stream_t *)c, give, got);
  if (echo_mode) trips_started++;
  send_message(c);
}

static void start_next(void) {
  if (started == total || failed) return;
  started++;
  client *c = calloc(1, sizeof *c);
  uv_tcp_init(loop, &c->handle);
  c->connect.data = c;
  int rc = uv_tcp_connect(&c->connect, &c->handle, (struct sockaddr *)&server,
                          connected);
  if (rc < 0) fail("connect", rc);
}

static void close_each(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* The driver closed our standard input: let go of everything. */
static void input_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)s;
  (void)b;
  if (n < 0) uv_walk(loop, close_each, NULL);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: net_load echo PORT CONNS SIZE TRIPS\n"
                    "       net_load connect PORT TOTAL CONCURRENCY 1\n");
    return 2;
  }
  loop = uv_default_loop();
  uv_ip4_addr("127.0.0.1", atoi(argv[2]), &server);
  long concurrency;
  echo_mode = strcmp(argv[1], "echo") == 0;
  hold_mode = strcmp(argv[1], "hold") == 0;
  if (echo_mode) {
    total = concurrency = atol(argv[3]);
    size = (size_t)atol(argv[4]);
    trips_total = atol(argv[5]);
  } else {
    total = atol(argv[3]);
    concurrency = atol(argv[4]);
    size = 1;
  }
  message = malloc(size);
  memset(message, 'x', size);
  uint64_t t0 = uv_hrtime();
  if (hold_mode) {
    uv_pipe_init(loop, &input, 0);
    uv_pipe_open(&input, 0);
    uv_read_start((uv_stream_t *)&input, give, input_read);
  }
  for (long i = 0; i < concurrency; i++) start_next();
  uv_run(loop, UV_RUN_DEFAULT);
  if (hold_mode) return failed;
  double seconds = (double)(uv_hrtime() - t0) / 1e9;
  if (failed) return 1;
  printf("ok %ld %.3f\n", echo_mode ? trips_total : total, seconds);
  return 0;
}
