/* list_runner: the C side of the DeferredList comparison with Twisted.
 *
 * Reads programs on stdin, separated by lines "---", runs each through
 * libdeferred and prints its trace, each ending with "=== end". The
 * formats are in README.md next to this file; twisted_list_runner.py
 * prints the same trace from real Twisted and run.py compares the two.
 *
 * Values are integers and strings that own nothing (df_string pointing
 * into the program text), so no value moves: what is compared is the
 * order of calls, what each stage sees, what the lists fire with, cancel,
 * and the state everything ends in.
 */
#include <deferred.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 8
#define MAX_LISTS 4
#define MAX_LINES 256
#define LINE_LEN 256

static df_deferred *members[MAX_MEMBERS];
static df_deferred *lists[MAX_LISTS];
static bool is_gather[MAX_LISTS];
static char program[MAX_LINES][LINE_LEN]; /* df_string values point here */

/* --- rendering (the same text as fmt() in twisted_list_runner.py) ------- */

static size_t render(df_result r, bool gather, char *buf, size_t size);

static size_t render_failure(const df_failure *f, char *buf, size_t size) {
  const df_first_error *fe = df_first_error_of(f);
  if (fe) {
    char sub[256];
    render_failure(fe->sub_failure, sub, sizeof sub);
    /* the precision tells gcc -O3 what fits (it cannot know sub's length) */
    int room = size > 32 ? (int)(size - 32) : 0;
    return (size_t)snprintf(buf, size, "F(FirstError:#%zu,%.*s)", fe->index,
                            room, sub);
  }
  return (size_t)snprintf(buf, size, "F(%s:%s)", df_failure_type(f)->name,
                          df_failure_message(f));
}

static size_t render(df_result r, bool gather, char *buf, size_t size) {
  df_result_array *a = df_result_array_of(r);
  df_first_result *h = df_first_result_of(r);
  char one[512];
  if (a) {
    size_t len = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < a->count && len < size; i++) {
      render(a->items[i], false, one, sizeof one);
      if (gather)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", one);
      else
        len += (size_t)snprintf(buf + len, size - len, "%s(%s, %s)",
                                i ? ", " : "",
                                df_result_array_succeeded(a, i) ? "True" : "False",
                                one);
    }
    if (len < size) len += (size_t)snprintf(buf + len, size - len, "]");
    return len;
  }
  if (h) {
    render(h->value, false, one, sizeof one);
    return (size_t)snprintf(buf, size, "(%s, %zu)", one, h->index);
  }
  switch (r.kind) {
  case DF_NONE: return (size_t)snprintf(buf, size, "None");
  case DF_INT: return (size_t)snprintf(buf, size, "%" PRId64, r.u.i);
  case DF_STRING: return (size_t)snprintf(buf, size, "'%s'", r.u.s);
  case DF_FAILURE: return render_failure(r.u.failure, buf, size);
  default: return (size_t)snprintf(buf, size, "?");
  }
}

/* --- stages ----------------------------------------------------------------- */

/* A stage's label: "mK" or "lL", and whether it is a gather list. */
typedef struct label {
  char text[8];
  bool gather;
} label;
static label member_labels[MAX_MEMBERS], list_labels[MAX_LISTS];

static df_result log_stage(df_result r, void *arg) {
  const label *l = arg;
  char text[2048];
  render(r, l->gather, text, sizeof text);
  printf("%s %s\n", l->text, text);
  return r;
}

static df_result eat_stage(df_result r, void *arg) {
  const label *l = arg;
  char text[2048];
  render(r, l->gather, text, sizeof text);
  printf("%s eat %s\n", l->text, text);
  df_result_drop(r);
  return df_none();
}

/* Cancellers: "none" does nothing, "cb:V" fires V. */
typedef struct canceller_spec {
  int slot;
  const char *value; /* NULL: does nothing */
} canceller_spec;
static canceller_spec cancellers[MAX_MEMBERS];

static df_result parse_value(const char *text) {
  if (text[0] == '\'') return df_string(text + 1); /* the quote is cut off */
  return df_int(strtoll(text, NULL, 10));
}

static void canceller(df_deferred *d, void *arg) {
  const canceller_spec *c = arg;
  printf("canceller m%d\n", c->slot);
  if (c->value) df_deferred_callback(d, parse_value(c->value));
}

static void print_rc(int rc) {
  printf("= %s\n", rc == DF_EALREADY_CALLED ? "AlreadyCalled"
                   : rc == 0                ? "ok"
                                            : "error");
}

/* --- running a program ------------------------------------------------------ */

/* Splits `line` into words in place; returns their number. A quoted
 * string value 'text' (alone or in cancel:cb:'text') becomes "'text": the
 * closing quote is cut off. */
static int split(char *line, char **words, int max) {
  int n = 0;
  for (char *p = strtok(line, " \n"); p && n < max; p = strtok(NULL, " \n")) {
    size_t len = strlen(p);
    char *quote = strchr(p, '\'');
    if (quote && quote < p + len - 1 && p[len - 1] == '\'') p[len - 1] = '\0';
    words[n++] = p;
  }
  return n;
}

static void run_line(char *line) {
  char *w[MAX_MEMBERS * 4 + 4];
  int n = split(line, w, (int)(sizeof w / sizeof w[0]));
  if (n == 0) return;
  int k = n > 1 ? atoi(w[1]) : 0;
  if (!strcmp(w[0], "new")) {
    snprintf(member_labels[k].text, sizeof member_labels[k].text, "m%d", k);
    if (n > 2 && !strcmp(w[2], "cancel:none")) {
      cancellers[k] = (canceller_spec){k, NULL};
      members[k] = df_deferred_new_with_canceller(canceller, &cancellers[k]);
    } else if (n > 2 && !strncmp(w[2], "cancel:cb:", 10)) {
      cancellers[k] = (canceller_spec){k, w[2] + 10};
      members[k] = df_deferred_new_with_canceller(canceller, &cancellers[k]);
    } else {
      members[k] = df_deferred_new();
    }
  } else if (!strcmp(w[0], "fire")) {
    print_rc(df_deferred_callback(members[k], parse_value(w[2])));
  } else if (!strcmp(w[0], "fail")) {
    print_rc(df_deferred_errback(members[k],
                                 df_failure_new(&df_error_exception, "%s", w[2])));
  } else if (!strcmp(w[0], "log")) {
    df_deferred_add_both(members[k], log_stage, &member_labels[k]);
  } else if (!strcmp(w[0], "eat")) {
    df_deferred_add_errback(members[k], eat_stage, &member_labels[k]);
  } else if (!strcmp(w[0], "pause")) {
    df_deferred_pause(members[k]);
  } else if (!strcmp(w[0], "unpause")) {
    df_deferred_unpause(members[k]);
  } else if (!strcmp(w[0], "cancel")) {
    df_deferred_cancel(members[k]);
  } else if (!strcmp(w[0], "list") || !strcmp(w[0], "gather")) {
    bool gather = w[0][0] == 'g';
    df_deferred *ms[MAX_MEMBERS * 4];
    size_t count = 0;
    for (int i = 3; i < n; i++) ms[count++] = members[atoi(w[i])];
    snprintf(list_labels[k].text, sizeof list_labels[k].text, "l%d", k);
    list_labels[k].gather = is_gather[k] = gather;
    if (gather) {
      lists[k] = df_gather_results(ms, count, w[2][0] == '1');
    } else {
      unsigned flags = 0;
      if (strchr(w[2], 'c')) flags |= DF_LIST_FIRE_ON_ONE_CALLBACK;
      if (strchr(w[2], 'e')) flags |= DF_LIST_FIRE_ON_ONE_ERRBACK;
      if (strchr(w[2], 'x')) flags |= DF_LIST_CONSUME_ERRORS;
      lists[k] = df_deferred_list(ms, count, flags);
    }
  } else if (!strcmp(w[0], "logl")) {
    df_deferred_add_both(lists[k], log_stage, &list_labels[k]);
  } else if (!strcmp(w[0], "eatl")) {
    df_deferred_add_errback(lists[k], eat_stage, &list_labels[k]);
  } else if (!strcmp(w[0], "cancell")) {
    df_deferred_cancel(lists[k]);
  } else {
    printf("bad line: %s\n", w[0]);
  }
}

static void print_state(const char *name, int k, df_deferred *d, bool gather) {
  char text[2048] = "-";
  const df_result *r = df_deferred_result(d);
  if (r) render(*r, gather, text, sizeof text);
  printf("state %s%d called=%d paused=%d result=%s\n", name, k,
         df_deferred_called(d), df_deferred_paused(d), text);
}

static void quiet(const df_unhandled *report, void *arg) {
  (void)report;
  (void)arg;
}

static void run_program(int n_lines) {
  memset(members, 0, sizeof members);
  memset(lists, 0, sizeof lists);
  for (int i = 0; i < n_lines; i++) {
    char copy[LINE_LEN];
    memcpy(copy, program[i], sizeof copy); /* strtok cuts program[i] up */
    printf("#%s", copy);
    run_line(program[i]);
  }
  for (int k = 0; k < MAX_MEMBERS; k++)
    if (members[k]) print_state("m", k, members[k], false);
  for (int k = 0; k < MAX_LISTS; k++)
    if (lists[k]) print_state("l", k, lists[k], is_gather[k]);
  for (int k = 0; k < MAX_LISTS; k++) df_deferred_unref(lists[k]);
  for (int k = 0; k < MAX_MEMBERS; k++) df_deferred_unref(members[k]);
  printf("=== end\n");
}

int main(void) {
  df_set_unhandled_handler(quiet, NULL);
  int n_lines = 0;
  char line[LINE_LEN];
  while (fgets(line, sizeof line, stdin)) {
    if (!strcmp(line, "---\n")) {
      run_program(n_lines);
      n_lines = 0;
    } else if (n_lines < MAX_LINES) {
      snprintf(program[n_lines++], LINE_LEN, "%s", line);
    }
  }
  if (n_lines) run_program(n_lines);
  return 0;
}
