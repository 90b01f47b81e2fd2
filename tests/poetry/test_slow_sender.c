/* The slow poetry server's protocol (tools/poetry/slow_sender.c) on memory
 * transports and the test clock: its chunks and their timing, shared
 * ticks, clients that leave, backpressure at both speeds, the cut-off at
 * shutdown and the log lines. */
#include <math.h>

#include "net_support.h"
#include "slow_sender.h"

/* 25 bytes: chunks of 10 are "ABCDEFGHIJ", "KLMNOPQRST", "UVWXY". */
static const char poem[] = "ABCDEFGHIJKLMNOPQRSTUVWXY";
#define POEM_LEN (sizeof poem - 1)

static slow_server server;

static void serve(size_t chunk, double delay, FILE *log) {
  assert_int_equal(
      slow_server_init(&server, clock_, poem, POEM_LEN, chunk, delay, log), 0);
}

/* Move the clock on `n` intervals of 0.7 s, one at a time (one advance
 * of 1.4 s runs a tick once, late, as task.Clock runs a LoopingCall). */
static void ticks(int n) {
  for (int i = 0; i < n; i++) advance(0.7);
}

static void test_first_chunk_at_once_then_one_every_delay(void **state) {
  (void)state;
  serve(10, 0.7, NULL);
  df_memory_transport *mt = connect_memory(&server.base);
  assert_value(mt, "ABCDEFGHIJ", 10);
  advance(0.69);
  assert_value(mt, "ABCDEFGHIJ", 10);
  advance(0.01);
  assert_value(mt, "ABCDEFGHIJKLMNOPQRST", 20);
  assert_false(df_memory_transport_disconnecting(mt));
  advance(0.7);
  assert_value(mt, poem, POEM_LEN);
  /* The last chunk is out: a clean close, at (3 - 1) * 0.7 s. */
  assert_true(df_memory_transport_disconnecting(mt));
  assert_false(df_memory_transport_aborted(mt));
  df_memory_transport_close(mt, NULL);
  assert_int_equal(server.stats.completed, 1);
  assert_int_equal(server.stats.active, 0);
  assert_int_equal(slow_server_tick_count(&server), 0);
  df_memory_transport_free(mt);
}

static void test_a_chunk_larger_than_the_poem_sends_it_at_once(void **state) {
  (void)state;
  serve(100, 0.7, NULL);
  df_memory_transport *mt = connect_memory(&server.base);
  assert_value(mt, poem, POEM_LEN);
  assert_true(df_memory_transport_disconnecting(mt));
  assert_int_equal(slow_server_tick_count(&server), 0);
  df_memory_transport_free(mt);
}

static void test_clients_of_the_same_millisecond_share_one_tick(void **state) {
  (void)state;
  serve(10, 0.7, NULL);
  df_memory_transport *a = connect_memory(&server.base);
  df_memory_transport *b = connect_memory(&server.base);
  advance(0.0005);
  df_memory_transport *c = connect_memory(&server.base);
  assert_int_equal(slow_server_tick_count(&server), 1);
  advance(0.0015); /* 2 ms after the first: a tick of its own */
  df_memory_transport *d = connect_memory(&server.base);
  assert_int_equal(slow_server_tick_count(&server), 2);
  advance(0.698); /* 0.7 after the first three */
  assert_int_equal(value_length(a), 20);
  assert_int_equal(value_length(b), 20);
  assert_int_equal(value_length(c), 20);
  assert_int_equal(value_length(d), 10);
  advance(0.002);
  assert_int_equal(value_length(d), 20);
  df_memory_transport_free(a);
  df_memory_transport_free(b);
  df_memory_transport_free(c);
  df_memory_transport_free(d);
  assert_int_equal(slow_server_tick_count(&server), 0);
}

static void test_a_later_client_keeps_its_own_schedule(void **state) {
  (void)state;
  serve(10, 0.7, NULL);
  df_memory_transport *a = connect_memory(&server.base);
  advance(0.3);
  df_memory_transport *b = connect_memory(&server.base);
  advance(0.4); /* t = 0.7 */
  assert_int_equal(value_length(a), 20);
  assert_int_equal(value_length(b), 10);
  advance(0.3); /* t = 1.0 */
  assert_int_equal(value_length(b), 20);
  df_memory_transport_free(a);
  df_memory_transport_free(b);
}

/* Twisted's LoopingCall rule: missed intervals are skipped. */
static void test_a_late_loop_skips_the_intervals_it_missed(void **state) {
  (void)state;
  serve(5, 0.7, NULL); /* 5 chunks */
  df_memory_transport *mt = connect_memory(&server.base);
  advance(2.2); /* one run, late; the next at 2.8, not at once */
  assert_int_equal(value_length(mt), 10);
  advance(0.5);
  assert_int_equal(value_length(mt), 10);
  advance(0.1);
  assert_int_equal(value_length(mt), 15);
  df_memory_transport_free(mt);
}

static void test_a_client_that_leaves_is_forgotten_and_others_go_on(void **state) {
  (void)state;
  serve(10, 0.7, NULL);
  df_memory_transport *a = connect_memory(&server.base);
  df_memory_transport *b = connect_memory(&server.base);
  df_failure *reset = df_failure_new(&df_error_connection_lost, "reset");
  df_memory_transport_close(a, reset);
  df_failure_unref(reset);
  assert_int_equal(server.stats.left, 1);
  assert_int_equal(slow_server_tick_count(&server), 1);
  ticks(2);
  assert_value(b, poem, POEM_LEN);
  df_memory_transport_close(b, NULL);
  assert_int_equal(server.stats.completed, 1);
  assert_int_equal(server.stats.clients, 2);
  assert_int_equal(slow_server_tick_count(&server), 0);
  df_memory_transport_free(a);
  df_memory_transport_free(b);
}

static void test_a_client_half_closing_still_gets_the_poem(void **state) {
  (void)state;
  serve(10, 0.7, NULL);
  df_memory_transport *mt = connect_memory(&server.base);
  assert_int_equal(df_memory_transport_feed(mt, "ignored", 7), 0);
  assert_int_equal(df_memory_transport_feed_eof(mt), 0);
  assert_false(df_memory_transport_disconnecting(mt));
  ticks(2);
  assert_value(mt, poem, POEM_LEN);
  assert_true(df_memory_transport_disconnecting(mt));
  df_memory_transport_free(mt);
}

/* A client that does not read: its buffer fills past the high-water mark,
 * it is paused and skips its chunks, and goes on where it stopped once
 * the buffer drains: bounded, and nothing lost. */
static void test_a_client_that_does_not_read_is_paused_and_loses_nothing(
    void **state) {
  (void)state;
  serve(10, 0.7, NULL);
  df_memory_transport *mt = connect_memory(&server.base);
  df_transport *t = df_memory_transport_transport(mt);
  assert_int_equal(df_transport_set_write_buffer_limits(t, 15, 0), 0);
  advance(0.7); /* 20 bytes waiting: past 15 */
  bool streaming, paused;
  assert_non_null(df_memory_transport_producer(mt, &streaming, &paused));
  assert_true(streaming);
  assert_true(paused);
  advance(1.4); /* skipped twice */
  assert_value(mt, "ABCDEFGHIJKLMNOPQRST", 20);
  df_memory_transport_clear(mt); /* it reads them: resumed */
  df_memory_transport_producer(mt, &streaming, &paused);
  assert_false(paused);
  advance(0.7);
  assert_value(mt, "UVWXY", 5);
  assert_true(df_memory_transport_disconnecting(mt));
  df_memory_transport_free(mt);
}

/* --- delay 0: full speed, through backpressure ---------------------------------- */

static char *big_poem(size_t len) {
  char *text = malloc(len);
  assert_non_null(text);
  for (size_t i = 0; i < len; i++) text[i] = (char)('a' + i % 26);
  return text;
}

static void test_delay_zero_sends_a_poem_at_once_to_a_reader(void **state) {
  (void)state;
  size_t len = 40000;
  char *text = big_poem(len);
  assert_int_equal(slow_server_init(&server, clock_, text, len, 10, 0, NULL), 0);
  df_memory_transport *mt = connect_memory(&server.base);
  assert_value(mt, text, len); /* in 16 KiB slices, not 10-byte chunks */
  assert_true(df_memory_transport_disconnecting(mt));
  assert_int_equal(slow_server_tick_count(&server), 0);
  df_memory_transport_free(mt);
  free(text);
}

static void test_delay_zero_never_buffers_past_high_water_plus_a_slice(
    void **state) {
  (void)state;
  size_t len = 1000000;
  char *text = big_poem(len);
  assert_int_equal(slow_server_init(&server, clock_, text, len, 10, 0, NULL), 0);
  df_memory_transport *mt = connect_memory(&server.base);
  size_t got = 0, rounds = 0;
  char *copy = malloc(len);
  assert_non_null(copy);
  while (!df_memory_transport_disconnecting(mt)) {
    size_t n;
    const char *v = df_memory_transport_value(mt, &n);
    /* Paused as soon as the buffer passes 64 KiB: one slice past it at
     * most, whatever the poem's length. */
    assert_true(n <= DF_WRITE_HIGH_WATER_DEFAULT + SLOW_STREAM_SLICE);
    assert_true(n > 0);
    memcpy(copy + got, v, n);
    got += n;
    df_memory_transport_clear(mt);
    assert_true(++rounds < 100);
  }
  size_t n;
  const char *v = df_memory_transport_value(mt, &n);
  memcpy(copy + got, v, n);
  got += n;
  assert_int_equal(got, len);
  assert_memory_equal(copy, text, len);
  df_memory_transport_free(mt);
  free(copy);
  free(text);
}

/* --- stopping ----------------------------------------------------------------- */

static void test_cut_off_aborts_every_client_still_mid_poem(void **state) {
  (void)state;
  serve(10, 0.7, NULL);
  df_memory_transport *done = connect_memory(&server.base);
  ticks(2);
  df_memory_transport_clear(done); /* all of it read: nothing to cut */
  df_memory_transport *a = connect_memory(&server.base);
  df_memory_transport *b = connect_memory(&server.base);
  df_memory_transport *pending = connect_memory(&server.base);
  ticks(2); /* pending is done too, but has not read its last chunk */
  df_memory_transport_clear(a);
  df_memory_transport_clear(b);
  df_memory_transport_close(b, NULL); /* gone already */
  df_memory_transport *c = connect_memory(&server.base);
  assert_int_equal(slow_server_cut_off(&server), 2); /* c, pending */
  assert_false(df_memory_transport_aborted(done));
  assert_false(df_memory_transport_aborted(a)); /* read everything */
  assert_true(df_memory_transport_aborted(c));
  assert_true(df_memory_transport_aborted(pending));
  assert_int_equal(server.stats.cut_off, 2);
  assert_int_equal(slow_server_tick_count(&server), 0);
  assert_int_equal(slow_server_cut_off(&server), 0); /* again: no one left */
  df_memory_transport_free(done);
  df_memory_transport_free(a);
  df_memory_transport_free(b);
  df_memory_transport_free(c);
  df_memory_transport_free(pending);
  assert_int_equal(server.stats.active, 0);
  assert_int_equal(server.stats.clients, 5);
}

static void test_a_line_per_client_says_how_it_ended(void **state) {
  (void)state;
  capture log;
  capture_open(&log);
  serve(10, 0.7, log.f);
  df_memory_transport *whole = connect_memory(&server.base);
  ticks(2);
  df_memory_transport_close(whole, NULL);
  df_memory_transport *left = connect_memory(&server.base);
  df_memory_transport_close(left, NULL); /* a clean close, mid-poem */
  df_memory_transport *cut = connect_memory(&server.base);
  ticks(1);
  df_memory_transport_clear(cut); /* it has read 20 bytes */
  assert_int_equal(slow_server_cut_off(&server), 1);
  df_failure *aborted = df_failure_new(&df_error_connection_aborted, "aborted");
  df_memory_transport_close(cut, aborted);
  df_failure_unref(aborted);
  assert_text(&log,
              "poetry-server: 192.168.1.1:54321: sent the whole poem (25 bytes)\n"
              "poetry-server: 192.168.1.1:54321: left after 10 of 25 bytes "
              "(ConnectionDone: Connection was closed cleanly)\n"
              "poetry-server: 192.168.1.1:54321: cut off after 20 of 25 bytes "
              "(the server is stopping)\n");
  assert_int_equal(server.stats.completed, 1);
  assert_int_equal(server.stats.left, 1);
  assert_int_equal(server.stats.cut_off, 1);
  df_memory_transport_free(whole);
  df_memory_transport_free(left);
  df_memory_transport_free(cut);
  capture_close(&log);
}

static void test_init_refuses_what_cannot_be_served(void **state) {
  (void)state;
  assert_int_equal(slow_server_init(&server, clock_, poem, POEM_LEN, 0, 1, NULL),
                   DF_EINVAL);
  assert_int_equal(slow_server_init(&server, clock_, poem, POEM_LEN, 1, -1, NULL),
                   DF_EINVAL);
  assert_int_equal(
      slow_server_init(&server, clock_, poem, POEM_LEN, 1, NAN, NULL),
      DF_EINVAL);
  assert_int_equal(
      slow_server_init(&server, clock_, poem, POEM_LEN, 1, INFINITY, NULL),
      DF_EINVAL);
  assert_int_equal(slow_server_init(&server, NULL, poem, POEM_LEN, 1, 1, NULL),
                   DF_EINVAL);
  assert_int_equal(slow_server_init(&server, clock_, NULL, 3, 1, 1, NULL),
                   DF_EINVAL);
  assert_int_equal(slow_server_init(&server, clock_, poem,
                                    (size_t)SLOW_MAX_POEM + 1, 1, 1, NULL),
                   DF_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, clock_setup, clock_teardown)
      T(test_first_chunk_at_once_then_one_every_delay),
      T(test_a_chunk_larger_than_the_poem_sends_it_at_once),
      T(test_clients_of_the_same_millisecond_share_one_tick),
      T(test_a_later_client_keeps_its_own_schedule),
      T(test_a_late_loop_skips_the_intervals_it_missed),
      T(test_a_client_that_leaves_is_forgotten_and_others_go_on),
      T(test_a_client_half_closing_still_gets_the_poem),
      T(test_a_client_that_does_not_read_is_paused_and_loses_nothing),
      T(test_delay_zero_sends_a_poem_at_once_to_a_reader),
      T(test_delay_zero_never_buffers_past_high_water_plus_a_slice),
      T(test_cut_off_aborts_every_client_still_mid_poem),
      T(test_a_line_per_client_says_how_it_ended),
      T(test_init_refuses_what_cannot_be_served),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
