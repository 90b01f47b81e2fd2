/* Transports, the part every kind shares (transport.h): the public
 * df_transport_* functions, which check the state and dispatch to the
 * kind's ops (tcp.c, memory_transport.c); backpressure, which pauses and
 * resumes a registered producer at the water marks; and the end of a
 * connection, which tells the protocol, frees it and tells the connector.
 *
 * Producer states, for a streaming producer:
 *
 *   buffer > high ──> pause_producing, DF__T_PRODUCER_PAUSED
 *   paused and buffer <= low ──> resume_producing
 *
 * and for a pull producer, resume_producing each time the buffer empties:
 * when a write completes and leaves it empty, and, since a write the
 * kernel takes at once never fills it, after such a write, from the loop
 * (a delayed call of delay 0, so that a producer writing from its
 * resume_producing is not called again inside that write). */
#include <string.h>

#include "internal.h"

void df__transport_init(df_transport *t, const df__transport_ops *ops,
                        df_reactor *r) {
  *t = (df_transport){.ops = ops,
                      .reactor = r,
                      .high_water = DF_WRITE_HIGH_WATER_DEFAULT,
                      .low_water = DF_WRITE_LOW_WATER_DEFAULT};
  df__list_init(&t->link);
}

void df__transport_attach(df_transport *t, df_protocol *p) {
  t->protocol = p;
  p->transport = t;
  if (t->reactor && !(t->flags & DF__T_IN_LIST)) {
    df__list_append(&t->reactor->transports, &t->link);
    t->flags |= DF__T_IN_LIST;
  }
  t->flags |= DF__T_ATTACHED;
  if (p->type && p->type->connection_made) p->type->connection_made(p);
}

/* --- writing ------------------------------------------------------------------ */

/* May the protocol write? Not once closing, nor after a half-close. */
static bool can_write(const df_transport *t) {
  return t && t->protocol &&
         !(t->flags & (DF__T_CLOSED | DF__T_DISCONNECTING | DF__T_WRITE_CLOSED));
}

static void pull_after_write(df_transport *t);

int df_transport_write(df_transport *t, const void *data, size_t len) {
  if (!can_write(t) || (!data && len)) return DF_EINVAL;
  if (len == 0) return 0;
  df_buffer piece = {data, len};
  int rc = t->ops->write(t, &piece, 1, len);
  if (DF__UNLIKELY(t->producer != NULL)) pull_after_write(t);
  return rc;
}

int df_transport_write_sequence(df_transport *t, const df_buffer *pieces,
                                size_t n) {
  if (!can_write(t) || (!pieces && n)) return DF_EINVAL;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (!pieces[i].base && pieces[i].len) return DF_EINVAL;
    total += pieces[i].len;
  }
  if (total == 0) return 0;
  int rc = t->ops->write(t, pieces, n, total);
  if (DF__UNLIKELY(t->producer != NULL)) pull_after_write(t);
  return rc;
}

/* --- closing ------------------------------------------------------------------ */

void df_transport_lose_connection(df_transport *t) {
  if (!t || (t->flags & (DF__T_CLOSED | DF__T_DISCONNECTING))) return;
  t->flags |= DF__T_DISCONNECTING;
  t->ops->lose_connection(t);
}

void df_transport_abort_connection(df_transport *t) {
  if (!t || (t->flags & (DF__T_CLOSED | DF__T_ABORTED))) return;
  t->flags |= DF__T_DISCONNECTING | DF__T_ABORTED;
  t->ops->abort_connection(t);
}

void df_transport_lose_write_connection(df_transport *t) {
  if (!t || (t->flags & (DF__T_CLOSED | DF__T_DISCONNECTING |
                         DF__T_WRITE_CLOSED)))
    return;
  t->flags |= DF__T_WRITE_CLOSED;
  t->ops->lose_write_connection(t);
}

bool df_transport_connected(const df_transport *t) {
  return t && t->protocol && !(t->flags & (DF__T_CLOSED | DF__T_DISCONNECTING));
}

/* --- addresses and options ------------------------------------------------------ */

int df_transport_get_peer(df_transport *t, df_address *out) {
  if (!out) return DF_EINVAL;
  if (!t) {
    memset(out, 0, sizeof *out);
    return DF_EINVAL;
  }
  return t->ops->get_peer(t, out);
}

int df_transport_get_host(df_transport *t, df_address *out) {
  if (!out) return DF_EINVAL;
  if (!t) {
    memset(out, 0, sizeof *out);
    return DF_EINVAL;
  }
  return t->ops->get_host(t, out);
}

int df_transport_set_tcp_nodelay(df_transport *t, bool on) {
  return t ? t->ops->set_nodelay(t, on) : DF_EINVAL;
}

int df_transport_set_tcp_keepalive(df_transport *t, unsigned idle_seconds) {
  return t ? t->ops->set_keepalive(t, idle_seconds) : DF_EINVAL;
}

df_protocol *df_transport_protocol(const df_transport *t) {
  return t ? t->protocol : NULL;
}

df_reactor *df_transport_reactor(const df_transport *t) {
  return t ? t->reactor : NULL;
}

/* --- the transport as a producer (reading) --------------------------------------- */

void df_transport_pause_producing(df_transport *t) {
  if (!t || (t->flags & (DF__T_CLOSED | DF__T_READ_PAUSED))) return;
  t->flags |= DF__T_READ_PAUSED;
  t->ops->pause_reading(t);
}

void df_transport_resume_producing(df_transport *t) {
  if (!t || (t->flags & DF__T_CLOSED) || !(t->flags & DF__T_READ_PAUSED)) return;
  t->flags &= ~(uint32_t)DF__T_READ_PAUSED;
  t->ops->resume_reading(t);
}

void df_transport_stop_producing(df_transport *t) {
  df_transport_lose_connection(t);
}

/* --- backpressure ---------------------------------------------------------------- */

size_t df_transport_write_buffer_size(const df_transport *t) {
  return t ? t->ops->buffered(t) : 0;
}

void df__transport_buffer_grew(df_transport *t) {
  df_producer *p = t->producer;
  if (!p || !(t->flags & DF__T_STREAMING) ||
      (t->flags & DF__T_PRODUCER_PAUSED))
    return;
  if (t->ops->buffered(t) > t->high_water) {
    t->flags |= DF__T_PRODUCER_PAUSED;
    if (p->type->pause_producing) p->type->pause_producing(p);
  }
}

static void cancel_pull(df_transport *t) { df__delayed_call_drop(&t->pull_call); }

static void pull_now(void *arg) {
  df_transport *t = arg;
  df_delayed_call_unref(t->pull_call);
  t->pull_call = NULL;
  df__transport_buffer_drained(t);
}

/* A write left nothing buffered: a pull producer is ready for more. */
static void pull_after_write(df_transport *t) {
  if ((t->flags & (DF__T_STREAMING | DF__T_CLOSED)) || t->pull_call ||
      !t->reactor || t->ops->buffered(t) != 0)
    return;
  df_clock_call_later(t->reactor->clock, 0, pull_now, t, &t->pull_call);
}

void df__transport_buffer_drained(df_transport *t) {
  df_producer *p = t->producer;
  if (!p || (t->flags & DF__T_CLOSED)) return;
  size_t size = t->ops->buffered(t);
  if (t->flags & DF__T_STREAMING) {
    if ((t->flags & DF__T_PRODUCER_PAUSED) && size <= t->low_water) {
      t->flags &= ~(uint32_t)DF__T_PRODUCER_PAUSED;
      if (p->type->resume_producing) p->type->resume_producing(p);
    }
  } else if (size == 0 && p->type->resume_producing) {
    p->type->resume_producing(p);
  }
}

int df_transport_register_producer(df_transport *t, df_producer *producer,
                                   bool streaming) {
  if (!t || !producer || !producer->type || t->producer ||
      (t->flags & DF__T_CLOSED))
    return DF_EINVAL;
  t->producer = producer;
  t->flags &= ~(uint32_t)(DF__T_STREAMING | DF__T_PRODUCER_PAUSED);
  if (streaming) {
    t->flags |= DF__T_STREAMING;
    df__transport_buffer_grew(t);
  } else {
    /* Twisted's registerProducer starts a pull producer at once. */
    df__transport_buffer_drained(t);
  }
  return 0;
}

void df_transport_unregister_producer(df_transport *t) {
  if (!t) return;
  cancel_pull(t);
  t->producer = NULL;
  t->flags &= ~(uint32_t)(DF__T_STREAMING | DF__T_PRODUCER_PAUSED);
}

int df_transport_set_write_buffer_limits(df_transport *t, size_t high,
                                         size_t low) {
  if (!t || low > high || high > ((size_t)1 << 31)) return DF_EINVAL;
  t->high_water = (uint32_t)high;
  t->low_water = (uint32_t)low;
  df__transport_buffer_grew(t);
  df__transport_buffer_drained(t);
  return 0;
}

/* --- the end of a connection --------------------------------------------------------- */

void df__transport_read_eof(df_transport *t) {
  if (t->flags & (DF__T_CLOSED | DF__T_READ_EOF)) return;
  t->flags |= DF__T_READ_EOF;
  df_protocol *p = t->protocol;
  if (p && p->type && p->type->read_connection_lost) {
    p->type->read_connection_lost(p);
    return;
  }
  /* Not half-closeable: the connection ends, cleanly. Unlike Twisted's,
   * which closes at once, what is still buffered is sent first. */
  df_transport_lose_connection(t);
}

void df__transport_write_shut(df_transport *t) {
  if (t->flags & (DF__T_CLOSED | DF__T_WRITE_DONE)) return;
  t->flags |= DF__T_WRITE_DONE;
  df_protocol *p = t->protocol;
  if (p && p->type && p->type->write_connection_lost)
    p->type->write_connection_lost(p);
}

void df__transport_ended(df_transport *t, df_failure *reason) {
  t->flags |= DF__T_CLOSED;
  cancel_pull(t);
  df_producer *producer = t->producer;
  t->producer = NULL;
  if (producer && producer->type->stop_producing)
    producer->type->stop_producing(producer);
  df_protocol *p = t->protocol;
  if (p) {
    if ((t->flags & DF__T_ATTACHED) && p->type && p->type->connection_lost)
      p->type->connection_lost(p, reason);
    t->protocol = NULL;
    df__protocol_release(p);
  }
  df_connector *c = t->connector;
  t->connector = NULL;
  if (c) {
    df__connector_lost(c, reason);
    df_connector_unref(c);
  }
  if (t->flags & DF__T_IN_LIST) {
    df__list_remove(&t->link);
    t->flags &= ~(uint32_t)DF__T_IN_LIST;
    df__reactor_forgot(t->reactor);
  }
}
