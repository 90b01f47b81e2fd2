/* libdeferred-uv: transports (ITransport, ITCPTransport, IConsumer,
 * IPushProducer).
 *
 * A transport is one connection as its protocol sees it: it writes bytes,
 * closes, reports addresses, can stop reading, and applies backpressure
 * to a registered producer. The same functions work on a TCP connection
 * of the libuv reactor and on a memory transport (memory_transport.h), so
 * a protocol is written once and unit-tested without sockets.
 *
 * Writing never blocks and never allocates in the common case: a write
 * first goes straight to the socket (uv_try_write); only what the kernel
 * does not take at once is copied into the transport's write buffer,
 * which is freed again as soon as it has been sent. So a connection that
 * is not behind on writing holds no buffer at all.
 *
 * Backpressure: df_transport_write_buffer_size() is what is waiting to be
 * sent. A producer registered with df_transport_register_producer is
 * paused when it passes the high-water mark (64 KiB by default, Twisted's
 * bufferSize) and resumed when it falls to the low-water mark (16 KiB, as
 * asyncio; Twisted waits for an empty buffer: set it to 0 for that).
 *
 * Ownership: the transport belongs to the reactor (or to the memory
 * transport's owner) and lives until just after its protocol's
 * connection_lost and free have returned; a protocol may use its
 * `transport` pointer until then, from its own callbacks or any other
 * code of the reactor's thread. Do not keep it past connection_lost.
 *
 * Calling at the wrong time: after lose_connection or abort_connection,
 * writes are refused (DF_EINVAL, the bytes are dropped, as a closing
 * Twisted transport drops them), and a second close request is ignored.
 */
#ifndef DEFERRED_UV_TRANSPORT_H
#define DEFERRED_UV_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One piece of a df_transport_write_sequence (an iovec). */
typedef struct df_buffer {
  const void *base;
  size_t len;
} df_buffer;

/* Default water marks, in bytes. */
#define DF_WRITE_HIGH_WATER_DEFAULT 65536
#define DF_WRITE_LOW_WATER_DEFAULT 16384

/* Send `len` bytes (copied or sent before this returns: `data` stays the
 * caller's). Returns 0; DF_EINVAL if `t` is NULL, or the transport is
 * closing or its write side is shut down (nothing is sent); DF_ENOMEM if
 * the bytes could not be buffered: nothing was sent and the connection
 * is as it was, or, if the kernel had taken part of them already, the
 * connection is ended (a stream with a hole would be worse), with
 * ConnectionLost. A write of 0 bytes does nothing and returns 0. Errors
 * of the connection itself (a reset) are not returned here: they end the
 * connection, and connection_lost reports them. */
int df_transport_write(df_transport *t, const void *data, size_t len);

/* Send the `n` pieces in order, as one write (Twisted's writeSequence);
 * the kernel gets them in one writev. Same returns as df_transport_write. */
int df_transport_write_sequence(df_transport *t, const df_buffer *pieces,
                                size_t n);

/* Close once the write buffer has been sent (Twisted's loseConnection):
 * reading stops at once; connection_lost follows with ConnectionDone.
 * A second call, or one after abort, is ignored. */
void df_transport_lose_connection(df_transport *t);

/* Close now, dropping the write buffer (abortConnection). The peer sees a
 * reset; connection_lost follows with ConnectionAborted. */
void df_transport_abort_connection(df_transport *t);

/* Half-close (Twisted's loseWriteConnection): once the write buffer has
 * been sent, shut down the sending side (the peer reads an end of file);
 * reading goes on. The protocol's write_connection_lost is then called.
 * Further writes are refused. Ignored when closing already. */
void df_transport_lose_write_connection(df_transport *t);

/* The peer's and our own address (getPeer / getHost). Returns 0, a
 * negated errno value from getsockname (-EBADF once the connection is
 * closed ...), or DF_EINVAL for NULL (then `*out` is zeroed). The peer's
 * address is the one recorded when the connection was made, so
 * get_peer never fails for a non-NULL transport. */
int df_transport_get_peer(df_transport *t, df_address *out);
int df_transport_get_host(df_transport *t, df_address *out);

/* The transport as a producer (IPushProducer): stop reading, and read
 * again (data_received is not called while paused; the kernel's buffer
 * then fills and the peer is throttled by TCP). Pausing twice needs one
 * resume. stop_producing is lose_connection. Ignored after close. */
void df_transport_pause_producing(df_transport *t);
void df_transport_resume_producing(df_transport *t);
void df_transport_stop_producing(df_transport *t);

/* Register `producer` (borrowed; it must outlive the registration) to be
 * throttled by this transport's write buffer (IConsumer.registerProducer).
 * A streaming producer (push) gets pause/resume at the water marks; a
 * non-streaming one (pull) gets resume_producing whenever the buffer has
 * emptied, and once at once. If the buffer is already past the high-water
 * mark, a streaming producer is paused before this returns. When the
 * connection closes, the producer gets stop_producing (if set) and is
 * unregistered. Returns 0, or DF_EINVAL if `t` or `producer` is NULL, a
 * producer is already registered, or the transport is closed. */
int df_transport_register_producer(df_transport *t, df_producer *producer,
                                   bool streaming);

/* Forget the registered producer (none: ignored). */
void df_transport_unregister_producer(df_transport *t);

/* Set the water marks (asyncio's set_write_buffer_limits). `low` must not
 * exceed `high`; both at most 2^31. Returns 0 or DF_EINVAL. A producer
 * past the new high-water mark is paused now; one paused and now at or
 * below `low` is resumed. */
int df_transport_set_write_buffer_limits(df_transport *t, size_t high,
                                         size_t low);

/* Bytes written but not yet handed to the kernel. */
size_t df_transport_write_buffer_size(const df_transport *t);

/* Is the transport still connected (neither closed nor closing)? */
bool df_transport_connected(const df_transport *t);

/* The protocol the transport carries (borrowed; NULL once it has been
 * freed) and the reactor it belongs to (NULL for a memory transport that
 * is not part of a fake reactor). Both NULL for a NULL `t`. */
df_protocol *df_transport_protocol(const df_transport *t);
df_reactor *df_transport_reactor(const df_transport *t);

/* ITCPTransport.setTcpNoDelay / setTcpKeepAlive (keep-alive with the
 * given idle delay in seconds, 0 to turn it off). Returns 0, DF_EINVAL
 * for NULL, or the negated errno value setsockopt gave; a memory
 * transport records the setting and returns 0. */
int df_transport_set_tcp_nodelay(df_transport *t, bool on);
int df_transport_set_tcp_keepalive(df_transport *t, unsigned idle_seconds);

#ifdef __cplusplus
}
#endif

#endif /* DEFERRED_UV_TRANSPORT_H */
