/* System event triggers: Twisted's _ThreePhaseEvent (internet/base.py).
 *
 * Each of the reactor's two events (startup, shutdown) has three lists of
 * triggers, before, during and after, run in that order and each in the
 * order added. The before phase may take time: the deferreds its triggers
 * return are gathered in a DeferredList, and the during and after phases
 * wait for it to fire. A trigger runs once: it is taken off its list as it
 * is called (so a trigger added to a phase while the phase runs still
 * runs in it, as Twisted's `while self.before: pop(0)` does), and
 * removing it afterwards is an error.
 *
 * A failure in a trigger's deferred is not handled here: the DeferredList
 * shares it without consuming it, so it is reported as unhandled when the
 * trigger's deferred is released, as Twisted logs it. */
#include <string.h>

#include "internal.h"

void df__events_init(df__events *e) {
  memset(e, 0, sizeof *e);
  e->next_id = 1;
}

void df__events_free(df__events *e) {
  for (int ev = 0; ev < 2; ev++) {
    for (int ph = 0; ph < 3; ph++) df__uv_free(e->events[ev].phases[ph].items);
    df_deferred_unref(e->events[ev].waiting);
  }
  memset(e, 0, sizeof *e);
}

static int add_trigger(df__events *e, df_event_phase phase,
                       df_system_event event, df__trigger t, uint64_t *id_out) {
  if (id_out) *id_out = 0;
  if ((unsigned)phase > DF_PHASE_AFTER || (unsigned)event > DF_SYSTEM_SHUTDOWN)
    return DF_EINVAL;
  df__phase *p = &e->events[event].phases[phase];
  if (df__reserve((void **)&p->items, &p->cap, p->count + 1, sizeof *p->items))
    return DF_ENOMEM;
  /* The id says where the trigger is: event and phase in the low bits. */
  uint64_t id = (e->next_id++ << 3) | ((uint64_t)event << 2) | (uint64_t)phase;
  t.id = id;
  p->items[p->count++] = t;
  if (id_out) *id_out = id;
  return 0;
}

int df__events_add(df__events *e, df_event_phase phase, df_system_event event,
                   df_trigger_fn fn, void *arg, uint64_t *id_out) {
  if (!fn) {
    if (id_out) *id_out = 0;
    return DF_EINVAL;
  }
  return add_trigger(e, phase, event, (df__trigger){0, fn, NULL, arg}, id_out);
}

int df__events_add_call(df__events *e, df_event_phase phase,
                        df_system_event event, df_call_fn call, void *arg) {
  if (!call) return DF_EINVAL;
  return add_trigger(e, phase, event, (df__trigger){0, NULL, call, arg}, NULL);
}

/* Run one trigger: its deferred (a new reference), or NULL. */
static df_deferred *run_trigger(const df__trigger *t) {
  if (t->call) {
    t->call(t->arg);
    return NULL;
  }
  return t->fn(t->arg);
}

int df__events_remove(df__events *e, uint64_t id) {
  unsigned phase = id & 3, event = (id >> 2) & 1;
  if (!id || phase > DF_PHASE_AFTER) return DF_EINVAL;
  df__phase *p = &e->events[event].phases[phase];
  for (size_t i = 0; i < p->count; i++) {
    if (p->items[i].id != id) continue;
    memmove(&p->items[i], &p->items[i + 1],
            (p->count - i - 1) * sizeof *p->items);
    p->count--;
    return 0;
  }
  return DF_EINVAL;
}

/* Take the first trigger of a phase off its list. */
static bool pop_trigger(df__phase *p, df__trigger *out) {
  if (p->count == 0) return false;
  *out = p->items[0];
  memmove(&p->items[0], &p->items[1], (p->count - 1) * sizeof *p->items);
  p->count--;
  return true;
}

typedef struct continuation {
  void (*then)(void *arg);
  void *arg;
} continuation;

static df_result before_phase_done(df_result r, void *arg) {
  continuation *k = arg;
  df_result_drop(r);
  k->then(k->arg);
  return df_none();
}

static void free_continuation(void *arg) { df__uv_free(arg); }

void df__events_run_before(df__events *e, df_system_event event,
                           void (*then)(void *arg), void *arg) {
  df__event *ev = &e->events[event];
  df_deferred **results = NULL;
  size_t n = 0, cap = 0;
  df__trigger t;
  while (pop_trigger(&ev->phases[DF_PHASE_BEFORE], &t)) {
    df_deferred *d = run_trigger(&t);
    if (!d) continue;
    if (df__reserve((void **)&results, &cap, n + 1, sizeof *results)) {
      /* Out of memory: this one cannot be waited for. */
      df_deferred_unref(d);
      continue;
    }
    results[n++] = d;
  }
  ev->fired = 1;
  continuation *k = n ? df__uv_malloc(sizeof *k) : NULL;
  df_deferred *list = k ? df_deferred_list(results, n, 0) : NULL;
  for (size_t i = 0; i < n; i++) df_deferred_unref(results[i]);
  df__uv_free(results);
  if (!list) {
    /* Nothing to wait for (or no memory to wait with): go on now. */
    df__uv_free(k);
    then(arg);
    return;
  }
  *k = (continuation){then, arg};
  ev->waiting = list;
  /* The stage owns the continuation; `then` may run before this returns
   * (every deferred had fired already). */
  if (df_deferred_add_owned(list, before_phase_done, NULL, k,
                            free_continuation) < 0) {
    ev->waiting = NULL;
    df_deferred_unref(list);
    then(arg);
  }
}

void df__events_run_phase(df__events *e, df_system_event event,
                          df_event_phase phase) {
  df__event *ev = &e->events[event];
  df__trigger t;
  while (pop_trigger(&ev->phases[phase], &t)) {
    df_deferred_unref(run_trigger(&t));
  }
  ev->fired = (int)phase + 1;
}
