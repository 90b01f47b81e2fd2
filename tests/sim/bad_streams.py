"""deferred-sim on standard streams that fail (docs/deferred-sim.md,
"Running it"): a read error is reported with its reason and nothing is
drawn (exit 1), never taken for the end of the input; a closed standard
stream is reported, and no file the tool opens takes its place.

    bad_streams.py DEFERRED_SIM

  directory    standard input is a directory: EISDIR
  reset        a socket that sends two pairs, then a reset: ECONNRESET
               after the pairs, and still nothing drawn
  nonblocking  standard input a pipe left O_NONBLOCK, the pairs late: they
               are waited for and drawn, not taken for an empty input
  closed_in    standard input closed
  closed_out   standard output closed, with --svg FILE: the drawing goes
               neither to the picture nor anywhere else, exit 1
  full_out     standard output on /dev/full: the reason, exit 1
Each case is bounded (10 s); every process is waited for.
"""
import fcntl
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

PAIRS = b"r good f bad\nf googly p\n"


class Failure(Exception):
    pass


def fail(message):
    raise Failure(message)


def run(argv, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run(argv, timeout=10, **kwargs)


def expect(name, result, status, err, out=b""):
    if (result.returncode, result.stdout or b"", result.stderr) != (
            status, out, err):
        fail("%s: exit %d, stdout %r, stderr %r; expected %d, %r, %r" % (
            name, result.returncode, (result.stdout or b"")[:200],
            result.stderr, status, out, err))


def finish(name, proc):
    """Wait (10 s at most) for `proc`: (status, stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        fail("%s: deferred-sim did not end" % name)
    return subprocess.CompletedProcess([], proc.returncode, out, err)


def case_directory(sim):
    with tempfile.TemporaryDirectory() as d:
        directory = os.open(d, os.O_RDONLY)
        try:
            r = run([sim], stdin=directory)
        finally:
            os.close(directory)
    expect("directory", r, 1,
           b"deferred-sim: cannot read standard input: Is a directory\n")


def case_reset(sim):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    client.sendall(PAIRS)
    proc = subprocess.Popen([sim], stdin=server, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    server.close()
    time.sleep(0.3)  # it has read the pairs (it would draw them at the end)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      struct.pack("ii", 1, 0))
    client.close()  # a reset
    expect("reset", finish("reset", proc), 1, b"deferred-sim: cannot read standard input: Connection reset "
           b"by peer\n")


def case_nonblocking(sim):
    read_end, write_end = os.pipe()
    flags = fcntl.fcntl(read_end, fcntl.F_GETFL)
    fcntl.fcntl(read_end, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    proc = subprocess.Popen([sim], stdin=read_end, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    os.close(read_end)
    time.sleep(0.3)  # it finds the pipe empty first
    os.write(write_end, PAIRS)
    os.close(write_end)
    r = finish("nonblocking", proc)
    drawn = run([sim], input=PAIRS)
    if r.returncode != 0 or r.stderr or r.stdout != drawn.stdout or not r.stdout:
        fail("nonblocking: exit %d, stderr %r, %d bytes drawn (want %d)" % (
            r.returncode, r.stderr, len(r.stdout), len(drawn.stdout)))


def case_closed_in(sim):
    r = run([sim], stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
    expect("closed_in", r, 1, b"deferred-sim: standard input is closed\n")


def case_closed_out(sim):
    with tempfile.TemporaryDirectory() as d:
        svg = os.path.join(d, "chain.svg")
        r = run([sim, "--svg", svg], input=PAIRS, stdout=None,
                preexec_fn=lambda: os.close(1))
        expect("closed_out", r, 1, b"deferred-sim: standard output is closed\n")
        if os.path.exists(svg):
            fail("closed_out: the SVG file was made")


def case_full_out(sim):
    if not os.path.exists("/dev/full"):
        return
    with open("/dev/full", "wb") as full:
        r = run([sim], input=PAIRS, stdout=full)
    expect("full_out", r, 1, b"deferred-sim: cannot write the drawing: No "
           b"space left on device\n")


def main():
    sim = sys.argv[1]
    failed = 0
    for name, case in sorted(globals().items()):
        if name.startswith("case_"):
            try:
                case(sim)
            except Failure as e:
                print("FAIL: " + str(e))
                failed += 1
            except Exception as e:  # a broken pipe: it stopped reading
                print("FAIL: %s: %s: %s" % (name, type(e).__name__, e))
                failed += 1
    if failed:
        sys.exit(1)
    print("ok: read errors, closed streams and a full output")


if __name__ == "__main__":
    main()
