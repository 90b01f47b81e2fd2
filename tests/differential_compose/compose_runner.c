/* compose_runner: the C side of the composition layer's differential test
 * against Twisted.
 *
 * Reads programs on stdin, separated by lines "---", runs each through
 * libdeferred and prints its trace followed by "=== end". The language is
 * tests/differential/slots.c's (slots of deferreds, stages, actions) with
 * the composition layer added: locks and semaphores, queues, DeferredList
 * and gatherResults here, and in compose_time.c a test clock for each
 * program, delayed calls, timeouts, defer_later and LoopingCall. README.md
 * next to this file describes the operations and the trace;
 * twisted_compose_runner.py prints the same trace from real Twisted, and
 * run.py generates the programs and compares the two.
 *
 * Every deferred the library makes for the program (an acquire, a get, a
 * list ...) is made with the program's next serial as its creation line,
 * through the functions' _at forms, so that it is named like the
 * deferreds `new` makes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"

/* --- the program's objects ------------------------------------------------ */

typedef struct prim {
  bool is_sem;
  df_lock *lock;
  df_semaphore *sem;
} prim;

static prim locks[MAX_PRIMS];
static df_queue *queues[MAX_PRIMS];

static bool lock_live(int k) { return locks[k].lock || locks[k].sem; }

static void lock_free(int k) {
  prim p = locks[k];
  locks[k] = (prim){0};
  if (p.is_sem)
    df_semaphore_free(p.sem);
  else
    df_lock_free(p.lock);
}

static void queue_free(int k) {
  df_queue *q = queues[k];
  queues[k] = NULL;
  df_queue_free(q);
}

void compose_fill(int k, df_deferred *d) {
  if (!d) abort(); /* out of memory: nothing here can run it out */
  if (dt_slots[k]) dt_release_slot(k);
  dt_slots[k] = d;
}

int compose_serial(void) { return dt_next_serial++; }

const char *compose_rc_text(int rc) {
  return rc == RC_EMPTY ? "empty" : dt_rc_text(rc);
}

int compose_parse_index(const char *s, int most) {
  char *end;
  long k = strtol(s, &end, 10);
  return *end || end == s || k < 0 || k >= most ? -1 : (int)k;
}

static int parse_prim(const char *s) { return compose_parse_index(s, MAX_PRIMS); }

void compose_print_rc(const char *what, int k, int rc) {
  printf("  %s %d = %s\n", what, k, compose_rc_text(rc));
}

/* --- the trace's text for what the composition layer makes ---------------- */

static bool print_result(const df_result *r) {
  df_result_array *a = df_result_array_of(*r);
  df_first_result *h = df_first_result_of(*r);
  if (a) {
    printf("[");
    for (size_t i = 0; i < a->count; i++) {
      if (i) printf(", ");
      dt_print_result(&a->items[i]);
    }
    printf("]");
    return true;
  }
  if (h) {
    printf("(");
    dt_print_result(&h->value);
    printf(", %zu)", h->index);
    return true;
  }
  if (time_print_result(r)) return true;
  if (r->kind == DF_POINTER) {
    for (int k = 0; k < MAX_PRIMS; k++)
      if (lock_live(k) && (r->u.p == locks[k].lock || r->u.p == locks[k].sem)) {
        printf("L%d", k);
        return true;
      }
    printf("L?"); /* a lock freed since: nothing else is a pointer here */
    return true;
  }
  return false;
}

static bool print_failure(const df_failure *f) {
  const df_first_error *fe = df_first_error_of(f);
  if (!fe) return false;
  printf("F(FirstError:#%zu,", fe->index);
  dt_print_failure(fe->sub_failure);
  printf(")");
  return true;
}

/* --- actions of the composition layer --------------------------------------- */

enum { A_UNLOCK, A_PUT };

static int lock_release(int k) {
  if (!lock_live(k)) return RC_EMPTY;
  return locks[k].is_sem ? df_semaphore_release(locks[k].sem)
                         : df_lock_release(locks[k].lock);
}

static int parse_action(const char *kind, char *arg, dt_action *a) {
  int rc = time_parse_action(kind, arg, a);
  if (rc != 1) return rc;
  char *rest = strchr(arg, ':');
  if (rest) *rest++ = 0;
  if (strcmp(kind, "unlock") == 0 && !rest) {
    a->ext = A_UNLOCK;
  } else if (strcmp(kind, "put") == 0 && rest) {
    a->ext = A_PUT;
    if (dt_parse_value(rest, &a->v) != 0) return -1;
  } else {
    return -1;
  }
  return (a->slot = parse_prim(arg)) < 0 ? -1 : 0;
}

static df_result run_action(const dt_action *a, df_result in) {
  int rc;
  switch (a->ext) {
  case A_UNLOCK:
    compose_print_rc("unlock", a->slot, lock_release(a->slot));
    return in;
  case A_PUT:
    rc = queues[a->slot] ? df_queue_put(queues[a->slot], dt_value_result(&a->v))
                         : RC_EMPTY;
    compose_print_rc("put", a->slot, rc);
    return in;
  default:
    return time_run_action(a, in);
  }
}

df_result compose_call_function(const dt_stage *st, const char *extra) {
  printf("fn %s%s", st->label, extra);
  time_call_suffix();
  printf("\n");
  return dt_run_action(&st->cb, df_none());
}

/* run()'s function. */
static df_result call_function(void *arg) { return compose_call_function(arg, ""); }

/* --- operations ----------------------------------------------------------------- */

static int parse_limit(const char *s, size_t *out) {
  if (strcmp(s, "-") == 0) {
    *out = DF_QUEUE_UNLIMITED;
    return 0;
  }
  char *end;
  long v = strtol(s, &end, 10);
  if (*end || end == s || v < 0) return -1;
  *out = (size_t)v;
  return 0;
}

static int parse_op(char *line, int index, dt_op *o) {
  char copy[DT_LINE_MAX];
  snprintf(copy, sizeof copy, "%s", line);
  char *tok[2 + MAX_MEMBERS + 2] = {0};
  int n = 0;
  for (char *t = strtok(copy, " \t"); t; t = strtok(NULL, " \t")) {
    if (n == (int)(sizeof tok / sizeof *tok)) return -1; /* too long */
    tok[n++] = t;
  }
  if (n < 2) return -1;
  xop *x = dt_arena_alloc(sizeof *x);
  o->kind = O_EXT;
  o->ext = x;
  const char *k = tok[0];
  if (strcmp(k, "lock") == 0 && n == 2) {
    x->kind = X_LOCK;
    return (x->k = parse_prim(tok[1])) < 0 ? -1 : 0;
  }
  if (strcmp(k, "sem") == 0 && n == 3) {
    x->kind = X_SEM;
    char *end;
    x->n = strtol(tok[2], &end, 10);
    if (*end || end == tok[2]) return -1;
    return (x->k = parse_prim(tok[1])) < 0 ? -1 : 0;
  }
  if (strcmp(k, "unlock") == 0 || strcmp(k, "lfree") == 0 ||
      strcmp(k, "qfree") == 0) {
    if (n != 2) return -1;
    x->kind = k[0] == 'u' ? X_UNLOCK : k[0] == 'l' ? X_LFREE : X_QFREE;
    return (x->obj = parse_prim(tok[1])) < 0 ? -1 : 0;
  }
  if (strcmp(k, "queue") == 0 && n == 4) {
    x->kind = X_QUEUE;
    if (parse_limit(tok[2], &x->size) || parse_limit(tok[3], &x->backlog))
      return -1;
    return (x->k = parse_prim(tok[1])) < 0 ? -1 : 0;
  }
  if (strcmp(k, "put") == 0 && n == 3) {
    x->kind = X_PUT;
    if ((x->obj = parse_prim(tok[1])) < 0) return -1;
    if (strncmp(tok[2], "fail:", 5) == 0) {
      x->flag = true;
      return dt_parse_text(tok[2] + 5, o->msg);
    }
    return dt_parse_value(tok[2], &o->v);
  }
  if ((strcmp(k, "acquire") == 0 || strcmp(k, "get") == 0) && n == 3) {
    x->kind = k[0] == 'a' ? X_ACQUIRE : X_GET;
    x->k = dt_parse_slot(tok[1]);
    x->obj = parse_prim(tok[2]);
    return x->k < 0 || x->obj < 0 ? -1 : 0;
  }
  if (strcmp(k, "run") == 0 && n == 4) {
    x->kind = X_RUN;
    x->k = dt_parse_slot(tok[1]);
    x->obj = parse_prim(tok[2]);
    if (x->k < 0 || x->obj < 0) return -1;
    x->fn = dt_arena_alloc(sizeof *x->fn);
    snprintf(x->fn->label, sizeof x->fn->label, "s%d", index);
    return dt_parse_action(tok[3], &x->fn->cb, x->fn->label);
  }
  if ((strcmp(k, "list") == 0 || strcmp(k, "gather") == 0) && n >= 3) {
    x->kind = k[0] == 'l' ? X_LIST : X_GATHER;
    if ((x->k = dt_parse_slot(tok[1])) < 0) return -1;
    for (const char *f = tok[2]; *f; f++) {
      if (x->kind == X_GATHER) {
        if (strcmp(tok[2], "0") != 0 && strcmp(tok[2], "1") != 0) return -1;
        x->flags = tok[2][0] == '1';
        break;
      }
      if (*f == 'c') x->flags |= DF_LIST_FIRE_ON_ONE_CALLBACK;
      else if (*f == 'e') x->flags |= DF_LIST_FIRE_ON_ONE_ERRBACK;
      else if (*f == 'x') x->flags |= DF_LIST_CONSUME_ERRORS;
      else if (*f != '-') return -1;
    }
    for (int i = 3; i < n; i++) {
      if (x->n_members == MAX_MEMBERS) return -1;
      int m = dt_parse_slot(tok[i]);
      if (m < 0) return -1;
      x->members[x->n_members++] = m;
    }
    return 0;
  }
  if (strcmp(k, "show") == 0 && n == 2 && strlen(tok[1]) < sizeof x->show) {
    x->kind = X_SHOW;
    strcpy(x->show, tok[1]);
    return 0;
  }
  int rc = time_parse_op(tok, n, index, x);
  return rc == 1 ? -1 : rc;
}

static void show_lock(int k) {
  const prim *p = &locks[k];
  if (p->is_sem)
    printf("state L%d sem tokens=%ld limit=%ld waiting=%zu\n", k,
           df_semaphore_tokens(p->sem), df_semaphore_limit(p->sem),
           df_semaphore_waiting(p->sem));
  else
    printf("state L%d lock locked=%d waiting=%zu\n", k,
           df_lock_locked(p->lock) ? 1 : 0, df_lock_waiting(p->lock));
}

static void show_queue(int k) {
  printf("state Q%d queue pending=%zu waiting=%zu\n", k,
         df_queue_pending(queues[k]), df_queue_waiting(queues[k]));
}

/* "show d3", "show L0", "show Q1": the object's state line, or "= empty". */
static void show(const char *name) {
  int k = atoi(name + 1);
  if (k < 0 || k >= DT_MAX_SLOTS) k = -1;
  if (name[0] == 'd' && k >= 0 && dt_slots[k])
    dt_print_slot_state(k);
  else if (name[0] == 'L' && k >= 0 && k < MAX_PRIMS && lock_live(k))
    show_lock(k);
  else if (name[0] == 'Q' && k >= 0 && k < MAX_PRIMS && queues[k])
    show_queue(k);
  else if (!time_show(name))
    printf("= empty\n");
}

static void run_op(const dt_op *o) {
  const xop *x = o->ext;
  printf("#%s\n", o->text);
  int rc = 0;
  switch (x->kind) {
  case X_LOCK:
  case X_SEM:
    if (lock_live(x->k)) lock_free(x->k);
    locks[x->k].is_sem = x->kind == X_SEM;
    rc = x->kind == X_SEM ? df_semaphore_new(x->n, &locks[x->k].sem)
                          : df_lock_new(&locks[x->k].lock);
    break;
  case X_QUEUE:
    if (queues[x->k]) queue_free(x->k);
    rc = df_queue_new(x->size, x->backlog, &queues[x->k]);
    break;
  case X_LFREE:
  case X_QFREE:
    if (x->kind == X_LFREE ? !lock_live(x->obj) : !queues[x->obj]) {
      rc = RC_EMPTY;
      break;
    }
    if (x->kind == X_LFREE)
      lock_free(x->obj);
    else
      queue_free(x->obj);
    break;
  case X_UNLOCK: rc = lock_release(x->obj); break;
  case X_PUT:
    if (!queues[x->obj]) {
      rc = RC_EMPTY;
      break;
    }
    rc = df_queue_put(queues[x->obj],
                      x->flag
                          ? df_failed(df_failure_new(&df_error_exception, "%s", o->msg))
                          : dt_value_result(&o->v));
    break;
  case X_ACQUIRE:
  case X_RUN: {
    if (!lock_live(x->obj)) {
      rc = RC_EMPTY;
      break;
    }
    const prim *p = &locks[x->obj];
    int s = compose_serial();
    df_deferred *d;
    if (x->kind == X_ACQUIRE)
      d = p->is_sem ? df_semaphore_acquire_at(p->sem, "compose", s, "acquire")
                    : df_lock_acquire_at(p->lock, "compose", s, "acquire");
    else
      d = p->is_sem ? df_semaphore_run_at(p->sem, call_function, x->fn,
                                          "compose", s, "run")
                    : df_lock_run_at(p->lock, call_function, x->fn, "compose", s,
                                     "run");
    compose_fill(x->k, d);
    break;
  }
  case X_GET:
    if (!queues[x->obj]) {
      rc = RC_EMPTY;
      break;
    }
    compose_fill(x->k, df_queue_get_at(queues[x->obj], "compose", compose_serial(), "get"));
    break;
  case X_LIST:
  case X_GATHER: {
    df_deferred *members[MAX_MEMBERS];
    for (int i = 0; i < x->n_members; i++) {
      members[i] = dt_slots[x->members[i]];
      if (!members[i]) rc = RC_EMPTY;
    }
    if (rc) break;
    int s = compose_serial();
    compose_fill(x->k, x->kind == X_LIST
                   ? df_deferred_list_at(members, (size_t)x->n_members, x->flags,
                                         "compose", s, "list")
                   : df_gather_results_at(members, (size_t)x->n_members,
                                          x->flags != 0, "compose", s, "gather"));
    break;
  }
  case X_SHOW:
    show(x->show);
    return;
  default:
    time_run_op(x);
    return;
  }
  printf("= %s\n", compose_rc_text(rc));
}

/* --- the end of a program ------------------------------------------------------------ */

static void finish(void) {
  dt_print_slot_states();
  for (int k = 0; k < MAX_PRIMS; k++)
    if (lock_live(k)) show_lock(k);
  for (int k = 0; k < MAX_PRIMS; k++)
    if (queues[k]) show_queue(k);
  time_print_states();
  dt_release_slots();
  for (int k = 0; k < MAX_PRIMS; k++) {
    if (!lock_live(k)) continue;
    printf("free L%d\n", k);
    lock_free(k);
  }
  for (int k = 0; k < MAX_PRIMS; k++) {
    if (!queues[k]) continue;
    printf("free Q%d\n", k);
    queue_free(k);
  }
  time_end();
}

int main(void) {
  dt_owned_strings = false; /* values never move (docs: difference 13) */
  dt_print = (dt_print_hooks){print_result, print_failure};
  dt_actions = (dt_action_hooks){parse_action, run_action, time_call_suffix};
  static const dt_runner runner = {parse_op, run_op, time_begin, finish};
  return dt_main(&runner);
}
