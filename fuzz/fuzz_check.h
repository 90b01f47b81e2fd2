/* CHECK(cond) for the fuzz targets: a failed check prints the condition
 * and where it is, and aborts, which libFuzzer reports as a crash and
 * saves the input that caused it. */
#ifndef FUZZ_FUZZ_CHECK_H
#define FUZZ_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "fuzz: check failed: %s (%s:%d)\n", #cond, __FILE__, \
              __LINE__);                                                 \
      abort();                                                           \
    }                                                                    \
  } while (0)

#endif /* FUZZ_FUZZ_CHECK_H */
