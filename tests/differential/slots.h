/* Slot programs: what the C runners of the differential tests share.
 *
 * A program is a table of slots d0..d15, each empty or holding one
 * reference to a deferred, and one operation per line (README.md in this
 * directory gives the language). This module is the part of that language
 * every runner speaks: values, the actions a stage runs, cancellers, the
 * operations on slots (new, add, both, callback, errback, pause, unpause,
 * cancel, chain, release), the trace's text for results and return codes,
 * the unhandled-failure handler, and the loop that reads programs
 * separated by "---" and prints each trace followed by "=== end".
 *
 * difftest_runner.c uses it as it is; tests/differential_compose's runner
 * adds operations and actions of its own through the hooks below (a
 * parser and runner for its operations, an action kind A_EXT, printers
 * for the results it makes, a suffix after each "call" line).
 *
 * Every deferred a program makes gets a serial number (D0, D1, ... in
 * creation order), stored as the `line` of its creation site so that the
 * unhandled-failure handler can name it without a side table. */
#ifndef DT_SLOTS_H
#define DT_SLOTS_H

#include <deferred.h>
#include <stdbool.h>
#include <stdint.h>

#define DT_MAX_SLOTS 16
#define DT_MAX_TEXT 32
#define DT_LINE_MAX 512

/* --- values ---------------------------------------------------------------- */

typedef enum { V_NONE, V_INT, V_STR } dt_vkind;
typedef struct dt_value {
  dt_vkind kind;
  int64_t i;
  char s[DT_MAX_TEXT];
} dt_value;

/* Strings become df_string_dup results (owned, so they move where a
 * value moves) when true, the default; borrowed df_string results
 * pointing into the program (owning nothing) when false. */
extern bool dt_owned_strings;

df_result dt_value_result(const dt_value *v);
/* "None", an integer, or 'text'. 0, or -1. */
int dt_parse_value(const char *s, dt_value *v);
/* Copy a message of fewer than DT_MAX_TEXT bytes. 0, or -1. */
int dt_parse_text(const char *s, char *out);
/* A slot number 0..DT_MAX_SLOTS-1, or -1. */
int dt_parse_slot(const char *s);

/* --- the trace's text ------------------------------------------------------- */

/* A runner's printers for what only it makes (a lock, an array of
 * results, a FirstError ...): each prints and returns true if it knows
 * the result or failure, else returns false and the shared text is
 * used. */
typedef struct dt_print_hooks {
  bool (*result)(const df_result *r);
  bool (*failure)(const df_failure *f);
} dt_print_hooks;
extern dt_print_hooks dt_print;

/* F(Type:message), or F(Type) with no message or for AlreadyCalledError
 * (Twisted's has none, ours explains itself). */
void dt_print_failure(const df_failure *f);
/* None, 5, 'text', a failure, "wait D3", or the runner's text. */
void dt_print_result(const df_result *r);
/* "ok", "AlreadyCalled", "AlreadyCancelled", "EINVAL", "QueueOverflow",
 * "ENOMEM", or "error" for a code no runner expects. */
const char *dt_rc_text(int rc);

/* --- the program's memory ---------------------------------------------------- */

/* Zeroed memory that lives until the next program starts (after all its
 * deferreds are released). Aborts if memory runs out. */
void *dt_arena_alloc(size_t n);

/* --- actions and stages ----------------------------------------------------- */

typedef enum {
  A_NONE, /* '-': no function on this side (pass-through) */
  A_RET, A_FAIL, A_PASS, A_WAIT, A_FIRE, A_ERR, A_CANCEL, A_PAUSE,
  A_UNPAUSE, A_ADD,
  A_EXT /* the runner's own: see dt_action_hooks */
} dt_akind;

typedef struct dt_stage dt_stage;
typedef struct dt_action {
  dt_akind kind;
  int slot;
  dt_value v;            /* A_RET, A_FIRE */
  char msg[DT_MAX_TEXT]; /* A_FAIL, A_ERR */
  dt_stage *sub;         /* A_ADD: the stage added (both sides) */
  int ext;               /* A_EXT: which of the runner's kinds   */
  double x;              /* A_EXT: a number                      */
} dt_action;

struct dt_stage {
  char label[24];
  dt_action cb, eb;
};

typedef struct dt_action_hooks {
  /* Parse "kind:arg" for a kind the shared code does not know into an
   * A_EXT action: 0, or -1 if the runner does not know it either. */
  int (*parse)(const char *kind, char *arg, dt_action *a);
  /* Run an A_EXT action on the stage's input `in` (taken); returns what
   * the stage returns. */
  df_result (*run)(const dt_action *a, df_result in);
  /* Print what follows "call s3 cb 5" on the same line (" @1.5"). */
  void (*call_suffix)(void);
} dt_action_hooks;
extern dt_action_hooks dt_actions;

/* "kind[:arg[:rest]]" into `a`; `label` names a stage an add: action
 * makes ("<label>a"). 0, or -1. */
int dt_parse_action(char *s, dt_action *a, const char *label);
/* Do what `a` says with the input `in` (taken), returning the result the
 * stage (or function) goes on with. Prints the lines of actions on
 * other slots. */
df_result dt_run_action(const dt_action *a, df_result in);
/* Add `st` to `d`: its cb and eb sides, NULL where A_NONE. */
int dt_add_stage(df_deferred *d, dt_stage *st);

/* --- slots and operations ----------------------------------------------------- */

extern df_deferred *dt_slots[DT_MAX_SLOTS];
extern int dt_next_serial;
/* A deferred's serial: the `line` of its creation site. */
int dt_serial_of(const df_deferred *d);
/* Empty slot k, dropping its reference. */
void dt_release_slot(int k);

typedef enum { C_NONE, C_NOOP, C_CB, C_EB } dt_ckind;
typedef struct dt_canceller {
  dt_ckind kind;
  dt_value v;
  char msg[DT_MAX_TEXT];
} dt_canceller;

typedef enum {
  O_NEW, O_ADD, O_BOTH, O_CALLBACK, O_ERRBACK, O_PAUSE, O_UNPAUSE, O_CANCEL,
  O_CHAIN, O_RELEASE,
  O_EXT /* the runner's own */
} dt_okind;

typedef struct dt_op {
  dt_okind kind;
  int slot, slot2;
  dt_value v;
  char msg[DT_MAX_TEXT];
  dt_canceller canc;
  dt_stage *st;
  void *ext; /* O_EXT: the runner's own description (in the arena) */
  char text[DT_LINE_MAX];
} dt_op;

/* Parse one of the shared operations. 0, -1 on a malformed line, 1 if
 * the line is not one of them (the runner may know it). `index` is the
 * line's number in the program, which labels its stages ("s<index>"). */
int dt_parse_op(char *line, int index, dt_op *o);
/* Run a shared operation: "#<line>", what happens, "= <rc>". */
void dt_run_op(const dt_op *o);

/* "state dK DN called=.. paused=.. pending=.. result=.." for slot k,
 * which holds a deferred. */
void dt_print_slot_state(int k);
/* The end of a program: that line for every live slot, then each
 * released in order ("release dK"). */
void dt_print_slot_states(void);
void dt_release_slots(void);

/* --- the program loop ---------------------------------------------------------- */

typedef struct dt_runner {
  /* Parse a line the shared operations do not know (O_EXT): 0, or -1. */
  int (*parse_op)(char *line, int index, dt_op *o);
  /* Run an O_EXT operation. */
  void (*run_op)(const dt_op *o);
  /* Before the first operation of a program. */
  void (*begin)(void);
  /* After the last: print the states and release everything. */
  void (*finish)(void);
} dt_runner;

/* Read programs from stdin, separated by "---", run each, and print its
 * trace followed by "=== end" ("parse error" for a malformed one).
 * Returns the process's exit status. */
int dt_main(const dt_runner *runner);

#endif /* DT_SLOTS_H */
