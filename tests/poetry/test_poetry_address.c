/* get-poetry's addresses (tools/poetry/poetry_address.c): each form to
 * the endpoint it means, with its label, and each mistake to its message. */
#include "net_support.h"
#include "poetry_address.h"

static char label[300], why[300];

static df_endpoint *parse(const char *text, double timeout) {
  df_endpoint *ep = NULL;
  int rc = poetry_address_endpoint(fake_, text, timeout, &ep, label,
                                   sizeof label, why, sizeof why);
  if (rc != 0) print_error("%s: %s\n", text, why);
  assert_int_equal(rc, 0);
  assert_non_null(ep);
  return ep;
}

static void assert_endpoint(const char *text, const char *host, int port,
                            double timeout, const char *want_label) {
  df_endpoint *ep = parse(text, 7);
  assert_string_equal(df_endpoint_host(ep), host);
  assert_int_equal(df_endpoint_port(ep), port);
  assert_true(df_endpoint_timeout(ep) == timeout);
  assert_string_equal(label, want_label);
  df_endpoint_free(ep);
}

static void assert_refused(const char *text, const char *want_why) {
  df_endpoint *ep = (df_endpoint *)&ep;
  int rc = poetry_address_endpoint(fake_, text, 7, &ep, label, sizeof label,
                                   why, sizeof why);
  assert_int_equal(rc, DF_EINVAL);
  assert_null(ep);
  if (strcmp(why, want_why) != 0) print_error("%s: %s\n", text, why);
  assert_string_equal(why, want_why);
}

static void test_the_short_forms(void **state) {
  (void)state;
  assert_endpoint("10000", "127.0.0.1", 10000, 7, "127.0.0.1:10000");
  assert_endpoint("localhost:1", "localhost", 1, 7, "localhost:1");
  assert_endpoint("192.0.2.7:65535", "192.0.2.7", 65535, 7, "192.0.2.7:65535");
  assert_endpoint("[::1]:8000", "::1", 8000, 7, "[::1]:8000");
  assert_endpoint("poetry.test:007", "poetry.test", 7, 7, "poetry.test:7");
}

static void test_endpoint_descriptions_get_the_timeout_unless_they_set_one(
    void **state) {
  (void)state;
  assert_endpoint("tcp:host=example.org:port=10000", "example.org", 10000, 7,
                  "example.org:10000");
  assert_endpoint("tcp:example.org:10000:timeout=2.5", "example.org", 10000,
                  2.5, "example.org:10000");
  assert_endpoint("tcp:host=\\:\\:1:port=80", "::1", 80, 7, "[::1]:80");
  df_endpoint *ep = parse("tcp:host=a:port=1", 0); /* --timeout 0: none */
  assert_true(df_endpoint_timeout(ep) == 0);
  df_endpoint_free(ep);
}

static void test_mistakes_are_refused_with_their_reason(void **state) {
  (void)state;
  assert_refused("", "not a port number (1 to 65535): ''");
  assert_refused("0", "not a port number (1 to 65535): '0'");
  assert_refused("65536", "not a port number (1 to 65535): '65536'");
  assert_refused("host:", "not a port number (1 to 65535): ''");
  assert_refused("host:http", "not a port number (1 to 65535): 'http'");
  assert_refused(":10000", "the host is missing");
  assert_refused("::1:10000", "an IPv6 address needs brackets: [ADDR]:PORT");
  assert_refused("[::1]10000", "an IPv6 address is written [ADDR]:PORT");
  assert_refused("[]:10000", "an IPv6 address is written [ADDR]:PORT");
  assert_refused("unix:/tmp/poetry.sock", "'unix:' endpoints are not "
                 "supported: get-poetry downloads over TCP (tcp:HOST:PORT)");
  assert_refused("SSL:host=a:port=1", "'SSL:' endpoints are not supported: "
                 "get-poetry downloads over TCP (tcp:HOST:PORT)");
  assert_refused("tcp6:a:1", "'tcp6:' endpoints are not supported: "
                 "get-poetry downloads over TCP (tcp:HOST:PORT)");
  /* The reactor's parser names the field; the text quoted is the user's. */
  assert_refused("tcp:host=a:port=http",
                 "invalid endpoint description \"tcp:host=a:port=http\": "
                 "port: not a number: 'http'");
  assert_refused("tcp:host=a:port=1:timout=3",
                 "invalid endpoint description \"tcp:host=a:port=1:timout=3\": "
                 "unknown parameter 'timout'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fake_setup, fake_teardown)
      T(test_the_short_forms),
      T(test_endpoint_descriptions_get_the_timeout_unless_they_set_one),
      T(test_mistakes_are_refused_with_their_reason),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
