/* Out of memory in the reactor's generic parts, on the fake reactor: a
 * scenario (listen, accept, echo, connect, an endpoint, a timeout, run,
 * stop, free) is run again and again with the n-th allocation refused,
 * of libdeferred-uv's own (df__uv_malloc) and libdeferred's
 * (df_set_allocator) counted together, until a run gets through. Each
 * run must end with everything freed (ASan and valgrind check) and,
 * when nothing was refused, with every step done. */
#include "reactor_support.h"

/* libdeferred-uv's allocation hooks (src/reactor/internal.h). */
extern void *(*df__uv_malloc)(size_t);
extern void *(*df__uv_realloc)(void *, size_t);
extern void (*df__uv_free)(void *);

enum {
  LISTENED = 1 << 0,
  ACCEPTED = 1 << 1,
  ECHOED = 1 << 2,
  CONNECTING = 1 << 3,
  CONNECTED = 1 << 4,
  ENDPOINT = 1 << 5,
  TIMED_OUT = 1 << 6,
  RAN = 1 << 7,
  STOPPED = 1 << 8,
  EVERYTHING = (1 << 9) - 1
};

static df_result endpoint_connected(df_result res, void *arg) {
  int64_t *outcome = arg;
  if (res.kind == DF_POINTER) *outcome |= ENDPOINT;
  df_result_drop(res);
  return df_none();
}

static void timed_out_failed(df_factory *f, df_connector *c, df_failure *reason) {
  (void)c;
  if (df_failure_check(reason, &df_error_tcp_timed_out))
    *(int64_t *)((client_log *)f)->last_built = TIMED_OUT;
}
static const df_factory_type timeout_factory_type = {
    .name = "Timeouts", .build_protocol = client_log_build,
    .client_connection_failed = timed_out_failed};

static void steps(df_reactor *reactor, df_clock *clock, int64_t *outcome) {
  static df_factory echo_factory, plain;
  static const df_protocol_type echoing = {
      .name = "Echoing", .size = sizeof(recorder), .data_received = recorder_data,
      .connection_lost = recorder_lost, .free = df_protocol_free};
  df_factory_init_for_protocol(&echo_factory, &echoing);
  df_factory_init_for_protocol(&plain, &recorder_type);
  df_failure *why = NULL;
  if (df_reactor_listen_tcp(reactor, 80, &echo_factory, NULL, 0, 0, NULL, &why) == 0)
    *outcome |= LISTENED;
  df_failure_unref(why);
  df_memory_transport *mt;
  if (df_fake_reactor_accept(reactor, 0, NULL, &mt) == 0) {
    *outcome |= ACCEPTED;
    if (df_transport_write(df_memory_transport_transport(mt), "hi", 2) == 0 &&
        df_memory_transport_value_is(mt, "hi"))
      *outcome |= ECHOED;
  }
  df_connector *c;
  if (df_reactor_connect_tcp(reactor, "127.0.0.1", 80, &plain, 0, NULL, &c) == 0) {
    *outcome |= CONNECTING;
    size_t i = df_fake_reactor_tcp_client_count(reactor) - 1;
    if (df_fake_reactor_connect_client(reactor, i, NULL) == 0 &&
        df_connector_get_state(c) == DF_CONNECTOR_CONNECTED)
      *outcome |= CONNECTED;
    df_connector_unref(c);
  }
  df_endpoint *ep;
  if (df_tcp_client_endpoint_new(reactor, "127.0.0.1", 81, 0, NULL, &ep) == 0) {
    df_deferred *d = df_endpoint_connect(ep, &plain);
    if (d) {
      df_deferred_add_both(d, endpoint_connected, outcome);
      size_t i = df_fake_reactor_tcp_client_count(reactor) - 1;
      df_fake_reactor_connect_client(reactor, i, NULL);
      df_deferred_unref(d);
    }
    df_endpoint_free(ep);
  }
  static client_log timeouts;
  int64_t timed_out = 0;
  memset(&timeouts, 0, sizeof timeouts);
  df_factory_init(&timeouts.base, &timeout_factory_type);
  timeouts.last_built = (recorder *)(void *)&timed_out; /* where to say it */
  if (df_reactor_connect_tcp(reactor, "192.0.2.1", 80, &timeouts.base, 1, NULL,
                             NULL) == 0) {
    df_test_clock_advance(clock, 1);
    *outcome |= timed_out;
  }
  if (df_reactor_run(reactor) == 0 && df_reactor_running(reactor)) *outcome |= RAN;
  if (df_reactor_stop(reactor) == 0) {
    df_test_clock_advance(clock, 0);
    if (df_reactor_stopped(reactor)) *outcome |= STOPPED;
  }
}

static int64_t scenario(void) {
  df__uv_malloc = support_failing_malloc;
  df__uv_realloc = support_failing_realloc;
  int64_t outcome = 0;
  df_clock *clock = df_test_clock_new();
  df_reactor *reactor;
  if (clock && df_fake_reactor_new(clock, &reactor) == 0) {
    steps(reactor, clock, &outcome);
    df_reactor_free(reactor);
  }
  df_clock_free(clock);
  df__uv_malloc = malloc;
  df__uv_realloc = realloc;
  return outcome;
}

static void check(int64_t outcome, bool failed) {
  if (!failed) assert_int_equal(outcome, EVERYTHING);
}

static void test_every_allocation_failure_is_survived_and_leaks_nothing(
    void **state) {
  (void)state;
  df_set_unhandled_handler(count_reports, NULL);
  long points = support_fail_each_allocation(scenario, check, 2000);
  print_message("allocations refused one by one: %ld\n", points);
  assert_true(points >= 20);
  df_set_unhandled_handler(NULL, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_allocation_failure_is_survived_and_leaks_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
