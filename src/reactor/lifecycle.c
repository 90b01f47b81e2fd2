/* The reactor's life, the same for every implementation (reactor.h):
 * run, start, stop, the startup and shutdown sequences, call_when_running,
 * and the clock wrappers. The implementation (reactor.c, fake_reactor.c)
 * only runs its loop and closes its things; the order of events is here.
 *
 *   startup (inside run/start, as Twisted's startRunning):
 *     before triggers ... their deferreds fire ... state RUNNING, during
 *     triggers, after triggers (call_when_running)
 *   shutdown (from the loop, after stop):
 *     before triggers ... their deferreds fire ... during triggers, then
 *     the reactor's own: disconnect_all ... every port, connection and
 *     attempt has ended ... after triggers, state STOPPED, the waiting
 *     deferreds listed in debug mode, ops->stopped (run returns)
 *
 * Twisted calls connectionLost inside disconnectAll; here a connection's
 * end comes from the loop (libuv closes sockets asynchronously), so the
 * after phase waits for the reactor's lists to empty instead. */
#include "internal.h"

void df__reactor_init(df_reactor *r, const df__reactor_ops *ops,
                      df_clock *clock) {
  r->ops = ops;
  r->clock = clock;
  df__events_init(&r->events);
  r->resolver = NULL;
  df__list_init(&r->ports);
  df__list_init(&r->transports);
  df__list_init(&r->connectors);
  r->state = DF__REACTOR_NEW;
  r->handle_signals = true;
  r->shutdown_closing = false;
}

void df__reactor_finish(df_reactor *r) { df__events_free(&r->events); }

const char *df_reactor_name(const df_reactor *r) {
  return r ? r->ops->name : "";
}

/* --- startup ------------------------------------------------------------------ */

static void startup_before_done(void *arg) {
  df_reactor *r = arg;
  /* A stop during the before phase is refused (not running yet), so the
   * state is still STARTING here unless the reactor is being freed. */
  if (r->state != DF__REACTOR_STARTING) return;
  r->state = DF__REACTOR_RUNNING;
  df__events_run_phase(&r->events, DF_SYSTEM_STARTUP, DF_PHASE_DURING);
  df__events_run_phase(&r->events, DF_SYSTEM_STARTUP, DF_PHASE_AFTER);
}

/* Called by the implementations' start and run, once their loop is
 * ready: fire the startup event. */
static int begin_running(df_reactor *r) {
  if (!r || r->state != DF__REACTOR_NEW) return DF_EINVAL;
  r->state = DF__REACTOR_STARTING;
  df__events_run_before(&r->events, DF_SYSTEM_STARTUP, startup_before_done, r);
  return 0;
}

int df_reactor_start(df_reactor *r) {
  if (!r || r->state != DF__REACTOR_NEW) return DF_EINVAL;
  int rc = r->ops->start(r);
  return rc < 0 ? rc : begin_running(r);
}

int df_reactor_run(df_reactor *r) {
  if (!r || r->state != DF__REACTOR_NEW) return DF_EINVAL;
  int rc = r->ops->start(r);
  if (rc < 0) return rc;
  begin_running(r);
  return r->ops->run(r);
}

bool df_reactor_running(const df_reactor *r) {
  return r && (r->state == DF__REACTOR_RUNNING ||
               r->state == DF__REACTOR_STOPPING);
}

bool df_reactor_stopped(const df_reactor *r) {
  return r && r->state >= DF__REACTOR_STOPPED;
}

int df_reactor_set_signal_handling(df_reactor *r, bool on) {
  if (!r || r->state != DF__REACTOR_NEW) return DF_EINVAL;
  r->handle_signals = on;
  return 0;
}

/* --- shutdown ------------------------------------------------------------------- */

static void finish_shutdown(df_reactor *r) {
  r->shutdown_closing = false;
  df__events_run_phase(&r->events, DF_SYSTEM_SHUTDOWN, DF_PHASE_AFTER);
  r->state = DF__REACTOR_STOPPED;
  if (df_get_debugging()) df__report_waiting_deferreds();
  r->ops->stopped(r);
}

static bool nothing_open(const df_reactor *r) {
  return df__list_empty(&r->ports) && df__list_empty(&r->transports) &&
         df__list_empty(&r->connectors);
}

void df__reactor_forgot(df_reactor *r) {
  if (r->shutdown_closing && nothing_open(r)) finish_shutdown(r);
}

static void shutdown_before_done(void *arg) {
  df_reactor *r = arg;
  if (r->state != DF__REACTOR_STOPPING) return; /* being freed */
  df__events_run_phase(&r->events, DF_SYSTEM_SHUTDOWN, DF_PHASE_DURING);
  r->shutdown_closing = true;
  df__reactor_disconnect_all(r, "the reactor stopped");
  df__reactor_forgot(r);
}

static void begin_shutdown(void *arg) {
  df_reactor *r = arg;
  df__events_run_before(&r->events, DF_SYSTEM_SHUTDOWN, shutdown_before_done,
                        r);
}

int df_reactor_stop(df_reactor *r) {
  if (!r || r->state != DF__REACTOR_RUNNING) return DF_EINVAL;
  /* As Twisted's, the shutdown fires from the loop, not inside stop(). */
  int rc = df_clock_call_later(r->clock, 0, begin_shutdown, r, NULL);
  if (rc < 0) return rc;
  r->state = DF__REACTOR_STOPPING;
  return 0;
}

void df__reactor_disconnect_all(df_reactor *r, const char *why) {
  df_failure *reason =
      df_failure_new(&df_error_connection_lost,
                     "Connection to the other side was lost in a non-clean "
                     "fashion: %s",
                     why);
  r->ops->disconnect_all(r, reason);
  df_failure_unref(reason);
}

/* --- triggers and call_when_running ------------------------------------------------ */

int df_reactor_add_system_event_trigger(df_reactor *r, df_event_phase phase,
                                        df_system_event event, df_trigger_fn fn,
                                        void *arg, uint64_t *id_out) {
  if (!r) {
    if (id_out) *id_out = 0;
    return DF_EINVAL;
  }
  return df__events_add(&r->events, phase, event, fn, arg, id_out);
}

int df_reactor_remove_system_event_trigger(df_reactor *r, uint64_t id) {
  return r ? df__events_remove(&r->events, id) : DF_EINVAL;
}

int df_reactor_call_when_running(df_reactor *r, df_call_fn fn, void *arg) {
  if (!r || !fn) return DF_EINVAL;
  if (df_reactor_running(r)) {
    fn(arg);
    return 0;
  }
  if (r->state > DF__REACTOR_STARTING) return DF_EINVAL;
  return df__events_add_call(&r->events, DF_PHASE_AFTER, DF_SYSTEM_STARTUP, fn,
                             arg);
}

/* --- time ----------------------------------------------------------------------------- */

df_clock *df_reactor_clock(df_reactor *r) { return r ? r->clock : NULL; }

double df_reactor_seconds(df_reactor *r) {
  return df_clock_seconds(df_reactor_clock(r));
}

int df_reactor_call_later(df_reactor *r, double delay, df_call_fn fn, void *arg,
                          df_delayed_call **out) {
  return df_clock_call_later(df_reactor_clock(r), delay, fn, arg, out);
}
