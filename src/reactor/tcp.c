/* TCP connections of the libuv reactor: the transport on a uv_tcp_t.
 *
 * Reading. Every connection reads into the reactor's one read buffer
 * (df__uv_read_buffer): data_received is synchronous, so the buffer is
 * free again when it returns, and a connection costs no read buffer of
 * its own (a poetry server holding 10,000 slow clients would otherwise
 * pay 640 MB of 64 KiB buffers).
 *
 * Writing. A write goes to the kernel at once with uv_try_write when
 * nothing is queued; only the rest is copied, into a write chunk (one
 * allocation: the uv_write_t and the bytes after it). At most two chunks
 * exist: `inflight`, being written by libuv, and `pending`, which later
 * writes are appended to (growing it) until the inflight one completes
 * and it goes out in turn. So a connection that keeps up holds no write
 * buffer, and one that is behind holds its unsent bytes and two request
 * headers, whatever the number of writes. Invariant: pending != NULL
 * only while inflight != NULL.
 *
 *   write ──> try_write ──(rest)──> inflight ──done──> pending becomes inflight
 *                                       ^ later writes append to pending
 *
 * Closing. lose_connection closes once both chunks are gone; half-close
 * (lose_write_connection) sends uv_shutdown at that point instead;
 * abort_connection sets SO_LINGER 0 (the peer sees a reset) and closes at
 * once; errors and the reactor's shutdown close at once. The protocol
 * hears of the end in the close callback, from the loop: libuv first
 * cancels the chunks' writes (their callbacks see UV_ECANCELED), then
 * calls it. The peer's address is kept (28 bytes) so that get_peer still
 * answers in connection_lost.
 *
 * Long writes. libuv takes buffers of at most UINT_MAX bytes (uv_buf_init
 * takes an unsigned int; uv_buf_t's length is one on some platforms), so
 * a piece or chunk longer than df__uv_buf_max is handed over as several
 * consecutive buffers, never cut short. */
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

typedef struct write_chunk {
  uv_write_t req;
  size_t len, cap;
  char data[];
} write_chunk;

struct df__tcp_conn {
  df_transport base;
  uv_tcp_t handle;
  write_chunk *inflight, *pending;
  df_failure *close_reason; /* from close_with until the close callback */
  df_address peer;
};

static df__uv_reactor *reactor_of(const df__tcp_conn *c) {
  return df__uv_reactor_of(c->base.reactor);
}

static const df__transport_ops tcp_ops;

static df__tcp_conn *conn_of(const df_transport *t) {
  return DF__CONTAINER_OF(t, df__tcp_conn, base);
}

static df__tcp_conn *conn_of_stream(uv_stream_t *s) {
  return DF__CONTAINER_OF(s, df__tcp_conn, handle);
}

df__tcp_conn *df__tcp_conn_new(df__uv_reactor *ur) {
  df__tcp_conn *c = df__uv_malloc(sizeof *c);
  if (!c) return NULL;
  df__transport_init(&c->base, &tcp_ops, df__uv_base(ur));
  c->inflight = c->pending = NULL;
  c->close_reason = NULL;
  memset(&c->peer, 0, sizeof c->peer);
  if (uv_tcp_init(df__uv_loop(ur), &c->handle) < 0) {
    df__uv_free(c);
    return NULL;
  }
  df__uv_hold(ur);
  return c;
}

uv_tcp_t *df__tcp_conn_handle(df__tcp_conn *c) { return &c->handle; }
df_transport *df__tcp_conn_transport(df__tcp_conn *c) { return &c->base; }

/* --- closing ------------------------------------------------------------------ */

static void conn_closed(uv_handle_t *h) {
  df__tcp_conn *c = conn_of_stream((uv_stream_t *)h);
  df__uv_free(c->pending); /* inflight's callback has freed it */
  c->pending = NULL;
  df_failure *reason = c->close_reason;
  c->close_reason = NULL;
  df__transport_ended(&c->base, reason);
  df_failure_unref(reason);
  df__uv_release(reactor_of(c));
  df__uv_free(c);
}

/* Close now for `reason` (reference taken; NULL for a connection that
 * never had a protocol). */
static void close_with(df__tcp_conn *c, df_failure *reason) {
  if (uv_is_closing((uv_handle_t *)&c->handle)) {
    df_failure_unref(reason);
    return;
  }
  c->base.flags |= DF__T_CLOSED;
  c->close_reason = reason;
  uv_close((uv_handle_t *)&c->handle, conn_closed);
}

void df__tcp_conn_discard(df__tcp_conn *c) { close_with(c, NULL); }

static void tcp_close_now(df_transport *t, df_failure *reason) {
  close_with(conn_of(t), reason);
}

static void shutdown_done(uv_shutdown_t *req, int status) {
  df__tcp_conn *c = conn_of_stream(req->handle);
  df__uv_free(req);
  if (status == UV_ECANCELED) return; /* closing */
  if (status < 0) {
    close_with(c, df__connection_lost_failure(status));
    return;
  }
  df__transport_write_shut(&c->base);
  /* Both directions are over: the connection ends cleanly. */
  if ((c->base.flags & DF__T_READ_EOF) && !(c->base.flags & DF__T_CLOSED))
    close_with(c, df__connection_done());
}

static void start_shutdown(df__tcp_conn *c) {
  if (c->base.flags & (DF__T_SHUTDOWN_SENT | DF__T_CLOSED)) return;
  c->base.flags |= DF__T_SHUTDOWN_SENT;
  uv_shutdown_t *req = df__uv_malloc(sizeof *req);
  int rc = req ? uv_shutdown(req, (uv_stream_t *)&c->handle, shutdown_done)
               : UV_ENOMEM;
  if (rc < 0) {
    df__uv_free(req);
    close_with(c, df__connection_lost_failure(rc));
  }
}

/* Nothing is left to send: finish what lose_connection or
 * lose_write_connection asked for. */
static void flushed(df__tcp_conn *c) {
  if (c->base.flags & DF__T_DISCONNECTING)
    close_with(c, df__connection_done());
  else if (c->base.flags & DF__T_WRITE_CLOSED)
    start_shutdown(c);
}

static void tcp_lose_connection(df_transport *t) {
  df__tcp_conn *c = conn_of(t);
  uv_read_stop((uv_stream_t *)&c->handle);
  if (!c->inflight) flushed(c);
}

static void tcp_lose_write_connection(df_transport *t) {
  df__tcp_conn *c = conn_of(t);
  if (!c->inflight) flushed(c);
}

static void tcp_abort_connection(df_transport *t) {
  df__tcp_conn *c = conn_of(t);
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->handle, &fd) == 0) {
    struct linger reset = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  close_with(c, df__connection_aborted());
}

/* --- writing ------------------------------------------------------------------- */

static void write_done(uv_write_t *req, int status);

static write_chunk *new_chunk(size_t cap) {
  if (cap > SIZE_MAX - sizeof(write_chunk)) return NULL;
  write_chunk *w = df__uv_malloc(sizeof *w + cap);
  if (w) {
    w->len = 0;
    w->cap = cap;
  }
  return w;
}

/* Copy the pieces' bytes from offset `skip` on to the end of `w`. */
static void append(write_chunk *w, const df_buffer *pieces, size_t n,
                   size_t skip) {
  for (size_t i = 0; i < n; i++) {
    size_t len = pieces[i].len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    memcpy(w->data + w->len, (const char *)pieces[i].base + skip, len - skip);
    w->len += len - skip;
    skip = 0;
  }
}

size_t df__uv_buf_max = UINT_MAX;

/* Describe the bytes of the `n` pieces from offset `skip` on as at most
 * `max` libuv buffers of at most df__uv_buf_max bytes each, in order.
 * Returns how many it filled (fewer bytes than the pieces hold if `max`
 * runs out). */
static size_t fill_bufs(uv_buf_t *bufs, size_t max, const df_buffer *pieces,
                        size_t n, size_t skip) {
  size_t nb = 0;
  for (size_t i = 0; i < n && nb < max; i++) {
    size_t len = pieces[i].len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    char *base = (char *)pieces[i].base + skip;
    len -= skip;
    skip = 0;
    while (len > 0 && nb < max) {
      size_t part = len < df__uv_buf_max ? len : df__uv_buf_max;
      bufs[nb++] = uv_buf_init(base, (unsigned)part);
      base += part;
      len -= part;
    }
  }
  return nb;
}

/* The buffers of a chunk that fit on the stack: 8 * 4 GiB. */
#define CHUNK_BUFS 8

/* Hand `w` to libuv as the inflight chunk (libuv copies the buffer list,
 * so a long one is ours only for the call). */
static void submit(df__tcp_conn *c, write_chunk *w) {
  uv_buf_t small[CHUNK_BUFS], *bufs = small;
  memset(small, 0, sizeof small); /* gcc -O3 cannot see fill_bufs fill them */
  size_t nb = w->len / df__uv_buf_max + (w->len % df__uv_buf_max != 0);
  int rc = UV_ENOMEM;
  if (nb > CHUNK_BUFS) /* only when the tests lower df__uv_buf_max */
    bufs = nb <= UINT_MAX && nb <= SIZE_MAX / sizeof *bufs
               ? df__uv_malloc(nb * sizeof *bufs)
               : NULL;
  if (bufs) {
    df_buffer all = {w->data, w->len};
    fill_bufs(bufs, nb, &all, 1, 0); /* all of it: nb buffers hold it */
    rc = uv_write(&w->req, (uv_stream_t *)&c->handle, bufs, (unsigned)nb,
                  write_done);
    if (bufs != small) df__uv_free(bufs);
  }
  if (rc < 0) {
    df__uv_free(w);
    close_with(c, df__connection_lost_failure(rc));
    return;
  }
  c->inflight = w;
}

static void write_done(uv_write_t *req, int status) {
  write_chunk *w = DF__CONTAINER_OF(req, write_chunk, req);
  df__tcp_conn *c = conn_of_stream(req->handle);
  c->inflight = NULL;
  df__uv_free(w);
  if (status == UV_ECANCELED) return; /* closing */
  if (status < 0) {
    close_with(c, df__connection_lost_failure(status));
    return;
  }
  if (c->pending) {
    write_chunk *next = c->pending;
    c->pending = NULL;
    submit(c, next);
  } else {
    flushed(c);
  }
  df__transport_buffer_drained(&c->base);
}

/* The fast path tries this many pieces in one writev. */
#define TRY_PIECES 16

static int tcp_write(df_transport *t, const df_buffer *pieces, size_t n,
                     size_t total) {
  df__tcp_conn *c = conn_of(t);
  if (c->inflight) {
    /* Behind already: append to the pending chunk, growing it. */
    write_chunk *w = c->pending;
    size_t need = (w ? w->len : 0) + total;
    if (!w || need > w->cap) {
      size_t cap = w ? w->cap : 0;
      if (cap < 1024) cap = 1024;
      while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
      write_chunk *bigger =
          df__uv_realloc(w, sizeof *w + cap); /* w may be NULL */
      if (!bigger) return DF_ENOMEM;
      if (!w) bigger->len = 0;
      bigger->cap = cap;
      c->pending = w = bigger;
    }
    append(w, pieces, n, 0);
    df__transport_buffer_grew(t);
    return 0;
  }
  uv_buf_t bufs[TRY_PIECES];
  size_t nb = fill_bufs(bufs, TRY_PIECES, pieces, n, 0);
  int sent = uv_try_write((uv_stream_t *)&c->handle, bufs, (unsigned)nb);
  if (sent < 0 && sent != UV_EAGAIN) {
    /* The connection is broken (EPIPE, ECONNRESET): it ends, and
     * connection_lost says why. */
    close_with(c, df__connection_lost_failure(sent));
    return 0;
  }
  size_t skip = sent > 0 ? (size_t)sent : 0;
  if (skip == total) return 0;
  write_chunk *w = new_chunk(total - skip);
  if (!w) {
    if (skip == 0) return DF_ENOMEM;
    /* Part went out and the rest cannot be kept: the stream would be
     * corrupt, so the connection ends. */
    close_with(c, df__connection_lost_failure(UV_ENOMEM));
    return DF_ENOMEM;
  }
  append(w, pieces, n, skip);
  submit(c, w);
  df__transport_buffer_grew(t);
  return 0;
}

static size_t tcp_buffered(const df_transport *t) {
  const df__tcp_conn *c = conn_of(t);
  return (c->inflight ? c->inflight->len : 0) +
         (c->pending ? c->pending->len : 0);
}

/* --- reading ----------------------------------------------------------------------- */

/* The socket's pending error (SO_ERROR) as a libuv code, or 0. */
static int socket_error(df__tcp_conn *c) {
  uv_os_fd_t fd;
  int err = 0;
  socklen_t len = sizeof err;
  if (uv_fileno((uv_handle_t *)&c->handle, &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return 0;
  return err ? uv_translate_sys_error(err) : 0;
}

static void give_read_buffer(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  df__uv_read_buffer(reactor_of(conn_of_stream((uv_stream_t *)h)), buf);
}

static void read_done(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  df__tcp_conn *c = conn_of_stream(s);
  if (nread > 0) {
    df_protocol *p = c->base.protocol;
    if (p && p->type->data_received && !(c->base.flags & DF__T_CLOSED))
      p->type->data_received(p, buf->base, (size_t)nread);
    return;
  }
  if (nread == 0) return; /* EAGAIN */
  if (nread == UV_EOF) {
    /* libuv reports a hang-up after a short read as an end of file
     * without reading again, so a reset that follows data looks like a
     * clean close: the socket's pending error tells them apart. (A poem
     * cut short by a reset must be a failed download.) */
    int pending = socket_error(c);
    if (pending) {
      close_with(c, df__connection_lost_failure(pending));
      return;
    }
    uv_read_stop(s);
    df__transport_read_eof(&c->base);
    if ((c->base.flags & DF__T_WRITE_DONE) && !(c->base.flags & DF__T_CLOSED))
      close_with(c, df__connection_done());
    return;
  }
  close_with(c, df__connection_lost_failure((int)nread));
}

static void tcp_pause_reading(df_transport *t) {
  uv_read_stop((uv_stream_t *)&conn_of(t)->handle);
}

static void tcp_resume_reading(df_transport *t) {
  if (t->flags & (DF__T_READ_EOF | DF__T_DISCONNECTING)) return;
  uv_read_start((uv_stream_t *)&conn_of(t)->handle, give_read_buffer, read_done);
}

int df__tcp_conn_start(df__tcp_conn *c) {
  int len = sizeof c->peer.u;
  int rc = uv_tcp_getpeername(&c->handle, &c->peer.u.sa, &len);
  if (rc < 0) return rc;
  return uv_read_start((uv_stream_t *)&c->handle, give_read_buffer, read_done);
}

/* --- addresses and options ------------------------------------------------------------- */

static int tcp_get_peer(df_transport *t, df_address *out) {
  *out = conn_of(t)->peer;
  return 0;
}

static int tcp_get_host(df_transport *t, df_address *out) {
  memset(out, 0, sizeof *out);
  int len = sizeof out->u;
  return uv_tcp_getsockname(&conn_of(t)->handle, &out->u.sa, &len);
}

static int tcp_set_nodelay(df_transport *t, bool on) {
  return uv_tcp_nodelay(&conn_of(t)->handle, on);
}

static int tcp_set_keepalive(df_transport *t, unsigned idle_seconds) {
  return uv_tcp_keepalive(&conn_of(t)->handle, idle_seconds > 0, idle_seconds);
}

static const df__transport_ops tcp_ops = {
    .write = tcp_write,
    .lose_connection = tcp_lose_connection,
    .lose_write_connection = tcp_lose_write_connection,
    .abort_connection = tcp_abort_connection,
    .close_now = tcp_close_now,
    .get_peer = tcp_get_peer,
    .get_host = tcp_get_host,
    .pause_reading = tcp_pause_reading,
    .resume_reading = tcp_resume_reading,
    .buffered = tcp_buffered,
    .set_nodelay = tcp_set_nodelay,
    .set_keepalive = tcp_set_keepalive,
};
