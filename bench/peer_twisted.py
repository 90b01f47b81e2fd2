"""The Twisted side of the benchmark suite (run as /usr/bin/python3).

Same cases as the C benchmark (bench/cases.c), with
twisted.internet.defer.Deferred fired synchronously: no reactor is started,
every chain runs to completion inside the .callback() call, exactly as in C.
Case e uses gatherResults (a DeferredList underneath); a plain DeferredList
is timed too, for reference.
Output: "R<TAB>key<TAB>value" lines (ns per operation) and "#" comments.
"""
import sys
import time

import twisted

from twisted.internet.defer import Deferred, DeferredList, gatherResults, succeed

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


def measure(name, fn, n):
    fn(n // 10 + 1)
    best = float("inf")
    for _ in range(REPS):
        t0 = time.perf_counter_ns()
        fn(n)
        best = min(best, time.perf_counter_ns() - t0)
    print(f"R\t{name}.ns\t{best / n:.6g}", flush=True)


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


if __name__ == "__main__":
    main()
