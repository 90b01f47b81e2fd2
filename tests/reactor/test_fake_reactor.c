/* The fake reactor (fake_reactor.h), Twisted's MemoryReactorClock, and
 * through it the reactor's generic parts on a test clock: listening ports
 * and the factory's doStart/doStop, connectors and the ClientFactory
 * callbacks, the connect timeout, endpoints, the startup and shutdown
 * sequences with their triggers, threads as a queue, resolvers. */
#include "reactor_support.h"


/* The factories the tests use: the reactor borrows them until it is
 * freed (in teardown), so they outlive each test's own frame. */
typedef struct server_factory server_factory;
static server_factory *server_factory_reset(void);
static client_log clog_;
static df_factory plain;

static int setup(void **state) {
  fake_reactor_setup(state);
  server_factory_reset();
  client_log_init(&clog_);
  df_factory_init_for_protocol(&plain, &recorder_type);
  return 0;
}

/* A server factory that builds recorders and counts start/stop. */
struct server_factory {
  df_factory base;
  int starts, stops;
  bool echo;
};
static server_factory sf;

static df_protocol *sf_build(df_factory *f, const df_address *peer) {
  char text[DF_ADDRESS_TEXT_SIZE];
  df_address_format(peer, text, sizeof text);
  ev("build:%s", text);
  recorder *rec = recorder_new(&half_close_recorder_type);
  rec->echo = ((server_factory *)f)->echo;
  rec->lose_on_eof = true;
  return &rec->base;
}
static void sf_start(df_factory *f) { ((server_factory *)f)->starts++; }
static void sf_stop(df_factory *f) { ((server_factory *)f)->stops++; }
static const df_factory_type server_factory_type = {
    .name = "Server", .build_protocol = sf_build, .start_factory = sf_start,
    .stop_factory = sf_stop};

static server_factory *server_factory_reset(void) {
  memset(&sf, 0, sizeof sf);
  df_factory_init(&sf.base, &server_factory_type);
  return &sf;
}

static df_result log_result(df_result res, void *arg) {
  ev_result(arg, res);
  if (df_result_is_failure(res)) {
    df_result_drop(res);
    return df_none();
  }
  return res;
}

/* --- listening ------------------------------------------------------------------ */

/* MemoryReactor.listenTCP records (port, factory, backlog, interface). */
static void test_listen_tcp_is_recorded_and_starts_the_factory(void **state) {
  (void)state;
  df_listening_port *port;
  assert_int_equal(df_reactor_listen_tcp(r, 8080, &sf.base, "127.0.0.1", 0, 0,
                                         &port, NULL), 0);
  assert_int_equal(df_fake_reactor_tcp_server_count(r), 1);
  const df_fake_tcp_server *rec = df_fake_reactor_tcp_server(r, 0);
  assert_int_equal(rec->port, 8080);
  assert_ptr_equal(rec->factory, &sf.base);
  assert_int_equal(rec->backlog, DF_LISTEN_BACKLOG_DEFAULT);
  assert_string_equal(rec->interface, "127.0.0.1");
  assert_ptr_equal(rec->listening_port, port);
  assert_int_equal(sf.starts, 1);
  df_address a;
  char text[DF_ADDRESS_TEXT_SIZE];
  df_listening_port_get_host(port, &a);
  df_address_format(&a, text, sizeof text);
  assert_string_equal(text, "127.0.0.1:8080");
  assert_true(df_listening_port_listening(port));
  assert_null(df_fake_reactor_tcp_server(r, 1));
  df_listening_port_unref(port);
}

static void test_bad_listen_arguments_give_cannot_listen_error(void **state) {
  (void)state;
  df_failure *why;
  df_listening_port *port = (void *)1;
  assert_int_equal(df_reactor_listen_tcp(r, 80, &sf.base, "localhost", 0, 0,
                                         &port, &why), DF_EINVAL);
  assert_null(port);
  char brief[256];
  df_failure_brief(why, brief, sizeof brief);
  assert_string_equal(brief, "CannotListenError: Couldn't listen on "
                             "localhost:80: invalid argument");
  assert_true(df_failure_check(why, &df_error_bind));
  df_failure_unref(why);
  assert_int_equal(df_reactor_listen_tcp(r, 70000, &sf.base, NULL, 0, 0, NULL,
                                         NULL), DF_EINVAL);
  assert_int_equal(df_reactor_listen_tcp(r, 80, &sf.base, NULL, 0, 1u << 7,
                                         NULL, NULL), DF_EINVAL);
  assert_int_equal(df_fake_reactor_tcp_server_count(r), 0);
  assert_int_equal(sf.starts, 0);
}

static void test_accept_builds_a_protocol_on_a_memory_transport(void **state) {
  (void)state;
  sf.echo = true;
  assert_int_equal(df_reactor_listen_tcp(r, 0, &sf.base, NULL, 0, 0, NULL, NULL), 0);
  df_address peer;
  df_address_parse(&peer, "198.51.100.7", 40000);
  df_memory_transport *mt;
  assert_int_equal(df_fake_reactor_accept(r, 0, &peer, &mt), 0);
  df_memory_transport_feed(mt, "ping", 4);
  assert_true(df_memory_transport_value_is(mt, "ping"));
  df_memory_transport_feed_eof(mt);
  assert_true(df_memory_transport_disconnecting(mt));
  df_memory_transport_close(mt, NULL);
  assert_string_equal(events, "build:198.51.100.7:40000 made data:ping eof "
                              "lost:ConnectionDone free ");
  assert_int_equal(df_fake_reactor_accept(r, 1, NULL, NULL), DF_EINVAL);
}

static void test_stop_listening_fires_its_deferred_and_stops_the_factory(
    void **state) {
  (void)state;
  df_listening_port *port;
  df_reactor_listen_tcp(r, 0, &sf.base, NULL, 0, 0, &port, NULL);
  df_deferred *d = df_listening_port_stop(port);
  df_deferred_add_callback(d, log_result, "stopped");
  assert_string_equal(events, "stopped:None ");
  assert_int_equal(sf.stops, 1);
  assert_false(df_listening_port_listening(port));
  assert_int_equal(df_fake_reactor_accept(r, 0, NULL, NULL), DF_EINVAL);
  /* Again: a deferred that has fired already. */
  df_deferred *again = df_listening_port_stop(port);
  assert_true(df_deferred_called(again));
  df_deferred_unref(again);
  df_deferred_unref(d);
  df_listening_port_unref(port);
}

/* --- connecting ------------------------------------------------------------------------ */

/* MemoryReactor.connectTCP records (host, port, factory, timeout,
 * bindAddress) and calls startedConnecting. */
static void test_connect_tcp_is_recorded_and_started_connecting_is_called(
    void **state) {
  (void)state;
  df_connector *c;
  assert_int_equal(df_reactor_connect_tcp(r, "example.org", 80, &clog_.base, 5,
                                          "10.1.2.3", &c), 0);
  assert_int_equal(clog_.started, 1);
  assert_int_equal(df_connector_get_state(c), DF_CONNECTOR_CONNECTING);
  const df_fake_tcp_client *rec = df_fake_reactor_tcp_client(r, 0);
  assert_string_equal(rec->host, "example.org");
  assert_int_equal(rec->port, 80);
  assert_ptr_equal(rec->factory, &clog_.base);
  assert_true(rec->timeout == 5.0);
  assert_string_equal(rec->bind_address, "10.1.2.3");
  assert_ptr_equal(rec->connector, c);
  assert_string_equal(df_connector_host(c), "example.org");
  assert_int_equal(df_connector_port(c), 80);
  assert_string_equal(events, "started ");
  df_connector_unref(c);
}

static void test_bad_connect_arguments_start_nothing(void **state) {
  (void)state;
  assert_int_equal(df_reactor_connect_tcp(r, "h", 0, &clog_.base, 1, NULL, NULL),
                   DF_EINVAL);
  assert_int_equal(df_reactor_connect_tcp(r, NULL, 80, &clog_.base, 1, NULL, NULL),
                   DF_EINVAL);
  assert_int_equal(df_reactor_connect_tcp(r, "h", 80, &clog_.base, 1, "nowhere",
                                          NULL), DF_EINVAL);
  assert_int_equal(df_reactor_connect_tcp(r, "h", 80, NULL, 1, NULL, NULL),
                   DF_EINVAL);
  assert_int_equal(df_fake_reactor_tcp_client_count(r), 0);
  assert_int_equal(clog_.started, 0);
}

static void test_a_completed_connection_reports_its_loss_to_the_factory(
    void **state) {
  (void)state;
  df_connector *c;
  df_reactor_connect_tcp(r, "127.0.0.1", 1234, &clog_.base, 30, NULL, &c);
  df_memory_transport *mt;
  assert_int_equal(df_fake_reactor_connect_client(r, 0, &mt), 0);
  assert_int_equal(df_connector_get_state(c), DF_CONNECTOR_CONNECTED);
  assert_ptr_equal(df_connector_transport(c), df_memory_transport_transport(mt));
  df_address peer;
  char text[DF_ADDRESS_TEXT_SIZE];
  df_transport_get_peer(df_memory_transport_transport(mt), &peer);
  df_address_format(&peer, text, sizeof text);
  assert_string_equal(text, "127.0.0.1:1234");
  assert_int_equal(df_fake_reactor_connect_client(r, 0, NULL), DF_EINVAL);
  /* The timeout is cancelled once connected. */
  test_clock_advance(fake_clock, 60);
  df_memory_transport_close(mt, NULL);
  assert_int_equal(df_connector_get_state(c), DF_CONNECTOR_DISCONNECTED);
  assert_null(df_connector_transport(c));
  assert_string_equal(events,
                      "started build made lost:ConnectionDone free "
                      "clost:ConnectionDone ");
  assert_int_equal(clog_.failed, 0);
  df_connector_unref(c);
}

static void test_a_failed_attempt_calls_client_connection_failed(void **state) {
  (void)state;
  df_reactor_connect_tcp(r, "127.0.0.1", 9, &clog_.base, 30, NULL, NULL);
  assert_int_equal(df_fake_reactor_fail_client(r, 0, NULL), 0);
  assert_string_equal(clog_.failure_text, "ConnectionRefusedError: Connection "
                                        "was refused by other side: "
                                        "127.0.0.1:9");
  assert_int_equal(df_fake_reactor_fail_client(r, 0, NULL), DF_EINVAL);
  assert_string_equal(events, "started failed:ConnectionRefusedError ");
}

/* test_tcp.py's connection timeout, on the test clock. */
static void test_the_connect_timeout_fails_the_attempt_on_the_clock(void **state) {
  (void)state;
  df_connector *c;
  df_reactor_connect_tcp(r, "192.0.2.1", 80, &clog_.base, 5, NULL, &c);
  test_clock_advance(fake_clock, 4.9);
  assert_int_equal(clog_.failed, 0);
  test_clock_advance(fake_clock, 0.1);
  assert_int_equal(clog_.failed, 1);
  assert_string_equal(clog_.failure_text,
                      "TCPTimedOutError: TCP connection timed out: "
                      "192.0.2.1:80: no connection after 5 seconds");
  assert_int_equal(df_connector_get_state(c), DF_CONNECTOR_DISCONNECTED);
  /* The attempt is no longer in progress: it cannot be completed. */
  assert_int_equal(df_fake_reactor_connect_client(r, 0, NULL), DF_EINVAL);
  df_connector_unref(c);
}

static void test_no_timeout_means_the_attempt_waits_for_ever(void **state) {
  (void)state;
  df_reactor_connect_tcp(r, "192.0.2.1", 80, &clog_.base, 0, NULL, NULL);
  test_clock_advance(fake_clock, 1e6);
  assert_int_equal(clog_.failed, 0);
  assert_int_equal(df_fake_reactor_connect_client(r, 0, NULL), 0);
}

/* IConnector.stopConnecting: UserError. */
static void test_stop_connecting_fails_with_user_error(void **state) {
  (void)state;
  df_connector *c;
  df_reactor_connect_tcp(r, "192.0.2.1", 80, &clog_.base, 5, NULL, &c);
  assert_int_equal(df_connector_stop_connecting(c), 0);
  assert_string_equal(clog_.failure_text, "UserError: User aborted connection");
  assert_int_equal(df_connector_stop_connecting(c), DF_EINVAL);
  assert_int_equal(df_connector_disconnect(c), DF_EINVAL);
  test_clock_advance(fake_clock, 10); /* no timeout after that */
  assert_int_equal(clog_.failed, 1);
  df_connector_unref(c);
}

/* ReconnectingClientFactory's pattern: connector.connect() from
 * clientConnectionFailed. */
static void test_a_connector_can_connect_again_from_the_failure_callback(
    void **state) {
  (void)state;
  clog_.reconnect_once = true;
  df_connector *c;
  df_reactor_connect_tcp(r, "127.0.0.1", 9, &clog_.base, 30, NULL, &c);
  df_fake_reactor_fail_client(r, 0, NULL);
  assert_int_equal(df_fake_reactor_tcp_client_count(r), 2);
  assert_int_equal(df_connector_get_state(c), DF_CONNECTOR_CONNECTING);
  assert_int_equal(df_fake_reactor_connect_client(r, 0, NULL), DF_EINVAL);
  assert_int_equal(df_fake_reactor_connect_client(r, 1, NULL), 0);
  assert_string_equal(events, "started failed:ConnectionRefusedError started "
                              "build made ");
  df_connector_unref(c);
}

static void test_factory_starts_once_and_stops_when_its_last_user_ends(
    void **state) {
  (void)state;
  df_listening_port *port;
  df_reactor_listen_tcp(r, 0, &sf.base, NULL, 0, 0, &port, NULL);
  df_connector *c;
  df_reactor_connect_tcp(r, "127.0.0.1", 5, &sf.base, 0, NULL, &c);
  assert_int_equal(sf.starts, 1);
  assert_int_equal(sf.base.num_ports, 2);
  df_fake_reactor_fail_client(r, 0, NULL);
  assert_int_equal(sf.stops, 0);
  df_deferred_unref(df_listening_port_stop(port));
  assert_int_equal(sf.stops, 1);
  assert_int_equal(sf.base.num_ports, 0);
  df_listening_port_unref(port);
  df_connector_unref(c);
}

/* --- endpoints ----------------------------------------------------------------------------- */

static df_result log_protocol(df_result res, void *arg) {
  (void)arg;
  recorder *rec = res.u.p;
  ev("connected:%s", rec->base.type->name);
  df_transport_write(rec->base.transport, "hi", 2);
  return res;
}

static void test_endpoint_connect_fires_with_the_protocol_after_connection_made(
    void **state) {
  (void)state;
  df_endpoint *ep;
  assert_int_equal(df_tcp_client_endpoint_new(r, "127.0.0.1", 80, 10, NULL, &ep), 0);
  df_deferred *d = df_endpoint_connect(ep, &plain);
  df_deferred_add_callback(d, log_protocol, NULL);
  assert_false(df_deferred_called(d));
  df_memory_transport *mt;
  assert_int_equal(df_fake_reactor_connect_client(r, 0, &mt), 0);
  assert_true(df_memory_transport_value_is(mt, "hi"));
  assert_string_equal(events, "made connected:Recorder ");
  df_deferred_unref(d);
  df_endpoint_free(ep);
}

static void test_endpoint_connect_fails_with_the_connect_error(void **state) {
  (void)state;
  df_endpoint *ep;
  df_tcp_client_endpoint_new(r, "192.0.2.1", 80, 2, NULL, &ep);
  df_deferred *d = df_endpoint_connect(ep, &plain);
  df_deferred_add_errback(d, log_result, "err");
  test_clock_advance(fake_clock, 2);
  assert_string_equal(events, "err:TCPTimedOutError: TCP connection timed "
                              "out: 192.0.2.1:80: no connection after 2 "
                              "seconds ");
  df_deferred_unref(d);
  df_endpoint_free(ep);
}

/* Twisted: cancelling an endpoint's connect gives ConnectingCancelledError. */
static void test_cancelling_endpoint_connect_stops_the_attempt(void **state) {
  (void)state;
  df_endpoint *ep;
  df_tcp_client_endpoint_new(r, "127.0.0.1", 80, 0, NULL, &ep);
  df_deferred *d = df_endpoint_connect(ep, &plain);
  df_deferred_add_errback(d, log_result, "err");
  df_deferred_cancel(d);
  assert_string_equal(events, "err:ConnectingCancelledError: Connecting to "
                              "127.0.0.1:80 was cancelled ");
  assert_int_equal(df_fake_reactor_connect_client(r, 0, NULL), DF_EINVAL);
  df_deferred_cancel(d); /* fired: nothing */
  df_deferred_unref(d);
  df_endpoint_free(ep);
}

static void test_connect_protocol_runs_the_given_protocol(void **state) {
  (void)state;
  df_endpoint *ep;
  df_tcp_client_endpoint_new(r, "127.0.0.1", 80, 0, NULL, &ep);
  recorder *mine = recorder_new(&recorder_type);
  mine->name = "mine-";
  df_deferred *d = df_connect_protocol(ep, &mine->base);
  df_deferred_add_callback(d, log_protocol, NULL);
  df_memory_transport *mt;
  df_fake_reactor_connect_client(r, 0, &mt);
  assert_string_equal(events, "mine-made connected:Recorder ");
  df_deferred_unref(d);
  /* A failed connect releases the protocol unconnected. */
  int freed = 0;
  recorder *other = recorder_new(&recorder_type);
  other->freed = &freed;
  d = df_connect_protocol(ep, &other->base);
  df_fake_reactor_fail_client(r, 1, NULL);
  assert_int_equal(freed, 1);
  df_deferred_add_errback(d, log_result, "err");
  df_deferred_unref(d);
  df_endpoint_free(ep);
}

static void test_server_endpoint_listen_fires_with_the_port(void **state) {
  (void)state;
  df_server_endpoint *ep;
  assert_int_equal(df_tcp_server_endpoint_new(r, 4000, "::1", 10, 0, &ep), 0);
  df_deferred *d = df_server_endpoint_listen(ep, &sf.base);
  const df_result *res = df_deferred_result(d);
  assert_non_null(res);
  assert_int_equal(res->kind, DF_POINTER);
  df_listening_port *port = res->u.p;
  assert_true(df_listening_port_listening(port));
  assert_int_equal(df_fake_reactor_tcp_server(r, 0)->backlog, 10);
  df_deferred_unref(d); /* drops its reference to the port */
  df_server_endpoint_free(ep);
}

/* --- the reactor's life --------------------------------------------------------------------- */

static void note(void *arg) { ev("%s", (const char *)arg); }

static df_deferred *trigger(void *arg) {
  ev("%s", (const char *)arg);
  return NULL;
}

static df_deferred *waiting_trigger(void *arg) {
  ev("before");
  return df_deferred_ref(arg);
}

/* test_core.py: callWhenRunning, startup triggers in phase order. */
static void test_run_fires_startup_triggers_and_call_when_running(void **state) {
  (void)state;
  assert_false(df_reactor_running(r));
  df_reactor_call_when_running(r, note, "when-running");
  df_reactor_add_system_event_trigger(r, DF_PHASE_DURING, DF_SYSTEM_STARTUP,
                                      trigger, "during", NULL);
  df_reactor_add_system_event_trigger(r, DF_PHASE_BEFORE, DF_SYSTEM_STARTUP,
                                      trigger, "before", NULL);
  assert_int_equal(df_reactor_run(r), 0);
  assert_true(df_reactor_running(r));
  assert_string_equal(events, "before during when-running ");
  df_reactor_call_when_running(r, note, "now");
  assert_string_equal(events, "before during when-running now ");
  assert_int_equal(df_reactor_run(r), DF_EINVAL);
  assert_string_equal(df_reactor_name(r), "fake reactor");
}

/* _ThreePhaseEvent: the during and after phases wait for the deferreds
 * before-phase triggers return; the reactor closes what is open. */
static void test_stop_waits_for_before_shutdown_deferreds_then_closes_all(
    void **state) {
  (void)state;
  df_reactor_listen_tcp(r, 0, &sf.base, NULL, 0, 0, NULL, NULL);
  df_memory_transport *mt;
  df_fake_reactor_accept(r, 0, NULL, &mt);
  df_reactor_connect_tcp(r, "192.0.2.1", 80, &clog_.base, 0, NULL, NULL);
  df_deferred *later = df_deferred_new();
  df_reactor_add_system_event_trigger(r, DF_PHASE_BEFORE, DF_SYSTEM_SHUTDOWN,
                                      waiting_trigger, later, NULL);
  df_reactor_add_system_event_trigger(r, DF_PHASE_DURING, DF_SYSTEM_SHUTDOWN,
                                      trigger, "during", NULL);
  df_reactor_add_system_event_trigger(r, DF_PHASE_AFTER, DF_SYSTEM_SHUTDOWN,
                                      trigger, "after", NULL);
  assert_int_equal(df_reactor_stop(r), DF_EINVAL); /* not running */
  df_reactor_run(r);
  support_reset();
  assert_int_equal(df_reactor_stop(r), 0);
  assert_int_equal(df_reactor_stop(r), DF_EINVAL); /* stopping already */
  assert_string_equal(events, ""); /* from the loop, not inside stop */
  test_clock_advance(fake_clock, 0);
  assert_string_equal(events, "before ");
  assert_true(df_reactor_running(r));
  df_deferred_callback(later, df_none());
  assert_string_equal(events, "before during failed:ConnectionLost "
                              "lost:ConnectionLost free after ");
  assert_true(df_reactor_stopped(r));
  assert_false(df_reactor_running(r));
  assert_int_equal(sf.stops, 1);
  assert_string_equal(clog_.failure_text,
                      "ConnectionLost: Connection to the other side was lost "
                      "in a non-clean fashion: the reactor stopped");
  /* Nothing new once stopped. */
  assert_int_equal(df_reactor_listen_tcp(r, 0, &sf.base, NULL, 0, 0, NULL, NULL),
                   DF_EINVAL);
  assert_int_equal(df_reactor_connect_tcp(r, "h", 1, &clog_.base, 0, NULL, NULL),
                   DF_EINVAL);
  df_deferred_unref(later);
}

static void test_removed_triggers_do_not_run(void **state) {
  (void)state;
  uint64_t id;
  assert_int_equal(df_reactor_add_system_event_trigger(
                       r, DF_PHASE_DURING, DF_SYSTEM_STARTUP, trigger, "gone", &id),
                   0);
  assert_true(id != 0);
  df_reactor_add_system_event_trigger(r, DF_PHASE_DURING, DF_SYSTEM_STARTUP,
                                      trigger, "kept", NULL);
  assert_int_equal(df_reactor_remove_system_event_trigger(r, id), 0);
  assert_int_equal(df_reactor_remove_system_event_trigger(r, id), DF_EINVAL);
  assert_int_equal(df_reactor_remove_system_event_trigger(r, 0), DF_EINVAL);
  assert_int_equal(df_reactor_add_system_event_trigger(
                       r, (df_event_phase)7, DF_SYSTEM_STARTUP, trigger, "x", &id),
                   DF_EINVAL);
  assert_int_equal(id, 0);
  df_reactor_run(r);
  assert_string_equal(events, "kept ");
}

static void test_the_reactor_is_its_clock(void **state) {
  (void)state;
  assert_ptr_equal(df_reactor_clock(r), fake_clock);
  test_clock_advance(fake_clock, 2.5);
  assert_true(df_reactor_seconds(r) == df_clock_seconds(fake_clock));
  df_reactor_call_later(r, 1, note, "later", NULL);
  test_clock_advance(fake_clock, 1);
  assert_string_equal(events, "later ");
  assert_null(df_uv_reactor_loop(r));
}

/* --- threads ------------------------------------------------------------------------------------ */

static df_result square(void *arg) {
  int64_t n = *(int64_t *)arg;
  ev("job:%lld", (long long)n);
  return df_int(n * n);
}

static void test_thread_jobs_and_calls_wait_for_run_threads(void **state) {
  (void)state;
  int64_t seven = 7;
  df_deferred *d = df_reactor_defer_to_thread(r, square, &seven);
  df_deferred_add_callback(d, log_result, "result");
  df_reactor_call_from_thread(r, note, "call");
  assert_int_equal(df_fake_reactor_pending_threads(r), 2);
  assert_string_equal(events, "");
  assert_int_equal(df_fake_reactor_run_threads(r), 2);
  assert_string_equal(events, "job:7 result:49 call ");
  assert_int_equal(df_fake_reactor_pending_threads(r), 0);
  df_deferred_unref(d);
}

static void test_cancelling_a_queued_job_takes_it_off_the_queue(void **state) {
  (void)state;
  int64_t three = 3;
  df_deferred *d = df_reactor_defer_to_thread(r, square, &three);
  df_deferred_add_errback(d, log_result, "err");
  df_deferred_cancel(d);
  assert_int_equal(df_fake_reactor_run_threads(r), 0);
  assert_string_equal(events, "err:CancelledError:  ");
  df_deferred_unref(d);
  df_deferred *bad = df_reactor_defer_to_thread(r, NULL, NULL);
  assert_true(df_deferred_called(bad));
  df_deferred_add_errback(bad, log_result, "bad");
  df_deferred_unref(bad);
}

/* --- resolvers ----------------------------------------------------------------------------------- */

static df_result log_addresses(df_result res, void *arg) {
  (void)arg;
  df_address_list *list = res.u.p;
  for (size_t i = 0; i < list->count; i++) {
    char text[DF_ADDRESS_TEXT_SIZE];
    df_address_format(&list->items[i], text, sizeof text);
    ev("%s", text);
  }
  return res;
}

static void resolve(const char *host) {
  df_deferred *d = df_reactor_resolve(r, host, 80);
  df_deferred_add_callbacks(d, log_addresses, NULL, log_result, "err");
  df_deferred_unref(d);
}

static void test_names_resolve_through_the_installed_resolver_only(void **state) {
  (void)state;
  resolve("127.0.0.1"); /* numeric: no resolver needed */
  resolve("example.org"); /* the fake has none by default */
  df_resolver *hosts;
  assert_int_equal(df_hosts_resolver_new(&hosts), 0);
  assert_int_equal(df_hosts_resolver_add(hosts, "Example.ORG", "192.0.2.7"), 0);
  assert_int_equal(df_hosts_resolver_add(hosts, "example.org", "2001:db8::7"), 0);
  assert_int_equal(df_hosts_resolver_add(hosts, "x", "not-an-address"), DF_EINVAL);
  assert_int_equal(df_hosts_resolver_add(df_system_resolver(), "x", "::1"),
                   DF_EINVAL);
  assert_null(df_reactor_install_resolver(r, hosts));
  resolve("example.org");
  resolve("nowhere.invalid");
  assert_ptr_equal(df_reactor_install_resolver(r, NULL), hosts);
  df_resolver_free(hosts);
  assert_string_equal(
      events,
      "127.0.0.1:80 "
      "err:DNSLookupError: DNS lookup failed: example.org: no resolver is "
      "installed on the fake reactor "
      "192.0.2.7:80 [2001:db8::7]:80 "
      "err:DNSLookupError: DNS lookup failed: no address for nowhere.invalid ");
}

/* --- freeing ---------------------------------------------------------------------------------------- */

static void test_free_ends_connections_attempts_and_queued_jobs(void **state) {
  (void)state;
  df_reactor_listen_tcp(r, 0, &sf.base, NULL, 0, 0, NULL, NULL);
  df_fake_reactor_accept(r, 0, NULL, NULL);
  df_reactor_connect_tcp(r, "192.0.2.1", 80, &clog_.base, 3, NULL, NULL);
  int64_t one = 1;
  df_deferred *d = df_reactor_defer_to_thread(r, square, &one);
  df_deferred_add_errback(d, log_result, "job");
  df_deferred_unref(d);
  support_reset();
  df_reactor_free(r);
  r = NULL;
  assert_string_equal(events, "failed:ConnectionLost lost:ConnectionLost free "
                              "job:CancelledError: the thread job was cancelled ");
  assert_int_equal(sf.stops, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, fake_reactor_teardown)
      T(test_listen_tcp_is_recorded_and_starts_the_factory),
      T(test_bad_listen_arguments_give_cannot_listen_error),
      T(test_accept_builds_a_protocol_on_a_memory_transport),
      T(test_stop_listening_fires_its_deferred_and_stops_the_factory),
      T(test_connect_tcp_is_recorded_and_started_connecting_is_called),
      T(test_bad_connect_arguments_start_nothing),
      T(test_a_completed_connection_reports_its_loss_to_the_factory),
      T(test_a_failed_attempt_calls_client_connection_failed),
      T(test_the_connect_timeout_fails_the_attempt_on_the_clock),
      T(test_no_timeout_means_the_attempt_waits_for_ever),
      T(test_stop_connecting_fails_with_user_error),
      T(test_a_connector_can_connect_again_from_the_failure_callback),
      T(test_factory_starts_once_and_stops_when_its_last_user_ends),
      T(test_endpoint_connect_fires_with_the_protocol_after_connection_made),
      T(test_endpoint_connect_fails_with_the_connect_error),
      T(test_cancelling_endpoint_connect_stops_the_attempt),
      T(test_connect_protocol_runs_the_given_protocol),
      T(test_server_endpoint_listen_fires_with_the_port),
      T(test_run_fires_startup_triggers_and_call_when_running),
      T(test_stop_waits_for_before_shutdown_deferreds_then_closes_all),
      T(test_removed_triggers_do_not_run),
      T(test_the_reactor_is_its_clock),
      T(test_thread_jobs_and_calls_wait_for_run_threads),
      T(test_cancelling_a_queued_job_takes_it_off_the_queue),
      T(test_names_resolve_through_the_installed_resolver_only),
      T(test_free_ends_connections_attempts_and_queued_jobs),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
