"""The poetry tools over loopback: failures and loads, one case per ctest
(tests/poetry/CMakeLists.txt), each bounded by a watchdog.

    loopback.py CASE BIN_DIR POEMS_DIR GOLDEN_DIR

  refused        a port where nothing listens: ConnectionRefusedError
  name_lookup    --hosts: a name it lists downloads, one it does not fails
                 with DNSLookupError (no DNS query is sent)
  reset          a server that resets mid-poem: a failed download, no poem
  never_sends    a server that accepts and says nothing: --timeout ends it
  client_leaves  clients that close or reset mid-poem: the server goes on
  slow_reader    clients that do not read a 16 MiB poem: the server's
                 memory for them stays bounded, and they get it all later
  many_clients   2,000 clients at once, each gets the exact poem
  workers        --workers 2: one port, both workers serve, exact poems
  sigterm        SIGTERM with clients mid-poem: they are reset (never a
                 clean close of a cut poem), counted, exit status 0
  interrupt      SIGINT stops get-poetry: its downloads fail, exit 1
  progress       --progress to a pipe, and on a terminal (a pty)
  command_line   both tools' exit statuses and messages for bad input
  paused_reader  get-poetry's reader pauses longer than --timeout: no
                 download fails, every poem comes out whole
  interrupt_writing  SIGINT while a poem waits for its reader: exit 1 at
                 once, the write given up
  streams        closed standard streams, a full standard output
"""
import fcntl
import os
import pty
import resource
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import time

from harness import (check, fork_server, main, poem, rss_kib, read_all, run,
                     start, start_server, stop, unused_port, watchdog)


def server(bin_dir, path, *args):
    return start_server([os.path.join(bin_dir, "poetry-server"), *args, path])


def get_poetry(bin_dir, *args, timeout=30):
    return run([os.path.join(bin_dir, "get-poetry"), "--no-progress", *args],
               timeout=timeout)


def expect_failed_download(result, kind):
    err = result.stderr.decode()
    check(result.returncode == 1, "get-poetry exited %d: %s" %
          (result.returncode, err))
    check(result.stdout == b"", "it printed %r" % result.stdout[:100])
    check("could not be downloaded: %s" % kind in err, "no %s in %r" % (kind, err))
    check("(%s) after" % kind in err, "no summary line for %s in %r" % (kind, err))


def case_refused(bin_dir, poems, golden):
    watchdog(30)
    expect_failed_download(get_poetry(bin_dir, str(unused_port())),
                           "ConnectionRefusedError")


def case_name_lookup(bin_dir, poems, golden):
    watchdog(30)
    path = os.path.join(poems, "science.txt")
    proc, port = server(bin_dir, path, "--delay", "0.01", "--num-bytes", "100")
    with tempfile.NamedTemporaryFile("w", suffix=".hosts") as hosts:
        hosts.write("127.0.0.1 poetry.test\n")
        hosts.flush()
        r = get_poetry(bin_dir, "--hosts", hosts.name, "poetry.test:%d" % port,
                       "nowhere.test:%d" % port)
    err = r.stderr.decode()
    check(r.returncode == 1, "exit %d: %s" % (r.returncode, err))
    check(r.stdout == poem(poems, "science"), "poetry.test's poem not exact")
    check("Task 2: the poem from nowhere.test:%d could not be downloaded: "
          "DNSLookupError: " % port in err, "no DNSLookupError: %r" % err)
    status, _ = stop(proc)
    check(status == 0, "poetry-server exited %d" % status)


def case_reset(bin_dir, poems, golden):
    watchdog(30)

    def half_then_reset(conn):
        conn.sendall(poem(poems, "science")[:300])
        time.sleep(0.2)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # SO_LINGER 0: a reset
    pid, port = fork_server(half_then_reset)
    expect_failed_download(get_poetry(bin_dir, str(port)), "ConnectionLost")
    os.waitpid(pid, 0)


def case_never_sends(bin_dir, poems, golden):
    watchdog(30)
    pid, port = fork_server(lambda conn: time.sleep(20))
    began = time.monotonic()
    r = get_poetry(bin_dir, "--timeout", "1", str(port))
    took = time.monotonic() - began
    expect_failed_download(r, "TimeoutError")
    check("no bytes from 127.0.0.1:%d for 1 seconds" % port in r.stderr.decode(),
          "the timeout's message: %r" % r.stderr.decode())
    check(took < 10, "it took %.1f s to give up" % took)  # a bound, not a timing
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def case_client_leaves(bin_dir, poems, golden):
    watchdog(30)
    whole = poem(poems, "science")
    proc, port = server(bin_dir, os.path.join(poems, "science.txt"),
                        "--delay", "0.05", "--num-bytes", "50")
    closer = socket.create_connection(("127.0.0.1", port))
    resetter = socket.create_connection(("127.0.0.1", port))
    check(closer.recv(5) and resetter.recv(5), "no first chunk")
    closer.close()
    resetter.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    resetter.close()
    time.sleep(0.2)  # the server writes to both again: EPIPE, never SIGPIPE
    check(proc.poll() is None, "the server died: status %s" % proc.poll())
    later = socket.create_connection(("127.0.0.1", port))
    data, how = read_all(later)
    check(data == whole and how == "eof", "the next client got %d bytes (%s)" %
          (len(data), how))
    status, err = stop(proc)
    check(status == 0, "exit %d" % status)
    check(err.count(": left after ") == 2, "two 'left after' lines: %r" % err)
    check("3 clients: 1 sent the whole poem, 2 left early, 0 cut off" in err,
          "the report: %r" % err)


def case_slow_reader(bin_dir, poems, golden):
    watchdog(90)
    size = 16 << 20
    with tempfile.NamedTemporaryFile(suffix=".txt") as big:
        block = bytes(range(256)) * 4096  # 1 MiB
        for _ in range(size // len(block)):
            big.write(block)
        big.flush()
        proc, port = server(bin_dir, big.name, "--delay", "0", "--quiet")
        time.sleep(0.3)
        before = rss_kib(proc.pid)
        clients = []
        for _ in range(4):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            clients.append(s)
        time.sleep(1.5)  # nobody reads
        grown = rss_kib(proc.pid) - before
        # A server that queued the poem for each would hold ~4 x 12 MiB
        # (the kernel takes 4 MiB of each); ours keeps at most 64 KiB +
        # 16 KiB a client in its write buffer.
        check(grown < 12 * 1024, "the server grew by %d KiB for 4 clients that "
              "do not read" % grown)
        for s in clients:
            data, how = read_all(s, timeout=60)
            check(how == "eof" and len(data) == size and data == block * 16,
                  "a slow reader got %d of %d bytes (%s)" % (len(data), size, how))
        status, err = stop(proc)
    check(status == 0, "exit %d: %s" % (status, err))
    check("4 clients: 4 sent the whole poem" in err, "the report: %r" % err)
    print("slow readers: the server grew by %d KiB for 4 (%d KiB each)" %
          (grown, grown // 4))


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def download_all(port, count, expected, timeout=60):
    """`count` clients at once; fails unless each got `expected` exactly."""
    import asyncio

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = await reader.read()  # until the server closes
        writer.close()
        return data

    async def everyone():
        return await asyncio.wait_for(
            asyncio.gather(*(one() for _ in range(count)), return_exceptions=True),
            timeout)

    results = asyncio.run(everyone())
    bad = [r for r in results if r != expected]
    check(not bad, "%d of %d clients did not get the exact poem (%s)" %
          (len(bad), count, repr(bad[0])[:100] if bad else ""))


def case_many_clients(bin_dir, poems, golden):
    watchdog(120)
    check(raise_fd_limit(4200) >= 4200, "cannot open 4,200 files")
    proc, port = server(bin_dir, os.path.join(poems, "science.txt"),
                        "--delay", "0.05", "--num-bytes", "100", "--quiet")
    began = time.monotonic()
    download_all(port, 2000, poem(poems, "science"))
    took = time.monotonic() - began
    status, err = stop(proc)
    check(status == 0, "exit %d: %s" % (status, err))
    check("2000 clients: 2000 sent the whole poem, 0 left early, 0 cut off" in err,
          "the report: %r" % err)
    print("2,000 concurrent clients, each poem exact, in %.1f s" % took)


def case_workers(bin_dir, poems, golden):
    watchdog(60)
    raise_fd_limit(1000)
    proc, port = server(bin_dir, os.path.join(poems, "ecstasy.txt"), "--workers",
                        "2", "--delay", "0.01", "--num-bytes", "500", "--quiet")
    download_all(port, 300, poem(poems, "ecstasy"))
    status, err = stop(proc)
    check(status == 0, "exit %d: %s" % (status, err))
    check("300 clients: 300 sent the whole poem" in err, "the report: %r" % err)


def case_sigterm(bin_dir, poems, golden):
    watchdog(30)
    proc, port = server(bin_dir, os.path.join(poems, "ecstasy.txt"))  # 0.7 s, 10 B
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    for s in clients:
        check(len(s.recv(100)) > 0, "no first chunk")
    getter = start([os.path.join(bin_dir, "get-poetry"), "--no-progress", str(port)],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    status, err = stop(proc)
    check(status == 0, "poetry-server exited %d after SIGTERM: %s" % (status, err))
    check("6 clients: 0 sent the whole poem, 0 left early, 6 cut off mid-poem" in err,
          "the report: %r" % err)
    check(err.count(": cut off after ") == 6, "a line per client: %r" % err)
    for s in clients:
        data, how = read_all(s)
        check(how == "reset", "a cut-off client saw %s, not a reset" % how)
    out, gerr = getter.communicate(timeout=20)
    check(getter.returncode == 1 and out == b"", "get-poetry: exit %d, %r" %
          (getter.returncode, out[:80]))
    check(b"could not be downloaded: ConnectionLost" in gerr, gerr.decode())


def case_interrupt(bin_dir, poems, golden):
    watchdog(30)
    proc, port = server(bin_dir, os.path.join(poems, "science.txt"))
    getter = start([os.path.join(bin_dir, "get-poetry"), "--no-progress", str(port),
                    str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    status, err = stop(getter, signal.SIGINT)
    check(status == 1, "get-poetry exited %d after SIGINT: %s" % (status, err))
    check(err.count("could not be downloaded: ConnectionLost") == 2, err)
    check("get-poetry: 0 of 2 poems printed" in err, err)
    status, _ = stop(proc)
    check(status == 0, "poetry-server exited %d" % status)


def big_poem_file(directory):
    """A 1.1 MB poem: far more than a pipe holds (64 KiB)."""
    path = os.path.join(directory, "long.txt")
    with open(path, "wb") as f:
        f.write(b"verse line\n" * 100000)
    return path


def case_paused_reader(bin_dir, poems, golden):
    """A reader that stops reading for longer than --timeout (a pager on
    its first page) holds up no download: the big poem waits for it on a
    pool thread while the slow one goes on arriving, and both come out
    whole, in the order they were ready."""
    watchdog(40)
    with tempfile.TemporaryDirectory() as tmp:
        big = big_poem_file(tmp)
        fast, fast_port = server(bin_dir, big, "--delay", "0")
        slow, slow_port = server(bin_dir, os.path.join(poems, "science.txt"),
                                 "--delay", "0.5", "--num-bytes", "100")
        read_end, write_end = os.pipe()
        getter = start([os.path.join(bin_dir, "get-poetry"), "--no-progress",
                        "--timeout", "1", str(fast_port), str(slow_port)],
                       stdout=write_end, stderr=subprocess.PIPE)
        os.close(write_end)
        time.sleep(2.5)  # the reader pauses: more than the timeout
        with os.fdopen(read_end, "rb") as reader:
            out = reader.read()
        err = getter.communicate(timeout=20)[1].decode()
        with open(big, "rb") as f:
            want = f.read() + poem(poems, "science")
        check(getter.returncode == 0, "get-poetry exited %d: %s" %
              (getter.returncode, err))
        check(out == want, "%d bytes out, %d expected: %s" % (len(out), len(want), err))
        check("get-poetry: 2 of 2 poems printed" in err, err)
        stop(fast)
        stop(slow)


def case_interrupt_writing(bin_dir, poems, golden):
    """SIGINT while a poem waits for a reader that never reads: the write
    gives up (IOError, interrupted) and get-poetry ends at once, exit 1."""
    watchdog(30)
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = server(bin_dir, big_poem_file(tmp), "--delay", "0")
        read_end, write_end = os.pipe()
        getter = start([os.path.join(bin_dir, "get-poetry"), "--no-progress",
                        str(port)], stdout=write_end, stderr=subprocess.PIPE)
        os.close(write_end)
        # downloaded, and the write stuck: the pipe is full
        for _ in range(200):
            if struct.unpack("i", fcntl.ioctl(read_end, termios.FIONREAD,
                                              b"\0" * 4))[0] >= 65536:
                break
            time.sleep(0.05)
        else:
            raise Failure("the pipe never filled")
        time.sleep(0.2)
        began = time.monotonic()
        status, err = stop(getter, signal.SIGINT, timeout=5)
        os.close(read_end)
        check(time.monotonic() - began < 3, "it took %.1f s to stop" %
              (time.monotonic() - began))
        check(status == 1, "get-poetry exited %d after SIGINT: %s" % (status, err))
        check("Task 1: IOError: cannot write the poem to the output: "
              "interrupted\n" in err, err)
        check("get-poetry: 0 of 1 poem printed" in err, err)
        stop(proc)


def run_with(argv, **kwargs):
    """Run to the end with the standard streams `kwargs` says."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    try:
        return subprocess.run(argv, timeout=20, **kwargs)
    except subprocess.TimeoutExpired:
        raise Failure("%s did not end within 20 s" % " ".join(argv))


def closing(fd):
    return lambda: os.close(fd)


def case_streams(bin_dir, poems, golden):
    """Closed standard streams and a full standard output, for both tools:
    never a socket in place of standard output, never a silent loss."""
    watchdog(60)
    server_bin = os.path.join(bin_dir, "poetry-server")
    get_bin = os.path.join(bin_dir, "get-poetry")
    science = os.path.join(poems, "science.txt")
    expected = poem(poems, "science")

    r = run_with([server_bin, science], stdout=None, preexec_fn=closing(1))
    check(r.returncode == 1 and r.stderr ==
          b"poetry-server: standard output is closed\n",
          "server, stdout closed: exit %d, %r" % (r.returncode, r.stderr))
    r = run_with([get_bin, "1000"], stdout=None, preexec_fn=closing(1))
    check(r.returncode == 1 and r.stderr ==
          b"get-poetry: standard output is closed\n",
          "get-poetry, stdout closed: exit %d, %r" % (r.returncode, r.stderr))
    if os.path.exists("/dev/full"):
        with open("/dev/full", "wb") as full:
            r = run_with([server_bin, science], stdout=full)
        check(r.returncode == 1 and r.stderr ==
              b"poetry-server: cannot write the port line to standard "
              b"output: No space left on device\n",
              "server to /dev/full: exit %d, %r" % (r.returncode, r.stderr))

    # A server with standard input and error closed still serves (its
    # listening socket is not descriptor 0 or 2: a client gets the poem).
    proc = start([server_bin, "--delay", "0", science], stdout=subprocess.PIPE,
                 stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 preexec_fn=lambda: (os.close(0), os.close(2)))
    line = proc.stdout.readline().decode()
    check(line.startswith("poetry-server: serving science.txt"), line)
    port = int(line.rsplit(":", 1)[1])
    data, how = read_all(socket.create_connection(("127.0.0.1", port)))
    check(data == expected and how == "eof", "%d bytes, %s" % (len(data), how))

    # get-poetry: a full output fails the download with the reason;
    # closed standard input and error change nothing.
    for fd_out in ("/dev/full", None):
        if fd_out and not os.path.exists(fd_out):
            continue
        if fd_out:
            with open(fd_out, "wb") as full:
                r = run_with([get_bin, "--no-progress", str(port)], stdout=full)
            err = r.stderr.decode()
            check(r.returncode == 1 and "Task 1: IOError: cannot write the "
                  "poem to the output: No space left on device\n" in err and
                  "(IOError)" in err, "get-poetry to /dev/full: exit %d, %s" %
                  (r.returncode, err))
        else:
            r = run_with([get_bin, "--no-progress", str(port)],
                         stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         preexec_fn=lambda: (os.close(0), os.close(2)))
            check(r.returncode == 0 and r.stdout == expected,
                  "get-poetry, stdin and stderr closed: exit %d, %d bytes" %
                  (r.returncode, len(r.stdout)))
    stop(proc)


def case_progress(bin_dir, poems, golden):
    watchdog(30)
    proc, port = server(bin_dir, os.path.join(poems, "science.txt"),
                        "--delay", "0.1", "--num-bytes", "100")
    r = run([os.path.join(bin_dir, "get-poetry"), "--progress", str(port)])
    err = r.stderr.decode()
    check(r.returncode == 0 and r.stdout == poem(poems, "science"), err)
    check(err.startswith("progress: 127.0.0.1:%d connecting\n" % port), err)
    check("\r" not in err and "\033" not in err, "control characters: %r" % err)
    # On a terminal: stderr on a pty, stdout still a pipe and exact.
    master, slave = pty.openpty()
    getter = start([os.path.join(bin_dir, "get-poetry"), str(port)],
                   stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    out, _ = getter.communicate(timeout=20)
    seen = b""
    while True:
        try:
            block = os.read(master, 65536)
        except OSError:
            break
        if not block:
            break
        seen += block
    os.close(master)
    check(getter.returncode == 0 and out == poem(poems, "science"),
          "on a terminal: exit %d, %d bytes" % (getter.returncode, len(out)))
    check(b"\r127.0.0.1:%d " % port in seen and b"\033[K" in seen,
          "no progress line on the terminal: %r" % seen[:200])
    stop(proc)


def case_command_line(bin_dir, poems, golden):
    watchdog(60)
    server_bin = os.path.join(bin_dir, "poetry-server")
    get_bin = os.path.join(bin_dir, "get-poetry")
    science = os.path.join(poems, "science.txt")

    def expect(argv, status, err_part, out_part=None):
        r = run(argv)
        err = r.stderr.decode()
        check(r.returncode == status, "%s: exit %d, expected %d: %s" %
              (" ".join(argv[1:]), r.returncode, status, err))
        check(err_part in err, "%s: no %r in %r" % (" ".join(argv[1:]), err_part, err))
        if out_part is not None:
            check(out_part in r.stdout.decode(), "%s: no %r on stdout" %
                  (" ".join(argv[1:]), out_part))

    usage = "usage: poetry-server [--port N] [--iface ADDR] [--delay SECONDS] " \
            "[--num-bytes N] [--backlog N] [--workers N] [--quiet] POETRY_FILE"
    expect([server_bin, "--help"], 0, "", usage + "\n")
    expect([server_bin, "--version"], 0, "", "poetry-server (libdeferred) ")
    expect([server_bin], 2, "poetry-server: no POETRY_FILE given\n" + usage +
           " (try 'poetry-server --help')\n")
    expect([server_bin, "--frobnicate", science], 2, 'unknown option "--frobnicate"')
    expect([server_bin, "--port", "http", science], 2,
           'bad --port "http": an integer from 0 to 65535 is needed')
    expect([server_bin, "--delay", "-1", science], 2, 'bad --delay "-1"')
    expect([server_bin, "--num-bytes", "0", science], 2, 'bad --num-bytes "0"')
    expect([server_bin, "--workers", "65", science], 2, 'bad --workers "65"')
    expect([server_bin, "--iface", "localhost", science], 2,
           'bad --iface "localhost": a numeric IPv4 or IPv6 address is needed')
    expect([server_bin, "--port"], 2, "--port needs a value")
    expect([server_bin, science, science], 2, "more than one POETRY_FILE")
    expect([server_bin, "/nonexistent.txt"], 1,
           'poetry-server: cannot open "/nonexistent.txt": No such file or directory')
    expect([server_bin, poems], 1, "cannot read \"%s\": Is a directory" % poems)
    with tempfile.NamedTemporaryFile() as empty:
        expect([server_bin, empty.name], 1, "is empty: there is no poem to serve")
    # every numeric option: negative, past its range or overflowing,
    # trailing junk, empty (both forms)
    bad_values = ("-1", "99999999999999999999", "12x", " 12", "")
    for option, low, high in (("--port", 0, 65535),
                              ("--num-bytes", 1, 64 << 20),
                              ("--backlog", 1, 65535),
                              ("--workers", 1, 64)):
        for bad in bad_values + (str(high + 1),):
            expect([server_bin, option, bad, science], 2,
                   'poetry-server: bad %s "%s": an integer from %d to %d is '
                   "needed\n" % (option, bad, low, high))
        expect([server_bin, "%s=" % option, science], 2,
               'bad %s "": an integer' % option)
    for bad in bad_values + ("86401", "1e400", "inf", "nan", "0x10"):
        expect([server_bin, "--delay", bad, science], 2,
               'poetry-server: bad --delay "%s": a number of seconds from 0 to '
               "86400 is needed\n" % bad)
    # a poem file larger than the limit: refused, never read past it
    expect([server_bin, "/dev/zero"], 1,
           'poetry-server: "/dev/zero" is longer than 64 MiB: too long to serve\n')
    with tempfile.NamedTemporaryFile() as huge:
        huge.truncate((64 << 20) + 1)  # sparse
        expect([server_bin, huge.name], 1, "is longer than 64 MiB")

    proc, port = server(bin_dir, science)
    expect([server_bin, "--port", str(port), science], 3,
           "Couldn't listen on 127.0.0.1:%d: address already in use" % port)
    expect([server_bin, "--workers", "2", "--port", str(port), science], 3,
           "Couldn't listen on 127.0.0.1:%d: address already in use" % port)
    stop(proc)

    gusage = "usage: get-poetry [--byronify [--fault-rate R --seed S]] " \
             "[--timeout SECONDS] [--progress|--no-progress] [--hosts FILE] " \
             "[HOST:]PORT ..."
    expect([get_bin, "--help"], 0, "", gusage + "\n")
    expect([get_bin], 2, "get-poetry: no address given\n" + gusage +
           " (try 'get-poetry --help')\n")
    expect([get_bin, "--fault-rate", "0.5", "1000"], 2,
           "--fault-rate needs --byronify")
    expect([get_bin, "--byronify", "--fault-rate", "2", "1000"], 2,
           'bad --fault-rate "2"')
    expect([get_bin, "--seed", "3", "1000"], 2, "--seed needs --byronify")
    expect([get_bin, "--byronify", "--seed", "3", "1000"], 2,
           "get-poetry: --seed needs --fault-rate (with the default rate, 0, "
           "no call fails)\n" + gusage)
    expect([get_bin, "--timeout", "soon", "1000"], 2, 'bad --timeout "soon"')
    expect([get_bin, "::1:1000"], 2, 'bad address "::1:1000": an IPv6 address '
           'needs brackets: [ADDR]:PORT')
    expect([get_bin, "tcp:host=a:port=x"], 2, "port: not a number: 'x'")
    for bad in bad_values + ("86401", "1e999", "inf", "nan", "0x10"):
        expect([get_bin, "--timeout", bad, "1000"], 2,
               'get-poetry: bad --timeout "%s": a number of seconds from 0 to '
               "86400 is needed\n" % bad)
    for bad in bad_values + ("1.5", "nan"):
        expect([get_bin, "--byronify", "--fault-rate", bad, "1000"], 2,
               'get-poetry: bad --fault-rate "%s": a number from 0 to 1 is '
               "needed\n" % bad)
    for bad in bad_values + ("18446744073709551616",):
        expect([get_bin, "--byronify", "--fault-rate", "1", "--seed", bad,
                "1000"], 2, 'get-poetry: bad --seed "%s": an integer from 0 '
               "to 18446744073709551615 is needed\n" % bad)
    # ports out of range, in every form of address
    for address, port_text in (("0", "0"), ("65536", "65536"),
                               ("99999999999999999999", "99999999999999999999"),
                               ("host:-1", "-1"), ("[::1]:70000", "70000"),
                               ("host:1x", "1x")):
        expect([get_bin, "--", address], 2, 'get-poetry: bad address "%s": '
               "not a port number (1 to 65535): '%s'\n" % (address, port_text))
    expect([get_bin, "tcp:host=a:port=65536"], 2, "port: out of range: '65536'")
    expect([get_bin, "tcp:a:1:timeout=-1"], 2,
           "timeout: not a number of seconds: '-1'")
    expect([get_bin, "--hosts", "/nonexistent", "1000"], 2,
           'get-poetry: --hosts: cannot open "/nonexistent"')
    expect([get_bin, "--hosts", poems, "1000"], 2,
           'get-poetry: --hosts: cannot read "%s": Is a directory\n' % poems)
    with tempfile.NamedTemporaryFile("w", suffix=".hosts") as bad:
        bad.write("# servers\n127.0.0.1 poetry.test\nlocalhost poetry2.test\n")
        bad.flush()
        expect([get_bin, "--hosts", bad.name, "poetry.test:1000"], 2,
               "get-poetry: --hosts: \"%s\", line 3: 'localhost' is not a "
               "numeric address\n" % bad.name)
    expect([get_bin, "unix:/tmp/poetry.sock"], 2, 'bad address '
           '"unix:/tmp/poetry.sock": \'unix:\' endpoints are not supported')


if __name__ == "__main__":
    main({name[len("case_"):]: fn for name, fn in list(globals().items())
          if name.startswith("case_")})
