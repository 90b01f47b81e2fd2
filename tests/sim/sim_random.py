#!/usr/bin/env python3
"""Compare deferred-sim with oracle.py on random inputs (fixed seed).

Inputs mix valid pairs (abbreviations, case, UTF-8 and NUL in values, odd
white space, CRLF) with every kind of bad line, empty lines anywhere and
missing final line feeds; a third of the runs add --trace (the firing
logs after the drawing). Standard output, standard error and the exit
status must all agree.

usage: sim_random.py BIN [COUNT] [SEED]
"""
import random
import subprocess
import sys

import oracle

SPACES = [" ", "\t", "\v", "\f", "  ", " \t "]
COMMANDS = ["r", "re", "RET", "Return", "return", "f", "FA", "Fail", "fail",
            "p", "Pass", "PASSTHRU", "passthru", "zap", "rx", "returnx",
            "passthrux", "R\u00e9"]
CHARS = ["a", "b", "Z", "9", "*", "-", "\"", "\u00e9", "\u65e5", "\U0001F642",
         "\u00a0", "\u3000", "\x00", "\r", "<", "&"]


def value(rng):
    n = rng.choice([1, 1, 2, 3, 5, 6, 6, 7, 9])
    return "".join(rng.choice(CHARS) for _ in range(n))


def member(rng):
    c = rng.choice(COMMANDS)
    if c.lower().startswith("p") or rng.random() < 0.03:
        return [c]
    return [c, value(rng)] if rng.random() > 0.03 else [c]


def line(rng):
    k = rng.random()
    if k < 0.05:
        return ""
    if k < 0.08:
        return rng.choice(SPACES)
    if k < 0.11:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
    words = member(rng) + member(rng)
    if rng.random() < 0.05:
        words.append(value(rng))
    text = rng.choice(["", "", " ", "\t"]) + rng.choice(SPACES).join(words)
    return text + rng.choice(["", "", " ", "\t"])


def make_input(rng):
    out = b""
    for _ in range(rng.randrange(1, 7)):
        ln = line(rng)
        if isinstance(ln, str):
            ln = ln.encode("utf-8")
        out += ln + rng.choice([b"\n", b"\n", b"\n", b"\r\n"])
    if rng.random() < 0.3:
        out = out.rstrip(b"\n")
    return out


def main():
    binary = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20260101)
    failures = 0
    for i in range(count):
        data = make_input(rng)
        narrow = rng.random() < 0.4
        trace = rng.random() < 0.33
        want = oracle.simulate(data, narrow, trace)
        got = subprocess.run([binary] + (["--narrow"] if narrow else []) +
                             (["--trace"] if trace else []),
                             input=data, capture_output=True)
        if (got.stdout, got.stderr, got.returncode) != want:
            failures += 1
            print("case %d differs (narrow=%s, trace=%s): input %r"
                  % (i, narrow, trace, data))
            print("  status %d, expected %d" % (got.returncode, want[2]))
            print("  stderr %r\n  expected %r" % (got.stderr, want[1]))
            if failures > 5:
                break
    print("%d of %d random inputs agree" % (count - failures, count))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
