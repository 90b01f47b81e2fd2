"""Merge the outputs of the C benchmark (bench/*.c), peer_twisted.py and
peer_node.mjs into one table, with the targets marked PASS or MISS (a
timed target on a quick run: ----, with its figure; see `quick` below).

Usage: report.py C.txt TWISTED.txt NODE.txt CALLGRIND.txt (bench/run.sh).
Never fails on a missed target: the exit status is 0, or 2 with a message
if the C output lacks a figure the table needs (the C benchmark did not
run to its end).
"""
import sys


processes = {}  # path -> how many times its runtime ran (run.sh: 1 or 3)


def read(path):
    values, notes = {}, []
    processes[path] = 0
    try:
        f = open(path)
    except OSError as e:
        print(f"report.py: cannot read {path}: {e.strerror}", file=sys.stderr)
        sys.exit(2)
    with f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("R\t"):
                _, key, value = line.split("\t")
                # run.sh may run a runtime more than once: keep each
                # case's best time, and the last of anything else.
                if key == "a.ns":
                    processes[path] += 1
                if key.endswith(".ns") and key in values:
                    values[key] = min(values[key], float(value))
                else:
                    values[key] = float(value)
            elif line.startswith("#"):
                note = line[1:].strip()
                if note not in notes:
                    notes.append(note)
    return values, notes


if len(sys.argv) != 5:
    print("usage: report.py C.txt TWISTED.txt NODE.txt CALLGRIND.txt",
          file=sys.stderr)
    sys.exit(2)
c, c_notes = read(sys.argv[1])
tw, tw_notes = read(sys.argv[2])
nd, nd_notes = read(sys.argv[3])
cg, _ = read(sys.argv[4])

# The figures every part of the report reads; the C benchmark prints them
# all when it runs to its end.
NEEDED = ["a.ns", "b.ns", "direct.ns", "a.fire_allocs", "b.fire_allocs",
          "b.allocs", "c.allocs", "stage_allocs_warm", "mem.stage_bytes",
          "mem.deferred_bytes", "mem.deferred_allocs_cold",
          "mem.deferred_allocs_warm", "f1.ns_per_stage", "f2.ns_per_deferred",
          "f1.cold.rss_kib", "f2.cold.rss_kib"]
missing = [k for k in NEEDED if k not in c]
if missing:
    print(f"report.py: {sys.argv[1]} has no {', '.join(missing[:3])}"
          f"{' ...' if len(missing) > 3 else ''}: the C benchmark did not "
          "run to its end", file=sys.stderr)
    sys.exit(2)

# The targets judged against a bound measured in the same run: (e)
# within 1.5x of the ideal gather, (f2) within 3x of the ideal chain
# (bench/ideal.c); (b) within 3x of the direct-call limit.
E_IDEAL_TIMES = 1.5
F2_IDEAL_TIMES = 3
DIRECT_TIMES = 3

CASES = [
    ("a", "create + 1 callback + fire"),
    ("b", "create + 10 callbacks (x+1) + fire"),
    ("c", "10 stages, 5 fails, 7's errback recovers"),
    ("d", "10 callbacks returning fired deferreds"),
    ("e", "gatherResults of 100, fire all, sum"),
]


def ns(v):
    return "-" if v is None else f"{v:,.1f}"


def times(v):
    return "-" if v is None else f"{v:,.1f}x"


def ratio(other, mine):
    return None if other is None or mine is None else other / mine


def instructions(key):
    """Callgrind's instructions per operation of a case: run.sh counts
    the whole program at N operations and at 0 (the same warm-up), and
    the difference is N operations. None in quick mode."""
    n = cg.get(f"callgrind.{key}.n")
    if not n or f"callgrind.{key}.irN" not in cg:
        return None
    return (cg[f"callgrind.{key}.irN"] - cg[f"callgrind.{key}.ir0"]) / n


print("libdeferred benchmark: ns per operation (lower is better); best of N runs")
for note in c_notes + tw_notes + nd_notes:
    print("  " + note)
if max(processes.values()) > 1:
    print(f"  Each runtime ran in {max(processes.values())} processes, "
          "alternating with the others; each case")
    print("  shows its best ns/op over all of them.")
print("  Twisted/C and Node/C: how many times faster C is. C/direct: how many")
print("  times slower C is than calling the same 10 callbacks through a")
print("  volatile function-pointer table, each from a call site of its own")
print(f"  (the direct-call limit, {ns(c.get('direct.ns'))} ns per 10 calls).")
print("  Twisted (e) is gatherResults"
      + (f" (plain DeferredList: {ns(tw.get('e_deferredlist.ns'))} ns)"
         if "e_deferredlist.ns" in tw else "")
      + "; Node (e) is Promise.all.")
print()

header = (f"{'case':<52}{'C':>10}{'Twisted':>12}{'Node':>10}"
          f"{'Twisted/C':>11}{'Node/C':>9}{'C/direct':>10}"
          f"{'allocs/op':>11}{'on fire':>9}")
print(header)
print("-" * len(header))
for key, label in CASES:
    mine = c.get(f"{key}.ns")
    direct = ratio(mine, c.get("direct.ns")) if key in "bcd" else None
    fire = f"{c[key + '.fire_allocs']:g}" if key in "abc" else "-"
    print(f"{key + ' ' + label:<52}{ns(mine):>10}{ns(tw.get(key + '.ns')):>12}"
          f"{ns(nd.get(key + '.ns')):>10}"
          f"{times(ratio(tw.get(key + '.ns'), mine)):>11}"
          f"{times(ratio(nd.get(key + '.ns'), mine)):>9}"
          f"{times(direct):>10}{c.get(key + '.allocs', 0):>11g}{fire:>9}")
if "e_ideal.ns" in c:
    print(f"{'  (e) ideal bound: no library, 72-byte deferreds':<52}"
          f"{ns(c['e_ideal.ns']):>10}"
          f"   (bench/ideal.c; (e)'s target is C <= {E_IDEAL_TIMES:g}x of it, "
          f"{E_IDEAL_TIMES * c['e_ideal.ns']:,.1f} ns)")
print(f"{'direct-call limit: 10 calls via volatile fn pointers':<52}"
      f"{ns(c.get('direct.ns')):>10}")
if "direct_one_site.ns" in c:
    print(f"{'  the same 10 from one call site in a loop':<52}"
          f"{ns(c['direct_one_site.ns']):>10}"
          "   (reference: the library's loop is one call site)")
print("  allocs/op: library heap allocations per operation once warm (counting")
print("  allocator via df_set_allocator); 'on fire': only inside the fire call.")
print()

# The composition cases (bench/cases_compose.c): key, what one operation
# is, label, and whether Node has the feature.
COMPOSE = [
    ("g", "race", "race of 100, 99 losers cancelled", True),
    ("h", "round", "DeferredLock acquire + release, free", False),
    ("h2", "round", "  contended: 2 acquires, a hand-over", False),
    ("i", "round", "DeferredSemaphore(10): 100 acquires", False),
    ("j", "call", "10,000 delayed calls, one advance", True),
    ("j@1000", "call", "  1,000 calls (Twisted: task.Clock)", False),
    ("j2", "call", "10,000 delayed calls, each cancelled", True),
]


def allocs(key):
    v = c.get(key + ".allocs")
    return "-" if v is None else f"{round(v, 2):g}"


def count(v):
    return "-" if v is None else f"{v:,.0f}"


print("composition layer (cases g-j): ns per operation, the unit named")
print("  Twisted (g) is Twisted 23.8's race written over 22.4's Deferred (22.4 has")
print("  none); (j), (j2) the reactor's scheduler (callLater, runUntilCurrent: a")
print("  heap) on a test time; (j@1000) task.Clock, which sorts all its calls at")
print("  every callLater and every call run (10,000 take about a minute a round).")
print("  Node (g) is Promise.race with a canceller per member; (j) setTimeout with")
print("  delays of 1-20 ms in CPU time; (j2) setTimeout + clearTimeout. n/a: Node")
print("  has no lock or semaphore (h, h2, i), and j@1000 is task.Clock's size.")
print()
header2 = (f"{'case':<44}{'unit':>7}{'C':>11}{'Twisted':>14}{'Node':>13}"
           f"{'Twisted/C':>11}{'Node/C':>9}{'allocs/op':>11}{'instr/op':>10}")
print(header2)
print("-" * len(header2))
for key, unit, label, node_has in COMPOSE:
    mine = c.get(f"{key}.ns")
    theirs = tw.get(f"{key}.ns")
    node = nd.get(f"{key}.ns") if node_has else None
    node_text = ns(node) if node_has else "n/a"
    node_ratio = times(ratio(node, mine)) if node_has else "n/a"
    print(f"{key + ' ' + label:<44}{unit:>7}{ns(mine):>11}{ns(theirs):>14}"
          f"{node_text:>13}{times(ratio(theirs, mine)):>11}{node_ratio:>9}"
          f"{allocs(key):>11}{count(instructions(key)):>10}")
    if key == "g" and mine is not None:
        per = [v / 100 if v is not None else None
               for v in (mine, theirs, nd.get("g.ns"))]
        print(f"{'  per member':<44}{'member':>7}{ns(per[0]):>11}{ns(per[1]):>14}"
              f"{ns(per[2]):>13}")
print()

b_stage = c["b.ns"] / 10
print(f"per stage, case b: {b_stage:.1f} ns (b's ns/op / 10 callbacks)")


ir_b = instructions("b")
if ir_b is not None:
    print(f"callgrind, case b: {ir_b:,.0f} instructions per op = "
          f"{ir_b / 11:.1f} per stage ((Ir(N={cg['callgrind.b.n']:.0f}) - Ir(0)) "
          "/ (N*11): 10 callbacks + the fire)")
    counted = [(k, instructions(k)) for k, _ in CASES]
    print("callgrind, instructions per op: "
          + ", ".join(f"{k} {v:,.0f}" for k, v in counted if v is not None)
          + " (deterministic: compare across commits)")
else:
    print("callgrind: skipped (quick mode, or valgrind missing)")
print()

print("memory")
print(f"  per pending stage:   {c['mem.stage_bytes']:.1f} bytes "
      f"(100,000 stages on one deferred, measured with malloc_usable_size; "
      f"{c['mem.stage_allocs_cold']:g} allocations per stage cold)")
print(f"  per unfired deferred: {c['mem.deferred_bytes']:.0f} bytes "
      f"(1 allocation cold: {c['mem.deferred_allocs_cold']:g}, "
      f"warm from the free list: {c['mem.deferred_allocs_warm']:g})")
print(f"  adding stages to a warm thread: "
      f"{c['stage_allocs_warm']:g} allocations per stage")
print()

stack = c.get("stack_limit_kib", -1)
stack_text = "unlimited" if stack < 0 else f"{stack / 1024:g} MiB"
print(f"case f (C only; stack limit {stack_text}; peak RSS is ru_maxrss "
      "growth in a forked child)")
for when, pre in [("warm", ""), ("cold", ".cold")]:
    f1, f2 = "f1" + pre, "f2" + pre
    if f1 + ".n" not in c:
        continue
    print(f"  f1 {when}: one deferred, {c[f1 + '.n']:,.0f} stages: "
          f"{c[f1 + '.ns_per_stage']:.1f} ns/stage "
          f"(add {c[f1 + '.add_ns_per_stage']:.1f}"
          f" + fire {c[f1 + '.fire_ns_per_stage']:.1f}), "
          f"{c[f1 + '.allocs_per_stage']:.4f} allocs/stage, "
          f"deepest C stack in a callback {c[f1 + '.stack_bytes']:.0f} B")
    print(f"  f2 {when}: chain of {c[f2 + '.n']:,.0f} deferreds, each waiting "
          f"on the next: {c[f2 + '.ns_per_deferred']:.1f} ns/deferred (build "
          f"{c[f2 + '.build_ns_per_deferred']:.1f} + fire "
          f"{c[f2 + '.fire_ns_per_deferred']:.1f} + free "
          f"{c[f2 + '.free_ns_per_deferred']:.1f}), "
          f"deepest C stack in a callback {c[f2 + '.stack_bytes']:.0f} B")
print(f"  peak RSS (cold run): f1 +{c['f1.cold.rss_kib'] / 1024:.1f} MiB "
      f"({c['f1.cold.rss_kib'] * 1024 / c['f1.cold.n']:.0f} B/stage), "
      f"f2 +{c['f2.cold.rss_kib'] / 1024:.1f} MiB "
      f"({c['f2.cold.rss_kib'] * 1024 / c['f2.cold.n']:.0f} B/deferred)")
if "f2.floor_ns_per_deferred" in c:
    print(f"  f2's memory floor: {c['f2.floor_ns_per_deferred']:.1f} ns/deferred "
          f"to write {c['f2.floor_bytes']:.0f} B per deferred once and read it "
          "back once,")
    print("    with no allocator and no library: a chain of deferreds this "
          "size, each touched")
    print("    when made and again when fired or freed, cannot go below it "
          "on this machine")
if "f2.ideal_ns_per_deferred" in c:
    print(f"  f2's ideal bound: {c['f2.ideal_ns_per_deferred']:.1f} ns/deferred "
          "for the same chain of 72-byte deferreds")
    print("    (the least one holds) from a pre-touched arena, with no "
          "allocator, no checks and")
    print("    no library (bench/ideal.c): a library, doing all that and "
          "more, will not go below it;")
    print(f"    (f2)'s target is {F2_IDEAL_TIMES:g}x of it, "
          f"{F2_IDEAL_TIMES * c['f2.ideal_ns_per_deferred']:.1f} ns/deferred")


def figure(key, field, fmt):
    v = c.get(f"{key}.{field}")
    return "-" if v is None else format(v, fmt)


def print_growth():
    """How case f's costs grow with n: the smaller sizes (f1@N, f2@N)
    beside the 1,000,000 run, callgrind's instructions per unit between
    sizes, and what the rows say. A function, so that its names stay out
    of the report's globals (it once overwrote `stack`)."""
    sizes = sorted({int(k.split("@")[1].split(".")[0])
                    for k in c if k.startswith("f1@")})
    rows = [(n, f"f1@{n}", f"f2@{n}") for n in sizes]
    if "f1.n" in c:
        rows.append((int(c["f1.n"]), "f1", "f2"))
    if len(rows) < 2:
        return
    print("  how the costs grow (warm, best of 3 per size, each size in its "
          "own child):")
    print(f"  {'n':>11}  {'f1 ns/stage':>11} {'heap B':>7} {'C stack':>8}"
          f"   {'f2 ns/deferred':>14} {'heap B':>7} {'C stack':>8}")
    for n, k1, k2 in rows:
        print(f"  {n:>11,}  {figure(k1, 'ns_per_stage', '.1f'):>11} "
              f"{figure(k1, 'heap_bytes_per_stage', '.1f'):>7} "
              f"{figure(k1, 'stack_bytes', '.0f'):>8}   "
              f"{figure(k2, 'ns_per_deferred', '.1f'):>14} "
              f"{figure(k2, 'heap_bytes_per_deferred', '.1f'):>7} "
              f"{figure(k2, 'stack_bytes', '.0f'):>8}")
    print("  heap B: the library's heap at its peak per stage / deferred "
          "(counting allocator);")
    print("  C stack: the deepest C stack a callback saw, in bytes below the "
          "case's frame.")
    slopes = []
    for key, unit in [("f1", "stage"), ("f2", "deferred")]:
        pts = [(n, cg.get(f"callgrind.{key}.ir{n}")) for n in (0, 10000, 100000)]
        if all(v is not None for _, v in pts):
            (n0, i0), (n1, i1), (n2, i2) = pts
            slopes.append(f"{key} {(i1 - i0) / (n1 - n0):,.0f} instructions per "
                          f"{unit} from 0 to {n1:,}, "
                          f"{(i2 - i1) / (n2 - n1):,.0f} from {n1:,} to {n2:,}")
    if slopes:
        print("  callgrind: " + ";\n             ".join(slopes))
    # Time per unit from the smallest size to the largest, and whether
    # the C stack moved at all.
    n_lo, n_hi = rows[0][0], rows[-1][0]
    print(f"  from {n_lo:,} to {n_hi:,}:")
    for column, field, unit in [(1, "ns_per_stage", "stage"),
                                (2, "ns_per_deferred", "deferred")]:
        keys = [row[column] for row in rows]
        per_unit = [c.get(f"{k}.{field}") for k in keys]
        stacks = [c.get(f"{k}.stack_bytes") for k in keys]
        if None in per_unit or None in stacks:
            continue
        stack_note = ("the same C stack at every size"
                      if max(stacks) - min(stacks) <= 64
                      else f"C stack from {min(stacks):.0f} to {max(stacks):.0f} B")
        print(f"    {keys[-1]}: time per {unit} x{per_unit[-1] / per_unit[0]:.1f}, "
              f"{stack_note}")
    held = c.get(f"{rows[-1][2]}.heap_bytes_per_deferred", 0) * n_hi / 2**20
    print("  (time per unit may rise as the working set leaves the caches: "
          f"f2 at {n_hi:,}")
    print(f"  holds {held:,.0f} MiB of deferreds; callgrind, in the full mode, "
          "counts instructions)")


print_growth()
print("  cold: the first run in a fresh process, every page a first-touch "
      "page fault;")
print("  warm: the same run again, malloc keeping what the first freed "
      "(M_TRIM_THRESHOLD),")
print("  as every other case is measured warm. Targets use warm.")
print()

targets = []


# A quick run (bench/run.sh --quick, CI) times each case in 2 short runs
# per runtime, Node's with its JIT barely warm: enough to show that every
# case runs, too few to judge a timed target either way. Its counts
# (allocations, bytes, stack) are judged as in a full run.
quick = c.get("quick") == 1


def target(text, value, ok, timed=False):
    if ok is None:
        targets.append(("n/a ", text, value))
    elif timed and quick:
        targets.append(("----", text, value))
    else:
        targets.append(("PASS" if ok else "MISS", text, value))


def faster(other, key, need):
    r = ratio(other.get(key + ".ns"), c.get(key + ".ns"))
    return (times(r), None if r is None else r >= need)


def within(mine, bound, most):
    """(the figure, judged) for a time that must be at most `most` times
    a bound measured in the same run; n/a without the bound."""
    if mine is None or bound is None:
        return ("-", None)
    r = mine / bound
    return (f"{mine:,.1f} ns, {r:.2f}x of {bound:,.1f} ns", r <= most)


for text, (value, ok) in [
    ("(b) >= 200x faster than Twisted", faster(tw, "b", 200)),
    ("(b) >= 10x faster than Node", faster(nd, "b", 10)),
    ("(c) >= 10x faster than Node", faster(nd, "c", 10)),
    ("(d) >= 10x faster than Node", faster(nd, "d", 10)),
    (f"(e) within {E_IDEAL_TIMES:g}x of the ideal gather",
     within(c.get("e.ns"), c.get("e_ideal.ns"), E_IDEAL_TIMES)),
]:
    target(text, value, ok, timed=True)
direct = c["b.ns"] / c["direct.ns"]
target(f"(b) within {DIRECT_TIMES:g}x of the direct-call limit", times(direct),
       direct <= DIRECT_TIMES, timed=True)
warm = max(c["stage_allocs_warm"], c["b.allocs"])
target("zero heap allocations per stage once warm", f"{warm:g}", warm == 0)
target("<= 1 allocation per deferred, 0 with the free list",
       f"{c['mem.deferred_allocs_cold']:g} / {c['mem.deferred_allocs_warm']:g}",
       c["mem.deferred_allocs_cold"] <= 1 and c["mem.deferred_allocs_warm"] == 0)
fire_ab = max(c["a.fire_allocs"], c["b.fire_allocs"])
target("no allocation on the firing path of (a)/(b)", f"{fire_ab:g}", fire_ab == 0)
target("<= 1 allocation (the failure) in (c)", f"{c['c.allocs']:g}",
       c["c.allocs"] <= 1)
target("<= 64 bytes per pending stage", f"{c['mem.stage_bytes']:.1f} B",
       c["mem.stage_bytes"] <= 64)
target("<= 96 bytes per unfired deferred", f"{c['mem.deferred_bytes']:.0f} B",
       c["mem.deferred_bytes"] <= 96)
default_stack = stack == 8192
f1 = c["f1.ns_per_stage"]
target("1,000,000 stages: works with the default stack", stack_text,
       default_stack)
target(f"1,000,000 stages: warm time per stage <= 2x (b)'s ({2 * b_stage:.1f} ns)",
       f"{f1:.1f} ns ({f1 / b_stage:.1f}x)", f1 <= 2 * b_stage, timed=True)
target("1,000,000-deferred chain: works with the default stack", stack_text,
       default_stack)
f2_value, f2_ok = within(c["f2.ns_per_deferred"],
                         c.get("f2.ideal_ns_per_deferred"), F2_IDEAL_TIMES)
floor = c.get("f2.floor_ns_per_deferred")
if floor is not None and f2_ok is not None:
    f2_value += f"; memory floor {floor:.1f} ns"
target(f"(f2) 1,000,000-deferred chain: within {F2_IDEAL_TIMES:g}x of the "
       "ideal chain", f2_value, f2_ok, timed=True)

# The composition cases: each at least COMPOSE_TIMES faster than Twisted;
# (j) against both of Twisted's schedulers, the test clock's peer at its
# size and the reactor's heap at 10,000.
COMPOSE_TIMES = 50
for text, key, peer in [
    ("(g) race of 100", "g", "Twisted"),
    ("(h) lock round", "h", "Twisted"),
    ("(i) semaphore round", "i", "Twisted"),
    ("(j) 10,000 calls", "j", "Twisted's reactor"),
    ("(j@1000) 1,000 calls", "j@1000", "task.Clock"),
]:
    value, ok = faster(tw, key, COMPOSE_TIMES)
    target(f"{text}: >= {COMPOSE_TIMES}x faster than {peer}", value, ok,
           timed=True)

print("targets (printed only; a miss never fails the run)")
if quick:
    print("  quick mode: 2 short runs per case, too few to judge a timed "
          "target; those\n  show ---- with their figure (bench/run.sh, "
          "without --quick, judges them)")
for status, text, value in targets:
    print(f"  {status}  {text:<62} {value}")
