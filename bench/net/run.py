"""The network benchmark's driver (bench/net/run.sh runs it): three echo
servers doing the same job, driven by the same load client, in one run.

  ours    examples/echo-server (libdeferred-uv)
  bare    bench/net/bare_echo_server.c (libuv alone: the limit)
  twisted bench/net/twisted_echo_server.py (Twisted 22.4, epoll reactor)

The three servers run at once; each case is run REPEATS times on each,
the servers taking turns in a rotating order (so that a quiet or busy
spell of the shared machine does not favour one), and the best of each
is kept (the least disturbed run is the truest):

  echo 1 B        100 connections, 1-byte round trips
  echo 4 KiB      100 connections, 4096-byte round trips
  connections     connect, 1-byte echo, half-close, close; 100 at a time
  echo 1 B, 1 conn  one connection, 1-byte round trips: every round trip
                  wakes the loop (not judged: the issue's target is for
                  100 connections)

and, once, the server's resident memory (VmRSS) growth per connection
while it holds HELD idle connections (the figure a server of many slow
clients cares about: no read buffer per connection, no write buffer while
nothing waits).

The figure is the SERVER's CPU time (user + system, every thread of it,
from /proc/PID/task/*/schedstat, in nanoseconds) per round trip or per
connection, so that the load client's own cost does not count. Ratios
are against the bare libuv server (target for ours: 1.3x or less) and
against Twisted.

    run.py BIN_DIR [--quick]"""
import glob
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def cpu_ns(pid):
    total = 0
    for path in glob.glob("/proc/%d/task/*/schedstat" % pid):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


# With two cores or more, servers run on the first and the load client on
# the second: whether the two share a core changes what a wake-up costs,
# and the kernel would otherwise choose differently from run to run.
PIN = len(os.sched_getaffinity(0)) >= 2
CPUS = sorted(os.sched_getaffinity(0))


def pin(cpu):
    if PIN:
        return lambda: os.sched_setaffinity(0, {cpu})
    return None


class Server:
    def __init__(self, name, argv):
        self.name = name
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     preexec_fn=pin(CPUS[0]))
        line = self.proc.stdout.readline().decode()
        if not line:
            raise SystemExit("%s did not start" % name)
        self.port = int(line.strip().rsplit(":", 1)[1])

    def stop(self):
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise SystemExit("%s did not stop on SIGTERM" % self.name)


def load(bin_dir, args):
    run = subprocess.run([os.path.join(bin_dir, "net_load")] + [str(a) for a in args],
                         capture_output=True, timeout=600,
                         preexec_fn=pin(CPUS[-1]))
    if run.returncode != 0:
        raise SystemExit("net_load %s failed: %s" % (args, run.stderr.decode()))
    _, count, seconds = run.stdout.split()
    return int(count), float(seconds)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def memory_per_connection(bin_dir, server, count):
    """Bytes of server RSS each of `count` idle connections adds."""
    import time
    before = rss_kib(server.proc.pid)
    holder = subprocess.Popen([os.path.join(bin_dir, "net_load"), "hold",
                               str(server.port), str(count), "200", "1"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              preexec_fn=pin(CPUS[-1]))
    line = holder.stdout.readline().decode()
    if not line.startswith("held"):
        holder.kill()
        raise SystemExit("net_load hold failed against %s" % server.name)
    time.sleep(0.5)
    after = rss_kib(server.proc.pid)
    holder.stdin.close()
    if holder.wait(timeout=60) != 0:
        raise SystemExit("net_load hold failed against %s" % server.name)
    time.sleep(0.5)  # the server closes them
    return (after - before) * 1024.0 / count


def measure(bin_dir, server, args):
    before = cpu_ns(server.proc.pid)
    count, seconds = load(bin_dir, [args[0], server.port] + args[1:])
    return (cpu_ns(server.proc.pid) - before) / count / 1000.0, count / seconds


def main():
    bin_dir = sys.argv[1]
    quick = "--quick" in sys.argv[2:]
    trips = 20000 if quick else 200000
    conns = 2000 if quick else 20000
    held = 1000 if quick else 10000
    repeats = 1 if quick else 3
    cases = [
        ("echo 1 B", "us/round trip", ["echo", 100, 1, trips]),
        ("echo 4 KiB", "us/round trip", ["echo", 100, 4096, trips // 2]),
        ("connections", "us/connection", ["connect", conns, 100, 1]),
        ("echo 1 B, 1 conn", "us/round trip", ["echo", 1, 1, trips // 4]),
    ]
    judged = cases[:3]
    servers = [
        ("ours", [os.path.join(bin_dir, "echo-server")]),
        ("bare", [os.path.join(bin_dir, "net_bare_echo_server")]),
        ("twisted", [PYTHON, os.path.join(HERE, "twisted_echo_server.py")]),
    ]
    results = {}
    rates = {}
    running = []
    try:
        for name, argv in servers:
            running.append(Server(name, argv))
        memory = {}
        for server in running:
            load(bin_dir, ["echo", server.port, 100, 1, 5000])  # warm up
            memory[server.name] = memory_per_connection(bin_dir, server, held)
        for repeat in range(repeats):
            for case, _, args in cases:
                for k in range(len(running)):
                    server = running[(k + repeat) % len(running)]
                    per_op, rate = measure(bin_dir, server, args)
                    key = (server.name, case)
                    if key not in results or per_op < results[key]:
                        results[key] = per_op
                        rates[key] = rate
    finally:
        statuses = [(s.name, s.stop()) for s in running]
    for name, status in statuses:
        if status != 0:
            raise SystemExit("%s exited %d after SIGTERM" % (name, status))

    print("network benchmark (%s): server CPU time per operation, best of %d%s"
          % ("quick" if quick else "full", repeats,
             "; servers on CPU %d, load client on CPU %d" % (CPUS[0], CPUS[-1])
             if PIN else ""))
    print("%-17s %-14s %8s %8s %8s   %9s %12s" % (
        "case", "unit", "ours", "bare", "twisted", "ours/bare", "twisted/bare"))
    for case, unit, _ in cases:
        o, b, t = (results[(n, case)] for n in ("ours", "bare", "twisted"))
        print("%-17s %-14s %8.2f %8.2f %8.2f   %8.2fx %11.2fx" % (
            case, unit, o, b, t, o / b, t / b))
    print("%-17s %-14s %8.0f %8.0f %8.0f   %8.2fx %11.2fx" % (
        "memory, %d idle" % held, "B/connection", memory["ours"], memory["bare"],
        memory["twisted"], memory["ours"] / memory["bare"],
        memory["twisted"] / memory["bare"]))
    print()
    print("ours against Twisted: " + ", ".join(
        "%s %.2fx" % (case, results[("ours", case)] / results[("twisted", case)])
        for case, _, _ in cases))
    print("operations per second of wall time (client and server share the "
          "machine): " + "; ".join(
        "%s: ours %.0f, bare %.0f, twisted %.0f" % (
            case, rates[("ours", case)], rates[("bare", case)], rates[("twisted", case)])
        for case, _, _ in cases))
    target = all(results[("ours", c)] <= 1.3 * results[("bare", c)] for c, _, _ in judged)
    print("target (ours within 1.3x of bare libuv, the three 100-connection "
          "cases): %s%s" % (
        "PASS" if target else "MISS", " (quick run: not judged)" if quick else ""))


if __name__ == "__main__":
    main()
