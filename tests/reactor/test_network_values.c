/* Addresses (address.h) and the network's error types (error.h): parsing
 * and formatting IPv4 and IPv6 addresses, Twisted's error hierarchy, the
 * libuv code a failure carries, SystemExit's status. */
#include "reactor_support.h"

static void test_addresses_parse_and_format_both_families(void **state) {
  (void)state;
  df_address a;
  char text[DF_ADDRESS_TEXT_SIZE];
  assert_int_equal(df_address_parse(&a, "127.0.0.1", 8000), 0);
  assert_int_equal(df_address_family(&a), AF_INET);
  assert_int_equal(df_address_port(&a), 8000);
  assert_int_equal(df_address_length(&a), sizeof(struct sockaddr_in));
  df_address_format(&a, text, sizeof text);
  assert_string_equal(text, "127.0.0.1:8000");
  assert_int_equal(df_address_parse(&a, "::1", 65535), 0);
  assert_int_equal(df_address_family(&a), AF_INET6);
  df_address_format(&a, text, sizeof text);
  assert_string_equal(text, "[::1]:65535");
  df_address_host(&a, text, sizeof text);
  assert_string_equal(text, "::1");
  assert_int_equal(df_address_parse(&a, "2001:db8::0:1", 0), 0);
  df_address_host(&a, text, sizeof text);
  assert_string_equal(text, "2001:db8::1");
  /* snprintf rules: cut, terminated, the length it needed. */
  assert_int_equal(df_address_format(&a, text, 5), strlen("[2001:db8::1]:0"));
  assert_string_equal(text, "[200");
}

static void test_bad_addresses_are_refused_and_zeroed(void **state) {
  (void)state;
  df_address a;
  char text[DF_ADDRESS_TEXT_SIZE];
  assert_int_equal(df_address_parse(&a, "localhost", 80), DF_EINVAL);
  assert_int_equal(df_address_family(&a), 0);
  assert_int_equal(df_address_port(&a), 0);
  df_address_format(&a, text, sizeof text);
  assert_string_equal(text, "");
  assert_int_equal(df_address_parse(&a, "127.0.0.1", 65536), DF_EINVAL);
  assert_int_equal(df_address_parse(&a, "127.0.0.1", -1), DF_EINVAL);
  assert_int_equal(df_address_parse(&a, "1.2.3", 1), DF_EINVAL);
  assert_int_equal(df_address_parse(&a, NULL, 1), DF_EINVAL);
  assert_int_equal(df_address_parse(NULL, "::1", 1), DF_EINVAL);
}

/* twisted.internet.error's hierarchy, with DNSLookupError a ConnectError. */
static void test_error_types_form_twisted_hierarchy(void **state) {
  (void)state;
  const df_error_type *connect_errors[] = {
      &df_error_connection_refused, &df_error_tcp_timed_out, &df_error_no_route,
      &df_error_dns_lookup, &df_error_connect_bind, &df_error_user};
  for (size_t i = 0; i < sizeof connect_errors / sizeof *connect_errors; i++)
    assert_true(df_error_type_is_a(connect_errors[i], &df_error_connect));
  assert_true(df_error_type_is_a(&df_error_connection_aborted,
                                 &df_error_connection_lost));
  assert_true(df_error_type_is_a(&df_error_connection_lost,
                                 &df_error_connection_closed));
  assert_true(df_error_type_is_a(&df_error_connection_done,
                                 &df_error_connection_closed));
  assert_false(df_error_type_is_a(&df_error_connection_done,
                                  &df_error_connection_lost));
  assert_true(df_error_type_is_a(&df_error_cannot_listen, &df_error_bind));
  assert_false(df_error_type_is_a(&df_error_connecting_cancelled,
                                  &df_error_connect));
  assert_string_equal(df_error_tcp_timed_out.name, "TCPTimedOutError");
  assert_string_equal(df_error_dns_lookup.name, "DNSLookupError");
}

/* error.getConnectError's errnoMapping. */
static void test_connect_errors_are_typed_by_errno(void **state) {
  (void)state;
  assert_ptr_equal(df_connect_error_type(UV_ECONNREFUSED),
                   &df_error_connection_refused);
  assert_ptr_equal(df_connect_error_type(UV_ETIMEDOUT), &df_error_tcp_timed_out);
  assert_ptr_equal(df_connect_error_type(UV_ENETUNREACH), &df_error_no_route);
  assert_ptr_equal(df_connect_error_type(UV_EHOSTUNREACH), &df_error_no_route);
  assert_ptr_equal(df_connect_error_type(UV_EACCES), &df_error_connect);
}

static void test_network_failures_carry_the_libuv_code_and_its_text(void **state) {
  (void)state;
  df_failure *f = df_network_failure(&df_error_cannot_listen, UV_EADDRINUSE,
                                     "Couldn't listen on %s:%d", "any", 80);
  assert_string_equal(df_failure_message(f),
                      "Couldn't listen on any:80: address already in use");
  assert_int_equal(df_network_error_code(f), UV_EADDRINUSE);
  df_failure_unref(f);
  f = df_network_failure(&df_error_connect, 0, "no code");
  assert_string_equal(df_failure_message(f), "no code");
  assert_int_equal(df_network_error_code(f), 0);
  df_failure_unref(f);
  /* A user's payload is never read as a code. */
  f = df_failure_new(&df_error_connect, "mine");
  df_failure_set_payload(f, (void *)"payload", NULL);
  assert_int_equal(df_network_error_code(f), 0);
  df_failure_unref(f);
  assert_int_equal(df_network_error_code(NULL), 0);
}

static void test_system_exit_carries_its_status(void **state) {
  (void)state;
  df_result r = df_system_exit(3);
  assert_true(df_result_is_failure(r));
  assert_ptr_equal(df_failure_type(r.u.failure), &df_error_system_exit);
  assert_int_equal(df_system_exit_status(r.u.failure), 3);
  df_result_drop(r);
  df_failure *other = df_failure_new(&df_error_connect, "x");
  assert_int_equal(df_system_exit_status(other), 1);
  df_failure_unref(other);
  assert_int_equal(df_system_exit_status(NULL), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_addresses_parse_and_format_both_families),
      cmocka_unit_test(test_bad_addresses_are_refused_and_zeroed),
      cmocka_unit_test(test_error_types_form_twisted_hierarchy),
      cmocka_unit_test(test_connect_errors_are_typed_by_errno),
      cmocka_unit_test(test_network_failures_carry_the_libuv_code_and_its_text),
      cmocka_unit_test(test_system_exit_carries_its_status),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
