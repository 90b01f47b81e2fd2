/* The load clients' shared pieces (client.h says what each is for). */
#include "client.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

const char *bench_client_name = "load";

int bench_client_raise_nofile(long need) {
  struct rlimit lim;
  if (need > BENCH_CLIENT_MAX_FILES) {
    fprintf(stderr, "%s: %ld connections need more than %d descriptors\n",
            bench_client_name, need, BENCH_CLIENT_MAX_FILES);
    return UV_EMFILE;
  }
  if (getrlimit(RLIMIT_NOFILE, &lim) < 0) return uv_translate_sys_error(errno);
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur >= (rlim_t)need) return 0;
  rlim_t old_hard = lim.rlim_max;
  lim.rlim_cur = (rlim_t)need;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < (rlim_t)need)
    lim.rlim_max = (rlim_t)need; /* only root may */
  if (setrlimit(RLIMIT_NOFILE, &lim) < 0) {
    fprintf(stderr, "%s: cannot raise the descriptor limit to %ld (hard limit "
            "%llu): %s; try 'ulimit -n %ld'\n", bench_client_name, need,
            (unsigned long long)old_hard, strerror(errno), need);
    return UV_EMFILE;
  }
  return 0;
}

/* A socket bound to 127.0.0.(source+1) with its port left to connect. */
static int bound_socket(unsigned source, uv_os_sock_t *out) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return uv_translate_sys_error(errno);
  int one = 1;
  struct sockaddr_in from;
  memset(&from, 0, sizeof from);
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + source);
  if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0 ||
      bind(fd, (struct sockaddr *)&from, sizeof from) < 0) {
    int rc = uv_translate_sys_error(errno);
    close(fd);
    return rc;
  }
  *out = fd;
  return 0;
}

int bench_client_connect(uv_loop_t *loop, uv_tcp_t *tcp, uv_connect_t *req,
                         const struct sockaddr_in *server, unsigned source,
                         uv_connect_cb cb) {
  int rc = uv_tcp_init(loop, tcp);
  if (rc < 0) return rc;
  if (source > 0) {
    uv_os_sock_t fd = -1;
    rc = bound_socket(source, &fd);
    if (rc == 0 && (rc = uv_tcp_open(tcp, fd)) < 0) close(fd);
    if (rc < 0) return rc;
  }
  return uv_tcp_connect(req, tcp, (const struct sockaddr *)server, cb);
}

static char shared_buffer[65536];

void bench_client_buffer(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(shared_buffer, sizeof shared_buffer);
}

static uv_pipe_t input;
static void (*input_ended)(void);

static void input_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  if (n >= 0) return;
  uv_read_stop(s);
  input_ended();
}

int bench_client_watch_stdin(uv_loop_t *loop, void (*on_eof)(void)) {
  input_ended = on_eof;
  int rc = uv_pipe_init(loop, &input, 0);
  if (rc == 0) rc = uv_pipe_open(&input, 0);
  if (rc == 0) rc = uv_read_start((uv_stream_t *)&input, bench_client_buffer, input_read);
  if (rc < 0)
    fprintf(stderr, "%s: cannot watch standard input: %s\n", bench_client_name,
            uv_strerror(rc));
  return rc;
}

static void close_one(uv_handle_t *h, void *close_tcp) {
  if (uv_is_closing(h)) return;
  uv_close(h, h->type == UV_TCP ? *(uv_close_cb *)close_tcp : NULL);
}

void bench_client_close_all(uv_loop_t *loop, uv_close_cb close_tcp) {
  uv_walk(loop, close_one, &close_tcp);
}
