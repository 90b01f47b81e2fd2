/* Listening on TCP with the libuv reactor (df_reactor_listen_tcp).
 *
 * The socket is made first (uv_tcp_init_ex) so that SO_REUSEPORT can be
 * set before the bind; libuv sets SO_REUSEADDR itself, as Twisted does.
 * Each connection libuv accepts gets a transport (tcp.c) and a protocol
 * from the factory, and starts reading before connection_made, so that a
 * protocol may pause or close it from there.
 *
 * Out of memory while accepting costs at most the connections it hits,
 * never the port. libuv stops watching a listening socket while a
 * connection it has taken from the kernel waits for uv_accept (libuv
 * 1.44's uv__server_io), so returning from on_connection without
 * accepting would stall the port for good. Instead:
 *
 *   no memory for the connection ──> accept it into the port's spare
 *       handle (no allocation: it lives in the port) and close it: that
 *       one connection is lost, the port goes on;
 *   the spare still closing the last one ──> the connection waits in
 *       libuv, and the retry timer (also in the port) tries again in a
 *       millisecond, with memory or with the spare free by then.
 *
 * A port has three handles, the socket, the spare and the timer; it is
 * closed once all three are (`open` counts them). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

/* How long a connection refused for want of memory waits, at most, when
 * the spare handle is busy. */
#define RETRY_MS 1

typedef struct tcp_port {
  df_listening_port base;
  uv_tcp_t handle;
  uv_tcp_t spare;      /* accepts and closes a connection we cannot serve */
  uv_timer_t retry;    /* a connection waits for the spare: try again     */
  df__uv_reactor *ur;
  int backlog;
  unsigned open;       /* handles initialised and not yet closed          */
  bool started;        /* df__port_init has run: the port is the reactor's */
  bool spare_busy;     /* the spare is closing a refused connection       */
  bool waiting;        /* a connection waits in libuv for the retry       */
} tcp_port;

/* Every handle of the port has this callback; the last one closes it. */
static void handle_closed(uv_handle_t *h) {
  tcp_port *p = h->data;
  df__uv_release(p->ur);
  if (h == (uv_handle_t *)&p->spare) p->spare_busy = false;
  if (--p->open > 0) return;
  if (p->started)
    df__port_closed(&p->base);
  else
    df__uv_free(p); /* a port that failed to start */
}

/* Close `h` if it was opened (opened() set its data) and is not closing. */
static void close_handle(tcp_port *p, uv_handle_t *h) {
  if (h->data == p && !uv_is_closing(h)) uv_close(h, handle_closed);
}

/* A handle of the port was initialised: count it, and point it at us. */
static void opened(tcp_port *p, uv_handle_t *h) {
  h->data = p;
  p->open++;
  df__uv_hold(p->ur);
}

/* libuv 1.44 stops watching the socket when uv_accept fails (it closes
 * the connection, but restarts the watcher only on success; later
 * versions restart it either way): listening again restarts it. */
static void on_connection(uv_stream_t *server, int status);
static void watch_again(tcp_port *p) {
  uv_listen((uv_stream_t *)&p->handle, p->backlog, on_connection);
}

static void retry_accept(uv_timer_t *timer);

/* A connection we cannot serve for want of memory: close it with the
 * spare, or leave it waiting for the retry if the spare is busy. */
static void refuse(tcp_port *p) {
  uv_stream_t *server = (uv_stream_t *)&p->handle;
  if (!p->spare_busy && uv_tcp_init(df__uv_loop(p->ur), &p->spare) == 0) {
    opened(p, (uv_handle_t *)&p->spare);
    p->spare_busy = true;
    if (uv_accept(server, (uv_stream_t *)&p->spare) < 0) watch_again(p);
    uv_close((uv_handle_t *)&p->spare, handle_closed);
    return;
  }
  p->waiting = true;
  uv_timer_start(&p->retry, retry_accept, RETRY_MS, 0);
}

/* Accept the connection libuv holds and give it a protocol. */
static void accept_one(tcp_port *p) {
  uv_stream_t *server = (uv_stream_t *)&p->handle;
  df__tcp_conn *c = df__tcp_conn_new(p->ur);
  if (!c) {
    refuse(p);
    return;
  }
  if (uv_accept(server, (uv_stream_t *)df__tcp_conn_handle(c)) < 0) {
    watch_again(p);
    df__tcp_conn_discard(c);
    return;
  }
  if (df__tcp_conn_start(c) < 0) { /* reset already: getpeername fails */
    df__tcp_conn_discard(c);
    return;
  }
  df_transport *t = df__tcp_conn_transport(c);
  df_address peer;
  t->ops->get_peer(t, &peer);
  df_protocol *proto = df_factory_build_protocol(p->base.factory, &peer);
  if (!proto) {
    df__tcp_conn_discard(c); /* refused by the factory, or out of memory */
    return;
  }
  df__transport_attach(t, proto);
}

static void on_connection(uv_stream_t *server, int status) {
  tcp_port *p = server->data;
  /* An accept error (EMFILE ...) leaves nothing waiting: libuv goes on. */
  if (status < 0 || p->base.state != DF__PORT_LISTENING) return;
  accept_one(p);
}

static void retry_accept(uv_timer_t *timer) {
  tcp_port *p = timer->data;
  if (!p->waiting || p->base.state != DF__PORT_LISTENING) return;
  p->waiting = false;
  accept_one(p);
}

/* stop_listening and the shutdown: close the three handles. */
static void close_port(df_listening_port *base) {
  tcp_port *p = (tcp_port *)base;
  close_handle(p, (uv_handle_t *)&p->handle);
  close_handle(p, (uv_handle_t *)&p->retry);
  /* the spare, if open, is closing already */
}

static void destroy_port(df_listening_port *base) { df__uv_free(base); }

static const df__port_ops tcp_port_ops = {close_port, destroy_port};

static int open_socket(tcp_port *p, const df__listen_request *req) {
  uv_loop_t *loop = df__uv_loop(p->ur);
  int rc = uv_timer_init(loop, &p->retry);
  if (rc < 0) return rc;
  opened(p, (uv_handle_t *)&p->retry);
  uv_tcp_t *h = &p->handle;
  int family = df_address_family(&req->address);
  rc = uv_tcp_init_ex(loop, h, (unsigned)family);
  if (rc < 0) return rc;
  opened(p, (uv_handle_t *)h);
  if (req->flags & DF_LISTEN_REUSE_PORT) {
    uv_os_fd_t fd;
    int on = 1;
    rc = uv_fileno((uv_handle_t *)h, &fd);
    if (rc == 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0)
      rc = -errno;
    if (rc < 0) return rc;
  }
  unsigned bind_flags =
      (req->flags & DF_LISTEN_IPV6_ONLY) && family == AF_INET6 ? UV_TCP_IPV6ONLY
                                                               : 0;
  rc = uv_tcp_bind(h, &req->address.u.sa, bind_flags);
  if (rc == 0) rc = uv_listen((uv_stream_t *)h, req->backlog, on_connection);
  if (rc == 0) {
    int len = sizeof p->base.address.u;
    memset(&p->base.address, 0, sizeof p->base.address);
    rc = uv_tcp_getsockname(h, &p->base.address.u.sa, &len);
  }
  return rc;
}

int df__uv_listen_tcp(df_reactor *r, const df__listen_request *req,
                      df_listening_port **out, df_failure **error) {
  tcp_port *p = df__uv_calloc(1, sizeof *p);
  int rc = DF_ENOMEM;
  if (p) {
    p->ur = df__uv_reactor_of(r);
    p->backlog = req->backlog;
    rc = open_socket(p, req);
  }
  if (rc < 0) {
    if (error)
      *error = df_network_failure(&df_error_cannot_listen, rc,
                                  "Couldn't listen on %s:%d",
                                  req->interface[0] ? req->interface : "any",
                                  req->port);
    if (p && p->open) { /* p is freed once its handles have closed */
      close_handle(p, (uv_handle_t *)&p->handle);
      close_handle(p, (uv_handle_t *)&p->retry);
    } else {
      df__uv_free(p);
    }
    return rc;
  }
  df_address bound = p->base.address;
  p->started = true;
  df__port_init(&p->base, &tcp_port_ops, r, req->factory, &bound);
  if (out) *out = df_listening_port_ref(&p->base);
  return 0;
}
