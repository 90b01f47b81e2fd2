/* difftest_runner: the C side of the differential test against Twisted.
 *
 * Reads programs on stdin, separated by lines "---", runs each through
 * libdeferred and prints its trace followed by a line "=== end". The
 * program format and the trace format are described in README.md next to
 * this file; twisted_runner.py prints the same trace from real Twisted,
 * and run.py generates programs and compares the two.
 *
 * Every deferred gets a serial number (D0, D1, ... in creation order),
 * stored as the `line` of its creation site so that the unhandled-failure
 * handler can name it without a side table.
 */
#include <deferred.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS 16
#define MAX_TEXT 32

/* --- values ------------------------------------------------------------- */

typedef enum { V_NONE, V_INT, V_STR } vkind;
typedef struct value {
  vkind kind;
  int64_t i;
  char s[MAX_TEXT];
} value;

static df_result value_result(const value *v) {
  switch (v->kind) {
  case V_INT: return df_int(v->i);
  case V_STR: return df_string_dup(v->s);
  default: return df_none();
  }
}

/* --- actions and stages ------------------------------------------------- */

typedef enum {
  A_NONE, /* '-': no function on this side (pass-through) */
  A_RET, A_FAIL, A_PASS, A_WAIT, A_FIRE, A_ERR, A_CANCEL, A_PAUSE,
  A_UNPAUSE, A_ADD
} akind;

typedef struct stage stage;
typedef struct action {
  akind kind;
  int slot;
  value v;            /* A_RET, A_FIRE */
  char msg[MAX_TEXT]; /* A_FAIL, A_ERR */
  stage *sub;         /* A_ADD: the stage added (both sides) */
} action;

struct stage {
  char label[24];
  action cb, eb;
};

typedef enum {
  O_NEW, O_ADD, O_BOTH, O_CALLBACK, O_ERRBACK, O_PAUSE, O_UNPAUSE, O_CANCEL,
  O_CHAIN, O_RELEASE
} okind;

typedef enum { C_NONE, C_NOOP, C_CB, C_EB } ckind;
typedef struct canceller_spec {
  ckind kind;
  value v;
  char msg[MAX_TEXT];
} canceller_spec;

typedef struct op {
  okind kind;
  int slot, slot2;
  value v;
  char msg[MAX_TEXT];
  canceller_spec canc;
  stage *st;
  char text[512];
} op;

/* Every stage and canceller spec of a program lives in this arena, freed
 * when the next program starts (after all its deferreds are released). */
typedef struct arena {
  void **items;
  size_t len, cap;
} arena;
static arena mem;

static void *arena_alloc(size_t n) {
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

/* --- output ------------------------------------------------------------- */

static int serial_of(const df_deferred *d) {
  return df_deferred_created_site(d).line;
}

static void print_failure(const df_failure *f) {
  const char *type = df_failure_type(f)->name;
  const char *msg = df_failure_message(f);
  /* AlreadyCalledError: Twisted's has no message, ours explains itself. */
  if (df_failure_type(f) == &df_error_already_called || !*msg)
    printf("F(%s)", type);
  else
    printf("F(%s:%s)", type, msg);
}

static void print_result(const df_result *r) {
  switch (r->kind) {
  case DF_NONE: printf("None"); break;
  case DF_INT: printf("%" PRId64, r->u.i); break;
  case DF_STRING: printf("'%s'", r->u.s); break;
  case DF_FAILURE: print_failure(r->u.failure); break;
  case DF_DEFERRED: printf("wait D%d", serial_of(r->u.deferred)); break;
  default: printf("?"); break;
  }
}

static const char *rc_text(int rc) {
  switch (rc) {
  case 0: return "ok";
  case DF_EALREADY_CALLED: return "AlreadyCalled";
  case DF_EINVAL: return "EINVAL";
  default: return "error";
  }
}

static void on_unhandled(const df_unhandled *r, void *arg) {
  (void)arg;
  if (r->at_exit) return; /* only after the last program: not compared */
  printf("unhandled D%d ", r->created.line);
  print_failure(r->failure);
  printf("\n");
}

/* --- the program state -------------------------------------------------- */

static df_deferred *slots[MAX_SLOTS];
static int next_serial;

static void release_slot(int k) {
  df_deferred *d = slots[k];
  slots[k] = NULL;
  df_deferred_unref(d);
}

static void run_canceller(df_deferred *d, void *arg) {
  const canceller_spec *c = arg;
  printf("  canceller D%d\n", serial_of(d));
  int rc = 0;
  if (c->kind == C_CB)
    rc = df_deferred_callback(d, value_result(&c->v));
  else if (c->kind == C_EB)
    rc = df_deferred_errback(d, df_failure_new(&df_error_exception, "%s", c->msg));
  else
    return;
  printf("  = %s\n", rc_text(rc));
}

static df_result run_stage(df_result in, const stage *st, const action *a,
                           const char *side);
static df_result on_cb(df_result in, void *arg) {
  const stage *st = arg;
  return run_stage(in, st, &st->cb, "cb");
}
static df_result on_eb(df_result in, void *arg) {
  const stage *st = arg;
  return run_stage(in, st, &st->eb, "eb");
}

static int add_stage(df_deferred *d, stage *st) {
  return df_deferred_add_callbacks(d, st->cb.kind == A_NONE ? NULL : on_cb, st,
                                   st->eb.kind == A_NONE ? NULL : on_eb, st);
}

static df_result run_stage(df_result in, const stage *st, const action *a,
                           const char *side) {
  printf("call %s %s ", st->label, side);
  print_result(&in);
  printf("\n");
  df_deferred *target = a->slot >= 0 && a->slot < MAX_SLOTS ? slots[a->slot] : NULL;
  int rc;
  switch (a->kind) {
  case A_RET:
    df_result_drop(in);
    return value_result(&a->v);
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
  case A_FIRE: rc = df_deferred_callback(target, value_result(&a->v)); break;
  case A_ERR:
    rc = df_deferred_errback(target,
                             df_failure_new(&df_error_exception, "%s", a->msg));
    break;
  case A_CANCEL: rc = df_deferred_cancel(target); break;
  case A_PAUSE: rc = df_deferred_pause(target); break;
  case A_UNPAUSE: rc = df_deferred_unpause(target); break;
  default: rc = add_stage(target, a->sub); break;
  }
  df_deferred_unref(target);
  printf("  %s d%d = %s\n", names[a->kind], a->slot, rc_text(rc));
  if (rc == DF_EALREADY_CALLED) { /* Twisted raises inside the callback */
    df_result_drop(in);
    return df_raise(&df_error_already_called, "%s", "");
  }
  return in;
}

/* --- parsing ------------------------------------------------------------ */

static int parse_value(const char *s, value *v) {
  memset(v, 0, sizeof *v);
  if (strcmp(s, "None") == 0) {
    v->kind = V_NONE;
  } else if (s[0] == '\'') {
    size_t n = strlen(s);
    if (n < 2 || s[n - 1] != '\'' || n - 2 >= MAX_TEXT) return -1;
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

static int parse_text(const char *s, char *out) {
  if (strlen(s) >= MAX_TEXT) return -1;
  strcpy(out, s);
  return 0;
}

static int parse_slot(const char *s) {
  char *end;
  long k = strtol(s, &end, 10);
  if (*end || end == s || k < 0 || k >= MAX_SLOTS) return -1;
  return (int)k;
}

/* "kind[:arg[:rest]]" */
static int parse_action(char *s, action *a, const char *label) {
  memset(a, 0, sizeof *a);
  a->slot = -1;
  if (strcmp(s, "-") == 0) { a->kind = A_NONE; return 0; }
  if (strcmp(s, "pass") == 0) { a->kind = A_PASS; return 0; }
  char *colon = strchr(s, ':');
  if (!colon) return -1;
  *colon = 0;
  char *arg = colon + 1;
  if (strcmp(s, "ret") == 0) { a->kind = A_RET; return parse_value(arg, &a->v); }
  if (strcmp(s, "fail") == 0) { a->kind = A_FAIL; return parse_text(arg, a->msg); }
  char *rest = strchr(arg, ':');
  if (rest) *rest++ = 0;
  a->slot = parse_slot(arg);
  if (a->slot < 0) return -1;
  if (strcmp(s, "wait") == 0) a->kind = A_WAIT;
  else if (strcmp(s, "fire") == 0) a->kind = A_FIRE;
  else if (strcmp(s, "err") == 0) a->kind = A_ERR;
  else if (strcmp(s, "cancel") == 0) a->kind = A_CANCEL;
  else if (strcmp(s, "pause") == 0) a->kind = A_PAUSE;
  else if (strcmp(s, "unpause") == 0) a->kind = A_UNPAUSE;
  else if (strcmp(s, "add") == 0) a->kind = A_ADD;
  else return -1;
  if ((a->kind == A_FIRE || a->kind == A_ERR || a->kind == A_ADD) != (rest != NULL))
    return -1;
  if (a->kind == A_FIRE) return parse_value(rest, &a->v);
  if (a->kind == A_ERR) return parse_text(rest, a->msg);
  if (a->kind == A_ADD) {
    stage *sub = arena_alloc(sizeof *sub);
    snprintf(sub->label, sizeof sub->label, "%sa", label);
    if (parse_action(rest, &sub->cb, sub->label) != 0) return -1;
    if (sub->cb.kind != A_RET && sub->cb.kind != A_FAIL &&
        sub->cb.kind != A_PASS && sub->cb.kind != A_WAIT)
      return -1;
    sub->eb = sub->cb;
    a->sub = sub;
  }
  return 0;
}

static int parse_op(char *line, int index, op *o) {
  memset(o, 0, sizeof *o);
  snprintf(o->text, sizeof o->text, "%s", line);
  char *tok[5] = {0};
  int n = 0;
  for (char *t = strtok(line, " \t"); t && n < 5; t = strtok(NULL, " \t"))
    tok[n++] = t;
  if (n < 2) return -1;
  o->slot = parse_slot(tok[1]);
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
        if (parse_value(c + 10, &o->canc.v)) return -1;
      } else if (strncmp(c, "cancel:eb:", 10) == 0) {
        o->canc.kind = C_EB;
        if (parse_text(c + 10, o->canc.msg)) return -1;
      } else return -1;
    } else if (n != 2) return -1;
    return 0;
  }
  if (strcmp(k, "add") == 0 || strcmp(k, "both") == 0) {
    bool both = k[0] == 'b';
    if (n != (both ? 3 : 4)) return -1;
    o->kind = both ? O_BOTH : O_ADD;
    o->st = arena_alloc(sizeof *o->st);
    snprintf(o->st->label, sizeof o->st->label, "s%d", index);
    if (parse_action(tok[2], &o->st->cb, o->st->label)) return -1;
    if (both) {
      if (o->st->cb.kind == A_NONE) return -1;
      /* the same function on both sides: re-parse for a separate sub stage */
      char again[512];
      snprintf(again, sizeof again, "%s", o->text);
      char *t = strtok(again, " \t");
      t = strtok(NULL, " \t");
      t = strtok(NULL, " \t");
      return t ? parse_action(t, &o->st->eb, o->st->label) : -1;
    }
    return parse_action(tok[3], &o->st->eb, o->st->label);
  }
  if (strcmp(k, "callback") == 0 && n == 3) {
    o->kind = O_CALLBACK;
    return parse_value(tok[2], &o->v);
  }
  if (strcmp(k, "errback") == 0 && n == 3) {
    o->kind = O_ERRBACK;
    return parse_text(tok[2], o->msg);
  }
  if (strcmp(k, "chain") == 0 && n == 3) {
    o->kind = O_CHAIN;
    o->slot2 = parse_slot(tok[2]);
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

/* --- running ------------------------------------------------------------ */

static void run_op(const op *o) {
  printf("#%s\n", o->text);
  df_deferred *d = slots[o->slot];
  if (o->kind == O_NEW) {
    if (d) release_slot(o->slot);
    df_canceller_fn fn = o->canc.kind == C_NONE ? NULL : run_canceller;
    slots[o->slot] = df_deferred_new_at(fn, (void *)&o->canc, "difftest",
                                        next_serial++, "new");
    if (!slots[o->slot]) abort();
    return;
  }
  if (!d) {
    printf("= empty\n");
    return;
  }
  int rc = 0;
  switch (o->kind) {
  case O_ADD:
  case O_BOTH: rc = add_stage(d, o->st); break;
  case O_CALLBACK: rc = df_deferred_callback(d, value_result(&o->v)); break;
  case O_ERRBACK:
    rc = df_deferred_errback(d, df_failure_new(&df_error_exception, "%s", o->msg));
    break;
  case O_PAUSE: rc = df_deferred_pause(d); break;
  case O_UNPAUSE: rc = df_deferred_unpause(d); break;
  case O_CANCEL: rc = df_deferred_cancel(d); break;
  case O_CHAIN:
    if (!slots[o->slot2]) {
      printf("= empty\n");
      return;
    }
    rc = df_deferred_chain(d, slots[o->slot2]);
    break;
  case O_RELEASE: release_slot(o->slot); break;
  default: break;
  }
  printf("= %s\n", rc_text(rc));
}

static void finish_program(void) {
  for (int k = 0; k < MAX_SLOTS; k++) {
    df_deferred *d = slots[k];
    if (!d) continue;
    printf("state d%d D%d called=%d paused=%d pending=%zu result=", k,
           serial_of(d), df_deferred_called(d) ? 1 : 0, df_deferred_paused(d),
           df_deferred_pending_stages(d));
    const df_result *r = df_deferred_result(d);
    if (r)
      print_result(r);
    else
      printf("-");
    printf("\n");
  }
  for (int k = 0; k < MAX_SLOTS; k++) {
    if (!slots[k]) continue;
    printf("release d%d\n", k);
    release_slot(k);
  }
  printf("=== end\n");
  fflush(stdout);
}

int main(void) {
  df_set_unhandled_handler(on_unhandled, NULL);
  static char line[512];
  static op ops[4096];
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
          next_serial = 0;
          for (int i = 0; i < n; i++) run_op(&ops[i]);
          finish_program();
        }
        arena_reset();
        n = 0;
        bad = false;
      }
      if (eof) break;
      continue;
    }
    if (bad) continue;
    if (n == (int)(sizeof ops / sizeof ops[0]) || parse_op(line, n, &ops[n]) != 0) {
      fprintf(stderr, "parse error: %s\n", line);
      bad = true;
      continue;
    }
    n++;
  }
  free(mem.items);
  return 0;
}
