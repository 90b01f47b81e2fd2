"""The poetry benchmark's driver (bench/poetry/run.sh runs it): three
poetry servers doing the same job, driven by the same load client
(poetry_load, bench/poetry/load.c), in one run.

  ours    tools/poetry's poetry-server (libdeferred-uv), its default backlog
  bare    bench/poetry/bare_poetry_server.c (libuv alone: the limit)
  twisted bench/poetry/twisted_poetry_server.py (Twisted 22.4, epoll)

The peers get the backlog ours uses by default (DF_LISTEN_BACKLOG_DEFAULT,
read from include/deferred/uv/tcp.h), not Twisted's 50. Every server
serves examples/poetry/ecstasy.txt (3,003 bytes, a poem of a realistic
size).

Full-speed cases (--delay 0), the three servers running at once, each case
REPEATS times on each, the servers taking turns in a rotating order, the
best time and the best CPU figure of each kept (the least disturbed run is
the truest), every poem of every run counted:

  burst 1,000      1,000 clients connect at once, each reads its poem
  burst 10,000     the same with 10,000: more than the accept queue holds
                   (net.core.somaxconn), so the server must keep up
  continuous       50,000 poems, 1,000 in flight

For each: the time until all poems are in (the client's wall time from
its first connect), poems per second of it, the server's CPU time per poem
(every thread, /proc/PID/task/*/schedstat), poems lost (short, corrupt,
refused or reset, or still outstanding at the client's timeout: must be
0), and, from the kernel's counters (for the whole machine, the worst
run), the accept-queue overflows (ListenOverflows: a SYN dropped, which
the client's kernel sends again a second later, so it costs time, or a
handshake's last ACK dropped) and the SYN cookies sent (SyncookiesSent:
answers to a SYN the kernel keeps no state for; if the ACK of such a
handshake is dropped, nothing resends it, and as the client of a poetry
server waits for the server to speak, that poem is lost for good).

Memory: a fresh server of each kind in its slow mode (--delay 2
--num-bytes 10, so that a connection stays open with its chunk timer
pending), then COUNT clients that connect 200 at a time and hold their
connections open, reading the slow poem as it comes; once each has
received its first chunk (the server holds it), the growth of the server's
resident memory (VmRSS, /proc/PID/status) over its value before, per
connection.

Workers: ours with --workers 2 against --workers 1 on the burst of 10,000
and the continuous case, the server and the client free to use every CPU.

Full runs only: Twisted at its own default backlog, 50, against a burst of
1,000, to show what the backlog is for (not judged).

Targets (issue 21), judged for ours: poems lost 0 (every server, every
case); CPU per poem within 1.5x of bare libuv's and at most half of
Twisted's; the 10,000-client burst within 1.5x of bare libuv's time; at
most 1 KiB of memory per open slow connection. A quick run (CI) judges
only the counted ones: poems lost and the memory bound. Exit status 1 if a
counted target fails or a server does not exit 0 on SIGTERM, never on
timing.

    run.py BIN_DIR [--quick]"""
import math
import os
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "net"))

from harness import (ALL_CPUS, CLIENT_CPUS, PIN, PYTHON, Server,  # noqa: E402
                     cpu_ns, pinned_to, pinning_note, rss_kib, sysctl,
                     tcp_counters)

POEM = os.path.join(ROOT, "examples", "poetry", "ecstasy.txt")
SLOW = ["--delay", "2", "--num-bytes", "10"]  # the memory case's slow mode
HOLD_CONCURRENCY = 200  # connects in flight while the slow clients gather
MEMORY_BOUND = 1024  # bytes per open slow connection (target)


def backlog_default():
    """Ours' default backlog, as its header defines it."""
    with open(os.path.join(ROOT, "include", "deferred", "uv", "tcp.h")) as f:
        found = re.search(r"#define\s+DF_LISTEN_BACKLOG_DEFAULT\s+(\d+)", f.read())
    if not found:
        raise SystemExit("DF_LISTEN_BACKLOG_DEFAULT not found in tcp.h")
    return int(found.group(1))


def server_argv(bin_dir, name, mode, backlog, workers=1):
    """The command line of server `name` in `mode` (a list of options)."""
    if name == "ours":
        argv = [os.path.join(bin_dir, "poetry-server"), "--quiet"] + mode
        if workers > 1:
            argv += ["--workers", str(workers)]
        return argv + [POEM]
    peer = ([os.path.join(bin_dir, "bare_poetry_server")] if name == "bare" else
            [PYTHON, os.path.join(HERE, "twisted_poetry_server.py")])
    return peer + ["--backlog", str(backlog)] + mode + [POEM]


class Client:
    """How the load client is run: its binary, CPUs and source addresses."""

    def __init__(self, bin_dir, sources):
        self.path = os.path.join(bin_dir, "poetry_load")
        self.sources = sources

    def argv(self, mode, port, total, concurrency, timeout):
        return [self.path, mode, str(port), POEM, str(total), str(concurrency),
                "--timeout", str(timeout), "--sources", str(self.sources)]

    def poems(self, server, total, inflight, timeout, cpus=CLIENT_CPUS):
        """Download `total` poems from `server`, `inflight` at a time: a
        dict of the client's counts, its wall time, the server's CPU time
        per poem (us) and the kernel's accept-queue overflows."""
        counters = tcp_counters()
        before = cpu_ns(server.pid)
        run = subprocess.run(self.argv("poems", server.port, total, inflight, timeout),
                             capture_output=True, timeout=timeout + 60,
                             preexec_fn=pinned_to(cpus))
        cpu = cpu_ns(server.pid) - before
        line = run.stdout.decode().strip().splitlines()
        if run.returncode not in (0, 1) or not line:
            raise SystemExit("poetry_load failed against %s: %s"
                             % (server.name, run.stderr.decode()))
        result = {k: float(v) for k, v in (f.split("=") for f in line[-1].split())}
        result["lost"] = total - result["complete"]
        result["cpu_us"] = cpu / 1000.0 / max(result["complete"], 1)
        after = tcp_counters()
        for key, counter in (("overflows", "ListenOverflows"), ("cookies", "SyncookiesSent")):
            result[key] = after.get(counter, 0) - counters.get(counter, 0)
        result["why"] = run.stderr.decode().strip()
        return result

    def hold(self, server, count, timeout):
        """Hold `count` slow connections open on `server`: the growth of its
        RSS per connection, in bytes, once every connection is served."""
        before = rss_kib(server.pid)
        holder = subprocess.Popen(self.argv("slow", server.port, count,
                                            min(count, HOLD_CONCURRENCY), timeout),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, preexec_fn=pinned_to(CLIENT_CPUS))
        line = holder.stdout.readline().decode()
        if not line.startswith("held"):
            holder.kill()
            _, err = holder.communicate()
            raise SystemExit("poetry_load slow %d failed against %s: %s"
                             % (count, server.name, err.decode()))
        time.sleep(0.5)  # anything the server does after the first chunk
        after = rss_kib(server.pid)
        out, err = holder.communicate(input=b"", timeout=60)
        if holder.returncode != 0:
            raise SystemExit("%s did not keep %d slow connections open: %s %s"
                             % (server.name, count, out.decode(), err.decode()))
        return (after - before) * 1024.0 / count


def kernel_report(max_connections):
    """What the kernel allows, checked against what the run needs; the
    source addresses the client must use. Changes nothing."""
    somaxconn = int(sysctl("net.core.somaxconn") or 0)
    ports = (sysctl("net.ipv4.ip_local_port_range") or "32768 60999").split()
    low, high = int(ports[0]), int(ports[1])
    per_source = high - low + 1
    # Leave a quarter of the range to whatever else the machine does.
    sources = max(1, math.ceil(max_connections / (per_source * 0.75)))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    lines = [
        "kernel: net.core.somaxconn %d (caps every listen backlog), "
        "tcp_max_syn_backlog %s, syncookies %s, tcp_abort_on_overflow %s"
        % (somaxconn, sysctl("net.ipv4.tcp_max_syn_backlog"),
           sysctl("net.ipv4.tcp_syncookies"), sysctl("net.ipv4.tcp_abort_on_overflow")),
        "        ephemeral ports %d-%d (%s per source address: %d source "
        "address%s for %s connections at once), tcp_tw_reuse %s; descriptors "
        "%s per process; nothing changed"
        % (low, high, format(per_source, ","), sources, "" if sources == 1 else "es",
           format(max_connections, ","), sysctl("net.ipv4.tcp_tw_reuse"),
           format(soft, ","))]
    if soft < max_connections + 64:
        raise SystemExit("need %d descriptors a process, have %d: run "
                         "'ulimit -n %d' (bench/poetry/run.sh does)"
                         % (max_connections + 64, soft, max_connections + 64))
    if somaxconn and somaxconn < max_connections:
        lines.append("        a burst of %s is more than an accept queue holds (%s): "
                     "the server must accept while it arrives (an overflow drops a "
                     "SYN, which the client's kernel sends again 1 s later, or "
                     "the handshake's last ACK; 'sysctl -w net.core.somaxconn=N' "
                     "would raise the cap: not done here)" % (format(max_connections, ","),
                                                         format(somaxconn, ",")))
    return lines, sources


def best_of(runs):
    """The best time and the best CPU figure of `runs`, every loss summed."""
    return {
        "seconds": min(r["seconds"] for r in runs),
        "cpu_us": min(r["cpu_us"] for r in runs),
        "lost": sum(r["lost"] for r in runs),
        "overflows": max(r["overflows"] for r in runs),
        "cookies": max(r["cookies"] for r in runs),
        "why": "; ".join(r["why"] for r in runs if r["lost"]),
        "total": runs[0]["poems"],
    }


def run_cases(client, servers, cases, repeats, cpus=CLIENT_CPUS):
    """Each case `repeats` times on each server, in a rotating order."""
    runs = {}
    for repeat in range(repeats):
        for case, total, inflight, timeout in cases:
            for k in range(len(servers)):
                server = servers[(k + repeat) % len(servers)]
                result = client.poems(server, total, inflight, timeout, cpus)
                runs.setdefault((server.name, case), []).append(result)
                if result["lost"]:
                    print("  %s, %s: %d of %d poems lost: %s" % (
                        server.name, case, result["lost"], total, result["why"]),
                        file=sys.stderr)
    return {key: best_of(r) for key, r in runs.items()}


def stop_all(servers, failures):
    for s in servers:
        status = s.stop()
        if status != 0:
            failures.append("%s exited %d after SIGTERM: %s" % (s.name, status, s.errors()))


def ratio(a, b):
    return "%9.2fx" % (a / b) if b else "%10s" % "-"


def print_case(case, results, names):
    r = [results[(n, case)] for n in names]
    rows = [
        ("ms until all in", ["%10.1f" % (x["seconds"] * 1000) for x in r], "seconds"),
        ("poems/s", ["%10.0f" % (x["total"] / x["seconds"]) for x in r], None),
        ("us server CPU/poem", ["%10.1f" % x["cpu_us"] for x in r], "cpu_us"),
        ("poems lost, all runs", ["%10s" % (("%d" % x["lost"]) if not x["lost"]
                                  else "FAIL %d" % x["lost"]) for x in r], None),
        ("queue overflows", ["%10d" % x["overflows"] for x in r], None),
        ("SYN cookies sent", ["%10d" % x["cookies"] for x in r], None),
    ]
    for i, (figure, cells, key) in enumerate(rows):
        ratios = ""
        if key and len(names) == 3:
            ratios = " " + ratio(r[0][key], r[1][key]) + "  " + ratio(r[0][key], r[2][key])
        elif key and len(names) == 2:
            ratios = " " + ratio(r[1][key], r[0][key])
        print("%-24s %-19s%s%s" % (case if i == 0 else "", figure, "".join(cells), ratios))


def main():
    bin_dir = sys.argv[1]
    quick = "--quick" in sys.argv[2:]
    if quick:
        bursts, continuous, inflight, held = [500, 2000], 5000, 200, [1000, 2000]
        repeats, timeout = 1, 60
    else:
        bursts, continuous, inflight, held = [1000, 10000], 50000, 1000, [5000, 10000]
        repeats, timeout = 3, 120
    backlog = backlog_default()
    kernel, sources = kernel_report(max(bursts + held))
    if quick:
        sources = max(sources, 2)  # keep the several-address path exercised
    client = Client(bin_dir, sources)
    names = ["ours", "bare", "twisted"]
    cases = [("burst %s" % format(n, ","), n, n, timeout) for n in bursts]
    cases.append(("continuous %s/%s" % (format(continuous, ","), format(inflight, ",")),
                  continuous, inflight, timeout))
    failures = []
    load = os.getloadavg()[0]

    # Full speed, the three servers at once.
    full_speed = ["--delay", "0"]
    servers = []
    try:
        for name in names:
            servers.append(Server(name, server_argv(bin_dir, name, full_speed, backlog)))
        for s in servers:
            client.poems(s, 200, 100, timeout)  # warm up
        results = run_cases(client, servers, cases, repeats)
    finally:
        stop_all(servers, failures)

    # Memory: a fresh slow server for each count.
    memory = {}
    for count in held:
        for name in names:
            server = Server(name, server_argv(bin_dir, name, SLOW, backlog))
            try:
                client.hold(server, 20, timeout)  # the server's first connections
                time.sleep(0.5)
                memory[(name, count)] = client.hold(server, count, timeout)
            finally:
                stop_all([server], failures)

    # Workers: ours with 2 against 1, every CPU free for all.
    worker_cases = [c for c in cases if c[1] == max(bursts)] + cases[-1:]
    workers = []
    try:
        for n in (1, 2):
            workers.append(Server("workers %d" % n,
                                  server_argv(bin_dir, "ours", full_speed, backlog, n),
                                  cpus=ALL_CPUS))
        for s in workers:
            client.poems(s, 200, 100, timeout, ALL_CPUS)
        worker_results = run_cases(client, workers, worker_cases, repeats, ALL_CPUS)
    finally:
        stop_all(workers, failures)

    # Twisted at its own default backlog (full runs: it waits for the timeout).
    twisted_50 = None
    if not quick:
        server = Server("twisted, backlog 50",
                        server_argv(bin_dir, "twisted", full_speed, 50))
        try:
            twisted_50 = client.poems(server, 1000, 1000, 20)
        finally:
            stop_all([server], failures)

    with open(POEM, "rb") as f:
        size = len(f.read())
    print("poetry benchmark (%s): %s (%s bytes) from each server; best of %d; %s"
          % ("quick" if quick else "full", os.path.basename(POEM), format(size, ","),
             repeats, pinning_note()))
    print("machine: %d CPUs, shared with other work (load average %.1f at the start): "
          "timings vary from run to run" % (len(os.sched_getaffinity(0)), load))
    print("\n".join(kernel))
    print("backlog: ours its default (DF_LISTEN_BACKLOG_DEFAULT %d), the peers the same"
          % backlog)
    print()
    print("%-24s %-19s%10s%10s%10s %10s %12s" % ("case", "figure", "ours", "bare",
                                                "twisted", "ours/bare", "ours/twisted"))
    for case, _, _, _ in cases:
        print_case(case, results, names)
    for count in held:
        m = [memory[(n, count)] for n in names]
        print("%-24s %-19s%10.0f%10.0f%10.0f %s  %s" % (
            "memory, %s slow" % format(count, ","), "B/open connection",
            m[0], m[1], m[2], ratio(m[0], m[1]), ratio(m[0], m[2])))
    if twisted_50:
        print("\ntwisted at its default backlog (50), burst of 1,000: %d of 1,000 poems "
              "lost, %d still awaited at the client's %d s timeout; %d queue "
              "overflows, %d SYN cookies sent (not judged)"
              % (twisted_50["lost"], twisted_50["outstanding"], 20,
                 twisted_50["overflows"], twisted_50["cookies"]))
    print()
    print("ours, --workers 2 against --workers 1 (server and client free to use "
          "every CPU)")
    print("%-24s %-19s%10s%10s %10s" % ("case", "figure", "1 worker", "2 workers", "2/1"))
    for case, _, _, _ in worker_cases:
        print_case(case, worker_results, ["workers 1", "workers 2"])

    # Targets.
    judged = [c for c, _, _, _ in cases]
    lost = {n: sum(results[(n, c)]["lost"] for c in judged) for n in names}
    lost_workers = sum(r["lost"] for r in worker_results.values())
    cpu_bare = [results[("ours", c)]["cpu_us"] / results[("bare", c)]["cpu_us"] for c in judged]
    cpu_twisted = [results[("ours", c)]["cpu_us"] / results[("twisted", c)]["cpu_us"]
                   for c in judged]
    big = "burst %s" % format(max(bursts), ",")
    burst_time = results[("ours", big)]["seconds"] / results[("bare", big)]["seconds"]
    worst_memory = max(memory[("ours", c)] for c in held)

    def verdict(ok, timing):
        if timing and quick:
            return "not judged (quick run)"
        return "PASS" if ok else "FAIL"

    def listing(values):
        return ", ".join("%.2fx" % v for v in values)

    counted_ok = not any(lost.values()) and not lost_workers
    targets = [
        ("poems lost: 0, every server, every case", counted_ok, False,
         "ours %d, bare %d, twisted %d, workers %d" % (lost["ours"], lost["bare"],
                                                       lost["twisted"], lost_workers)),
        ("CPU per poem within 1.5x of bare libuv's", max(cpu_bare) <= 1.5, True,
         listing(cpu_bare)),
        ("CPU per poem at most half of Twisted's", max(cpu_twisted) <= 0.5, True,
         listing(cpu_twisted)),
        ("%s: time within 1.5x of bare libuv's" % big, burst_time <= 1.5, True,
         "%.2fx" % burst_time),
        ("memory at most 1 KiB per open slow connection", worst_memory <= MEMORY_BOUND,
         False, ", ".join("%.0f B at %s" % (memory[("ours", c)], format(c, ","))
                          for c in held)),
    ]
    print()
    print("targets (ours; the CPU figures for %s)" % ", ".join(judged))
    for what, ok, timing, detail in targets:
        print("  %-48s %s (%s)" % (what, verdict(ok, timing), detail))
    if not PIN:
        print("  (one CPU: servers and client share it)")
    if not counted_ok:
        failures.append("poems were lost")
    if worst_memory > MEMORY_BOUND:
        failures.append("ours uses more than 1 KiB per open slow connection")
    if failures:
        raise SystemExit("poetry benchmark: " + "; ".join(failures))


if __name__ == "__main__":
    main()
