/* libFuzzer target for deferred-sim: the input rules and the drawings.
 *
 * Each input is a whole standard input. It goes through the tool's own
 * code: the line reader (from a temporary file, as a redirected stdin),
 * the line-by-line rules, the parser, both firings by real deferreds, the
 * wide and narrow drawings and the SVG. Besides the sanitizers, it checks
 * what the spec promises about the output: it is valid UTF-8, every row
 * of a canvas has the same number of cells, and each canvas ends with an
 * empty line; and each error report is one line starting "line N: ".
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

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      fprintf(stderr, "fuzz_sim: check failed: %s (%s:%d)\n", #cond, \
              __FILE__, __LINE__);                                   \
      abort();                                                       \
    }                                                                \
  } while (0)

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

static void draw(const sim_drawing *d, bool narrow) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  CHECK(out != NULL);
  CHECK(sim_draw_print(out, d, narrow) == 0);
  fclose(out);
  check_drawing(text, len);
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
    /* every stage ran, and a firing starts as the spec says */
    CHECK(on_callback.n_steps == chain.n && on_errback.n_steps == chain.n);
    CHECK(!on_callback.initial.failed && on_errback.initial.failed);
    sim_drawing d = {chain.pairs, chain.n, &on_callback, &on_errback};
    draw(&d, false);
    draw(&d, true);
    FILE *devnull = fopen("/dev/null", "w");
    CHECK(devnull != NULL);
    sim_svg_write(devnull, &d);
    fclose(devnull);
    sim_firing_free(&on_callback);
    sim_firing_free(&on_errback);
  }
  sim_chain_free(&chain);
  return 0;
}
