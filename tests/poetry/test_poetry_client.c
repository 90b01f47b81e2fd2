/* Downloading one poem (tools/poetry/poetry_client.c) on the fake reactor:
 * a clean close gives the poem, byte for byte; a reset, a timeout, a
 * refused or timed-out connection, a failed name lookup, a poem too long
 * and a cancel each fail the download with their own error; the progress
 * counter follows. */
#include "net_support.h"
#include "poetry_client.h"

static df_endpoint *ep;
static poetry_progress progress;

static int setup(void **state) {
  fake_setup(state);
  assert_int_equal(
      df_tcp_client_endpoint_new(fake_, "127.0.0.1", 10000, 3, NULL, &ep), 0);
  return 0;
}
static int teardown(void **state) {
  df_endpoint_free(ep);
  return fake_teardown(state);
}

/* Start a download with a 5 s timeout and connect it. */
static df_deferred *connected_download(df_memory_transport **mt) {
  df_deferred *d = poetry_get(ep, clock_, 5, &progress);
  assert_non_null(d);
  assert_int_equal(df_fake_reactor_tcp_client_count(fake_), 1);
  assert_int_equal(progress.stage, POETRY_CONNECTING);
  assert_int_equal(df_fake_reactor_connect_client(fake_, 0, mt), 0);
  assert_int_equal(progress.stage, POETRY_RECEIVING);
  return d;
}

static void close_with(df_memory_transport *mt, const df_error_type *type) {
  df_failure *f = df_failure_new(type, "test");
  assert_int_equal(df_memory_transport_close(mt, f), 0);
  df_failure_unref(f);
}

/* Has `d` its outcome? (df_deferred_called is true as soon as the
 * connection is made: from then on it waits on the download.) */
static bool ended(const df_deferred *d) {
  return df_deferred_called(d) && !df_deferred_waiting_on(d);
}

/* The failure `d` ended with, whose brief text must be `brief`. */
static void assert_failed_with(df_deferred *d, const df_error_type *type,
                               const char *brief) {
  assert_true(ended(d));
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_true(df_result_is_failure(r));
  char text[512];
  df_failure_brief(r.u.failure, text, sizeof text);
  if (df_failure_type(r.u.failure) != type || (brief && strcmp(text, brief)))
    print_error("failed with %s\n", text);
  assert_ptr_equal(df_failure_type(r.u.failure), type);
  if (brief) assert_string_equal(text, brief);
  df_result_drop(r);
  assert_int_equal(progress.stage, POETRY_FAILED);
}

static void test_a_clean_close_gives_the_poem_exactly(void **state) {
  (void)state;
  df_memory_transport *mt;
  df_deferred *d = connected_download(&mt);
  static const char part1[] = "Roses are red,\n", part2[] = "\0violets blue\n";
  df_memory_transport_feed(mt, part1, sizeof part1 - 1);
  assert_int_equal(progress.bytes, sizeof part1 - 1);
  df_memory_transport_feed(mt, part2, sizeof part2 - 1); /* a NUL, kept */
  assert_false(ended(d));
  df_memory_transport_close(mt, NULL); /* ConnectionDone */
  assert_true(ended(d));
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  poem *p = poem_of(r);
  assert_non_null(p);
  assert_int_equal(p->len, sizeof part1 - 1 + sizeof part2 - 1);
  assert_memory_equal(p->data, "Roses are red,\n\0violets blue\n", p->len);
  df_result_drop(r);
  assert_int_equal(progress.stage, POETRY_RECEIVED);
  assert_int_equal(progress.bytes, 29);
  df_deferred_unref(d);
}

static void test_an_empty_poem_is_a_poem(void **state) {
  (void)state;
  df_memory_transport *mt;
  df_deferred *d = connected_download(&mt);
  df_memory_transport_close(mt, NULL);
  df_result r;
  assert_int_equal(df_deferred_take_result(d, &r), 0);
  assert_int_equal(poem_of(r)->len, 0);
  df_result_drop(r);
  df_deferred_unref(d);
}

static void test_a_reset_is_a_failed_download_never_a_short_poem(void **state) {
  (void)state;
  df_memory_transport *mt;
  df_deferred *d = connected_download(&mt);
  df_memory_transport_feed(mt, "Half a po", 9);
  close_with(mt, &df_error_connection_lost);
  assert_failed_with(d, &df_error_connection_lost, "ConnectionLost: test");
  df_deferred_unref(d);
}

static void test_no_bytes_for_the_timeout_is_a_timeout_error(void **state) {
  (void)state;
  df_memory_transport *mt;
  df_deferred *d = connected_download(&mt);
  advance(4.9);
  df_memory_transport_feed(mt, "a", 1); /* pushes the timeout back */
  advance(4.9);
  assert_false(df_memory_transport_aborted(mt));
  advance(0.1);
  assert_true(df_memory_transport_aborted(mt));
  assert_false(ended(d)); /* until the connection has ended */
  close_with(mt, &df_error_connection_aborted);
  assert_failed_with(d, &df_error_timeout,
                     "TimeoutError: no bytes from 127.0.0.1:10000 for 5 seconds");
  df_deferred_unref(d);
}

static void test_no_timeout_with_zero(void **state) {
  (void)state;
  df_deferred *d = poetry_get(ep, clock_, 0, NULL);
  df_memory_transport *mt;
  assert_int_equal(df_fake_reactor_connect_client(fake_, 0, &mt), 0);
  advance(1e6);
  assert_false(df_memory_transport_aborted(mt));
  df_memory_transport_close(mt, NULL);
  assert_true(ended(d));
  df_deferred_unref(d);
}

static void test_a_refused_connection_fails_the_download(void **state) {
  (void)state;
  df_deferred *d = poetry_get(ep, clock_, 5, &progress);
  assert_int_equal(df_fake_reactor_fail_client(fake_, 0, NULL), 0);
  assert_failed_with(d, &df_error_connection_refused, NULL);
  df_deferred_unref(d);
}

static void test_a_connection_attempt_that_hangs_times_out(void **state) {
  (void)state;
  df_deferred *d = poetry_get(ep, clock_, 5, &progress);
  assert_true(df_fake_reactor_tcp_client(fake_, 0)->timeout == 3);
  advance(2.9);
  assert_false(ended(d));
  advance(0.1); /* the endpoint's timeout */
  assert_failed_with(d, &df_error_tcp_timed_out, NULL);
  df_deferred_unref(d);
}

/* The fake reactor does not resolve names (a connect is recorded as
 * asked); the loopback tests look names up through --hosts. Here: the
 * lookup's failure, as the connector reports it, fails the download. */
static void test_a_failed_name_lookup_fails_the_download(void **state) {
  (void)state;
  df_deferred *d = poetry_get(ep, clock_, 5, &progress);
  df_failure *f = df_failure_new(&df_error_dns_lookup,
                                 "DNS lookup failed: no address for nowhere.test.");
  assert_int_equal(df_fake_reactor_fail_client(fake_, 0, f), 0);
  df_failure_unref(f);
  assert_failed_with(d, &df_error_dns_lookup,
                     "DNSLookupError: DNS lookup failed: no address for "
                     "nowhere.test.");
  df_deferred_unref(d);
}

static void test_more_than_the_longest_poem_is_refused(void **state) {
  (void)state;
  df_memory_transport *mt;
  df_deferred *d = connected_download(&mt);
  size_t block = 1 << 20;
  char *bytes = calloc(1, block);
  assert_non_null(bytes);
  memset(bytes, 'a', block);
  for (size_t sent = 0; sent < POETRY_MAX_POEM; sent += block)
    df_memory_transport_feed(mt, bytes, block);
  assert_false(df_memory_transport_aborted(mt)); /* exactly the limit: fine */
  df_memory_transport_feed(mt, bytes, 1);
  assert_true(df_memory_transport_aborted(mt));
  free(bytes);
  close_with(mt, &df_error_connection_aborted);
  assert_failed_with(d, &poetry_too_long_error,
                     "PoemTooLongError: 127.0.0.1:10000 sent more than "
                     "67108864 bytes: too long for a poem");
  df_deferred_unref(d);
}

static void test_cancelling_a_download_aborts_its_connection(void **state) {
  (void)state;
  df_memory_transport *mt;
  df_deferred *d = connected_download(&mt);
  df_memory_transport_feed(mt, "some", 4);
  df_deferred_cancel(d);
  assert_true(df_memory_transport_aborted(mt));
  assert_failed_with(d, &df_error_cancelled, NULL);
  close_with(mt, &df_error_connection_aborted); /* comes later: ignored */
  df_deferred_unref(d);
}

static void test_cancelling_while_connecting_stops_the_attempt(void **state) {
  (void)state;
  df_deferred *d = poetry_get(ep, clock_, 5, &progress);
  df_deferred_cancel(d);
  assert_failed_with(d, &df_error_connecting_cancelled, NULL);
  assert_int_equal(df_fake_reactor_connect_client(fake_, 0, NULL), DF_EINVAL);
  df_deferred_unref(d);
}

/* Nothing holds the deferred: the download still runs to its end (and
 * valgrind sees nothing leak). */
static void test_a_download_nobody_holds_still_completes(void **state) {
  (void)state;
  df_deferred *d = poetry_get(ep, clock_, 5, &progress);
  df_deferred_unref(d);
  df_memory_transport *mt;
  assert_int_equal(df_fake_reactor_connect_client(fake_, 0, &mt), 0);
  df_memory_transport_feed(mt, "x", 1);
  df_memory_transport_close(mt, NULL);
  assert_int_equal(progress.stage, POETRY_RECEIVED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_a_clean_close_gives_the_poem_exactly),
      T(test_an_empty_poem_is_a_poem),
      T(test_a_reset_is_a_failed_download_never_a_short_poem),
      T(test_no_bytes_for_the_timeout_is_a_timeout_error),
      T(test_no_timeout_with_zero),
      T(test_a_refused_connection_fails_the_download),
      T(test_a_connection_attempt_that_hangs_times_out),
      T(test_a_failed_name_lookup_fails_the_download),
      T(test_more_than_the_longest_poem_is_refused),
      T(test_cancelling_a_download_aborts_its_connection),
      T(test_cancelling_while_connecting_stops_the_attempt),
      T(test_a_download_nobody_holds_still_completes),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
