/* standard_fds.h: the echo examples' guard for closed standard streams.
 *
 * A program started with descriptor 0, 1 or 2 closed would get its
 * first socket in that slot, and then read its input from the network,
 * print its messages into a client's connection, or its output into a
 * listening socket. standard_fds_open() fills each closed one with
 * /dev/null before anything else is opened; the caller then decides
 * what a closed stream means to it (the echo examples refuse to run
 * without a standard output, whose bytes would otherwise be lost). */
#ifndef EXAMPLES_STANDARD_FDS_H
#define EXAMPLES_STANDARD_FDS_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

/* Open /dev/null onto each of descriptors 0, 1 and 2 that is closed
 * (open() returns the lowest free descriptor, so in that order each one
 * lands in its slot). `closed[i]` tells whether descriptor i was closed.
 * Returns 0, or -1 with errno if /dev/null could not be opened. */
static inline int standard_fds_open(bool closed[3]) {
  for (int fd = 0; fd < 3; fd++) {
    closed[fd] = fcntl(fd, F_GETFD) < 0 && errno == EBADF;
    if (!closed[fd]) continue;
    int null = open("/dev/null", O_RDWR);
    if (null < 0) return -1;
    if (null != fd) { /* cannot happen: every lower one is open */
      close(null);
      errno = EBADF;
      return -1;
    }
  }
  return 0;
}

/* What main() of both examples does first: fill the closed descriptors,
 * and refuse to run without a standard output (saying on standard error
 * that `lost` would be lost). Returns 0 to go on, or the exit status 2. */
static inline int standard_fds_guard(const char *program, const char *lost) {
  bool closed[3];
  if (standard_fds_open(closed) < 0) return 2; /* stderr may be closed too */
  if (closed[1]) {
    fprintf(stderr, "%s: standard output is closed: %s would be lost\n",
            program, lost);
    return 2;
  }
  return 0;
}

#endif /* EXAMPLES_STANDARD_FDS_H */
