#!/usr/bin/python3
"""Differential test: libdeferred against real Twisted.

Generates random programs (README.md describes the format), runs them all
through difftest_runner (libdeferred) and twisted_runner.py (Twisted 22.4)
in batches, and compares the traces line for line. On a difference it
shrinks the program by delta debugging (drop operations, then simplify
actions, values and cancellers, as long as the difference remains) and
prints the smallest program found with both traces.

    run.py --runner build/bin/difftest_runner --count 5000 --seed 20240601
    run.py --runner ... --count 100000 --seed 7 --jobs 2
    run.py --runner ... --program prog.txt       # one program, both traces
    run.py --seed 7 --count 3 --print            # just print programs

Exit status: 0 if every compared program matched, 1 on a difference,
2 on a usage or set-up error (Twisted missing, runner missing). The
batching, comparing, shrinking and the modes are harness.py's, shared with
tests/differential_compose/.
"""
import os
import random
import sys

import harness

HERE = os.path.dirname(os.path.abspath(__file__))

# --- the generator ---------------------------------------------------------

WORDS = ["a", "b", "xy", "foo"]
MESSAGES = ["e1", "e2", "e3", "boom"]


def gen_value(rng):
    r = rng.random()
    if r < 0.6:
        return str(rng.randrange(0, 100))
    if r < 0.9:
        return "'%s'" % rng.choice(WORDS)
    return "None"


def gen_wait_slot(rng, nslots, own):
    """Mostly not the slot the stage is added to: waiting on one's own
    deferred is a documented difference (ChainCycleError), discarded."""
    k = rng.randrange(nslots)
    if k == own and rng.random() < 0.9:
        k = (k + 1 + rng.randrange(nslots - 1)) % nslots
    return k


def gen_simple_action(rng, nslots, own):
    r = rng.random()
    if r < 0.35:
        return "ret:" + gen_value(rng)
    if r < 0.6:
        return "fail:" + rng.choice(MESSAGES)
    if r < 0.8:
        return "pass"
    return "wait:%d" % gen_wait_slot(rng, nslots, own)


def gen_action(rng, nslots, own):
    r = rng.random()
    if r < 0.62:
        return gen_simple_action(rng, nslots, own)
    k = rng.randrange(nslots)
    r = rng.random()
    if r < 0.25:
        return "fire:%d:%s" % (k, gen_value(rng))
    if r < 0.4:
        return "err:%d:%s" % (k, rng.choice(MESSAGES))
    if r < 0.55:
        return "cancel:%d" % k
    if r < 0.7:
        return "pause:%d" % k
    if r < 0.82:
        return "unpause:%d" % k
    return "add:%d:%s" % (k, gen_simple_action(rng, nslots, k))


def generate(seed, index, max_ops=28, max_slots=5):
    """Program `index` of run `seed`: each program has its own generator,
    so any one can be regenerated from (seed, index)."""
    rng = random.Random("%s:%d" % (seed, index))
    nslots = rng.randint(2, max(2, max_slots))
    length = rng.randint(3, max(3, max_ops))
    live = set()
    ops = []

    def pick_live():
        return rng.choice(sorted(live)) if live and rng.random() < 0.95 \
            else rng.randrange(nslots)

    for _ in range(length):
        empty = [k for k in range(nslots) if k not in live]
        if empty and (not live or rng.random() < 0.25):
            k = rng.choice(empty)
            r = rng.random()
            if r < 0.6:
                ops.append("new %d" % k)
            elif r < 0.72:
                ops.append("new %d cancel:none" % k)
            elif r < 0.86:
                ops.append("new %d cancel:cb:%s" % (k, gen_value(rng)))
            else:
                ops.append("new %d cancel:eb:%s" % (k, rng.choice(MESSAGES)))
            live.add(k)
            continue
        k = pick_live()
        r = rng.random()
        if r < 0.22:
            cb = gen_action(rng, nslots, k) if rng.random() < 0.8 else "-"
            eb = gen_action(rng, nslots, k) if rng.random() < 0.7 else "-"
            ops.append("add %d %s %s" % (k, cb, eb))
        elif r < 0.34:
            ops.append("both %d %s" % (k, gen_action(rng, nslots, k)))
        elif r < 0.50:
            ops.append("callback %d %s" % (k, gen_value(rng)))
        elif r < 0.58:
            ops.append("errback %d %s" % (k, rng.choice(MESSAGES)))
        elif r < 0.66:
            ops.append("pause %d" % k)
        elif r < 0.74:
            ops.append("unpause %d" % k)
        elif r < 0.81:
            ops.append("cancel %d" % k)
        elif r < 0.90:
            j = rng.randrange(nslots)
            if j != k:
                ops.append("chain %d %d" % (k, j))
        else:
            ops.append("release %d" % k)
            live.discard(k)
    return ops


# --- shrinking: simpler variants of one line ----------------------------------

def simplifications(line):
    """Simpler variants of one program line, simplest first."""
    tok = line.split()
    out = []

    def simple_actions(a):
        res = []
        if a != "-":
            res.append("-")
        if a not in ("-", "pass"):
            res.append("pass")
        if a.startswith("add:"):
            k, _, sub = a[4:].partition(":")
            res.append("add:%s:pass" % k)
            res.append(sub)
        if a.startswith(("fire:", "err:")):
            res.append(a.split(":")[0] + ":" + a.split(":")[1] + ":0"
                       if a.startswith("fire:") else
                       "fire:" + a.split(":")[1] + ":0")
        if a.startswith("ret:") and a != "ret:0":
            res.append("ret:0")
        return res

    if tok[0] == "new" and len(tok) == 3:
        out.append("new " + tok[1])
        if tok[2] != "cancel:none":
            out.append("new %s cancel:none" % tok[1])
    elif tok[0] == "add":
        for a in simple_actions(tok[2]):
            out.append("add %s %s %s" % (tok[1], a, tok[3]))
        for a in simple_actions(tok[3]):
            out.append("add %s %s %s" % (tok[1], tok[2], a))
    elif tok[0] == "both":
        out.append("add %s %s -" % (tok[1], tok[2]))
        out.append("add %s - %s" % (tok[1], tok[2]))
        for a in simple_actions(tok[2]):
            if a != "-":
                out.append("both %s %s" % (tok[1], a))
    elif tok[0] == "callback" and tok[2] != "0":
        out.append("callback %s 0" % tok[1])
    elif tok[0] == "errback":
        out.append("callback %s 0" % tok[1])
    return [o for o in out if o != line]


# What the matched programs exercised: (name, test on one trace line).
FEATURES = [
    ("callbacks run", lambda l: l.startswith("call ") and " cb " in l),
    ("errbacks run", lambda l: l.startswith("call ") and " eb " in l),
    ("unhandled reports", lambda l: l.startswith("unhandled ")),
    ("AlreadyCalled", lambda l: "AlreadyCalled" in l),
    ("CancelledError", lambda l: "CancelledError" in l),
    ("cancellers run", lambda l: l.startswith("  canceller ")),
    ("unpause refused (EINVAL)", lambda l: l.endswith("= EINVAL")),
    ("nested add", lambda l: l.startswith("  add ")),
    ("nested fire", lambda l: l.startswith(("  callback ", "  errback "))),
    ("left waiting", lambda l: "result=wait " in l),
    ("left paused", lambda l: l.startswith("state ") and "paused=0" not in l),
]


class CoreSuite(harness.Suite):
    name = "differential"
    runner_name = "difftest_runner"
    twisted_runner = os.path.join(HERE, "twisted_runner.py")
    default_count = 5000
    features = FEATURES

    def add_arguments(self, ap):
        ap.add_argument("--max-ops", type=int, default=28,
                        help="longest generated program (default 28)")
        ap.add_argument("--max-slots", type=int, default=5,
                        help="most slots a generated program uses (2..16, default 5)")

    def generate(self, seed, index, args):
        return generate(seed, index, args.max_ops, args.max_slots)

    def simplifications(self, line):
        return simplifications(line)


if __name__ == "__main__":
    sys.exit(harness.main(CoreSuite(), __doc__.split("\n\n")[0]))
