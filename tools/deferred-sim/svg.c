/* deferred-sim: the diagrams as an SVG picture (svg.h).
 *
 * Three diagrams side by side, each two columns of member boxes (callbacks
 * left, errbacks right), one row per stage:
 *
 *   Deferred            d.callback(initial)    d.errback(initial*)
 *   [return good][fail bad]   [##active##][ ]          [ ][##active##]
 *        |green     \red           | good                  | bad*
 *   [fail googly][passthru]   [##active##][ ]          [ ][##active##]
 *
 * In the chain diagram each box has the one arrow its member can take:
 * `return` and a callback's `passthru` succeed (green, to the next
 * callback), `fail` and an errback's `passthru` fail (red, to the next
 * errback), as in the tutorial's figure 17. In a firing, the boxes that
 * ran are filled and joined by the path the real deferred took, each
 * arrow green or red as the value it carries, and labelled with it
 * (figure 18). The picture is written as it is laid out, in one pass, so a
 * long chain needs no memory beyond the drawing's own.
 */
#include "svg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOX_W 150
#define BOX_H 50
#define COL_GAP 40
#define PITCH 100 /* from one stage's box tops to the next's */
#define DIAGRAM_W (2 * BOX_W + COL_GAP)
#define DIAGRAM_GAP 70
#define MARGIN 30
#define TOP 120 /* the first stage's box tops */

#define GREEN "#00a000"
#define RED "#d00000"

static long column_x(int diagram, int errback) {
  return MARGIN + diagram * (DIAGRAM_W + DIAGRAM_GAP) +
         errback * (BOX_W + COL_GAP);
}
static long column_mid(int diagram, int errback) {
  return column_x(diagram, errback) + BOX_W / 2;
}
static long stage_y(size_t i) { return TOP + (long)i * PITCH; }

/* Text as XML character data. Code points XML 1.0 forbids (C0 controls,
 * U+FFFE, U+FFFF) become U+FFFD, so that any VALUE gives a well-formed
 * picture. */
static void put_text(FILE *out, const uint32_t *cp, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t c = cp[i];
    if (c == '&') fputs("&amp;", out);
    else if (c == '<') fputs("&lt;", out);
    else if (c == '>') fputs("&gt;", out);
    else if (c < 0x20 || c == 0xFFFE || c == 0xFFFF) sim_utf8_put(0xFFFD, out);
    else sim_utf8_put(c, out);
  }
}

static void text(FILE *out, long x, long y, const char *cls,
                 const uint32_t *cp, size_t n) {
  fprintf(out, "<text x=\"%ld\" y=\"%ld\" class=\"%s\">", x, y, cls);
  put_text(out, cp, n);
  fputs("</text>\n", out);
}

static void ascii_text(FILE *out, long x, long y, const char *cls,
                       const char *s) {
  uint32_t cp[64];
  size_t n = 0;
  for (; s[n] && n < 64; n++) cp[n] = (unsigned char)s[n];
  text(out, x, y, cls, cp, n);
}

/* A member's box with its caption; `active` boxes ran in this firing. */
static void member_box(FILE *out, long x, long y, const sim_member *m,
                       const char *cls) {
  uint32_t cp[SIM_CAPTION_MAX];
  fprintf(out, "<rect x=\"%ld\" y=\"%ld\" width=\"%d\" height=\"%d\" "
               "rx=\"6\" class=\"%s\"/>\n", x, y, BOX_W, BOX_H, cls);
  text(out, x + BOX_W / 2, y + BOX_H / 2 + 5, cls,
       cp, sim_member_caption(m, cp));
}

/* An arrow from (x1, y1) to (x2, y2), green or red, with an optional
 * label beside its middle. */
static void arrow(FILE *out, long x1, long y1, long x2, long y2, bool failed,
                  const uint32_t *label, size_t label_len) {
  const char *kind = failed ? "failure" : "success";
  fprintf(out, "<line x1=\"%ld\" y1=\"%ld\" x2=\"%ld\" y2=\"%ld\" "
               "class=\"%s\" marker-end=\"url(#%s)\"/>\n",
          x1, y1, x2, y2, kind, kind);
  if (label_len > 0)
    text(out, (x1 + x2) / 2 + (x1 == x2 ? 8 : 0), (y1 + y2) / 2 + 5,
         x1 == x2 ? "label left" : "label", label, label_len);
}

static bool member_fails(const sim_member *m, bool errback) {
  return m->action == SIM_FAIL || (m->action == SIM_PASSTHRU && errback);
}

/* The chain: every box, and the arrow each member can take. */
static void chain(FILE *out, const sim_drawing *d) {
  ascii_text(out, column_x(0, 0) + DIAGRAM_W / 2, 34, "title", "Deferred");
  arrow(out, column_mid(0, 0), TOP - 40, column_mid(0, 0), TOP, false, NULL, 0);
  arrow(out, column_mid(0, 1), TOP - 40, column_mid(0, 1), TOP, true, NULL, 0);
  for (size_t i = 0; i < d->n_pairs; i++) {
    for (int side = 0; side < 2; side++) {
      const sim_member *m =
          side ? &d->pairs[i].errback : &d->pairs[i].callback;
      bool fails = member_fails(m, side);
      uint32_t label[SIM_WORD_CAP + 1];
      size_t n = 0;
      if (m->action != SIM_PASSTHRU) {
        sim_value v = {m->value, fails};
        n = sim_value_text(&v, label);
      }
      member_box(out, column_x(0, side), stage_y(i), m, "box");
      arrow(out, column_mid(0, side), stage_y(i) + BOX_H,
            column_mid(0, fails), stage_y(i + 1), fails, label, n);
    }
  }
}

/* A firing: every box, the ones that ran filled, and the path taken. */
static void firing(FILE *out, int diagram, const char *title,
                   const sim_drawing *d, const sim_firing *f) {
  uint32_t label[SIM_WORD_CAP + 1];
  ascii_text(out, column_x(diagram, 0) + DIAGRAM_W / 2, 34, "title", title);
  for (size_t i = 0; i < d->n_pairs; i++) {
    bool ran = i < f->n_steps;
    bool errback_ran = ran && f->steps[i].errback;
    member_box(out, column_x(diagram, 0), stage_y(i), &d->pairs[i].callback,
               ran && !errback_ran ? "box active" : "box idle");
    member_box(out, column_x(diagram, 1), stage_y(i), &d->pairs[i].errback,
               errback_ran ? "box active" : "box idle");
  }
  long x = column_mid(diagram, f->initial.failed);
  text(out, x, TOP - 48, "value", label, sim_value_text(&f->initial, label));
  arrow(out, x, TOP - 40, x, TOP, f->initial.failed, NULL, 0);
  for (size_t i = 0; i < f->n_steps; i++) {
    const sim_value *v = &f->steps[i].out;
    long from = column_mid(diagram, f->steps[i].errback);
    arrow(out, from, stage_y(i) + BOX_H, column_mid(diagram, v->failed),
          stage_y(i + 1), v->failed, label, sim_value_text(v, label));
  }
  text(out, column_mid(diagram, f->final.failed), stage_y(f->n_steps) + 18,
       "value", label, sim_value_text(&f->final, label));
}

static const char style[] =
    "<defs>\n"
    "<marker id=\"success\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
    "markerWidth=\"4\" markerHeight=\"4\" orient=\"auto\">"
    "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"" GREEN "\"/></marker>\n"
    "<marker id=\"failure\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
    "markerWidth=\"4\" markerHeight=\"4\" orient=\"auto\">"
    "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"" RED "\"/></marker>\n"
    "</defs>\n"
    "<style>\n"
    "text { font-family: 'DejaVu Sans Mono', monospace; font-size: 14px;"
    " text-anchor: middle; fill: #000; }\n"
    "text.title { font-size: 18px; font-weight: bold; }\n"
    "text.value { font-weight: bold; }\n"
    "text.label { paint-order: stroke; stroke: #fff; stroke-width: 4px; }\n"
    "text.left { text-anchor: start; }\n"
    "text.idle { fill: #999; }\n"
    "rect.box { fill: #fff; stroke: #333; stroke-width: 1.5; }\n"
    "rect.idle { stroke: #bbb; stroke-dasharray: 4 3; }\n"
    "rect.active { fill: #fff6cc; stroke: #000; stroke-width: 2.5; }\n"
    "line.success { stroke: " GREEN "; stroke-width: 3; }\n"
    "line.failure { stroke: " RED "; stroke-width: 3; }\n"
    "</style>\n";

void sim_svg_write(FILE *out, const sim_drawing *d) {
  long width = 2 * MARGIN + 3 * DIAGRAM_W + 2 * DIAGRAM_GAP;
  long height = stage_y(d->n_pairs) + 70;
  fprintf(out,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%ld\" "
          "height=\"%ld\" viewBox=\"0 0 %ld %ld\">\n",
          width, height, width, height);
  fputs(style, out);
  fprintf(out, "<rect width=\"%ld\" height=\"%ld\" fill=\"#fff\"/>\n", width,
          height);
  chain(out, d);
  firing(out, 1, "d.callback(initial)", d, d->on_callback);
  firing(out, 2, "d.errback(initial*)", d, d->on_errback);
  /* the legend */
  long y = height - 22;
  fprintf(out, "<line x1=\"%d\" y1=\"%ld\" x2=\"%d\" y2=\"%ld\" "
               "class=\"success\"/>\n", MARGIN, y, MARGIN + 40, y);
  ascii_text(out, MARGIN + 50, y + 5, "left", "success");
  fprintf(out, "<line x1=\"%d\" y1=\"%ld\" x2=\"%d\" y2=\"%ld\" "
               "class=\"failure\"/>\n", MARGIN + 150, y, MARGIN + 190, y);
  ascii_text(out, MARGIN + 200, y + 5, "left", "failure (value*)");
  fputs("</svg>\n", out);
}

int sim_svg_open(sim_svg_file *file, const char *path) {
  file->path = path;
  file->created = true;
  file->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (file->fd < 0 && errno == EEXIST) {
    file->created = false;
    file->fd = open(path, O_WRONLY | O_CLOEXEC);
  }
  return file->fd < 0 ? errno : 0;
}

int sim_svg_finish(sim_svg_file *file, const sim_drawing *drawing) {
  struct stat st;
  /* Only a regular file can be truncated; /dev/null and the like are
   * simply written to. */
  if (fstat(file->fd, &st) == 0 && S_ISREG(st.st_mode) &&
      ftruncate(file->fd, 0) != 0) {
    int err = errno;
    close(file->fd);
    return err;
  }
  FILE *out = fdopen(file->fd, "w");
  if (!out) {
    int err = errno;
    close(file->fd);
    return err;
  }
  errno = 0; /* what a failed write leaves is the reason to report */
  sim_svg_write(out, drawing);
  int err = ferror(out) ? (errno ? errno : EIO) : 0;
  if (fclose(out) != 0 && err == 0) err = errno ? errno : EIO;
  return err;
}

void sim_svg_abandon(sim_svg_file *file) {
  close(file->fd);
  if (file->created) unlink(file->path);
}
