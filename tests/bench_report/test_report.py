"""bench/report.py on recorded outputs: the table, the targets and the
growth table it prints, and its errors.

fixture/ holds the four files of one full `bench/run.sh` run (C, Twisted,
Node, callgrind; the C file has three processes' outputs, as run.sh
writes it). Each check runs report.py as run.sh does and reads what it
prints; a variant changes one figure in a copy to see that the line
that depends on it changes with it.

Usage: test_report.py REPORT_PY (ctest: bench_report). Exit 0 if every
check passes; 1 with the failures listed otherwise.
"""
import os
import subprocess
import sys
import tempfile

REPORT = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixture")
NAMES = ["c.txt", "twisted.txt", "node.txt", "callgrind.txt"]
failures = []
NODE_E = 11026.1  # the fixture's best Node (e), in ns


def run(paths):
    p = subprocess.run([sys.executable, REPORT, *paths], capture_output=True,
                       text=True)
    return p.returncode, p.stdout, p.stderr


def fixture_paths(tmp, change=None):
    """The fixture's four paths; with `change` (name -> function of the
    text), a copy of the changed files in `tmp`."""
    paths = []
    for name in NAMES:
        path = os.path.join(FIXTURE, name)
        if change and name in change:
            with open(path) as f:
                text = change[name](f.read())
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
        paths.append(path)
    return paths


def expect(what, ok, detail=""):
    if not ok:
        failures.append(f"{what}{': ' + detail if detail else ''}")


def line_with(out, text):
    return next((L for L in out.splitlines() if text in L), None)


def target_line(out, text):
    L = line_with(out, text)
    return L.split()[0] if L else None


def expect_targets(label, out, statuses):
    """Each (text, status) of `statuses`: the target line is marked so."""
    for text, status in statuses:
        got = target_line(out, text)
        expect(f"{label}: {text!r} is {status}", got == status, f"got {got}")


with tempfile.TemporaryDirectory() as tmp:
    # The recorded run, as recorded.
    rc, out, err = run(fixture_paths(tmp))
    expect("recorded run: exit 0", rc == 0, f"rc {rc}, stderr {err!r}")
    expect_targets("recorded run", out, [
        ("(b) >= 8x faster than Node", "PASS"),
        ("(e) >= 8x faster than Promise.all", "MISS"),
        ("1,000,000 stages: works with the default stack", "PASS"),
        ("1,000,000-deferred chain: works with the default stack", "PASS"),
        ("no allocation on the firing path of (a)/(b)", "PASS"),
        ("1,000,000-deferred chain: warm time per stage", "MISS"),
    ])
    expect("callgrind per stage of case b printed",
           line_with(out, "callgrind, case b: 603 instructions per op") is not None)
    expect("growth table: three sizes",
           all(line_with(out, f"  {n:>11}  ") for n in
               ["10,000", "100,000", "1,000,000"]))
    expect("growth table: callgrind slopes",
           line_with(out, "f1 39 instructions per stage from 0 to 10,000, "
                          "39 from 10,000 to 100,000") is not None)
    expect("growth table: the C stack did not move",
           line_with(out, "f2: time per deferred") is not None and
           "the same C stack at every size" in line_with(out, "f2: time per deferred"))
    expect("f2's memory floor beside its target",
           "memory floor 43.6 ns" in (line_with(out, "1,000,000-deferred chain: warm") or ""))

    # A stack limit other than 8 MiB: the two stack targets miss.
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: t.replace(
        "stack_limit_kib\t8192", "stack_limit_kib\t-1")}))
    expect("unlimited stack: exit 0", rc == 0)
    got = target_line(out, "1,000,000 stages: works with the default stack")
    expect("unlimited stack: the stack target misses", got == "MISS", f"got {got}")

    # A deeper C stack at one size: the growth summary says so.
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: t.replace(
        "f2@100000.stack_bytes\t208", "f2@100000.stack_bytes\t50000")}))
    L = line_with(out, "f2: time per deferred") or ""
    expect("a stack that grew is reported", "C stack from 208 to 50000 B" in L, L)

    # The one-call-site reference (benchmarks since it was added): its own
    # line; the ratio still divides by the direct-call limit.
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: t.replace(
        "R\tdirect.ns\t", "R\tdirect_one_site.ns\t31.5\nR\tdirect.ns\t", 1)}))
    L = line_with(out, "the same 10 from one call site in a loop") or ""
    expect("one call site: its line", "31.5" in L, L)
    L = line_with(out, "b create + 10 callbacks") or ""
    expect("one call site: C/direct unchanged", "2.3x" in L, L)
    expect("recorded run: no one-call-site line",
           line_with(run(fixture_paths(tmp))[1], "one call site in a loop") is None)

    # The ideal bounds (ideal.c; runs since they were added): each printed,
    # beside f2's target too, and a target asking for less time than its
    # case's bound is listed as unreachable. The fixture's (b) stage is 5.7
    # ns, so f2's target is 11.4 ns; its Node (e) is NODE_E ns, so (e)'s
    # target is NODE_E / 8. Each of the fixture's three processes gets
    # (e)'s bound, the second the lowest: the report keeps the best, as
    # for the cases' times.
    def with_ideals(e_ideal, f2_ideal):
        def change(t):
            parts = t.split("R\ta.ns\t")
            assert len(parts) == 4, "the fixture has three processes"
            return "".join(
                part + (f"R\te_ideal.ns\t{e_ideal + extra}\n"
                        f"R\tf2.ideal_ns_per_deferred\t{f2_ideal}\nR\ta.ns\t"
                        if i < 3 else "")
                for i, (part, extra) in enumerate(zip(parts, [300, 0, 100, 0])))
        return {"c.txt": change}
    rc, out, _ = run(fixture_paths(tmp, with_ideals(1000, 25.5)))
    expect("ideal bounds: exit 0", rc == 0)
    L = line_with(out, "(e) ideal bound") or ""
    expect("ideal bounds: (e)'s line", "1,000.0" in L, L)
    expect("ideal bounds: how close to it (e)'s target is",
           f"needs C <= {NODE_E / 8:,.1f} ns, {NODE_E / 8 / 1000:.2f}x of it" in L, L)
    L = line_with(out, "1,000,000-deferred chain: warm") or ""
    expect("ideal bounds: f2's beside its target", "ideal 25.5 ns" in L, L)
    expect("ideal bounds: f2's line",
           line_with(out, "f2's ideal bound: 25.5 ns/deferred") is not None)
    L = line_with(out, "needs <= 11.4 ns, ideal 25.5 ns") or ""
    expect("ideal bounds: f2's target unreachable",
           "1,000,000-deferred chain" in L, L)
    expect("ideal bounds: (e)'s target reachable (its bound is lower)",
           not any("Promise.all" in L and "needs <=" in L
                   for L in out.splitlines()))
    rc, out, _ = run(fixture_paths(tmp, with_ideals(NODE_E, 5.0)))
    L = line_with(out, f"needs <= {NODE_E / 8:,.1f} ns") or ""
    expect("ideal bounds: (e) above its target is unreachable",
           "(e) >= 8x faster than Promise.all" in L, L)
    expect("ideal bounds: f2 below its target is not listed",
           line_with(out, "needs <= 11.4 ns") is None)
    expect("recorded run: no unreachable list",
           line_with(run(fixture_paths(tmp))[1], "unreachable here") is None)

    # No Twisted, no Node: their targets are n/a, the rest still prints.
    rc, out, _ = run(fixture_paths(tmp, {
        "twisted.txt": lambda t: "# Twisted: not installed, skipped\n",
        "node.txt": lambda t: "# Node: not on PATH, skipped\n"}))
    expect("no peers: exit 0", rc == 0)
    got = target_line(out, "(b) >= 200x faster than Twisted")
    expect("no Twisted: its target is n/a", got == "n/a", f"got {got}")

    # No callgrind (quick mode): said, not a crash.
    rc, out, _ = run(fixture_paths(tmp, {"callgrind.txt": lambda t: ""}))
    expect("no callgrind: exit 0", rc == 0)
    expect("no callgrind: said so", line_with(out, "callgrind: skipped") is not None)

    # A quick run (the C output says `quick 1`): no timed target is judged,
    # each shows ---- with its figure; the counts are judged as ever.
    # The fixture, a full run from before the key existed, is judged whole.
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: t.replace(
        "R\ta.ns\t", "R\tquick\t1\nR\ta.ns\t", 1)}))
    expect("quick run: exit 0", rc == 0)
    expect("quick run: says why", line_with(out, "quick mode: 2 short runs") is not None)
    expect_targets("quick run", out, [
        ("(b) >= 8x faster than Node", "----"),
        ("(e) >= 8x faster than Promise.all", "----"),
        ("(b) within 3.5x of the direct-call limit", "----"),
        ("1,000,000-deferred chain: warm time per stage", "----"),
        ("no allocation on the firing path of (a)/(b)", "PASS"),
        ("1,000,000 stages: works with the default stack", "PASS"),
    ])
    L = line_with(out, "(e) >= 8x faster than Promise.all") or ""
    expect("quick run: the figure is still shown", L.endswith("x"), L)
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: t.replace(
        "R\ta.ns\t", "R\tquick\t0\nR\ta.ns\t", 1)}))
    got = target_line(out, "(e) >= 8x faster than Promise.all")
    expect("full run (quick 0): judged", got == "MISS", f"got {got}")
    expect("recorded run: no quick-mode line",
           line_with(run(fixture_paths(tmp))[1], "quick mode:") is None)

    # Errors: exit 2 and a message, never a traceback.
    for what, paths in [
        ("a C output cut short", fixture_paths(tmp, {
            "c.txt": lambda t: t[:t.index("R\tmem.")]})),
        ("a file that does not exist",
         [os.path.join(tmp, "missing.txt")] + fixture_paths(tmp)[1:]),
        ("a wrong argument count", fixture_paths(tmp)[:2]),
    ]:
        rc, out, err = run(paths)
        expect(f"{what}: exit 2", rc == 2, f"rc {rc}")
        expect(f"{what}: a message, no traceback",
               err.startswith(("report.py:", "usage:")) and "Traceback" not in err,
               repr(err[:200]))

if failures:
    print("FAIL:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("ok: bench/report.py on the recorded run and its variants")
