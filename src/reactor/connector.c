/* Connectors, the part every implementation shares (tcp.h; Twisted's
 * BaseConnector): the state, the factory's client callbacks in Twisted's
 * order, the timeout (a delayed call on the reactor's clock, so that it
 * works on the fake reactor's test clock too), and stop / disconnect /
 * connect again. The attempt itself (resolving, trying addresses) is the
 * implementation's (tcp_connect.c, fake_reactor.c), which reports back
 * with df__connector_connected or df__connector_failed.
 *
 *   DISCONNECTED ──connect──> CONNECTING ──connected──> CONNECTED
 *        ^                       │ failed, timeout, stop      │ lost
 *        └───────────────────────┴────────────────────────────┘
 *
 * While not DISCONNECTED a connector is on reactor->connectors and holds
 * the reactor's reference; a connection's transport holds another. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void on_timeout(void *arg);

/* The factory's client callbacks, each optional (a forProtocol factory
 * has no type at all). */
static const df_factory_type *client_type(const df_connector *c) {
  return c->factory->type;
}

static void leave_reactor(df_connector *c) {
  if (df__list_linked(&c->link)) df__list_remove(&c->link);
}

static void cancel_timeout(df_connector *c) {
  df__delayed_call_drop(&c->timeout_call);
}

/* Twisted's BaseConnector.connect. */
static int begin(df_connector *c) {
  df_reactor *r = c->reactor;
  c->state = DF_CONNECTOR_CONNECTING;
  c->attempt = NULL;
  if (c->timeout > 0) {
    int rc = df_clock_call_later(r->clock, c->timeout, on_timeout, c,
                                 &c->timeout_call);
    if (rc < 0) {
      c->state = DF_CONNECTOR_DISCONNECTED;
      return rc;
    }
  }
  int rc = r->ops->connect(c);
  if (rc < 0) {
    cancel_timeout(c);
    c->state = DF_CONNECTOR_DISCONNECTED;
    return rc;
  }
  df__list_append(&r->connectors, &c->link);
  df_connector_ref(c); /* the reactor's, while not disconnected */
  if (!c->factory_started) {
    c->factory_started = true;
    df__factory_do_start(c->factory);
  }
  const df_factory_type *type = client_type(c);
  if (!c->watch && type && type->started_connecting)
    type->started_connecting(c->factory, c);
  return 0;
}

int df__connector_start(df_reactor *r, const char *host, int port,
                        df_factory *factory, double timeout,
                        const char *bind_address,
                        const df__connect_watch *watch, void *watch_arg,
                        void (*release_factory)(df_factory *),
                        df_connector **out) {
  if (out) *out = NULL;
  df_address bind;
  if (!r || !host || !factory || port < 1 || port > 65535 || isnan(timeout) ||
      df__reactor_closed(r) ||
      (bind_address && df_address_parse(&bind, bind_address, 0) < 0))
    return DF_EINVAL;
  size_t host_len = strlen(host) + 1;
  size_t bind_len = bind_address ? strlen(bind_address) + 1 : 0;
  df_connector *c = df__uv_malloc(sizeof *c + host_len + bind_len);
  if (!c) return DF_ENOMEM;
  char *strings = (char *)(c + 1);
  memcpy(strings, host, host_len);
  if (bind_address) memcpy(strings + host_len, bind_address, bind_len);
  *c = (df_connector){.reactor = r,
                      .factory = factory,
                      .watch = watch,
                      .watch_arg = watch_arg,
                      .host = strings,
                      .bind_address = bind_address ? strings + host_len : NULL,
                      .port = port,
                      .timeout = timeout,
                      .refs = 1,
                      .state = DF_CONNECTOR_DISCONNECTED};
  df__list_init(&c->link);
  int rc = begin(c);
  if (rc < 0) {
    df__uv_free(c); /* the factory stays the caller's on failure */
    return rc;
  }
  c->release_factory = release_factory;
  if (out)
    *out = c;
  else
    df_connector_unref(c);
  return 0;
}

int df_reactor_connect_tcp(df_reactor *r, const char *host, int port,
                           df_factory *factory, double timeout,
                           const char *bind_address, df_connector **out) {
  return df__connector_start(r, host, port, factory, timeout, bind_address,
                             NULL, NULL, NULL, out);
}

/* --- outcomes ------------------------------------------------------------------ */

/* After the factory heard of a failure or a loss: Twisted calls doStop
 * unless the callback connected again. */
static void settle(df_connector *c) {
  if (c->state == DF_CONNECTOR_DISCONNECTED && c->factory_started) {
    c->factory_started = false;
    df__factory_do_stop(c->factory);
  }
}

/* The attempt or the connection is over: DISCONNECTED, off the reactor's
 * list, the reactor's reference dropped. Returns with a reference of the
 * caller's own taken, for the callbacks that follow. */
static void become_disconnected(df_connector *c) {
  df_connector_ref(c);
  c->state = DF_CONNECTOR_DISCONNECTED;
  leave_reactor(c);
  df_connector_unref(c); /* the reactor's */
}

void df__connector_failed(df_connector *c, df_failure *reason) {
  cancel_timeout(c);
  c->attempt = NULL;
  become_disconnected(c);
  const df_factory_type *type = client_type(c);
  if (c->watch)
    c->watch->failed(c, reason, c->watch_arg);
  else if (type && type->client_connection_failed)
    type->client_connection_failed(c->factory, c, reason);
  settle(c);
  df_reactor *r = c->reactor;
  df_connector_unref(c);
  df__reactor_forgot(r);
}

void df__connector_connected(df_connector *c, df_transport *t) {
  cancel_timeout(c);
  c->attempt = NULL;
  df_address peer;
  t->ops->get_peer(t, &peer);
  df_protocol *p = df_factory_build_protocol(c->factory, &peer);
  if (!p) {
    char what[DF_ADDRESS_TEXT_SIZE];
    df_address_format(&peer, what, sizeof what);
    df_failure *why = df_failure_new(
        &df_error_connect, "An error occurred while connecting: %s: the "
                           "factory built no protocol", what);
    t->ops->close_now(t, df_failure_ref(why));
    df__connector_failed(c, why);
    df_failure_unref(why);
    return;
  }
  c->state = DF_CONNECTOR_CONNECTED;
  c->transport = t;
  t->connector = df_connector_ref(c);
  df_connector_ref(c); /* across the callbacks */
  df__transport_attach(t, p);
  if (c->watch && c->state == DF_CONNECTOR_CONNECTED && c->transport == t)
    c->watch->connected(c, p, c->watch_arg);
  df_connector_unref(c);
}

void df__connector_lost(df_connector *c, df_failure *reason) {
  c->transport = NULL;
  become_disconnected(c);
  const df_factory_type *type = client_type(c);
  if (type && type->client_connection_lost)
    type->client_connection_lost(c->factory, c, reason);
  settle(c);
  df_connector_unref(c);
}

void df__connector_abandon(df_connector *c, df_failure *reason) {
  if (c->state != DF_CONNECTOR_CONNECTING) return;
  c->reactor->ops->stop_attempt(c);
  df__connector_failed(c, reason);
}

static void on_timeout(void *arg) {
  df_connector *c = arg;
  /* The delayed call is running: it cannot be cancelled any more. */
  df_delayed_call_unref(c->timeout_call);
  c->timeout_call = NULL;
  df_failure *why = df_failure_new(
      &df_error_tcp_timed_out,
      "TCP connection timed out: %s:%d: no connection after %g seconds",
      c->host, c->port, c->timeout);
  df__connector_abandon(c, why);
  df_failure_unref(why);
}

void df__reactor_abandon_attempts(df_reactor *r, df_failure *reason) {
  /* A callback may disconnect other connectors: look again from the
   * start after each one. */
  for (;;) {
    df_connector *c = NULL;
    for (df__link *l = r->connectors.next; l != &r->connectors; l = l->next) {
      df_connector *each = DF__CONTAINER_OF(l, df_connector, link);
      if (each->state == DF_CONNECTOR_CONNECTING) {
        c = each;
        break;
      }
    }
    if (!c) return;
    df__connector_abandon(c, reason);
  }
}

/* --- the public connector ---------------------------------------------------------- */

int df_connector_stop_connecting(df_connector *c) {
  if (!c || c->state != DF_CONNECTOR_CONNECTING) return DF_EINVAL;
  df_failure *why = df_failure_new(&df_error_user, "User aborted connection");
  df__connector_abandon(c, why);
  df_failure_unref(why);
  return 0;
}

int df_connector_disconnect(df_connector *c) {
  if (!c) return DF_EINVAL;
  switch (c->state) {
    case DF_CONNECTOR_CONNECTING: return df_connector_stop_connecting(c);
    case DF_CONNECTOR_CONNECTED:
      df_transport_lose_connection(c->transport);
      return 0;
    default: return DF_EINVAL;
  }
}

int df_connector_connect(df_connector *c) {
  if (!c || c->state != DF_CONNECTOR_DISCONNECTED || df__reactor_closed(c->reactor))
    return DF_EINVAL;
  return begin(c);
}

df_connector_state df_connector_get_state(const df_connector *c) {
  return c ? c->state : DF_CONNECTOR_DISCONNECTED;
}

const char *df_connector_host(const df_connector *c) { return c ? c->host : NULL; }
int df_connector_port(const df_connector *c) { return c ? c->port : 0; }
df_transport *df_connector_transport(const df_connector *c) {
  return c ? c->transport : NULL;
}
df_factory *df_connector_factory(const df_connector *c) {
  return c ? c->factory : NULL;
}
df_reactor *df_connector_reactor(const df_connector *c) {
  return c ? c->reactor : NULL;
}

df_connector *df_connector_ref(df_connector *c) {
  if (c) c->refs++;
  return c;
}

void df_connector_unref(df_connector *c) {
  if (!c || --c->refs) return;
  cancel_timeout(c);
  if (c->release_factory) c->release_factory(c->factory);
  df__uv_free(c);
}
