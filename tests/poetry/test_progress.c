/* get-poetry's progress display (tools/poetry/progress.c) on the test
 * clock: the line's text for each stage, how it is drawn on a terminal
 * (in place, cut to the width, out of the way of other output) and as
 * lines elsewhere (only when it changed), and that "off" draws nothing. */
#include "net_support.h"
#include "progress.h"

static capture err;
static progress *display;
static poetry_progress a, b;

static int setup(void **state) {
  clock_setup(state);
  capture_open(&err);
  a = (poetry_progress){0, POETRY_CONNECTING};
  b = (poetry_progress){0, POETRY_CONNECTING};
  display = NULL;
  return 0;
}
static int teardown(void **state) {
  progress_free(display);
  capture_close(&err);
  return clock_teardown(state);
}

static void make(progress_mode mode, bool shared_terminal, const char *label_a,
                 const char *label_b) {
  assert_int_equal(progress_new(clock_, err.f, mode, shared_terminal, &display),
                   0);
  assert_int_equal(progress_add(display, label_a, &a), 0);
  assert_int_equal(progress_add(display, label_b, &b), 0);
  assert_int_equal(progress_start(display), 0);
}

static void test_lines_are_written_when_something_changed(void **state) {
  (void)state;
  make(PROGRESS_LINES, false, "10001", "10002");
  assert_text(&err, "progress: 10001 connecting, 10002 connecting\n");
  a = (poetry_progress){120, POETRY_RECEIVING};
  advance(0.5);
  assert_text(&err, "progress: 10001 connecting, 10002 connecting\n");
  advance(0.5); /* one interval */
  assert_text(&err, "progress: 10001 connecting, 10002 connecting\n"
                    "progress: 10001 120 B, 10002 connecting\n");
  advance(1); /* unchanged: nothing */
  a.stage = POETRY_RECEIVED;
  b.stage = POETRY_FAILED;
  advance(1);
  assert_text(&err, "progress: 10001 connecting, 10002 connecting\n"
                    "progress: 10001 120 B, 10002 connecting\n"
                    "progress: 10001 done 120 B, 10002 failed\n");
  progress_stop(display);
  a.bytes = 500;
  advance(5);
  assert_text(&err, "progress: 10001 connecting, 10002 connecting\n"
                    "progress: 10001 120 B, 10002 connecting\n"
                    "progress: 10001 done 120 B, 10002 failed\n");
}

static void test_on_a_terminal_the_line_is_redrawn_in_place(void **state) {
  (void)state;
  make(PROGRESS_TERMINAL, false, "10001", "10002");
  assert_text(&err, "\r10001 connecting | 10002 connecting\033[K");
  a = (poetry_progress){7, POETRY_RECEIVING};
  advance(0.1);
  assert_text(&err, "\r10001 connecting | 10002 connecting\033[K"
                    "\r10001 7 B | 10002 connecting\033[K");
  progress_hide(display); /* before someone else writes */
  progress_hide(display); /* once is enough */
  assert_text(&err, "\r10001 connecting | 10002 connecting\033[K"
                    "\r10001 7 B | 10002 connecting\033[K\r\033[K");
}

static void test_the_line_is_cut_to_the_terminal_width(void **state) {
  (void)state;
  /* Not a terminal here, so the width is taken as 80: 79 columns used. */
  char long_a[61], long_b[61];
  memset(long_a, 'a', 60);
  memset(long_b, 'b', 60);
  long_a[60] = long_b[60] = '\0';
  make(PROGRESS_TERMINAL, false, long_a, long_b);
  const char *text = capture_text(&err);
  assert_int_equal(strlen(text), 1 + 79 + 3);
  assert_memory_equal(text + 1 + 60, " connecting | bbbb", 18);
  assert_string_equal(text + 80, "\033[K");
}

/* A poem that does not end its line, on the same terminal: the next line
 * of progress starts on a line of its own, and stdout gets nothing. */
static void test_a_poem_left_mid_line_is_not_overwritten(void **state) {
  (void)state;
  make(PROGRESS_TERMINAL, true, "1", "2");
  progress_hide(display);
  progress_wrote_output(display, '.');
  advance(0.1);
  assert_text(&err, "\r1 connecting | 2 connecting\033[K\r\033[K"
                    "\n\r1 connecting | 2 connecting\033[K");
  progress_hide(display);
  progress_wrote_output(display, '\n');
  advance(0.1);
  assert_text(&err, "\r1 connecting | 2 connecting\033[K\r\033[K"
                    "\n\r1 connecting | 2 connecting\033[K\r\033[K"
                    "\r1 connecting | 2 connecting\033[K");
}

static void test_off_draws_nothing(void **state) {
  (void)state;
  make(PROGRESS_OFF, false, "1", "2");
  advance(10);
  progress_hide(display);
  progress_stop(display);
  assert_text(&err, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
      T(test_lines_are_written_when_something_changed),
      T(test_on_a_terminal_the_line_is_redrawn_in_place),
      T(test_the_line_is_cut_to_the_terminal_width),
      T(test_a_poem_left_mid_line_is_not_overwritten),
      T(test_off_draws_nothing),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
