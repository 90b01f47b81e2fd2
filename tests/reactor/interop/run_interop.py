"""Interop of libdeferred-uv's echo examples with real Twisted, byte for
byte, over 127.0.0.1:

  1. our echo-client against a Twisted echo server;
  2. a Twisted client against our echo-server, which is then stopped by
     SIGTERM (by its pid) and must exit 0;

each with a short text, an empty input and a 1 MiB binary payload.
Servers print their port (chosen free by the kernel); every process is
bounded in time and stopped by its pid.

    run_interop.py BIN_DIR"""
import os
import random
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# The Twisted echo server the network benchmark runs serves here too.
TWISTED_ECHO_SERVER = os.path.join(HERE, "..", "..", "..", "bench", "net",
                                   "twisted_echo_server.py")
PYTHON = "/usr/bin/python3"  # the one with Twisted
TIMEOUT = 30


def payloads():
    rng = random.Random(20)
    return [
        ("text", b"hello, Twisted\n"),
        ("empty", b""),
        ("1 MiB", bytes(rng.getrandbits(8) for _ in range(1 << 20))),
    ]


def start_server(argv):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline().decode()
    if not line:
        proc.kill()
        raise SystemExit("server %s printed nothing: %s" % (argv, proc.stderr.read()))
    port = int(line.strip().rsplit(":", 1)[1])
    return proc, port


def stop_server(proc, name):
    os.kill(proc.pid, signal.SIGTERM)
    try:
        status = proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise SystemExit("%s did not stop on SIGTERM" % name)
    return status


def check(label, got, want):
    if got != want:
        raise SystemExit("%s: %d bytes back, %d sent, %s" % (
            label, len(got), len(want),
            "differ" if len(got) == len(want) else "lengths differ"))
    print("ok: %s (%d bytes)" % (label, len(want)))


def our_client_against_twisted(bin_dir):
    server, port = start_server([PYTHON, TWISTED_ECHO_SERVER])
    try:
        for name, data in payloads():
            run = subprocess.run([os.path.join(bin_dir, "echo-client"),
                                  "127.0.0.1:%d" % port], input=data,
                                 capture_output=True, timeout=TIMEOUT)
            if run.returncode != 0:
                raise SystemExit("echo-client exited %d: %s" % (
                    run.returncode, run.stderr.decode()))
            check("echo-client -> Twisted server, " + name, run.stdout, data)
    finally:
        stop_server(server, "the Twisted server")


def twisted_client_against_ours(bin_dir):
    server, port = start_server([os.path.join(bin_dir, "echo-server")])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in payloads():
                infile = os.path.join(tmp, "in")
                outfile = os.path.join(tmp, "out")
                with open(infile, "wb") as f:
                    f.write(data)
                run = subprocess.run([PYTHON, os.path.join(HERE, "twisted_echo_client.py"),
                                      "127.0.0.1", str(port), infile, outfile],
                                     capture_output=True, timeout=TIMEOUT)
                if run.returncode != 0:
                    raise SystemExit("the Twisted client exited %d: %s" % (
                        run.returncode, run.stderr.decode()))
                with open(outfile, "rb") as f:
                    check("Twisted client -> echo-server, " + name, f.read(), data)
    finally:
        status = stop_server(server, "echo-server")
    if status != 0:
        raise SystemExit("echo-server exited %d after SIGTERM" % status)
    print("ok: echo-server stopped by SIGTERM, exit status 0")


def main():
    bin_dir = sys.argv[1]
    our_client_against_twisted(bin_dir)
    twisted_client_against_ours(bin_dir)
    print("interop passed")


if __name__ == "__main__":
    main()
