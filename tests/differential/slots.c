/* Slot programs, the part both C runners share (slots.h says what is
 * here and how a runner extends it). */
#include "slots.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- values ------------------------------------------------------------- */

bool dt_owned_strings = true;

df_result dt_value_result(const dt_value *v) {
  switch (v->kind) {
  case V_INT: return df_int(v->i);
  case V_STR: return dt_owned_strings ? df_string_dup(v->s) : df_string(v->s);
  default: return df_none();
  }
}

int dt_parse_value(const char *s, dt_value *v) {
  memset(v, 0, sizeof *v);
  if (strcmp(s, "None") == 0) {
    v->kind = V_NONE;
  } else if (s[0] == '\'') {
    size_t n = strlen(s);
    if (n < 2 || s[n - 1] != '\'' || n - 2 >= DT_MAX_TEXT) return -1;
    v->kind = V_STR;
    memcpy(v->s, s + 1, n - 2);
    v->s[n - 2] = 0;
  } else {
    char *end;
    v->kind = V_INT;
    v->i = strtoll(s, &end, 10);
    if (*end || end == s) return -1;
  }
  return 0;
}

int dt_parse_text(const char *s, char *out) {
  if (strlen(s) >= DT_MAX_TEXT) return -1;
  strcpy(out, s);
  return 0;
}

int dt_parse_slot(const char *s) {
  char *end;
  long k = strtol(s, &end, 10);
  if (*end || end == s || k < 0 || k >= DT_MAX_SLOTS) return -1;
  return (int)k;
}

/* --- the trace's text ----------------------------------------------------- */

dt_print_hooks dt_print;

void dt_print_failure(const df_failure *f) {
  if (dt_print.failure && dt_print.failure(f)) return;
  const char *type = df_failure_type(f)->name;
  const char *msg = df_failure_message(f);
  /* AlreadyCalledError: Twisted's has no message, ours explains itself. */
  if (df_failure_type(f) == &df_error_already_called || !*msg)
    printf("F(%s)", type);
  else
    printf("F(%s:%s)", type, msg);
}

void dt_print_result(const df_result *r) {
  switch (r->kind) {
  case DF_NONE: printf("None"); break;
  case DF_INT: printf("%" PRId64, r->u.i); break;
  case DF_STRING: printf("'%s'", r->u.s); break;
  case DF_FAILURE: dt_print_failure(r->u.failure); break;
  case DF_DEFERRED: printf("wait D%d", dt_serial_of(r->u.deferred)); break;
  default:
    if (!dt_print.result || !dt_print.result(r)) printf("?");
    break;
  }
}

const char *dt_rc_text(int rc) {
  switch (rc) {
  case 0: return "ok";
  case DF_EALREADY_CALLED: return "AlreadyCalled";
  case DF_EALREADY_CANCELLED: return "AlreadyCancelled";
  case DF_EINVAL: return "EINVAL";
  case DF_EQUEUE_OVERFLOW: return "QueueOverflow";
  case DF_ENOMEM: return "ENOMEM";
  default: return "error";
  }
}

static void on_unhandled(const df_unhandled *r, void *arg) {
  (void)arg;
  if (r->at_exit) return; /* only after the last program: not compared */
  printf("unhandled D%d ", r->created.line);
  dt_print_failure(r->failure);
  printf("\n");
}

/* --- the program's memory --------------------------------------------------- */

/* Every stage and canceller spec of a program lives in this arena, freed
 * when the next program starts (after all its deferreds are released). */
typedef struct arena {
  void **items;
  size_t len, cap;
} arena;
static arena mem;

void *dt_arena_alloc(size_t n) {
  if (mem.len == mem.cap) {
    mem.cap = mem.cap ? 2 * mem.cap : 64;
    mem.items = realloc(mem.items, mem.cap * sizeof *mem.items);
    if (!mem.items) abort();
  }
  void *p = calloc(1, n);
  if (!p) abort();
  mem.items[mem.len++] = p;
  return p;
}

static void arena_reset(void) {
  for (size_t i = 0; i < mem.len; i++) free(mem.items[i]);
  mem.len = 0;
}

/* --- slots -------------------------------------------------------------------- */

df_deferred *dt_slots[DT_MAX_SLOTS];
int dt_next_serial;

int dt_serial_of(const df_deferred *d) { return df_deferred_created_site(d).line; }

void dt_release_slot(int k) {
  df_deferred *d = dt_slots[k];
  dt_slots[k] = NULL;
  df_deferred_unref(d);
}

/* --- actions and stages --------------------------------------------------------- */

dt_action_hooks dt_actions;

static df_result on_cb(df_result in, void *arg);
static df_result on_eb(df_result in, void *arg);

int dt_add_stage(df_deferred *d, dt_stage *st) {
  return df_deferred_add_callbacks(d, st->cb.kind == A_NONE ? NULL : on_cb, st,
                                   st->eb.kind == A_NONE ? NULL : on_eb, st);
}

static df_result run_stage(df_result in, const dt_stage *st, const dt_action *a,
                           const char *side) {
  printf("call %s %s ", st->label, side);
  dt_print_result(&in);
  if (dt_actions.call_suffix) dt_actions.call_suffix();
  printf("\n");
  return dt_run_action(a, in);
}

static df_result on_cb(df_result in, void *arg) {
  const dt_stage *st = arg;
  return run_stage(in, st, &st->cb, "cb");
}

static df_result on_eb(df_result in, void *arg) {
  const dt_stage *st = arg;
  return run_stage(in, st, &st->eb, "eb");
}

df_result dt_run_action(const dt_action *a, df_result in) {
  df_deferred *target =
      a->slot >= 0 && a->slot < DT_MAX_SLOTS ? dt_slots[a->slot] : NULL;
  int rc;
  switch (a->kind) {
  case A_RET:
    df_result_drop(in);
    return dt_value_result(&a->v);
  case A_FAIL:
    df_result_drop(in);
    return df_raise(&df_error_exception, "%s", a->msg);
  case A_WAIT:
    df_result_drop(in);
    if (!target) return df_raise(&df_error_exception, "empty");
    return df_wait_on(df_deferred_ref(target));
  case A_NONE:
  case A_PASS:
    return in;
  case A_EXT:
    return dt_actions.run(a, in);
  default:
    break;
  }
  /* Actions on another slot's deferred; the input passes through. */
  static const char *names[] = {[A_FIRE] = "callback", [A_ERR] = "errback",
                                [A_CANCEL] = "cancel", [A_PAUSE] = "pause",
                                [A_UNPAUSE] = "unpause", [A_ADD] = "add"};
  if (!target) {
    printf("  %s d%d = empty\n", names[a->kind], a->slot);
    return in;
  }
  df_deferred_ref(target); /* as Python's local variable would */
  switch (a->kind) {
  case A_FIRE: rc = df_deferred_callback(target, dt_value_result(&a->v)); break;
  case A_ERR:
    rc = df_deferred_errback(target,
                             df_failure_new(&df_error_exception, "%s", a->msg));
    break;
  case A_CANCEL: rc = df_deferred_cancel(target); break;
  case A_PAUSE: rc = df_deferred_pause(target); break;
  case A_UNPAUSE: rc = df_deferred_unpause(target); break;
  default: rc = dt_add_stage(target, a->sub); break;
  }
  df_deferred_unref(target);
  printf("  %s d%d = %s\n", names[a->kind], a->slot, dt_rc_text(rc));
  if (rc == DF_EALREADY_CALLED) { /* Twisted raises inside the callback */
    df_result_drop(in);
    return df_raise(&df_error_already_called, "%s", "");
  }
  return in;
}

int dt_parse_action(char *s, dt_action *a, const char *label) {
  memset(a, 0, sizeof *a);
  a->slot = -1;
  if (strcmp(s, "-") == 0) { a->kind = A_NONE; return 0; }
  if (strcmp(s, "pass") == 0) { a->kind = A_PASS; return 0; }
  char *colon = strchr(s, ':');
  if (!colon) return -1;
  *colon = 0;
  char *arg = colon + 1;
  if (strcmp(s, "ret") == 0) { a->kind = A_RET; return dt_parse_value(arg, &a->v); }
  if (strcmp(s, "fail") == 0) { a->kind = A_FAIL; return dt_parse_text(arg, a->msg); }
  static const struct {
    const char *name;
    dt_akind kind;
  } on_slot[] = {{"wait", A_WAIT},   {"fire", A_FIRE},       {"err", A_ERR},
                 {"cancel", A_CANCEL}, {"pause", A_PAUSE},   {"unpause", A_UNPAUSE},
                 {"add", A_ADD}};
  size_t k = 0, n = sizeof on_slot / sizeof on_slot[0];
  while (k < n && strcmp(s, on_slot[k].name) != 0) k++;
  if (k == n) {
    if (!dt_actions.parse || dt_actions.parse(s, arg, a) != 0) return -1;
    a->kind = A_EXT;
    return 0;
  }
  a->kind = on_slot[k].kind;
  char *rest = strchr(arg, ':');
  if (rest) *rest++ = 0;
  a->slot = dt_parse_slot(arg);
  if (a->slot < 0) return -1;
  if ((a->kind == A_FIRE || a->kind == A_ERR || a->kind == A_ADD) != (rest != NULL))
    return -1;
  if (a->kind == A_FIRE) return dt_parse_value(rest, &a->v);
  if (a->kind == A_ERR) return dt_parse_text(rest, a->msg);
  if (a->kind == A_ADD) {
    dt_stage *sub = dt_arena_alloc(sizeof *sub);
    snprintf(sub->label, sizeof sub->label, "%sa", label);
    if (dt_parse_action(rest, &sub->cb, sub->label) != 0) return -1;
    if (sub->cb.kind != A_RET && sub->cb.kind != A_FAIL &&
        sub->cb.kind != A_PASS && sub->cb.kind != A_WAIT)
      return -1;
    sub->eb = sub->cb;
    a->sub = sub;
  }
  return 0;
}

/* --- cancellers ------------------------------------------------------------------ */

static void run_canceller(df_deferred *d, void *arg) {
  const dt_canceller *c = arg;
  printf("  canceller D%d\n", dt_serial_of(d));
  int rc = 0;
  if (c->kind == C_CB)
    rc = df_deferred_callback(d, dt_value_result(&c->v));
  else if (c->kind == C_EB)
    rc = df_deferred_errback(d, df_failure_new(&df_error_exception, "%s", c->msg));
  else
    return;
  printf("  = %s\n", dt_rc_text(rc));
}

/* --- operations -------------------------------------------------------------------- */

int dt_parse_op(char *line, int index, dt_op *o) {
  memset(o, 0, sizeof *o);
  snprintf(o->text, sizeof o->text, "%s", line);
  char *tok[5] = {0};
  int n = 0;
  char copy[DT_LINE_MAX];
  snprintf(copy, sizeof copy, "%s", line);
  for (char *t = strtok(copy, " \t"); t && n < 5; t = strtok(NULL, " \t"))
    tok[n++] = t;
  if (n < 2) return -1;
  static const char *const known[] = {"new",   "add",     "both",   "callback",
                                      "errback", "pause", "unpause", "cancel",
                                      "chain", "release"};
  size_t kn = sizeof known / sizeof known[0], which = 0;
  while (which < kn && strcmp(tok[0], known[which]) != 0) which++;
  if (which == kn) return 1;
  o->slot = dt_parse_slot(tok[1]);
  if (o->slot < 0) return -1;
  const char *k = tok[0];
  if (strcmp(k, "new") == 0) {
    o->kind = O_NEW;
    o->canc.kind = C_NONE;
    if (n == 3) {
      char *c = tok[2];
      if (strcmp(c, "cancel:none") == 0) o->canc.kind = C_NOOP;
      else if (strncmp(c, "cancel:cb:", 10) == 0) {
        o->canc.kind = C_CB;
        if (dt_parse_value(c + 10, &o->canc.v)) return -1;
      } else if (strncmp(c, "cancel:eb:", 10) == 0) {
        o->canc.kind = C_EB;
        if (dt_parse_text(c + 10, o->canc.msg)) return -1;
      } else return -1;
    } else if (n != 2) return -1;
    return 0;
  }
  if (strcmp(k, "add") == 0 || strcmp(k, "both") == 0) {
    bool both = k[0] == 'b';
    if (n != (both ? 3 : 4)) return -1;
    o->kind = both ? O_BOTH : O_ADD;
    o->st = dt_arena_alloc(sizeof *o->st);
    snprintf(o->st->label, sizeof o->st->label, "s%d", index);
    char action[DT_LINE_MAX];
    snprintf(action, sizeof action, "%s", tok[2]);
    if (dt_parse_action(action, &o->st->cb, o->st->label)) return -1;
    if (both && o->st->cb.kind == A_NONE) return -1;
    /* both: the same function on both sides, parsed again for a
     * separate sub stage */
    snprintf(action, sizeof action, "%s", tok[both ? 2 : 3]);
    return dt_parse_action(action, &o->st->eb, o->st->label);
  }
  if (strcmp(k, "callback") == 0 && n == 3) {
    o->kind = O_CALLBACK;
    return dt_parse_value(tok[2], &o->v);
  }
  if (strcmp(k, "errback") == 0 && n == 3) {
    o->kind = O_ERRBACK;
    return dt_parse_text(tok[2], o->msg);
  }
  if (strcmp(k, "chain") == 0 && n == 3) {
    o->kind = O_CHAIN;
    o->slot2 = dt_parse_slot(tok[2]);
    return o->slot2 < 0 ? -1 : 0;
  }
  if (n != 2) return -1;
  if (strcmp(k, "pause") == 0) o->kind = O_PAUSE;
  else if (strcmp(k, "unpause") == 0) o->kind = O_UNPAUSE;
  else if (strcmp(k, "cancel") == 0) o->kind = O_CANCEL;
  else if (strcmp(k, "release") == 0) o->kind = O_RELEASE;
  else return -1;
  return 0;
}

void dt_run_op(const dt_op *o) {
  printf("#%s\n", o->text);
  df_deferred *d = dt_slots[o->slot];
  if (o->kind == O_NEW) {
    if (d) dt_release_slot(o->slot);
    df_canceller_fn fn = o->canc.kind == C_NONE ? NULL : run_canceller;
    dt_slots[o->slot] = df_deferred_new_at(fn, (void *)&o->canc, "difftest",
                                           dt_next_serial++, "new");
    if (!dt_slots[o->slot]) abort();
    return;
  }
  if (!d) {
    printf("= empty\n");
    return;
  }
  int rc = 0;
  switch (o->kind) {
  case O_ADD:
  case O_BOTH: rc = dt_add_stage(d, o->st); break;
  case O_CALLBACK: rc = df_deferred_callback(d, dt_value_result(&o->v)); break;
  case O_ERRBACK:
    rc = df_deferred_errback(d, df_failure_new(&df_error_exception, "%s", o->msg));
    break;
  case O_PAUSE: rc = df_deferred_pause(d); break;
  case O_UNPAUSE: rc = df_deferred_unpause(d); break;
  case O_CANCEL: rc = df_deferred_cancel(d); break;
  case O_CHAIN:
    if (!dt_slots[o->slot2]) {
      printf("= empty\n");
      return;
    }
    rc = df_deferred_chain(d, dt_slots[o->slot2]);
    break;
  case O_RELEASE: dt_release_slot(o->slot); break;
  default: break;
  }
  printf("= %s\n", dt_rc_text(rc));
}

void dt_print_slot_state(int k) {
  df_deferred *d = dt_slots[k];
  printf("state d%d D%d called=%d paused=%d pending=%zu result=", k,
         dt_serial_of(d), df_deferred_called(d) ? 1 : 0, df_deferred_paused(d),
         df_deferred_pending_stages(d));
  const df_result *r = df_deferred_result(d);
  if (r)
    dt_print_result(r);
  else
    printf("-");
  printf("\n");
}

void dt_print_slot_states(void) {
  for (int k = 0; k < DT_MAX_SLOTS; k++)
    if (dt_slots[k]) dt_print_slot_state(k);
}

void dt_release_slots(void) {
  for (int k = 0; k < DT_MAX_SLOTS; k++) {
    if (!dt_slots[k]) continue;
    printf("release d%d\n", k);
    dt_release_slot(k);
  }
}

/* --- the program loop ------------------------------------------------------------ */

int dt_main(const dt_runner *runner) {
  df_set_unhandled_handler(on_unhandled, NULL);
  static char line[DT_LINE_MAX];
  static dt_op ops[4096];
  int n = 0;
  bool bad = false;
  for (;;) {
    bool eof = !fgets(line, sizeof line, stdin);
    if (!eof) {
      line[strcspn(line, "\r\n")] = 0;
      if (line[0] == '#' || line[0] == 0) continue;
    }
    if (eof || strcmp(line, "---") == 0) {
      if (n > 0 || bad) {
        if (bad) {
          printf("parse error\n=== end\n");
        } else {
          dt_next_serial = 0;
          if (runner->begin) runner->begin();
          for (int i = 0; i < n; i++) {
            if (ops[i].kind == O_EXT)
              runner->run_op(&ops[i]);
            else
              dt_run_op(&ops[i]);
          }
          runner->finish();
          printf("=== end\n");
          fflush(stdout);
        }
        arena_reset();
        n = 0;
        bad = false;
      }
      if (eof) break;
      continue;
    }
    if (bad) continue;
    int rc = -1;
    if (n < (int)(sizeof ops / sizeof ops[0])) {
      rc = dt_parse_op(line, n, &ops[n]);
      if (rc == 1)
        rc = runner->parse_op ? runner->parse_op(line, n, &ops[n]) : -1;
    }
    if (rc != 0) {
      fprintf(stderr, "parse error: %s\n", line);
      bad = true;
      continue;
    }
    n++;
  }
  free(mem.items);
  return 0;
}
