/* deferred-sim: the firing logs of --trace (trace.h). */
#include "trace.h"

static void put_cps(FILE *out, const uint32_t *cp, size_t n) {
  for (size_t i = 0; i < n; i++) sim_utf8_put(cp[i], out);
}

static void put_value(FILE *out, const sim_value *v) {
  uint32_t buf[SIM_WORD_CAP + 1];
  put_cps(out, buf, sim_value_text(v, buf));
}

static void put_member(FILE *out, const sim_pair *pair, bool errback) {
  uint32_t buf[SIM_CAPTION_MAX];
  const sim_member *m = errback ? &pair->errback : &pair->callback;
  fprintf(out, "%s \"", errback ? "errback" : "callback");
  put_cps(out, buf, sim_member_caption(m, buf));
  fputc('"', out);
}

void sim_trace_print_firing(FILE *out, const char *title,
                            const sim_firing *firing, const sim_pair *pairs,
                            size_t n_pairs) {
  fprintf(out, "Firing log of %s:\n", title);
  for (size_t i = 0; i < firing->n_trace; i++) {
    const sim_trace_event *e = &firing->trace[i];
    fputs("  ", out);
    switch (e->kind) {
    case SIM_TRACE_FIRED:
      fputs("fired with ", out);
      put_value(out, &e->out);
      break;
    case SIM_TRACE_STAGE:
      fprintf(out, "stage %zu: ", e->stage);
      if (e->stage < n_pairs) put_member(out, &pairs[e->stage], e->errback);
      fputs(" got ", out);
      put_value(out, &e->in);
      fputs(", returned ", out);
      put_value(out, &e->out);
      break;
    case SIM_TRACE_PASSED:
      fprintf(out, "stage %zu: no %s, ", e->stage,
              e->errback ? "errback" : "callback");
      put_value(out, &e->out);
      fputs(" passed through", out);
      break;
    case SIM_TRACE_FINISHED:
      fputs("the chain ended with ", out);
      put_value(out, &e->out);
      break;
    default:
      fputs(e->text ? e->text : "?", out);
      break;
    }
    fputc('\n', out);
  }
  fputc('\n', out);
}

void sim_trace_print(FILE *out, const sim_drawing *drawing) {
  sim_trace_print_firing(out, "d.callback(initial)", drawing->on_callback,
                         drawing->pairs, drawing->n_pairs);
  sim_trace_print_firing(out, "d.errback(initial*)", drawing->on_errback,
                         drawing->pairs, drawing->n_pairs);
}
