/* deferred-sim: the canvas of character cells (canvas.h). */
#include "canvas.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Cells kept per band: 4M cells, 16 MB, some 30 000 rows of the wide
 * layout, so that every ordinary drawing is one measuring pass plus one
 * band. */
#define BAND_CELLS ((size_t)4 << 20)

void sim_canvas_put(sim_canvas *c, size_t x, size_t y, uint32_t cp) {
  if (x + 1 > c->width) c->width = x + 1;
  if (y + 1 > c->height) c->height = y + 1;
  if (y < c->row_lo || y >= c->row_hi || x >= c->stride) return;
  c->cells[(y - c->row_lo) * c->stride + x] = cp;
}

bool sim_canvas_skips_rows(const sim_canvas *c, size_t y0, size_t y1) {
  return c->cells != NULL && (y1 <= c->row_lo || y0 >= c->row_hi);
}

void sim_canvas_text(sim_canvas *c, size_t x, size_t y, const uint32_t *cp,
                     size_t n) {
  for (size_t i = 0; i < n; i++) sim_canvas_put(c, x + i, y, cp[i]);
}

void sim_canvas_center(sim_canvas *c, size_t x, size_t y, const uint32_t *cp,
                       size_t n, size_t w) {
  size_t left = 0, right = 0;
  if (n < w) {
    size_t m = w - n;
    left = m / 2 + (m % 2 == 1 && w % 2 == 1 ? 1 : 0);
    right = m - left;
  }
  for (size_t i = 0; i < left; i++) sim_canvas_put(c, x + i, y, ' ');
  sim_canvas_text(c, x + left, y, cp, n);
  for (size_t i = 0; i < right; i++)
    sim_canvas_put(c, x + left + n + i, y, ' ');
}

void sim_canvas_center_ascii(sim_canvas *c, size_t x, size_t y,
                             const char *s, size_t w) {
  uint32_t cp[64];
  size_t n = strlen(s);
  if (n > sizeof cp / sizeof cp[0]) n = sizeof cp / sizeof cp[0];
  for (size_t i = 0; i < n; i++) cp[i] = (unsigned char)s[i];
  sim_canvas_center(c, x, y, cp, n, w);
}

int sim_canvas_render(FILE *out, void (*draw)(sim_canvas *, const void *),
                      const void *arg) {
  sim_canvas c = {0, 0, 0, 0, 0, NULL};
  draw(&c, arg); /* measure */
  size_t width = c.width, height = c.height;
  size_t band = width ? BAND_CELLS / width : 1;
  if (band == 0) band = 1;
  if (band > height) band = height;
  uint32_t *cells = NULL;
  char *row = NULL; /* one row as UTF-8, written with one fwrite */
  if (width && band) {
    cells = malloc(band * width * sizeof *cells);
    row = malloc(4 * width + 1);
    if (!cells || !row) {
      free(cells);
      free(row);
      return -1;
    }
  }
  for (size_t lo = 0; lo < height; lo += band) {
    size_t hi = lo + band < height ? lo + band : height;
    for (size_t i = 0; i < (hi - lo) * width; i++) cells[i] = ' ';
    sim_canvas pass = {0, 0, lo, hi, width, cells};
    draw(&pass, arg);
    for (size_t y = 0; y < hi - lo; y++) {
      size_t n = sim_utf8_encode(cells + y * width, width, row, 4 * width + 1);
      row[n++] = '\n';
      fwrite(row, 1, n, out);
    }
  }
  fputc('\n', out);
  free(cells);
  free(row);
  return 0;
}
