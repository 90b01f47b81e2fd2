/* Downloading one poem (the tutorial's get_poetry): connect, read until
 * the server closes the connection, and fire a deferred with the poem.
 *
 *     df_deferred *d = poetry_get(endpoint, df_reactor_clock(r), 30, &progress);
 *     // fires with poem_result(poem): the bytes exactly as received,
 *     // or fails: the download failed
 *
 * What ends a download, and how its deferred fires:
 *
 *   the server closes cleanly (ConnectionDone)  the poem, NUL bytes and
 *                                               all; an empty poem too
 *   the connection breaks (reset, error)        ConnectionLost
 *   nothing arrives for `timeout` seconds       TimeoutError ("no bytes
 *                                               from 127.0.0.1:10000 for
 *                                               30 seconds"); the
 *                                               connection is aborted
 *   more than POETRY_MAX_POEM bytes             PoemTooLongError; aborted
 *   the connection attempt fails                the endpoint's ConnectError:
 *                                               ConnectionRefusedError,
 *                                               TCPTimedOutError,
 *                                               DNSLookupError ...
 *   the deferred is cancelled                   CancelledError, or while
 *                                               connecting
 *                                               ConnectingCancelledError;
 *                                               the connection is aborted
 *
 * So a short poem is never taken for a whole one: only a clean close
 * gives a poem. The connection attempt's own time limit is the
 * endpoint's (get-poetry makes its endpoints with the same timeout);
 * `timeout` then bounds every wait for the next bytes.
 */
#ifndef POETRY_CLIENT_H
#define POETRY_CLIENT_H

#include <stddef.h>

#include <deferred/uv.h>

#include "poem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest poem a download accepts. */
#define POETRY_MAX_POEM (64u * 1024 * 1024)

/* "PoemTooLongError": the server sent more than POETRY_MAX_POEM bytes. */
extern const df_error_type poetry_too_long_error;

/* How far a download is, for a progress display. */
typedef enum poetry_stage {
  POETRY_CONNECTING, /* not connected yet                       */
  POETRY_RECEIVING,  /* connected, reading                      */
  POETRY_RECEIVED,   /* the server closed cleanly: a whole poem */
  POETRY_FAILED      /* the download failed                     */
} poetry_stage;

typedef struct poetry_progress {
  size_t bytes;       /* received so far */
  poetry_stage stage;
} poetry_progress;

/* Download one poem from `ep` (borrowed: it may be freed once this has
 * returned), waiting at most `timeout` seconds of `clock` (borrowed; the
 * reactor's) for each piece of it once connected (0: no limit).
 * `progress`, if not NULL, is borrowed and kept up to date until the
 * deferred fires: it must outlive the download.
 *
 * Returns a new reference to a deferred that fires with the poem (a
 * result made by poem_result, owning it) or fails as the table above
 * says. Returns NULL only if out of memory (nothing started). */
df_deferred *poetry_get(df_endpoint *ep, df_clock *clock, double timeout,
                        poetry_progress *progress);

#ifdef __cplusplus
}
#endif

#endif /* POETRY_CLIENT_H */
