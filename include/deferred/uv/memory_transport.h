/* libdeferred-uv: a transport in memory, for tests (Twisted's
 * StringTransport).
 *
 * A memory transport is a df_transport with no socket behind it: what the
 * protocol writes accumulates in a buffer the test reads; the test feeds
 * bytes in, half-closes and closes it. So a protocol is unit-tested
 * without a reactor, a socket or sleeping:
 *
 *     df_memory_transport *mt;
 *     df_memory_transport_new(&mt);
 *     df_memory_transport_connect(mt, df_factory_build_protocol(&f, NULL));
 *     df_memory_transport_feed(mt, "hello", 5);       // data_received
 *     size_t n;
 *     const char *out = df_memory_transport_value(mt, &n);   // "hello"
 *     df_memory_transport_close(mt, NULL);            // connection_lost
 *     df_memory_transport_free(mt);
 *
 * What the protocol asked for is recorded, not done: lose_connection sets
 * `disconnecting`, abort_connection `aborted`, lose_write_connection
 * `write_closed`, pause_producing the producer state; the test then
 * decides what happens (typically df_memory_transport_close once
 * disconnecting). connection_lost is only ever called by
 * df_memory_transport_close (or _free), never inside the protocol's own
 * call, as on a real transport.
 *
 * Backpressure works as on a socket whose peer does not read: the bytes
 * written and not yet cleared count as the write buffer, so a registered
 * producer is paused at the high-water mark and resumed when the test
 * takes the bytes out (df_memory_transport_clear) or they fall below the
 * low-water mark.
 *
 * Ownership: the creator owns the memory transport and frees it. Once
 * connected, it owns its protocol as any transport does (protocol.h).
 * Memory transports the fake reactor makes belong to the fake reactor.
 */
#ifndef DEFERRED_UV_MEMORY_TRANSPORT_H
#define DEFERRED_UV_MEMORY_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol.h"
#include "transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_memory_transport df_memory_transport;

/* A new memory transport, not connected, with Twisted's StringTransport
 * addresses (host 10.0.0.1:12345, peer 192.168.1.1:54321). Returns 0,
 * DF_EINVAL or DF_ENOMEM. */
int df_memory_transport_new(df_memory_transport **out);

/* Free it. A protocol still connected gets connection_lost with a
 * ConnectionLost first, then is released. NULL is ignored. */
void df_memory_transport_free(df_memory_transport *mt);

/* The df_transport to hand to code under test (borrowed, valid while
 * `mt` is; NULL for a NULL `mt`). */
df_transport *df_memory_transport_transport(df_memory_transport *mt);

/* Set the addresses get_host / get_peer report (NULL leaves one as is). */
void df_memory_transport_set_addresses(df_memory_transport *mt,
                                       const df_address *host,
                                       const df_address *peer);

/* Connect `p` (taken over: the transport owns it from now on, even on
 * error, when it is released with its type's free): set p->transport and
 * call connection_made (Twisted's makeConnection). Returns 0, or
 * DF_EINVAL if `mt` or `p` is NULL or it was connected before. */
int df_memory_transport_connect(df_memory_transport *mt, df_protocol *p);

/* The bytes written since the last clear (borrowed: valid until the next
 * write, clear or free), not NUL-terminated; `*len` receives their count
 * (`len` may be NULL). Never NULL. */
const char *df_memory_transport_value(const df_memory_transport *mt,
                                      size_t *len);
/* Is the value exactly the NUL-terminated `text`? */
bool df_memory_transport_value_is(const df_memory_transport *mt,
                                  const char *text);
/* Discard the value (the peer read it): may resume a paused producer. */
void df_memory_transport_clear(df_memory_transport *mt);

/* Deliver `len` bytes to the protocol's data_received, now (not while
 * reading is paused: then DF_EINVAL). Returns 0, or DF_EINVAL if not
 * connected (closed, or never), or reading is paused or ended. */
int df_memory_transport_feed(df_memory_transport *mt, const void *data,
                             size_t len);

/* The peer half-closed: the protocol's read_connection_lost, or, if it has
 * none, the connection closes with ConnectionDone (as a TCP transport
 * does). Returns 0 or DF_EINVAL (not connected, or done before). */
int df_memory_transport_feed_eof(df_memory_transport *mt);

/* End the connection: the protocol's connection_lost with `reason`
 * (borrowed; NULL means a ConnectionDone), then its free. A registered
 * producer gets stop_producing first. Returns 0, or DF_EINVAL if not
 * connected. */
int df_memory_transport_close(df_memory_transport *mt, df_failure *reason);

/* What the protocol did. */
bool df_memory_transport_connected(const df_memory_transport *mt);
bool df_memory_transport_disconnecting(const df_memory_transport *mt);
bool df_memory_transport_aborted(const df_memory_transport *mt);
bool df_memory_transport_write_closed(const df_memory_transport *mt);
/* Twisted's producerState of the transport itself (reading). */
typedef enum df_producer_state {
  DF_PRODUCER_PRODUCING,
  DF_PRODUCER_PAUSED,
  DF_PRODUCER_STOPPED
} df_producer_state;
df_producer_state df_memory_transport_reading_state(const df_memory_transport *mt);
/* The producer registered on it (borrowed, or NULL), and whether it is
 * streaming and currently paused by backpressure. */
df_producer *df_memory_transport_producer(const df_memory_transport *mt,
                                          bool *streaming, bool *paused);
/* The TCP options last set (df_transport_set_tcp_nodelay / keepalive). */
bool df_memory_transport_tcp_nodelay(const df_memory_transport *mt);
unsigned df_memory_transport_tcp_keepalive(const df_memory_transport *mt);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_MEMORY_TRANSPORT_H */
