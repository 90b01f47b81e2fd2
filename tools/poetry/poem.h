/* A poem as the poetry tools carry it: bytes and their count.
 *
 * A downloaded poem is whatever the server sent, NUL bytes included, so it
 * is not a C string: get-poetry accumulates it in a `poem` and prints it
 * with its length. The same file reads a whole stream with a limit, which
 * byronify (its input) and poetry-server (its poem file) both need.
 *
 *     struct poem:  +------+-----+-----+
 *                   | data | len | cap |     data: malloc'd, cap bytes,
 *                   +------+-----+-----+     len of them used
 *
 * A poem travels down a callback chain as a DF_POINTER result that owns
 * it (poem_result): dropping the result frees the poem.
 */
#ifndef POETRY_POEM_H
#define POETRY_POEM_H

#include <stdio.h>
#include <stddef.h>

#include <deferred.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct poem {
  char *data; /* NULL while empty */
  size_t len;
  size_t cap;
} poem;

/* A new empty poem (free it with poem_free), or NULL if out of memory. */
poem *poem_new(void);

/* A poem made of `len` bytes at `data`, which it takes over (a malloc'd
 * buffer of at least `len` bytes; get-poetry hands over the engine's new
 * poem this way). Returns NULL if out of memory, after freeing `data`. */
poem *poem_adopt(char *data, size_t len);

/* Append `len` bytes (copied). The buffer grows by doubling, so appending
 * a download chunk by chunk is linear. Returns 0, or DF_ENOMEM with the
 * poem as it was. */
int poem_append(poem *p, const void *data, size_t len);

/* Free the poem and its bytes. NULL is ignored. Its `void *` form is the
 * destructor of poem_result. */
void poem_free(poem *p);
void poem_release(void *p);

/* The poem as a result owning it (a DF_POINTER whose destructor is
 * poem_release). A NULL poem gives a MemoryError failure, so that
 * `return poem_result(poem_new())` needs no check of its own. */
df_result poem_result(poem *p);

/* The poem inside a result made by poem_result (borrowed; the result
 * still owns it), or NULL for any other result. */
poem *poem_of(df_result r);

/* Read at most `limit` bytes (limit > 0) of `in` into a new malloc'd
 * buffer (NULL when nothing was read): `*data` and `*len`. Reading
 * `limit` bytes stops there, so a caller that allows N bytes passes
 * N + 1 and refuses a result of N + 1 without reading the rest. Returns
 * 0, or -1 with errno set (ENOMEM if out of memory, read(2)'s error
 * otherwise) and nothing allocated. */
int poem_read_stream(FILE *in, size_t limit, char **data, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* POETRY_POEM_H */
