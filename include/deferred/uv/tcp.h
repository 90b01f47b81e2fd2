/* libdeferred-uv: TCP over IPv4 and IPv6 (Twisted's IReactorTCP,
 * IListeningPort and IConnector).
 *
 * Servers: df_reactor_listen_tcp() opens a listening port; each
 * connection it accepts gets a protocol from the factory
 * (build_protocol with the peer's address), and runs until it closes.
 * Clients: df_reactor_connect_tcp() starts a connector: it resolves the
 * host off the loop (through the reactor's resolver, resolver.h; numeric
 * addresses need none), tries each address in turn until one connects or
 * the timeout expires, then builds the protocol. Its outcome is told to
 * the factory's client callbacks (started_connecting,
 * client_connection_failed, client_connection_lost). For "a deferred that
 * fires with the connected protocol", use endpoint.h.
 *
 * Ownership:
 *   - A listening port is reference counted. The reactor holds one
 *     reference while it listens; `*out` of listen_tcp, when not NULL,
 *     receives another, released with df_listening_port_unref. The port's
 *     memory stays valid while any reference is held; it stops listening
 *     at stop_listening or when the reactor shuts down.
 *   - A connector likewise: the reactor holds one reference while it is
 *     connecting or connected, `*out` of connect_tcp another.
 *   - Factories are borrowed (protocol.h says for how long).
 */
#ifndef DEFERRED_UV_TCP_H
#define DEFERRED_UV_TCP_H

#include <stdbool.h>

#include "../core.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_listening_port df_listening_port;

/* Flags of df_reactor_listen_tcp. */
enum {
  /* SO_REUSEPORT: several sockets (each in its own reactor thread, or
   * process) listen on the same port and the kernel spreads connections
   * among them. Every socket sharing the port must set it. */
  DF_LISTEN_REUSE_PORT = 1u << 0,
  /* IPV6_V6ONLY on an IPv6 interface: do not also accept IPv4
   * connections on "::" (Linux accepts both by default). */
  DF_LISTEN_IPV6_ONLY = 1u << 1
};

/* The backlog df_reactor_listen_tcp uses for a `backlog` of 0 or less:
 * as large as the system allows. The kernel caps any backlog at
 * net.core.somaxconn (4096 since Linux 5.4), so a burst of connections
 * that large waits in the accept queue instead of being dropped
 * (Twisted's default of 50 loses clients of a burst of 1,000). */
#define DF_LISTEN_BACKLOG_DEFAULT 65535

/* Listen on `port` (0: any free port; df_listening_port_get_host says
 * which) of `interface` (a numeric address: "127.0.0.1", "::1", "::" for
 * every IPv6 and IPv4 interface; NULL or "" for every IPv4 interface,
 * "0.0.0.0", as Twisted's default) with `factory` (borrowed), `backlog`
 * (see DF_LISTEN_BACKLOG_DEFAULT) and `flags` (DF_LISTEN_*).
 *
 * Returns 0 and, if `out` is not NULL, a new reference to the port in
 * `*out`. On failure returns DF_EINVAL (NULL `r` or `factory`, a port
 * outside 0-65535, an interface that is not a numeric address, unknown
 * flags, the reactor stopped), DF_ENOMEM, or the system's reason as a
 * negated errno value (-EADDRINUSE, -EACCES, -EADDRNOTAVAIL ...; libuv's
 * UV_EADDRINUSE and the like are the same values); then `*out` is NULL
 * and, if `error` is not NULL, `*error` receives a new reference to a
 * CannotListenError failure saying why ("Couldn't listen on
 * 127.0.0.1:8000: address already in use."). Calls the factory's
 * start_factory if this is its first port. */
int df_reactor_listen_tcp(df_reactor *r, int port, df_factory *factory,
                          const char *interface, int backlog, unsigned flags,
                          df_listening_port **out, df_failure **error);

/* Stop listening (stopListening): no connection is accepted from now on;
 * connections already accepted go on. Returns a new reference to a
 * deferred that fires with None once the socket is closed (and the
 * factory's stop_factory has run, if this was its last port). Calling it
 * again gives another such deferred (already fired once stopped). NULL
 * only if out of memory. */
df_deferred *df_listening_port_stop(df_listening_port *port);

/* The address the port is bound to, with the actual port number
 * (getHost). Returns 0, or DF_EINVAL for NULL (`*out` zeroed). */
int df_listening_port_get_host(const df_listening_port *port, df_address *out);

/* Is it still listening (not stopping or stopped)? */
bool df_listening_port_listening(const df_listening_port *port);

/* The factory it serves (borrowed), or NULL for a NULL `port`. */
df_factory *df_listening_port_factory(const df_listening_port *port);

/* Reference counting of a port. A port is counted by the references
 * df_reactor_listen_tcp and these functions hand out, plus one the
 * reactor holds while it listens or is stopping: dropping the last of
 * yours does not stop it (use df_listening_port_stop first for that),
 * and a port you still hold stays valid to ask (get_host, listening)
 * after it has stopped and after its reactor was freed. _ref takes a
 * new reference and returns `port`; _unref drops one, freeing the port
 * when none is left. Both are for the reactor's thread, and may be
 * called from any of its callbacks (a stop deferred's callback may drop
 * the last reference: the port is freed after the callbacks). NULL is
 * ignored (and _ref returns NULL); an unref more than the references
 * taken is a use after free. */
df_listening_port *df_listening_port_ref(df_listening_port *port);
void df_listening_port_unref(df_listening_port *port);

/* --- connecting ------------------------------------------------------------------ */

typedef enum df_connector_state {
  DF_CONNECTOR_DISCONNECTED, /* not started, failed, or its connection ended */
  DF_CONNECTOR_CONNECTING,
  DF_CONNECTOR_CONNECTED
} df_connector_state;

/* Twisted's connectTCP default timeout, in seconds. */
#define DF_CONNECT_TIMEOUT_DEFAULT 30.0

/* Connect to `host` (a name or a numeric address; copied) and `port`
 * (1-65535) with `factory` (borrowed), giving up after `timeout` seconds
 * (0 or less: never), from `bind_address` (a numeric local address, or
 * NULL).
 *
 * Calls the factory's start_factory (first user) and started_connecting
 * before returning; everything else happens from the loop: the name is
 * resolved through the reactor's resolver, the addresses are tried in
 * order, and then either the connection is made (build_protocol with the
 * peer's address, connection_made; later connection_lost and
 * client_connection_lost) or client_connection_failed is called with a
 * ConnectError subtype: ConnectionRefusedError, TCPTimedOutError (the
 * timeout expired: its message says after how long), NoRouteError,
 * DNSLookupError, ConnectBindError, UserError (stop_connecting). With
 * several addresses, the failure of the last one tried is reported.
 *
 * Returns 0 and, if `out` is not NULL, a new reference to the connector
 * in `*out`; DF_EINVAL (NULL `r`, `host` or `factory`, a bad port, a NaN
 * timeout, a bind address that is not numeric, the reactor stopped) or
 * DF_ENOMEM, with nothing started and `*out` NULL. */
int df_reactor_connect_tcp(df_reactor *r, const char *host, int port,
                           df_factory *factory, double timeout,
                           const char *bind_address, df_connector **out);

/* Give up a connection attempt in progress (stopConnecting): the factory
 * gets client_connection_failed with a UserError. Returns 0, or
 * DF_EINVAL if the connector is not connecting. */
int df_connector_stop_connecting(df_connector *c);

/* Stop connecting, or lose the connection if connected (disconnect).
 * Returns 0, or DF_EINVAL if disconnected. */
int df_connector_disconnect(df_connector *c);

/* Start again (connect), typically from client_connection_failed or
 * client_connection_lost, to retry or reconnect. Returns 0, DF_EINVAL if
 * not disconnected (or the reactor has stopped), or DF_ENOMEM. */
int df_connector_connect(df_connector *c);

/* Where the connector is (Twisted's connector.state): CONNECTING from
 * df_reactor_connect_tcp or df_connector_connect until the attempt ends,
 * CONNECTED from just before the protocol's connection_made until just
 * before client_connection_lost (so a factory that reconnects from there
 * sees DISCONNECTED), DISCONNECTED otherwise: before client_connection_
 * failed is called, after stop_connecting, and once the reactor has
 * stopped. A NULL `c` gives DISCONNECTED. */
df_connector_state df_connector_get_state(const df_connector *c);

/* The host as given and the port (getDestination). `host` is borrowed,
 * valid while the connector is; NULL (and port 0) for a NULL `c`. */
const char *df_connector_host(const df_connector *c);
int df_connector_port(const df_connector *c);

/* The transport of the connection (borrowed), while connected; NULL
 * while connecting or disconnected, or for a NULL `c`. */
df_transport *df_connector_transport(const df_connector *c);

/* The factory (borrowed) and the reactor; NULL for a NULL `c`. */
df_factory *df_connector_factory(const df_connector *c);
df_reactor *df_connector_reactor(const df_connector *c);

/* Reference counting of a connector. df_reactor_connect_tcp's `*out` is
 * a reference; the reactor holds one of its own while the connector is
 * connecting or connected, so dropping yours neither stops an attempt
 * nor ends a connection (df_connector_disconnect does), and the factory
 * still hears how it ends. A connector you hold stays valid to ask
 * (get_state, host) and to df_connector_connect again after it is
 * disconnected; after its reactor was freed only the getters may be
 * used. _ref takes a new reference and returns `c`; _unref drops one and
 * frees the connector with the last (from any callback of the reactor's
 * thread: the factory's client_connection_failed may drop it). NULL is
 * ignored (_ref returns NULL); an unref more than the references taken is
 * a use after free. */

df_connector *df_connector_ref(df_connector *c);
void df_connector_unref(df_connector *c);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_TCP_H */
