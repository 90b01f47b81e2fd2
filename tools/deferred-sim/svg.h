/* deferred-sim: the diagrams as an SVG picture.
 *
 * The same three diagrams as the ASCII drawing (the chain, the firing of
 * d.callback(initial), the firing of d.errback(initial*)), side by side,
 * in the style of the tutorial's figures 17 and 18: a box for each member,
 * success paths in green, failure paths in red, values on the arrows.
 */
#ifndef SIM_SVG_H
#define SIM_SVG_H

#include <stdio.h>

#include "draw.h"

/* Write the picture to `out`. */
void sim_svg_write(FILE *out, const sim_drawing *drawing);

/* Write the picture to the file `path` (created or truncated). Returns 0,
 * or -1 if the file could not be written. */
int sim_svg_write_file(const char *path, const sim_drawing *drawing);

#endif /* SIM_SVG_H */
