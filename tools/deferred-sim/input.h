/* deferred-sim: reading input lines.
 *
 * Two sources: a file descriptor (a pipe, a file, or a terminal without
 * libedit), and libedit's readline() for a terminal, with line editing and
 * history. Input after the ending empty line is not read
 * (docs/deferred-sim.md, "The input, exactly"), so the descriptor source
 * never consumes more than it hands out: a regular file is read in large
 * blocks and, when done, the offset is moved back to just after the last
 * line used; a pipe, which cannot be rewound, is read one byte at a time
 * (except inside very long lines, see input.c).
 * `{ deferred-sim; cat; } < file` thus leaves the rest of the file to cat.
 */
#ifndef SIM_INPUT_H
#define SIM_INPUT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sim_input {
  int fd;
  bool seekable;     /* read in blocks and give back the unused tail   */
  bool editline;     /* read through libedit's readline()              */
  const char *prompt;/* shown on stderr before each line, or NULL      */
  char *block;       /* bytes read from fd and not yet handed out      */
  size_t block_cap, pos, avail;
  bool at_eof;
  int error;         /* the errno of a failed read, or 0              */
  char *line;        /* the current line (owned; reused)               */
  size_t line_cap;
} sim_input;

typedef enum sim_read {
  SIM_READ_EOF = 0,   /* no more lines                                 */
  SIM_READ_LINE = 1,  /* *line, *len, *had_newline are set             */
  SIM_READ_NOMEM = 2, /* a line was consumed but too big to keep      */
  SIM_READ_ERROR = 3  /* reading failed: in->error says why; the input
                         ends there (a line cut by it is not handed out) */
} sim_read;

/* Start reading `fd`. With `prompt` non-NULL (input is a terminal) the
 * prompt is shown before each line, through libedit when the tool was
 * built with it. Returns 0, or -1 if memory ran out. */
int sim_input_open(sim_input *in, int fd, const char *prompt);

/* The next line, without its line feed; `*had_newline` says whether one
 * ended it (a last line may have none). *line stays valid until the next
 * call; it may contain NUL bytes. After SIM_READ_ERROR (in->error is the
 * errno of the failed read: EISDIR, EIO, ECONNRESET ...) every call gives
 * SIM_READ_EOF. Through libedit, an error cannot be told from the end. */
sim_read sim_input_next(sim_input *in, const char **line, size_t *len,
                        bool *had_newline);

/* Give back what was read ahead (regular files) and free everything. */
void sim_input_close(sim_input *in);

#endif /* SIM_INPUT_H */
