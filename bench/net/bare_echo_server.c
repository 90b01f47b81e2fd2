/* The limit the benchmark measures libdeferred-uv against: an echo server
 * written on libuv alone, as an experienced libuv programmer would write
 * it for speed (one read buffer for all connections, uv_try_write before
 * queueing a copy, no allocation per read), doing exactly what
 * examples/echo-server.c does: echo until the client half-closes, then
 * close once the echo is out.
 *
 *   bare_echo_server       listens on 127.0.0.1, a free port; prints
 *                          "listening on 127.0.0.1:PORT"; runs until
 *                          SIGTERM or SIGINT */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static char buffer[65536];
static uv_loop_t *loop;

typedef struct conn {
  uv_tcp_t handle;
  int writes;   /* queued writes */
  int eof;      /* the client half-closed: close once written */
} conn;

typedef struct pending_write {
  uv_write_t req;
  char data[];
} pending_write;

static void closed(uv_handle_t *h) { free(h); }

static void written(uv_write_t *req, int status) {
  conn *c = (conn *)req->handle;
  free(req);
  c->writes--;
  if (status == UV_ECANCELED) return;
  if (status < 0 || (c->eof && c->writes == 0)) uv_close((uv_handle_t *)c, closed);
}

static void give_buffer(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(buffer, sizeof buffer);
}

static void got(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = (conn *)s;
  if (nread > 0) {
    uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
    int sent = c->writes ? UV_EAGAIN : uv_try_write(s, &out, 1);
    if (sent == nread) return;
    if (sent < 0 && sent != UV_EAGAIN) {
      uv_close((uv_handle_t *)c, closed);
      return;
    }
    size_t skip = sent > 0 ? (size_t)sent : 0;
    pending_write *w = malloc(sizeof *w + (size_t)nread - skip);
    memcpy(w->data, buf->base + skip, (size_t)nread - skip);
    uv_buf_t rest = uv_buf_init(w->data, (unsigned)((size_t)nread - skip));
    c->writes++;
    uv_write(&w->req, s, &rest, 1, written);
  } else if (nread == UV_EOF) {
    c->eof = 1;
    uv_read_stop(s);
    if (c->writes == 0) uv_close((uv_handle_t *)c, closed);
  } else if (nread < 0) {
    uv_close((uv_handle_t *)c, closed);
  }
}

static void accepted(uv_stream_t *server, int status) {
  if (status < 0) return;
  conn *c = calloc(1, sizeof *c);
  uv_tcp_init(loop, &c->handle);
  if (uv_accept(server, (uv_stream_t *)c) < 0) {
    uv_close((uv_handle_t *)c, closed);
    return;
  }
  uv_read_start((uv_stream_t *)c, give_buffer, got);
}

static void stop(uv_signal_t *s, int signum) {
  (void)signum;
  uv_stop(s->loop);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  if (uv_tcp_bind(&server, (struct sockaddr *)&addr, 0) < 0 ||
      uv_listen((uv_stream_t *)&server, 65535, accepted) < 0) {
    fprintf(stderr, "bare_echo_server: cannot listen\n");
    return 1;
  }
  int len = sizeof addr;
  uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &len);
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  uv_signal_t term, intr;
  uv_signal_init(loop, &term);
  uv_signal_init(loop, &intr);
  uv_signal_start(&term, stop, SIGTERM);
  uv_signal_start(&intr, stop, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
