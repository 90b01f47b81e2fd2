/* What the two halves of compose_runner share: compose_runner.c (locks,
 * semaphores, queues, lists, and the program around them) and
 * compose_time.c (the test clock, delayed calls, timeouts, defer_later,
 * LoopingCall). README.md next to this file describes the language. */
#ifndef COMPOSE_H
#define COMPOSE_H

#include "slots.h"

#define MAX_PRIMS 4    /* lock, queue and loop slots each         */
#define MAX_MEMBERS 12 /* a list's members, pump's amounts        */
#define RC_EMPTY 1     /* an rc meaning: the slot named is empty  */

/* An operation of the composition layer (dt_op.ext). */
typedef enum {
  X_LOCK, X_SEM, X_ACQUIRE, X_UNLOCK, X_RUN, X_LFREE,
  X_QUEUE, X_PUT, X_GET, X_QFREE,
  X_LIST, X_GATHER,
  X_SHOW,
  /* compose_time.c's */
  X_ADVANCE, X_PUMP, X_LATER, X_DCANCEL, X_DRESET, X_DDELAY,
  X_TIMEOUT, X_DEFER_LATER, X_LOOP, X_START, X_STOP, X_LRESET
} xkind;

/* A delayed call a program names: "h3" (call slot 3) or "p1" (loop 1's
 * next call). */
typedef struct call_ref {
  char kind; /* 'h' or 'p' */
  int k;
} call_ref;

typedef struct xop {
  xkind kind;
  int k;          /* the deferred slot filled                      */
  int obj;        /* the lock, queue, loop or call slot used        */
  long n;         /* sem: tokens                                    */
  size_t size, backlog;
  bool flag;      /* put fail:, loop with count, start now, ONT set */
  unsigned flags; /* list: DF_LIST_*; gather: consume errors        */
  int members[MAX_MEMBERS];
  int n_members;
  double x;       /* a delay, amount, interval or timeout           */
  double xs[MAX_MEMBERS]; /* pump's amounts (n_members of them)     */
  call_ref ref;   /* dcancel, dreset, ddelay                        */
  dt_stage *fn;   /* a function's label and action (its cb)         */
  char show[8];   /* show: the object's name                        */
} xop;

/* The next serial, for a deferred the library makes for the program. */
int compose_serial(void);
/* Slot k takes `d`, made just now; the deferred it held is released
 * after (aborts if `d` is NULL: out of memory). */
void compose_fill(int k, df_deferred *d);
/* "  <what> <k> = <rc>" for an action (RC_EMPTY prints "empty"). */
void compose_print_rc(const char *what, int k, int rc);
/* The text of an rc, RC_EMPTY included. */
const char *compose_rc_text(int rc);
/* An index 0..most-1 (a lock, queue, loop or call slot), or -1. */
int compose_parse_index(const char *s, int most);
/* A number of the program: a delay, an amount ("inf" allowed). 0, or
 * -1. */
int compose_parse_number(const char *s, double *out);
/* A double as both sides print it ("%.17g"). */
void compose_print_time(double t);
/* A function the library calls: "fn <label> @<time>", then its action on
 * None; returns the function's outcome. */
df_result compose_call_function(const dt_stage *st, const char *extra);

/* --- compose_time.c ------------------------------------------------------ */

/* A time operation (tok[0] names it): 0, -1 if malformed, 1 if tok[0] is
 * not a time operation. */
int time_parse_op(char **tok, int n, int index, xop *x);
void time_run_op(const xop *x);
/* Time actions of stages and functions ("adv:X", "stop:P", ...): as
 * dt_action_hooks.parse and .run. */
int time_parse_action(const char *kind, char *arg, dt_action *a);
df_result time_run_action(const dt_action *a, df_result in);
/* A loop a start deferred fired with: "P0", "P?". */
bool time_print_result(const df_result *r);
/* "show clock", "show h3", "show p1", "show P0": printed, or false. */
bool time_show(const char *name);
/* The clock's time, after a "call" line: " @1.5". */
void time_call_suffix(void);
/* A program's start (a new clock) and end: the states, then every loop
 * and call let go, the pending calls cancelled in their order, the clock
 * freed. */
void time_begin(void);
void time_print_states(void);
void time_end(void);

#endif /* COMPOSE_H */
