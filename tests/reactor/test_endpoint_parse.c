/* Endpoint description strings (endpoint.h), as Twisted's
 * serverFromString and clientFromString parse them (test_endpoints.py's
 * ServerStringTests and ClientStringTests, for TCP), and the errors that
 * name the field at fault. Parsing only: the endpoints are made on a fake
 * reactor and never used. */
#include "reactor_support.h"



static df_server_endpoint *server(const char *description) {
  df_server_endpoint *ep = NULL;
  df_failure *why = NULL;
  int rc = df_server_from_string(r, description, &ep, &why);
  if (rc < 0) print_error("%s: %s\n", description, df_failure_message(why));
  assert_int_equal(rc, 0);
  assert_null(why);
  return ep;
}

static df_endpoint *client(const char *description) {
  df_endpoint *ep = NULL;
  df_failure *why = NULL;
  int rc = df_client_from_string(r, description, &ep, &why);
  if (rc < 0) print_error("%s: %s\n", description, df_failure_message(why));
  assert_int_equal(rc, 0);
  return ep;
}

/* The message of the error `description` gives, as a server or client. */
static void assert_error(bool is_server, const char *description,
                         const char *message) {
  df_failure *why = NULL;
  void *ep = (void *)1;
  int rc = is_server
               ? df_server_from_string(r, description, (df_server_endpoint **)&ep, &why)
               : df_client_from_string(r, description, (df_endpoint **)&ep, &why);
  assert_int_equal(rc, DF_EINVAL);
  assert_null(ep);
  assert_non_null(why);
  assert_ptr_equal(df_failure_type(why), &df_error_invalid_argument);
  assert_string_equal(df_failure_message(why), message);
  df_failure_unref(why);
}

/* ServerStringTests.test_tcp */
static void test_server_tcp_with_interface_and_backlog(void **state) {
  (void)state;
  df_server_endpoint *ep = server("tcp:1234:backlog=12:interface=10.0.0.1");
  assert_int_equal(df_server_endpoint_port(ep), 1234);
  assert_int_equal(df_server_endpoint_backlog(ep), 12);
  assert_string_equal(df_server_endpoint_interface(ep), "10.0.0.1");
  assert_int_equal(df_server_endpoint_flags(ep), 0);
  df_server_endpoint_free(ep);
}

static void test_server_defaults_every_ipv4_interface_and_default_backlog(
    void **state) {
  (void)state;
  df_server_endpoint *ep = server("tcp:8000");
  assert_string_equal(df_server_endpoint_interface(ep), "");
  assert_int_equal(df_server_endpoint_backlog(ep), 0);
  df_server_endpoint_free(ep);
  ep = server("TCP:port=8001:reuseport=1");
  assert_int_equal(df_server_endpoint_port(ep), 8001);
  assert_int_equal(df_server_endpoint_flags(ep), DF_LISTEN_REUSE_PORT);
  df_server_endpoint_free(ep);
}

/* _TCP6ServerParser: interface defaults to "::"; escaped colons. */
static void test_server_tcp6_defaults_to_every_interface_and_takes_escapes(
    void **state) {
  (void)state;
  df_server_endpoint *ep = server("tcp6:8080");
  assert_string_equal(df_server_endpoint_interface(ep), "::");
  df_server_endpoint_free(ep);
  ep = server("tcp6:8080:interface=\\:\\:1");
  assert_string_equal(df_server_endpoint_interface(ep), "::1");
  df_server_endpoint_free(ep);
  ep = server("tcp:port=0:interface=fe80\\:\\:1");
  assert_string_equal(df_server_endpoint_interface(ep), "fe80::1");
  df_server_endpoint_free(ep);
}

/* ClientStringTests.test_tcp and the positional forms of _parseClientTCP. */
static void test_client_tcp_keywords_and_positional_forms(void **state) {
  (void)state;
  df_endpoint *ep = client("tcp:host=example.org:port=80:timeout=5");
  assert_string_equal(df_endpoint_host(ep), "example.org");
  assert_int_equal(df_endpoint_port(ep), 80);
  assert_true(df_endpoint_timeout(ep) == 5.0);
  df_endpoint_free(ep);
  ep = client("tcp:example.org:81");
  assert_string_equal(df_endpoint_host(ep), "example.org");
  assert_int_equal(df_endpoint_port(ep), 81);
  assert_true(df_endpoint_timeout(ep) == DF_CONNECT_TIMEOUT_DEFAULT);
  df_endpoint_free(ep);
  ep = client("tcp:host=example.org:82");
  assert_int_equal(df_endpoint_port(ep), 82);
  df_endpoint_free(ep);
  ep = client("tcp:example.org:port=83:timeout=0.25:bindAddress=127.0.0.2");
  assert_string_equal(df_endpoint_host(ep), "example.org");
  assert_int_equal(df_endpoint_port(ep), 83);
  assert_true(df_endpoint_timeout(ep) == 0.25);
  df_endpoint_free(ep);
  ep = client("tcp:host=\\:\\:1:port=80");
  assert_string_equal(df_endpoint_host(ep), "::1");
  df_endpoint_free(ep);
}

/* After the first '=', '=' is an ordinary character (Twisted's _tokenize). */
static void test_an_equals_sign_in_a_value_is_kept(void **state) {
  (void)state;
  assert_error(false, "tcp:host=a=b:port=1:bindAddress=x=y",
               "invalid endpoint description \"tcp:host=a=b:port=1:"
               "bindAddress=x=y\": bindAddress: not a numeric address: 'x=y'");
  df_endpoint *ep = client("tcp:host=a=b:port=1");
  assert_string_equal(df_endpoint_host(ep), "a=b");
  df_endpoint_free(ep);
}

static void test_server_errors_name_the_field(void **state) {
  (void)state;
  assert_error(true, "tcp:http",
               "invalid endpoint description \"tcp:http\": port: not a "
               "number: 'http'");
  assert_error(true, "tcp:70000",
               "invalid endpoint description \"tcp:70000\": port: out of "
               "range: '70000'");
  assert_error(true, "tcp:80:backlog=-1",
               "invalid endpoint description \"tcp:80:backlog=-1\": backlog: "
               "out of range: '-1'");
  assert_error(true, "tcp:80:interface=localhost",
               "invalid endpoint description \"tcp:80:interface=localhost\": "
               "interface: not a numeric address: 'localhost'");
  assert_error(true, "tcp:80:interfce=::1",
               "invalid endpoint description \"tcp:80:interfce=::1\": unknown "
               "parameter 'interfce'");
  assert_error(true, "udp:53",
               "invalid endpoint description \"udp:53\": unknown endpoint "
               "type 'udp'");
  assert_error(true, "tcp",
               "invalid endpoint description \"tcp\": port: missing");
  assert_error(true, "tcp:80:81",
               "invalid endpoint description \"tcp:80:81\": tcp: too many "
               "positional arguments");
  assert_error(true, "tcp:80:port=81",
               "invalid endpoint description \"tcp:80:port=81\": port: given "
               "twice");
  assert_error(true, "tcp:80:reuseport=yes",
               "invalid endpoint description \"tcp:80:reuseport=yes\": "
               "reuseport: not 0 or 1: 'yes'");
  assert_error(true, "",
               "invalid endpoint description \"\": the endpoint type is "
               "missing");
  assert_error(true, "tcp:80\\",
               "invalid endpoint description \"tcp:80\\\": a backslash ends "
               "the description");
}

static void test_client_errors_name_the_field(void **state) {
  (void)state;
  assert_error(false, "tcp:host=example.org",
               "invalid endpoint description \"tcp:host=example.org\": port: "
               "missing");
  assert_error(false, "tcp:port=80",
               "invalid endpoint description \"tcp:port=80\": host: missing");
  assert_error(false, "tcp:example.org:0",
               "invalid endpoint description \"tcp:example.org:0\": port: out "
               "of range: '0'");
  assert_error(false, "tcp:example.org:80:timeout=soon",
               "invalid endpoint description \"tcp:example.org:80:timeout="
               "soon\": timeout: not a number of seconds: 'soon'");
  assert_error(false, "tcp:example.org:80:timout=5",
               "invalid endpoint description \"tcp:example.org:80:timout=5\": "
               "unknown parameter 'timout'");
  assert_error(false, "tcp6:host=::1:port=80",
               "invalid endpoint description \"tcp6:host=::1:port=80\": "
               "unknown endpoint type 'tcp6'");
  assert_error(false, "tcp:a:1:2",
               "invalid endpoint description \"tcp:a:1:2\": tcp: too many "
               "positional arguments");
}

/* Twisted keeps one of a keyword given twice, or lets a positional
 * override it; we refuse both, naming the field. */
static void test_a_field_given_twice_is_an_error(void **state) {
  (void)state;
  assert_error(true, "tcp:80:backlog=5:backlog=6",
               "invalid endpoint description \"tcp:80:backlog=5:backlog=6\": "
               "backlog: given twice");
  assert_error(true, "tcp:port=80:port=81",
               "invalid endpoint description \"tcp:port=80:port=81\": port: "
               "given twice");
  assert_error(true, "tcp6:80:interface=\\:\\:1:interface=\\:\\:",
               "invalid endpoint description \"tcp6:80:interface=\\:\\:1:"
               "interface=\\:\\:\": interface: given twice");
  assert_error(false, "tcp:host=a:host=b:port=1",
               "invalid endpoint description \"tcp:host=a:host=b:port=1\": "
               "host: given twice");
  assert_error(false, "tcp:a:1:host=b",
               "invalid endpoint description \"tcp:a:1:host=b\": host: given "
               "twice");
  assert_error(false, "tcp:a:1:port=2",
               "invalid endpoint description \"tcp:a:1:port=2\": port: given "
               "twice");
  /* One positional with host= is the port (_parseClientTCP). */
  assert_error(false, "tcp:1:host=a:port=2",
               "invalid endpoint description \"tcp:1:host=a:port=2\": port: "
               "given twice");
  assert_error(false, "tcp:a:1:timeout=1:timeout=2",
               "invalid endpoint description \"tcp:a:1:timeout=1:timeout=2\": "
               "timeout: given twice");
  /* Once each is fine, in either form. */
  df_endpoint *ep = client("tcp:1:host=a");
  assert_string_equal(df_endpoint_host(ep), "a");
  assert_int_equal(df_endpoint_port(ep), 1);
  df_endpoint_free(ep);
}

static void test_tcp6_with_an_ipv4_interface_is_an_error(void **state) {
  (void)state;
  assert_error(true, "tcp6:80:interface=127.0.0.1",
               "invalid endpoint description \"tcp6:80:interface=127.0.0.1\": "
               "interface: '127.0.0.1' is an IPv4 address, and tcp6 listens "
               "on IPv6 (use tcp for IPv4)");
  /* An IPv4-mapped IPv6 address is IPv6. */
  df_server_endpoint *ep = server("tcp6:80:interface=\\:\\:ffff\\:127.0.0.1");
  assert_string_equal(df_server_endpoint_interface(ep), "::ffff:127.0.0.1");
  df_server_endpoint_free(ep);
}

/* A message quotes at most 80 bytes of the description and of a value,
 * cut between two UTF-8 characters, then "...". */
static void test_messages_quote_at_most_80_bytes(void **state) {
  (void)state;
  char x100[101], description[256], want[512];
  memset(x100, 'x', 100);
  x100[100] = '\0';
  snprintf(description, sizeof description, "tcp:a:1:timeout=%s", x100);
  snprintf(want, sizeof want,
           "invalid endpoint description \"%.80s...\": timeout: not a number "
           "of seconds: '%.80s...'",
           description, x100);
  assert_error(false, description, want);
  /* "a" then 2-byte characters: byte 80 would fall inside one. */
  char accents[1 + 2 * 60 + 1] = "a";
  for (int i = 0; i < 60; i++) strcat(accents, "\xc3\xa9");
  snprintf(description, sizeof description, "tcp:%s", accents);
  snprintf(want, sizeof want,
           "invalid endpoint description \"tcp:%.75s...\": port: not a "
           "number: '%.79s...'",
           accents, accents);
  assert_error(true, description, want);
  /* Exactly 80 bytes is not cut. */
  snprintf(description, sizeof description, "tcp:%.76s", x100);
  snprintf(want, sizeof want,
           "invalid endpoint description \"%s\": port: not a number: '%.76s'",
           description, x100);
  assert_error(true, description, want);
}

static void test_null_arguments_are_refused(void **state) {
  (void)state;
  df_failure *why;
  df_endpoint *ep;
  assert_int_equal(df_client_from_string(r, NULL, &ep, &why), DF_EINVAL);
  assert_string_equal(df_failure_message(why),
                      "invalid endpoint description: none given");
  df_failure_unref(why);
  assert_int_equal(df_client_from_string(NULL, "tcp:a:1", &ep, NULL), DF_EINVAL);
  assert_int_equal(df_client_from_string(r, "tcp:a:1", NULL, NULL), DF_EINVAL);
  assert_int_equal(df_tcp_client_endpoint_new(r, "a", 0, 1, NULL, &ep), DF_EINVAL);
  df_server_endpoint *sep;
  assert_int_equal(df_tcp_server_endpoint_new(r, 1, "x", 0, 0, &sep), DF_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fake_reactor_setup, fake_reactor_teardown)
      T(test_server_tcp_with_interface_and_backlog),
      T(test_server_defaults_every_ipv4_interface_and_default_backlog),
      T(test_server_tcp6_defaults_to_every_interface_and_takes_escapes),
      T(test_client_tcp_keywords_and_positional_forms),
      T(test_an_equals_sign_in_a_value_is_kept),
      T(test_server_errors_name_the_field),
      T(test_client_errors_name_the_field),
      T(test_a_field_given_twice_is_an_error),
      T(test_tcp6_with_an_ipv4_interface_is_an_error),
      T(test_messages_quote_at_most_80_bytes),
      T(test_null_arguments_are_refused),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
