/* Threads and the libuv reactor: defer_to_thread on libuv's pool (1,000
 * jobs, results on the reactor's thread, failures, cancelling a job still
 * queued), call_from_thread from many threads, and reactors on threads of
 * their own: two sharing one port with SO_REUSEPORT. Labelled `threads`
 * for the ThreadSanitizer run. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "reactor_support.h"

static pthread_t reactor_thread;

static int setup(void **state) {
  uv_reactor_setup(state);
  reactor_thread = pthread_self();
  return 0;
}

/* --- defer_to_thread ------------------------------------------------------------- */

#define JOBS 1000

static int64_t inputs[JOBS];
static atomic_int ran_off_thread;

static df_result cube(void *arg) {
  int64_t n = *(int64_t *)arg;
  if (!pthread_equal(pthread_self(), reactor_thread)) atomic_fetch_add(&ran_off_thread, 1);
  return df_int(n * n * n);
}

static int results_on_reactor_thread;
static df_result all_done(df_result res, void *arg) {
  (void)arg;
  df_result_array *a = df_result_array_of(res);
  int64_t sum = 0;
  bool each_right = a && a->count == JOBS;
  for (size_t i = 0; each_right && i < a->count; i++) {
    each_right = a->items[i].kind == DF_INT &&
                 a->items[i].u.i == inputs[i] * inputs[i] * inputs[i];
    sum += a->items[i].u.i;
  }
  ev("each_right:%d sum:%lld", each_right, (long long)sum);
  if (pthread_equal(pthread_self(), reactor_thread)) results_on_reactor_thread++;
  df_reactor_stop(r);
  return res;
}

static void test_a_thousand_jobs_run_on_the_pool_and_come_back_in_order(
    void **state) {
  (void)state;
  atomic_store(&ran_off_thread, 0);
  df_deferred *jobs[JOBS];
  int64_t expected = 0;
  for (int i = 0; i < JOBS; i++) {
    inputs[i] = i;
    expected += (int64_t)i * i * i;
    jobs[i] = df_reactor_defer_to_thread(r, cube, &inputs[i]);
    assert_non_null(jobs[i]);
  }
  df_deferred *all = df_gather_results(jobs, JOBS, false);
  df_deferred_add_callback(all, all_done, NULL);
  for (int i = 0; i < JOBS; i++) df_deferred_unref(jobs[i]);
  run_reactor();
  char want[64];
  snprintf(want, sizeof want, "each_right:1 sum:%lld ", (long long)expected);
  assert_string_equal(events, want);
  assert_int_equal(atomic_load(&ran_off_thread), JOBS);
  assert_int_equal(results_on_reactor_thread, 1);
  df_deferred_unref(all);
}

static df_result fail_in_thread(void *arg) {
  (void)arg;
  return df_raise(&runtime_error, "failed on a pool thread");
}

static void stop_now(void *arg) { df_reactor_stop(arg); }

static df_result stop_reactor(df_result res, void *arg) {
  (void)arg;
  df_reactor_stop(r);
  return res;
}

static df_result log_result(df_result res, void *arg) {
  ev_result(arg, res);
  df_result_drop(res);
  return df_none();
}

static df_result log_and_stop(df_result res, void *arg) {
  ev_result(arg, res);
  df_result_drop(res);
  df_reactor_stop(r);
  return df_none();
}

static void test_a_job_that_fails_fails_its_deferred(void **state) {
  (void)state;
  df_deferred *d = df_reactor_defer_to_thread(r, fail_in_thread, NULL);
  df_deferred_add_both(d, log_and_stop, "job");
  run_reactor();
  assert_string_equal(events, "job:RuntimeError: failed on a pool thread ");
  df_deferred_unref(d);
}

/* Jobs that hold every pool thread until released, so that one more job
 * stays queued and can be cancelled there. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_open = PTHREAD_COND_INITIALIZER;
static bool gate;
static atomic_int blocked, cancelled_job_ran;

/* Waits for the gate, at most GATE_SECONDS: a test that fails before
 * opening it must not leave pool threads blocked for ever (freeing the
 * reactor waits for them). */
#define GATE_SECONDS 10
static df_result wait_at_gate(void *arg) {
  (void)arg;
  atomic_fetch_add(&blocked, 1);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += GATE_SECONDS;
  pthread_mutex_lock(&gate_lock);
  int rc = 0;
  while (!gate && rc == 0)
    rc = pthread_cond_timedwait(&gate_open, &gate_lock, &deadline);
  pthread_mutex_unlock(&gate_lock);
  return df_none();
}

static df_result should_not_run(void *arg) {
  (void)arg;
  atomic_fetch_add(&cancelled_job_ran, 1);
  return df_none();
}

static int pool_size(void) {
  const char *env = getenv("UV_THREADPOOL_SIZE");
  return env ? atoi(env) : 4;
}

static void open_gate(void) {
  pthread_mutex_lock(&gate_lock);
  gate = true;
  pthread_cond_broadcast(&gate_open);
  pthread_mutex_unlock(&gate_lock);
}

static void test_cancelling_a_queued_job_keeps_it_from_running(void **state) {
  (void)state;
  gate = false;
  atomic_store(&blocked, 0);
  atomic_store(&cancelled_job_ran, 0);
  int n = pool_size();
  df_deferred *holders[128];
  for (int i = 0; i < n; i++) holders[i] = df_reactor_defer_to_thread(r, wait_at_gate, NULL);
  for (int k = 0; k < 5000 && atomic_load(&blocked) < n; k++) usleep(1000);
  if (atomic_load(&blocked) < n) open_gate(); /* let them go, then fail */
  assert_int_equal(atomic_load(&blocked), n);
  df_deferred *queued = df_reactor_defer_to_thread(r, should_not_run, NULL);
  df_deferred_add_errback(queued, log_result, "queued");
  df_deferred_cancel(queued);
  assert_string_equal(events, "queued:CancelledError:  ");
  df_deferred *all = df_deferred_list(holders, (size_t)n, 0);
  df_deferred_add_callback(all, stop_reactor, NULL);
  open_gate();
  run_reactor();
  df_deferred_unref(all);
  assert_int_equal(atomic_load(&cancelled_job_ran), 0);
  for (int i = 0; i < n; i++) {
    assert_true(df_deferred_called(holders[i]));
    df_deferred_unref(holders[i]);
  }
  df_deferred_unref(queued);
}

/* --- call_from_thread ---------------------------------------------------------------- */

#define CALLERS 8
#define CALLS 200

static int received[CALLERS];
static bool in_order = true;
static int total_calls;
static bool all_on_reactor_thread = true;

typedef struct call_note {
  int thread, index;
} call_note;
static call_note notes[CALLERS][CALLS];

static void on_reactor(void *arg) {
  call_note *n = arg;
  if (!pthread_equal(pthread_self(), reactor_thread)) all_on_reactor_thread = false;
  if (received[n->thread] != n->index) in_order = false;
  received[n->thread]++;
  if (++total_calls == CALLERS * CALLS) df_reactor_stop(r);
}

static void *caller(void *arg) {
  int t = (int)(intptr_t)arg;
  for (int i = 0; i < CALLS; i++) {
    notes[t][i] = (call_note){t, i};
    if (df_reactor_call_from_thread(r, on_reactor, &notes[t][i]) != 0) return (void *)1;
  }
  return NULL;
}

static void test_calls_from_other_threads_run_on_the_reactor_in_order(void **state) {
  (void)state;
  pthread_t threads[CALLERS];
  for (int t = 0; t < CALLERS; t++)
    assert_int_equal(pthread_create(&threads[t], NULL, caller, (void *)(intptr_t)t), 0);
  run_reactor();
  for (int t = 0; t < CALLERS; t++) {
    void *rc;
    pthread_join(threads[t], &rc);
    assert_null(rc);
    assert_int_equal(received[t], CALLS);
  }
  assert_true(in_order);
  assert_true(all_on_reactor_thread);
  assert_int_equal(total_calls, CALLERS * CALLS);
}

/* --- reactors on threads of their own, sharing a port -------------------------------------- */

typedef struct worker {
  pthread_t thread;
  df_reactor *reactor;
  int port;          /* 0: choose one (the first worker) */
  atomic_int ready;  /* listening (1) or failed (-1) */
  atomic_int accepted;
  df_factory factory;
} worker;

typedef struct counted {
  df_protocol base;
  worker *w;
} counted;

static void counted_data(df_protocol *p, const char *data, size_t len) {
  df_transport_write(p->transport, data, len);
}
static void counted_eof(df_protocol *p) { df_transport_lose_connection(p->transport); }
static const df_protocol_type counted_type = {.name = "Counted",
                                              .data_received = counted_data,
                                              .read_connection_lost = counted_eof,
                                              .free = df_protocol_free};
static df_protocol *counted_build(df_factory *f, const df_address *peer) {
  (void)peer;
  worker *w = DF__TEST_CONTAINER(f, worker, factory);
  atomic_fetch_add(&w->accepted, 1);
  counted *c = calloc(1, sizeof *c);
  c->base.type = &counted_type;
  c->w = w;
  return &c->base;
}
static const df_factory_type counted_factory = {.name = "Counted",
                                                .build_protocol = counted_build};

static void *worker_main(void *arg) {
  worker *w = arg;
  if (df_uv_reactor_new(&w->reactor) < 0) {
    atomic_store(&w->ready, -1);
    return NULL;
  }
  df_reactor_set_signal_handling(w->reactor, false);
  df_factory_init(&w->factory, &counted_factory);
  df_listening_port *port;
  if (df_reactor_listen_tcp(w->reactor, w->port, &w->factory, "127.0.0.1", 0,
                            DF_LISTEN_REUSE_PORT, &port, NULL) < 0) {
    atomic_store(&w->ready, -1);
    return NULL;
  }
  df_address a;
  df_listening_port_get_host(port, &a);
  df_listening_port_unref(port);
  w->port = df_address_port(&a);
  atomic_store(&w->ready, 1);
  df_reactor_run(w->reactor);
  return NULL;
}

static void stop_worker(void *arg) { df_reactor_stop(arg); }

static void wait_ready(worker *w) {
  for (int i = 0; i < 5000 && atomic_load(&w->ready) == 0; i++) usleep(1000);
  assert_int_equal(atomic_load(&w->ready), 1);
}

static void test_two_reactor_threads_share_a_port_with_so_reuseport(void **state) {
  (void)state;
  static worker w[2];
  memset(w, 0, sizeof w);
  assert_int_equal(pthread_create(&w[0].thread, NULL, worker_main, &w[0]), 0);
  wait_ready(&w[0]);
  w[1].port = w[0].port;
  assert_int_equal(pthread_create(&w[1].thread, NULL, worker_main, &w[1]), 0);
  wait_ready(&w[1]);
  assert_int_equal(w[1].port, w[0].port);
  /* 64 connections, each a round trip: the kernel spreads them over the
   * two sockets by address hash (all on one: odds of 2^-63). */
  for (int i = 0; i < 64; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)w[0].port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval limit = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    char c;
    assert_int_equal(write(fd, "!", 1), 1);
    assert_int_equal(read(fd, &c, 1), 1);
    shutdown(fd, SHUT_WR);
    assert_int_equal(read(fd, &c, 1), 0);
    close(fd);
  }
  for (int i = 0; i < 2; i++) {
    assert_int_equal(df_reactor_call_from_thread(w[i].reactor, stop_worker,
                                                 w[i].reactor), 0);
    pthread_join(w[i].thread, NULL);
    df_reactor_free(w[i].reactor);
  }
  int a0 = atomic_load(&w[0].accepted), a1 = atomic_load(&w[1].accepted);
  assert_int_equal(a0 + a1, 64);
  assert_true(a0 > 0 && a1 > 0);
  df_reactor_call_when_running(r, stop_now, r); /* the fixture's, unused */
  run_reactor();
}

/* poetry-server --workers: every reactor thread watches SIGTERM, and one
 * signal stops them all. */
typedef struct signalled {
  pthread_t thread;
  df_reactor *reactor;
  atomic_int running;
  atomic_int stopped;
} signalled;

static void now_running(void *arg) { atomic_store(&((signalled *)arg)->running, 1); }

static void *signalled_main(void *arg) {
  signalled *s = arg;
  if (df_uv_reactor_new(&s->reactor) < 0) return NULL;
  df_reactor_call_when_running(s->reactor, now_running, s);
  df_reactor_run(s->reactor); /* signal handling on, the default */
  atomic_store(&s->stopped, 1);
  return NULL;
}

static void test_one_sigterm_stops_every_reactor_thread(void **state) {
  (void)state;
  static signalled s[3];
  memset(s, 0, sizeof s);
  for (int i = 0; i < 3; i++)
    assert_int_equal(pthread_create(&s[i].thread, NULL, signalled_main, &s[i]), 0);
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 5000 && !atomic_load(&s[i].running); k++) usleep(1000);
  for (int i = 0; i < 3; i++) assert_int_equal(atomic_load(&s[i].running), 1);
  /* The signal handlers are libuv's, installed by each run: the process
   * survives it, and every loop hears of it. */
  kill(getpid(), SIGTERM);
  for (int i = 0; i < 3; i++) {
    for (int k = 0; k < 5000 && !atomic_load(&s[i].stopped); k++) usleep(1000);
    assert_int_equal(atomic_load(&s[i].stopped), 1);
    pthread_join(s[i].thread, NULL);
    df_reactor_free(s[i].reactor);
  }
  df_reactor_call_when_running(r, stop_now, r); /* the fixture's, unused */
  run_reactor();
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, uv_reactor_teardown)
      T(test_a_thousand_jobs_run_on_the_pool_and_come_back_in_order),
      T(test_a_job_that_fails_fails_its_deferred),
      T(test_cancelling_a_queued_job_keeps_it_from_running),
      T(test_calls_from_other_threads_run_on_the_reactor_in_order),
      T(test_two_reactor_threads_share_a_port_with_so_reuseport),
      T(test_one_sigterm_stops_every_reactor_thread),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
