"""The machinery of the differential tests against Twisted, shared by
tests/differential/run.py (the core deferred) and
tests/differential_compose/run.py (the composition layer).

A suite says what its programs are: how to generate program `index` of a
seed, how to simplify one of its lines, which features of a matched trace
to count, and which runners to start. This module does the rest, the same
way for every suite:

  - batching: thousands of programs per process, the C runner on the whole
    batch and the Twisted runner on `--jobs` interleaved parts of it in
    parallel, each reading its programs from a temporary file (so that no
    side can block on a full pipe);
  - comparing: a program matches when both traces are identical line for
    line; a Twisted trace ending with "DISCARD <reason>" is not compared,
    and the discards are counted by reason and printed;
  - shrinking: delta debugging over lines (ddmin), then the suite's
    simplifications of single lines and single-line removals, until
    nothing keeps the difference;
  - the modes: N programs from any seed, --print, --program FILE (exit 1
    on a difference), --valgrind N.

Exit status of main(): 0 if every compared program matched, 1 on a
difference (or a valgrind error), 2 on a usage or set-up error (Twisted
missing, runner missing).
"""
import argparse
import difflib
import os
import subprocess
import sys
import tempfile
import time

END = "=== end"


class Suite:
    """What one differential test is; subclasses fill these in.

    name            the summary's first word ("differential")
    runner_name     what the C runner is called, for messages
    twisted_runner  path of the Twisted side's script
    default_count   programs run when --count is not given
    features        [(name, test on one trace line)]: what the matched
                    programs exercised, counted in the summary
    """
    name = "differential"
    runner_name = "runner"
    twisted_runner = None
    default_count = 5000
    features = []

    def add_arguments(self, ap):
        """Options of the suite's own (e.g. program length)."""

    def generate(self, seed, index, args):
        """Program `index` of run `seed`, a list of lines. Each program
        has its own generator, so any one can be regenerated from (seed,
        index)."""
        raise NotImplementedError

    def simplifications(self, line):
        """Simpler variants of one program line, simplest first."""
        return []


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


def program_file(programs):
    """A temporary file holding `programs`, separated by "---", rewound."""
    f = tempfile.TemporaryFile(mode="w+")
    for p in programs:
        f.write("\n".join(p) + "\n---\n")
    f.flush()
    f.seek(0)
    return f


def start(cmd, programs):
    """Start `cmd` on a batch of programs (stdin from a temporary file, so
    that neither side can block on a full pipe)."""
    f = program_file(programs)
    proc = subprocess.Popen(cmd, stdin=f, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    f.close()
    return proc


def finish(proc, procs, timeout):
    """Wait for `proc`, for at most `timeout` seconds: a program that
    never ends must fail the run, not hang it (every process of the batch,
    `procs`, is then stopped by its pid)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
            p.communicate()
        sys.stderr.write("run.py: a batch of programs ran for more than %d s "
                         "(a program that never ends?); print the batch with "
                         "--print to find it\n" % timeout)
        sys.exit(2)
    return split_traces(out), proc.returncode, err


def run_batch(suite, args, programs):
    """Run programs through both sides. Returns (c_traces, py_traces,
    c_error) where the trace lists may be shorter than `programs` if a side
    crashed; c_error describes a C crash."""
    jobs = max(1, args.jobs)
    chunks = [programs[i::jobs] for i in range(jobs)] if len(programs) > 50 \
        else [programs]
    c_proc = start([args.runner], programs)
    py_procs = [start([args.python, suite.twisted_runner], ch) for ch in chunks]
    procs = [c_proc] + py_procs
    c_traces, c_rc, c_err = finish(c_proc, procs, args.timeout)
    py_parts = [finish(p, procs, args.timeout) for p in py_procs]
    for traces, rc, err in py_parts:
        if rc != 0:
            sys.stderr.write("%s failed (exit %s):\n%s\n"
                             % (os.path.basename(suite.twisted_runner), rc, err))
            sys.exit(2)
    py_traces = [None] * len(programs)
    for ci, (traces, _, _) in enumerate(py_parts):
        for j, t in enumerate(traces):
            py_traces[ci + j * len(py_parts) if len(py_parts) > 1 else j] = t
    c_error = None
    if c_rc != 0 or len(c_traces) < len(programs):
        c_error = "%s exited with %s%s" % (
            suite.runner_name, c_rc,
            (": " + c_err.strip()[-2000:]) if c_err.strip() else "")
    return c_traces, py_traces, c_error


def count_features(suite, trace, counts):
    for name, test in suite.features:
        if any(test(l) for l in trace):
            counts[name] = counts.get(name, 0) + 1


def discarded(trace):
    return trace and trace[-1].startswith("DISCARD ")


def verdicts(suite, args, programs):
    """For each program: 'same', 'discard:<reason>' or 'diff'."""
    c_traces, py_traces, c_error = run_batch(suite, args, programs)
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

def differs(suite, args, candidates):
    """Index of the first candidate that still shows a difference, or None."""
    if not candidates:
        return None
    v, _, _, _ = verdicts(suite, args, candidates)
    for i, x in enumerate(v):
        if x == "diff":
            return i
    return None


def shrink(suite, args, program, log):
    prog = list(program)
    rounds = 0
    # 1. ddmin over lines: remove chunks, then finer, down to single lines.
    n = 2
    while len(prog) >= 2:
        size = max(1, len(prog) // n)
        chunks = [(i, min(len(prog), i + size)) for i in range(0, len(prog), size)]
        cands = [prog[:a] + prog[b:] for a, b in chunks]
        rounds += 1
        i = differs(suite, args, cands)
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
            for s in suite.simplifications(line):
                if s != line:
                    cands.append(prog[:i] + [s] + prog[i + 1:])
        for i in range(len(prog)):
            cands.append(prog[:i] + prog[i + 1:])
        rounds += 1
        i = differs(suite, args, cands)
        if i is not None:
            prog = cands[i]
            changed = True
    log("shrunk from %d to %d operations in %d rounds" % (len(program), len(prog), rounds))
    return prog


def show(suite, args, program, out):
    c_traces, py_traces, c_error = run_batch(suite, args, [program])
    c = c_traces[0] if c_traces else ["<no output: crashed>"]
    py = py_traces[0] or ["<no output>"]
    out.write("--- program ---\n%s\n" % "\n".join(program))
    if c_error:
        out.write("--- C side: %s\n" % c_error)
    if discarded(py):
        # not a difference: a documented one the Twisted side recognised
        out.write("--- not compared: %s\n--- libdeferred's trace ---\n%s\n"
                  % (py[-1], "\n".join(c)))
        return True
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


def run_valgrind(suite, args, programs):
    """Run matched programs under valgrind (memcheck, definite and indirect
    leaks are errors). Discarded programs are not among them: some of
    those leak in libdeferred by design (reference counting)."""
    f = program_file(programs)
    proc = subprocess.run(["valgrind", "-q", "--leak-check=full",
                           "--show-leak-kinds=definite,indirect",
                           "--errors-for-leak-kinds=definite,indirect",
                           "--error-exitcode=9", args.runner],
                          stdin=f, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, universal_newlines=True)
    f.close()
    if proc.returncode != 0 or proc.stderr.strip():
        print("valgrind: %d programs: FAILED (exit %d)\n%s"
              % (len(programs), proc.returncode, proc.stderr[-5000:]))
        return False
    print("valgrind: %d programs: clean" % len(programs))
    return True


def run_sanitized(suite, args, programs, traces):
    """Run matched programs through a build of the C runner with
    AddressSanitizer and UBSan (--sanitized): it must exit 0 with nothing
    on stderr (no error, no leak: LeakSanitizer reports at exit), and print
    the same traces as the plain build."""
    env = dict(os.environ,
               ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    f = program_file(programs)
    proc = subprocess.run([args.sanitized], stdin=f, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          env=env)
    f.close()
    got = split_traces(proc.stdout)
    if proc.returncode != 0 or proc.stderr.strip() or got != traces:
        differ = next((i for i, (a, b) in enumerate(zip(got, traces)) if a != b),
                      min(len(got), len(traces)))
        print("sanitized runner: %d programs: FAILED (exit %d; first trace "
              "that differs: %d of %d)\n%s" % (
                  len(programs), proc.returncode, differ, len(got),
                  proc.stderr[-5000:]))
        return False
    print("sanitized runner: %d programs: clean, same traces" % len(programs))
    return True


# --- main ---------------------------------------------------------------------

def check_setup(suite, args):
    if not args.runner or not os.access(args.runner, os.X_OK):
        sys.stderr.write("run.py: %s not found or not executable: %r "
                         "(give --runner)\n" % (suite.runner_name, args.runner))
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


def read_program(path):
    """The operation lines of a program file (comments and blank lines
    left out), or exit 2 with the reason."""
    try:
        with open(path) as f:
            return [l.strip() for l in f if l.strip() and not l.startswith("#")]
    except (OSError, UnicodeDecodeError) as e:
        sys.stderr.write("run.py: cannot read the program %s: %s\n" % (path, e))
        sys.exit(2)


def parse_args(suite, description, argv=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--runner", help="path of %s" % suite.runner_name)
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="Python with Twisted (default /usr/bin/python3)")
    ap.add_argument("--count", type=int, default=suite.default_count)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--start", type=int, default=0, help="first program index")
    ap.add_argument("--batch", type=int, default=2500, help="programs per batch")
    ap.add_argument("--jobs", type=int, default=2, help="Twisted processes")
    ap.add_argument("--max-diffs", type=int, default=1,
                    help="stop after this many differing programs (each shrunk)")
    ap.add_argument("--no-shrink", action="store_true")
    ap.add_argument("--timeout", type=int, default=1200, metavar="S",
                    help="longest a batch may run, each side (default 1200 s)")
    suite.add_arguments(ap)
    ap.add_argument("--program", help="run one program file and show both traces")
    ap.add_argument("--print", action="store_true", help="print the programs only")
    ap.add_argument("--valgrind", type=int, default=0, metavar="N",
                    help="also run the first N matched programs through "
                    "the C runner under valgrind (memcheck, leaks included)")
    ap.add_argument("--sanitized", metavar="RUNNER",
                    help="also run matched programs through RUNNER, the C "
                    "runner built with -DDF_SANITIZE=ON: no error, no leak, "
                    "the same traces")
    ap.add_argument("--sanitized-count", type=int, default=5000, metavar="N",
                    help="how many matched programs --sanitized runs "
                    "(default 5000)")
    return ap.parse_args(argv)


def main(suite, description, argv=None):
    args = parse_args(suite, description, argv)
    if args.print:
        for i in range(args.start, args.start + args.count):
            print("# program %s:%d\n%s\n---" % (
                args.seed, i, "\n".join(suite.generate(args.seed, i, args))))
        return 0
    version = check_setup(suite, args)
    if args.program:
        lines = read_program(args.program)
        return 0 if show(suite, args, lines, sys.stdout) else 1

    t0 = time.time()
    same = 0
    discards = {}
    features = {}
    valgrind_pool = []
    sanitized_pool = []
    diffs = []
    index = args.start
    end = args.start + args.count
    while index < end and len(diffs) < args.max_diffs:
        n = min(args.batch, end - index)
        programs = [suite.generate(args.seed, i, args)
                    for i in range(index, index + n)]
        v, c_traces, _, c_error = verdicts(suite, args, programs)
        for i, x in enumerate(v):
            if x == "same":
                same += 1
                count_features(suite, c_traces[i], features)
                if len(valgrind_pool) < args.valgrind:
                    valgrind_pool.append(programs[i])
                if args.sanitized and len(sanitized_pool) < args.sanitized_count:
                    sanitized_pool.append((programs[i], c_traces[i]))
            elif x.startswith("discard:"):
                discards[x[8:]] = discards.get(x[8:], 0) + 1
            else:
                diffs.append((index + i, programs[i]))
                if c_error:
                    break
        index += n
    elapsed = time.time() - t0
    ndisc = sum(discards.values())
    print("%s: Twisted %s, seed %s, programs %d..%d: %d matched, "
          "%d discarded, %d differed (%.1f s)"
          % (suite.name, version, args.seed, args.start, index - 1, same, ndisc,
             len(diffs), elapsed))
    for reason, count in sorted(discards.items(), key=lambda kv: -kv[1]):
        print("  discarded %5d: %s" % (count, reason))
    print("  matched programs with: " + ", ".join(
        "%s %d" % (name, features.get(name, 0)) for name, _ in suite.features))
    if args.valgrind and not diffs:
        if not run_valgrind(suite, args, valgrind_pool[:args.valgrind]):
            return 1
    if args.sanitized and not diffs:
        if not run_sanitized(suite, args, [p for p, _ in sanitized_pool],
                             [t for _, t in sanitized_pool]):
            return 1
    for idx, prog in diffs[:args.max_diffs]:
        print("\nDIFFERENCE in program %s:%d (regenerate: run.py --print --seed %s "
              "--start %d --count 1)" % (args.seed, idx, args.seed, idx))
        if not args.no_shrink:
            prog = shrink(suite, args, prog, lambda m: print("  " + m))
        show(suite, args, prog, sys.stdout)
    sys.stdout.flush()
    return 1 if diffs else 0
