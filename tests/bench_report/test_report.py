"""bench/report.py on recorded outputs: the table, the targets and the
growth table it prints, and its errors.

fixture/ holds the four files of one full `bench/run.sh` run (C, Twisted,
Node, callgrind; the C file has three processes' outputs, as run.sh
writes it): the run docs/performance.md shows. Each check runs report.py as run.sh does and reads what it
prints; a variant changes one figure in a copy to see that the line
that depends on it changes with it.

Usage: test_report.py REPORT_PY (ctest: bench_report). Exit 0 if every
check passes; 1 with the failures listed otherwise.
"""
import os
import re
import subprocess
import sys
import tempfile

REPORT = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixture")
NAMES = ["c.txt", "twisted.txt", "node.txt", "callgrind.txt"]
failures = []


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
        ("(b) >= 200x faster than Twisted", "PASS"),
        ("(b) >= 10x faster than Node", "PASS"),
        ("(d) >= 10x faster than Node", "MISS"),
        ("(e) within 1.5x of the ideal gather", "MISS"),
        ("(b) within 3x of the direct-call limit", "MISS"),
        ("<= 96 bytes per unfired deferred", "MISS"),
        ("1,000,000 stages: works with the default stack", "PASS"),
        ("1,000,000-deferred chain: works with the default stack", "PASS"),
        ("no allocation on the firing path of (a)/(b)", "PASS"),
        ("(f2) 1,000,000-deferred chain: within 3x of the ideal chain", "MISS"),
    ])
    expect("callgrind per stage of case b printed",
           line_with(out, "callgrind, case b: 606 instructions per op") is not None)
    expect("growth table: three sizes",
           all(line_with(out, f"  {n:>11}  ") for n in
               ["10,000", "100,000", "1,000,000"]))
    expect("growth table: callgrind slopes",
           line_with(out, "f1 40 instructions per stage from 0 to 10,000, "
                          "40 from 10,000 to 100,000") is not None)
    expect("growth table: the C stack did not move",
           line_with(out, "f2: time per deferred") is not None and
           "the same C stack at every size" in line_with(out, "f2: time per deferred"))
    L = line_with(out, "<= 96 bytes per unfired deferred") or ""
    expect("bytes per deferred: the figure", L.endswith("296 B"), L)

    # The bytes per deferred, at and just over the target.
    for size, status in [(96, "PASS"), (97, "MISS")]:
        rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: t.replace(
            "R\tmem.deferred_bytes\t296", f"R\tmem.deferred_bytes\t{size}")}))
        expect_targets(f"{size} bytes per deferred", out,
                       [("<= 96 bytes per unfired deferred", status)])

    # A stack limit other than 8 MiB: the two stack targets miss.
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: t.replace(
        "stack_limit_kib\t8192", "stack_limit_kib\t-1")}))
    expect("unlimited stack: exit 0", rc == 0)
    got = target_line(out, "1,000,000 stages: works with the default stack")
    expect("unlimited stack: the stack target misses", got == "MISS", f"got {got}")

    # A deeper C stack at one size: the growth summary says so.
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: t.replace(
        "f2@100000.stack_bytes\t224", "f2@100000.stack_bytes\t50000")}))
    L = line_with(out, "f2: time per deferred") or ""
    expect("a stack that grew is reported", "C stack from 224 to 50000 B" in L, L)

    # The one-call-site reference has its own line, and the C/direct
    # ratio still divides by the ten-site limit (the best of the three
    # processes: 14.9921 ns; (b)'s best is 48.1 ns).
    L = line_with(out, "the same 10 from one call site in a loop") or ""
    expect("one call site: its line", "21.5" in L, L)
    L = line_with(out, "b create + 10 callbacks") or ""
    expect("C/direct: (b) over the ten-site limit", "3.2x" in L, L)
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: re.sub(
        r"R\tdirect\.ns\t[0-9.]+", "R\tdirect.ns\t16.5", t)}))
    expect_targets("direct-call limit of 16.5 ns", out,
                   [("(b) within 3x of the direct-call limit", "PASS")])

    # (e) and (f2) are judged against their ideal bounds (ideal.c). Each of
    # the fixture's three processes prints (e)'s bound: the report keeps
    # the best, as for the cases' times, so with bounds of 2,000, 1,800 and
    # 2,000 ns (e)'s 2,825.1 ns is 1.57x of it, a miss (1.41x of the last,
    # which would pass). (f2) is set against the bound of the process its
    # own figure comes from, the last: 327.2 ns.
    def with_e_ideals(values):
        def change(t):
            parts = t.split("R\te_ideal.ns\t")
            assert len(parts) == 4, "the fixture has three processes"
            return parts[0] + "".join(
                f"R\te_ideal.ns\t{v}" + part[part.index("\n"):]
                for v, part in zip(values, parts[1:]))
        return {"c.txt": change}
    rc, out, _ = run(fixture_paths(tmp, with_e_ideals([2000, 1800, 2000])))
    expect("ideal bounds: exit 0", rc == 0)
    expect_targets("(e) against the best bound", out,
                   [("(e) within 1.5x of the ideal gather", "MISS")])
    L = line_with(out, "(e) within 1.5x") or ""
    expect("(e): the figures", "2,825.1 ns, 1.57x of 1,800.0 ns" in L, L)
    L = line_with(out, "(e) ideal bound") or ""
    expect("(e)'s bound line, with the target in ns",
           "1,800.0" in L and "1,331.6" not in L and "2,700.0 ns" in L, L)
    rc, out, _ = run(fixture_paths(tmp, with_e_ideals([2000, 2000, 2000])))
    expect_targets("(e) within 1.5x of 2,000 ns", out,
                   [("(e) within 1.5x of the ideal gather", "PASS")])
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: t.replace(
        "R\tf2.ideal_ns_per_deferred\t51.", "R\tf2.ideal_ns_per_deferred\t120.")}))
    expect_targets("(f2) within 3x of 120 ns", out,
                   [("(f2) 1,000,000-deferred chain: within 3x", "PASS")])
    L = line_with(out, "f2's ideal bound: 120.") or ""
    expect("(f2)'s bound line", L != "", out[-2000:])

    # Without the bounds (runs from before ideal.c): both targets n/a.
    rc, out, _ = run(fixture_paths(tmp, {"c.txt": lambda t: "".join(
        L for L in t.splitlines(True) if "ideal" not in L)}))
    expect("no ideal bounds: exit 0", rc == 0)
    expect_targets("no ideal bounds", out, [
        ("(e) within 1.5x of the ideal gather", "n/a"),
        ("(f2) 1,000,000-deferred chain: within 3x", "n/a")])
    expect("no ideal bounds: no bound line", line_with(out, "ideal bound") is None)

    # No Twisted, no Node: their targets are n/a, the rest still prints.
    rc, out, _ = run(fixture_paths(tmp, {
        "twisted.txt": lambda t: "# Twisted: not installed, skipped\n",
        "node.txt": lambda t: "# Node: not on PATH, skipped\n"}))
    expect("no peers: exit 0", rc == 0)
    got = target_line(out, "(b) >= 200x faster than Twisted")
    expect("no Twisted: its target is n/a", got == "n/a", f"got {got}")
    got = target_line(out, "(b) >= 10x faster than Node")
    expect("no Node: its target is n/a", got == "n/a", f"got {got}")

    # No callgrind (quick mode): said, not a crash.
    rc, out, _ = run(fixture_paths(tmp, {"callgrind.txt": lambda t: ""}))
    expect("no callgrind: exit 0", rc == 0)
    expect("no callgrind: said so", line_with(out, "callgrind: skipped") is not None)

    # A quick run (the C output says `quick 1`): no timed target is judged,
    # each shows ---- with its figure; the counts are judged as ever.
    def quick(flag):
        return {"c.txt": lambda t: t.replace("R\tquick\t0", f"R\tquick\t{flag}")}
    rc, out, _ = run(fixture_paths(tmp, quick(1)))
    expect("quick run: exit 0", rc == 0)
    expect("quick run: says why", line_with(out, "quick mode: 2 short runs") is not None)
    expect_targets("quick run", out, [
        ("(b) >= 10x faster than Node", "----"),
        ("(e) within 1.5x of the ideal gather", "----"),
        ("(b) within 3x of the direct-call limit", "----"),
        ("(f2) 1,000,000-deferred chain: within 3x", "----"),
        ("no allocation on the firing path of (a)/(b)", "PASS"),
        ("<= 96 bytes per unfired deferred", "MISS"),
        ("1,000,000 stages: works with the default stack", "PASS"),
    ])
    L = line_with(out, "(e) within 1.5x of the ideal gather") or ""
    expect("quick run: the figure is still shown", "3.18x" in L, L)
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
