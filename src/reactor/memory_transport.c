/* The memory transport (memory_transport.h): Twisted's StringTransport,
 * a df_transport whose writes land in a buffer the test reads, and whose
 * input, half-close and close the test delivers. What the protocol asks
 * of it (close, abort, half-close, pause) is recorded in the transport's
 * flags, which the test inspects; nothing happens until the test says. */
#include <string.h>

#include "internal.h"

struct df_memory_transport {
  df_transport base;
  char *value; /* written and not cleared */
  size_t len, cap;
  df_address host, peer;
  bool nodelay;
  unsigned keepalive;
  df__link owner_link; /* in the fake reactor's list, when it made it */
};

static df_memory_transport *mt_of(const df_transport *t) {
  return DF__CONTAINER_OF(t, df_memory_transport, base);
}

static int mt_write(df_transport *t, const df_buffer *pieces, size_t n,
                    size_t total) {
  df_memory_transport *mt = mt_of(t);
  if (total > SIZE_MAX - mt->len ||
      df__reserve((void **)&mt->value, &mt->cap, mt->len + total, 1))
    return DF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    memcpy(mt->value + mt->len, pieces[i].base, pieces[i].len);
    mt->len += pieces[i].len;
  }
  df__transport_buffer_grew(t);
  return 0;
}

/* Recorded in the flags by transport.c; nothing more to do. */
static void mt_noop(df_transport *t) { (void)t; }

static void mt_close_now(df_transport *t, df_failure *reason) {
  df_memory_transport_close(mt_of(t), reason);
  df_failure_unref(reason);
}

static int mt_get_peer(df_transport *t, df_address *out) {
  *out = mt_of(t)->peer;
  return 0;
}

static int mt_get_host(df_transport *t, df_address *out) {
  *out = mt_of(t)->host;
  return 0;
}

static size_t mt_buffered(const df_transport *t) { return mt_of(t)->len; }

static int mt_set_nodelay(df_transport *t, bool on) {
  mt_of(t)->nodelay = on;
  return 0;
}

static int mt_set_keepalive(df_transport *t, unsigned idle_seconds) {
  mt_of(t)->keepalive = idle_seconds;
  return 0;
}

static const df__transport_ops memory_ops = {
    .write = mt_write,
    .lose_connection = mt_noop,
    .lose_write_connection = mt_noop,
    .abort_connection = mt_noop,
    .close_now = mt_close_now,
    .get_peer = mt_get_peer,
    .get_host = mt_get_host,
    .pause_reading = mt_noop,
    .resume_reading = mt_noop,
    .buffered = mt_buffered,
    .set_nodelay = mt_set_nodelay,
    .set_keepalive = mt_set_keepalive,
};

/* --- for the fake reactor --------------------------------------------------------- */

/* A memory transport belonging to `r` (on its transports list once
 * connected), linked into `owner` (the fake reactor's list of those it
 * made). */
df_memory_transport *df__memory_transport_new_for(df_reactor *r,
                                                  df__link *owner) {
  df_memory_transport *mt;
  if (df_memory_transport_new(&mt) < 0) return NULL;
  mt->base.reactor = r;
  df__list_append(owner, &mt->owner_link);
  return mt;
}

df_memory_transport *df__memory_transport_of_owner_link(df__link *l) {
  return DF__CONTAINER_OF(l, df_memory_transport, owner_link);
}

/* --- the public functions ---------------------------------------------------------- */

int df_memory_transport_new(df_memory_transport **out) {
  if (!out) return DF_EINVAL;
  df_memory_transport *mt = df__uv_calloc(1, sizeof *mt);
  *out = mt;
  if (!mt) return DF_ENOMEM;
  df__transport_init(&mt->base, &memory_ops, NULL);
  df_address_parse(&mt->host, "10.0.0.1", 12345);
  df_address_parse(&mt->peer, "192.168.1.1", 54321);
  df__list_init(&mt->owner_link);
  return 0;
}

void df_memory_transport_free(df_memory_transport *mt) {
  if (!mt) return;
  if (mt->base.protocol) {
    df_failure *why = df__connection_lost_failure(0);
    df_memory_transport_close(mt, why);
    df_failure_unref(why);
  }
  if (df__list_linked(&mt->owner_link)) df__list_remove(&mt->owner_link);
  df__uv_free(mt->value);
  df__uv_free(mt);
}

df_transport *df_memory_transport_transport(df_memory_transport *mt) {
  return mt ? &mt->base : NULL;
}

void df_memory_transport_set_addresses(df_memory_transport *mt,
                                       const df_address *host,
                                       const df_address *peer) {
  if (!mt) return;
  if (host) mt->host = *host;
  if (peer) mt->peer = *peer;
}

int df_memory_transport_connect(df_memory_transport *mt, df_protocol *p) {
  if (!mt || !p || (mt->base.flags & (DF__T_ATTACHED | DF__T_CLOSED))) {
    df__protocol_release(p);
    return DF_EINVAL;
  }
  df__transport_attach(&mt->base, p);
  return 0;
}

const char *df_memory_transport_value(const df_memory_transport *mt,
                                      size_t *len) {
  if (len) *len = mt ? mt->len : 0;
  return mt && mt->value ? mt->value : "";
}

bool df_memory_transport_value_is(const df_memory_transport *mt,
                                  const char *text) {
  size_t n = strlen(text);
  return mt && mt->len == n && (n == 0 || memcmp(mt->value, text, n) == 0);
}

void df_memory_transport_clear(df_memory_transport *mt) {
  if (!mt) return;
  mt->len = 0;
  df__transport_buffer_drained(&mt->base);
}

/* Can the test deliver input? Connected, open, not paused, no EOF yet. */
static bool can_read(const df_memory_transport *mt) {
  return mt && mt->base.protocol &&
         !(mt->base.flags & (DF__T_CLOSED | DF__T_READ_PAUSED |
                             DF__T_READ_EOF));
}

int df_memory_transport_feed(df_memory_transport *mt, const void *data,
                             size_t len) {
  if (!can_read(mt) || (!data && len)) return DF_EINVAL;
  df_protocol *p = mt->base.protocol;
  if (len && p->type && p->type->data_received)
    p->type->data_received(p, data, len);
  return 0;
}

int df_memory_transport_feed_eof(df_memory_transport *mt) {
  if (!mt || !mt->base.protocol ||
      (mt->base.flags & (DF__T_CLOSED | DF__T_READ_EOF)))
    return DF_EINVAL;
  df__transport_read_eof(&mt->base);
  return 0;
}

int df_memory_transport_close(df_memory_transport *mt, df_failure *reason) {
  if (!mt || !mt->base.protocol || (mt->base.flags & DF__T_CLOSED))
    return DF_EINVAL;
  df_failure *done = reason ? NULL : df__connection_done();
  df__transport_ended(&mt->base, reason ? reason : done);
  df_failure_unref(done);
  return 0;
}

bool df_memory_transport_connected(const df_memory_transport *mt) {
  return mt && df_transport_connected(&mt->base);
}

bool df_memory_transport_disconnecting(const df_memory_transport *mt) {
  return mt && (mt->base.flags & DF__T_DISCONNECTING);
}

bool df_memory_transport_aborted(const df_memory_transport *mt) {
  return mt && (mt->base.flags & DF__T_ABORTED);
}

bool df_memory_transport_write_closed(const df_memory_transport *mt) {
  return mt && (mt->base.flags & DF__T_WRITE_CLOSED);
}

df_producer_state df_memory_transport_reading_state(
    const df_memory_transport *mt) {
  if (!mt || (mt->base.flags & (DF__T_CLOSED | DF__T_DISCONNECTING)))
    return DF_PRODUCER_STOPPED;
  return (mt->base.flags & DF__T_READ_PAUSED) ? DF_PRODUCER_PAUSED
                                              : DF_PRODUCER_PRODUCING;
}

df_producer *df_memory_transport_producer(const df_memory_transport *mt,
                                          bool *streaming, bool *paused) {
  if (streaming) *streaming = mt && (mt->base.flags & DF__T_STREAMING);
  if (paused) *paused = mt && (mt->base.flags & DF__T_PRODUCER_PAUSED);
  return mt ? mt->base.producer : NULL;
}

bool df_memory_transport_tcp_nodelay(const df_memory_transport *mt) {
  return mt && mt->nodelay;
}

unsigned df_memory_transport_tcp_keepalive(const df_memory_transport *mt) {
  return mt ? mt->keepalive : 0;
}
