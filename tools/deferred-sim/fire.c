/* deferred-sim: the two firings, done by libdeferred itself (fire.h).
 *
 * How values travel through the real deferred:
 *
 *   success  df_pointer(sim_word *, NULL): the text, borrowed from the
 *            pairs (or the static "initial"), so results own nothing;
 *   failure  a SimulatedError df_failure whose message is the text (for
 *            anyone reading a traceback) and whose payload points at the
 *            same sim_word: a VALUE may hold U+0000, which a C string
 *            message would cut short.
 *
 * The final result is taken out of the deferred with take_result, which
 * marks a failure as handled: an errback firing that ends in a failure is
 * a normal drawing, not an unhandled error to report at exit.
 *
 * The firing log (sim_fire_traced) is not taken from the recorders: an
 * observer is installed around df_deferred_callback/errback and every
 * event it gets becomes a sim_trace_event, so the log is the library's
 * own account of the run. A stage's input is the value the previous event
 * left in hand (the fired value, or the last stage's output): the event's
 * input_text is df_result_describe's wording, not the drawing's.
 */
#include "fire.h"

#include <stdlib.h>
#include <string.h>

#include <deferred.h>

static DF_ERROR_TYPE(simulated_error, "SimulatedError", &df_error_exception);

static const sim_word initial_word = {{'i', 'n', 'i', 't', 'i', 'a', 'l'}, 7};

/* What a recorder needs: where to write, and the member it wraps. */
typedef struct recorder {
  sim_firing *firing;
  size_t stage;
  const sim_member *member;
  bool errback;
} recorder;

/* A failure result carrying `text` (borrowed; must outlive the chain). */
static df_result raise_text(const sim_word *text) {
  char message[4 * SIM_WORD_CAP + 1];
  sim_utf8_encode(text->cp, text->len, message, sizeof message);
  df_result r = df_raise(&simulated_error, "%s", message);
  /* Out of memory, df_raise gives the shared MemoryError failure: leave
   * that one alone, it is then drawn with its own message. */
  if (df_failure_type(r.u.failure) == &simulated_error)
    df_failure_set_payload(r.u.failure, (void *)text, NULL);
  return r;
}

/* Read a result back as a drawable value. */
static sim_value value_of(df_result r) {
  sim_value v;
  memset(&v, 0, sizeof v);
  if (r.kind == DF_POINTER && r.u.p) {
    v.text = *(const sim_word *)r.u.p;
  } else if (df_result_is_failure(r)) {
    const df_failure *f = r.u.failure;
    v.failed = true;
    if (df_failure_type(f) == &simulated_error && df_failure_payload(f)) {
      v.text = *(const sim_word *)df_failure_payload(f);
    } else { /* a library failure (MemoryError): show its type's name */
      const char *name = df_failure_type(f)->name;
      v.text.len = strlen(name) < SIM_WORD_CAP ? strlen(name) : SIM_WORD_CAP;
      for (size_t i = 0; i < v.text.len; i++)
        v.text.cp[i] = (unsigned char)name[i];
    }
  }
  return v;
}

/* The callback and errback of every stage: note the input, act as the
 * member says, note the output. */
static df_result run_member(df_result in, void *arg) {
  const recorder *rec = arg;
  sim_step *step = &rec->firing->steps[rec->stage];
  df_result out;
  step->errback = rec->errback;
  step->in = value_of(in);
  switch (rec->member->action) {
  case SIM_RETURN:
    df_result_drop(in);
    out = df_pointer((void *)&rec->member->value, NULL);
    break;
  case SIM_FAIL:
    df_result_drop(in);
    out = raise_text(&rec->member->value);
    break;
  default: /* passthru: the input goes on, success or failure alike */
    out = in;
    break;
  }
  step->out = value_of(out);
  if (rec->stage + 1 > rec->firing->n_steps)
    rec->firing->n_steps = rec->stage + 1;
  return out;
}

/* The observer's state during one traced firing. */
typedef struct tracer {
  sim_firing *firing;
  const df_deferred *d;
  size_t n_pairs;
  size_t cap;
  sim_value in_hand; /* the result the last event left */
  bool nomem;
} tracer;

static void trace_event(const df_event *e, void *arg) {
  tracer *t = arg;
  sim_firing *f = t->firing;
  if (t->nomem) return;
  if (f->n_trace == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    sim_trace_event *grown = realloc(f->trace, cap * sizeof *grown);
    if (!grown) {
      t->nomem = true;
      return;
    }
    f->trace = grown;
    t->cap = cap;
  }
  sim_trace_event ev;
  memset(&ev, 0, sizeof ev);
  ev.stage = e->stage;
  ev.errback = e->errback;
  bool ours = e->deferred == t->d && e->result;
  switch (e->kind) {
  case DF_EVENT_FIRED:
    ev.kind = ours && !e->other ? SIM_TRACE_FIRED : SIM_TRACE_OTHER;
    break;
  case DF_EVENT_STAGE:
    ev.kind = ours && e->stage < t->n_pairs ? SIM_TRACE_STAGE : SIM_TRACE_OTHER;
    break;
  case DF_EVENT_PASSED:
    ev.kind = ours && e->stage < t->n_pairs ? SIM_TRACE_PASSED : SIM_TRACE_OTHER;
    break;
  case DF_EVENT_FINISHED:
    ev.kind = ours ? SIM_TRACE_FINISHED : SIM_TRACE_OTHER;
    break;
  default:
    ev.kind = SIM_TRACE_OTHER;
    break;
  }
  if (ev.kind == SIM_TRACE_OTHER) {
    size_t len = df_event_describe(e, NULL, 0);
    ev.text = malloc(len + 1);
    if (!ev.text) {
      t->nomem = true;
      return;
    }
    df_event_describe(e, ev.text, len + 1);
  } else {
    ev.in = t->in_hand;
    ev.out = value_of(*e->result);
    t->in_hand = ev.out;
  }
  f->trace[f->n_trace++] = ev;
}

static void trace_free(sim_firing *f) {
  for (size_t i = 0; i < f->n_trace; i++) free(f->trace[i].text);
  free(f->trace);
  f->trace = NULL;
  f->n_trace = 0;
}

static int fire(const sim_pair *pairs, size_t n, bool with_failure,
                bool traced, sim_firing *out) {
  memset(out, 0, sizeof *out);
  recorder *recs = calloc(2 * n, sizeof *recs);
  out->steps = calloc(n ? n : 1, sizeof *out->steps);
  df_deferred *d = df_deferred_new();
  if (!recs || !out->steps || !d) goto fail;
  for (size_t i = 0; i < n; i++) {
    recs[2 * i] = (recorder){out, i, &pairs[i].callback, false};
    recs[2 * i + 1] = (recorder){out, i, &pairs[i].errback, true};
    if (df_deferred_add_callbacks(d, run_member, &recs[2 * i], run_member,
                                  &recs[2 * i + 1]) < 0)
      goto fail;
  }

  /* d.callback(initial) or d.errback(initial*), watched with --trace */
  tracer t = {out, d, n, 0, {{{0}, 0}, false}, false};
  df_observer_fn old_fn = NULL;
  void *old_arg = NULL;
  if (traced) old_fn = df_set_observer(trace_event, &t, &old_arg);
  int rc;
  if (with_failure) {
    df_result initial = raise_text(&initial_word);
    out->initial = value_of(initial);
    rc = df_deferred_errback(d, initial.u.failure);
  } else {
    df_result initial = df_pointer((void *)&initial_word, NULL);
    out->initial = value_of(initial);
    rc = df_deferred_callback(d, initial);
  }
  if (traced) df_set_observer(old_fn, old_arg, NULL);
  if (rc < 0 || t.nomem) goto fail;

  df_result final;
  if (df_deferred_take_result(d, &final) < 0) goto fail;
  out->final = value_of(final);
  df_result_drop(final);
  df_deferred_unref(d);
  free(recs);
  return 0;

fail:
  df_deferred_unref(d);
  free(recs);
  free(out->steps);
  trace_free(out);
  memset(out, 0, sizeof *out);
  return -1;
}

int sim_fire(const sim_pair *pairs, size_t n, bool with_failure,
             sim_firing *out) {
  return fire(pairs, n, with_failure, false, out);
}

int sim_fire_traced(const sim_pair *pairs, size_t n, bool with_failure,
                    sim_firing *out) {
  return fire(pairs, n, with_failure, true, out);
}

void sim_firing_free(sim_firing *f) {
  trace_free(f);
  free(f->steps);
  f->steps = NULL;
  f->n_steps = 0;
}
