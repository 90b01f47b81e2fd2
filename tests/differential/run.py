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
2 on a usage or set-up error (Twisted missing, runner missing).
"""
import argparse
import difflib
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TWISTED_RUNNER = os.path.join(HERE, "twisted_runner.py")
END = "=== end"

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


# --- running ---------------------------------------------------------------

def split_traces(text):
    traces, cur = [], []
    for line in text.splitlines():
        if line == END:
            traces.append(cur)
            cur = []
        else:
            cur.append(line)
    return traces


def start(cmd, programs):
    """Start `cmd` on a batch of programs (stdin from a temporary file, so
    that neither side can block on a full pipe)."""
    f = tempfile.TemporaryFile(mode="w+")
    for p in programs:
        f.write("\n".join(p) + "\n---\n")
    f.flush()
    f.seek(0)
    proc = subprocess.Popen(cmd, stdin=f, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    f.close()
    return proc


def finish(proc):
    out, err = proc.communicate()
    return split_traces(out), proc.returncode, err


def run_batch(args, programs):
    """Run programs through both sides. Returns (c_traces, py_traces,
    c_error) where the trace lists may be shorter than `programs` if a side
    crashed; c_error describes a C crash."""
    jobs = max(1, args.jobs)
    chunks = [programs[i::jobs] for i in range(jobs)] if len(programs) > 50 \
        else [programs]
    c_proc = start([args.runner], programs)
    py_procs = [start([args.python, TWISTED_RUNNER], ch) for ch in chunks]
    c_traces, c_rc, c_err = finish(c_proc)
    py_parts = [finish(p) for p in py_procs]
    for traces, rc, err in py_parts:
        if rc != 0:
            sys.stderr.write("twisted_runner.py failed (exit %s):\n%s\n" % (rc, err))
            sys.exit(2)
    py_traces = [None] * len(programs)
    for ci, (traces, _, _) in enumerate(py_parts):
        for j, t in enumerate(traces):
            py_traces[ci + j * len(py_parts) if len(py_parts) > 1 else j] = t
    c_error = None
    if c_rc != 0 or len(c_traces) < len(programs):
        c_error = "difftest_runner exited with %s%s" % (
            c_rc, (": " + c_err.strip()[-2000:]) if c_err.strip() else "")
    return c_traces, py_traces, c_error


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


def count_features(trace, counts):
    for name, test in FEATURES:
        if any(test(l) for l in trace):
            counts[name] = counts.get(name, 0) + 1


def discarded(trace):
    return trace and trace[-1].startswith("DISCARD ")


def verdicts(args, programs):
    """For each program: 'same', 'discard:<reason>' or 'diff'."""
    c_traces, py_traces, c_error = run_batch(args, programs)
    result = []
    for i in range(len(programs)):
        py = py_traces[i]
        if py is None:
            result.append("diff")  # cannot happen unless Python died
        elif discarded(py):
            result.append("discard:" + py[-1][8:])
        elif i >= len(c_traces):
            result.append("diff")  # C crashed here (or before)
        elif c_traces[i] != py:
            result.append("diff")
        else:
            result.append("same")
    return result, c_traces, py_traces, c_error


# --- shrinking ---------------------------------------------------------------

def differs(args, candidates):
    """Index of the first candidate that still shows a difference, or None."""
    if not candidates:
        return None
    v, _, _, _ = verdicts(args, candidates)
    for i, x in enumerate(v):
        if x == "diff":
            return i
    return None


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


def shrink(args, program, log):
    prog = list(program)
    rounds = 0
    # 1. ddmin over lines: remove chunks, then finer, down to single lines.
    n = 2
    while len(prog) >= 2:
        size = max(1, len(prog) // n)
        chunks = [(i, min(len(prog), i + size)) for i in range(0, len(prog), size)]
        cands = [prog[:a] + prog[b:] for a, b in chunks]
        rounds += 1
        i = differs(args, cands)
        if i is not None:
            prog = cands[i]
            n = max(2, n - 1)
            continue
        if size == 1:
            break
        n = min(len(prog), n * 2)
    # 2. simplify lines, then try removing lines again, until nothing helps.
    changed = True
    while changed:
        changed = False
        cands = []
        for i, line in enumerate(prog):
            for s in simplifications(line):
                cands.append(prog[:i] + [s] + prog[i + 1:])
        for i in range(len(prog)):
            cands.append(prog[:i] + prog[i + 1:])
        rounds += 1
        i = differs(args, cands)
        if i is not None:
            prog = cands[i]
            changed = True
    log("shrunk from %d to %d operations in %d rounds" % (len(program), len(prog), rounds))
    return prog


def show(args, program, out):
    c_traces, py_traces, c_error = run_batch(args, [program])
    c = c_traces[0] if c_traces else ["<no output: crashed>"]
    py = py_traces[0] or ["<no output>"]
    out.write("--- program ---\n%s\n" % "\n".join(program))
    if c_error:
        out.write("--- C side: %s\n" % c_error)
    diff = list(difflib.unified_diff(c, py, "libdeferred", "twisted",
                                     lineterm="", n=1000))
    same = not diff
    if same:
        out.write("--- both traces (identical) ---\n")
        diff = c
    else:
        out.write("--- diff (libdeferred -> Twisted) ---\n")
    for line in diff:
        out.write(line + "\n")
    return same


def run_valgrind(args, programs):
    """Run matched programs under valgrind. Programs discarded because of a
    reference cycle through chain_deferred stages are not among them: those
    leak in libdeferred by design (reference counting)."""
    f = tempfile.TemporaryFile(mode="w+")
    for p in programs:
        f.write("\n".join(p) + "\n---\n")
    f.flush()
    f.seek(0)
    proc = subprocess.run(["valgrind", "-q", "--leak-check=full",
                           "--show-leak-kinds=definite,indirect",
                           "--errors-for-leak-kinds=definite,indirect",
                           "--error-exitcode=9", args.runner],
                          stdin=f, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, universal_newlines=True)
    if proc.returncode != 0 or proc.stderr.strip():
        print("valgrind: %d programs: FAILED (exit %d)\n%s"
              % (len(programs), proc.returncode, proc.stderr[-5000:]))
        return False
    print("valgrind: %d programs: clean" % len(programs))
    return True


# --- main ---------------------------------------------------------------------

def check_setup(args):
    if not args.runner or not os.access(args.runner, os.X_OK):
        sys.stderr.write("run.py: difftest_runner not found or not executable: %r "
                         "(give --runner)\n" % args.runner)
        sys.exit(2)
    probe = subprocess.run([args.python, "-c",
                            "import twisted, twisted.internet.defer as d; "
                            "print(twisted.__version__)"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
    if probe.returncode != 0:
        sys.stderr.write(
            "run.py: FAIL: Twisted is not importable by %s, so the differential "
            "test cannot run.\nInstall it (apt-get install -y python3-twisted) or "
            "point --python / -DDF_DIFF_PYTHON at a Python that has it.\n%s\n"
            % (args.python, probe.stderr.strip()))
        sys.exit(2)
    return probe.stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runner", help="path of difftest_runner")
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="Python with Twisted (default /usr/bin/python3)")
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--start", type=int, default=0, help="first program index")
    ap.add_argument("--batch", type=int, default=2500, help="programs per batch")
    ap.add_argument("--jobs", type=int, default=2, help="Twisted processes")
    ap.add_argument("--max-diffs", type=int, default=1,
                    help="stop after this many differing programs (each shrunk)")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--max-ops", type=int, default=28,
                    help="longest generated program (default 28)")
    ap.add_argument("--max-slots", type=int, default=5,
                    help="most slots a generated program uses (2..16, default 5)")
    ap.add_argument("--program", help="run one program file and show both traces")
    ap.add_argument("--print", action="store_true", help="print the programs only")
    ap.add_argument("--valgrind", type=int, default=0, metavar="N",
                    help="also run the first N matched programs through "
                    "difftest_runner under valgrind (memcheck, leaks included)")
    args = ap.parse_args()

    if args.print:
        for i in range(args.start, args.start + args.count):
            print("# program %s:%d\n%s\n---" % (args.seed, i, "\n".join(generate(args.seed, i, args.max_ops, args.max_slots))))
        return 0
    version = check_setup(args)
    if args.program:
        try:
            with open(args.program) as f:
                lines = [l.strip() for l in f
                         if l.strip() and not l.startswith("#")]
        except (OSError, UnicodeDecodeError) as e:
            sys.stderr.write("run.py: cannot read the program %s: %s\n"
                             % (args.program, e))
            return 2
        return 0 if show(args, lines, sys.stdout) else 1

    t0 = time.time()
    same = 0
    discards = {}
    features = {}
    valgrind_pool = []
    diffs = []
    index = args.start
    end = args.start + args.count
    while index < end and len(diffs) < args.max_diffs:
        n = min(args.batch, end - index)
        programs = [generate(args.seed, i, args.max_ops, args.max_slots)
                    for i in range(index, index + n)]
        v, c_traces, _, c_error = verdicts(args, programs)
        for i, x in enumerate(v):
            if x == "same":
                same += 1
                count_features(c_traces[i], features)
                if len(valgrind_pool) < args.valgrind:
                    valgrind_pool.append(programs[i])
            elif x.startswith("discard:"):
                discards[x[8:]] = discards.get(x[8:], 0) + 1
            else:
                diffs.append((index + i, programs[i]))
                if c_error and i >= 0:
                    break
        index += n
    elapsed = time.time() - t0
    ndisc = sum(discards.values())
    print("differential: Twisted %s, seed %s, programs %d..%d: %d matched, "
          "%d discarded, %d differed (%.1f s)"
          % (version, args.seed, args.start, index - 1, same, ndisc, len(diffs), elapsed))
    for reason, count in sorted(discards.items(), key=lambda kv: -kv[1]):
        print("  discarded %5d: %s" % (count, reason))
    print("  matched programs with: " + ", ".join(
        "%s %d" % (name, features.get(name, 0)) for name, _ in FEATURES))
    if args.valgrind and not diffs:
        ok = run_valgrind(args, valgrind_pool[:args.valgrind])
        if not ok:
            return 1
    for idx, prog in diffs[:args.max_diffs]:
        print("\nDIFFERENCE in program %s:%d (regenerate: run.py --print --seed %s "
              "--start %d --count 1)" % (args.seed, idx, args.seed, idx))
        if not args.no_shrink:
            prog = shrink(args, prog, lambda m: print("  " + m))
        show(args, prog, sys.stdout)
    sys.stdout.flush()
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
