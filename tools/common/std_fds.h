/* The standard descriptors of a tool, made safe at its start.
 *
 * A program started with standard input, output or error closed (`>&-`,
 * `<&-`, `2>&-`) has a free descriptor 0, 1 or 2: the next file or socket
 * it opens takes that number, and what it meant for standard output goes
 * there instead (a drawing into the SVG file, a poem into a socket). So
 * each tool calls std_fds_guard first thing: every one of the three that
 * is closed is opened on /dev/null, in the mode that makes its use fail
 * (write-only for standard input, read-only for the others), and the tool
 * learns which were closed, to say so and stop where it needs them. Where
 * it does not (a server's standard input), the stream stays unusable but
 * harmless: reads or writes on it fail with EBADF.
 */
#ifndef TOOLS_STD_FDS_H
#define TOOLS_STD_FDS_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { STD_FDS_IN = 1, STD_FDS_OUT = 2, STD_FDS_ERR = 4 };

/* Fill the closed standard descriptors as above. Returns the mask of
 * those that were closed (0 when all three were open), or -1 with errno
 * set if one could not be filled (no /dev/null: the tool must stop). */
int std_fds_guard(void);

/* For a tool that needs the streams of `needed` (a mask): if std_fds_guard
 * gave -1, or said that one of them was closed, write "TOOL: standard
 * output is closed" (or the reason /dev/null could not be opened) on
 * standard error and return true: the tool should then exit with its
 * status for an I/O error. Returns false when it can go on. */
bool std_fds_missing(const char *tool, int closed, int needed);

#ifdef __cplusplus
}
#endif

#endif /* TOOLS_STD_FDS_H */
