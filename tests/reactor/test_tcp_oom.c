/* Out of memory on the libuv reactor's real TCP paths, over 127.0.0.1.
 *
 * One scenario: a reactor listens and echoes; two clients connect to it
 * at once, one with df_reactor_connect_tcp (a connector and its factory)
 * and one with df_connect_protocol (an endpoint and its deferred), and
 * each sends a payload larger than the kernel takes in one write (so the
 * write chunks of tcp.c are made, grown and sent), half-closes, and reads
 * the echo to the end. Once both are done, memory comes back and a last
 * client connects to the same port: it must get its whole echo.
 *
 * The scenario is run again and again with the n-th allocation refused
 * (of libdeferred-uv's own, df__uv_malloc, and of libdeferred's,
 * df_set_allocator, counted together), then with each run of two
 * allocations in a row refused (two connections refused back to back,
 * the second while the port's spare handle still closes the first, so
 * that it waits for the retry timer), then with every allocation from the n-th on
 * refused, until a run gets through. Every run must stop by itself (a
 * watchdog that bites fails it), free everything (ASan and valgrind
 * check), and, when it could listen, serve the last client: an
 * allocation failure may cost the connections it hits, never the port.
 * When nothing was refused, both first clients got their echo too. */
#include "reactor_support.h"

/* libdeferred-uv's allocation hooks (src/reactor/internal.h). */
extern void *(*df__uv_malloc)(size_t);
extern void *(*df__uv_realloc)(void *, size_t);

/* From the last client on, memory is back: nothing is refused, nor
 * counted (so that the driver stops once n passes the allocations of
 * the part under test). */
static bool memory_back;

static void *oom_malloc(size_t n) {
  return memory_back ? malloc(n) : support_failing_malloc(n);
}
static void *oom_realloc(void *p, size_t n) {
  return memory_back ? realloc(p, n) : support_failing_realloc(p, n);
}

enum {
  LISTENED = 1 << 0,
  CONNECTOR_ECHOED = 1 << 1, /* the connect_tcp client got all of it back */
  ENDPOINT_ECHOED = 1 << 2,  /* the connect_protocol client likewise      */
  LAST_ECHOED = 1 << 3,      /* the client once memory was back          */
  STOPPED = 1 << 4,          /* the run ended by itself                  */
  WRITE_WAITED = 1 << 5,     /* part of a client's payload waited in the
                                transport (the write chunks were used)  */
  WATCHDOG = 1 << 6,         /* the watchdog had to stop it              */
  EVERYTHING = (1 << 6) - 1
};

/* Larger than what loopback takes in one write at first, so that part
 * of each client's payload waits in its write chunks. */
#define PAYLOAD_SIZE (256 * 1024)
#define LAST_SIZE 8192
static char payload[PAYLOAD_SIZE];

static struct {
  df_reactor *r;
  int port;
  int first_clients; /* of the two first clients, those not done */
  int64_t outcome;
} run;

/* --- small socket buffers ------------------------------------------------ */

/* The socket of `t`: the descriptor whose two addresses are its own. */
static int socket_of(df_transport *t) {
  df_address host, peer;
  if (df_transport_get_host(t, &host) < 0 || df_transport_get_peer(t, &peer) < 0)
    return -1;
  for (int fd = 3; fd < 1024; fd++) {
    df_address a, b;
    socklen_t alen = sizeof a.u, blen = sizeof b.u;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (getsockname(fd, &a.u.sa, &alen) == 0 && getpeername(fd, &b.u.sa, &blen) == 0 &&
        memcmp(&a, &host, sizeof a) == 0 && memcmp(&b, &peer, sizeof b) == 0)
      return fd;
  }
  return -1;
}

/* Make the kernel take a few kilobytes at a time from `t`, so that the
 * rest of a write waits in the transport's write chunks. Only the send
 * buffer: a small receive window too makes loopback crawl (delayed
 * acknowledgements), seconds a run. */
static void small_buffers(df_transport *t) {
  int fd = socket_of(t);
  assert_true(fd >= 0);
  int size = 4096;
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
}

/* --- the server: echo, aborting a connection whose echo cannot be kept -- */

static void echo_made(df_protocol *p) { small_buffers(p->transport); }

static void echo_data(df_protocol *p, const char *data, size_t len) {
  if (df_transport_write(p->transport, data, len) < 0)
    df_transport_abort_connection(p->transport);
}
static const df_protocol_type echo_type = {.name = "Echo",
                                           .connection_made = echo_made,
                                           .data_received = echo_data,
                                           .free = df_protocol_free};

/* --- the clients ----------------------------------------------------------- */

typedef struct client {
  df_protocol base;
  size_t size;  /* bytes to send, and to get back */
  size_t got;
  bool intact;  /* what came back so far is what was sent */
  int64_t bit;  /* the outcome bit for a whole echo */
} client;

static void last_done(void);
static void first_done(void);

/* Send the payload in one write, then two more pieces as a sequence,
 * then half-close; a write refused for want of memory ends it. */
static void client_made(df_protocol *p) {
  client *c = (client *)p;
  df_transport *t = p->transport;
  small_buffers(t);
  size_t first = c->size - 4096;
  df_buffer rest[2] = {{payload + first, 2048}, {payload + first + 2048, 2048}};
  if (df_transport_write(t, payload, first) < 0 ||
      df_transport_write_sequence(t, rest, 2) < 0) {
    df_transport_abort_connection(t);
    return;
  }
  if (df_transport_write_buffer_size(t) > 0) run.outcome |= WRITE_WAITED;
  df_transport_lose_write_connection(t);
}

static void client_data(df_protocol *p, const char *data, size_t len) {
  client *c = (client *)p;
  if (c->got + len > c->size || memcmp(data, payload + c->got, len) != 0)
    c->intact = false;
  c->got += len;
}

static void client_lost(df_protocol *p, df_failure *reason) {
  client *c = (client *)p;
  if (c->intact && c->got == c->size &&
      df_failure_check(reason, &df_error_connection_done))
    run.outcome |= c->bit;
}

static void client_free(df_protocol *p) { free(p); }

/* The endpoint's client: its release (connected or not) says it is done. */
static void endpoint_client_free(df_protocol *p) {
  free(p);
  first_done();
}

static const df_protocol_type client_type = {
    .name = "Client", .connection_made = client_made,
    .data_received = client_data, .connection_lost = client_lost,
    .free = client_free};
static const df_protocol_type endpoint_client_type = {
    .name = "EndpointClient", .connection_made = client_made,
    .data_received = client_data, .connection_lost = client_lost,
    .free = endpoint_client_free};

/* Made with malloc, which is not refused: the test's own. */
static client *client_new(const df_protocol_type *type, size_t size,
                          int64_t bit) {
  client *c = malloc(sizeof *c);
  assert_non_null(c);
  df_protocol_init(&c->base, type);
  c->size = size;
  c->got = 0;
  c->intact = true;
  c->bit = bit;
  return c;
}

/* connect_tcp's factory: one client per connection; failing to connect
 * or the connection's end says it is done. */
typedef struct client_factory {
  df_factory base;
  size_t size;
  int64_t bit;
  void (*done)(void);
} client_factory;

static df_protocol *build_client(df_factory *f, const df_address *peer) {
  (void)peer;
  client_factory *cf = (client_factory *)f;
  return &client_new(&client_type, cf->size, cf->bit)->base;
}
static void attempt_failed(df_factory *f, df_connector *c, df_failure *reason) {
  (void)c;
  (void)reason;
  ((client_factory *)f)->done();
}
static void attempt_lost(df_factory *f, df_connector *c, df_failure *reason) {
  (void)c;
  (void)reason;
  ((client_factory *)f)->done();
}
static const df_factory_type client_factory_type = {
    .name = "Clients", .build_protocol = build_client,
    .client_connection_failed = attempt_failed,
    .client_connection_lost = attempt_lost};

static client_factory first_factory, last_factory;
static df_factory server_factory;

/* The last client: memory is back, so it must connect and get its echo. */
static void start_last_client(void) {
  memory_back = true;
  if (df_reactor_connect_tcp(run.r, "127.0.0.1", run.port, &last_factory.base,
                             5, NULL, NULL) < 0)
    df_reactor_stop(run.r);
}

static void first_done(void) {
  if (--run.first_clients == 0) start_last_client();
}

static void last_done(void) { df_reactor_stop(run.r); }

static df_result drop_result(df_result res, void *arg) {
  (void)arg;
  df_result_drop(res);
  return df_none();
}

static void watchdog(void *arg) {
  (void)arg;
  memory_back = true;
  run.outcome |= WATCHDOG;
  df_reactor_stop(run.r);
}

/* The two first clients, at once. Each calls first_done once, whatever
 * happens to it. */
static void start_first_clients(void) {
  run.first_clients = 2;
  if (df_reactor_connect_tcp(run.r, "127.0.0.1", run.port, &first_factory.base,
                             5, NULL, NULL) < 0)
    first_done();
  df_endpoint *ep;
  if (df_tcp_client_endpoint_new(run.r, "127.0.0.1", run.port, 5, NULL, &ep) <
      0) {
    first_done();
    return;
  }
  client *c = client_new(&endpoint_client_type, PAYLOAD_SIZE, ENDPOINT_ECHOED);
  df_deferred *d = df_connect_protocol(ep, &c->base); /* takes c over */
  df_endpoint_free(ep);
  if (d) {
    df_deferred_add_both(d, drop_result, NULL);
    df_deferred_unref(d);
  }
}

static void steps(void) {
  df_reactor_set_signal_handling(run.r, false);
  /* Without a watchdog the run would not be bounded: skip it. */
  if (df_reactor_call_later(run.r, 5, watchdog, NULL, NULL) < 0) return;
  df_factory_init_for_protocol(&server_factory, &echo_type);
  df_listening_port *port;
  df_failure *why = NULL;
  if (df_reactor_listen_tcp(run.r, 0, &server_factory, "127.0.0.1", 0, 0,
                            &port, &why) < 0) {
    df_failure_unref(why);
    return;
  }
  run.outcome |= LISTENED;
  df_address bound;
  df_listening_port_get_host(port, &bound);
  df_listening_port_unref(port);
  run.port = df_address_port(&bound);
  start_first_clients();
  if (df_reactor_run(run.r) == 0 && !(run.outcome & WATCHDOG))
    run.outcome |= STOPPED;
}

static int64_t scenario(void) {
  /* The driver installed its allocator; ours adds memory_back. */
  df_release_caches();
  assert_int_equal(df_set_allocator(oom_malloc, oom_realloc, free), 0);
  df__uv_malloc = oom_malloc;
  df__uv_realloc = oom_realloc;
  memory_back = false;
  memset(&run, 0, sizeof run);
  if (df_uv_reactor_new(&run.r) == 0) {
    steps();
    df_reactor_free(run.r);
  }
  df__uv_malloc = malloc;
  df__uv_realloc = realloc;
  return run.outcome;
}

static void check(int64_t outcome, bool failed) {
  if (!failed) {
    assert_int_equal(outcome, EVERYTHING);
    return;
  }
  assert_false(outcome & WATCHDOG);
  if (outcome & LISTENED) {
    assert_true(outcome & STOPPED);
    assert_true(outcome & LAST_ECHOED);
  }
}

static int setup(void **state) {
  support_setup(state);
  for (size_t i = 0; i < sizeof payload; i++)
    payload[i] = (char)(i * 7 + i / 251);
  first_factory = (client_factory){.size = PAYLOAD_SIZE,
                                   .bit = CONNECTOR_ECHOED,
                                   .done = first_done};
  df_factory_init(&first_factory.base, &client_factory_type);
  last_factory = (client_factory){.size = LAST_SIZE, .bit = LAST_ECHOED,
                                  .done = last_done};
  df_factory_init(&last_factory.base, &client_factory_type);
  return 0;
}

static void test_each_allocation_refused_costs_at_most_its_connections(
    void **state) {
  (void)state;
  long points = support_fail_each_allocation(scenario, check, 5000);
  print_message("allocations refused one by one: %ld\n", points);
  assert_true(points >= 30);
}

static void test_two_allocations_refused_in_a_row_never_stall_the_port(
    void **state) {
  (void)state;
  long points = support_fail_runs_of_allocations(scenario, check, 5000, 2);
  print_message("runs of two refused allocations: %ld\n", points);
  assert_true(points >= 30);
}

static void test_memory_running_out_for_good_then_back_leaves_the_port_serving(
    void **state) {
  (void)state;
  long points =
      support_fail_runs_of_allocations(scenario, check, 5000, SUPPORT_FAIL_FOREVER);
  print_message("every allocation refused from each point on: %ld\n", points);
  assert_true(points >= 30);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, support_teardown)
      T(test_each_allocation_refused_costs_at_most_its_connections),
      T(test_two_allocations_refused_in_a_row_never_stall_the_port),
      T(test_memory_running_out_for_good_then_back_leaves_the_port_serving),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
