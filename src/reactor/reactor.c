/* The libuv reactor: its life on a uv_loop_t, and its clock.
 *
 * A df__uv_reactor is a df_reactor (lifecycle.c runs its startup and
 * shutdown) and a df_clock whose delayed calls wait in one heap
 * (timer_heap.c) behind one uv_timer_t armed for the earliest. Its other
 * parts live in their own files: TCP connections (tcp.c), listening
 * (tcp_listen.c), connecting (tcp_connect.c), threads (thread.c), signals
 * (signal.c), the system resolver (system_resolver.c).
 *
 * Time. seconds() is epoch seconds anchored at creation and advanced by
 * uv_hrtime() (CLOCK_MONOTONIC), read afresh each time: Twisted's
 * time.time() without its jumps. libuv's timers count whole milliseconds
 * from the loop's cached time, so the timer is armed for the earliest
 * call rounded up to the next millisecond, after refreshing the loop's
 * time (else a stale cached time would make it fire early). When it
 * fires, the calls whose time has come (seconds() >= time) run; one still
 * a fraction of a millisecond ahead re-arms the timer for 1 ms rather
 * than running early. Calls scheduled while due calls run get a sequence
 * number past the pass's limit and wait for the next iteration, as
 * Twisted's runUntilCurrent leaves _newTimedCalls for the next one.
 *
 * Every libuv handle and request the reactor opens is counted (`open`);
 * df_reactor_free closes everything and runs the loop until the count is
 * back to zero, so nothing the reactor allocated outlives it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "internal.h"

#define READ_BUFFER_SIZE 65536

struct df__uv_reactor {
  df_reactor base;
  df_clock clock;
  uv_loop_t *loop;
  uv_loop_t own_loop;
  bool owns_loop;
  bool in_run;        /* inside df_reactor_run                         */
  bool running_due;   /* inside run_due_calls: arm at its end only     */
  bool timer_closed;  /* df_reactor_free closed the timer              */
  uv_timer_t timer;
  df__timer_heap heap;
  uint64_t hr_start;  /* uv_hrtime() at creation                       */
  double wall_start;  /* gettimeofday() at creation, in seconds        */
  size_t open;        /* libuv handles and requests not yet closed     */
  df__uv_threads *threads;
  df__uv_signals *signals;
  char *read_buffer;  /* READ_BUFFER_SIZE bytes every connection reads into */
};

static const df__reactor_ops uv_ops;

df__uv_reactor *df__uv_reactor_of(df_reactor *r) {
  return DF__CONTAINER_OF(r, df__uv_reactor, base);
}

uv_loop_t *df__uv_loop(df__uv_reactor *ur) { return ur->loop; }
df_reactor *df__uv_base(df__uv_reactor *ur) { return &ur->base; }
df__uv_threads *df__uv_threads_of(df__uv_reactor *ur) { return ur->threads; }

uv_loop_t *df_uv_reactor_loop(df_reactor *r) {
  return r && r->ops == &uv_ops ? df__uv_reactor_of(r)->loop : NULL;
}

void df__uv_read_buffer(df__uv_reactor *ur, uv_buf_t *buf) {
  buf->base = ur->read_buffer;
  buf->len = READ_BUFFER_SIZE;
}

void df__uv_hold(df__uv_reactor *ur) { ur->open++; }
void df__uv_release(df__uv_reactor *ur) { ur->open--; }

/* --- the clock ------------------------------------------------------------------ */

static df__uv_reactor *reactor_of_clock(df_clock *clock) {
  return DF__CONTAINER_OF(clock, df__uv_reactor, clock);
}

static double uv_seconds(df_clock *clock) {
  df__uv_reactor *ur = reactor_of_clock(clock);
  return ur->wall_start + (double)(uv_hrtime() - ur->hr_start) * 1e-9;
}

static void run_due_calls(uv_timer_t *timer);

/* Arm the timer for the earliest call (or stop it: none pending). */
static void arm(df__uv_reactor *ur) {
  if (ur->running_due || ur->timer_closed) return;
  const df__timer_entry *top = df__timer_heap_top(&ur->heap);
  /* None pending, or the earliest is at +infinity (never due): no timer,
   * which would keep an application's loop alive for nothing. */
  if (!top || top->time == (double)INFINITY) {
    uv_timer_stop(&ur->timer);
    return;
  }
  double delay_ms = (top->time - uv_seconds(&ur->clock)) * 1000.0;
  /* Rounded up (no libm: ceil by hand); capped at a year. */
  uint64_t ms = 0;
  if (delay_ms > 0) {
    if (delay_ms > 3.2e10) delay_ms = 3.2e10;
    ms = (uint64_t)delay_ms;
    if ((double)ms < delay_ms) ms++;
  }
  uv_update_time(ur->loop);
  uv_timer_start(&ur->timer, run_due_calls, ms, 0);
}

static void run_due_calls(uv_timer_t *timer) {
  df__uv_reactor *ur = DF__CONTAINER_OF(timer, df__uv_reactor, timer);
  double now = uv_seconds(&ur->clock);
  uint64_t limit = ur->heap.next_seq;
  ur->running_due = true;
  const df__timer_entry *top;
  while ((top = df__timer_heap_top(&ur->heap)) && top->time <= now &&
         top->seq < limit) {
    df_delayed_call *call = df__timer_heap_pop(&ur->heap);
    df_delayed_call_activate_delay(call);
    df_delayed_call_run(call);
  }
  ur->running_due = false;
  arm(ur);
}

static int uv_schedule(df_clock *clock, df_delayed_call *call) {
  df__uv_reactor *ur = reactor_of_clock(clock);
  /* Being freed: the calls are about to be discarded (clock.h: refuse
   * new ones then). */
  if (ur->timer_closed) return DF_EINVAL;
  int rc = df__timer_heap_push(&ur->heap, call);
  if (rc == 0 && df__timer_heap_top(&ur->heap)->call == call) arm(ur);
  return rc;
}

static void uv_reschedule(df_clock *clock, df_delayed_call *call) {
  df__uv_reactor *ur = reactor_of_clock(clock);
  df__timer_heap_update(&ur->heap, call);
  arm(ur);
}

static void uv_unschedule(df_clock *clock, df_delayed_call *call) {
  df__uv_reactor *ur = reactor_of_clock(clock);
  bool was_first = df__timer_heap_top(&ur->heap)->call == call;
  df__timer_heap_remove(&ur->heap, call);
  if (was_first) arm(ur);
}

/* The reactor is freed with df_reactor_free, not df_clock_free. */
static const df_clock_type uv_clock_type = {"libuv reactor", uv_seconds,
                                            uv_schedule, uv_reschedule,
                                            uv_unschedule, NULL};

/* --- making ----------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h) {
  df__uv_reactor *ur = h->data;
  ur->open--;
}

static void close_leftover(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* Close the reactor's own loop. uv_loop_close refuses (UV_EBUSY) while a
 * handle or request is in it: ours are closed by now, but an application
 * may have added its own through df_uv_reactor_loop. Those are closed
 * (without a callback: the loop is going) and running requests waited
 * for, so that the loop's descriptors and memory are never left behind. */
static void close_own_loop(uv_loop_t *loop) {
  while (uv_loop_close(loop) == UV_EBUSY) {
    uv_walk(loop, close_leftover, NULL);
    uv_run(loop, UV_RUN_ONCE);
  }
}

static int make_reactor(uv_loop_t *loop, df_reactor **out) {
  if (!out) return DF_EINVAL;
  *out = NULL;
  df__uv_reactor *ur = df__uv_calloc(1, sizeof *ur);
  char *buffer = df__uv_malloc(READ_BUFFER_SIZE);
  if (!ur || !buffer) {
    df__uv_free(ur);
    df__uv_free(buffer);
    return DF_ENOMEM;
  }
  ur->read_buffer = buffer;
  if (!loop) {
    int rc = uv_loop_init(&ur->own_loop);
    if (rc < 0) {
      df__uv_free(buffer);
      df__uv_free(ur);
      return rc;
    }
    loop = &ur->own_loop;
    ur->owns_loop = true;
  }
  ur->loop = loop;
  ur->clock.type = &uv_clock_type;
  df__reactor_init(&ur->base, &uv_ops, &ur->clock);
  struct timeval now;
  gettimeofday(&now, NULL);
  ur->wall_start = (double)now.tv_sec + (double)now.tv_usec * 1e-6;
  ur->hr_start = uv_hrtime();
  uv_timer_init(loop, &ur->timer); /* cannot fail: it only fills in fields */
  ur->timer.data = ur;
  ur->open++;
  int rc = df__uv_threads_init(ur, &ur->threads);
  if (rc < 0) {
    ur->timer_closed = true;
    uv_close((uv_handle_t *)&ur->timer, handle_closed);
    while (ur->open) uv_run(loop, UV_RUN_ONCE);
    if (ur->owns_loop) close_own_loop(loop);
    df__reactor_finish(&ur->base);
    df__uv_free(buffer);
    df__uv_free(ur);
    return rc;
  }
  df__ignore_sigpipe();
  *out = &ur->base;
  return 0;
}

int df_uv_reactor_new(df_reactor **out) { return make_reactor(NULL, out); }

int df_uv_reactor_new_on_loop(uv_loop_t *loop, df_reactor **out) {
  if (!loop) {
    if (out) *out = NULL;
    return DF_EINVAL;
  }
  return make_reactor(loop, out);
}

/* --- running ----------------------------------------------------------------------- */

static int uv_start(df_reactor *r) {
  df__uv_reactor *ur = df__uv_reactor_of(r);
  if (r->handle_signals) {
    int rc = df__uv_signals_start(ur, r, &ur->signals);
    if (rc < 0) return rc;
  }
  return 0;
}

static int uv_run_loop(df_reactor *r) {
  df__uv_reactor *ur = df__uv_reactor_of(r);
  ur->in_run = true;
  /* The reactor runs until stopped, even with nothing to do (Twisted's
   * reactor.run): the call_from_thread handle keeps the loop alive. */
  df__uv_threads_ref(ur->threads, true);
  while (r->state < DF__REACTOR_STOPPED) uv_run(ur->loop, UV_RUN_DEFAULT);
  df__uv_threads_ref(ur->threads, false);
  ur->in_run = false;
  return 0;
}

static void uv_stopped(df_reactor *r) {
  df__uv_reactor *ur = df__uv_reactor_of(r);
  df__uv_signals_stop(ur->signals);
  ur->signals = NULL;
  if (ur->in_run) uv_stop(ur->loop);
}

static void uv_disconnect_all(df_reactor *r, df_failure *reason) {
  for (df__link *l = r->ports.next; l != &r->ports;) {
    df_listening_port *p = DF__CONTAINER_OF(l, df_listening_port, link);
    l = l->next; /* closing a TCP port does not run user code */
    df__port_close(p);
  }
  df__reactor_abandon_attempts(r, reason);
  for (df__link *l = r->transports.next; l != &r->transports; l = l->next) {
    df_transport *t = DF__CONTAINER_OF(l, df_transport, link);
    /* close_now only starts libuv's close: the transport stays listed
     * until its close callback. */
    if (!(t->flags & DF__T_CLOSED)) t->ops->close_now(t, df_failure_ref(reason));
  }
}

static bool nothing_listed(const df_reactor *r) {
  return df__list_empty(&r->ports) && df__list_empty(&r->transports) &&
         df__list_empty(&r->connectors);
}

static void uv_destroy(df_reactor *r) {
  df__uv_reactor *ur = df__uv_reactor_of(r);
  r->state = DF__REACTOR_FREEING;
  r->shutdown_closing = false;
  /* 1. Ports, attempts and connections: their close callbacks (and the
   *    protocols' connection_lost) run from the loop. */
  df__reactor_disconnect_all(r, "the reactor was freed");
  while (!nothing_listed(r)) uv_run(ur->loop, UV_RUN_ONCE);
  /* 2. Thread jobs: queued ones cancelled, running ones finish. */
  df__uv_threads_close(ur->threads);
  df__uv_signals_stop(ur->signals);
  ur->signals = NULL;
  /* 3. The loop runs until every handle and request of ours is closed,
   *    the timer last: what the jobs' deferreds schedule still has a
   *    clock, and is discarded below. Then the clock goes: the library's
   *    objects that outlive their calls (a LoopingCall) learn it
   *    (df_clock_free with no destroy), and new calls are refused. */
  while (ur->open > 1) uv_run(ur->loop, UV_RUN_ONCE);
  df_clock_free(&ur->clock);
  ur->timer_closed = true;
  uv_close((uv_handle_t *)&ur->timer, handle_closed);
  while (ur->open > 0) uv_run(ur->loop, UV_RUN_ONCE);
  df_delayed_call *call;
  /* Each call leaves the schedule before it is discarded: its release
   * may cancel another (clock.h). */
  while ((call = df__timer_heap_pop(&ur->heap))) df_delayed_call_discard(call);
  df__timer_heap_free(&ur->heap);
  df__uv_threads_free(ur->threads);
  if (ur->owns_loop) close_own_loop(ur->loop);
  df__reactor_finish(r);
  df__uv_free(ur->read_buffer);
  df__uv_free(ur);
}

static const df__reactor_ops uv_ops = {
    .name = "libuv reactor",
    .start = uv_start,
    .run = uv_run_loop,
    .stopped = uv_stopped,
    .disconnect_all = uv_disconnect_all,
    .destroy = uv_destroy,
    .listen_tcp = df__uv_listen_tcp,
    .connect = df__uv_connect,
    .stop_attempt = df__uv_stop_attempt,
    .defer_to_thread = df__uv_defer_to_thread,
    .call_from_thread = df__uv_call_from_thread,
    .default_resolver = &df__system_resolver,
};

