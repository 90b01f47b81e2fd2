/* deferred-sim: reading input lines (input.h). */
#include "input.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef SIM_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

/* Block size for regular files. Pipes and terminals are read one byte at
 * a time, so that nothing past the last line used is taken from them;
 * but inside a line longer than LONG_LINE they too are read in blocks,
 * or a line of megabytes would take a system call per byte. Only a reader
 * that follows deferred-sim on the same pipe can tell: it may miss up to
 * a block after such a line. */
#define FILE_BLOCK 65536
#define LONG_LINE 4096

int sim_input_open(sim_input *in, int fd, const char *prompt) {
  struct stat st;
  memset(in, 0, sizeof *in);
  in->fd = fd;
  in->prompt = prompt;
  in->seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                 lseek(fd, 0, SEEK_CUR) >= 0;
#ifdef SIM_HAVE_LIBEDIT
  if (prompt) {
    in->editline = true;
    rl_instream = stdin;
    rl_outstream = stderr; /* standard output carries the drawing alone */
    using_history();
    return 0;
  }
#endif
  in->block_cap = FILE_BLOCK;
  in->block = malloc(in->block_cap);
  return in->block ? 0 : -1;
}

/* At a terminal, the end of input (Ctrl-D) leaves the cursor after the
 * prompt, or after a line typed without Enter: move to a new line, so that
 * what is printed next (the drawing, a message, the shell's prompt) starts
 * at the left margin. */
static void end_prompt(const sim_input *in) {
  if (!in->prompt) return;
  fputc('\n', stderr);
  fflush(stderr);
}

/* Refill the block; false at the end of input or on a read error, which
 * is kept in in->error: the input ends there, and the caller is told. A
 * descriptor left non-blocking by whoever gave it to us is waited on, not
 * taken for the end. */
static bool refill(sim_input *in, size_t line_len) {
  size_t want = in->seekable || line_len >= LONG_LINE ? in->block_cap : 1;
  if (in->at_eof) return false;
  for (;;) {
    ssize_t got = read(in->fd, in->block, want);
    if (got > 0) {
      in->pos = 0;
      in->avail = (size_t)got;
      return true;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd readable = {in->fd, POLLIN, 0};
      if (poll(&readable, 1, -1) >= 0 || errno == EINTR) continue;
    }
    if (got < 0) in->error = errno;
    in->at_eof = true;
    end_prompt(in);
    return false;
  }
}

/* Append `n` bytes to the line; false if memory ran out. */
static bool append(sim_input *in, size_t *len, const char *bytes, size_t n) {
  if (n == 0) return true; /* an empty line may have no buffer yet */
  if (*len + n > in->line_cap) {
    size_t cap = in->line_cap ? in->line_cap : 256;
    while (cap < *len + n) {
      if (cap > ((size_t)-1) / 2) return false;
      cap *= 2;
    }
    char *grown = realloc(in->line, cap);
    if (!grown) return false;
    in->line = grown;
    in->line_cap = cap;
  }
  memcpy(in->line + *len, bytes, n);
  *len += n;
  return true;
}

#ifdef SIM_HAVE_LIBEDIT
static sim_read next_edited(sim_input *in, const char **line, size_t *len,
                            bool *had_newline) {
  if (in->at_eof) return SIM_READ_EOF;
  char *text = readline(in->prompt);
  if (!text) {
    in->at_eof = true;
    end_prompt(in);
    return SIM_READ_EOF;
  }
  size_t n = strlen(text);
  *len = 0;
  bool ok = append(in, len, text, n);
  if (ok && n > 0) add_history(text);
  free(text);
  if (!ok) return SIM_READ_NOMEM;
  *line = in->line;
  *had_newline = true;
  return SIM_READ_LINE;
}
#endif

sim_read sim_input_next(sim_input *in, const char **line, size_t *len,
                        bool *had_newline) {
#ifdef SIM_HAVE_LIBEDIT
  if (in->editline) return next_edited(in, line, len, had_newline);
#endif
  /* Once the input has ended, no more prompts: a last line without a
   * line feed has been handed out, and the next call only says so. */
  if (in->at_eof && in->pos == in->avail) return SIM_READ_EOF;
  if (in->prompt) {
    fputs(in->prompt, stderr);
    fflush(stderr);
  }
  bool kept = true, any = false;
  *len = 0;
  for (;;) {
    if (in->pos == in->avail && !refill(in, *len)) {
      if (in->error) return SIM_READ_ERROR; /* a part line is not a line */
      break;
    }
    any = true;
    const char *start = in->block + in->pos;
    const char *nl = memchr(start, '\n', in->avail - in->pos);
    size_t n = nl ? (size_t)(nl - start) : in->avail - in->pos;
    /* Out of memory: go on consuming the line, so that the next call
     * starts at the next line, but keep nothing. */
    if (kept && !append(in, len, start, n)) kept = false;
    in->pos += n + (nl ? 1 : 0);
    if (nl) {
      *had_newline = true;
      goto done;
    }
  }
  if (!any) return SIM_READ_EOF;
  *had_newline = false;
done:
  if (!kept) return SIM_READ_NOMEM;
  *line = in->line ? in->line : "";
  return SIM_READ_LINE;
}

void sim_input_close(sim_input *in) {
  if (in->seekable && in->avail > in->pos)
    lseek(in->fd, -(off_t)(in->avail - in->pos), SEEK_CUR);
  free(in->block);
  free(in->line);
  memset(in, 0, sizeof *in);
}
