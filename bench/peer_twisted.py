"""The Twisted side of the benchmark suite (run as /usr/bin/python3).

Same cases as the C benchmark (bench/cases.c, bench/cases_compose.c), with
twisted.internet.defer.Deferred fired synchronously: no reactor is started,
every chain runs to completion inside the .callback() call, exactly as in C.
Case e uses gatherResults (a DeferredList underneath); a plain DeferredList
is timed too, for reference.

The composition cases: (g) race, which Twisted 22.4 does not have (23.8
added it): race_23_8() below is 23.8's algorithm written over 22.4's
Deferred, as a Twisted user would write it; (h, h2) DeferredLock; (i)
DeferredSemaphore; (j, j2) delayed calls on the reactor's own scheduler
(ReactorBase.callLater and runUntilCurrent: a heap) of a SelectReactor
that is never run, its seconds() a test time; task.Clock sorts its whole
list at every callLater and after every call it runs, so that 10,000
calls take about a minute a round here, and it is timed at 1,000 (j@1000).

Output: "R<TAB>key<TAB>value" lines (ns per operation) and "#" comments.
"""
import sys
import time

import twisted

from twisted.internet import task
from twisted.internet.defer import (Deferred, DeferredList, DeferredLock,
                                    DeferredSemaphore, gatherResults, succeed)
from twisted.internet.selectreactor import SelectReactor

if sys.argv[1:] not in ([], ["--quick"]):
    print("usage: peer_twisted.py [--quick]", file=sys.stderr)
    sys.exit(1)
QUICK = sys.argv[1:] == ["--quick"]
SCALE = 20 if QUICK else 1
REPS = 2 if QUICK else 5


def add_one(x):
    return x + 1


class BenchError(Exception):
    pass


def raise_bench_error(x):
    raise BenchError()


def recover(f):
    f.trap(BenchError)
    return 100


def return_fired(x):
    return succeed(x + 1)


def case_a(n):
    for i in range(n):
        d = Deferred()
        d.addCallback(add_one)
        d.callback(i)
        assert d.result == i + 1


def case_b(n):
    for i in range(n):
        d = Deferred()
        for _ in range(10):
            d.addCallback(add_one)
        d.callback(i)
        assert d.result == i + 10


def case_c(n):
    for i in range(n):
        d = Deferred()
        for _ in range(4):
            d.addCallback(add_one)
        d.addCallback(raise_bench_error)
        d.addCallback(add_one)
        d.addErrback(recover)
        for _ in range(3):
            d.addCallback(add_one)
        d.callback(i)
        assert d.result == 103


def case_d(n):
    for i in range(n):
        d = Deferred()
        for _ in range(10):
            d.addCallback(return_fired)
        d.callback(i)
        assert d.result == i + 10


EXPECTED_SUM = sum(range(100))


def case_e(n):
    for _ in range(n):
        ds = [Deferred() for _ in range(100)]
        g = gatherResults(ds)
        g.addCallback(sum)
        for k, d in enumerate(ds):
            d.callback(k)
        assert g.result == EXPECTED_SUM


def sum_list(results):
    return sum(v for _, v in results)


def case_e_list(n):
    for _ in range(n):
        ds = [Deferred() for _ in range(100)]
        g = DeferredList(ds)
        g.addCallback(sum_list)
        for k, d in enumerate(ds):
            d.callback(k)
        assert g.result == EXPECTED_SUM


# --- the composition cases (bench/cases_compose.c) --------------------------

RACE_N = 100


def race_23_8(ds):
    """Twisted 23.8's race(ds) over 22.4's Deferred: a Deferred that fires
    with (index, result) of the first member to succeed, once every other
    member has been cancelled, or fails with the list of every member's
    failure if all fail (23.8's FailureGroup; a plain list here, as 22.4
    has no FailureGroup). Cancelling it cancels every member. Each
    member's result is consumed: its chain goes on with None."""
    members = list(ds)
    won = []
    failures = []

    def cancel_all(_):
        for member in members:
            member.cancel()

    result = Deferred(cancel_all)

    def on_success(value, index):
        if won:
            return None
        won.append(index)
        for k, member in enumerate(members):
            if k != index:
                member.cancel()
        result.callback((index, value))
        return None

    def on_failure(failure, index):
        failures.append((index, failure))
        if len(failures) == len(members):
            result.errback([f for _, f in sorted(failures, key=lambda p: p[0])])
        return None

    for index, member in enumerate(members):
        member.addCallbacks(on_success, on_failure, callbackArgs=(index,),
                            errbackArgs=(index,))
    return result


def case_g(n):
    cancels = [0]

    def count_cancel(d):
        cancels[0] += 1

    for i in range(n):
        ds = [Deferred(count_cancel) for _ in range(RACE_N)]
        race = race_23_8(ds)
        winner = i % RACE_N
        before = cancels[0]
        ds[winner].callback(i)
        assert cancels[0] - before == RACE_N - 1
        assert all(d.result is None for d in ds)
        assert race.result == (winner, i)


def case_h(n):
    lock = DeferredLock()
    for _ in range(n):
        d = lock.acquire()
        assert d.result is lock
        lock.release()
    assert not lock.locked


def case_h2(n):
    lock = DeferredLock()
    for _ in range(n):
        first = lock.acquire()
        second = lock.acquire()
        assert not second.called and len(lock.waiting) == 1
        assert first.result is lock
        lock.release()
        assert second.result is lock
        lock.release()
    assert not lock.locked


SEM_TOKENS, SEM_WAITERS = 10, 100


def case_i(n):
    sem = DeferredSemaphore(SEM_TOKENS)
    turn = [0]

    def take_turn(r, k):
        assert r is sem and k == turn[0]
        turn[0] += 1
        return r

    for _ in range(n):
        turn[0] = 0
        ds = []
        for k in range(SEM_WAITERS):
            d = sem.acquire()
            d.addCallback(take_turn, k)
            ds.append(d)
        assert turn[0] == SEM_TOKENS and len(sem.waiting) == SEM_WAITERS - SEM_TOKENS
        for d in ds:
            assert d.called
            sem.release()
        assert turn[0] == SEM_WAITERS and not sem.waiting
        assert sem.tokens == SEM_TOKENS


TIMER_N, TIMER_N_SMALL = 10000, 1000


def timer_delays(calls):
    """Call k's delay: the C benchmark's permutation of `calls` steps over
    10 seconds."""
    return [((k * 7919) % calls) * (10.0 / calls) for k in range(calls)]


class TimerRun:
    """Counts the calls run and checks that they run in time order."""

    def __init__(self, delays):
        self.delays = delays
        self.ran = 0
        self.last = -1.0

    def fired(self, k):
        delay = self.delays[k]
        assert delay >= self.last
        self.last = delay
        self.ran += 1


# One reactor for the whole run, never started: only its scheduler is
# used, on a test time.
reactor_now = [0.0]
scheduler = SelectReactor()
scheduler.seconds = lambda: reactor_now[0]


def case_j(n):
    delays = timer_delays(TIMER_N)
    for _ in range(n):
        run = TimerRun(delays)
        for k in range(TIMER_N):
            scheduler.callLater(delays[k], run.fired, k)
        reactor_now[0] += 10.0
        scheduler.runUntilCurrent()
        assert run.ran == TIMER_N and not scheduler.getDelayedCalls()


def case_j_clock(n):
    delays = timer_delays(TIMER_N_SMALL)
    for _ in range(n):
        clock = task.Clock()
        run = TimerRun(delays)
        for k in range(TIMER_N_SMALL):
            clock.callLater(delays[k], run.fired, k)
        clock.advance(10.0)
        assert run.ran == TIMER_N_SMALL and not clock.getDelayedCalls()


def never_runs():
    raise AssertionError("a cancelled call ran")


def case_j2(n):
    delays = timer_delays(TIMER_N)
    for _ in range(n):
        calls = [scheduler.callLater(delays[k], never_runs)
                 for k in range(TIMER_N)]
        for k in range(TIMER_N):
            calls[(k * 7919) % TIMER_N].cancel()
        reactor_now[0] += 10.0
        scheduler.runUntilCurrent()
        assert not scheduler.getDelayedCalls()


def measure(name, fn, n, per=1):
    """The best of REPS runs of fn(n), after a warm-up: ns per iteration,
    or per operation when an iteration is `per` of them."""
    fn(n // 10 + 1)
    best = float("inf")
    for _ in range(REPS):
        t0 = time.perf_counter_ns()
        fn(n)
        best = min(best, time.perf_counter_ns() - t0)
    print(f"R\t{name}.ns\t{best / n / per:.6g}", flush=True)


def main():
    print(f"# Twisted {twisted.__version__} on Python "
          f"{sys.version.split()[0]}: synchronous firing, no reactor, "
          f"best of {REPS} runs")
    measure("a", case_a, 100000 // SCALE)
    measure("b", case_b, 40000 // SCALE)
    measure("c", case_c, 20000 // SCALE)
    measure("d", case_d, 20000 // SCALE)
    measure("e", case_e, 2000 // SCALE)
    measure("e_deferredlist", case_e_list, 2000 // SCALE)
    measure("g", case_g, max(1, 400 // SCALE))
    measure("h", case_h, 100000 // SCALE)
    measure("h2", case_h2, 40000 // SCALE)
    measure("i", case_i, max(1, 400 // SCALE))
    measure("j", case_j, 2, TIMER_N)
    measure("j@1000", case_j_clock, 1, TIMER_N_SMALL)
    measure("j2", case_j2, 2, TIMER_N)


if __name__ == "__main__":
    main()
