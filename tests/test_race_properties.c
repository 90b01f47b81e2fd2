/* Property tests of race, first success and the cancelling gather
 * (deferred/race.h, DF_LIST_CANCEL_PENDING), which Twisted 22.4 lacks and
 * so the differential test cannot cover.
 *
 * Each scenario, drawn from a fixed seed, is a handful of members and a
 * sequence of events, run twice: through the library, and through a
 * model that restates the rules of race.h and list.h in the plainest way
 * (synchronous recursion, one flag per member). Members succeed or fail,
 * some before construction; they have no canceller, one that does
 * nothing, one that fires them with a success or a failure, one that
 * fires another member, or one that cancels the combined deferred; the
 * events fire members, cancel members directly, and cancel the combined
 * deferred at random points. After each scenario we compare:
 *
 *   - the order in which members were cancelled (each at most once, in
 *     input order within each walk) and how often each was;
 *   - what the combined deferred fired with (value and index, FirstError,
 *     FailureGroup, array, CancelledError, or nothing);
 *   - what each member's chain went on with (None, its value, a failure),
 *     and so how many unhandled failures are reported when it goes;
 *   - that every owned value is destroyed exactly once, and that no
 *     allocation is left once everything is released (a counting
 *     allocator), so nothing leaks on any path.
 *
 * A failing scenario prints its seed index and both sides' records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "deferred.h"
#include "support.h"

enum { SCENARIOS = 20000, MAX_MEMBERS = 6, MAX_EVENTS = 14 };

/* --- scenarios ------------------------------------------------------------ */

enum mode { MODE_RACE, MODE_FIRST_SUCCESS, MODE_GATHER_CANCEL, MODES };
static const char *const mode_names[MODES] = {"race", "first_success",
                                              "gather_ex(CANCEL_PENDING)"};

/* How a member ends: its result kinds. */
enum kind { K_SUCCESS, K_FAILURE, K_CANCELLED };

enum canceller {
  C_NONE,         /* no canceller: CancelledError (rule 24)             */
  C_IDLE,         /* does nothing: CancelledError                       */
  C_SUCCEED,      /* fires its member with a success                    */
  C_FAIL,         /* fires its member with a failure of its own         */
  C_FIRE_OTHER,   /* fires another member, then leaves its own          */
  C_CANCEL_COMBINED, /* cancels the combined deferred (once it exists)  */
  CANCELLERS
};

enum event { E_FIRE, E_CANCEL_MEMBER, E_CANCEL_COMBINED };

typedef struct member_spec {
  int prefire;    /* -1, or the kind it fired with before construction */
  int canceller;  /* enum canceller                                    */
  int other;      /* C_FIRE_OTHER: which member, and with what kind    */
  int other_kind;
  bool owned;     /* its success value owns memory (df_pointer+destroy) */
} member_spec;

typedef struct scenario {
  int mode;
  bool consume;
  int n;
  member_spec m[MAX_MEMBERS];
  int events;
  struct {
    int what, member, kind;
  } e[MAX_EVENTS];
} scenario;

static uint64_t rng_state;
static uint64_t next_random(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}
static int below(int n) { return (int)(next_random() % (uint64_t)n); }

static void draw(scenario *s) {
  memset(s, 0, sizeof *s);
  s->mode = below(MODES);
  s->consume = below(2);
  s->n = below(MAX_MEMBERS + 1);
  for (int i = 0; i < s->n; i++) {
    member_spec *m = &s->m[i];
    m->prefire = below(6) == 0 ? below(2) : -1; /* success or failure */
    m->canceller = below(CANCELLERS);
    m->other = s->n > 1 ? (i + 1 + below(s->n - 1)) % s->n : i;
    if (m->other == i) m->canceller = C_IDLE;
    m->other_kind = below(2);
    m->owned = below(2);
  }
  s->events = below(MAX_EVENTS + 1);
  for (int k = 0; k < s->events; k++) {
    int r = below(10);
    s->e[k].what = r < 6 ? E_FIRE : r < 8 ? E_CANCEL_MEMBER : E_CANCEL_COMBINED;
    s->e[k].member = s->n ? below(s->n) : 0;
    s->e[k].kind = below(2);
    if (s->n == 0) s->e[k].what = E_CANCEL_COMBINED;
  }
}

/* --- what both sides record ------------------------------------------------ */


typedef struct record {
  char cancels[64]; /* "0 2 | 3 ": members in the order cancelled, and
                       when the combined deferred fired */
  int cancel_count[MAX_MEMBERS];
  char outcome[96];          /* what the combined deferred fired with    */
  char finals[MAX_MEMBERS + 1]; /* what each member's chain went on with
                                   once the combined deferred's stage had
                                   its result: u(nfired), n(one), v(alue),
                                   f(ailure) */
  int reports;               /* unhandled failures when all is released */
} record;

static void note_cancel(record *r, int i) {
  size_t len = strlen(r->cancels);
  snprintf(r->cancels + len, sizeof r->cancels - len, "%d ", i);
  r->cancel_count[i]++;
}

/* The combined deferred fired: "| " in the cancel log, so that the order
 * of cancels and fire is compared too. */
static void note_fired(record *r) {
  size_t len = strlen(r->cancels);
  snprintf(r->cancels + len, sizeof r->cancels - len, "| ");
}

/* The letter of a failure in outcomes: F for a member's own, C for a
 * CancelledError. */
static char failure_letter(int kind) { return kind == K_CANCELLED ? 'C' : 'F'; }

/* === the model ================================================================ */

typedef struct model {
  const scenario *s;
  record *r;
  bool fired[MAX_MEMBERS];       /* the member has its result              */
  int fired_kind[MAX_MEMBERS];
  bool attached[MAX_MEMBERS];    /* the combined's stage was added to it   */
  bool stage_pending[MAX_MEMBERS];
  bool recorded_failure[MAX_MEMBERS];
  int recorded_kind[MAX_MEMBERS];
  int attached_count, next_cancel, cancelling, finished;
  bool exists;   /* the combined deferred has been returned to the user  */
  bool decided;  /* has its outcome (about to fire with it, or fired)    */
  bool combined_fired;
} model;

static void model_fire(model *m, int i, int kind);

static void model_set_outcome(model *m, const char *text) {
  if (m->combined_fired) return; /* fired meanwhile: this one is dropped */
  m->combined_fired = true;
  if (m->exists) note_fired(m->r); /* else when the user's stage is added */
  snprintf(m->r->outcome, sizeof m->r->outcome, "%s", text);
}

static void model_cancel_member(model *m, int i);

/* The walk of list.c: each attached member still pending, in order. */
static void model_cancel_pending(model *m) {
  while (m->next_cancel < m->attached_count) {
    int i = m->next_cancel++;
    if (m->stage_pending[i]) model_cancel_member(m, i);
  }
}

/* The user cancels the combined deferred (rule C6, then C1). */
static void model_cancel_combined(model *m) {
  if (!m->exists || m->combined_fired) return;
  m->cancelling++;
  model_cancel_pending(m);
  m->cancelling--;
  model_set_outcome(m, "X"); /* still unfired: CancelledError */
}

/* df_deferred_cancel on an unfired member. */
static void model_cancel_member(model *m, int i) {
  if (m->fired[i]) return;
  const member_spec *spec = &m->s->m[i];
  if (spec->canceller != C_NONE) note_cancel(m->r, i);
  switch (spec->canceller) {
  case C_SUCCEED: model_fire(m, i, K_SUCCESS); break;
  case C_FAIL: model_fire(m, i, K_FAILURE); break;
  case C_FIRE_OTHER:
    if (!m->fired[spec->other]) model_fire(m, spec->other, spec->other_kind);
    break;
  case C_CANCEL_COMBINED: model_cancel_combined(m); break;
  default: break;
  }
  if (!m->fired[i]) model_fire(m, i, K_CANCELLED);
}

/* The outcome once every member is recorded without a decision. */
static void model_all_recorded(model *m) {
  if (m->decided || m->combined_fired) return;
  char text[96];
  size_t len = 0;
  if (m->s->mode == MODE_GATHER_CANCEL) {
    len += (size_t)snprintf(text, sizeof text, "A:");
    for (int i = 0; i < m->s->n; i++)
      len += (size_t)snprintf(text + len, sizeof text - len, "%d,", i);
  } else { /* every member failed: the group */
    len += (size_t)snprintf(text, sizeof text, "G:");
    for (int i = 0; i < m->s->n; i++)
      len += (size_t)snprintf(text + len, sizeof text - len, "%c%d,",
                              failure_letter(m->recorded_kind[i]), i);
  }
  model_set_outcome(m, text);
}

/* The combined deferred's stage on member i runs with a result of `kind`. */
static void model_stage(model *m, int i, int kind) {
  const scenario *s = m->s;
  bool failed = kind != K_SUCCESS;
  bool settled = m->decided || m->combined_fired;
  char *final = &m->r->finals[i];
  if (kind == K_CANCELLED && (settled || m->cancelling > 0)) {
    *final = 'n'; /* our own cancel's CancelledError: consumed */
    return;
  }
  if (settled) {
    *final = failed ? (s->consume ? 'n' : 'f') : 'v';
    return;
  }
  if (failed)
    *final = s->consume ? 'n' : 'f';
  else
    *final = s->m[i].owned ? 'n' : 'v'; /* owned values move */
  m->finished++;
  char text[96];
  if (!failed && s->mode != MODE_GATHER_CANCEL) {
    m->decided = true;
    snprintf(text, sizeof text, "S%d", i);
    model_cancel_pending(m);
    model_set_outcome(m, text);
  } else if (failed && s->mode != MODE_FIRST_SUCCESS) {
    m->decided = true;
    snprintf(text, sizeof text, "E%d:%c", i, failure_letter(kind));
    model_cancel_pending(m);
    model_set_outcome(m, text);
  } else {
    m->recorded_failure[i] = failed;
    m->recorded_kind[i] = kind;
    if (m->finished == s->n) model_all_recorded(m);
  }
}

/* Member i fires with `kind`: the stage runs now if attached. */
static void model_fire(model *m, int i, int kind) {
  m->fired[i] = true;
  m->fired_kind[i] = kind;
  m->r->finals[i] = kind == K_SUCCESS ? 'v' : 'f';
  if (m->stage_pending[i]) {
    m->stage_pending[i] = false;
    model_stage(m, i, kind);
  }
}

static void model_run(const scenario *s, record *r) {
  model m;
  memset(&m, 0, sizeof m);
  m.s = s;
  m.r = r;
  memset(r->finals, 'u', (size_t)s->n);
  for (int i = 0; i < s->n; i++)
    if (s->m[i].prefire >= 0) model_fire(&m, i, s->m[i].prefire);
  if (s->n == 0)
    model_set_outcome(&m, s->mode == MODE_GATHER_CANCEL ? "A:" : "G:");
  for (int i = 0; i < s->n; i++) {
    m.attached[i] = true;
    m.attached_count = i + 1;
    if (m.fired[i])
      model_stage(&m, i, m.fired_kind[i]);
    else
      m.stage_pending[i] = true;
  }
  if (m.decided) model_cancel_pending(&m);
  m.exists = true;
  if (m.combined_fired) note_fired(r); /* the stage added runs at once */
  for (int k = 0; k < s->events; k++) {
    int i = s->e[k].member;
    switch (s->e[k].what) {
    case E_FIRE:
      if (!m.fired[i]) model_fire(&m, i, s->e[k].kind);
      break;
    case E_CANCEL_MEMBER: model_cancel_member(&m, i); break;
    default: model_cancel_combined(&m); break;
    }
  }
  if (!m.combined_fired) snprintf(r->outcome, sizeof r->outcome, "U");
  for (int i = 0; i < s->n; i++) r->reports += r->finals[i] == 'f';
}

/* === the library ================================================================ */

static const scenario *current;
static record *real;
static df_deferred *members[MAX_MEMBERS];
static df_deferred *combined; /* NULL until the constructor returned */
static int indexes[MAX_MEMBERS];
static int value_slots[MAX_MEMBERS];
static int value_made[MAX_MEMBERS], value_destroyed[MAX_MEMBERS];
static int cancelled_directly[MAX_MEMBERS]; /* by an event, while unfired */

static void destroy_value(void *p) { value_destroyed[(int *)p - value_slots]++; }

static df_result result_of(int i, int kind) {
  if (kind == K_SUCCESS) {
    if (!current->m[i].owned) return df_int(i);
    value_made[i]++;
    return df_pointer(&value_slots[i], destroy_value);
  }
  return df_raise(&generic_error, "m%d", i);
}

static void fire(int i, int kind) {
  assert_int_equal(df_deferred_callback(members[i], result_of(i, kind)), 0);
}

static void real_canceller(df_deferred *d, void *arg) {
  int i = *(int *)arg;
  const member_spec *spec = &current->m[i];
  note_cancel(real, i);
  switch (spec->canceller) {
  case C_SUCCEED: fire(i, K_SUCCESS); break;
  case C_FAIL: fire(i, K_FAILURE); break;
  case C_FIRE_OTHER:
    if (!df_deferred_called(members[spec->other]))
      fire(spec->other, spec->other_kind);
    break;
  case C_CANCEL_COMBINED:
    if (combined) df_deferred_cancel(combined);
    break;
  default: break;
  }
  (void)d;
}

/* Which member's value a result is (for outcomes). */
static int value_member(df_result v) {
  if (v.kind == DF_INT) return (int)v.u.i;
  assert_int_equal(v.kind, DF_POINTER);
  return (int)((int *)v.u.p - value_slots);
}

static char failure_letter_of(const df_failure *f) {
  return df_failure_type(f) == &df_error_cancelled ? 'C' : 'F';
}

/* The combined deferred's last stage: writes what it fired with in the
 * model's words, and handles it. */
static df_result record_outcome(df_result r, void *arg) {
  (void)arg;
  note_fired(real);
  char *text = real->outcome;
  size_t size = sizeof real->outcome, len = 0;
  df_first_result *h = df_first_result_of(r);
  df_result_array *a = df_result_array_of(r);
  if (h) {
    assert_int_equal(value_member(h->value), (int)h->index);
    snprintf(text, size, "S%zu", h->index);
  } else if (a) {
    len += (size_t)snprintf(text, size, "A:");
    for (size_t i = 0; i < a->count; i++)
      len += (size_t)snprintf(text + len, size - len, "%d,",
                              value_member(a->items[i]));
  } else if (df_result_is_failure(r)) {
    const df_failure *f = r.u.failure;
    const df_first_error *fe = df_first_error_of(f);
    const df_failure_group *g = df_failure_group_of(f);
    if (fe) {
      snprintf(text, size, "E%zu:%c", fe->index,
               failure_letter_of(fe->sub_failure));
    } else if (g) {
      len += (size_t)snprintf(text, size, "G:");
      for (size_t i = 0; i < g->count; i++)
        len += (size_t)snprintf(text + len, size - len, "%c%zu,",
                                failure_letter_of(g->failures[i]), i);
    } else if (df_failure_type(f) == &df_error_cancelled) {
      snprintf(text, size, "X");
    } else {
      df_failure_brief(f, text, size); /* unexpected: shows in the diff */
    }
  } else {
    df_result_describe(r, text, size);
  }
  df_result_drop(r);
  return df_none();
}

static df_deferred *construct(const scenario *s) {
  unsigned consume = s->consume ? DF_LIST_CONSUME_ERRORS : 0;
  switch (s->mode) {
  case MODE_RACE: return df_race(members, (size_t)s->n, consume);
  case MODE_FIRST_SUCCESS:
    return df_first_success(members, (size_t)s->n, consume);
  default:
    return df_gather_results_ex(members, (size_t)s->n,
                                consume | DF_LIST_CANCEL_PENDING);
  }
}

static int freed_members;
static void member_freed(void *arg) {
  (void)arg;
  freed_members++;
}

static void real_run(const scenario *s, record *r) {
  current = s;
  real = r;
  combined = NULL;
  freed_members = 0;
  memset(value_made, 0, sizeof value_made);
  memset(value_destroyed, 0, sizeof value_destroyed);
  memset(cancelled_directly, 0, sizeof cancelled_directly);
  int reports_before = reports;
  for (int i = 0; i < s->n; i++) {
    indexes[i] = i;
    members[i] = df_deferred_new_owning(
        s->m[i].canceller == C_NONE ? NULL : real_canceller, &indexes[i],
        member_freed);
    assert_non_null(members[i]);
  }
  for (int i = 0; i < s->n; i++)
    if (s->m[i].prefire >= 0) fire(i, s->m[i].prefire);
  df_deferred *c = construct(s);
  assert_non_null(c);
  df_deferred_add_both(c, record_outcome, NULL);
  combined = c;
  for (int k = 0; k < s->events; k++) {
    int i = s->e[k].member;
    switch (s->e[k].what) {
    case E_FIRE:
      if (!df_deferred_called(members[i])) fire(i, s->e[k].kind);
      break;
    case E_CANCEL_MEMBER:
      cancelled_directly[i] += !df_deferred_called(members[i]);
      df_deferred_cancel(members[i]);
      break;
    default: df_deferred_cancel(c); break;
    }
  }
  if (!df_deferred_called(c)) snprintf(r->outcome, sizeof r->outcome, "U");
  for (int i = 0; i < s->n; i++) {
    const df_result *res = df_deferred_result(members[i]);
    r->finals[i] = !df_deferred_called(members[i]) ? 'u'
                   : res->kind == DF_NONE          ? 'n'
                   : df_result_is_failure(*res)    ? 'f'
                                                   : 'v';
  }
  combined = NULL;
  df_deferred_unref(c);
  for (int i = 0; i < s->n; i++) df_deferred_unref(members[i]);
  r->reports = reports - reports_before;
  assert_int_equal(freed_members, s->n); /* every member went */
  for (int i = 0; i < s->n; i++) {
    assert_true(value_made[i] <= 1);
    assert_int_equal(value_destroyed[i], value_made[i]); /* exactly once */
    /* the combined deferred cancels a member once at most; a member the
     * user cancelled whose canceller cancels the combined deferred is
     * cancelled by both */
    assert_true(r->cancel_count[i] <= 1 + cancelled_directly[i]);
  }
}

/* === the test ==================================================================== */

/* A counting allocator: blocks handed out and not yet freed. */
static long live_blocks;
static void *counting_malloc(size_t n) {
  void *p = malloc(n);
  if (p) live_blocks++;
  return p;
}
static void *counting_realloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (q && !p) live_blocks++;
  return q;
}
static void counting_free(void *p) {
  if (p) live_blocks--;
  free(p);
}

static void describe(const scenario *s) {
  print_error("%s%s, %d members:\n", mode_names[s->mode],
              s->consume ? " CONSUME_ERRORS" : "", s->n);
  static const char *const cnames[CANCELLERS] = {
      "none", "idle", "succeed", "fail", "fire-other", "cancel-combined"};
  for (int i = 0; i < s->n; i++)
    print_error("  m%d: prefire %d, canceller %s (other m%d kind %d), %s\n",
                i, s->m[i].prefire, cnames[s->m[i].canceller], s->m[i].other,
                s->m[i].other_kind, s->m[i].owned ? "owned" : "int");
  static const char *const enames[] = {"fire", "cancel member",
                                       "cancel combined"};
  for (int k = 0; k < s->events; k++)
    print_error("  event %s m%d kind %d\n", enames[s->e[k].what],
                s->e[k].member, s->e[k].kind);
}

static bool same(const record *a, const record *b, int n) {
  return strcmp(a->cancels, b->cancels) == 0 &&
         strcmp(a->outcome, b->outcome) == 0 &&
         memcmp(a->finals, b->finals, (size_t)n) == 0 &&
         a->reports == b->reports;
}

static void test_random_scenarios_match_the_model(void **state) {
  (void)state;
  df_release_caches();
  assert_int_equal(
      df_set_allocator(counting_malloc, counting_realloc, counting_free), 0);
  rng_state = 20240519; /* fixed: the same scenarios every run */
  long baseline = live_blocks;
  int cancelled_members = 0, decided = 0;
  for (int k = 0; k < SCENARIOS; k++) {
    scenario s;
    draw(&s);
    record expected, got;
    memset(&expected, 0, sizeof expected);
    memset(&got, 0, sizeof got);
    model_run(&s, &expected);
    real_run(&s, &got);
    for (int i = 0; i < s.n; i++) cancelled_members += got.cancel_count[i];
    decided += got.outcome[0] != 'U';
    if (!same(&expected, &got, s.n)) {
      print_error("scenario %d differs from the model\n", k);
      describe(&s);
      print_error("model:   cancels [%s] outcome %s finals %.*s reports %d\n",
                  expected.cancels, expected.outcome, s.n, expected.finals,
                  expected.reports);
      print_error("library: cancels [%s] outcome %s finals %.*s reports %d\n",
                  got.cancels, got.outcome, s.n, got.finals, got.reports);
      fail();
    }
    df_release_caches();
    assert_int_equal(live_blocks, baseline); /* nothing leaked */
  }
  df_set_allocator(NULL, NULL, NULL);
  /* the scenarios exercise what they are meant to */
  assert_true(cancelled_members > SCENARIOS);
  assert_true(decided > SCENARIOS / 2);
  print_message("%d scenarios, %d member cancels, all as the model says\n",
                SCENARIOS, cancelled_members);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_random_scenarios_match_the_model,
                                      support_setup, support_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
