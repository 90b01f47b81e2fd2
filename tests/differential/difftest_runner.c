/* difftest_runner: the C side of the differential test against Twisted.
 *
 * Reads programs on stdin, separated by lines "---", runs each through
 * libdeferred and prints its trace followed by a line "=== end". The
 * program format and the trace format are described in README.md next to
 * this file; twisted_runner.py prints the same trace from real Twisted,
 * and run.py generates programs and compares the two.
 *
 * The language is slots.c's as it stands: slots of deferreds and the
 * operations on them, with nothing added. */
#include "slots.h"

static void finish(void) {
  dt_print_slot_states();
  dt_release_slots();
}

int main(void) {
  static const dt_runner runner = {NULL, NULL, NULL, finish};
  return dt_main(&runner);
}
