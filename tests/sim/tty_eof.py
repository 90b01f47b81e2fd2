#!/usr/bin/env python3
"""deferred-sim at a terminal: Ctrl-D ends the prompt on a new line.

The tool runs on a pseudo-terminal (standard input, output and error, as
in an interactive shell). After the pairs, Ctrl-D at the `> ` prompt ends
the input; what follows the prompt must then start on a line of its own,
the drawing first. Without libedit, a last line typed without Enter and
ended by Ctrl-D twice is a line too, and the drawing again starts on a new
line (libedit's Ctrl-D on a line with text deletes a character instead).

usage: tty_eof.py BIN [--plain]   (--plain: built without libedit)
Each run is bounded (10 s); a child still running then is killed by its
pid and the test fails.
"""
import os
import pty
import select
import signal
import sys
import time

BIN = sys.argv[1]
PLAIN = "--plain" in sys.argv[2:]
failures = []


def run(keys):
    """Start BIN on a pty, type each of `keys` once the output so far ends
    with a prompt, and return (everything the terminal showed, status)."""
    pid, master = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "dumb"
        os.execv(BIN, [BIN])
    shown, pending, deadline = b"", list(keys), time.monotonic() + 10
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(master)
            return shown + b"<timed out>", -1
        if pending and shown.endswith(b"> "):
            # Type as a person would, once the prompt is up: libedit sets
            # the terminal up around its prompt, and input typed ahead of
            # that may be flushed.
            time.sleep(0.2)
            os.write(master, pending.pop(0))
            continue
        ready, _, _ = select.select([master], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:  # the child has gone and closed the terminal
            data = b""
        if not data:
            break
        shown += data
    _, status = os.waitpid(pid, 0)
    os.close(master)
    return shown, os.waitstatus_to_exitcode(status)


def after_prompt(shown):
    """What the terminal showed after the last prompt, less the echo of a
    Ctrl-D ("^D"), which the terminal may show."""
    after = shown[shown.rfind(b"> ") + 2:]
    return after[2:] if after.startswith(b"^D") else after


def expect(what, ok, shown):
    if not ok:
        failures.append("%s; the terminal showed:\n%s" % (what, shown.decode(
            "utf-8", "replace")))


# Ctrl-D at an empty prompt, after one pair.
shown, status = run([b"r good f bad\r", b"\x04"])
expect("exit status 0", status == 0, shown)
after = after_prompt(shown)
expect("a new line after the last prompt", after.startswith(b"\r\n"), shown)
expect("then the drawing", after[2:].lstrip(b" ").startswith(b"Deferred"),
       shown)
expect("the pair was drawn", b"return good" in shown, shown)

# Ctrl-D with nothing typed at all: the message starts on a new line too.
shown, status = run([b"\x04"])
expect("no pair: exit status 1", status == 1, shown)
after = after_prompt(shown)
expect("no pair: a new line after the prompt, then the message",
       after.startswith(b"\r\ndeferred-sim: no valid pair"), shown)

if PLAIN:
    # A last line without Enter: the first Ctrl-D hands the typed text to
    # the tool, the second ends the input.
    shown, status = run([b"r good f bad\x04\x04"])
    expect("unfinished line: exit status 0", status == 0, shown)
    at = shown.find(b"r good f bad")
    expect("unfinished line: a new line after it, then the drawing",
           at >= 0 and shown[at + 12:].startswith(b"\r\n")
           and b"return good" in shown[at + 12:], shown)

if failures:
    print("FAIL:\n" + "\n".join(failures))
    sys.exit(1)
print("ok: Ctrl-D ends the prompt on a new line")
