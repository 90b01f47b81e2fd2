/* libdeferred-uv: a fake reactor, for tests (Twisted's MemoryReactorClock).
 *
 * A fake reactor is a df_reactor on a clock the test drives (a test
 * clock, deferred/test_clock.h): code written against df_reactor runs on
 * it unchanged, and the test decides what the network does.
 *   - listen_tcp and connect_tcp are recorded (df_fake_reactor_tcp_server,
 *     df_fake_reactor_tcp_client); nothing is opened.
 *   - df_fake_reactor_accept makes a recorded listening port accept a
 *     connection: its factory builds a protocol, which is connected to a
 *     new memory transport (memory_transport.h) the test then drives.
 *   - df_fake_reactor_connect_client completes a recorded connection
 *     attempt the same way, df_fake_reactor_fail_client fails it. An
 *     attempt's timeout is a delayed call on the clock, so advancing the
 *     test clock past it fails the attempt with TCPTimedOutError, exactly
 *     as on the libuv reactor.
 *   - defer_to_thread and call_from_thread are queued until the test
 *     runs them with df_fake_reactor_run_threads, on its own thread.
 *   - run fires the startup event and returns; stop runs the shutdown
 *     sequence (triggers, waiting for before-phase deferreds, closing the
 *     memory transports it made with ConnectionLost).
 *   - Names resolve through an installed resolver (resolver.h) only.
 *
 * Ownership: the test owns the fake reactor (df_reactor_free) and the
 * clock (borrowed: it must outlive the reactor). Memory transports the
 * fake reactor made belong to it and are freed with it.
 */
#ifndef DEFERRED_UV_FAKE_REACTOR_H
#define DEFERRED_UV_FAKE_REACTOR_H

#include <stddef.h>

#include "memory_transport.h"
#include "reactor.h"
#include "tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Make a fake reactor on `clock` (borrowed). Returns 0, DF_EINVAL or
 * DF_ENOMEM. */
int df_fake_reactor_new(df_clock *clock, df_reactor **out);

/* A recorded df_reactor_listen_tcp call (tcpServers). The strings and the
 * port are the fake reactor's, valid while it lives. */
typedef struct df_fake_tcp_server {
  int port;
  df_factory *factory;
  int backlog;
  const char *interface; /* "" when none was given */
  unsigned flags;
  df_listening_port *listening_port; /* borrowed */
} df_fake_tcp_server;

/* A recorded df_reactor_connect_tcp call (tcpClients). */
typedef struct df_fake_tcp_client {
  const char *host;
  int port;
  df_factory *factory;
  double timeout;
  const char *bind_address; /* NULL when none */
  df_connector *connector;  /* borrowed */
} df_fake_tcp_client;

/* How many were recorded, and the i-th (borrowed, valid until the fake
 * reactor is freed; NULL if out of range, or if `r` is NULL or not a
 * fake reactor, whose count is then 0). A
 * connector that connects again (df_connector_connect) is recorded again. */
size_t df_fake_reactor_tcp_server_count(const df_reactor *r);
const df_fake_tcp_server *df_fake_reactor_tcp_server(const df_reactor *r,
                                                     size_t i);
size_t df_fake_reactor_tcp_client_count(const df_reactor *r);
const df_fake_tcp_client *df_fake_reactor_tcp_client(const df_reactor *r,
                                                     size_t i);

/* A client connects to the i-th listening port from `peer` (NULL: the
 * memory transport's default peer): the port's factory builds the
 * protocol, which is connected to a new memory transport (borrowed into
 * `*out` if not NULL; the fake reactor owns it). Returns 0; DF_EINVAL if
 * there is no such port or it has stopped listening; DF_ENOMEM; or
 * DF_EINVAL with nothing connected if the factory refused (NULL). */
int df_fake_reactor_accept(df_reactor *r, size_t i, const df_address *peer,
                           df_memory_transport **out);

/* The i-th connection attempt succeeds: the factory builds the protocol
 * (peer: the attempt's host and port if numeric, else 192.168.1.1), it is
 * connected to a new memory transport (`*out`, borrowed). When the memory
 * transport is closed, the factory's client_connection_lost follows.
 * Returns 0, or DF_EINVAL if that attempt is not in progress (failed,
 * timed out, stopped, or completed). */
int df_fake_reactor_connect_client(df_reactor *r, size_t i,
                                   df_memory_transport **out);

/* The i-th connection attempt fails with `reason` (borrowed; NULL: a
 * ConnectionRefusedError). Returns 0 or DF_EINVAL as above. */
int df_fake_reactor_fail_client(df_reactor *r, size_t i, df_failure *reason);

/* Run the queued defer_to_thread jobs and call_from_thread calls, in the
 * order they were made (also those they queue meanwhile), on the calling
 * thread, firing the jobs' deferreds. Returns how many ran. */
size_t df_fake_reactor_run_threads(df_reactor *r);

/* How many jobs and calls are queued. */
size_t df_fake_reactor_pending_threads(const df_reactor *r);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_FAKE_REACTOR_H */
