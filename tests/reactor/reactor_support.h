/* Helpers shared by the reactor's cmocka suites (tests/reactor/test_*.c),
 * on top of ../support.h:
 *
 *   - the test clock (deferred/test_clock.h), as test_clock_new and
 *     test_clock_advance (which asserts that it advanced);
 *   - a recording protocol (`recorder`) that logs each call it gets into
 *     the event log of support.h ("made", "data:<bytes>", "eof",
 *     "wlost", "lost:<Type>", "free") and keeps what it received;
 *   - a recording client factory (`client_log`) for the ClientFactory
 *     callbacks;
 *   - for loopback tests: a watchdog that stops a reactor which runs too
 *     long (the test then fails on `watchdog_fired`), and raising the
 *     open-file limit.
 */
#ifndef DF_TESTS_REACTOR_SUPPORT_H
#define DF_TESTS_REACTOR_SUPPORT_H

#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "deferred/uv.h"
#include "support.h"

/* The struct holding `ptr` as `member`. */
#define DF__TEST_CONTAINER(ptr, type, member) \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* --- a clock the test drives ------------------------------------------------- */

#include "deferred/test_clock.h"

static inline df_clock *test_clock_new(void) { return df_test_clock_new(); }
static inline void test_clock_advance(df_clock *c, double amount) {
  assert_int_equal(df_test_clock_advance(c, amount), 0);
}

/* --- a recording protocol ------------------------------------------------------ */

typedef struct recorder recorder;
static inline const char *rname(const recorder *r);
struct recorder {
  df_protocol base;
  char received[8192];
  size_t len;
  const char *name; /* prefix of its events, "" by default */
  bool half_close;  /* behave as a half-closeable protocol */
  bool echo;        /* write back what it receives */
  bool lose_on_eof; /* lose the connection at the end of input */
  int *freed;       /* incremented when freed, if set */
};
static inline const char *rname(const recorder *r) {
  return r->name ? r->name : "";
}

static inline void recorder_made(df_protocol *p) {
  ev("%smade", rname((recorder *)p));
}
static inline void recorder_data(df_protocol *p, const char *data, size_t len) {
  recorder *r = (recorder *)p;
  size_t room = sizeof r->received - r->len;
  memcpy(r->received + r->len, data, len < room ? len : room);
  r->len += len < room ? len : room;
  if (len < 64) ev("%sdata:%.*s", rname(r), (int)len, data);
  if (r->echo) df_transport_write(p->transport, data, len);
}
static inline void recorder_eof(df_protocol *p) {
  recorder *r = (recorder *)p;
  ev("%seof", rname(r));
  if (r->lose_on_eof) df_transport_lose_connection(p->transport);
}
static inline void recorder_write_lost(df_protocol *p) {
  ev("%swlost", rname((recorder *)p));
}
static inline void recorder_lost(df_protocol *p, df_failure *reason) {
  ev("%slost:%s", rname((recorder *)p), df_failure_type(reason)->name);
}
static inline void recorder_free(df_protocol *p) {
  recorder *r = (recorder *)p;
  ev("%sfree", rname(r));
  if (r->freed) (*r->freed)++;
  free(r);
}

/* Two types: one that is not half-closeable (an end of input closes the
 * connection) and one that is. */
static const df_protocol_type recorder_type = {
    .name = "Recorder", .size = sizeof(recorder), .connection_made = recorder_made,
    .data_received = recorder_data, .connection_lost = recorder_lost,
    .free = recorder_free};
static const df_protocol_type half_close_recorder_type = {
    .name = "HalfCloseRecorder", .size = sizeof(recorder),
    .connection_made = recorder_made, .data_received = recorder_data,
    .read_connection_lost = recorder_eof,
    .write_connection_lost = recorder_write_lost,
    .connection_lost = recorder_lost, .free = recorder_free};

static inline recorder *recorder_new(const df_protocol_type *type) {
  recorder *r = calloc(1, sizeof *r);
  assert_non_null(r);
  df_protocol_init(&r->base, type);
  r->name = "";
  return r;
}

/* --- a recording client factory --------------------------------------------------- */

typedef struct client_log {
  df_factory base;
  const df_protocol_type *protocol_type;
  int started, failed, lost;
  char failure_type[64];   /* the last reason's type name */
  char failure_text[512];  /* and its brief text */
  bool reconnect_once;     /* connect again from client_connection_failed */
  recorder *last_built;
} client_log;

static inline void note_reason(client_log *log, df_failure *reason) {
  snprintf(log->failure_type, sizeof log->failure_type, "%s",
           df_failure_type(reason)->name);
  df_failure_brief(reason, log->failure_text, sizeof log->failure_text);
}
static inline df_protocol *client_log_build(df_factory *f, const df_address *peer) {
  (void)peer;
  client_log *log = (client_log *)f;
  recorder *r = recorder_new(log->protocol_type ? log->protocol_type
                                                : &recorder_type);
  log->last_built = r;
  ev("build");
  return &r->base;
}
static inline void client_log_started(df_factory *f, df_connector *c) {
  (void)c;
  ((client_log *)f)->started++;
  ev("started");
}
static inline void client_log_failed(df_factory *f, df_connector *c,
                                     df_failure *reason) {
  client_log *log = (client_log *)f;
  log->failed++;
  note_reason(log, reason);
  ev("failed:%s", log->failure_type);
  if (log->reconnect_once) {
    log->reconnect_once = false;
    assert_int_equal(df_connector_connect(c), 0);
  }
}
static inline void client_log_lost(df_factory *f, df_connector *c,
                                   df_failure *reason) {
  (void)c;
  client_log *log = (client_log *)f;
  log->lost++;
  note_reason(log, reason);
  ev("clost:%s", log->failure_type);
}
static const df_factory_type client_log_type = {
    .name = "ClientLog", .build_protocol = client_log_build,
    .started_connecting = client_log_started,
    .client_connection_failed = client_log_failed,
    .client_connection_lost = client_log_lost};

static inline void client_log_init(client_log *log) {
  memset(log, 0, sizeof *log);
  df_factory_init(&log->base, &client_log_type);
}

/* --- loopback tests: a watchdog, file descriptors --------------------------------- */

static bool watchdog_fired;

static inline void watchdog_bite(void *arg) {
  watchdog_fired = true;
  df_reactor_stop(arg);
}

/* Stop `r` after `seconds` if the test has not stopped it (the test
 * then fails on watchdog_fired); ctest's TIMEOUT is the last resort. */
static inline void watchdog_arm(df_reactor *r, double seconds) {
  watchdog_fired = false;
  assert_int_equal(df_reactor_call_later(r, seconds, watchdog_bite, r, NULL), 0);
}

/* --- fixtures ------------------------------------------------------------------ */

/* The reactor a test runs on: a new one for each test (a reactor runs
 * once). */
#if defined(__GNUC__)
__attribute__((unused))
#endif
static df_reactor *r;
#if defined(__GNUC__)
__attribute__((unused))
#endif
static df_clock *fake_clock; /* the fake reactor's test clock */

/* cmocka setup and teardown: a libuv reactor that does not watch
 * signals, under a 20-second watchdog. */
static inline int uv_reactor_setup(void **state) {
  support_setup(state);
  assert_int_equal(df_uv_reactor_new(&r), 0);
  df_reactor_set_signal_handling(r, false);
  watchdog_arm(r, 20);
  return 0;
}
static inline int uv_reactor_teardown(void **state) {
  df_reactor_free(r);
  r = NULL;
  return support_teardown(state);
}
/* Run `r` until stopped; the watchdog must not have bitten. */
static inline void run_reactor(void) {
  assert_int_equal(df_reactor_run(r), 0);
  assert_false(watchdog_fired);
}

/* The same for a fake reactor on a test clock. */
static inline int fake_reactor_setup(void **state) {
  support_setup(state);
  fake_clock = test_clock_new();
  assert_non_null(fake_clock);
  assert_int_equal(df_fake_reactor_new(fake_clock, &r), 0);
  return 0;
}
static inline int fake_reactor_teardown(void **state) {
  df_reactor_free(r);
  r = NULL;
  df_clock_free(fake_clock);
  fake_clock = NULL;
  return support_teardown(state);
}

/* Raise the soft limit on open files to `want` (at most the hard limit). */
static inline rlim_t raise_fd_limit(rlim_t want) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < want) {
    lim.rlim_cur = want < lim.rlim_max ? want : lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

#endif /* DF_TESTS_REACTOR_SUPPORT_H */
