/* Listening and running for the bare libuv servers (bare_server.h). */
#include "bare_server.h"

#include <signal.h>
#include <stdio.h>

static void stop(uv_signal_t *s, int signum) {
  (void)signum;
  uv_stop(s->loop);
}

int bench_bare_serve(const char *name, int backlog, uv_connection_cb accepted) {
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  int rc = uv_tcp_bind(&server, (struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&server, backlog, accepted);
  if (rc < 0) {
    fprintf(stderr, "%s: cannot listen: %s\n", name, uv_strerror(rc));
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
