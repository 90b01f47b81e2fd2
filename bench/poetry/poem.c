/* Reading the poem (poem.h). */
#include "poem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *poem_read(const char *program, const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open %s: %s\n", program, path, strerror(errno));
    return NULL;
  }
  char *data = NULL;
  size_t n = 0, cap = 0;
  int failed = 0;
  while (!failed) {
    if (n == cap) {
      char *bigger = realloc(data, cap = cap ? 2 * cap : 65536);
      if (!bigger) {
        failed = ENOMEM;
        break;
      }
      data = bigger;
    }
    size_t got = fread(data + n, 1, cap - n, f);
    n += got;
    if (got == 0) failed = ferror(f) ? EIO : -1;
  }
  fclose(f);
  if (failed > 0 || n == 0) {
    fprintf(stderr, "%s: cannot read a poem from %s: %s\n", program, path,
            failed > 0 ? strerror(failed) : "the file is empty");
    free(data);
    return NULL;
  }
  *size = n;
  return data;
}
