/* deferred-sim: the ASCII drawings (draw.h).
 *
 * Coordinates and sizes are those of docs/deferred-sim.md ("How the
 * drawing is made"), under its names: B, W, H, ex, cm, em, last_x,
 * last_y. Each function draws in the order given there;
 * the order is part of the output, because a later write overwrites an
 * earlier one (a failure value's padding, for one, runs over the
 * separator column and the separator must be drawn after it).
 */
#include "draw.h"

#define B 18          /* a member box's width */
#define W (2 * B + 2) /* the chain diagram's width */

size_t sim_member_caption(const sim_member *m, uint32_t *buf) {
  size_t n = sim_ascii(sim_action_name(m->action), buf);
  if (m->action == SIM_PASSTHRU) return n;
  buf[n++] = ' ';
  for (size_t i = 0; i < m->value.len; i++) buf[n++] = m->value.cp[i];
  return n;
}

size_t sim_value_text(const sim_value *v, uint32_t *buf) {
  size_t n = v->text.len;
  for (size_t i = 0; i < n; i++) buf[i] = v->text.cp[i];
  if (v->failed) buf[n++] = '*';
  return n;
}

/* The frame of a member box at (x, y); its inside is left alone. */
static void box(sim_canvas *c, size_t x, size_t y) {
  for (size_t i = 0; i < B; i++) {
    sim_canvas_put(c, x + i, y, '-');
    sim_canvas_put(c, x + i, y + 4, '-');
  }
  for (size_t r = y + 1; r <= y + 3; r++) {
    sim_canvas_put(c, x, r, '|');
    sim_canvas_put(c, x + B - 1, r, '|');
  }
}

static void box_text(sim_canvas *c, size_t x, size_t row, const uint32_t *cp,
                     size_t n) {
  sim_canvas_center(c, x + 1, row, cp, n, B - 2);
}

static void passive_box(sim_canvas *c, size_t x, size_t y,
                        const sim_member *m) {
  uint32_t buf[SIM_CAPTION_MAX];
  box(c, x, y);
  box_text(c, x, y + 2, buf, sim_member_caption(m, buf));
}

static void active_box(sim_canvas *c, size_t x, size_t y,
                       const sim_step *step) {
  uint32_t buf[SIM_WORD_CAP + 1];
  box(c, x, y);
  box_text(c, x, y + 1, buf, sim_value_text(&step->in, buf));
  box_text(c, x, y + 3, buf, sim_value_text(&step->out, buf));
}

static void chain(sim_canvas *c, size_t x, size_t y, const sim_drawing *d) {
  for (size_t i = 0; i < d->n_pairs; i++) {
    if (sim_canvas_skips_rows(c, y + 8 * i, y + 8 * i + 5)) continue;
    passive_box(c, x, y + 8 * i, &d->pairs[i].callback);
    passive_box(c, x + B + 2, y + 8 * i, &d->pairs[i].errback);
  }
}

static void vline(sim_canvas *c, size_t cx, size_t cy, size_t h, bool arrow) {
  for (size_t i = 0; i < h; i++) sim_canvas_put(c, cx, cy + i, '|');
  if (arrow) {
    sim_canvas_put(c, cx - 1, cy + h - 1, '\\');
    sim_canvas_put(c, cx + 1, cy + h - 1, '/');
  }
}

static void hline(sim_canvas *c, size_t cx, size_t cy, size_t w) {
  for (size_t i = 0; i < w; i++) sim_canvas_put(c, cx + i, cy, '-');
}

/* The state of a firing being drawn. */
typedef struct firing_pen {
  sim_canvas *c;
  size_t x, ex, cm, em;
  size_t last_x, last_y;
} firing_pen;

/* A success is centred on the callback column; a failure on a wider
 * field around the errback column. */
static void draw_value(firing_pen *p, const sim_value *v, size_t row) {
  uint32_t buf[SIM_WORD_CAP + 1];
  size_t n = sim_value_text(v, buf);
  if (v->failed)
    sim_canvas_center(p->c, p->ex - 10, row, buf, n, B + 20);
  else
    sim_canvas_center(p->c, p->x, row, buf, n, B);
}

/* The arrow from the previous box (or initial value) down to column mx. */
static void connect(firing_pen *p, size_t mx) {
  size_t top = p->last_y - 3;
  if (p->last_x == mx) {
    vline(p->c, mx - 1 + B / 2, top, 3, true);
    return;
  }
  if (p->last_x < mx) { /* success to failure */
    vline(p->c, p->cm, top, 2, false);
    vline(p->c, p->em, top + 1, 2, true);
  } else { /* failure to success */
    vline(p->c, p->em, top, 2, false);
    vline(p->c, p->cm, top + 1, 2, true);
  }
  hline(p->c, p->cm + 1, top + 1, p->em - p->cm - 1);
}

static void firing(sim_canvas *c, size_t x, size_t y, const sim_firing *f) {
  firing_pen p = {c, x, x + B + 2, x - 1 + B / 2, x + B + 2 - 1 + B / 2, 0, 0};
  draw_value(&p, &f->initial, y);
  p.last_x = f->initial.failed ? p.ex : p.x;
  p.last_y = y + 4;
  for (size_t i = 0; i < f->n_steps; i++) {
    size_t mx = f->steps[i].errback ? p.ex : p.x;
    /* the box and the arrow into it: rows last_y - 3 to last_y + 4 */
    if (!sim_canvas_skips_rows(c, p.last_y - 3, p.last_y + 5)) {
      active_box(c, mx, p.last_y, &f->steps[i]);
      connect(&p, mx);
    }
    p.last_x = mx;
    p.last_y += 8;
  }
  draw_value(&p, &f->final, p.last_y);
  connect(&p, f->final.failed ? p.ex : p.x);
}

/* A title and its dash line on rows y and y+1, centred on W. */
static void title(sim_canvas *c, size_t x, size_t y, const char *text) {
  char dashes[64];
  size_t n = 0;
  for (; text[n] && n < sizeof dashes - 1; n++) dashes[n] = '-';
  dashes[n] = '\0';
  sim_canvas_center_ascii(c, x, y, text, W);
  sim_canvas_center_ascii(c, x, y + 1, dashes, W);
}

static const char deferred_title[] = "Deferred";
static const char callback_title[] = "d.callback(initial)";
static const char errback_title[] = "d.errback(initial*)";

void sim_draw_wide(sim_canvas *c, const void *drawing) {
  const sim_drawing *d = drawing;
  size_t h = 5 * d->n_pairs + 3 * (d->n_pairs - 1);
  title(c, 0, 0, deferred_title);
  title(c, W + 6, 0, callback_title);
  title(c, 2 * (W + 6), 0, errback_title);
  chain(c, 0, 7, d);
  firing(c, W + 6, 3, d->on_callback);
  firing(c, 2 * (W + 6), 3, d->on_errback);
  vline(c, W + 3, 3, h + 8, false);
  vline(c, 2 * W + 9, 3, h + 8, false);
}

void sim_draw_narrow_chain(sim_canvas *c, const void *drawing) {
  title(c, 0, 1, deferred_title);
  chain(c, 0, 4, drawing);
}

void sim_draw_narrow_callback(sim_canvas *c, const void *drawing) {
  title(c, 0, 2, callback_title);
  firing(c, 0, 5, ((const sim_drawing *)drawing)->on_callback);
}

void sim_draw_narrow_errback(sim_canvas *c, const void *drawing) {
  title(c, 0, 2, errback_title);
  firing(c, 0, 5, ((const sim_drawing *)drawing)->on_errback);
}

int sim_draw_print(FILE *out, const sim_drawing *drawing, bool narrow) {
  if (!narrow) return sim_canvas_render(out, sim_draw_wide, drawing);
  if (sim_canvas_render(out, sim_draw_narrow_chain, drawing) < 0 ||
      sim_canvas_render(out, sim_draw_narrow_callback, drawing) < 0 ||
      sim_canvas_render(out, sim_draw_narrow_errback, drawing) < 0)
    return -1;
  return 0;
}
