/* libdeferred-uv: protocols, factories and producers (twisted.internet
 * .protocol and the producer/consumer interfaces).
 *
 * A protocol is the code that speaks on one connection; a factory makes a
 * protocol for each connection a listening port accepts or a connector
 * makes. Both are C "classes": a struct whose first member is the
 * library's part (df_protocol, df_factory) and whose type points to a
 * table of functions, all optional:
 *
 *     struct echo {
 *         df_protocol base;            // first member
 *         size_t bytes;                // the protocol's own state
 *     };
 *     static void echo_data(df_protocol *p, const char *data, size_t len) {
 *         ((struct echo *)p)->bytes += len;
 *         df_transport_write(p->transport, data, len);
 *     }
 *     static const df_protocol_type echo_type = {
 *         .name = "Echo", .size = sizeof(struct echo),
 *         .data_received = echo_data, .free = df_protocol_free,
 *     };
 *     ...
 *     df_factory factory;
 *     df_factory_init_for_protocol(&factory, &echo_type);   // forProtocol
 *
 * The life of a protocol (Twisted's makeConnection / connectionLost):
 *
 *   build_protocol ──> connection_made ──> data_received* ──> connection_lost ──> free
 *                                           read_connection_lost?
 *                                           write_connection_lost?
 *
 *   - The factory's build_protocol makes it (or returns NULL to refuse the
 *     connection, which is then closed).
 *   - The library sets `transport` and `factory`, then calls
 *     connection_made. From then on the TRANSPORT OWNS THE PROTOCOL.
 *   - data_received gets the bytes as they arrive, borrowed: they are
 *     valid only during the call (the reactor reads every connection into
 *     one shared buffer, so a connection costs no read buffer of its own).
 *   - connection_lost is called exactly once, from the event loop (never
 *     from inside a call the protocol made), with the reason: a
 *     ConnectionDone failure for a clean close, ConnectionLost (or its
 *     ConnectionAborted) otherwise; `reason` is borrowed (take a
 *     reference to keep it). The transport may still be asked things
 *     during it (get_peer works; write is refused).
 *   - Right after connection_lost returns, the transport calls
 *     `type->free(p)` (when not NULL) and forgets `p`. Nothing of the
 *     library uses `p` afterwards.
 *
 * Threads: a protocol, its transport and its factory are used from the
 * thread of the reactor that runs them.
 */
#ifndef DEFERRED_UV_PROTOCOL_H
#define DEFERRED_UV_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

#include "../failure.h"
#include "address.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_reactor df_reactor;
typedef struct df_transport df_transport;
typedef struct df_connector df_connector;
typedef struct df_protocol df_protocol;
typedef struct df_factory df_factory;

/* --- protocols ------------------------------------------------------------- */

typedef struct df_protocol_type {
  /* For messages ("Echo"). May be NULL. */
  const char *name;
  /* How many bytes df_factory_init_for_protocol's factory allocates (and
   * zeroes) for one protocol: the size of the struct df_protocol starts.
   * 0 means sizeof(df_protocol). */
  size_t size;
  /* The connection is up: p->transport and p->factory are set. */
  void (*connection_made)(df_protocol *p);
  /* Bytes arrived, borrowed for the call. Never called with len 0. */
  void (*data_received)(df_protocol *p, const char *data, size_t len);
  /* Twisted's IHalfCloseableProtocol.readConnectionLost: the peer closed
   * its sending side (it half-closed, or closed); the protocol may still
   * write, and must lose the connection itself when done. When NULL, an
   * end of input closes the connection at once, with ConnectionDone. */
  void (*read_connection_lost)(df_protocol *p);
  /* IHalfCloseableProtocol.writeConnectionLost: our sending side is shut
   * down (after df_transport_lose_write_connection, once the buffered
   * bytes went out). May be NULL. */
  void (*write_connection_lost)(df_protocol *p);
  /* The connection is gone, for `reason` (borrowed). Called once. */
  void (*connection_lost)(df_protocol *p, df_failure *reason);
  /* Release `p`; called right after connection_lost, and instead of
   * connection_made for a protocol built for a connection that could not
   * be set up. NULL: the library does not free `p` (it is static, or
   * owned elsewhere). Use df_protocol_free for a protocol that
   * df_factory_init_for_protocol's factory built. */
  void (*free)(df_protocol *p);
} df_protocol_type;

/* The library's part of a protocol; the first member of the user's. */
struct df_protocol {
  const df_protocol_type *type;
  df_transport *transport; /* set before connection_made; NULL before  */
  df_factory *factory;     /* the factory that built it (for one given
                              to df_connect_protocol, a private one) */
};

/* Make `p` a protocol of `type` not yet connected. Returns `p` (NULL for
 * a NULL `p`). */
df_protocol *df_protocol_init(df_protocol *p, const df_protocol_type *type);

/* The `free` of protocols built by df_factory_init_for_protocol's
 * factory: releases `p`, which the library allocated (with malloc, through
 * the allocation hook its out-of-memory tests swap). Use it for those
 * protocols only; NULL is ignored. */
void df_protocol_free(df_protocol *p);

/* --- factories ---------------------------------------------------------------- */

typedef struct df_factory_type {
  const char *name;
  /* Make a protocol for a new connection with `peer` (borrowed), or
   * return NULL to refuse it. The result need not be initialised beyond
   * its `type`, which must be set (a protocol without one refuses the
   * connection, and is not freed). Twisted's buildProtocol. */
  df_protocol *(*build_protocol)(df_factory *f, const df_address *peer);
  /* Twisted's startFactory / stopFactory: called when the first port or
   * connector starts using the factory, and when the last one stops
   * (f->num_ports counts them). May be NULL. */
  void (*start_factory)(df_factory *f);
  void (*stop_factory)(df_factory *f);
  /* ClientFactory: connect_tcp has started an attempt (called inside
   * df_reactor_connect_tcp and df_connector_connect). May be NULL. */
  void (*started_connecting)(df_factory *f, df_connector *c);
  /* ClientFactory: the attempt failed (`reason`, borrowed, is a
   * ConnectError, or a ConnectionLost if the reactor stopped first). The
   * connector may be connected again from here (df_connector_connect).
   * May be NULL. */
  void (*client_connection_failed)(df_factory *f, df_connector *c,
                                   df_failure *reason);
  /* ClientFactory: a connection this connector made has ended, after its
   * protocol's connection_lost (and free). May be NULL. */
  void (*client_connection_lost)(df_factory *f, df_connector *c,
                                 df_failure *reason);
} df_factory_type;

/* The library's part of a factory; the first member of the user's.
 *
 * Ownership: the library borrows a factory. It must stay alive while a
 * listening port or connector uses it (until stop_listening's deferred
 * has fired, or the connector has ended) and while any protocol it built
 * is alive: simplest is to free factories after df_reactor_free. */
struct df_factory {
  const df_factory_type *type;
  const df_protocol_type *protocol_type; /* for_protocol factories */
  unsigned num_ports; /* ports and connectors using it (Twisted's numPorts) */
};

/* Make `f` a factory of `type`. Returns `f` (NULL for a NULL `f`). */
df_factory *df_factory_init(df_factory *f, const df_factory_type *type);

/* Twisted's Factory.forProtocol: make `f` a factory whose build_protocol
 * allocates `protocol_type->size` zeroed bytes (the library's malloc; out
 * of memory refuses the connection) and sets the type; such protocols are
 * released with df_protocol_free, which protocol_type->free should be.
 * Returns `f` (NULL for a NULL `f`). */
df_factory *df_factory_init_for_protocol(df_factory *f,
                                         const df_protocol_type *protocol_type);

/* Call f->type->build_protocol (or the for_protocol allocation), set the
 * protocol's type, factory and NULL transport. Returns the protocol or
 * NULL (refused, or out of memory). For wrapping factories. */
df_protocol *df_factory_build_protocol(df_factory *f, const df_address *peer);

/* --- producers (IPushProducer / IPullProducer) ---------------------------- */

/* A producer writes to a transport (its consumer) and lets the transport
 * throttle it: registered with df_transport_register_producer, it is
 * paused when the transport's write buffer grows past the high-water mark
 * and resumed once it drains below the low-water mark (transport.h).
 * Embed a df_producer in the protocol (or wherever the producer's state
 * lives) and point it at a df_producer_type. */
typedef struct df_producer df_producer;
typedef struct df_producer_type {
  /* Stop writing for now (a streaming producer). */
  void (*pause_producing)(df_producer *p);
  /* Write again: a streaming producer continues after a pause; a pull
   * (non-streaming) producer writes one more piece, and is asked again
   * each time the buffer empties. */
  void (*resume_producing)(df_producer *p);
  /* Stop for good: the connection is going away. May be NULL. */
  void (*stop_producing)(df_producer *p);
} df_producer_type;

struct df_producer {
  const df_producer_type *type;
};

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_PROTOCOL_H */
