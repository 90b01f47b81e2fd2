/* The standard descriptors made safe (std_fds.h). */
#include "std_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const names[] = {"standard input", "standard output",
                                    "standard error"};

/* Why std_fds_guard gave -1, for std_fds_missing. */
static int guard_errno;

int std_fds_guard(void) {
  int closed = 0;
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    /* The lowest free number: `fd` itself, the ones below being open. */
    int null = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
    if (null < 0) {
      guard_errno = errno;
      return -1;
    }
    if (null != fd) {
      int rc = dup2(null, fd);
      int saved = errno;
      close(null);
      if (rc < 0) {
        errno = guard_errno = saved;
        return -1;
      }
    }
    closed |= 1 << fd;
  }
  return closed;
}

bool std_fds_missing(const char *tool, int closed, int needed) {
  if (closed < 0) {
    fprintf(stderr, "%s: cannot open /dev/null in place of a closed standard "
            "stream: %s\n", tool, strerror(guard_errno));
    return true;
  }
  for (int fd = 0; fd <= 2; fd++)
    if (closed & needed & (1 << fd)) {
      fprintf(stderr, "%s: %s is closed\n", tool, names[fd]);
      return true;
    }
  return false;
}
