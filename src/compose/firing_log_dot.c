/* The firing log as a Graphviz DOT graph (deferred/firing_log.h).
 *
 * One pass over the events builds the graph, following where each
 * deferred's result currently comes from (`from`, below); the graph is
 * then printed, clusters first (each deferred's nodes in the order they
 * happened), then the edges in the order they happened:
 *
 *     FIRED            a node ("fired with X at ..."), the cluster's start
 *     STAGE, PASSED    a node (callback | errback, the side that ran
 *                      highlighted), entered from `from` by an arrow
 *                      green or red for the kind of result it got
 *     CHAINED          a node, and a dashed arrow from it to the deferred
 *                      chain_deferred fires, whose FIRED node it enters
 *     WAITING          a dashed arrow from the stage that returned the
 *                      other deferred to that deferred's cluster
 *     TOOK             the same arrow; the taker's next node is entered
 *                      from the other deferred's `from` ("took X")
 *     HANDED_OFF       the waiter's next node is entered from the giver's
 *                      `from` ("handed X")
 *     PAUSED           a node hanging from `from` (once per `from`)
 *     FINISHED         a node with the result's text
 *
 * A deferred whose earlier steps the log did not see starts from a
 * placeholder node; one the log only heard named, never firing, is a
 * placeholder alone. Built on the log's public accessors only. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* A node: an event's index (>= 0), or -(d + 1), the placeholder of
 * deferred d. */
typedef int64_t node_id;
#define NO_NODE INT64_MIN

enum edge_style { SOLID, DASHED, DOTTED, INVISIBLE };
enum edge_color { SUCCESS, FAILURE, NEUTRAL };

typedef struct edge {
  node_id from, to;
  uint32_t to_cluster;  /* `to` is this cluster (lhead), resolved to its
                           first node when printing; or DF_LOG_NO_DEFERRED */
  const char *prefix;   /* "handed ", "took " ... or NULL */
  const char *label;    /* a text of the log, or NULL */
  enum edge_style style;
  enum edge_color color;
} edge;

/* What the pass knows of one deferred. */
typedef struct deferred_state {
  node_id from;          /* where its result comes from now, or NO_NODE */
  bool from_elsewhere;   /* `from` is another deferred's: a dashed edge */
  const char *prefix;    /* and the word for it                         */
  node_id paused_from;   /* the `from` a pause node hangs from already  */
  node_id first;         /* its first node                              */
  node_id last;          /* its last node                               */
  bool fired;            /* a FIRED event seen                          */
  bool had_result;       /* seen firing, running or giving its result   */
  uint32_t waiting_on;   /* still waiting on, or DF_LOG_NO_DEFERRED     */
} deferred_state;

typedef struct graph {
  const df_firing_log *log;
  deferred_state *ds;
  node_id *nodes; /* in the order they were made */
  size_t n_nodes;
  edge *edges;
  size_t n_edges;
} graph;

static uint32_t cluster_of(const graph *g, node_id node) {
  return node >= 0 ? df_firing_log_event(g->log, (size_t)node)->deferred
                   : (uint32_t)(-(node + 1));
}

static void add_edge(graph *g, edge e) { g->edges[g->n_edges++] = e; }

/* A new node in its deferred's cluster, entered from `from` (NO_NODE if
 * nothing). Dot ranks a cluster's nodes by the edges inside it alone, so
 * a node entered from elsewhere (a hand-off, a take) also gets an
 * invisible edge from the cluster's last node: each cluster reads top
 * down in the order things happened. */
static void add_node(graph *g, node_id node, node_id from) {
  deferred_state *s = &g->ds[cluster_of(g, node)];
  if (s->first == NO_NODE) s->first = node;
  if (s->last != NO_NODE && from != s->last)
    add_edge(g, (edge){s->last, node, DF_LOG_NO_DEFERRED, NULL, NULL,
                       INVISIBLE, NEUTRAL});
  s->last = node;
  g->nodes[g->n_nodes++] = node;
}

static enum edge_color color_of(df_kind kind) {
  return kind == DF_FAILURE ? FAILURE : SUCCESS;
}

/* Where deferred d's result comes from, making the placeholder start
 * node of a deferred whose earlier steps the log did not see. */
static node_id from_of(graph *g, uint32_t d) {
  deferred_state *s = &g->ds[d];
  if (s->from == NO_NODE) {
    s->from = -(node_id)d - 1;
    add_node(g, s->from, NO_NODE);
  }
  return s->from;
}

/* The next node of deferred d, entered by the result it got. */
static void enter(graph *g, uint32_t d, node_id node, df_kind kind,
                  const char *label) {
  deferred_state *s = &g->ds[d];
  node_id from = from_of(g, d);
  add_node(g, node, from);
  add_edge(g, (edge){from, node, DF_LOG_NO_DEFERRED, s->prefix, label,
                     s->from_elsewhere ? DASHED : SOLID, color_of(kind)});
  s->from = node;
  s->from_elsewhere = false;
  s->prefix = NULL;
}

/* Deferred d goes on from another deferred's node. */
static void continue_from(graph *g, uint32_t d, node_id node,
                          const char *prefix) {
  deferred_state *s = &g->ds[d];
  s->from = node;
  s->from_elsewhere = true;
  s->prefix = prefix;
}

static void build(graph *g) {
  size_t count = df_firing_log_count(g->log);
  for (size_t i = 0; i < count; i++) {
    const df_log_event *e = df_firing_log_event(g->log, i);
    node_id node = (node_id)i;
    uint32_t d = e->deferred, other = e->other;
    deferred_state *s = &g->ds[d];
    if (e->kind != DF_EVENT_WAITING && e->kind != DF_EVENT_PAUSED)
      s->had_result = true;
    if (e->kind == DF_EVENT_TOOK && other != DF_LOG_NO_DEFERRED)
      g->ds[other].had_result = true; /* it had fired: rule 9 */
    switch (e->kind) {
    case DF_EVENT_FIRED:
      s->fired = true;
      if (s->from == NO_NODE) {
        add_node(g, node, NO_NODE);
        s->from = node;
      } else { /* entered from the chain_deferred that fired it */
        enter(g, d, node, e->result_kind, e->result_text);
      }
      break;
    case DF_EVENT_STAGE:
    case DF_EVENT_PASSED:
      enter(g, d, node, e->input_kind, e->input_text);
      break;
    case DF_EVENT_CHAINED:
      enter(g, d, node, e->result_kind, e->result_text);
      if (other != DF_LOG_NO_DEFERRED) continue_from(g, other, node, "fires ");
      break;
    case DF_EVENT_WAITING:
    case DF_EVENT_TOOK:
      if (other == DF_LOG_NO_DEFERRED) break;
      add_edge(g, (edge){from_of(g, d), NO_NODE, other, NULL,
                         e->kind == DF_EVENT_WAITING ? "waits on" : "returned",
                         DASHED, NEUTRAL});
      if (e->kind == DF_EVENT_WAITING)
        s->waiting_on = other;
      else
        continue_from(g, d, from_of(g, other), "took ");
      break;
    case DF_EVENT_HANDED_OFF:
      if (other == DF_LOG_NO_DEFERRED) break;
      continue_from(g, other, from_of(g, d), "handed ");
      g->ds[other].waiting_on = DF_LOG_NO_DEFERRED;
      break;
    case DF_EVENT_PAUSED: {
      node_id from = from_of(g, d);
      if (s->paused_from == from) break; /* this pause is drawn already */
      s->paused_from = from;
      add_node(g, node, from);
      add_edge(g, (edge){from, node, DF_LOG_NO_DEFERRED, NULL, NULL, DOTTED,
                         NEUTRAL});
      break;
    }
    case DF_EVENT_FINISHED:
      enter(g, d, node, e->result_kind, NULL);
      break;
    }
  }
  /* a deferred only named (waited on, never seen firing) */
  for (uint32_t d = 0; d < df_firing_log_deferred_count(g->log); d++)
    if (g->ds[d].first == NO_NODE) from_of(g, d);
}

/* --- printing ----------------------------------------------------------- */

#define GREEN "#00a000"
#define RED "#d00000"
#define GREY "#555555"

static const char *color_text(enum edge_color c) {
  return c == SUCCESS ? GREEN : c == FAILURE ? RED : GREY;
}

static void print_site(df__out *o, const char *file, int line,
                       const char *func) {
  char text[1200];
  df__out_html_text(o, df__site_text(file, line, func, text, sizeof text));
}

static bool is_stage(const df_log_event *e) {
  return e->kind == DF_EVENT_STAGE || e->kind == DF_EVENT_PASSED;
}

/* One side of a stage: the side that ran highlighted as in the tutorial's
 * figures (a yellow box), the other greyed. */
static void print_side(df__out *o, const char *port, const char *name,
                       bool ran) {
  if (!name || !*name) name = "?";
  if (ran) {
    df__out_printf(o, "<td port=\"%s\" bgcolor=\"#fff6cc\" border=\"2\"><b>", port);
    df__out_html_text(o, name);
    df__out_puts(o, "</b></td>");
  } else {
    df__out_printf(o, "<td port=\"%s\" color=\"#bbbbbb\"><font color=\"#999999\">", port);
    df__out_html_text(o, name);
    df__out_puts(o, "</font></td>");
  }
}

static unsigned serial_of(const df_firing_log *log, uint32_t d) {
  const df_log_deferred *ld = df_firing_log_deferred(log, d);
  return ld ? ld->serial : 0;
}

static void print_node_name(df__out *o, node_id node) {
  if (node >= 0)
    df__out_printf(o, "n%lld", (long long)node);
  else
    df__out_printf(o, "d%lld", (long long)(-(node + 1)));
}

static void print_node(df__out *o, const graph *g, node_id node) {
  df__out_puts(o, "    ");
  print_node_name(o, node);
  if (node < 0) {
    const deferred_state *s = &g->ds[-(node + 1)];
    df__out_puts(o, " [shape=plaintext, fontcolor=\"#777777\", label=<<i>");
    df__out_puts(o, s->had_result ? "earlier steps not recorded"
                                  : "never seen firing");
    df__out_puts(o, "</i>>];\n");
    return;
  }
  const df_log_event *e = df_firing_log_event(g->log, (size_t)node);
  switch (e->kind) {
  case DF_EVENT_FIRED:
    df__out_puts(o, " [shape=plaintext, label=<<b>");
    df__out_html_text(o, e->result_text);
    df__out_puts(o, "</b><br/><font point-size=\"8\">");
    if (e->other != DF_LOG_NO_DEFERRED) {
      df__out_printf(o, "fired by chain_deferred from Deferred#%u",
                     serial_of(g->log, e->other));
    } else {
      df__out_puts(o, "fired at ");
      print_site(o, e->fired_at.file, e->fired_at.line, e->fired_at.func);
    }
    df__out_puts(o, "</font>>];\n");
    break;
  case DF_EVENT_STAGE:
  case DF_EVENT_PASSED: {
    df__out_printf(o, " [shape=plain, label=<<table border=\"0\" "
                      "cellborder=\"1\" cellspacing=\"4\" cellpadding=\"5\">"
                      "<tr><td border=\"0\"><font point-size=\"8\" "
                      "color=\"#777777\">%u</font></td>",
                   e->stage);
    print_side(o, "cb", e->site ? e->site->callback_name : NULL, !e->errback);
    print_side(o, "eb", e->site ? e->site->errback_name : NULL, e->errback);
    df__out_printf(o, "</tr></table>>, tooltip=\"stage %u %s, added at ",
                   e->stage, e->errback ? "errback" : "callback");
    char text[1200];
    df__out_dot_text(o, e->site ? df__site_text(e->site->file, e->site->line,
                                                e->site->func, text, sizeof text)
                                : "?");
    df__out_puts(o, "\"];\n");
    break;
  }
  case DF_EVENT_CHAINED:
    df__out_printf(o, " [shape=box, style=rounded, label=<chain_deferred<br/>"
                      "<font point-size=\"8\">fires Deferred#%u</font>>];\n",
                   serial_of(g->log, e->other));
    break;
  case DF_EVENT_PAUSED:
    df__out_puts(o, " [shape=octagon, color=\"#999999\", fontcolor=\"#555555\", "
                    "label=<paused>];\n");
    break;
  default: /* FINISHED */
    df__out_printf(o, " [shape=plaintext, fontcolor=\"%s\", label=<<b>",
                   e->result_kind == DF_FAILURE ? RED : "#000000");
    df__out_html_text(o, e->result_text);
    df__out_puts(o, "</b>>];\n");
    break;
  }
}

static void print_cluster(df__out *o, const graph *g, uint32_t d,
                          const node_id *nodes, size_t n) {
  const df_log_deferred *ld = df_firing_log_deferred(g->log, d);
  const deferred_state *s = &g->ds[d];
  bool unresolved = s->waiting_on != DF_LOG_NO_DEFERRED || !s->had_result;
  char site[1200];
  df__out_printf(o, "  subgraph cluster_%u {\n    label=\"Deferred#%u\\n", d,
                 ld->serial);
  df__out_dot_text(o, df__site_text(ld->created.file, ld->created.line,
                                    ld->created.func, site, sizeof site));
  if (s->waiting_on != DF_LOG_NO_DEFERRED)
    df__out_printf(o, "\\nstill waiting on Deferred#%u",
                   serial_of(g->log, s->waiting_on));
  df__out_printf(o, "\";\n    style=\"%s\"; color=\"%s\";\n",
                 unresolved ? "rounded,dashed" : "rounded",
                 unresolved ? "#999999" : "#333333");
  for (size_t i = 0; i < n; i++) print_node(o, g, nodes[i]);
  df__out_puts(o, "  }\n");
}

/* The end of an edge: a stage's port (the side that ran; inside a
 * cluster, leaving at the bottom and entering at the top), or the node. */
static void print_end(df__out *o, const graph *g, node_id node, bool head,
                      bool inside) {
  print_node_name(o, node);
  if (node < 0) return;
  const df_log_event *e = df_firing_log_event(g->log, (size_t)node);
  if (!is_stage(e)) return;
  df__out_printf(o, ":%s", e->errback ? "eb" : "cb");
  if (inside) df__out_puts(o, head ? ":n" : ":s");
}

static void print_edge(df__out *o, const graph *g, const edge *e) {
  node_id to = e->to;
  if (e->to_cluster != DF_LOG_NO_DEFERRED) to = g->ds[e->to_cluster].first;
  bool inside = cluster_of(g, e->from) == cluster_of(g, to);
  df__out_puts(o, "  ");
  print_end(o, g, e->from, false, inside);
  df__out_puts(o, " -> ");
  print_end(o, g, to, true, inside);
  if (e->style == INVISIBLE) {
    df__out_puts(o, " [style=invis];\n");
    return;
  }
  df__out_printf(o, " [color=\"%s\", fontcolor=\"%s\"", color_text(e->color),
                 color_text(e->color));
  if (e->color != NEUTRAL) df__out_puts(o, ", penwidth=2");
  if (e->style != SOLID)
    df__out_printf(o, ", style=%s", e->style == DASHED ? "dashed" : "dotted");
  /* between clusters: drawn, but no say in the layout (see add_node) */
  if (!inside) {
    if (e->to_cluster != DF_LOG_NO_DEFERRED)
      df__out_printf(o, ", lhead=cluster_%u", e->to_cluster);
    df__out_puts(o, ", constraint=false");
  }
  if (e->prefix || e->label) {
    df__out_puts(o, ", label=\"");
    df__out_dot_text(o, e->prefix);
    df__out_dot_text(o, e->label);
    df__out_puts(o, "\"");
  }
  df__out_puts(o, "];\n");
}

static void print_graph(df__out *o, const graph *g, node_id *sorted,
                        size_t *starts) {
  size_t n_deferreds = df_firing_log_deferred_count(g->log);
  df__out_printf(o, "digraph firing_log {\n"
                    "  graph [compound=true, rankdir=TB, nodesep=0.3, "
                    "ranksep=0.35, fontname=\"DejaVu Sans Mono\", fontsize=11, "
                    "labelloc=t, label=\"firing log: %zu events about %zu "
                    "deferreds, %llu dropped\"];\n"
                    "  node [fontname=\"DejaVu Sans Mono\", fontsize=10];\n"
                    "  edge [fontname=\"DejaVu Sans Mono\", fontsize=9, "
                    "arrowsize=0.7];\n",
                 df_firing_log_count(g->log), n_deferreds,
                 (unsigned long long)df_firing_log_dropped(g->log));
  /* the nodes by cluster, in the order they were made (counting sort) */
  memset(starts, 0, (n_deferreds + 1) * sizeof *starts);
  for (size_t i = 0; i < g->n_nodes; i++) starts[cluster_of(g, g->nodes[i]) + 1]++;
  for (size_t d = 0; d < n_deferreds; d++) starts[d + 1] += starts[d];
  for (size_t i = 0; i < g->n_nodes; i++)
    sorted[starts[cluster_of(g, g->nodes[i])]++] = g->nodes[i];
  size_t at = 0; /* starts[d] is now the end of cluster d */
  for (uint32_t d = 0; d < n_deferreds; d++) {
    print_cluster(o, g, d, sorted + at, starts[d] - at);
    at = starts[d];
  }
  for (size_t i = 0; i < g->n_edges; i++) print_edge(o, g, &g->edges[i]);
  /* The clusters in rows of about sqrt(n), in the order the log heard of
   * them, rather than in one row as wide as the whole log: each is tied
   * below the one a row before it. */
  size_t columns = 1;
  while (columns * columns < n_deferreds) columns++;
  for (size_t d = 0; d + columns < n_deferreds; d++) {
    df__out_puts(o, "  ");
    print_node_name(o, g->ds[d].last);
    df__out_puts(o, " -> ");
    print_node_name(o, g->ds[d + columns].first);
    df__out_puts(o, " [style=invis];\n");
  }
  df__out_puts(o, "}\n");
}

int df_firing_log_write_dot(const df_firing_log *log, FILE *out) {
  if (!log || !out) return DF_EINVAL;
  size_t count = df_firing_log_count(log);
  size_t n_deferreds = df_firing_log_deferred_count(log);
  /* Each event makes at most one node and three edges (one invisible);
   * each deferred at most one placeholder and one edge from it. */
  size_t max_nodes = count + n_deferreds, max_edges = 3 * count + n_deferreds;
  graph g = {log, NULL, NULL, 0, NULL, 0};
  node_id *sorted = NULL;
  size_t *starts = NULL;
  int rc = DF_ENOMEM;
  if (max_edges / 3 < count || max_nodes > SIZE_MAX / sizeof *sorted ||
      max_edges > SIZE_MAX / sizeof *g.edges)
    goto done;
  g.ds = df__malloc((n_deferreds ? n_deferreds : 1) * sizeof *g.ds);
  g.nodes = df__malloc((max_nodes ? max_nodes : 1) * sizeof *g.nodes);
  g.edges = df__malloc((max_edges ? max_edges : 1) * sizeof *g.edges);
  sorted = df__malloc((max_nodes ? max_nodes : 1) * sizeof *sorted);
  starts = df__malloc((n_deferreds + 1) * sizeof *starts);
  if (!g.ds || !g.nodes || !g.edges || !sorted || !starts) goto done;
  for (size_t d = 0; d < n_deferreds; d++)
    g.ds[d] = (deferred_state){NO_NODE, false, NULL, NO_NODE, NO_NODE,
                               NO_NODE, false, false, DF_LOG_NO_DEFERRED};
  build(&g);
  df__out o = {out, 0};
  print_graph(&o, &g, sorted, starts);
  rc = df__out_finish(&o);
done:
  df__free(g.ds);
  df__free(g.nodes);
  df__free(g.edges);
  df__free(sorted);
  df__free(starts);
  if (rc == DF_ENOMEM) errno = ENOMEM;
  return rc;
}

int df_firing_log_write_dot_file(const df_firing_log *log, const char *path) {
  return df__write_to_path(log, path, df_firing_log_write_dot);
}
