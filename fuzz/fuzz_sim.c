/* libFuzzer target for deferred-sim: the input rules and the drawings.
 *
 * Each input is a whole standard input. It goes through the tool's own
 * code: the line reader (from a temporary file, as a redirected stdin),
 * the line-by-line rules, the parser, both firings by real deferreds, the
 * wide and narrow drawings and the SVG. Besides the sanitizers, it checks
 * what docs/deferred-sim.md promises about the output: it is valid UTF-8,
 * every row of a canvas has the same number of cells, and each canvas ends
 * with an empty line; and each error report is one line starting "line N: ".
 * With --trace's firings (sim_fire_traced) it checks that the observer's
 * log tells the same story as the recorders (fired, one stage per pair on
 * the side drawn with the values drawn, the final value), that the
 * drawing is the same bytes, that the observer is removed after, and that
 * the printed logs are valid UTF-8, one line per event.
 *
 * Build and run: fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#define _GNU_SOURCE 1 /* open_memstream */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "draw.h"
#include "fire.h"
#include "input.h"
#include "svg.h"
#include "text.h"
#include "trace.h"

#include <deferred.h>

#include "fuzz_check.h"

/* The drawing is valid UTF-8 and made of canvases: runs of rows of equal
 * width (in code points), each run followed by an empty line. */
static void check_drawing(const char *text, size_t len) {
  CHECK(sim_utf8_valid(text, len));
  size_t width = 0, rows = 0, canvases = 0;
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    CHECK(nl != NULL);
    size_t cells = sim_utf8_count(p, (size_t)(nl - p));
    if (cells == 0) { /* the empty line after a canvas */
      CHECK(rows > 0);
      canvases++;
      rows = 0;
    } else {
      CHECK(rows == 0 || cells == width);
      width = cells;
      rows++;
    }
    p = nl + 1;
  }
  CHECK(rows == 0 && canvases > 0);
}

/* Every report is one line "line N: ...". */
static void check_errors(const char *text, size_t len) {
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    CHECK(nl != NULL);
    CHECK(strncmp(p, "line ", 5) == 0);
    p = nl + 1;
  }
}

/* The drawing's bytes, checked; the caller frees them. */
static char *draw(const sim_drawing *d, bool narrow, size_t *len) {
  char *text = NULL;
  FILE *out = open_memstream(&text, len);
  CHECK(out != NULL);
  CHECK(sim_draw_print(out, d, narrow) == 0);
  fclose(out);
  check_drawing(text, *len);
  return text;
}

static bool same_value(const sim_value *a, const sim_value *b) {
  return a->failed == b->failed && a->text.len == b->text.len &&
         memcmp(a->text.cp, b->text.cp, a->text.len * sizeof a->text.cp[0]) == 0;
}

/* The observer's log of a firing against what the recorders saw. */
static void check_trace(const sim_firing *f, size_t n) {
  CHECK(f->n_trace == n + 2);
  CHECK(f->trace[0].kind == SIM_TRACE_FIRED);
  CHECK(same_value(&f->trace[0].out, &f->initial));
  for (size_t i = 0; i < n; i++) {
    const sim_trace_event *e = &f->trace[i + 1];
    CHECK(e->kind == SIM_TRACE_STAGE && e->stage == i);
    CHECK(e->errback == f->steps[i].errback);
    CHECK(same_value(&e->in, &f->steps[i].in));
    CHECK(same_value(&e->out, &f->steps[i].out));
  }
  CHECK(f->trace[n + 1].kind == SIM_TRACE_FINISHED);
  CHECK(same_value(&f->trace[n + 1].out, &f->final));
}

/* The printed logs: valid UTF-8; per firing a title, one line per event,
 * an empty line. */
static void check_logs(const sim_drawing *d) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  CHECK(out != NULL);
  sim_trace_print(out, d);
  fclose(out);
  CHECK(sim_utf8_valid(text, len));
  size_t lines = 0, empty = 0;
  for (const char *p = text, *end = text + len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    CHECK(nl != NULL);
    lines++;
    if (nl == p) empty++;
    p = nl + 1;
  }
  CHECK(empty == 2);
  CHECK(lines == 2 * (1 + (d->n_pairs + 2) + 1));
  CHECK(strncmp(text, "Firing log of d.callback(initial):\n", 35) == 0);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *file;
  if (!file) file = tmpfile();
  CHECK(file != NULL);
  int fd = fileno(file);
  CHECK(ftruncate(fd, 0) == 0);
  CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
  CHECK(lseek(fd, 0, SEEK_SET) == 0);

  sim_input in;
  CHECK(sim_input_open(&in, fd, NULL) == 0);
  sim_chain chain = {NULL, 0, 0};
  char *errors = NULL;
  size_t errors_len = 0;
  FILE *err = open_memstream(&errors, &errors_len);
  CHECK(err != NULL);
  CHECK(sim_chain_read(&chain, &in, err) == 0);
  fclose(err);
  check_errors(errors, errors_len);
  free(errors);
  sim_input_close(&in);

  if (chain.n > 0) {
    sim_firing on_callback, on_errback;
    CHECK(sim_fire(chain.pairs, chain.n, false, &on_callback) == 0);
    CHECK(sim_fire(chain.pairs, chain.n, true, &on_errback) == 0);
    /* every stage ran, and a firing starts as docs/deferred-sim.md says */
    CHECK(on_callback.n_steps == chain.n && on_errback.n_steps == chain.n);
    CHECK(!on_callback.initial.failed && on_errback.initial.failed);
    sim_drawing d = {chain.pairs, chain.n, &on_callback, &on_errback};
    size_t wide_len, narrow_len;
    char *wide = draw(&d, false, &wide_len);
    char *narrow = draw(&d, true, &narrow_len);
    FILE *devnull = fopen("/dev/null", "w");
    CHECK(devnull != NULL);
    sim_svg_write(devnull, &d);
    fclose(devnull);

    /* --trace: the same firings, watched */
    sim_firing traced_callback, traced_errback;
    CHECK(sim_fire_traced(chain.pairs, chain.n, false, &traced_callback) == 0);
    CHECK(sim_fire_traced(chain.pairs, chain.n, true, &traced_errback) == 0);
    CHECK(df_set_observer(NULL, NULL, NULL) == NULL); /* removed after */
    check_trace(&traced_callback, chain.n);
    check_trace(&traced_errback, chain.n);
    sim_drawing t = {chain.pairs, chain.n, &traced_callback, &traced_errback};
    size_t len;
    char *again = draw(&t, false, &len);
    CHECK(len == wide_len && memcmp(again, wide, len) == 0);
    free(again);
    again = draw(&t, true, &len);
    CHECK(len == narrow_len && memcmp(again, narrow, len) == 0);
    free(again);
    check_logs(&t);
    sim_firing_free(&traced_callback);
    sim_firing_free(&traced_errback);

    free(wide);
    free(narrow);
    sim_firing_free(&on_callback);
    sim_firing_free(&on_errback);
  }
  sim_chain_free(&chain);
  return 0;
}
