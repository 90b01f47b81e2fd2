/* libdeferred-uv: endpoints (twisted.internet.endpoints).
 *
 * An endpoint is where to connect or listen, as a value: made from
 * arguments or from a description string, then used as many times as
 * wanted. Its operations return deferreds, which is what makes a client
 * a chain:
 *
 *     df_endpoint *ep;
 *     df_failure *why;
 *     if (df_client_from_string(r, "tcp:host=example.org:port=80:timeout=5",
 *                               &ep, &why) < 0) { ...print why... }
 *     df_deferred *d = df_endpoint_connect(ep, &factory);
 *     df_deferred_add_callbacks(d, connected, NULL, failed, NULL);
 *
 * Description strings, as Twisted's serverFromString / clientFromString:
 *   server  tcp:PORT[:interface=ADDR][:backlog=N][:reuseport=1]
 *           tcp6:PORT[:interface=ADDR][:backlog=N][:reuseport=1]
 *             (tcp's interface defaults to every IPv4 one, tcp6's to
 *             "::"; `port=PORT` may be given as a keyword instead;
 *             reuseport is ours, for SO_REUSEPORT)
 *   client  tcp:host=HOST:port=PORT[:timeout=SECONDS][:bindAddress=ADDR]
 *           tcp:HOST:PORT[...]   (host and port may also be positional)
 * Fields are separated by ':'; a backslash makes the next character
 * literal, so IPv6 addresses are written with escaped colons:
 * "tcp6:8080:interface=\:\:1", "tcp:host=\:\:1:port=80". timeout may have
 * a fraction ("0.5"; Twisted takes whole seconds). A bad string is
 * DF_EINVAL with a ValueError failure naming the bad field, e.g.
 * "invalid endpoint description \"tcp:http\": port: not a number:
 * 'http'" or "unknown endpoint type 'udp'" or "unknown parameter
 * 'timout'". Stricter than Twisted: a field given twice ("port: given
 * twice", also for a positional and its keyword) and tcp6 with an IPv4
 * interface ("interface: '127.0.0.1' is an IPv4 address, and tcp6
 * listens on IPv6 (use tcp for IPv4)") are errors. A message quotes at
 * most 80 bytes of the description and of a value (cut between two UTF-8
 * characters, then "..."), so it stays one short line.
 *
 * Ownership: endpoints are made by the caller and freed with
 * df_endpoint_free / df_server_endpoint_free (an operation already
 * started goes on without it). The reactor and factories are borrowed.
 */
#ifndef DEFERRED_UV_ENDPOINT_H
#define DEFERRED_UV_ENDPOINT_H

#include "../core.h"
#include "protocol.h"
#include "tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_endpoint df_endpoint;               /* a client endpoint */
typedef struct df_server_endpoint df_server_endpoint; /* a server endpoint */

/* TCP4ClientEndpoint / HostnameEndpoint: `host` (name or numeric, copied),
 * `port` (1-65535), `timeout` in seconds (0 or less: none), `bind_address`
 * (numeric or NULL, copied). Returns 0, DF_EINVAL or DF_ENOMEM. */
int df_tcp_client_endpoint_new(df_reactor *r, const char *host, int port,
                               double timeout, const char *bind_address,
                               df_endpoint **out);

/* TCP4ServerEndpoint / TCP6ServerEndpoint: the arguments of
 * df_reactor_listen_tcp (interface copied). Returns 0, DF_EINVAL or
 * DF_ENOMEM. */
int df_tcp_server_endpoint_new(df_reactor *r, int port, const char *interface,
                               int backlog, unsigned flags,
                               df_server_endpoint **out);

/* Parse a description (see above). Return 0 and the endpoint, or
 * DF_EINVAL / DF_ENOMEM with `*out` NULL and, if `error` is not NULL, a
 * new reference to a ValueError (MemoryError) failure in `*error` whose
 * message names the field at fault. */
int df_client_from_string(df_reactor *r, const char *description,
                          df_endpoint **out, df_failure **error);
int df_server_from_string(df_reactor *r, const char *description,
                          df_server_endpoint **out, df_failure **error);

/* Connect (IStreamClientEndpoint.connect): returns a new reference to a
 * deferred that fires with the connected protocol, as a DF_POINTER that
 * owns nothing (the protocol belongs to its transport: valid until its
 * connection_lost returns), once its connection_made has returned. Fails
 * with the connect error (ConnectError subtypes, as connect_tcp's
 * client_connection_failed gets), or with ConnectionLost if the reactor
 * stops first. The factory's client_* callbacks are not used: the
 * deferred tells the outcome. Cancelling the deferred while connecting
 * stops the attempt: it fails with ConnectingCancelledError (cancelling
 * after it fired does nothing). NULL only if out of memory. */
df_deferred *df_endpoint_connect(df_endpoint *ep, df_factory *factory);

/* Listen (IStreamServerEndpoint.listen): returns a new reference to a
 * deferred that fires with the listening port, as a DF_POINTER that owns
 * a reference to it (dropping the result unrefs it: keep it with
 * df_result_take, or df_listening_port_ref it), or fails with
 * CannotListenError. NULL only if out of memory. */
df_deferred *df_server_endpoint_listen(df_server_endpoint *ep,
                                       df_factory *factory);

/* Twisted's connectProtocol: connect `ep` and run `protocol` (taken over
 * in every case: if the connection fails, it is released with its type's
 * free without having been connected) on the connection. The deferred
 * fires with `protocol` (DF_POINTER owning nothing) as
 * df_endpoint_connect's does. NULL only if out of memory (`protocol` is
 * then released too). */
df_deferred *df_connect_protocol(df_endpoint *ep, df_protocol *protocol);

/* What the endpoint was made with. The strings are borrowed, valid until
 * the endpoint is freed. A NULL `ep` gives NULL, 0 or 0.0 (and
 * df_server_endpoint_interface gives "" for every IPv4 interface, never
 * NULL for an endpoint). */
const char *df_endpoint_host(const df_endpoint *ep);
int df_endpoint_port(const df_endpoint *ep);
double df_endpoint_timeout(const df_endpoint *ep);
int df_server_endpoint_port(const df_server_endpoint *ep);
const char *df_server_endpoint_interface(const df_server_endpoint *ep);
int df_server_endpoint_backlog(const df_server_endpoint *ep);
unsigned df_server_endpoint_flags(const df_server_endpoint *ep);

/* Free an endpoint and the copies it holds (host, bind address,
 * interface). It is a value, not a connection: what was started with it
 * goes on without it (a connect in progress keeps copies of its own, a
 * port listening stays up, their deferreds still fire), so freeing it
 * right after df_endpoint_connect or df_connect_protocol is the usual
 * pattern. The strings the getters returned are freed with it. Takes
 * ownership of `ep`; NULL is ignored; freeing twice, or using the
 * endpoint afterwards, is a use after free. Safe from any callback of
 * the reactor's thread, and after the reactor was freed. */
void df_endpoint_free(df_endpoint *ep);
void df_server_endpoint_free(df_server_endpoint *ep);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_ENDPOINT_H */
