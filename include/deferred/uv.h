/* libdeferred-uv: the reactor, networking and threads, on libuv.
 *
 * The one header users of libdeferred-uv include (it includes deferred.h
 * too). Topic headers:
 *
 *   deferred/uv/reactor.h           the reactor: run, stop, triggers, time,
 *                                   signals, react()
 *   deferred/uv/address.h           IPv4 and IPv6 addresses
 *   deferred/uv/error.h             ConnectError, ConnectionLost, ... types
 *   deferred/uv/protocol.h          Protocol, Factory, ClientFactory, producers
 *   deferred/uv/transport.h         Transport: write, close, backpressure
 *   deferred/uv/tcp.h               listen_tcp, connect_tcp, ports, connectors
 *   deferred/uv/endpoint.h          endpoints, description strings,
 *                                   connect_protocol
 *   deferred/uv/resolver.h          pluggable name resolution
 *   deferred/uv/thread.h            defer_to_thread, call_from_thread
 *   deferred/uv/memory_transport.h  a transport in memory, for tests
 *   deferred/uv/fake_reactor.h      a fake reactor on a test clock, for tests
 *
 * Link with `pkg-config --libs libdeferred-uv` or, in CMake,
 * find_package(libdeferred) and target_link_libraries(x
 * libdeferred::deferred_uv). A guide: docs/reactor.md.
 */
#ifndef DEFERRED_UV_H
#define DEFERRED_UV_H

#include "deferred.h"
#include "deferred/uv/address.h"
#include "deferred/uv/endpoint.h"
#include "deferred/uv/error.h"
#include "deferred/uv/fake_reactor.h"
#include "deferred/uv/memory_transport.h"
#include "deferred/uv/protocol.h"
#include "deferred/uv/reactor.h"
#include "deferred/uv/resolver.h"
#include "deferred/uv/tcp.h"
#include "deferred/uv/thread.h"
#include "deferred/uv/transport.h"

#endif /* DEFERRED_UV_H */
