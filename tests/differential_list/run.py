#!/usr/bin/python3
"""Compare libdeferred's DeferredList and gatherResults with Twisted's.

Generates random programs (fixed seed), runs them all through list_runner
(C) and twisted_list_runner.py (real Twisted) in one process each, and
compares the traces program by program. Prints the first differences with
their programs. Exit status: 0 same, 1 different, 2 set-up error.

    /usr/bin/python3 tests/differential_list/run.py \\
        --runner build/bin/list_runner --count 2000 --seed 1
"""
import argparse
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FLAGS = ["-", "c", "e", "x", "ce", "cx", "ex", "cex"]


def value(rng):
    return str(rng.randrange(100)) if rng.random() < 0.6 else \
        "'%s'" % rng.choice(["a", "b", "poem"])


def program(rng):
    """One random program; see README.md for the operations."""
    n = rng.randint(1, 5)
    lines, paused, n_lists = [], [0] * n, 0
    for k in range(n):
        kind = rng.random()
        if kind < 0.6:
            lines.append("new %d" % k)
        elif kind < 0.8:
            lines.append("new %d cancel:none" % k)
        else:
            lines.append("new %d cancel:cb:%s" % (k, value(rng)))
    for _ in range(rng.randint(2, 16)):
        k = rng.randrange(n)
        r = rng.random()
        if r < 0.18 and n_lists < 3:
            ms = [str(rng.randrange(n)) for _ in range(rng.randint(0, n + 1))]
            if rng.random() < 0.3:
                lines.append("gather %d %d %s" % (n_lists, rng.randrange(2),
                                                  " ".join(ms)))
            else:
                lines.append("list %d %s %s" % (n_lists, rng.choice(FLAGS),
                                                " ".join(ms)))
            n_lists += 1
        elif r < 0.3 and n_lists:
            lines.append("%s %d" % (rng.choice(["logl", "logl", "eatl"]),
                                    rng.randrange(n_lists)))
        elif r < 0.36 and n_lists:
            lines.append("cancell %d" % rng.randrange(n_lists))
        elif r < 0.52:
            lines.append("fire %d %s" % (k, value(rng)))
        elif r < 0.62:
            lines.append("fail %d %s" % (k, rng.choice(["boom", "bad", "x"])))
        elif r < 0.76:
            lines.append("%s %d" % (rng.choice(["log", "log", "eat"]), k))
        elif r < 0.82:
            lines.append("pause %d" % k)
            paused[k] += 1
        elif r < 0.9 and paused[k]:
            lines.append("unpause %d" % k)
            paused[k] -= 1
        else:
            lines.append("cancel %d" % k)
    return lines


def traces(cmd, programs):
    text = "".join("".join(l + "\n" for l in p) + "---\n" for p in programs)
    out = subprocess.run(cmd, input=text, capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        sys.stderr.write("%s failed (%d):\n%s" % (cmd[0], out.returncode,
                                                  out.stderr))
        sys.exit(2)
    return out.stdout.split("=== end\n")[:-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runner", required=True)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--print", action="store_true",
                    help="print the programs instead of running them")
    args = ap.parse_args()
    check = subprocess.run([args.python, "-c", "import twisted"],
                           capture_output=True, check=False)
    if check.returncode != 0:
        sys.stderr.write("run.py: %s cannot import Twisted; install "
                         "python3-twisted\n" % args.python)
        return 2
    programs = [program(random.Random("%d:%d" % (args.seed, i)))
                for i in range(args.count)]
    if args.print:
        for p in programs:
            print("\n".join(p) + "\n---")
        return 0
    if not os.access(args.runner, os.X_OK):
        sys.stderr.write("run.py: list_runner not found or not executable: "
                         "%r (give --runner)\n" % args.runner)
        return 2
    c = traces([args.runner], programs)
    tw = traces([args.python, os.path.join(HERE, "twisted_list_runner.py")],
                programs)
    if len(c) != len(programs) or len(tw) != len(programs):
        sys.stderr.write("run.py: expected %d traces, got %d (C) and %d "
                         "(Twisted)\n" % (len(programs), len(c), len(tw)))
        return 2
    diffs = [i for i in range(len(programs)) if c[i] != tw[i]]
    for i in diffs[:3]:
        print("--- program %d differs\nlibdeferred:\n%s\nTwisted:\n%s"
              % (i, c[i], tw[i]))
    lists = sum(1 for p in programs for l in p if l.split()[0] in
                ("list", "gather"))
    print("%d programs (%d lists): %d differ" % (len(programs), lists,
                                                 len(diffs)))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
