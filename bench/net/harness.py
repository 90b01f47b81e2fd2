"""What the network benchmarks' drivers share (bench/net/run.py, the echo
servers; bench/poetry/run.py, the poetry servers): starting a server and
reading its port, stopping it by its pid, pinning processes to CPUs, and
reading a server's CPU time and resident memory from /proc.

CPU time is read from /proc/PID/task/*/schedstat, whose first field is the
time each thread has run, user and system together, in nanoseconds
(/proc/PID/stat's utime and stime count clock ticks of 10 ms: too coarse
for a case of a few tens of milliseconds). Every thread of the server
counts, so a server with several reactor threads is measured whole."""
import glob
import os
import re
import signal
import subprocess
import tempfile

PYTHON = "/usr/bin/python3"  # the one with Twisted (the first on PATH has none)

# With two CPUs or more, servers run on the first and the load client on
# the last: whether the two share a CPU changes what a wake-up costs, and
# the kernel would otherwise choose differently from run to run.
CPUS = sorted(os.sched_getaffinity(0))
PIN = len(CPUS) >= 2
SERVER_CPUS = {CPUS[0]}
CLIENT_CPUS = {CPUS[-1]}
ALL_CPUS = set(CPUS)


def pinned_to(cpus):
    """A preexec_fn running the child on `cpus` (when pinning at all)."""
    if PIN and cpus is not None:
        return lambda: os.sched_setaffinity(0, cpus)
    return None


def pinning_note():
    if not PIN:
        return "one CPU: nothing pinned"
    return "servers on CPU %d, load client on CPU %d" % (CPUS[0], CPUS[-1])


def cpu_ns(pid):
    """The CPU time every live thread of `pid` has used, in nanoseconds."""
    total = 0
    for path in glob.glob("/proc/%d/task/*/schedstat" % pid):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended meanwhile
    return total


def rss_kib(pid):
    """The resident memory of `pid` (VmRSS), in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sysctl(name):
    """A kernel setting as text (net.core.somaxconn ...), or None."""
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return None


def tcp_counters():
    """The kernel's TcpExt counters (/proc/net/netstat) as a dict: for
    ListenOverflows and ListenDrops, the connections a full accept queue
    turned away (for the whole network namespace)."""
    counters = {}
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
    except OSError:
        return counters
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            counters.update(zip(names.split()[1:], map(int, values.split()[1:])))
    return counters


class Server:
    """A server process started from `argv` on `cpus` (default: the
    servers' CPU). Its first line on standard output ends with the port it
    listens on; what it writes on standard error is kept (errors() reads
    it); stop() sends SIGTERM to its pid and returns its exit status."""

    def __init__(self, name, argv, cpus=SERVER_CPUS):
        self.name = name
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, stderr=self.stderr,
                                     preexec_fn=pinned_to(cpus))
        line = self.proc.stdout.readline().decode()
        found = re.search(r"(\d+)\s*$", line)
        if not found:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit("%s did not start (first line: %r): %s"
                             % (name, line, self.errors()))
        self.port = int(found.group(1))
        self.pid = self.proc.pid

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self):
        """SIGTERM, then its exit status (a server that does not stop
        within 30 s is killed, and the run ends)."""
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit("%s did not stop on SIGTERM" % self.name)
