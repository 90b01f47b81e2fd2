/* The poem every program of the poetry benchmark works on, read whole
 * from its file (the servers send it, the load client checks it). */
#ifndef BENCH_POETRY_POEM_H
#define BENCH_POETRY_POEM_H

#include <stddef.h>

/* Read the whole of the file at `path` into a new allocation (the caller
 * frees it), its length in `*size`. Returns NULL, after a message on
 * stderr naming `program`, if the file cannot be read or is empty. */
char *poem_read(const char *program, const char *path, size_t *size);

#endif
