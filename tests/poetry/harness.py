"""What the poetry tools' process tests share (loopback.py, interop.py).

Every process a test starts is recorded and, if the test has not stopped
it, killed by its pid when the script ends; the whole script runs under
an alarm (its watchdog), so a hang ends in a failure, not in ctest's
TIMEOUT. Ports are the ones the servers print; a port nothing listens on
is one the kernel gave and the test released. No name is ever looked up
in DNS: names go through get-poetry --hosts."""
import atexit
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

PYTHON = "/usr/bin/python3"  # the one with Twisted
HERE = os.path.dirname(os.path.abspath(__file__))
_started = []


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


_forked = []


def _kill_leftovers():
    for proc in _started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pid in _forked:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


atexit.register(_kill_leftovers)


def watchdog(seconds):
    """End the script with a failure after `seconds`."""
    def bite(signum, frame):
        raise Failure("watchdog: the test took more than %d s" % seconds)
    signal.signal(signal.SIGALRM, bite)
    signal.alarm(seconds)


def start(argv, **kwargs):
    """Start a process, recorded for the clean-up."""
    proc = subprocess.Popen(argv, **kwargs)
    _started.append(proc)
    return proc


def read_line(stream, timeout):
    """One line of `stream` (bytes), or b"" after `timeout` seconds."""
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else b""


def start_server(argv, timeout=20, stderr=subprocess.PIPE):
    """Start a server whose first line of output ends with its port;
    return (process, port)."""
    proc = start(argv, stdout=subprocess.PIPE, stderr=stderr)
    line = read_line(proc.stdout, timeout).decode()
    match = re.search(r":(\d+)\n?$", line)
    if not match:
        proc.kill()
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise Failure("%s printed %r, not its port: %s" % (argv[0], line, err))
    return proc, int(match.group(1))


def stop(proc, sig=signal.SIGTERM, timeout=20):
    """Signal `proc` by its pid and wait; returns (status, stderr text)."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise Failure("pid %d did not stop within %d s of signal %d" %
                      (proc.pid, timeout, sig))
    return proc.returncode, (err or b"").decode("utf-8", "replace")


def run(argv, timeout=30, **kwargs):
    """Run to the end: a CompletedProcess (bytes)."""
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise Failure("%s did not end within %d s" % (" ".join(argv), timeout))


def fork_server(behave, lifetime=20):
    """A listening socket on 127.0.0.1 whose first client gets
    `behave(conn)`, in a child process that lives at most `lifetime`
    seconds. Returns (pid, port)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    pid = os.fork()
    if pid == 0:
        signal.alarm(lifetime)
        try:
            conn, _ = listener.accept()
            behave(conn)
        finally:
            os._exit(0)
    listener.close()
    _forked.append(pid)
    return pid, port


def unused_port():
    """A port nothing listens on: the kernel's pick, released at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    """The resident set of `pid`, in KiB (/proc/PID/status VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failure("no VmRSS for pid %d" % pid)


def read_all(sock, timeout=20):
    """Everything until the peer closes: (bytes, how) where how is "eof"
    for a clean close or "reset"."""
    sock.settimeout(timeout)
    data = []
    try:
        while True:
            block = sock.recv(65536)
            if not block:
                return b"".join(data), "eof"
            data.append(block)
    except ConnectionResetError:
        return b"".join(data), "reset"


def poem(poems_dir, name):
    with open(os.path.join(poems_dir, name + ".txt"), "rb") as f:
        return f.read()


def main(cases):
    """usage: SCRIPT CASE BIN_DIR POEMS_DIR GOLDEN_DIR"""
    name, bin_dir, poems, golden = sys.argv[1:5]
    case = cases.get(name)
    if not case:
        print("unknown case %r; cases: %s" % (name, ", ".join(sorted(cases))))
        sys.exit(2)
    try:
        case(bin_dir, poems, golden)
    except Failure as e:
        print("FAIL: %s: %s" % (name, e))
        sys.exit(1)
    except Exception as e:  # a bug of the test, or of what it runs
        print("FAIL: %s: %s: %s" % (name, type(e).__name__, e))
        sys.exit(1)
    print("ok: %s" % name)
