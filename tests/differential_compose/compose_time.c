/* compose_runner's time: the test clock of each program, delayed calls in
 * call slots h0..h7, timeouts, defer_later, and LoopingCalls in loop slots
 * P0..P3 (README.md next to this file gives the operations and the trace;
 * twisted_compose_runner.py does the same with task.Clock, addTimeout,
 * deferLater and LoopingCall).
 *
 * A call the library schedules by itself (a timeout's timer, defer_later's
 * call) is found by comparing the clock's pending calls before and after
 * the operation, and put in the call slot the operation names, so that a
 * program can reset, delay or cancel it and a trace can name it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"

#define MAX_CALLS 8
#define MAX_PENDING 256
/* A loop's function stops its loop on this call and every later one (a
 * loop may be started again), so that no program runs for ever (a loop of
 * interval 0 runs again at every advance(0) until it stops, as in
 * Twisted); both runners do it. */
#define LOOP_RUN_CAP 25

static df_clock *clock_;
static df_delayed_call *calls[MAX_CALLS]; /* one reference each */
static df_looping_call *loops[MAX_PRIMS];

/* What a loop's function needs: its label and action, its loop. */
typedef struct loop_fn {
  const dt_stage *st;
  int k;
  int runs;
} loop_fn;
static loop_fn loop_fns[MAX_PRIMS];

/* --- numbers and names ---------------------------------------------------- */

int compose_parse_number(const char *s, double *out) {
  char *end;
  *out = strtod(s, &end);
  return *end || end == s || isnan(*out) ? -1 : 0;
}

void compose_print_time(double t) {
  if (isnan(t))
    printf("None"); /* Twisted's None (an interval before any start) */
  else
    printf("%.17g", t);
}

void time_call_suffix(void) {
  printf(" @");
  compose_print_time(df_clock_seconds(clock_));
}

static size_t pending_calls(df_delayed_call **out) {
  size_t n = df_test_clock_get_delayed_calls(clock_, out, MAX_PENDING);
  if (n > MAX_PENDING) abort(); /* no program schedules that many */
  return n;
}

/* A pending call's name: the first call slot holding it, else the loop
 * whose next call it is, else "?". */
static void call_name(const df_delayed_call *call, char name[8]) {
  snprintf(name, 8, "?");
  for (int k = 0; k < MAX_CALLS && name[0] == '?'; k++)
    if (calls[k] == call) snprintf(name, 8, "h%d", k);
  for (int k = 0; k < MAX_PRIMS && name[0] == '?'; k++)
    if (loops[k] && df_looping_call_next_call(loops[k]) == call)
      snprintf(name, 8, "p%d", k);
}

static df_delayed_call *resolve(call_ref ref) {
  if (ref.kind == 'h') return calls[ref.k];
  return loops[ref.k] ? df_looping_call_next_call(loops[ref.k]) : NULL;
}

static void set_call(int k, df_delayed_call *call) {
  df_delayed_call_unref(calls[k]);
  calls[k] = call;
}

/* After an operation that schedules one call of the library's: the call
 * pending now that was not in `before`, into call slot k (none if the
 * call is already gone, a timeout on a deferred that had fired). */
static void catch_new_call(int k, df_delayed_call **before, size_t n_before) {
  df_delayed_call *after[MAX_PENDING];
  size_t n = pending_calls(after);
  df_delayed_call *found = NULL;
  for (size_t i = 0; i < n && !found; i++) {
    size_t j = 0;
    while (j < n_before && before[j] != after[i]) j++;
    if (j == n_before) found = after[i];
  }
  set_call(k, df_delayed_call_ref(found));
}

/* --- the functions the clock and the library call --------------------------- */

/* A call of `later`: its action, on None; what it returns is dropped. */
static void run_later(void *arg) {
  df_result_drop(compose_call_function(arg, ""));
}

static df_result run_deferred_fn(void *arg) { return compose_call_function(arg, ""); }

/* A loop's function, capped (LOOP_RUN_CAP). */
static df_result loop_capped(loop_fn *lf, df_result r) {
  if (++lf->runs >= LOOP_RUN_CAP)
    compose_print_rc("stop", lf->k, df_looping_call_stop(loops[lf->k]));
  return r;
}

static df_result run_loop_fn(void *arg) {
  loop_fn *lf = arg;
  return loop_capped(lf, compose_call_function(lf->st, ""));
}

static df_result run_loop_count_fn(int64_t count, void *arg) {
  loop_fn *lf = arg;
  char extra[32];
  snprintf(extra, sizeof extra, " count=%lld", (long long)count);
  return loop_capped(lf, compose_call_function(lf->st, extra));
}

/* A timeout's custom on_timeout: "ontimeout <label> <result> <timeout>
 * @<time>", then its action on the result. */
static df_result run_on_timeout(df_result result, double timeout, void *arg) {
  const dt_stage *st = arg;
  printf("ontimeout %s ", st->label);
  dt_print_result(&result);
  printf(" ");
  compose_print_time(timeout);
  time_call_suffix();
  printf("\n");
  return dt_run_action(&st->cb, result);
}

/* --- actions ------------------------------------------------------------------ */

enum { T_ADVANCE = 100, T_STOP, T_LRESET, T_DCANCEL };

int time_parse_action(const char *kind, char *arg, dt_action *a) {
  if (strcmp(kind, "adv") == 0) {
    a->ext = T_ADVANCE;
    return compose_parse_number(arg, &a->x);
  }
  if (strcmp(kind, "stop") == 0) a->ext = T_STOP;
  else if (strcmp(kind, "lreset") == 0) a->ext = T_LRESET;
  else if (strcmp(kind, "dcancel") == 0) a->ext = T_DCANCEL;
  else return 1;
  a->slot = compose_parse_index(arg, a->ext == T_DCANCEL ? MAX_CALLS : MAX_PRIMS);
  return a->slot < 0 ? -1 : 0;
}

df_result time_run_action(const dt_action *a, df_result in) {
  int rc;
  switch (a->ext) {
  case T_ADVANCE:
    rc = df_test_clock_advance(clock_, a->x);
    printf("  advance ");
    compose_print_time(a->x);
    printf(" = %s\n", compose_rc_text(rc));
    break;
  case T_STOP:
  case T_LRESET: {
    df_looping_call *lc = loops[a->slot];
    rc = !lc ? RC_EMPTY
         : a->ext == T_STOP ? df_looping_call_stop(lc)
                            : df_looping_call_reset(lc);
    compose_print_rc(a->ext == T_STOP ? "stop" : "lreset", a->slot, rc);
    break;
  }
  default: /* T_DCANCEL */
    rc = calls[a->slot] ? df_delayed_call_cancel(calls[a->slot]) : RC_EMPTY;
    compose_print_rc("dcancel", a->slot, rc);
    break;
  }
  return in;
}

/* --- operations ------------------------------------------------------------------- */

static int parse_call_ref(const char *s, call_ref *ref) {
  ref->kind = s[0];
  ref->k = compose_parse_index(s + 1, s[0] == 'h' ? MAX_CALLS
                                      : s[0] == 'p' ? MAX_PRIMS : 0);
  return ref->k < 0 ? -1 : 0;
}

/* An action of the line's, labelled "s<index>", into x->fn's cb. */
static int parse_function(char *text, int index, xop *x) {
  x->fn = dt_arena_alloc(sizeof *x->fn);
  snprintf(x->fn->label, sizeof x->fn->label, "s%d", index);
  char action[DT_LINE_MAX];
  snprintf(action, sizeof action, "%s", text);
  return dt_parse_action(action, &x->fn->cb, x->fn->label);
}

int time_parse_op(char **tok, int n, int index, xop *x) {
  const char *k = tok[0];
  if (strcmp(k, "advance") == 0 && n == 2) {
    x->kind = X_ADVANCE;
    return compose_parse_number(tok[1], &x->x);
  }
  if (strcmp(k, "pump") == 0 && n >= 1) {
    x->kind = X_PUMP;
    for (int i = 1; i < n; i++) {
      if (x->n_members == MAX_MEMBERS ||
          compose_parse_number(tok[i], &x->xs[x->n_members++]) != 0)
        return -1;
    }
    return 0;
  }
  if (strcmp(k, "later") == 0 && n == 4) {
    x->kind = X_LATER;
    if ((x->obj = compose_parse_index(tok[1], MAX_CALLS)) < 0 ||
        compose_parse_number(tok[2], &x->x) != 0)
      return -1;
    return parse_function(tok[3], index, x);
  }
  if ((strcmp(k, "dcancel") == 0 && n == 2) ||
      ((strcmp(k, "dreset") == 0 || strcmp(k, "ddelay") == 0) && n == 3)) {
    x->kind = k[1] == 'c' ? X_DCANCEL : k[1] == 'r' ? X_DRESET : X_DDELAY;
    if (parse_call_ref(tok[1], &x->ref) != 0) return -1;
    return n == 3 ? compose_parse_number(tok[2], &x->x) : 0;
  }
  if ((strcmp(k, "timeout") == 0 || strcmp(k, "deferlater") == 0) && n == 5) {
    x->kind = k[0] == 't' ? X_TIMEOUT : X_DEFER_LATER;
    if ((x->k = dt_parse_slot(tok[1])) < 0 ||
        compose_parse_number(tok[2], &x->x) != 0 ||
        (x->obj = compose_parse_index(tok[4], MAX_CALLS)) < 0)
      return -1;
    x->flag = strcmp(tok[3], "-") != 0; /* a function / an on_timeout */
    return x->flag ? parse_function(tok[3], index, x) : 0;
  }
  if ((strcmp(k, "loop") == 0 || strcmp(k, "loopc") == 0) && n == 3) {
    x->kind = X_LOOP;
    x->flag = k[4] == 'c';
    if ((x->obj = compose_parse_index(tok[1], MAX_PRIMS)) < 0) return -1;
    return parse_function(tok[2], index, x);
  }
  if (strcmp(k, "start") == 0 && n == 5) {
    x->kind = X_START;
    if ((x->k = dt_parse_slot(tok[1])) < 0 ||
        (x->obj = compose_parse_index(tok[2], MAX_PRIMS)) < 0 ||
        compose_parse_number(tok[3], &x->x) != 0)
      return -1;
    if (strcmp(tok[4], "now") != 0 && strcmp(tok[4], "later") != 0) return -1;
    x->flag = tok[4][0] == 'n';
    return 0;
  }
  if ((strcmp(k, "stop") == 0 || strcmp(k, "lreset") == 0) && n == 2) {
    x->kind = k[0] == 's' ? X_STOP : X_LRESET;
    return (x->obj = compose_parse_index(tok[1], MAX_PRIMS)) < 0 ? -1 : 0;
  }
  return 1;
}

void time_run_op(const xop *x) {
  int rc = 0;
  df_delayed_call *before[MAX_PENDING];
  size_t n_before;
  switch (x->kind) {
  case X_ADVANCE: rc = df_test_clock_advance(clock_, x->x); break;
  case X_PUMP: rc = df_test_clock_pump(clock_, x->xs, (size_t)x->n_members); break;
  case X_LATER: {
    df_delayed_call *call = NULL;
    rc = df_clock_call_later(clock_, x->x, run_later, x->fn, &call);
    set_call(x->obj, call);
    break;
  }
  case X_DCANCEL:
  case X_DRESET:
  case X_DDELAY: {
    df_delayed_call *call = resolve(x->ref);
    if (!call) rc = RC_EMPTY;
    else if (x->kind == X_DCANCEL) rc = df_delayed_call_cancel(call);
    else if (x->kind == X_DRESET) rc = df_delayed_call_reset(call, x->x);
    else rc = df_delayed_call_delay(call, x->x);
    break;
  }
  case X_TIMEOUT: {
    df_deferred *d = dt_slots[x->k];
    if (!d) {
      rc = RC_EMPTY;
      break;
    }
    n_before = pending_calls(before);
    rc = df_deferred_add_timeout_at(d, clock_, x->x,
                                    x->flag ? run_on_timeout : NULL, x->fn,
                                    "compose", 0, "timeout");
    catch_new_call(x->obj, before, n_before);
    break;
  }
  case X_DEFER_LATER: {
    n_before = pending_calls(before);
    df_deferred *d = df_defer_later_at(clock_, x->x,
                                       x->flag ? run_deferred_fn : NULL, x->fn,
                                       "compose", compose_serial(), "deferlater");
    catch_new_call(x->obj, before, n_before);
    compose_fill(x->k, d);
    break;
  }
  case X_LOOP:
    df_looping_call_unref(loops[x->obj]);
    loop_fns[x->obj] = (loop_fn){x->fn, x->obj, 0};
    rc = x->flag ? df_looping_call_with_count(clock_, run_loop_count_fn,
                                              &loop_fns[x->obj], NULL,
                                              &loops[x->obj])
                 : df_looping_call_new(clock_, run_loop_fn, &loop_fns[x->obj],
                                       NULL, &loops[x->obj]);
    break;
  case X_START: {
    if (!loops[x->obj]) {
      rc = RC_EMPTY;
      break;
    }
    /* The serial is the program's only if a deferred is made. */
    df_deferred *d;
    rc = df_looping_call_start_at(loops[x->obj], x->x, x->flag, &d, "compose",
                                  dt_next_serial, "start");
    if (rc == 0) {
      compose_serial();
      compose_fill(x->k, d);
    }
    break;
  }
  case X_STOP:
  case X_LRESET:
    if (!loops[x->obj])
      rc = RC_EMPTY;
    else
      rc = x->kind == X_STOP ? df_looping_call_stop(loops[x->obj])
                             : df_looping_call_reset(loops[x->obj]);
    break;
  default: break;
  }
  printf("= %s\n", compose_rc_text(rc));
}

/* --- what a loop fires with, and shows ----------------------------------------- */

bool time_print_result(const df_result *r) {
  df_looping_call *lc = df_looping_call_of(*r);
  if (!lc) return false;
  for (int k = 0; k < MAX_PRIMS; k++)
    if (loops[k] == lc) {
      printf("P%d", k);
      return true;
    }
  printf("P?");
  return true;
}

static void show_call(const char *name, const df_delayed_call *call) {
  printf("state %s active=%d called=%d cancelled=%d time=", name,
         df_delayed_call_active(call) ? 1 : 0,
         df_delayed_call_called(call) ? 1 : 0,
         df_delayed_call_cancelled(call) ? 1 : 0);
  compose_print_time(df_delayed_call_time(call));
  printf("\n");
}

static void show_loop(int k) {
  const df_looping_call *lc = loops[k];
  printf("state P%d loop running=%d interval=", k,
         df_looping_call_running(lc) ? 1 : 0);
  compose_print_time(df_looping_call_interval(lc));
  printf(" starttime=");
  compose_print_time(df_looping_call_start_time(lc));
  printf(" call=");
  df_delayed_call *call = df_looping_call_next_call(lc);
  if (call)
    compose_print_time(df_delayed_call_time(call));
  else
    printf("-");
  printf("\n");
}

static void show_clock(void) {
  df_delayed_call *pending[MAX_PENDING];
  size_t n = pending_calls(pending);
  printf("state clock now=");
  compose_print_time(df_clock_seconds(clock_));
  printf(" calls=");
  for (size_t i = 0; i < n; i++) {
    char name[8];
    call_name(pending[i], name);
    printf("%s%s@", i ? "," : "", name);
    compose_print_time(df_delayed_call_time(pending[i]));
  }
  printf("\n");
}

bool time_show(const char *name) {
  if (strcmp(name, "clock") == 0) {
    show_clock();
    return true;
  }
  call_ref ref;
  if ((name[0] == 'h' || name[0] == 'p') && parse_call_ref(name, &ref) == 0) {
    df_delayed_call *call = resolve(ref);
    if (call) show_call(name, call);
    return call != NULL;
  }
  if (name[0] == 'P') {
    int k = compose_parse_index(name + 1, MAX_PRIMS);
    if (k >= 0 && loops[k]) show_loop(k);
    return k >= 0 && loops[k];
  }
  return false;
}

/* --- a program's clock ------------------------------------------------------------ */

void time_begin(void) {
  clock_ = df_test_clock_new();
  if (!clock_) abort();
}

void time_print_states(void) {
  for (int k = 0; k < MAX_PRIMS; k++)
    if (loops[k]) show_loop(k);
  for (int k = 0; k < MAX_CALLS; k++) {
    if (!calls[k]) continue;
    char name[8];
    snprintf(name, sizeof name, "h%d", k);
    show_call(name, calls[k]);
  }
  show_clock();
}

void time_end(void) {
  df_delayed_call *pending[MAX_PENDING];
  size_t n = pending_calls(pending);
  for (size_t i = 0; i < n; i++) df_delayed_call_ref(pending[i]);
  /* The names first: they come from the loops and call slots. */
  char names[MAX_PENDING][8];
  for (size_t i = 0; i < n; i++) call_name(pending[i], names[i]);
  for (int k = 0; k < MAX_PRIMS; k++) {
    if (!loops[k]) continue;
    printf("release P%d\n", k);
    df_looping_call_unref(loops[k]);
    loops[k] = NULL;
  }
  for (size_t i = 0; i < n; i++) {
    printf("cancel %s\n", names[i]);
    df_delayed_call_cancel(pending[i]);
    df_delayed_call_unref(pending[i]);
  }
  for (int k = 0; k < MAX_CALLS; k++) set_call(k, NULL);
  df_clock_free(clock_);
  clock_ = NULL;
}
