/* libdeferred: Twisted-style asynchronous programming for C.
 *
 * The one header users include. It pulls in the topic headers:
 *
 *   deferred/common.h    error codes, call sites, allocator, debug mode
 *   deferred/failure.h   typed errors and failures
 *   deferred/result.h    the values that flow down a chain
 *   deferred/core.h      the Deferred itself, and succeed/fail/maybe
 *   deferred/report.h    unhandled failures and the causal trace
 *   deferred/observe.h   watching chains fire, step by step
 *   deferred/list.h      DeferredList and gatherResults
 *   deferred/race.h      first success and race, losers cancelled
 *   deferred/lock.h      DeferredLock and DeferredSemaphore
 *   deferred/queue.h     DeferredQueue
 *   deferred/clock.h     time: clocks and delayed calls
 *   deferred/test_clock.h  a deterministic clock for tests (task.Clock)
 *   deferred/timeout.h   timeouts (addTimeout) and defer_later
 *   deferred/looping.h   LoopingCall: a function every interval
 *   deferred/firing_log.h  the firing log: record firings, export DOT
 *                        and trace-event JSON
 *
 * Link with `pkg-config --libs libdeferred` or, in CMake,
 * find_package(libdeferred) and target_link_libraries(x libdeferred::deferred).
 */
#ifndef DEFERRED_H
#define DEFERRED_H

#include "deferred/common.h"
#include "deferred/failure.h"
#include "deferred/result.h"
#include "deferred/core.h"
#include "deferred/report.h"
#include "deferred/observe.h"
#include "deferred/list.h"
#include "deferred/race.h"
#include "deferred/lock.h"
#include "deferred/queue.h"
#include "deferred/clock.h"
#include "deferred/test_clock.h"
#include "deferred/timeout.h"
#include "deferred/looping.h"
#include "deferred/firing_log.h"

#endif /* DEFERRED_H */
