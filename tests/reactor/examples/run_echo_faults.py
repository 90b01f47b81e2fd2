"""The echo examples' local faults, over 127.0.0.1: no byte is lost
silently, no closed standard stream crashes or hangs them.

  echo-client
    - standard output is /dev/full (a large echo, and a small one that
      sits in stdio's buffer until the end): exit 1, the reason;
    - standard input is a directory: exit 1, the reason, nothing printed;
    - started with standard input closed: refuses, exit 2;
    - started with standard output closed: refuses, exit 2;
    - started with standard error closed: echoes as usual, and a fault
      still gives exit 1;
    - --help into /dev/full: exit 1.
  echo-server
    - standard output is /dev/full or closed: exit 1 / 2, the reason
      (the port could not be told);
    - started with standard input and error closed: serves, and stops on
      SIGTERM with exit 0.

Every process is bounded in time; the server is stopped by its pid.

    run_echo_faults.py BIN_DIR"""
import os
import signal
import subprocess
import sys
import tempfile

TIMEOUT = 30
BIN = sys.argv[1]
CLIENT = os.path.join(BIN, "echo-client")
SERVER = os.path.join(BIN, "echo-server")
PAYLOAD = bytes((i * 7 + i // 251) & 0xFF for i in range(300000))
FULL = "No space left on device"

failures = []


def expect(label, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (label, got, want))
    else:
        print("ok: %s" % label)


def closing(*fds):
    """A preexec_fn that starts the program with `fds` closed."""
    def close():
        for fd in fds:
            os.close(fd)
    return close


def run(argv, stdin=None, stdout=subprocess.PIPE, data=None, closed=()):
    proc = subprocess.run(argv, input=data, stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=TIMEOUT,
                          preexec_fn=closing(*closed) if closed else None)
    out = proc.stdout if stdout == subprocess.PIPE else None
    return proc.returncode, out, proc.stderr.decode()


def start_server(closed=()):
    proc = subprocess.Popen([SERVER], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL if not closed else None,
                            preexec_fn=closing(*closed) if closed else None)
    line = proc.stdout.readline().decode()
    if not line.startswith("echo-server listening on 127.0.0.1:"):
        proc.kill()
        proc.wait()
        raise SystemExit("echo-server printed %r" % line)
    return proc, int(line.strip().rsplit(":", 1)[1])


def stop_server(proc):
    os.kill(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "did not stop on SIGTERM"


def client_faults(address):
    with open("/dev/full", "wb") as full:
        expect("echo-client > /dev/full, 300 kB",
               run([CLIENT, address], data=PAYLOAD, stdout=full),
               (1, None, "echo-client: writing standard output: %s\n" % FULL))
        expect("echo-client > /dev/full, 3 bytes",
               run([CLIENT, address], data=b"hi\n", stdout=full),
               (1, None, "echo-client: writing standard output: %s\n" % FULL))
        expect("echo-client --help > /dev/full",
               run([CLIENT, "--help"], stdout=full),
               (1, None, "echo-client: writing standard output: %s\n" % FULL))
    with tempfile.TemporaryDirectory() as tmp:
        fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)
        try:
            expect("echo-client < a directory",
                   run([CLIENT, address], stdin=fd),
                   (1, b"", "echo-client: reading standard input: "
                            "Is a directory\n"))
            expect("echo-client < a directory, standard error closed",
                   run([CLIENT, address], stdin=fd, closed=(2,))[0], 1)
        finally:
            os.close(fd)
    expect("echo-client with standard input closed",
           run([CLIENT, address], closed=(0,)),
           (2, b"", "echo-client: standard input is closed\n"))
    expect("echo-client with standard output closed",
           run([CLIENT, address], data=PAYLOAD, closed=(1,))[::2],
           (2, "echo-client: standard output is closed\n"))
    expect("echo-client with standard error closed",
           run([CLIENT, address], data=PAYLOAD, closed=(2,))[:2],
           (0, PAYLOAD))


def server_faults():
    with open("/dev/full", "wb") as full:
        expect("echo-server > /dev/full",
               run([SERVER, "--port", "0"], stdout=full),
               (1, None, "echo-server: writing standard output: %s\n" % FULL))
    expect("echo-server with standard output closed",
           run([SERVER], closed=(1,))[::2],
           (2, "echo-server: standard output is closed\n"))
    server, port = start_server(closed=(0, 2))
    try:
        expect("echo-server with standard input and error closed echoes",
               run([CLIENT, "127.0.0.1:%d" % port], data=PAYLOAD),
               (0, PAYLOAD, ""))
    finally:
        expect("... and stops on SIGTERM", stop_server(server), 0)


def main():
    server, port = start_server()
    try:
        client_faults("127.0.0.1:%d" % port)
    finally:
        expect("echo-server stops on SIGTERM", stop_server(server), 0)
    server_faults()
    if failures:
        raise SystemExit("FAIL:\n  " + "\n  ".join(failures))


main()
