/* Endpoints (endpoint.h): TCP client and server endpoints, connect
 * returning a deferred that fires with the protocol, listen returning one
 * that fires with the port, and connectProtocol. (Description strings are
 * parsed in endpoint_parse.c.)
 *
 * Connecting is a connector with a watch (connector.c) instead of the
 * factory's client callbacks: the watch fires the deferred. Who holds
 * whom while connecting:
 *
 *   deferred ──owns a reference──> connector ──watch_arg, a reference──> deferred
 *
 * The connector's reference to the deferred goes as soon as it fires it
 * (connected or failed), which breaks the cycle; cancelling the deferred
 * abandons the attempt with ConnectingCancelledError, as Twisted's
 * endpoint does. */
#include <string.h>

#include "internal.h"

struct df_endpoint {
  df_reactor *reactor;
  char *host;
  char *bind_address;
  int port;
  double timeout;
};

struct df_server_endpoint {
  df_reactor *reactor;
  char *interface;
  int port;
  int backlog;
  unsigned flags;
};

/* --- making ------------------------------------------------------------------ */

int df_tcp_client_endpoint_new(df_reactor *r, const char *host, int port,
                               double timeout, const char *bind_address,
                               df_endpoint **out) {
  if (!out) return DF_EINVAL;
  *out = NULL;
  df_address bind;
  if (!r || !host || port < 1 || port > 65535 || timeout != timeout ||
      (bind_address && df_address_parse(&bind, bind_address, 0) < 0))
    return DF_EINVAL;
  df_endpoint *ep = df__uv_calloc(1, sizeof *ep);
  if (!ep) return DF_ENOMEM;
  ep->host = df__uv_strdup(host);
  ep->bind_address = bind_address ? df__uv_strdup(bind_address) : NULL;
  if (!ep->host || (bind_address && !ep->bind_address)) {
    df_endpoint_free(ep);
    return DF_ENOMEM;
  }
  ep->reactor = r;
  ep->port = port;
  ep->timeout = timeout;
  *out = ep;
  return 0;
}

int df_tcp_server_endpoint_new(df_reactor *r, int port, const char *interface,
                               int backlog, unsigned flags,
                               df_server_endpoint **out) {
  if (!out) return DF_EINVAL;
  *out = NULL;
  df_address a;
  if (!r || port < 0 || port > 65535 ||
      (flags & ~(unsigned)(DF_LISTEN_REUSE_PORT | DF_LISTEN_IPV6_ONLY)) ||
      (interface && interface[0] && df_address_parse(&a, interface, port) < 0))
    return DF_EINVAL;
  df_server_endpoint *ep = df__uv_calloc(1, sizeof *ep);
  if (!ep) return DF_ENOMEM;
  ep->interface = df__uv_strdup(interface ? interface : "");
  if (!ep->interface) {
    df__uv_free(ep);
    return DF_ENOMEM;
  }
  ep->reactor = r;
  ep->port = port;
  ep->backlog = backlog;
  ep->flags = flags;
  *out = ep;
  return 0;
}

void df_endpoint_free(df_endpoint *ep) {
  if (!ep) return;
  df__uv_free(ep->host);
  df__uv_free(ep->bind_address);
  df__uv_free(ep);
}

void df_server_endpoint_free(df_server_endpoint *ep) {
  if (!ep) return;
  df__uv_free(ep->interface);
  df__uv_free(ep);
}

const char *df_endpoint_host(const df_endpoint *ep) { return ep ? ep->host : NULL; }
int df_endpoint_port(const df_endpoint *ep) { return ep ? ep->port : 0; }
double df_endpoint_timeout(const df_endpoint *ep) { return ep ? ep->timeout : 0; }
int df_server_endpoint_port(const df_server_endpoint *ep) {
  return ep ? ep->port : 0;
}
const char *df_server_endpoint_interface(const df_server_endpoint *ep) {
  return ep ? ep->interface : NULL;
}
int df_server_endpoint_backlog(const df_server_endpoint *ep) {
  return ep ? ep->backlog : 0;
}
unsigned df_server_endpoint_flags(const df_server_endpoint *ep) {
  return ep ? ep->flags : 0;
}

/* --- connecting ------------------------------------------------------------------ */

static void watch_connected(df_connector *c, df_protocol *p, void *arg) {
  df_deferred *d = arg;
  c->watch_arg = NULL;
  if (!d) return;
  df_deferred_callback(d, df_pointer(p, NULL));
  df_deferred_unref(d);
}

static void release_unbuilt_protocol(df_connector *c);

static void watch_failed(df_connector *c, df_failure *reason, void *arg) {
  df_deferred *d = arg;
  c->watch_arg = NULL;
  release_unbuilt_protocol(c);
  if (!d) return;
  df_deferred_errback(d, df_failure_ref(reason));
  df_deferred_unref(d);
}

static const df__connect_watch endpoint_watch = {watch_connected, watch_failed};

static void cancel_connect(df_deferred *d, void *arg) {
  df_connector *c = arg;
  if (c->state != DF_CONNECTOR_CONNECTING || c->watch_arg != d) return;
  df_failure *why = df_failure_new(&df_error_connecting_cancelled,
                                   "Connecting to %s:%d was cancelled",
                                   c->host, c->port);
  df__connector_abandon(c, why); /* fires d with it, through the watch */
  df_failure_unref(why);
}

static void release_connector(void *arg) { df_connector_unref(arg); }

static df_deferred *failed_to_start(int rc, const char *what) {
  if (rc == DF_ENOMEM) return df_fail(df_failure_new(&df_error_no_memory, "%s", what));
  return df_fail(df_failure_new(&df_error_invalid_argument,
                                "%s: invalid arguments, or the reactor has "
                                "stopped", what));
}

/* Connect `ep` with `factory`, which the connector releases with
 * `release_factory` (if not NULL) once it is done with it. */
static df_deferred *connect_with(df_endpoint *ep, df_factory *factory,
                                 void (*release_factory)(df_factory *)) {
  df_connector *c;
  int rc = df__connector_start(ep->reactor, ep->host, ep->port, factory,
                               ep->timeout, ep->bind_address, &endpoint_watch,
                               NULL, release_factory, &c);
  if (rc < 0) {
    if (release_factory) release_factory(factory);
    return failed_to_start(rc, "connect");
  }
  /* No outcome can come before the loop runs: the watch's argument may
   * be set now. The deferred owns our reference to the connector. */
  df_connector_ref(c); /* kept across a failure of the next line */
  df_deferred *d = df_deferred_new_owning(cancel_connect, c, release_connector);
  if (!d) {
    /* The failed new_owning released the reference it was to own. */
    df_failure *why = df_failure_new(&df_error_no_memory, "connect");
    df__connector_abandon(c, why);
    df_failure_unref(why);
    df_connector_unref(c);
    return NULL;
  }
  df_connector_unref(c);
  c->watch_arg = df_deferred_ref(d);
  return d;
}

df_deferred *df_endpoint_connect(df_endpoint *ep, df_factory *factory) {
  if (!ep || !factory)
    return df_fail(df_failure_new(&df_error_invalid_argument,
                                  "connect: no endpoint or factory"));
  return connect_with(ep, factory, NULL);
}

/* connectProtocol's factory: it builds the one protocol it was given. */
typedef struct one_protocol_factory {
  df_factory base;
  df_protocol *protocol; /* until built */
} one_protocol_factory;

static df_protocol *build_the_protocol(df_factory *f, const df_address *peer) {
  (void)peer;
  one_protocol_factory *one = (one_protocol_factory *)f;
  df_protocol *p = one->protocol;
  one->protocol = NULL;
  return p;
}

static const df_factory_type one_protocol_type = {.name = "connectProtocol",
                                                  .build_protocol =
                                                      build_the_protocol};

static void release_one_protocol_factory(df_factory *f) {
  one_protocol_factory *one = (one_protocol_factory *)f;
  df__protocol_release(one->protocol); /* never connected */
  df__uv_free(one);
}

/* connectProtocol's protocol is released as soon as the attempt fails
 * (the factory itself lives as long as the connector). */
static void release_unbuilt_protocol(df_connector *c) {
  if (c->release_factory != release_one_protocol_factory) return;
  one_protocol_factory *one = (one_protocol_factory *)c->factory;
  df__protocol_release(one->protocol);
  one->protocol = NULL;
}

df_deferred *df_connect_protocol(df_endpoint *ep, df_protocol *protocol) {
  if (!ep || !protocol) {
    df__protocol_release(protocol);
    return df_fail(df_failure_new(&df_error_invalid_argument,
                                  "connect_protocol: no endpoint or protocol"));
  }
  one_protocol_factory *one = df__uv_malloc(sizeof *one);
  if (!one) {
    df__protocol_release(protocol);
    return NULL;
  }
  df_factory_init(&one->base, &one_protocol_type);
  one->protocol = protocol;
  return connect_with(ep, &one->base, release_one_protocol_factory);
}

/* --- listening -------------------------------------------------------------------- */

static void release_port(void *p) { df_listening_port_unref(p); }

df_deferred *df_server_endpoint_listen(df_server_endpoint *ep,
                                       df_factory *factory) {
  if (!ep || !factory)
    return df_fail(df_failure_new(&df_error_invalid_argument,
                                  "listen: no endpoint or factory"));
  df_listening_port *port;
  df_failure *why;
  int rc = df_reactor_listen_tcp(ep->reactor, ep->port, factory, ep->interface,
                                 ep->backlog, ep->flags, &port, &why);
  if (rc < 0)
    return df_fail(why ? why : df_failure_new(&df_error_no_memory, "listen"));
  return df_succeed(df_pointer(port, release_port));
}
