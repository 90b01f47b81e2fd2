/* The libuv reactor's life and time: delayed calls on its clock (order,
 * never early, reset and cancel), the composition layer's timeouts on
 * it, the shutdown sequence waiting for a before-phase deferred, a
 * reactor on the application's own uv_loop_t, SIGINT, a server stopped
 * by SIGTERM with connections open (a child process, stopped by its
 * pid), and df_react's exit statuses. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "reactor_support.h"

static char self_path[4096]; /* this program, to run it as a child */


static void stop_now(void *arg) { df_reactor_stop(arg); }

/* --- time ------------------------------------------------------------------------ */

typedef struct timed {
  const char *name;
  df_delayed_call *call;
  bool early; /* ran before its time */
} timed;

static void timed_run(void *arg) {
  timed *t = arg;
  if (df_reactor_seconds(r) < df_delayed_call_time(t->call)) t->early = true;
  ev("%s", t->name);
}

static void test_delayed_calls_run_in_time_order_and_never_early(void **state) {
  (void)state;
  timed calls[] = {{"a", NULL, false}, {"b", NULL, false}, {"c", NULL, false},
                   {"d", NULL, false}, {"e", NULL, false}};
  double delays[] = {0.030, 0.010, 0.0205, 0.010, 0.0001};
  for (int i = 0; i < 5; i++)
    assert_int_equal(df_reactor_call_later(r, delays[i], timed_run, &calls[i],
                                           &calls[i].call), 0);
  df_reactor_call_later(r, 0.04, stop_now, r, NULL);
  run_reactor();
  assert_string_equal(events, "e b d c a ");
  for (int i = 0; i < 5; i++) {
    assert_false(calls[i].early);
    assert_true(df_delayed_call_called(calls[i].call));
    df_delayed_call_unref(calls[i].call);
  }
}

static void note_event(void *arg);
static void schedule_b(void *arg) {
  (void)arg;
  ev("a");
  df_reactor_call_later(r, 0, note_event, "b", NULL);
}
static void note_event(void *arg) { ev("%s", (const char *)arg); }

/* Twisted's runUntilCurrent: a call made while due calls run waits for
 * the next iteration, after the calls already due. */
static void test_a_call_made_while_due_calls_run_comes_after_them(void **state) {
  (void)state;
  df_reactor_call_later(r, 0.01, schedule_b, NULL, NULL);
  df_reactor_call_later(r, 0.01, note_event, "c", NULL);
  df_reactor_call_later(r, 0.03, stop_now, r, NULL);
  run_reactor();
  assert_string_equal(events, "a c b ");
}

static void test_reset_delay_and_cancel_move_calls_on_the_reactor(void **state) {
  (void)state;
  df_delayed_call *early, *later, *never;
  df_reactor_call_later(r, 5, note_event, "reset-earlier", &early);
  df_reactor_call_later(r, 0.01, note_event, "delayed", &later);
  df_reactor_call_later(r, 0.02, note_event, "never", &never);
  df_reactor_call_later(r, 0.01, note_event, "first", NULL);
  assert_int_equal(df_delayed_call_reset(early, 0.02), 0);
  assert_int_equal(df_delayed_call_delay(later, 0.02), 0);
  assert_int_equal(df_delayed_call_cancel(never), 0);
  df_reactor_call_later(r, 0.06, stop_now, r, NULL);
  run_reactor();
  assert_string_equal(events, "first reset-earlier delayed ");
  assert_false(df_delayed_call_called(never));
  df_delayed_call_unref(early);
  df_delayed_call_unref(later);
  df_delayed_call_unref(never);
}

/* clock.h: a call at +infinity is never due; it keeps no timer going,
 * can be cancelled, and is discarded when the reactor is freed. */
static void test_a_call_at_infinity_never_runs(void **state) {
  (void)state;
  df_delayed_call *never, *forgotten;
  assert_int_equal(df_reactor_call_later(r, (double)INFINITY, note_event,
                                         "never", &never), 0);
  df_reactor_call_later(r, (double)INFINITY, note_event, "forgotten", &forgotten);
  df_reactor_call_later(r, 0.02, note_event, "finite", NULL);
  df_reactor_call_later(r, 0.03, stop_now, r, NULL);
  run_reactor();
  assert_string_equal(events, "finite ");
  assert_true(df_delayed_call_active(never));
  assert_int_equal(df_delayed_call_cancel(never), 0);
  df_delayed_call_unref(never);
  df_reactor_free(r);
  r = NULL;
  assert_true(df_delayed_call_cancelled(forgotten));
  assert_int_equal(df_delayed_call_cancel(forgotten), DF_EALREADY_CANCELLED);
  df_delayed_call_unref(forgotten);
}

typedef struct counted_loop {
  df_looping_call *lc;
  int64_t runs;
} counted_loop;

static df_result count_run(void *arg) {
  counted_loop *c = arg;
  if (++c->runs == 3) df_looping_call_stop(c->lc);
  return df_none();
}

static df_result loop_stopped(df_result res, void *arg) {
  ev("loop-stopped:%lld", (long long)((counted_loop *)arg)->runs);
  df_reactor_stop(r);
  return res;
}

/* LoopingCall on the reactor's clock, unchanged: three runs 10 ms apart,
 * stopped by its function. */
static void test_a_looping_call_runs_on_the_reactor(void **state) {
  (void)state;
  counted_loop c = {NULL, 0};
  assert_int_equal(df_looping_call_new(df_reactor_clock(r), count_run, &c, NULL,
                                       &c.lc), 0);
  df_deferred *d;
  double start = df_reactor_seconds(r);
  assert_int_equal(df_looping_call_start(c.lc, 0.01, false, &d), 0);
  df_deferred_add_callback(d, loop_stopped, &c);
  run_reactor();
  assert_string_equal(events, "loop-stopped:3 ");
  assert_true(df_reactor_seconds(r) - start >= 0.03);
  df_deferred_unref(d);
  df_looping_call_unref(c.lc);
}

static void test_seconds_is_epoch_time_that_never_goes_back(void **state) {
  (void)state;
  double now = df_reactor_seconds(r);
  double wall = (double)time(NULL);
  assert_true(now > wall - 5 && now < wall + 5);
  double previous = now;
  for (int i = 0; i < 1000; i++) {
    double t = df_reactor_seconds(r);
    assert_true(t >= previous);
    previous = t;
  }
  assert_true(df_clock_seconds(df_reactor_clock(r)) >= previous);
}

static df_result fired(df_result res, void *arg) {
  ev_result(arg, res);
  df_result_drop(res);
  return df_none();
}

static df_result forty_two(void *arg) {
  (void)arg;
  return df_int(42);
}

/* The composition layer runs on the reactor's clock unchanged. */
static void test_defer_later_and_add_timeout_run_on_the_reactor(void **state) {
  (void)state;
  df_deferred *later = df_defer_later(df_reactor_clock(r), 0.01, forty_two, NULL);
  df_deferred_add_both(later, fired, "later");
  df_deferred *slow = df_deferred_new();
  assert_int_equal(df_deferred_add_timeout(slow, df_reactor_clock(r), 0.02, NULL,
                                           NULL), 0);
  df_deferred_add_both(slow, fired, "timeout");
  df_reactor_call_later(r, 0.05, stop_now, r, NULL);
  run_reactor();
  assert_non_null(strstr(events, "later:42 timeout:TimeoutError"));
  df_deferred_unref(later);
  df_deferred_unref(slow);
}

/* --- the shutdown's before phase ------------------------------------------------------ */

static void fire_it(void *arg) {
  ev("fired");
  df_deferred_callback(arg, df_none());
}
static df_deferred *slow_goodbye(void *arg) {
  ev("before");
  df_reactor_call_later(r, 0.05, fire_it, arg, NULL);
  return df_deferred_ref(arg);
}
static df_deferred *after(void *arg) {
  (void)arg;
  ev("after");
  return NULL;
}

static void test_shutdown_waits_for_the_deferreds_of_before_triggers(void **state) {
  (void)state;
  df_deferred *goodbye = df_deferred_new();
  df_reactor_add_system_event_trigger(r, DF_PHASE_BEFORE, DF_SYSTEM_SHUTDOWN,
                                      slow_goodbye, goodbye, NULL);
  df_reactor_add_system_event_trigger(r, DF_PHASE_AFTER, DF_SYSTEM_SHUTDOWN,
                                      after, NULL, NULL);
  df_reactor_call_when_running(r, stop_now, r);
  double start = df_reactor_seconds(r);
  run_reactor();
  assert_true(df_reactor_seconds(r) - start >= 0.05);
  assert_string_equal(events, "before fired after ");
  df_deferred_unref(goodbye);
}

/* --- SIGINT ------------------------------------------------------------------------------ */

static void interrupt(void *arg) {
  (void)arg;
  raise(SIGINT);
}

static void test_sigint_stops_a_running_reactor(void **state) {
  (void)state;
  df_reactor *own;
  assert_int_equal(df_uv_reactor_new(&own), 0);
  df_reactor_add_system_event_trigger(own, DF_PHASE_AFTER, DF_SYSTEM_SHUTDOWN,
                                      after, NULL, NULL);
  df_reactor_call_later(own, 0.01, interrupt, NULL, NULL);
  df_reactor_call_later(own, 5, stop_now, own, NULL); /* the watchdog */
  assert_int_equal(df_reactor_run(own), 0);
  assert_string_equal(events, "after ");
  df_reactor_free(own);
  /* The default disposition is back: SIGINT would kill us again. */
  struct sigaction now;
  sigaction(SIGINT, NULL, &now);
  assert_true(now.sa_handler == SIG_DFL);
}

/* --- a reactor on the application's loop ------------------------------------------------- */

static void user_timer_fired(uv_timer_t *t) {
  (void)t;
  ev("user-timer");
}

typedef struct pinger {
  df_protocol base;
} pinger;
static void pinger_made(df_protocol *p) {
  df_transport_write(p->transport, "ping", 4);
  df_transport_lose_write_connection(p->transport);
}
static void pinger_data(df_protocol *p, const char *data, size_t len) {
  (void)p;
  ev("got:%.*s", (int)len, data);
}
static void pinger_lost(df_protocol *p, df_failure *reason) {
  (void)reason;
  df_reactor_stop(df_transport_reactor(p->transport));
}
static const df_protocol_type pinger_type = {
    .name = "Pinger", .connection_made = pinger_made, .data_received = pinger_data,
    .connection_lost = pinger_lost, .free = df_protocol_free};

static void echo_back(df_protocol *p, const char *data, size_t len) {
  df_transport_write(p->transport, data, len);
}
static void echo_eof(df_protocol *p) { df_transport_lose_connection(p->transport); }
static const df_protocol_type echo_type = {.name = "Echo",
                                           .data_received = echo_back,
                                           .read_connection_lost = echo_eof,
                                           .free = df_protocol_free};

static void test_a_reactor_runs_on_the_applications_own_loop(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_t user_timer;
  uv_timer_init(&loop, &user_timer);
  uv_timer_start(&user_timer, user_timer_fired, 1, 0);
  df_reactor *mine;
  assert_int_equal(df_uv_reactor_new_on_loop(&loop, &mine), 0);
  assert_ptr_equal(df_uv_reactor_loop(mine), &loop);
  df_reactor_set_signal_handling(mine, false);
  static df_factory echo_factory, pinger_factory;
  df_factory_init_for_protocol(&echo_factory, &echo_type);
  df_factory_init_for_protocol(&pinger_factory, &pinger_type);
  df_listening_port *port;
  assert_int_equal(df_reactor_listen_tcp(mine, 0, &echo_factory, "127.0.0.1", 0,
                                         0, &port, NULL), 0);
  df_address a;
  df_listening_port_get_host(port, &a);
  df_listening_port_unref(port);
  df_reactor_connect_tcp(mine, "127.0.0.1", df_address_port(&a), &pinger_factory,
                         5, NULL, NULL);
  assert_int_equal(df_reactor_start(mine), 0);
  assert_true(df_reactor_running(mine));
  /* The application runs its loop as it always did; it returns once
   * nothing is active: the reactor stopped (closing its port) and the
   * application's timer ran. */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_true(df_reactor_stopped(mine));
  /* Both ran, in whichever order the loop got to them. */
  assert_non_null(strstr(events, "user-timer "));
  assert_non_null(strstr(events, "got:ping "));
  df_reactor_free(mine);
  uv_close((uv_handle_t *)&user_timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  /* Nothing of the reactor's is left on the loop. */
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* --- SIGTERM with connections open: a child process ------------------------------------- */

static int closed_by_shutdown;
static void count_lost(df_protocol *p, df_failure *reason) {
  (void)p;
  if (df_failure_check(reason, &df_error_connection_lost)) closed_by_shutdown++;
}
static const df_protocol_type held_type = {.name = "Held",
                                           .data_received = echo_back,
                                           .connection_lost = count_lost,
                                           .free = df_protocol_free};
static int report_fd;
static df_deferred *report_count(void *arg) {
  (void)arg;
  if (write(report_fd, &closed_by_shutdown, sizeof closed_by_shutdown) < 0) _exit(4);
  return NULL;
}

/* The child: a server that runs until a signal stops it. Never returns. */
static void serve_until_signalled(int fd) {
  df_reactor *child;
  if (df_uv_reactor_new(&child) < 0) _exit(2);
  static df_factory held;
  df_factory_init_for_protocol(&held, &held_type);
  df_listening_port *port;
  if (df_reactor_listen_tcp(child, 0, &held, "127.0.0.1", 0, 0, &port, NULL) < 0)
    _exit(2);
  df_address a;
  df_listening_port_get_host(port, &a);
  df_listening_port_unref(port);
  int number = df_address_port(&a);
  report_fd = fd;
  df_reactor_add_system_event_trigger(child, DF_PHASE_AFTER, DF_SYSTEM_SHUTDOWN,
                                      report_count, NULL, NULL);
  if (write(fd, &number, sizeof number) < 0) _exit(2);
  df_reactor_run(child);
  df_reactor_free(child);
  _exit(0);
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  struct timeval limit = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  return fd;
}

/* Descriptors open in the process (each libuv loop holds a few). */
static int open_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) != -1) n++;
  return n;
}

/* Handles an application left in the reactor's own loop do not make
 * uv_loop_close fail and leak the loop: they are closed with it. */
static void test_freeing_closes_handles_an_application_left_in_the_loop(
    void **state) {
  (void)state;
  int before = open_fds();
  df_reactor *mine;
  assert_int_equal(df_uv_reactor_new(&mine), 0);
  uv_loop_t *loop = df_uv_reactor_loop(mine);
  static uv_timer_t timer;
  static uv_tcp_t socket_handle;
  assert_int_equal(uv_timer_init(loop, &timer), 0);
  assert_int_equal(uv_timer_start(&timer, user_timer_fired, 60000, 0), 0);
  assert_int_equal(uv_tcp_init_ex(loop, &socket_handle, AF_INET), 0);
  assert_true(open_fds() > before);
  df_reactor_free(mine);
  assert_int_equal(open_fds(), before);
}

static void test_sigterm_stops_a_server_cleanly_with_connections_open(void **state) {
  (void)state;
  int pipe_fds[2];
  assert_int_equal(pipe(pipe_fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* A fresh process (this program, run as the server), not a copy of
     * the test runner with its state. */
    close(pipe_fds[0]);
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", pipe_fds[1]);
    execl(self_path, "test_reactor_loop", "--serve", fd_text, (char *)NULL);
    _exit(5);
  }
  close(pipe_fds[1]);
  int port = 0;
  assert_int_equal(read(pipe_fds[0], &port, sizeof port), sizeof port);
  int fds[3];
  char c;
  for (int i = 0; i < 3; i++) {
    fds[i] = connect_to(port);
    /* An echo proves the child has the connection. */
    assert_int_equal(write(fds[i], "x", 1), 1);
    assert_int_equal(read(fds[i], &c, 1), 1);
  }
  assert_int_equal(kill(pid, SIGTERM), 0);
  int status = -1;
  for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
    usleep(50000);
  if (!WIFEXITED(status)) kill(pid, SIGKILL), waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  int closed = -1;
  assert_int_equal(read(pipe_fds[0], &closed, sizeof closed), sizeof closed);
  assert_int_equal(closed, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(read(fds[i], &c, 1), 0); /* closed by the server */
    close(fds[i]);
  }
  close(pipe_fds[0]);
}

/* --- debug mode: the deferreds left waiting ------------------------------------- */

static void test_stop_in_debug_mode_lists_the_deferreds_still_waiting(
    void **state) {
  (void)state;
  df_set_debugging(true);
  df_deferred *forgotten = df_deferred_new(); /* never fired */
  FILE *tmp = tmpfile();
  int saved = dup(2);
  fflush(stderr);
  dup2(fileno(tmp), 2);
  df_reactor_call_when_running(r, stop_now, r);
  run_reactor();
  df_set_debugging(false);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  char err[8192];
  size_t n = fread(err, 1, sizeof err - 1, tmp);
  err[n] = '\0';
  fclose(tmp);
  df_deferred_unref(forgotten);
  assert_non_null(strstr(err, "The reactor stopped; deferreds still waiting:\n"));
  assert_non_null(strstr(err, "test_reactor_loop.c"));
  assert_non_null(strstr(err, "was never fired"));
}

/* --- react ---------------------------------------------------------------------------- */

static df_result succeed_value(void *arg) {
  (void)arg;
  return df_int(1);
}
static df_deferred *main_succeeds(df_reactor *reactor, int argc, char **argv) {
  (void)argc;
  (void)argv;
  return df_defer_later(df_reactor_clock(reactor), 0.01, succeed_value, NULL);
}
static df_result raise_error(void *arg) {
  (void)arg;
  return df_raise(&runtime_error, "the program failed");
}
static df_deferred *main_fails(df_reactor *reactor, int argc, char **argv) {
  (void)argc;
  (void)argv;
  return df_defer_later(df_reactor_clock(reactor), 0.01, raise_error, NULL);
}
static df_deferred *main_exits(df_reactor *reactor, int argc, char **argv) {
  (void)reactor;
  (void)argv;
  return df_succeed(df_system_exit(argc));
}

/* Run df_react with stderr captured; returns the status, fills `err`. */
static int react_capturing(df_react_main fn, int argc, char *err, size_t size) {
  FILE *tmp = tmpfile();
  int saved = dup(2);
  fflush(stderr);
  dup2(fileno(tmp), 2);
  char *argv[] = {"prog", NULL};
  int status = df_react(fn, argc, argv);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  size_t n = fread(err, 1, size - 1, tmp);
  err[n] = '\0';
  fclose(tmp);
  return status;
}

/* task.react: 0 on success, 1 and the failure reported on an error,
 * SystemExit's status as is. */
static void test_react_gives_the_exit_status_of_main(void **state) {
  (void)state;
  char err[4096];
  assert_int_equal(react_capturing(main_succeeds, 1, err, sizeof err), 0);
  assert_string_equal(err, "");
  assert_int_equal(react_capturing(main_fails, 1, err, sizeof err), 1);
  assert_non_null(strstr(err, "main function encountered error\n"));
  assert_non_null(strstr(err, "RuntimeError: the program failed"));
  assert_int_equal(react_capturing(main_exits, 7, err, sizeof err), 7);
  assert_string_equal(err, "");
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--serve") == 0)
    serve_until_signalled(atoi(argv[2]));
  if (!realpath(argv[0], self_path)) return 2;
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, uv_reactor_setup, uv_reactor_teardown)
      T(test_delayed_calls_run_in_time_order_and_never_early),
      T(test_a_call_made_while_due_calls_run_comes_after_them),
      T(test_reset_delay_and_cancel_move_calls_on_the_reactor),
      T(test_a_call_at_infinity_never_runs),
      T(test_a_looping_call_runs_on_the_reactor),
      T(test_seconds_is_epoch_time_that_never_goes_back),
      T(test_defer_later_and_add_timeout_run_on_the_reactor),
      T(test_shutdown_waits_for_the_deferreds_of_before_triggers),
      T(test_sigint_stops_a_running_reactor),
      T(test_a_reactor_runs_on_the_applications_own_loop),
      T(test_freeing_closes_handles_an_application_left_in_the_loop),
      T(test_sigterm_stops_a_server_cleanly_with_connections_open),
      T(test_stop_in_debug_mode_lists_the_deferreds_still_waiting),
      T(test_react_gives_the_exit_status_of_main),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
