/* get-poetry's program (tools/poetry/poetry_program.c) on the fake
 * reactor: the tutorial's seven steps, one test each (steps 4 and 5 with
 * the engine's gibberish rules and its fault injection), poems printed
 * exactly and as soon as they are complete, and the summary. */
#include <fcntl.h>
#include <unistd.h>

#include "net_support.h"
#include "poetry_program.h"

/* The install test's two lines: English, so Byron changes them. */
#define ENGLISH "Are you awake?\nYour eyes are ever closed.\n"
#define BYRONIC "    Art thou awake?\n    Thine eyes are e'er clos'd.\n"
#define GIBBERISH "#$%^&*()!\n@@@@ ////\n"

static poetry_program prog;
static poetry_task tasks[4];
static df_endpoint *endpoints[4];
static capture out, err;

static int setup(void **state) {
  fake_setup(state);
  memset(&prog, 0, sizeof prog);
  memset(tasks, 0, sizeof tasks);
  static const char *const labels[4] = {"127.0.0.1:10001", "127.0.0.1:10002",
                                        "127.0.0.1:10003", "127.0.0.1:10004"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(df_tcp_client_endpoint_new(fake_, "127.0.0.1", 10001 + i,
                                                5, NULL, &endpoints[i]),
                     0);
    tasks[i].label = labels[i];
    tasks[i].endpoint = endpoints[i];
  }
  capture_open(&out);
  capture_open(&err);
  prog.clock = clock_;
  prog.timeout = 5;
  prog.out = out.f;
  prog.err = err.f;
  prog.tasks = tasks;
  return 0;
}

static int teardown(void **state) {
  for (int i = 0; i < 4; i++) df_endpoint_free(endpoints[i]);
  capture_close(&out);
  capture_close(&err);
  return fake_teardown(state);
}

static df_deferred *start(size_t count, bool byronify) {
  prog.count = count;
  prog.byronify = byronify;
  df_deferred *d = poetry_program_start(&prog);
  assert_non_null(d);
  assert_int_equal(df_fake_reactor_tcp_client_count(fake_), count);
  return d;
}

/* Task i's server sends `text` and closes cleanly. */
static void serve(size_t i, const char *text) {
  df_memory_transport *mt;
  assert_int_equal(df_fake_reactor_connect_client(fake_, i, &mt), 0);
  if (*text) df_memory_transport_feed(mt, text, strlen(text));
  df_memory_transport_close(mt, NULL);
}

/* The program ended, with this many tasks that printed nothing. */
static void assert_ended_with(df_deferred *d, int64_t failed) {
  const df_result *r = df_deferred_result(d);
  assert_non_null(r);
  assert_int_equal(r->kind, DF_INT);
  assert_int_equal(r->u.i, failed);
  df_deferred_unref(d);
}

/* (1) and (6), without the engine: each poem printed exactly, as soon as
 * it is complete, in the order they complete. */
static void test_each_poem_is_printed_as_received_as_it_completes(void **state) {
  (void)state;
  df_deferred *d = start(2, false);
  serve(1, "second server's poem\n");
  assert_text(&out, "second server's poem\n");
  assert_false(df_deferred_called(d));
  serve(0, "no newline at the end");
  assert_text(&out, "second server's poem\nno newline at the end");
  assert_text(&err, "");
  assert_ended_with(d, 0);
  assert_true(tasks[0].printed && tasks[1].printed);
  assert_int_equal(tasks[0].received, 21);
}

/* (2) If the download fails, tell the user we couldn't get the poem. */
static void test_step_2_a_failed_download_is_told_and_prints_nothing(
    void **state) {
  (void)state;
  df_deferred *d = start(2, true);
  assert_int_equal(df_fake_reactor_fail_client(fake_, 0, NULL), 0);
  df_memory_transport *mt;
  assert_int_equal(df_fake_reactor_connect_client(fake_, 1, &mt), 0);
  df_memory_transport_feed(mt, ENGLISH, 20); /* then a reset: no poem */
  df_failure *reset = df_failure_new(&df_error_connection_lost, "reset");
  df_memory_transport_close(mt, reset);
  df_failure_unref(reset);
  assert_text(&out, "");
  assert_text(&err,
              "Task 1: the poem from 127.0.0.1:10001 could not be downloaded: "
              "ConnectionRefusedError: Connection was refused by other side: "
              "127.0.0.1:10001\n"
              "Task 2: the poem from 127.0.0.1:10002 could not be downloaded: "
              "ConnectionLost: reset\n");
  assert_ended_with(d, 2);
  assert_ptr_equal(tasks[1].failure_type, &df_error_connection_lost);
}

/* (3) If we do get the poem, transform it with the Byronification Engine. */
static void test_step_3_the_engine_rewrites_the_poem(void **state) {
  (void)state;
  df_deferred *d = start(1, true);
  serve(0, ENGLISH);
  assert_text(&out, BYRONIC);
  assert_text(&err, "");
  assert_ended_with(d, 0);
  assert_true(tasks[0].byronified);
  assert_int_equal(tasks[0].received, strlen(ENGLISH));
  assert_int_equal(tasks[0].printed_bytes, strlen(BYRONIC));
}

/* (4) If the engine throws a GibberishError, tell the user we couldn't
 * get the poem: the same errback as step 2. */
static void test_step_4_gibberish_means_the_download_failed(void **state) {
  (void)state;
  df_deferred *d = start(2, true);
  serve(0, GIBBERISH);
  serve(1, ""); /* an empty poem is gibberish too */
  assert_text(&out, "");
  assert_text(&err,
              "Task 1: the poem from 127.0.0.1:10001 could not be downloaded: "
              "it is not a poem: GibberishError: only 0 letters in the verse "
              "(a poem has at least 8)\n"
              "Task 2: the poem from 127.0.0.1:10002 could not be downloaded: "
              "it is not a poem: GibberishError: the poem is empty\n");
  assert_ended_with(d, 2);
  assert_ptr_equal(tasks[0].failure_type, &byron_gibberish_error);
}

/* (5) If the engine throws another exception, just keep the original
 * poem: with a fault rate of 1, every call fails with CannotByronifyError. */
static void test_step_5_another_engine_error_keeps_the_original(void **state) {
  (void)state;
  assert_int_equal(byron_engine_init(&prog.engine, 1.0, 7), 0);
  df_deferred *d = start(1, true);
  serve(0, ENGLISH);
  assert_text(&out, ENGLISH);
  const char *text = capture_text(&err);
  assert_non_null(strstr(text, "Task 1: the Byronification Engine failed "
                               "(CannotByronifyError: "));
  assert_non_null(strstr(text, "): printing the poem as received\n"));
  assert_ended_with(d, 0);
  assert_true(tasks[0].printed);
  assert_false(tasks[0].byronified);
  assert_ptr_equal(tasks[0].failure_type, &byron_cannot_byronify_error);
}

/* (5) still lets a GibberishError through to step 4: the engine raises
 * that first when the poem is not one, even when its draw says "fault". */
static void test_step_5_leaves_gibberish_to_step_4(void **state) {
  (void)state;
  assert_int_equal(byron_engine_init(&prog.engine, 1.0, 7), 0);
  df_deferred *d = start(1, true);
  serve(0, GIBBERISH);
  assert_text(&out, "");
  assert_ended_with(d, 1);
  assert_ptr_equal(tasks[0].failure_type, &byron_gibberish_error);
}

/* Steps 3 and 5 together, seeded: the calls that fail are the engine's
 * draws, in the order the poems complete. */
static void test_a_seeded_fault_rate_fails_the_calls_its_draws_pick(
    void **state) {
  (void)state;
  byron_engine expected;
  byron_engine_init(&expected, 0.5, 11);
  bool fails[4];
  for (int i = 0; i < 4; i++) {
    df_result r = byron_byronificate(&expected, ENGLISH, strlen(ENGLISH));
    fails[i] = df_result_is_failure(r);
    df_result_drop(r);
  }
  /* Seed 11 draws both outcomes among the four (else the test proves
   * nothing). */
  assert_true(fails[0] + fails[1] + fails[2] + fails[3] == 2);
  assert_int_equal(byron_engine_init(&prog.engine, 0.5, 11), 0);
  df_deferred *d = start(4, true);
  char want[512] = "";
  for (int i = 3; i >= 0; i--) { /* the last server first */
    serve((size_t)i, ENGLISH);
    strcat(want, fails[3 - i] ? ENGLISH : BYRONIC);
    assert_text(&out, want);
    assert_int_equal(tasks[i].byronified, !fails[3 - i]);
  }
  assert_ended_with(d, 0);
}

/* (6) A poem that cannot be written fails its task. */
static void test_step_6_an_output_error_fails_the_task(void **state) {
  (void)state;
  FILE *full = fopen("/dev/full", "w");
  assert_non_null(full);
  prog.out = full;
  df_deferred *d = start(1, false);
  serve(0, ENGLISH);
  assert_text(&err, "Task 1: IOError: cannot write the poem to the output: No "
                    "space left on device\n");
  assert_ended_with(d, 1);
  fclose(full);
}

/* What the pipe's reader gets (all of it: the writer has finished). */
static void assert_pipe_holds(int fd, const char *want) {
  char got[256] = "";
  ssize_t n = read(fd, got, sizeof got - 1);
  assert_true(n >= 0);
  got[n] = '\0';
  assert_string_equal(got, want);
}

/* (6) With a writer: the poems are written off the loop, one at a time,
 * in the order they were ready; a task is printed once its write is. */
static void test_step_6_a_writer_writes_one_poem_at_a_time(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  prog.writer = fake_;
  prog.out_fd = fds[1];
  df_deferred *d = start(2, false);
  serve(1, "second server's poem\n");
  serve(0, ENGLISH);
  /* the first write waits for a pool thread; the second for the lock */
  assert_int_equal(df_fake_reactor_pending_threads(fake_), 1);
  assert_false(tasks[1].printed);
  assert_false(df_deferred_called(d));
  assert_int_equal(df_fake_reactor_run_threads(fake_), 2);
  assert_pipe_holds(fds[0], "second server's poem\n" ENGLISH);
  assert_true(tasks[0].printed && tasks[1].printed);
  assert_int_equal(tasks[0].printed_bytes, strlen(ENGLISH));
  assert_text(&out, ""); /* never the FILE */
  assert_ended_with(d, 0);
  poetry_program_free_output(&prog);
  close(fds[0]);
  close(fds[1]);
}

/* (6) With a writer: an output error, and a write given up at shutdown,
 * fail their tasks with the reason. */
static void test_step_6_a_writer_reports_why_a_poem_was_not_written(
    void **state) {
  (void)state;
  int full = open("/dev/full", O_WRONLY);
  assert_true(full >= 0);
  prog.writer = fake_;
  prog.out_fd = full;
  df_deferred *d = start(2, false);
  serve(0, ENGLISH);
  df_fake_reactor_run_threads(fake_);
  assert_text(&err, "Task 1: IOError: cannot write the poem to the output: No "
                    "space left on device\n");
  poetry_program_stop_output(&prog);
  serve(1, ENGLISH);
  df_fake_reactor_run_threads(fake_);
  assert_text(&err, "Task 1: IOError: cannot write the poem to the output: No "
                    "space left on device\nTask 2: IOError: cannot write the "
                    "poem to the output: interrupted\n");
  assert_ended_with(d, 2);
  poetry_program_free_output(&prog);
  close(full);
}

/* (7) End the program when every download has ended, not before. */
static void test_step_7_the_program_ends_when_every_download_has(void **state) {
  (void)state;
  df_deferred *d = start(3, true);
  serve(2, ENGLISH);
  assert_int_equal(df_fake_reactor_fail_client(fake_, 0, NULL), 0);
  assert_false(df_deferred_called(d));
  advance(5); /* task 2 has not connected: its attempt times out */
  assert_ended_with(d, 2);
  assert_ptr_equal(tasks[1].failure_type, &df_error_tcp_timed_out);
}

static void test_the_summary_says_what_came_of_each_address(void **state) {
  (void)state;
  assert_int_equal(byron_engine_init(&prog.engine, 0.5, 6), 0);
  df_deferred *d = start(4, true);
  advance(1.5);
  serve(0, ENGLISH);
  advance(1);
  serve(1, ENGLISH);
  serve(2, GIBBERISH);
  assert_int_equal(df_fake_reactor_fail_client(fake_, 3, NULL), 0);
  assert_ended_with(d, 2);
  capture summary;
  capture_open(&summary);
  prog.err = summary.f;
  poetry_program_summary(&prog);
  /* Seed 6's first two draws: a success, then a fault. */
  assert_text(&summary,
              "Task 1: got 42 bytes of poetry from 127.0.0.1:10001 in 1.5 s, "
              "Byronified (52 bytes) and printed\n"
              "Task 2: got 42 bytes of poetry from 127.0.0.1:10002 in 2.5 s, "
              "printed as received (CannotByronifyError)\n"
              "Task 3: no poem from 127.0.0.1:10003 (GibberishError) after 2.5 s\n"
              "Task 4: no poem from 127.0.0.1:10004 (ConnectionRefusedError) "
              "after 2.5 s\n"
              "get-poetry: 2 of 4 poems printed\n");
  capture_close(&summary);
}

/* The progress display is stopped when the program ends, its line gone. */
static void test_the_progress_line_is_gone_when_the_program_ends(void **state) {
  (void)state;
  assert_int_equal(
      progress_new(clock_, err.f, PROGRESS_TERMINAL, false, &prog.progress), 0);
  df_deferred *d = start(1, false);
  serve(0, "a poem\n");
  assert_ended_with(d, 0);
  /* Drawn at the start; erased before the poem was printed; not again. */
  assert_text(&err, "\r127.0.0.1:10001 connecting\033[K\r\033[K");
  advance(1);
  assert_text(&err, "\r127.0.0.1:10001 connecting\033[K\r\033[K");
  progress_free(prog.progress);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_each_poem_is_printed_as_received_as_it_completes),
      T(test_step_2_a_failed_download_is_told_and_prints_nothing),
      T(test_step_3_the_engine_rewrites_the_poem),
      T(test_step_4_gibberish_means_the_download_failed),
      T(test_step_5_another_engine_error_keeps_the_original),
      T(test_step_5_leaves_gibberish_to_step_4),
      T(test_a_seeded_fault_rate_fails_the_calls_its_draws_pick),
      T(test_step_6_an_output_error_fails_the_task),
      T(test_step_6_a_writer_writes_one_poem_at_a_time),
      T(test_step_6_a_writer_reports_why_a_poem_was_not_written),
      T(test_step_7_the_program_ends_when_every_download_has),
      T(test_the_summary_says_what_came_of_each_address),
      T(test_the_progress_line_is_gone_when_the_program_ends),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
