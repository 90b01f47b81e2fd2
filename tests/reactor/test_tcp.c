/* TCP on the libuv reactor, over loopback only (127.0.0.1 and ::1):
 * connect and echo, refused ports, names through an installed resolver,
 * the connect timeout against a listener whose accept queue is full,
 * half-close, abort, backpressure with a slow reader, a thousand
 * connections at once, stop_listening, endpoints, a clean stop with
 * connections open. Each test runs its own reactor under a watchdog
 * (watchdog_arm) and ctest's TIMEOUT; ports are chosen by the kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor_support.h"

static client_log clog; /* static: the reactor borrows it */


/* --- the server: echo until the client half-closes, then close -------------- */

typedef struct echo_server {
  df_factory base;
  int connections, closed;
  size_t bytes;
  char last_reason[64];
} echo_server;

typedef struct echo {
  df_protocol base;
  echo_server *server;
} echo;

static void echo_data(df_protocol *p, const char *data, size_t len) {
  ((echo *)p)->server->bytes += len;
  df_transport_write(p->transport, data, len);
}
static void echo_eof(df_protocol *p) { df_transport_lose_connection(p->transport); }
static void echo_lost(df_protocol *p, df_failure *reason) {
  echo_server *s = ((echo *)p)->server;
  s->closed++;
  snprintf(s->last_reason, sizeof s->last_reason, "%s", df_failure_type(reason)->name);
}
static const df_protocol_type echo_type = {
    .name = "Echo", .data_received = echo_data, .read_connection_lost = echo_eof,
    .connection_lost = echo_lost, .free = df_protocol_free};

static df_protocol *echo_build(df_factory *f, const df_address *peer) {
  (void)peer;
  echo *e = calloc(1, sizeof *e);
  e->base.type = &echo_type;
  e->server = (echo_server *)f;
  e->server->connections++;
  return &e->base;
}
static const df_factory_type echo_server_type = {.name = "EchoServer",
                                                 .build_protocol = echo_build};

static echo_server server;

static int listen_echo(const char *interface) {
  memset(&server, 0, sizeof server);
  df_factory_init(&server.base, &echo_server_type);
  df_listening_port *port;
  df_failure *why = NULL;
  int rc = df_reactor_listen_tcp(r, 0, &server.base, interface, 0, 0, &port, &why);
  if (rc < 0) {
    df_failure_unref(why);
    return rc;
  }
  df_address a;
  df_listening_port_get_host(port, &a);
  df_listening_port_unref(port);
  return df_address_port(&a);
}

/* Listen on 127.0.0.1 with `f` (static: the reactor borrows it); the
 * port the kernel chose. */
static int listen_with(df_factory *f) {
  df_listening_port *port;
  assert_int_equal(df_reactor_listen_tcp(r, 0, f, "127.0.0.1", 0, 0, &port, NULL), 0);
  df_address a;
  df_listening_port_get_host(port, &a);
  df_listening_port_unref(port);
  return df_address_port(&a);
}

/* A for_protocol factory of `type`, listening: the port. */
static df_factory one_type_factory;
static int listen_protocol(const df_protocol_type *type) {
  df_factory_init_for_protocol(&one_type_factory, type);
  return listen_with(&one_type_factory);
}

/* --- the client: send, half-close, collect; stop when all are done ---------- */

typedef struct sender_factory {
  df_factory base;
  const char *payload;
  size_t payload_len;
  int expected, finished, failed;
  char reason[128];
  bool stop_when_done;
} sender_factory;

typedef struct sender {
  df_protocol base;
  char *received;
  size_t len, cap;
  char tag[16];
} sender;

static sender_factory clients;
static size_t good_replies;

static void sender_made(df_protocol *p) {
  sender *s = (sender *)p;
  sender_factory *f = (sender_factory *)p->factory;
  if (f->payload)
    df_transport_write(p->transport, f->payload, f->payload_len);
  else
    df_transport_write(p->transport, s->tag, strlen(s->tag));
  df_transport_lose_write_connection(p->transport);
}
static void sender_data(df_protocol *p, const char *data, size_t len) {
  sender *s = (sender *)p;
  if (s->len + len > s->cap) {
    s->cap = (s->len + len) * 2;
    s->received = realloc(s->received, s->cap);
  }
  memcpy(s->received + s->len, data, len);
  s->len += len;
}
static void finished_one(sender_factory *f) {
  if (++f->finished + f->failed == f->expected && f->stop_when_done)
    df_reactor_stop(r);
}
static void sender_lost(df_protocol *p, df_failure *reason) {
  sender *s = (sender *)p;
  sender_factory *f = (sender_factory *)p->factory;
  const char *want = f->payload ? f->payload : s->tag;
  size_t want_len = f->payload ? f->payload_len : strlen(s->tag);
  if (s->len == want_len && memcmp(s->received, want, want_len) == 0 &&
      df_failure_check(reason, &df_error_connection_done))
    good_replies++;
  df_failure_brief(reason, f->reason, sizeof f->reason);
  finished_one(f);
}
static void sender_free(df_protocol *p) {
  free(((sender *)p)->received);
  free(p);
}
static const df_protocol_type sender_type = {
    .name = "Sender", .connection_made = sender_made, .data_received = sender_data,
    .connection_lost = sender_lost, .free = sender_free};

static int built;
static df_protocol *sender_build(df_factory *f, const df_address *peer) {
  (void)f;
  (void)peer;
  sender *s = calloc(1, sizeof *s);
  s->base.type = &sender_type;
  snprintf(s->tag, sizeof s->tag, "client%04d", built++);
  return &s->base;
}
static void sender_failed(df_factory *f, df_connector *c, df_failure *reason) {
  (void)c;
  sender_factory *sf = (sender_factory *)f;
  sf->failed++;
  df_failure_brief(reason, sf->reason, sizeof sf->reason);
  ev("failed:%s:%d", df_failure_type(reason)->name, df_network_error_code(reason));
  if (sf->finished + sf->failed == sf->expected && sf->stop_when_done)
    df_reactor_stop(r);
}
static const df_factory_type sender_factory_type = {
    .name = "Senders", .build_protocol = sender_build,
    .client_connection_failed = sender_failed};

static void clients_init(const char *payload, size_t len, int expected) {
  memset(&clients, 0, sizeof clients);
  df_factory_init(&clients.base, &sender_factory_type);
  clients.payload = payload;
  clients.payload_len = len;
  clients.expected = expected;
  clients.stop_when_done = true;
  good_replies = 0;
  built = 0;
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(int family) {
  int fd = socket(family, SOCK_STREAM, 0);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    len = sizeof *in6;
  }
  assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
  getsockname(fd, (struct sockaddr *)&ss, &len);
  close(fd);
  return ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                 : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* --- tests ----------------------------------------------------------------------- */

static void test_echo_over_ipv4_loopback(void **state) {
  (void)state;
  int port = listen_echo("127.0.0.1");
  assert_true(port > 0);
  clients_init("hello, echo", 11, 1);
  df_connector *c;
  assert_int_equal(df_reactor_connect_tcp(r, "127.0.0.1", port, &clients.base, 5,
                                          NULL, &c), 0);
  assert_int_equal(df_connector_get_state(c), DF_CONNECTOR_CONNECTING);
  run_reactor();
  assert_int_equal(good_replies, 1);
  assert_int_equal(server.connections, 1);
  assert_int_equal(server.bytes, 11);
  assert_string_equal(clients.reason, "ConnectionDone: Connection was closed cleanly");
  assert_int_equal(df_connector_get_state(c), DF_CONNECTOR_DISCONNECTED);
  df_connector_unref(c);
}

static void test_echo_over_ipv6_loopback(void **state) {
  (void)state;
  int port = listen_echo("::1");
  if (port < 0) skip(); /* no IPv6 loopback on this machine */
  clients_init("over six", 8, 1);
  df_reactor_connect_tcp(r, "::1", port, &clients.base, 5, NULL, NULL);
  run_reactor();
  assert_int_equal(good_replies, 1);
}

static void test_a_port_nobody_listens_on_refuses(void **state) {
  (void)state;
  clients_init("x", 1, 1);
  df_reactor_connect_tcp(r, "127.0.0.1", closed_port(AF_INET), &clients.base, 5,
                         NULL, NULL);
  run_reactor();
  char want[64];
  snprintf(want, sizeof want, "failed:ConnectionRefusedError:%d ", UV_ECONNREFUSED);
  assert_string_equal(events, want);
  assert_non_null(strstr(clients.reason, "Connection was refused by other side: "
                                         "127.0.0.1:"));
  assert_non_null(strstr(clients.reason, ": connection refused"));
}

/* No test sends a DNS query: names go to a hosts table installed here. */
static void test_a_name_that_does_not_resolve_fails_with_dns_lookup_error(
    void **state) {
  (void)state;
  df_resolver *hosts;
  df_hosts_resolver_new(&hosts);
  df_hosts_resolver_add(hosts, "echo.test", "127.0.0.1");
  df_reactor_install_resolver(r, hosts);
  int port = listen_echo("127.0.0.1");
  clients_init("named", 5, 2);
  df_reactor_connect_tcp(r, "nowhere.invalid", port, &clients.base, 5, NULL, NULL);
  df_reactor_connect_tcp(r, "echo.test", port, &clients.base, 5, NULL, NULL);
  run_reactor();
  assert_string_equal(events, "failed:DNSLookupError:0 ");
  assert_int_equal(good_replies, 1);
  df_reactor_free(r);
  r = NULL;
  df_resolver_free(hosts);
}

/* The one real name: localhost, from /etc/hosts. Listening on IPv4 only,
 * the client gets to 127.0.0.1 even if ::1 comes first and is refused. */
static void test_localhost_resolves_through_the_system_resolver(void **state) {
  (void)state;
  int port = listen_echo("127.0.0.1");
  clients_init("local", 5, 1);
  df_reactor_connect_tcp(r, "localhost", port, &clients.base, 5, NULL, NULL);
  run_reactor();
  assert_int_equal(good_replies, 1);
}

/* A listener whose accept queue is full drops new SYNs: the attempt
 * neither succeeds nor fails until its timeout. */
static void test_connect_times_out_against_a_full_accept_queue(void **state) {
  (void)state;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  assert_int_equal(bind(listener, (struct sockaddr *)&a, len), 0);
  getsockname(listener, (struct sockaddr *)&a, &len);
  assert_int_equal(listen(listener, 0), 0);
  int fillers[3];
  for (int i = 0; i < 3; i++) {
    fillers[i] = socket(AF_INET, SOCK_STREAM, 0);
    fcntl(fillers[i], F_SETFL, O_NONBLOCK);
    connect(fillers[i], (struct sockaddr *)&a, len);
  }
  /* The first filler completes and fills the queue (at most 5 s). */
  struct pollfd first = {fillers[0], POLLOUT, 0};
  assert_int_equal(poll(&first, 1, 5000), 1);
  clients_init("x", 1, 1);
  double start = df_reactor_seconds(r);
  df_reactor_connect_tcp(r, "127.0.0.1", ntohs(a.sin_port), &clients.base, 0.3,
                         NULL, NULL);
  run_reactor();
  double took = df_reactor_seconds(r) - start;
  assert_string_equal(events, "failed:TCPTimedOutError:0 ");
  assert_non_null(strstr(clients.reason, "no connection after 0.3 seconds"));
  assert_true(took >= 0.3 && took < 5);
  for (int i = 0; i < 3; i++) close(fillers[i]);
  close(listener);
}

/* --- half-close and abort -------------------------------------------------------- */

/* A half-closeable server: at the client's end of input it answers "bye"
 * and closes; the client, half-closed, still reads it. */
static void bye_eof(df_protocol *p) {
  df_transport_write(p->transport, "bye", 3);
  df_transport_lose_connection(p->transport);
}
static void note_lost(df_protocol *p, df_failure *reason) {
  (void)p;
  ev("server-lost:%s", df_failure_type(reason)->name);
}
static const df_protocol_type bye_type = {.name = "Bye",
                                          .read_connection_lost = bye_eof,
                                          .connection_lost = note_lost,
                                          .free = df_protocol_free};

static void test_half_close_leaves_the_other_direction_open(void **state) {
  (void)state;
  int port = listen_protocol(&bye_type);
  clients_init("", 0, 1);
  clients.payload = "bye"; /* what it expects back; it sends it too */
  clients.payload_len = 3;
  df_reactor_connect_tcp(r, "127.0.0.1", port, &clients.base, 5, NULL, NULL);
  run_reactor();
  assert_int_equal(good_replies, 1);
  assert_string_equal(events, "server-lost:ConnectionDone ");
}

/* Aborts when the client's data comes (so that the client is connected
 * by then), dropping what it has buffered. */
static void abort_data(df_protocol *p, const char *data, size_t len) {
  (void)data;
  (void)len;
  df_transport_pause_producing(p->transport);
  df_transport_write(p->transport, "never sent", 10);
  df_transport_abort_connection(p->transport);
}
static const df_protocol_type abort_type = {.name = "Abort",
                                            .data_received = abort_data,
                                            .connection_lost = note_lost,
                                            .free = df_protocol_free};

static void test_abort_connection_resets_the_peer(void **state) {
  (void)state;
  int port = listen_protocol(&abort_type);
  clients_init("data", 4, 1);
  df_reactor_connect_tcp(r, "127.0.0.1", port, &clients.base, 5, NULL, NULL);
  run_reactor();
  assert_string_equal(events, "server-lost:ConnectionAborted ");
  assert_int_equal(good_replies, 0);
  assert_non_null(strstr(clients.reason, "ConnectionLost: "));
  assert_non_null(strstr(clients.reason, "connection reset by peer"));
}

/* --- backpressure ---------------------------------------------------------------- */

/* A server that streams `total` bytes in 16 KiB writes as long as its
 * transport lets it (a push producer), to a client that does not read
 * for the first 300 ms. */
#define STREAM_TOTAL (16u << 20)
#define STREAM_PIECE 16384

typedef struct streamer {
  df_protocol base;
  df_producer producer;
  size_t sent;
  bool paused, scheduled;
  size_t max_buffered;
  int pauses, resumes;
} streamer;

static streamer *the_streamer;
static char piece[STREAM_PIECE];

static void stream_more(void *arg) {
  streamer *s = arg;
  s->scheduled = false;
  while (!s->paused && s->sent < STREAM_TOTAL && s->base.transport) {
    df_transport_write(s->base.transport, piece, sizeof piece);
    s->sent += sizeof piece;
    size_t b = df_transport_write_buffer_size(s->base.transport);
    if (b > s->max_buffered) s->max_buffered = b;
  }
  if (s->sent >= STREAM_TOTAL) df_transport_lose_connection(s->base.transport);
}
static void streamer_pause(df_producer *p) {
  streamer *s = DF__TEST_CONTAINER(p, streamer, producer);
  s->paused = true;
  s->pauses++;
}
static void streamer_resume(df_producer *p) {
  streamer *s = DF__TEST_CONTAINER(p, streamer, producer);
  s->paused = false;
  s->resumes++;
  /* Not from inside the transport's callback: from the loop. */
  if (!s->scheduled) {
    s->scheduled = true;
    df_reactor_call_later(r, 0, stream_more, s, NULL);
  }
}
static const df_producer_type streamer_producer = {streamer_pause,
                                                   streamer_resume, NULL};
static void streamer_made(df_protocol *p) {
  streamer *s = (streamer *)p;
  s->producer.type = &streamer_producer;
  df_transport_register_producer(p->transport, &s->producer, true);
  stream_more(s);
}
static void streamer_free(df_protocol *p) {
  /* Kept for the test to read; freed by it. */
  p->transport = NULL;
}
static const df_protocol_type streamer_type = {.name = "Streamer",
                                               .connection_made = streamer_made,
                                               .free = streamer_free};
static df_protocol *streamer_build(df_factory *f, const df_address *peer) {
  (void)f;
  (void)peer;
  the_streamer = calloc(1, sizeof *the_streamer);
  the_streamer->base.type = &streamer_type;
  return &the_streamer->base;
}
static const df_factory_type streamer_factory = {.name = "Streamers",
                                                 .build_protocol = streamer_build};

typedef struct slow_reader {
  df_protocol base;
  size_t received;
  bool paused_a_while;
} slow_reader;

static void reader_resume(void *arg) { df_transport_resume_producing(arg); }
static void reader_made(df_protocol *p) {
  df_transport_pause_producing(p->transport);
  df_reactor_call_later(r, 0.3, reader_resume, p->transport, NULL);
}
static void reader_data(df_protocol *p, const char *data, size_t len) {
  (void)data;
  ((slow_reader *)p)->received += len;
}
static size_t reader_total;
static void reader_lost(df_protocol *p, df_failure *reason) {
  (void)reason;
  reader_total = ((slow_reader *)p)->received;
  df_reactor_stop(r);
}
static const df_protocol_type reader_type = {
    .name = "SlowReader", .size = sizeof(slow_reader), .connection_made = reader_made,
    .data_received = reader_data, .connection_lost = reader_lost,
    .free = df_protocol_free};

static void test_a_slow_reader_pauses_the_producer_and_bounds_the_buffer(
    void **state) {
  (void)state;
  static df_factory sf, rf;
  df_factory_init(&sf, &streamer_factory);
  int port = listen_with(&sf);
  df_factory_init_for_protocol(&rf, &reader_type);
  df_reactor_connect_tcp(r, "127.0.0.1", port, &rf, 5, NULL, NULL);
  run_reactor();
  assert_int_equal(reader_total, STREAM_TOTAL);
  assert_true(the_streamer->pauses >= 1);
  assert_true(the_streamer->resumes >= 1);
  /* Never more than the high-water mark plus one write behind. */
  assert_true(the_streamer->max_buffered <= DF_WRITE_HIGH_WATER_DEFAULT + STREAM_PIECE);
  free(the_streamer);
}

/* A pull producer (streaming false) writes one piece each time it is
 * resumed; the kernel takes each at once, so it is resumed from the loop
 * after each write, not only when a buffer drains. */
#define PULL_PIECES 300

typedef struct puller {
  df_protocol base;
  df_producer producer;
  int written;
} puller;

static void puller_resume(df_producer *p) {
  puller *pl = DF__TEST_CONTAINER(p, puller, producer);
  if (pl->written == PULL_PIECES) {
    df_transport_unregister_producer(pl->base.transport);
    df_transport_lose_connection(pl->base.transport);
    return;
  }
  pl->written++;
  df_transport_write(pl->base.transport, piece, 1000);
}
static const df_producer_type puller_producer = {NULL, puller_resume, NULL};
static void puller_made(df_protocol *p) {
  puller *pl = (puller *)p;
  pl->producer.type = &puller_producer;
  df_transport_register_producer(p->transport, &pl->producer, false);
}
static const df_protocol_type puller_type = {
    .name = "Puller", .size = sizeof(puller), .connection_made = puller_made,
    .free = df_protocol_free};

static void test_a_pull_producer_is_resumed_after_each_write(void **state) {
  (void)state;
  static df_factory rf;
  int port = listen_protocol(&puller_type);
  df_factory_init_for_protocol(&rf, &reader_type);
  df_reactor_connect_tcp(r, "127.0.0.1", port, &rf, 5, NULL, NULL);
  run_reactor();
  assert_int_equal(reader_total, PULL_PIECES * 1000);
}

/* --- many connections ------------------------------------------------------------- */

static void test_a_thousand_concurrent_connections_each_get_their_echo(
    void **state) {
  (void)state;
  if (raise_fd_limit(20000) < 2100) skip();
  int port = listen_echo("127.0.0.1");
  clients_init(NULL, 0, 1000);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(df_reactor_connect_tcp(r, "127.0.0.1", port, &clients.base,
                                            8, NULL, NULL), 0);
  run_reactor();
  assert_int_equal(clients.failed, 0);
  assert_int_equal(good_replies, 1000);
  assert_int_equal(server.connections, 1000);
  assert_int_equal(server.bytes, 10 * 1000);
}

/* --- stop_listening, endpoints, listen errors ----------------------------------------- */

static df_result then_connect_again(df_result res, void *arg) {
  ev("stopped:%s", res.kind == DF_NONE ? "None" : "?");
  clients_init("x", 1, 1);
  df_reactor_connect_tcp(r, "127.0.0.1", *(int *)arg, &clients.base, 5, NULL, NULL);
  return res;
}

static void test_stop_listening_fires_then_refuses_new_connections(void **state) {
  (void)state;
  int port = listen_echo("127.0.0.1");
  df_listening_port *p = NULL;
  /* The port itself, through the reactor's list. */
  df_failure *why = NULL;
  df_listening_port *second;
  assert_int_equal(df_reactor_listen_tcp(r, 0, &server.base, "127.0.0.1", 0, 0,
                                         &second, &why), 0);
  df_address a;
  df_listening_port_get_host(second, &a);
  port = df_address_port(&a);
  p = second;
  df_deferred *d = df_listening_port_stop(p);
  df_deferred_add_callback(d, then_connect_again, &port);
  assert_false(df_listening_port_listening(p));
  run_reactor();
  char want[128];
  snprintf(want, sizeof want, "stopped:None failed:ConnectionRefusedError:%d ",
           UV_ECONNREFUSED);
  assert_string_equal(events, want);
  df_deferred_unref(d);
  df_listening_port_unref(p);
}

static void test_listening_on_a_port_in_use_fails_with_minus_eaddrinuse_and_its_text(
    void **state) {
  (void)state;
  int port = listen_echo("127.0.0.1");
  df_failure *why;
  df_listening_port *p;
  int rc = df_reactor_listen_tcp(r, port, &server.base, "127.0.0.1", 0, 0, &p, &why);
  /* The convention of deferred/common.h: the system's reason as a
   * negated errno value, which df_strerror describes. */
  assert_int_equal(rc, -EADDRINUSE);
  assert_string_equal(df_strerror(rc), strerror(EADDRINUSE));
  assert_null(p);
  char want[128];
  snprintf(want, sizeof want,
           "Couldn't listen on 127.0.0.1:%d: address already in use", port);
  assert_string_equal(df_failure_message(why), want);
  assert_ptr_equal(df_failure_type(why), &df_error_cannot_listen);
  assert_int_equal(df_network_error_code(why), UV_EADDRINUSE);
  df_failure_unref(why);
}

static df_result connected_protocol(df_result res, void *arg) {
  (void)arg;
  df_protocol *p = res.u.p;
  ev("connected:%s", p->type->name);
  return res;
}

static df_result listening(df_result res, void *arg) {
  df_listening_port *port = res.u.p;
  df_address a;
  df_listening_port_get_host(port, &a);
  char description[64];
  snprintf(description, sizeof description, "tcp:host=127.0.0.1:port=%d:timeout=5",
           df_address_port(&a));
  df_endpoint *ep;
  assert_int_equal(df_client_from_string(r, description, &ep, NULL), 0);
  df_deferred *d = df_endpoint_connect(ep, arg);
  df_deferred_add_callback(d, connected_protocol, NULL);
  df_deferred_unref(d);
  df_endpoint_free(ep);
  return res; /* the result keeps the port's reference until dropped */
}

static void test_endpoints_from_strings_listen_and_connect(void **state) {
  (void)state;
  memset(&server, 0, sizeof server);
  df_factory_init(&server.base, &echo_server_type);
  df_server_endpoint *sep;
  assert_int_equal(df_server_from_string(r, "tcp:0:interface=127.0.0.1", &sep, NULL), 0);
  clients_init("via endpoints", 13, 1);
  df_deferred *d = df_server_endpoint_listen(sep, &server.base);
  df_deferred_add_callback(d, listening, &clients.base);
  run_reactor();
  assert_int_equal(good_replies, 1);
  assert_string_equal(events, "connected:Sender ");
  df_deferred_unref(d);
  df_server_endpoint_free(sep);
}

/* --- a large payload, and stopping with connections open ------------------------------ */

static void test_a_megabyte_round_trips_byte_for_byte(void **state) {
  (void)state;
  static char payload[1 << 20];
  for (size_t i = 0; i < sizeof payload; i++) payload[i] = (char)(i * 7 + i / 251);
  int port = listen_echo("127.0.0.1");
  clients_init(payload, sizeof payload, 1);
  df_reactor_connect_tcp(r, "127.0.0.1", port, &clients.base, 5, NULL, NULL);
  run_reactor();
  assert_int_equal(good_replies, 1);
  assert_int_equal(server.bytes, sizeof payload);
}

/* libuv takes buffers of at most UINT_MAX bytes; longer pieces and write
 * chunks go to it as several buffers, in order and whole. Not 4 GiB in a
 * test: the limit (df__uv_buf_max, internal.h) is lowered to 1021 bytes,
 * so that the megabyte's writes on both sides are split into hundreds of
 * buffers, in the fast path (uv_try_write) and in the chunks. */
extern size_t df__uv_buf_max;

static void test_writes_longer_than_libuvs_buffer_limit_go_out_whole(
    void **state) {
  (void)state;
  static char payload[1 << 20];
  for (size_t i = 0; i < sizeof payload; i++) payload[i] = (char)(i * 13 + i / 509);
  size_t saved = df__uv_buf_max;
  df__uv_buf_max = 1021;
  int port = listen_echo("127.0.0.1");
  clients_init(payload, sizeof payload, 1);
  df_reactor_connect_tcp(r, "127.0.0.1", port, &clients.base, 5, NULL, NULL);
  run_reactor();
  df__uv_buf_max = saved;
  assert_int_equal(good_replies, 1);
  assert_int_equal(server.bytes, sizeof payload);
}

/* Clients that never half-close: the connections are open when the
 * reactor stops, and end with ConnectionLost on both sides, leaking
 * nothing (ASan and valgrind check the rest). */
static void stop_now(void *arg) { df_reactor_stop(arg); }

static void test_stopping_with_connections_open_closes_them_all(void **state) {
  (void)state;
  int port = listen_echo("127.0.0.1");
  client_log_init(&clog);
  for (int i = 0; i < 5; i++)
    df_reactor_connect_tcp(r, "127.0.0.1", port, &clog.base, 5, NULL, NULL);
  df_reactor_call_later(r, 0.2, stop_now, r, NULL);
  run_reactor();
  assert_int_equal(server.connections, 5);
  assert_int_equal(server.closed, 5);
  assert_string_equal(server.last_reason, "ConnectionLost");
  assert_int_equal(clog.lost, 5);
  assert_string_equal(clog.failure_type, "ConnectionLost");
  assert_true(df_reactor_stopped(r));
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, uv_reactor_setup, uv_reactor_teardown)
      T(test_echo_over_ipv4_loopback),
      T(test_echo_over_ipv6_loopback),
      T(test_a_port_nobody_listens_on_refuses),
      T(test_a_name_that_does_not_resolve_fails_with_dns_lookup_error),
      T(test_localhost_resolves_through_the_system_resolver),
      T(test_connect_times_out_against_a_full_accept_queue),
      T(test_half_close_leaves_the_other_direction_open),
      T(test_abort_connection_resets_the_peer),
      T(test_a_slow_reader_pauses_the_producer_and_bounds_the_buffer),
      T(test_a_pull_producer_is_resumed_after_each_write),
      T(test_a_thousand_concurrent_connections_each_get_their_echo),
      T(test_stop_listening_fires_then_refuses_new_connections),
      T(test_listening_on_a_port_in_use_fails_with_minus_eaddrinuse_and_its_text),
      T(test_endpoints_from_strings_listen_and_connect),
      T(test_a_megabyte_round_trips_byte_for_byte),
      T(test_writes_longer_than_libuvs_buffer_limit_go_out_whole),
      T(test_stopping_with_connections_open_closes_them_all),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
