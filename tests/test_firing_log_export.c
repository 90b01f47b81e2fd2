/* The firing log's exports (deferred/firing_log.h): the exact Graphviz DOT
 * and trace-event JSON of a small chain on the test clock (a stage, a wait
 * on another deferred, the failure it hands back, the errback that
 * handles it), the escaping of every kind of text, what an unfinished
 * wait and dropped events look like, and the errors of writing. The
 * render-and-parse check of a whole program's log is the jobs_demo test
 * (tests/firing_log). */
#define _POSIX_C_SOURCE 200809L /* mkstemp, unlink */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "support.h"

static df_clock *clock_;

static int export_setup(void **state) {
  clock_ = df_test_clock_new();
  assert_non_null(clock_);
  return support_setup(state);
}

static int export_teardown(void **state) {
  df_clock_free(clock_);
  return support_teardown(state);
}

static df_firing_log *start_log(size_t max_events) {
  df_firing_log_options options = {clock_, max_events, 0};
  df_firing_log *log = NULL;
  assert_int_equal(df_firing_log_start(&options, &log), 0);
  return log;
}

/* What `write` writes for `log`, as a string (static). */
static const char *written(const df_firing_log *log,
                           int (*write)(const df_firing_log *, FILE *)) {
  static char text[32768];
  FILE *f = tmpfile();
  assert_non_null(f);
  assert_int_equal(write(log, f), 0);
  rewind(f);
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  assert_true(n < sizeof text - 1);
  fclose(f);
  return text;
}

/* assert_string_equal, but a mismatch shows where the texts part, with
 * some context (cmocka cuts long strings short). */
static void assert_text_equal(const char *actual, const char *expected) {
  size_t i = 0;
  while (actual[i] && actual[i] == expected[i]) i++;
  if (actual[i] == expected[i]) return;
  size_t from = i > 80 ? i - 80 : 0;
  print_error("texts differ at byte %zu:\n--- actual:\n%.200s\n--- expected:\n"
              "%.200s\n",
              i, actual + from, expected + from);
  fail();
}

/* `template` with $A, $B, $C replaced by the decimal numbers in `a`, `b`,
 * `c` (serials) and $1 ... $4 by `lines[0..3]` (static result). */
static const char *expand(const char *template, unsigned a, unsigned b,
                          unsigned c, const int *lines) {
  static char text[32768];
  size_t at = 0;
  for (const char *p = template; *p && at + 16 < sizeof text; p++) {
    if (*p == '$' && strchr("ABC1234", p[1])) {
      char k = *++p;
      long v = k == 'A' ? (long)a : k == 'B' ? (long)b : k == 'C' ? (long)c
                                                                   : lines[k - '1'];
      at += (size_t)snprintf(text + at, sizeof text - at, "%ld", v);
    } else {
      text[at++] = *p;
    }
  }
  text[at] = '\0';
  return text;
}

static df_result start_work(df_result r, void *arg) {
  df_result_drop(r);
  return df_wait_on(df_deferred_ref(arg));
}

static df_result report(df_result r, void *arg) {
  (void)arg;
  return r;
}

static df_result give_up(df_result r, void *arg) {
  (void)arg;
  df_result_drop(r);
  return df_string("gave up");
}

/* The fixed chain: `job` fires at 1 s, waits on `work`, which fails at
 * 3 s; the failure comes back to `job`, whose errback handles it. */
typedef struct fixed {
  df_firing_log *log;
  unsigned job, work;
  int lines[4]; /* job created, stage 0 added, stage 1 added, job fired */
  int work_line, work_failed_line;
} fixed;

static fixed run_fixed_chain(void) {
  fixed f;
  f.log = start_log(0);
  df_deferred *job = df_deferred_new();
  f.lines[0] = __LINE__ - 1;
  df_deferred *work = df_deferred_new();
  f.work_line = __LINE__ - 1;
  df_deferred_add_callback(job, start_work, work);
  f.lines[1] = __LINE__ - 1;
  df_deferred_add_callbacks(job, report, NULL, give_up, NULL);
  f.lines[2] = __LINE__ - 1;
  df_test_clock_advance(clock_, 1.0);
  df_deferred_callback(job, df_string("go"));
  f.lines[3] = __LINE__ - 1;
  df_test_clock_advance(clock_, 2.0);
  df_deferred_errback(work, df_failure_new(&generic_error, "disk \"full\""));
  f.work_failed_line = __LINE__ - 1;
  df_test_clock_advance(clock_, 0.5);
  assert_int_equal(df_firing_log_stop(f.log), 0);
  f.job = df_deferred_serial(job);
  f.work = df_deferred_serial(work);
  df_deferred_unref(job);
  df_deferred_unref(work);
  return f;
}

static void test_the_dot_of_a_wait_and_a_handled_failure_is_exact(
    void **state) {
  (void)state;
  fixed f = run_fixed_chain();
  const char *expected = expand(
      "digraph firing_log {\n"
      "  graph [compound=true, rankdir=TB, nodesep=0.3, ranksep=0.35, "
      "fontname=\"DejaVu Sans Mono\", fontsize=11, labelloc=t, label=\"firing "
      "log: 8 events about 2 deferreds, 0 dropped\"];\n"
      "  node [fontname=\"DejaVu Sans Mono\", fontsize=10];\n"
      "  edge [fontname=\"DejaVu Sans Mono\", fontsize=9, arrowsize=0.7];\n"
      "  subgraph cluster_0 {\n"
      "    label=\"Deferred#$A\\ntests/test_firing_log_export.c:$1 in "
      "run_fixed_chain\";\n"
      "    style=\"rounded\"; color=\"#333333\";\n"
      "    n0 [shape=plaintext, label=<<b>&#39;go&#39;</b><br/><font "
      "point-size=\"8\">fired at tests/test_firing_log_export.c:$4 in "
      "run_fixed_chain</font>>];\n"
      "    n1 [shape=plain, label=<<table border=\"0\" cellborder=\"1\" "
      "cellspacing=\"4\" cellpadding=\"5\"><tr><td border=\"0\"><font "
      "point-size=\"8\" color=\"#777777\">0</font></td><td port=\"cb\" "
      "bgcolor=\"#fff6cc\" border=\"2\"><b>start_work</b></td><td port=\"eb\" "
      "color=\"#bbbbbb\"><font color=\"#999999\">NULL</font></td></tr></table>>, "
      "tooltip=\"stage 0 callback, added at tests/test_firing_log_export.c:$2 "
      "in run_fixed_chain\"];\n"
      "    n5 [shape=plain, label=<<table border=\"0\" cellborder=\"1\" "
      "cellspacing=\"4\" cellpadding=\"5\"><tr><td border=\"0\"><font "
      "point-size=\"8\" color=\"#777777\">1</font></td><td port=\"cb\" "
      "color=\"#bbbbbb\"><font color=\"#999999\">report</font></td><td "
      "port=\"eb\" bgcolor=\"#fff6cc\" border=\"2\"><b>give_up</b></td></tr>"
      "</table>>, tooltip=\"stage 1 errback, added at "
      "tests/test_firing_log_export.c:$3 in run_fixed_chain\"];\n"
      "    n6 [shape=plaintext, fontcolor=\"#000000\", label=<<b>&#39;gave "
      "up&#39;</b>>];\n"
      "  }\n"
      "  subgraph cluster_1 {\n"
      "    label=\"Deferred#$B\\ntests/test_firing_log_export.c:$C in "
      "run_fixed_chain\";\n"
      "    style=\"rounded\"; color=\"#333333\";\n"
      "    n3 [shape=plaintext, label=<<b>&lt;Failure GenericError: disk "
      "&quot;full&quot;&gt;</b><br/><font point-size=\"8\">fired at "
      "tests/test_firing_log_export.c:$W in run_fixed_chain</font>>];\n"
      "    n7 [shape=plaintext, fontcolor=\"#000000\", label=<<b>None</b>>];\n"
      "  }\n"
      "  n0 -> n1:cb:n [color=\"#00a000\", fontcolor=\"#00a000\", penwidth=2, "
      "label=\"'go'\"];\n"
      "  n1:cb -> n3 [color=\"#555555\", fontcolor=\"#555555\", style=dashed, "
      "lhead=cluster_1, constraint=false, label=\"waits on\"];\n"
      "  n1:cb:s -> n5:eb:n [style=invis];\n"
      "  n3 -> n5:eb [color=\"#d00000\", fontcolor=\"#d00000\", penwidth=2, "
      "style=dashed, constraint=false, label=\"handed <Failure GenericError: "
      "disk \\\"full\\\">\"];\n"
      "  n5:eb:s -> n6 [color=\"#00a000\", fontcolor=\"#00a000\", penwidth=2];\n"
      "  n3 -> n7 [color=\"#00a000\", fontcolor=\"#00a000\", penwidth=2];\n"
      "}\n",
      f.job, f.work, (unsigned)f.work_line, f.lines);
  /* $W: where work failed ($C: where it was made) */
  char work_line[16];
  snprintf(work_line, sizeof work_line, "%d", f.work_failed_line);
  char full[32768];
  const char *w = strstr(expected, "$W");
  assert_non_null(w);
  snprintf(full, sizeof full, "%.*s%s%s", (int)(w - expected), expected,
           work_line, w + 2);
  assert_text_equal(written(f.log, df_firing_log_write_dot), full);
  df_firing_log_free(f.log);
}

static void test_the_trace_of_a_wait_and_a_handled_failure_is_exact(
    void **state) {
  (void)state;
  fixed f = run_fixed_chain();
  int lines[4] = {f.lines[0], f.lines[1], f.lines[2], f.lines[3]};
  const char *expected = expand(
      "{\"traceEvents\": [\n"
      "{\"name\": \"process_name\", \"ph\": \"M\", \"ts\": 0, \"pid\": 1, "
      "\"tid\": 0, \"args\": {\"name\": \"libdeferred firing log\"}},\n"
      "{\"name\": \"thread_name\", \"ph\": \"M\", \"ts\": 0, \"pid\": 1, "
      "\"tid\": $A, \"args\": {\"name\": \"Deferred#$A "
      "tests/test_firing_log_export.c:$1 in run_fixed_chain\"}},\n"
      "{\"name\": \"thread_sort_index\", \"ph\": \"M\", \"ts\": 0, \"pid\": 1, "
      "\"tid\": $A, \"args\": {\"sort_index\": 0}},\n"
      "{\"name\": \"thread_name\", \"ph\": \"M\", \"ts\": 0, \"pid\": 1, "
      "\"tid\": $B, \"args\": {\"name\": \"Deferred#$B "
      "tests/test_firing_log_export.c:$C in run_fixed_chain\"}},\n"
      "{\"name\": \"thread_sort_index\", \"ph\": \"M\", \"ts\": 0, \"pid\": 1, "
      "\"tid\": $B, \"args\": {\"sort_index\": 1}},\n"
      "{\"name\": \"fired\", \"cat\": \"fired\", \"ph\": \"X\", \"ts\": "
      "1000000.000, \"dur\": 0.000, \"pid\": 1, \"tid\": $A, \"args\": "
      "{\"seq\": 0, \"result\": \"'go'\", \"result_kind\": \"string\", \"at\": "
      "\"tests/test_firing_log_export.c:$4 in run_fixed_chain\"}},\n"
      "{\"name\": \"start_work\", \"cat\": \"callback\", \"ph\": \"X\", \"ts\": "
      "1000000.000, \"dur\": 0.000, \"pid\": 1, \"tid\": $A, \"args\": "
      "{\"seq\": 1, \"stage\": 0, \"side\": \"callback\", \"added_at\": "
      "\"tests/test_firing_log_export.c:$2 in run_fixed_chain\", \"input\": "
      "\"'go'\", \"input_kind\": \"string\", \"output\": \"Deferred#$B\", "
      "\"output_kind\": \"deferred\", \"returned\": \"Deferred#$B\"}},\n"
      "{\"name\": \"waits on Deferred#$B\", \"cat\": \"wait\", \"ph\": \"X\", "
      "\"ts\": 1000000.000, \"dur\": 2000000.000, \"pid\": 1, \"tid\": $A, "
      "\"args\": {\"seq\": 2, \"on\": \"Deferred#$B\", \"ended\": \"by a "
      "hand-off\"}},\n"
      "{\"name\": \"fired\", \"cat\": \"fired\", \"ph\": \"X\", \"ts\": "
      "3000000.000, \"dur\": 0.000, \"pid\": 1, \"tid\": $B, \"args\": "
      "{\"seq\": 3, \"result\": \"<Failure GenericError: disk \\\"full\\\">\", "
      "\"result_kind\": \"failure\", \"at\": \"tests/test_firing_log_export.c:"
      "@W in run_fixed_chain\"}},\n"
      "{\"name\": \"handed off\", \"cat\": \"hand-off\", \"ph\": \"X\", \"ts\": "
      "3000000.000, \"dur\": 0.000, \"pid\": 1, \"tid\": $B, \"bind_id\": 1, "
      "\"flow_out\": true, \"args\": {\"seq\": 4, \"result\": \"<Failure "
      "GenericError: disk \\\"full\\\">\", \"result_kind\": \"failure\", "
      "\"to\": \"Deferred#$A\"}},\n"
      "{\"name\": \"got result\", \"cat\": \"hand-off\", \"ph\": \"X\", \"ts\": "
      "3000000.000, \"dur\": 0.000, \"pid\": 1, \"tid\": $A, \"bind_id\": 1, "
      "\"flow_in\": true, \"args\": {\"seq\": 4, \"result\": \"<Failure "
      "GenericError: disk \\\"full\\\">\", \"result_kind\": \"failure\", "
      "\"from\": \"Deferred#$B\"}},\n"
      "{\"name\": \"give_up\", \"cat\": \"errback\", \"ph\": \"X\", \"ts\": "
      "3000000.000, \"dur\": 0.000, \"pid\": 1, \"tid\": $A, \"args\": "
      "{\"seq\": 5, \"stage\": 1, \"side\": \"errback\", \"added_at\": "
      "\"tests/test_firing_log_export.c:$3 in run_fixed_chain\", \"input\": "
      "\"<Failure GenericError: disk \\\"full\\\">\", \"input_kind\": "
      "\"failure\", \"output\": \"'gave up'\", \"output_kind\": \"string\"}},\n"
      "{\"name\": \"finished\", \"cat\": \"finished\", \"ph\": \"X\", \"ts\": "
      "3000000.000, \"dur\": 0.000, \"pid\": 1, \"tid\": $A, \"args\": "
      "{\"seq\": 6, \"result\": \"'gave up'\", \"result_kind\": \"string\"}},\n"
      "{\"name\": \"finished\", \"cat\": \"finished\", \"ph\": \"X\", \"ts\": "
      "3000000.000, \"dur\": 0.000, \"pid\": 1, \"tid\": $B, \"args\": "
      "{\"seq\": 7, \"result\": \"None\", \"result_kind\": \"none\"}}\n"
      "],\n"
      "\"displayTimeUnit\": \"ms\",\n"
      "\"otherData\": {\"recorder\": \"libdeferred firing log\", \"version\": "
      "\"" DF_VERSION_STRING "\", \"events\": 8, \"deferreds\": 2, "
      "\"dropped_events\": 0, \"max_events\": 100000}}\n",
      f.job, f.work, (unsigned)f.work_line, lines);
  char full[32768];
  const char *w = strstr(expected, "@W");
  assert_non_null(w);
  snprintf(full, sizeof full, "%.*s%d%s", (int)(w - expected), expected,
           f.work_failed_line, w + 2);
  assert_text_equal(written(f.log, df_firing_log_write_trace), full);
  df_firing_log_free(f.log);
}

static void test_the_text_form_has_a_header_and_a_line_per_event(
    void **state) {
  (void)state;
  fixed f = run_fixed_chain();
  const char *text = written(f.log, df_firing_log_write_text);
  char first[256];
  snprintf(first, sizeof first,
           "# firing log: 8 events about 2 deferreds, 0 dropped\n"
           "[1.000000] Deferred#%u fired with 'go' at ",
           f.job);
  assert_memory_equal(text, first, strlen(first));
  size_t lines = 0;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 9);
  df_firing_log_free(f.log);
}

/* --- escaping ------------------------------------------------------------------ */

static df_result return_arg(df_result r, void *arg) {
  df_result_drop(r);
  return df_string(arg);
}

static void test_every_text_is_escaped_and_made_valid_utf8(void **state) {
  (void)state;
  df_firing_log_options options = {clock_, 0, 200};
  df_firing_log *log;
  assert_int_equal(df_firing_log_start(&options, &log), 0);
  df_deferred *d = df_deferred_new();
  /* quote, backslash, new line, tab, a control character, <&>, an apostrophe,
   * a lone continuation byte, a truncated sequence, an overlong '/', a
   * surrogate, and well-formed é and € */
  df_deferred_add_callback(d, return_arg,
                           "q\"b\\n\nt\tc\x01<&>'\x80|\xc3|\xc0\xaf|"
                           "\xed\xa0\x80|\xc3\xa9\xe2\x82\xac");
  df_deferred_add_callback(d, report, NULL); /* carries it on an edge */
  df_deferred_callback(d, df_none());
  df_firing_log_stop(log);

  const char *json = written(log, df_firing_log_write_trace);
  assert_non_null(strstr(json, "\"output\": \"'q\\\"b\\\\n\\nt\\tc\\u0001<&>'"
                               "\\ufffd|\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd"
                               "\\ufffd|\xc3\xa9\xe2\x82\xac'\""));
  const char *dot = written(log, df_firing_log_write_dot);
  /* in an edge label (a DOT string) ... */
  assert_non_null(strstr(dot, "label=\"'q\\\"b\\\\n\\nt c\xef\xbf\xbd<&>'"
                              "\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
                              "\xc3\xa9\xe2\x82\xac'\""));
  /* ... and in a node label (HTML-like) */
  assert_non_null(strstr(dot, "<b>&#39;q&quot;b\\n<br/>t c\xef\xbf\xbd&lt;&amp;"
                              "&gt;&#39;\xef\xbf\xbd|"));
  const char *text = written(log, df_firing_log_write_text);
  assert_non_null(strstr(text, "-> 'q\"b\\n\\nt\\tc\\x01<&>'\xef\xbf\xbd|"));
  df_deferred_unref(d);
  df_firing_log_free(log);
}

/* --- unfinished business ------------------------------------------------------- */

static void test_an_open_wait_lasts_to_the_end_of_the_log(void **state) {
  (void)state;
  df_firing_log *log = start_log(0);
  df_deferred *waiter = df_deferred_new();
  df_deferred *never = df_deferred_new();
  df_deferred_add_callback(waiter, start_work, never);
  df_deferred_callback(waiter, df_none());
  df_test_clock_advance(clock_, 5.0);
  df_firing_log_stop(log);
  char label[128];
  snprintf(label, sizeof label,
           "still waiting on Deferred#%u\";\n    style=\"rounded,dashed\"",
           df_deferred_serial(never));
  const char *dot = written(log, df_firing_log_write_dot);
  assert_non_null(strstr(dot, label));
  assert_non_null(strstr(dot, "    d1 [shape=plaintext, fontcolor=\"#777777\", "
                              "label=<<i>never seen firing</i>>];\n"));
  const char *json = written(log, df_firing_log_write_trace);
  assert_non_null(strstr(json, "\"ts\": 0.000, \"dur\": 5000000.000"));
  assert_non_null(strstr(json, "\"ended\": \"not by the end of the log\""));
  df_deferred_unref(waiter);
  df_deferred_unref(never);
  df_firing_log_free(log);
}

static void test_the_exports_count_the_dropped_events(void **state) {
  (void)state;
  df_firing_log *log = start_log(2);
  df_deferred *d = df_deferred_new();
  df_deferred_add_callback(d, report, NULL);
  df_deferred_callback(d, df_int(1)); /* 3 events: one dropped */
  df_firing_log_stop(log);
  assert_non_null(strstr(written(log, df_firing_log_write_dot),
                         "label=\"firing log: 2 events about 1 deferreds, "
                         "1 dropped\""));
  assert_non_null(strstr(written(log, df_firing_log_write_trace),
                         "\"events\": 2, \"deferreds\": 1, \"dropped_events\": "
                         "1, \"max_events\": 2}"));
  assert_non_null(strstr(written(log, df_firing_log_write_text),
                         "# firing log: 2 events about 1 deferreds, 1 dropped\n"));
  df_deferred_unref(d);
  df_firing_log_free(log);
}

/* Two threads make a deferred at the same line: the same serial (serials
 * count per thread) and site. Fired here, they are two deferreds, on two
 * tracks. */
static void *make_one(void *arg) {
  (void)arg;
  return df_deferred_new();
}

static void test_deferreds_of_two_threads_sharing_a_serial_get_two_tracks(
    void **state) {
  (void)state;
  df_deferred *made[2];
  for (int i = 0; i < 2; i++) {
    pthread_t thread;
    void *d;
    assert_int_equal(pthread_create(&thread, NULL, make_one, NULL), 0);
    assert_int_equal(pthread_join(thread, &d), 0);
    made[i] = d;
  }
  assert_int_equal(df_deferred_serial(made[0]), df_deferred_serial(made[1]));
  df_firing_log *log = start_log(0);
  df_deferred_callback(made[0], df_int(0));
  df_deferred_callback(made[1], df_int(1));
  df_firing_log_stop(log);
  assert_int_equal(df_firing_log_deferred_count(log), 2);
  unsigned s = df_deferred_serial(made[0]);
  char first[128], second[128];
  snprintf(first, sizeof first, "\"tid\": %u, \"args\": {\"sort_index\": 0}", s);
  snprintf(second, sizeof second, "\"tid\": %u, \"args\": {\"sort_index\": 1}",
           s + 1);
  const char *json = written(log, df_firing_log_write_trace);
  assert_non_null(strstr(json, first));
  assert_non_null(strstr(json, second));
  df_deferred_unref(made[0]);
  df_deferred_unref(made[1]);
  df_firing_log_free(log);
}

/* --- errors ------------------------------------------------------------------------ */

static void test_write_errors_are_returned_with_errno(void **state) {
  (void)state;
  df_firing_log *log = start_log(0);
  df_deferred_unref(df_succeed(df_int(1)));
  df_firing_log_stop(log);

  errno = 0;
  assert_int_equal(df_firing_log_write_dot_file(log, "/nonexistent-dir/x.dot"),
                   -ENOENT);
  assert_int_equal(errno, ENOENT);
  assert_int_equal(df_firing_log_write_trace_file(log, "/nonexistent-dir/x.json"),
                   -ENOENT);
  /* a device that is always full: the error comes at the flush */
  FILE *full = fopen("/dev/full", "w");
  if (full) {
    assert_int_equal(df_firing_log_write_trace(log, full), -ENOSPC);
    assert_int_equal(errno, ENOSPC);
    fclose(full);
    assert_int_equal(df_firing_log_write_dot_file(log, "/dev/full"), -ENOSPC);
    FILE *read_only = fopen("/dev/null", "r");
    assert_non_null(read_only);
    assert_int_equal(df_firing_log_write_text(log, read_only), -EBADF);
    fclose(read_only);
  }
  assert_int_equal(df_firing_log_write_dot(NULL, stdout), DF_EINVAL);
  assert_int_equal(df_firing_log_write_dot(log, NULL), DF_EINVAL);
  assert_int_equal(df_firing_log_write_trace(NULL, stdout), DF_EINVAL);
  assert_int_equal(df_firing_log_write_text(log, NULL), DF_EINVAL);
  assert_int_equal(df_firing_log_write_trace_file(log, NULL), DF_EINVAL);

  char path[] = "/tmp/df_firing_log_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(df_firing_log_write_trace_file(log, path), 0);
  FILE *f = fopen(path, "r");
  char start[20] = "";
  assert_non_null(fgets(start, sizeof start, f));
  fclose(f);
  unlink(path);
  assert_string_equal(start, "{\"traceEvents\": [\n");
  df_firing_log_free(log);
}

/* deferred/common.h: a negated errno value beside the DF_E* codes, and
 * df_strerror describes both. */
static void test_an_exporter_s_system_error_is_described_by_df_strerror(
    void **state) {
  (void)state;
  df_firing_log *log = start_log(0);
  df_deferred_unref(df_succeed(df_int(1)));
  df_firing_log_stop(log);
  int rc = df_firing_log_write_trace_file(log, "/nonexistent-dir/x.json");
  assert_int_equal(rc, -ENOENT);
  assert_string_equal(df_strerror(rc), "No such file or directory");
  assert_true(rc > DF_EALREADY_CALLED); /* not one of the library's codes */
  if (access("/dev/full", W_OK) == 0) {
    rc = df_firing_log_write_dot_file(log, "/dev/full");
    assert_int_equal(rc, -ENOSPC);
    assert_string_equal(df_strerror(rc), strerror(ENOSPC));
    assert_string_equal(df_strerror(rc), "No space left on device");
  }
  rc = df_firing_log_write_text(log, NULL);
  assert_int_equal(rc, DF_EINVAL);
  assert_string_equal(df_strerror(rc), df_strerror(-EINVAL));
  df_firing_log_free(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, export_setup, export_teardown)
      T(test_the_dot_of_a_wait_and_a_handled_failure_is_exact),
      T(test_the_trace_of_a_wait_and_a_handled_failure_is_exact),
      T(test_the_text_form_has_a_header_and_a_line_per_event),
      T(test_every_text_is_escaped_and_made_valid_utf8),
      T(test_an_open_wait_lasts_to_the_end_of_the_log),
      T(test_the_exports_count_the_dropped_events),
      T(test_deferreds_of_two_threads_sharing_a_serial_get_two_tracks),
      T(test_write_errors_are_returned_with_errno),
      T(test_an_exporter_s_system_error_is_described_by_df_strerror),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
