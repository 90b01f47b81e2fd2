/* get-poetry's progress display (progress.h): a LoopingCall that renders
 * every item into one line and writes it the way the mode says. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <deferred/looping.h>

typedef struct item {
  const char *label;
  const poetry_progress *progress;
} item;

struct progress {
  df_clock *clock;
  FILE *err;
  progress_mode mode;
  bool shared_terminal;
  bool shown;          /* terminal: the line is on the screen */
  bool output_mid_line; /* standard output's last byte was not a newline */
  df_looping_call *loop;
  df_deferred *loop_done;
  char *last; /* lines: the line printed last */
  item *items;
  size_t n, cap;
};

int progress_new(df_clock *clock, FILE *err, progress_mode mode,
                 bool shared_terminal, progress **out) {
  progress *p = calloc(1, sizeof *p);
  *out = p;
  if (!p) return DF_ENOMEM;
  p->clock = clock;
  p->err = err;
  p->mode = mode;
  p->shared_terminal = shared_terminal;
  return 0;
}

int progress_add(progress *p, const char *label, const poetry_progress *item_) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 8;
    item *grown = realloc(p->items, cap * sizeof *grown);
    if (!grown) return DF_ENOMEM;
    p->items = grown;
    p->cap = cap;
  }
  p->items[p->n++] = (item){label, item_};
  return 0;
}

/* Every item, separated by `sep`, into a new string (NULL: no memory). */
static char *render(const progress *p, const char *sep) {
  size_t size = 1;
  for (size_t i = 0; i < p->n; i++)
    size += strlen(p->items[i].label) + strlen(sep) + 40;
  char *line = malloc(size);
  if (!line) return NULL;
  size_t len = 0;
  line[0] = '\0';
  for (size_t i = 0; i < p->n; i++) {
    const poetry_progress *it = p->items[i].progress;
    const char *label = p->items[i].label;
    const char *between = i ? sep : "";
    switch (it->stage) {
    case POETRY_CONNECTING:
      len += (size_t)snprintf(line + len, size - len, "%s%s connecting",
                              between, label);
      break;
    case POETRY_RECEIVING:
      len += (size_t)snprintf(line + len, size - len, "%s%s %zu B", between,
                              label, it->bytes);
      break;
    case POETRY_RECEIVED:
      len += (size_t)snprintf(line + len, size - len, "%s%s done %zu B",
                              between, label, it->bytes);
      break;
    case POETRY_FAILED:
      len += (size_t)snprintf(line + len, size - len, "%s%s failed", between,
                              label);
      break;
    }
  }
  return line;
}

/* The terminal's width, or 80 when it does not say. */
static size_t terminal_width(FILE *f) {
  struct winsize ws;
  if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

static df_result redraw(void *arg) {
  progress *p = arg;
  if (p->mode == PROGRESS_TERMINAL) {
    char *line = render(p, " | ");
    if (!line) return df_none(); /* try again next time */
    /* One column is left free, so that the line never wraps. */
    size_t room = terminal_width(p->err) - 1, len = strlen(line);
    if (len > room) {
      len = room;
      while (len > 0 && ((unsigned char)line[len] & 0xC0) == 0x80) len--;
    }
    if (p->output_mid_line) fputc('\n', p->err);
    p->output_mid_line = false;
    fprintf(p->err, "\r%.*s\033[K", (int)len, line);
    fflush(p->err);
    p->shown = true;
    free(line);
  } else {
    char *line = render(p, ", ");
    if (!line) return df_none();
    if (p->last && strcmp(p->last, line) == 0) {
      free(line);
      return df_none();
    }
    fprintf(p->err, "progress: %s\n", line);
    fflush(p->err);
    free(p->last);
    p->last = line;
  }
  return df_none();
}

int progress_start(progress *p) {
  if (p->mode == PROGRESS_OFF || p->loop) return 0;
  double interval = p->mode == PROGRESS_TERMINAL ? PROGRESS_TERMINAL_INTERVAL
                                                 : PROGRESS_LINES_INTERVAL;
  int rc = df_looping_call_new(p->clock, redraw, p, NULL, &p->loop);
  if (rc == 0) rc = df_looping_call_start(p->loop, interval, true, &p->loop_done);
  if (rc < 0) {
    df_looping_call_unref(p->loop);
    p->loop = NULL;
  }
  return rc;
}

void progress_hide(progress *p) {
  if (!p->shown) return;
  fputs("\r\033[K", p->err);
  fflush(p->err);
  p->shown = false;
}

void progress_stop(progress *p) {
  if (!p->loop) return;
  if (df_looping_call_running(p->loop)) df_looping_call_stop(p->loop);
  df_deferred_unref(p->loop_done);
  df_looping_call_unref(p->loop);
  p->loop = NULL;
  p->loop_done = NULL;
  progress_hide(p);
}

void progress_wrote_output(progress *p, char last) {
  if (p->shared_terminal) p->output_mid_line = last != '\n';
}

void progress_free(progress *p) {
  if (!p) return;
  progress_stop(p);
  free(p->last);
  free(p->items);
  free(p);
}
