/* The memory transport (memory_transport.h), Twisted's StringTransport,
 * and through it the transport behaviour every kind shares (transport.c):
 * what a protocol sees, what it is refused, and backpressure on a
 * registered producer. No socket, no clock. */
#include "reactor_support.h"

static df_memory_transport *mt;
static recorder *proto;

static int setup(void **state) {
  support_setup(state);
  assert_int_equal(df_memory_transport_new(&mt), 0);
  proto = recorder_new(&recorder_type);
  return 0;
}

static int teardown(void **state) {
  df_memory_transport_free(mt);
  mt = NULL;
  return support_teardown(state);
}

static df_transport *tr(void) { return df_memory_transport_transport(mt); }

static void connect_proto(void) {
  assert_int_equal(df_memory_transport_connect(mt, &proto->base), 0);
}

/* test_protocols.py-style: makeConnection sets the transport first. */
static void test_connect_sets_transport_then_calls_connection_made(void **state) {
  (void)state;
  connect_proto();
  assert_ptr_equal(proto->base.transport, tr());
  assert_ptr_equal(df_transport_protocol(tr()), &proto->base);
  assert_string_equal(events, "made ");
  assert_true(df_memory_transport_connected(mt));
}

static void test_writes_accumulate_in_value_until_cleared(void **state) {
  (void)state;
  connect_proto();
  assert_int_equal(df_transport_write(tr(), "ab", 2), 0);
  df_buffer pieces[] = {{"c", 1}, {"", 0}, {"de", 2}};
  assert_int_equal(df_transport_write_sequence(tr(), pieces, 3), 0);
  assert_int_equal(df_transport_write(tr(), "x", 0), 0);
  assert_true(df_memory_transport_value_is(mt, "abcde"));
  assert_int_equal(df_transport_write_buffer_size(tr()), 5);
  df_memory_transport_clear(mt);
  assert_true(df_memory_transport_value_is(mt, ""));
  assert_int_equal(df_transport_write_buffer_size(tr()), 0);
}

static void test_feed_delivers_data_received(void **state) {
  (void)state;
  connect_proto();
  assert_int_equal(df_memory_transport_feed(mt, "hello", 5), 0);
  assert_int_equal(df_memory_transport_feed(mt, "", 0), 0); /* nothing */
  assert_string_equal(events, "made data:hello ");
}

static void test_end_of_input_closes_a_protocol_that_is_not_half_closeable(
    void **state) {
  (void)state;
  connect_proto();
  assert_int_equal(df_memory_transport_feed_eof(mt), 0);
  assert_true(df_memory_transport_disconnecting(mt));
  assert_int_equal(df_memory_transport_feed_eof(mt), DF_EINVAL);
  assert_int_equal(df_memory_transport_close(mt, NULL), 0);
  assert_string_equal(events, "made lost:ConnectionDone free ");
  assert_false(df_memory_transport_connected(mt));
}

static void test_end_of_input_goes_to_read_connection_lost_when_half_closeable(
    void **state) {
  (void)state;
  free(proto);
  proto = recorder_new(&half_close_recorder_type);
  connect_proto();
  assert_int_equal(df_memory_transport_feed_eof(mt), 0);
  assert_false(df_memory_transport_disconnecting(mt));
  /* The write side is still open; the read side is over. */
  assert_int_equal(df_transport_write(tr(), "bye", 3), 0);
  assert_int_equal(df_memory_transport_feed(mt, "late", 4), DF_EINVAL);
  assert_true(df_memory_transport_value_is(mt, "bye"));
  assert_string_equal(events, "made eof ");
}

static void test_lose_connection_refuses_later_writes(void **state) {
  (void)state;
  connect_proto();
  df_transport_write(tr(), "a", 1);
  df_transport_lose_connection(tr());
  df_transport_lose_connection(tr()); /* twice: ignored */
  assert_true(df_memory_transport_disconnecting(mt));
  assert_false(df_memory_transport_aborted(mt));
  assert_false(df_transport_connected(tr()));
  assert_int_equal(df_transport_write(tr(), "b", 1), DF_EINVAL);
  assert_true(df_memory_transport_value_is(mt, "a"));
  assert_string_equal(events, "made ");
}

static void test_abort_connection_is_recorded(void **state) {
  (void)state;
  connect_proto();
  df_transport_abort_connection(tr());
  assert_true(df_memory_transport_aborted(mt));
  assert_true(df_memory_transport_disconnecting(mt));
  df_failure *why = df_failure_new(&df_error_connection_aborted, "aborted");
  assert_int_equal(df_memory_transport_close(mt, why), 0);
  df_failure_unref(why);
  assert_string_equal(events, "made lost:ConnectionAborted free ");
}

static void test_lose_write_connection_refuses_writes_but_keeps_reading(
    void **state) {
  (void)state;
  connect_proto();
  df_transport_lose_write_connection(tr());
  assert_true(df_memory_transport_write_closed(mt));
  assert_false(df_memory_transport_disconnecting(mt));
  assert_int_equal(df_transport_write(tr(), "b", 1), DF_EINVAL);
  assert_int_equal(df_memory_transport_feed(mt, "in", 2), 0);
  assert_string_equal(events, "made data:in ");
}

static void test_close_passes_its_reason_and_frees_the_protocol(void **state) {
  (void)state;
  int freed = 0;
  proto->freed = &freed;
  connect_proto();
  df_failure *why = df_failure_new(&df_error_connection_lost, "reset");
  assert_int_equal(df_memory_transport_close(mt, why), 0);
  df_failure_unref(why);
  assert_int_equal(freed, 1);
  assert_null(df_transport_protocol(tr()));
  assert_int_equal(df_memory_transport_close(mt, NULL), DF_EINVAL);
  assert_int_equal(df_transport_write(tr(), "x", 1), DF_EINVAL);
  assert_string_equal(events, "made lost:ConnectionLost free ");
}

static void test_pause_producing_stops_input_until_resumed(void **state) {
  (void)state;
  connect_proto();
  df_transport_pause_producing(tr());
  assert_int_equal(df_memory_transport_reading_state(mt), DF_PRODUCER_PAUSED);
  assert_int_equal(df_memory_transport_feed(mt, "x", 1), DF_EINVAL);
  df_transport_resume_producing(tr());
  assert_int_equal(df_memory_transport_reading_state(mt), DF_PRODUCER_PRODUCING);
  assert_int_equal(df_memory_transport_feed(mt, "y", 1), 0);
  df_transport_stop_producing(tr()); /* is lose_connection */
  assert_int_equal(df_memory_transport_reading_state(mt), DF_PRODUCER_STOPPED);
  assert_string_equal(events, "made data:y ");
}

/* --- producers -------------------------------------------------------------- */

typedef struct counting_producer {
  df_producer base;
  int paused, resumed, stopped;
} counting_producer;

static void cp_pause(df_producer *p) {
  ((counting_producer *)p)->paused++;
  ev("pause");
}
static void cp_resume(df_producer *p) {
  ((counting_producer *)p)->resumed++;
  ev("resume");
}
static void cp_stop(df_producer *p) {
  ((counting_producer *)p)->stopped++;
  ev("stop");
}
static const df_producer_type counting_producer_type = {cp_pause, cp_resume,
                                                        cp_stop};

static void test_streaming_producer_is_paused_above_high_and_resumed_at_low(
    void **state) {
  (void)state;
  connect_proto();
  counting_producer cp = {{&counting_producer_type}, 0, 0, 0};
  assert_int_equal(df_transport_set_write_buffer_limits(tr(), 10, 4), 0);
  assert_int_equal(df_transport_register_producer(tr(), &cp.base, true), 0);
  df_transport_write(tr(), "12345678", 8);
  df_transport_write(tr(), "90", 2); /* 10: not past the mark */
  assert_int_equal(cp.paused, 0);
  df_transport_write(tr(), "A", 1); /* 11 > 10 */
  df_transport_write(tr(), "B", 1); /* paused already: once */
  assert_int_equal(cp.paused, 1);
  bool streaming, paused;
  assert_ptr_equal(df_memory_transport_producer(mt, &streaming, &paused), &cp.base);
  assert_true(streaming);
  assert_true(paused);
  df_memory_transport_clear(mt); /* 0 <= 4 */
  assert_int_equal(cp.resumed, 1);
  assert_string_equal(events, "made pause resume ");
  df_transport_unregister_producer(tr()); /* cp lives on this stack */
}

static void test_producer_registered_past_the_mark_is_paused_at_once(void **state) {
  (void)state;
  connect_proto();
  df_transport_set_write_buffer_limits(tr(), 4, 0);
  df_transport_write(tr(), "123456", 6);
  counting_producer cp = {{&counting_producer_type}, 0, 0, 0};
  assert_int_equal(df_transport_register_producer(tr(), &cp.base, true), 0);
  assert_int_equal(cp.paused, 1);
  /* Raising the mark resumes it: 6 is at or below the new low mark. */
  assert_int_equal(df_transport_set_write_buffer_limits(tr(), 100, 50), 0);
  assert_int_equal(cp.resumed, 1);
  assert_int_equal(df_transport_set_write_buffer_limits(tr(), 3, 4), DF_EINVAL);
  df_transport_unregister_producer(tr());
}

/* Twisted's registerProducer(streaming=False): resumeProducing at once,
 * then each time the consumer's buffer empties. */
static void test_pull_producer_is_resumed_whenever_the_buffer_empties(void **state) {
  (void)state;
  connect_proto();
  counting_producer cp = {{&counting_producer_type}, 0, 0, 0};
  assert_int_equal(df_transport_register_producer(tr(), &cp.base, false), 0);
  assert_int_equal(cp.resumed, 1);
  df_transport_write(tr(), "abc", 3);
  assert_int_equal(cp.resumed, 1);
  df_memory_transport_clear(mt);
  assert_int_equal(cp.resumed, 2);
  assert_int_equal(cp.paused, 0);
  df_transport_unregister_producer(tr());
}

static void test_a_second_producer_is_refused_and_unregister_forgets(void **state) {
  (void)state;
  connect_proto();
  counting_producer a = {{&counting_producer_type}, 0, 0, 0};
  counting_producer b = a;
  assert_int_equal(df_transport_register_producer(tr(), &a.base, true), 0);
  assert_int_equal(df_transport_register_producer(tr(), &b.base, true), DF_EINVAL);
  df_transport_unregister_producer(tr());
  assert_null(df_memory_transport_producer(mt, NULL, NULL));
  assert_int_equal(df_transport_register_producer(tr(), &b.base, true), 0);
  df_transport_unregister_producer(tr());
}

static void test_closing_stops_the_producer_before_connection_lost(void **state) {
  (void)state;
  connect_proto();
  counting_producer cp = {{&counting_producer_type}, 0, 0, 0};
  df_transport_register_producer(tr(), &cp.base, true);
  df_memory_transport_close(mt, NULL);
  assert_int_equal(cp.stopped, 1);
  assert_string_equal(events, "made stop lost:ConnectionDone free ");
  assert_int_equal(df_transport_register_producer(tr(), &cp.base, true), DF_EINVAL);
}

/* --- the rest ------------------------------------------------------------------- */

static void test_free_while_connected_ends_the_connection_first(void **state) {
  (void)state;
  connect_proto();
  df_memory_transport_free(mt);
  mt = NULL;
  assert_string_equal(events, "made lost:ConnectionLost free ");
}

static void test_addresses_default_to_string_transport_ones(void **state) {
  (void)state;
  df_address a;
  char text[DF_ADDRESS_TEXT_SIZE];
  assert_int_equal(df_transport_get_host(tr(), &a), 0);
  df_address_format(&a, text, sizeof text);
  assert_string_equal(text, "10.0.0.1:12345");
  assert_int_equal(df_transport_get_peer(tr(), &a), 0);
  df_address_format(&a, text, sizeof text);
  assert_string_equal(text, "192.168.1.1:54321");
  df_address peer;
  df_address_parse(&peer, "::1", 7);
  df_memory_transport_set_addresses(mt, NULL, &peer);
  df_transport_get_peer(tr(), &a);
  df_address_format(&a, text, sizeof text);
  assert_string_equal(text, "[::1]:7");
  free(proto); /* never connected */
}

static void test_connecting_twice_releases_the_second_protocol(void **state) {
  (void)state;
  connect_proto();
  int freed = 0;
  recorder *second = recorder_new(&recorder_type);
  second->freed = &freed;
  assert_int_equal(df_memory_transport_connect(mt, &second->base), DF_EINVAL);
  assert_int_equal(freed, 1);
  assert_int_equal(df_memory_transport_connect(NULL, NULL), DF_EINVAL);
}

static void test_tcp_options_are_recorded(void **state) {
  (void)state;
  connect_proto();
  assert_int_equal(df_transport_set_tcp_nodelay(tr(), true), 0);
  assert_int_equal(df_transport_set_tcp_keepalive(tr(), 30), 0);
  assert_true(df_memory_transport_tcp_nodelay(mt));
  assert_int_equal(df_memory_transport_tcp_keepalive(mt), 30);
}

static void test_null_transport_is_refused_everywhere(void **state) {
  (void)state;
  df_address a;
  assert_int_equal(df_transport_write(NULL, "x", 1), DF_EINVAL);
  assert_int_equal(df_transport_write_sequence(NULL, NULL, 0), DF_EINVAL);
  assert_int_equal(df_transport_get_peer(NULL, &a), DF_EINVAL);
  assert_int_equal(df_address_family(&a), 0);
  assert_int_equal(df_transport_register_producer(NULL, NULL, true), DF_EINVAL);
  df_transport_lose_connection(NULL);
  df_transport_abort_connection(NULL);
  df_transport_pause_producing(NULL);
  assert_false(df_transport_connected(NULL));
  assert_int_equal(df_transport_write_buffer_size(NULL), 0);
  free(proto);
}

/* Twisted's Factory.forProtocol. */
static void test_factory_for_protocol_builds_zeroed_protocols(void **state) {
  (void)state;
  df_factory f;
  df_factory_init_for_protocol(&f, &recorder_type);
  recorder *r = (recorder *)df_factory_build_protocol(&f, NULL);
  assert_non_null(r);
  assert_ptr_equal(r->base.type, &recorder_type);
  assert_ptr_equal(r->base.factory, &f);
  assert_null(r->base.transport);
  assert_int_equal(r->len, 0);
  assert_int_equal(df_memory_transport_connect(mt, &r->base), 0);
  df_memory_transport_feed(mt, "z", 1);
  df_memory_transport_close(mt, NULL);
  assert_string_equal(events, "made data:z lost:ConnectionDone free ");
  free(proto);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_connect_sets_transport_then_calls_connection_made),
      T(test_writes_accumulate_in_value_until_cleared),
      T(test_feed_delivers_data_received),
      T(test_end_of_input_closes_a_protocol_that_is_not_half_closeable),
      T(test_end_of_input_goes_to_read_connection_lost_when_half_closeable),
      T(test_lose_connection_refuses_later_writes),
      T(test_abort_connection_is_recorded),
      T(test_lose_write_connection_refuses_writes_but_keeps_reading),
      T(test_close_passes_its_reason_and_frees_the_protocol),
      T(test_pause_producing_stops_input_until_resumed),
      T(test_streaming_producer_is_paused_above_high_and_resumed_at_low),
      T(test_producer_registered_past_the_mark_is_paused_at_once),
      T(test_pull_producer_is_resumed_whenever_the_buffer_empties),
      T(test_a_second_producer_is_refused_and_unregister_forgets),
      T(test_closing_stops_the_producer_before_connection_lost),
      T(test_free_while_connected_ends_the_connection_first),
      T(test_addresses_default_to_string_transport_ones),
      T(test_connecting_twice_releases_the_second_protocol),
      T(test_tcp_options_are_recorded),
      T(test_null_transport_is_refused_everywhere),
      T(test_factory_for_protocol_builds_zeroed_protocols),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
