/* Listening on TCP with the libuv reactor (df_reactor_listen_tcp).
 *
 * The socket is made first (uv_tcp_init_ex) so that SO_REUSEPORT can be
 * set before the bind; libuv sets SO_REUSEADDR itself, as Twisted does.
 * Each connection libuv accepts gets a transport (tcp.c) and a protocol
 * from the factory, and starts reading before connection_made, so that a
 * protocol may pause or close it from there.
 *
 * Out of memory while accepting: the connection is accepted into a
 * spare handle and closed at once (one per port, allocated with it), so
 * that the port neither stalls nor leaves it waiting in the backlog. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

typedef struct tcp_port {
  df_listening_port base;
  uv_tcp_t handle;
  df__uv_reactor *ur;
  bool handle_open; /* uv_tcp_init_ex succeeded: it must be closed */
} tcp_port;

static tcp_port *port_of_handle(uv_handle_t *h) {
  return DF__CONTAINER_OF(h, tcp_port, handle);
}

/* Refused for want of memory: accept into a handle of its own and close
 * it; the handle lives in the closing callback's allocation. */
static void refused_closed(uv_handle_t *h) {
  df__uv_reactor *ur = h->data;
  df__uv_release(ur);
  df__uv_free(h);
}

static void refuse(tcp_port *p, uv_stream_t *server) {
  uv_tcp_t *spare = df__uv_malloc(sizeof *spare);
  if (!spare) return; /* it waits in the backlog for the next accept */
  uv_tcp_init(df__uv_loop(p->ur), spare);
  spare->data = p->ur;
  df__uv_hold(p->ur);
  uv_accept(server, (uv_stream_t *)spare);
  uv_close((uv_handle_t *)spare, refused_closed);
}

static void on_connection(uv_stream_t *server, int status) {
  tcp_port *p = port_of_handle((uv_handle_t *)server);
  if (status < 0 || p->base.state != DF__PORT_LISTENING) return;
  df__tcp_conn *c = df__tcp_conn_new(p->ur);
  if (!c) {
    refuse(p, server);
    return;
  }
  if (uv_accept(server, (uv_stream_t *)df__tcp_conn_handle(c)) < 0 ||
      df__tcp_conn_start(c) < 0) {
    df__tcp_conn_discard(c);
    return;
  }
  df_transport *t = df__tcp_conn_transport(c);
  df_address peer;
  t->ops->get_peer(t, &peer);
  df_protocol *proto = df_factory_build_protocol(p->base.factory, &peer);
  if (!proto) {
    df__tcp_conn_discard(c); /* refused by the factory */
    return;
  }
  df__transport_attach(t, proto);
}

static void port_closed(uv_handle_t *h) {
  tcp_port *p = port_of_handle(h);
  df__uv_release(p->ur);
  df__port_closed(&p->base);
}

static void close_port(df_listening_port *base) {
  tcp_port *p = (tcp_port *)base;
  uv_close((uv_handle_t *)&p->handle, port_closed);
}

static void destroy_port(df_listening_port *base) { df__uv_free(base); }

static const df__port_ops tcp_port_ops = {close_port, destroy_port};

/* A port that failed to start: free it once libuv has closed it. */
static void failed_port_closed(uv_handle_t *h) {
  tcp_port *p = port_of_handle(h);
  df__uv_release(p->ur);
  df__uv_free(p);
}

static int open_socket(tcp_port *p, const df__listen_request *req) {
  uv_tcp_t *h = &p->handle;
  int family = df_address_family(&req->address);
  int rc = uv_tcp_init_ex(df__uv_loop(p->ur), h, (unsigned)family);
  if (rc < 0) return rc;
  p->handle_open = true;
  df__uv_hold(p->ur);
  if (req->flags & DF_LISTEN_REUSE_PORT) {
    uv_os_fd_t fd;
    int on = 1;
    rc = uv_fileno((uv_handle_t *)h, &fd);
    if (rc == 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0)
      rc = uv_translate_sys_error(errno);
    if (rc < 0) return rc;
  }
  unsigned bind_flags =
      (req->flags & DF_LISTEN_IPV6_ONLY) && family == AF_INET6 ? UV_TCP_IPV6ONLY
                                                               : 0;
  rc = uv_tcp_bind(h, &req->address.u.sa, bind_flags);
  if (rc == 0) rc = uv_listen((uv_stream_t *)h, req->backlog, on_connection);
  return rc;
}

int df__uv_listen_tcp(df_reactor *r, const df__listen_request *req,
                      df_listening_port **out, df_failure **error) {
  tcp_port *p = df__uv_calloc(1, sizeof *p);
  int rc = DF_ENOMEM;
  if (p) {
    p->ur = df__uv_reactor_of(r);
    rc = open_socket(p, req);
  }
  if (rc < 0) {
    if (error)
      *error = df_network_failure(&df_error_cannot_listen, rc,
                                  "Couldn't listen on %s:%d",
                                  req->interface[0] ? req->interface : "any",
                                  req->port);
    if (p && p->handle_open)
      uv_close((uv_handle_t *)&p->handle, failed_port_closed);
    else
      df__uv_free(p);
    return rc;
  }
  df_address bound;
  int len = sizeof bound.u;
  memset(&bound, 0, sizeof bound);
  uv_tcp_getsockname(&p->handle, &bound.u.sa, &len);
  df__port_init(&p->base, &tcp_port_ops, r, req->factory, &bound);
  if (out) *out = df_listening_port_ref(&p->base);
  return 0;
}
