/* deferred-sim: the ASCII drawings (docs/deferred-sim.md, "How the drawing
 * is made": Boxes, A firing, The wide layout, The narrow layout).
 *
 * Each sim_draw_* function has the shape sim_canvas_render() wants: it
 * draws one whole canvas from a sim_drawing, in the order that page gives.
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

/* The caption of a member's box: "passthru", "return V" or "fail V".
 * Writes it to `buf` (room for SIM_CAPTION_MAX) and returns its length. */
#define SIM_CAPTION_MAX (9 + SIM_WORD_CAP)
size_t sim_member_caption(const sim_member *m, uint32_t *buf);

/* A value's text as drawn: a failure gets its '*'. Writes it to `buf`
 * (room for SIM_WORD_CAP + 1) and returns its length. */
size_t sim_value_text(const sim_value *v, uint32_t *buf);

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
