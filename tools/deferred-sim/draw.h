/* deferred-sim: the ASCII drawings (spec: "Boxes", "A firing", "The wide
 * layout", "The narrow layout").
 *
 * Each sim_draw_* function has the shape sim_canvas_render() wants: it
 * draws one whole canvas from a sim_drawing, in the order the spec gives.
 */
#ifndef SIM_DRAW_H
#define SIM_DRAW_H

#include "canvas.h"
#include "fire.h"

/* Everything a drawing shows (all borrowed). */
typedef struct sim_drawing {
  const sim_pair *pairs;
  size_t n_pairs;
  const sim_firing *on_callback; /* the firing of d.callback(initial)  */
  const sim_firing *on_errback;  /* the firing of d.errback(initial*)  */
} sim_drawing;

/* The default layout: the three diagrams side by side on one canvas. */
void sim_draw_wide(sim_canvas *c, const void *drawing);

/* --narrow: three canvases, printed one after the other. */
void sim_draw_narrow_chain(sim_canvas *c, const void *drawing);
void sim_draw_narrow_callback(sim_canvas *c, const void *drawing);
void sim_draw_narrow_errback(sim_canvas *c, const void *drawing);

/* Print the drawing to `out` in the wide or narrow layout. Returns 0, or
 * -1 if memory ran out. */
int sim_draw_print(FILE *out, const sim_drawing *drawing, bool narrow);

#endif /* SIM_DRAW_H */
