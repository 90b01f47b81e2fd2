/* Listening ports, the part every implementation shares (tcp.h):
 * references, the factory's doStart/doStop, and the deferreds
 * stop_listening returns, fired once the implementation has closed the
 * socket (tcp_listen.c, fake_reactor.c).
 *
 *   LISTENING ──stop_listening / shutdown──> STOPPING ──closed──> STOPPED
 *   on reactor->ports, holding the reactor's reference  │  off the list */
#include <string.h>

#include "internal.h"

void df__port_init(df_listening_port *p, const df__port_ops *ops,
                   df_reactor *r, df_factory *factory,
                   const df_address *address) {
  p->ops = ops;
  p->reactor = r;
  p->factory = factory;
  p->address = *address;
  p->refs = 1;
  p->state = DF__PORT_LISTENING;
  p->waiters = NULL;
  p->n_waiters = p->cap_waiters = 0;
  df__list_init(&p->link);
  df__list_append(&r->ports, &p->link);
  df__factory_do_start(factory);
}

void df__port_close(df_listening_port *p) {
  if (p->state != DF__PORT_LISTENING) return;
  p->state = DF__PORT_STOPPING;
  p->ops->close(p);
}

void df__port_closed(df_listening_port *p) {
  p->state = DF__PORT_STOPPED;
  df__list_remove(&p->link);
  df__factory_do_stop(p->factory);
  /* Fire the waiters with our own reference held: a callback may drop
   * the user's last one. */
  df_listening_port_ref(p);
  for (size_t i = 0; i < p->n_waiters; i++) {
    df_deferred_callback(p->waiters[i], df_none());
    df_deferred_unref(p->waiters[i]);
  }
  df__uv_free(p->waiters);
  p->waiters = NULL;
  p->n_waiters = p->cap_waiters = 0;
  df_reactor *r = p->reactor;
  df_listening_port_unref(p); /* the one just taken */
  df_listening_port_unref(p); /* the reactor's */
  df__reactor_forgot(r);
}

df_deferred *df_listening_port_stop(df_listening_port *p) {
  if (!p) return df_fail(df_failure_new(&df_error_invalid_argument,
                                        "stop_listening: no port"));
  if (p->state == DF__PORT_STOPPED) return df_succeed(df_none());
  df_deferred *d = df_deferred_new();
  if (!d) return NULL;
  if (df__reserve((void **)&p->waiters, &p->cap_waiters, p->n_waiters + 1,
                  sizeof *p->waiters)) {
    df_deferred_unref(d);
    return NULL;
  }
  p->waiters[p->n_waiters++] = df_deferred_ref(d);
  df__port_close(p); /* may close, and fire d, before returning */
  return d;
}

int df_listening_port_get_host(const df_listening_port *p, df_address *out) {
  if (!out) return DF_EINVAL;
  if (!p) {
    memset(out, 0, sizeof *out);
    return DF_EINVAL;
  }
  *out = p->address;
  return 0;
}

bool df_listening_port_listening(const df_listening_port *p) {
  return p && p->state == DF__PORT_LISTENING;
}

df_factory *df_listening_port_factory(const df_listening_port *p) {
  return p ? p->factory : NULL;
}

df_listening_port *df_listening_port_ref(df_listening_port *p) {
  if (p) p->refs++;
  return p;
}

void df_listening_port_unref(df_listening_port *p) {
  if (p && --p->refs == 0) p->ops->destroy(p);
}
