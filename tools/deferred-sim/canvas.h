/* deferred-sim: the canvas of character cells (docs/deferred-sim.md,
 * "How the drawing is made": Canvas).
 *
 * A canvas is drawn by a function that writes cells at (x, y); printing
 * it needs its extent (the rightmost and lowest cells ever set) before the
 * first row goes out. sim_canvas_render() therefore runs the drawing
 * function twice or more: once to measure, then once per band of rows,
 * keeping only that band's cells. A long chain thus prints in bounded
 * memory, and each pass sees the writes in the same order, so "later
 * writes overwrite earlier ones" holds in every band.
 *
 *     y 0 .. row_lo-1      writes only measured
 *     y row_lo .. row_hi-1 cells[(y - row_lo) * width + x]
 *     y row_hi ..          writes only measured
 */
#ifndef SIM_CANVAS_H
#define SIM_CANVAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sim_canvas {
  size_t width, height; /* extent so far: last cell set, plus one     */
  size_t row_lo, row_hi;/* the band of rows whose cells are kept      */
  size_t stride;        /* cells per kept row (the measured width)    */
  uint32_t *cells;      /* unset cells hold ' '                       */
} sim_canvas;

/* Set the cell (x, y) to code point `cp`. */
void sim_canvas_put(sim_canvas *c, size_t x, size_t y, uint32_t cp);

/* Write `n` code points from (x, y) rightwards, one cell each. */
void sim_canvas_text(sim_canvas *c, size_t x, size_t y, const uint32_t *cp,
                     size_t n);

/* Write center(text, w) at (x, y): the text and its padding spaces
 * (Centring: left padding m/2, plus one if m and w are both odd,
 * m = w - len). */
void sim_canvas_center(sim_canvas *c, size_t x, size_t y, const uint32_t *cp,
                       size_t n, size_t w);

/* The same for an ASCII string. */
void sim_canvas_center_ascii(sim_canvas *c, size_t x, size_t y,
                             const char *s, size_t w);

/* May a drawing skip everything it would write in rows y0 .. y1-1? Yes
 * while a band that does not meet them is drawn; never while measuring.
 * Lets a long drawing skip, in each band, the stages far from it. */
bool sim_canvas_skips_rows(const sim_canvas *c, size_t y0, size_t y1);

/* Draw with `draw(canvas, arg)` and print the canvas to `out` as
 * docs/deferred-sim.md prints it: every row as wide as the canvas, each ended
 * by a newline, then one more newline. `draw` must write the same cells on
 * every call. Returns 0, or -1 if memory ran out (then nothing was printed,
 * unless a canvas taller than one band was already partly printed). */
int sim_canvas_render(FILE *out, void (*draw)(sim_canvas *, const void *),
                      const void *arg);

#endif /* SIM_CANVAS_H */
