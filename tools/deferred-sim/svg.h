/* deferred-sim: the diagrams as an SVG picture.
 *
 * The same three diagrams as the ASCII drawing (the chain, the firing of
 * d.callback(initial), the firing of d.errback(initial*)), side by side,
 * in the style of the tutorial's figures 17 and 18: a box for each member,
 * success paths in green, failure paths in red, values on the arrows.
 */
#ifndef SIM_SVG_H
#define SIM_SVG_H

#include <stdbool.h>
#include <stdio.h>

#include "draw.h"

/* Write the picture to `out`. */
void sim_svg_write(FILE *out, const sim_drawing *drawing);

/* The file --svg names. It is opened before any input is read, so that a
 * path that cannot be written (no such directory, a directory, no
 * permission) is reported at once, before the user types a chain and
 * before anything is drawn; and it is not truncated until there is a
 * picture to put in it. */
typedef struct sim_svg_file {
  const char *path; /* borrowed */
  int fd;
  bool created;     /* by sim_svg_open: removed again if nothing is drawn */
} sim_svg_file;

/* Open `path` for writing, creating it if needed (an existing file keeps
 * its contents for now). Returns 0, or an errno value. */
int sim_svg_open(sim_svg_file *file, const char *path);

/* Replace the file's contents with the picture and close it. Returns 0,
 * or an errno value (the file may then hold part of the picture). */
int sim_svg_finish(sim_svg_file *file, const sim_drawing *drawing);

/* Nothing was drawn: close the file, and remove it if sim_svg_open created
 * it (an existing file is left as it was). */
void sim_svg_abandon(sim_svg_file *file);

#endif /* SIM_SVG_H */
