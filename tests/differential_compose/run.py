#!/usr/bin/python3
"""Differential test of the composition layer: libdeferred against Twisted.

Generates random programs of locks, semaphores, queues, DeferredLists and
gatherResults around slots of deferreds (README.md describes them), runs
them through compose_runner (libdeferred) and twisted_compose_runner.py
(Twisted 22.4) in batches, compares the traces line for line, and shrinks
a program that differs. The machinery is tests/differential/harness.py's,
shared with the core deferred's differential test.

    run.py --runner build/bin/compose_runner --count 20000 --seed 20240601
    run.py --runner ... --count 100000 --seed 7 --max-ops 80
    run.py --runner ... --program prog.txt       # one program, both traces
    run.py --seed 7 --count 3 --print            # just print programs

Exit status: 0 if every compared program matched, 1 on a difference,
2 on a usage or set-up error (Twisted missing, runner missing).
"""
import importlib.util
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = os.path.join(HERE, "..", "differential")
sys.path.insert(0, CORE)
import harness  # noqa: E402


def _core_programs():
    """tests/differential/run.py, for its values and its simplifications
    of the slot operations (imported by path: it is a run.py too)."""
    spec = importlib.util.spec_from_file_location(
        "differential_programs", os.path.join(CORE, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


core = _core_programs()
gen_value = core.gen_value
MESSAGES = core.MESSAGES
MAX_PRIMS = 4

# Times: small sets, so that calls fall due together (ties) and advances
# land exactly on due times, with a few odd ones (a float Python writes
# with many digits, an infinite delay, a negative one).
DELAYS = ["0", "0.5", "1", "1", "1.5", "2", "2.5", "3", "0.1", "0.25",
          "0.3", "5"]
ODD_DELAYS = ["inf", "-0.5", "0.30000000000000004", "1e-05"]
ADVANCES = ["0", "0", "0.5", "1", "1", "1.5", "2", "3", "0.25", "0.1", "0.2",
            "7"]
INTERVALS = ["0", "0.5", "1", "1", "1.5", "2", "0.3", "0.1", "3", "2.5"]
TIMEOUTS = ["0", "0.5", "1", "2", "2.5", "3", "1e-05", "0.1", "0.3", "10",
            "123.456"]
MOVES = ["0", "0.5", "1", "2", "3", "-1", "-0.5", "1.5"]
# Call slots h0..h3 hold calls of `later` and timeouts' timers, which the
# program may cancel; h4..h7 hold defer_later's calls, which it never
# cancels (Twisted's deferLater cancel would then raise AlreadyCancelled
# out of cancel(); libdeferred's checks: cancellers cannot raise,
# difference 10). Loops' calls are never cancelled either (Twisted's
# stop() would raise AlreadyCancelled).
CANCELLABLE_CALLS = 4
MAX_CALLS = 8


class Program:
    """The generator's view of a program being written: which slots hold
    a deferred, which of them only `new` fills (the plain slots, the only
    ones fired by the program: the library alone fires the deferreds it
    makes, lock.h and queue.h), which locks and queues exist."""

    def __init__(self, rng, max_ops, max_slots):
        self.rng = rng
        self.nslots = rng.randint(3, max(3, min(16, max_slots)))
        self.nplain = rng.randint(1, self.nslots - 1)
        self.length = rng.randint(4, max(4, max_ops))
        self.live = set()
        self.locks = []
        self.queues = []
        self.loops = []
        self.ops = []

    # --- what an operation or action refers to

    def plain(self):
        return self.rng.randrange(self.nplain)

    def made(self):
        return self.rng.randrange(self.nplain, self.nslots)

    def any_slot(self, own=None):
        """Mostly a live slot, mostly not `own` (waiting on one's own
        deferred is a documented difference, discarded)."""
        rng = self.rng
        choices = sorted(self.live - {own}) if own is not None else sorted(self.live)
        if choices and rng.random() < 0.9:
            return rng.choice(choices)
        return rng.randrange(self.nslots)

    def value(self):
        return gen_value(self.rng)

    def message(self):
        return self.rng.choice(MESSAGES)

    # --- actions

    def simple_action(self, own):
        r = self.rng.random()
        if r < 0.35:
            return "ret:" + self.value()
        if r < 0.6:
            return "fail:" + self.message()
        if r < 0.8:
            return "pass"
        return "wait:%d" % self.any_slot(own)

    def action(self, own):
        """What a stage or a function does."""
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            return self.simple_action(own)
        r = rng.random()
        if r < 0.16:
            return "fire:%d:%s" % (self.plain(), self.value())
        if r < 0.26:
            return "err:%d:%s" % (self.plain(), self.message())
        if r < 0.40:
            return "cancel:%d" % self.any_slot()
        if r < 0.48:
            return "pause:%d" % self.any_slot()
        if r < 0.56:
            return "unpause:%d" % self.any_slot()
        if r < 0.66:
            k = self.any_slot()
            return "add:%d:%s" % (k, self.simple_action(k))
        if r < 0.74 and self.locks:
            return "unlock:%d" % rng.choice(self.locks)
        if r < 0.80 and self.queues:
            return "put:%d:%s" % (rng.choice(self.queues), self.value())
        if r < 0.86:
            return "adv:" + rng.choice(ADVANCES)
        if r < 0.92 and self.loops:
            return "%s:%d" % (rng.choice(["stop", "stop", "lreset"]),
                              rng.choice(self.loops))
        if r < 0.97:
            return "dcancel:%d" % rng.randrange(CANCELLABLE_CALLS)
        return "pass"

    def side_effect(self):
        """An action for a function whose outcome is dropped (a delayed
        call's)."""
        for _ in range(8):
            a = self.action(None)
            if a.split(":")[0] not in ("ret", "fail", "pass", "wait"):
                return a
        return "fire:%d:%s" % (self.plain(), self.value())

    def delay(self):
        rng = self.rng
        return rng.choice(ODD_DELAYS if rng.random() < 0.05 else DELAYS)

    def loop_function(self, k):
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            return rng.choice(["ret:1", "pass", "ret:'a'"])
        if r < 0.55:
            return "fail:" + self.message()
        if r < 0.70:
            return "wait:%d" % self.any_slot()
        if r < 0.78:
            return "stop:%d" % k
        return self.action(None)

    # --- the program

    def header(self):
        """Locks, semaphores and queues come first: none is made after
        one is freed, so that a freed one's address is never a live
        one's (the trace names a lock by the slot that holds it)."""
        rng = self.rng
        for k in range(rng.choice([0, 1, 1, 2, 2, 3])):
            if rng.random() < 0.5:
                self.ops.append("lock %d" % k)
            else:
                n = rng.choice([1, 1, 2, 2, 3]) if rng.random() < 0.97 else 0
                self.ops.append("sem %d %d" % (k, n))
                if n == 0:
                    continue
            self.locks.append(k)
        for k in range(rng.choice([0, 1, 1, 2])):
            def limit():
                return "-" if rng.random() < 0.5 else str(rng.choice([0, 1, 1, 2, 3]))
            self.ops.append("queue %d %s %s" % (k, limit(), limit()))
            self.queues.append(k)
        for k in range(rng.choice([0, 1, 1, 2])):
            self.loops.append(k)
        for k in self.loops:
            self.ops.append("%s %d %s" % (rng.choice(["loop", "loopc"]), k,
                                          self.loop_function(k)))

    def fill(self, k, line):
        self.ops.append(line)
        self.live.add(k)

    def step(self):
        rng = self.rng
        empty_plain = [k for k in range(self.nplain) if k not in self.live]
        if empty_plain and (not self.live or rng.random() < 0.2):
            k = rng.choice(empty_plain)
            r = rng.random()
            if r < 0.6:
                canc = ""
            elif r < 0.75:
                canc = " cancel:none"
            elif r < 0.9:
                canc = " cancel:cb:" + self.value()
            else:
                canc = " cancel:eb:" + self.message()
            self.fill(k, "new %d%s" % (k, canc))
            return
        r = rng.random()
        k = self.made()
        if r < 0.35:
            self.time_step()
            return
        r = rng.random()
        if r < 0.08 and self.locks:
            self.fill(k, "acquire %d %d" % (k, rng.choice(self.locks)))
        elif r < 0.14 and self.locks:
            self.fill(k, "run %d %d %s" % (k, rng.choice(self.locks), self.action(k)))
        elif r < 0.20 and self.locks:
            self.ops.append("unlock %d" % rng.choice(self.locks))
        elif r < 0.25 and self.queues:
            self.fill(k, "get %d %d" % (k, rng.choice(self.queues)))
        elif r < 0.31 and self.queues:
            item = self.value() if rng.random() < 0.8 else "fail:" + self.message()
            self.ops.append("put %d %s" % (rng.choice(self.queues), item))
        elif r < 0.37:
            members = " ".join(str(self.any_slot())
                               for _ in range(rng.choice([0, 1, 2, 2, 3, 3, 4])))
            if rng.random() < 0.3:
                line = "gather %d %d %s" % (k, rng.randrange(2), members)
            else:
                flags = "".join(f for f in "cex" if rng.random() < 0.4) or "-"
                line = "list %d %s %s" % (k, flags, members)
            self.fill(k, line.rstrip())
        elif r < 0.385:
            self.ops.append("show %s" % rng.choice(
                ["d%d" % self.any_slot()] +
                ["L%d" % k for k in self.locks] + ["Q%d" % k for k in self.queues]))
        elif r < 0.40 and (self.locks or self.queues):
            kind, k = rng.choice([("lfree", k) for k in self.locks] +
                                 [("qfree", k) for k in self.queues])
            self.ops.append("%s %d" % (kind, k))
            (self.locks if kind == "lfree" else self.queues).remove(k)
        elif not self.live:
            return
        else:
            self.slot_step()

    def time_step(self):
        rng = self.rng
        r = rng.random()
        if r < 0.26:
            self.ops.append("advance " + (rng.choice(ADVANCES) if rng.random() < 0.97
                                         else "-0.5"))
        elif r < 0.31:
            self.ops.append("pump " + " ".join(
                rng.choice(ADVANCES) for _ in range(rng.randint(1, 4))))
        elif r < 0.43:
            self.ops.append("later %d %s %s" % (rng.randrange(CANCELLABLE_CALLS),
                                                self.delay(), self.side_effect()))
        elif r < 0.50:
            if rng.random() < 0.5:
                h = "h%d" % rng.randrange(CANCELLABLE_CALLS)
                self.ops.append("dcancel " + h)
            else:
                h = "h%d" % rng.randrange(MAX_CALLS) if not self.loops or \
                    rng.random() < 0.7 else "p%d" % rng.choice(self.loops)
                self.ops.append("%s %s %s" % (rng.choice(["dreset", "ddelay"]), h,
                                              rng.choice(MOVES)))
        elif r < 0.63 and self.live:
            ont = "-" if rng.random() < 0.6 else self.action(None)
            self.ops.append("timeout %d %s %s %d" % (
                self.any_slot(), rng.choice(TIMEOUTS), ont,
                rng.randrange(CANCELLABLE_CALLS)))
        elif r < 0.73:
            k = self.made()
            fn = "-" if rng.random() < 0.25 else self.action(k)
            self.fill(k, "deferlater %d %s %s %d" % (
                k, self.delay(), fn, rng.randrange(CANCELLABLE_CALLS, MAX_CALLS)))
        elif r < 0.88 and self.loops:
            k = self.made()
            interval = rng.choice(INTERVALS) if rng.random() < 0.97 else "-1"
            self.fill(k, "start %d %d %s %s" % (k, rng.choice(self.loops), interval,
                                                rng.choice(["now", "later"])))
        elif r < 0.96 and self.loops:
            self.ops.append("%s %d" % (rng.choice(["stop", "stop", "lreset"]),
                                       rng.choice(self.loops)))
        else:
            self.ops.append("show %s" % rng.choice(
                ["clock", "clock", "h%d" % rng.randrange(MAX_CALLS)] +
                ["P%d" % k for k in self.loops] + ["p%d" % k for k in self.loops]))

    def slot_step(self):
        rng = self.rng
        k = self.any_slot()
        r = rng.random()
        if r < 0.22:
            cb = self.action(k) if rng.random() < 0.8 else "-"
            eb = self.action(k) if rng.random() < 0.7 else "-"
            self.ops.append("add %d %s %s" % (k, cb, eb))
        elif r < 0.34:
            self.ops.append("both %d %s" % (k, self.action(k)))
        elif r < 0.50:
            self.ops.append("callback %d %s" % (self.plain(), self.value()))
        elif r < 0.58:
            self.ops.append("errback %d %s" % (self.plain(), self.message()))
        elif r < 0.65:
            self.ops.append("pause %d" % k)
        elif r < 0.72:
            self.ops.append("unpause %d" % k)
        elif r < 0.84:
            self.ops.append("cancel %d" % k)
        elif r < 0.88:
            j = self.plain()
            if j != k:
                self.ops.append("chain %d %d" % (k, j))
        else:
            self.ops.append("release %d" % k)
            self.live.discard(k)


def generate(seed, index, max_ops=36, max_slots=7):
    """Program `index` of run `seed` (its own generator: any one can be
    regenerated from (seed, index))."""
    p = Program(random.Random("compose:%s:%d" % (seed, index)), max_ops,
                max_slots)
    p.header()
    while len(p.ops) < p.length:
        p.step()
    return p.ops


# --- shrinking: simpler variants of one line ----------------------------------

def simplifications(line):
    tok = line.split()
    out = core.simplifications(line) if tok[0] in (
        "new", "add", "both", "callback", "errback") else []
    if tok[0] == "run" and tok[3] not in ("pass", "ret:0"):
        out += ["%s %s %s pass" % tuple(tok[:3]), "%s %s %s ret:0" % tuple(tok[:3])]
    if tok[0] in ("list", "gather") and len(tok) > 3:
        for i in range(3, len(tok)):
            out.append(" ".join(tok[:i] + tok[i + 1:]))
    if tok[0] == "list" and tok[2] != "-":
        out.append(" ".join(tok[:2] + ["-"] + tok[3:]))
    if tok[0] == "put" and tok[2] != "0":
        out.append("put %s 0" % tok[1])
    if tok[0] == "sem" and tok[2] != "1":
        out.append("sem %s 1" % tok[1])
    if tok[0] in ("timeout", "deferlater") and tok[3] != "-":
        out.append(" ".join(tok[:3] + ["-"] + tok[4:]))
    if tok[0] in ("later", "loop", "loopc") and tok[-1] not in ("pass", "ret:0"):
        out.append(" ".join(tok[:-1] + ["pass"]))
    if tok[0] == "pump" and len(tok) > 2:
        out.append("advance " + tok[1])
        for i in range(1, len(tok)):
            out.append(" ".join(tok[:i] + tok[i + 1:]))
    return out


# What the matched programs exercised: (name, test on one trace line).
FEATURES = [
    ("callbacks run", lambda l: l.startswith("call ") and " cb " in l),
    ("errbacks run", lambda l: l.startswith("call ") and " eb " in l),
    ("functions run", lambda l: l.startswith("fn ")),
    ("unhandled reports", lambda l: l.startswith("unhandled ")),
    ("acquired", lambda l: l.startswith("call ") and (" cb L" in l)),
    ("refused (EINVAL)", lambda l: l.endswith("= EINVAL")),
    ("QueueOverflow", lambda l: "QueueOverflow" in l),
    ("QueueUnderflow", lambda l: "QueueUnderflow" in l),
    ("FirstError", lambda l: "FirstError" in l),
    ("first result", lambda l: "result=(" in l or " cb (" in l),
    ("freed waiters", lambda l: "freed while" in l),
    ("CancelledError", lambda l: "CancelledError" in l),
    ("AlreadyCalled", lambda l: "AlreadyCalled" in l),
    ("left waiting", lambda l: "result=wait " in l),
    ("TimeoutError", lambda l: "TimeoutError" in l),
    ("custom on_timeout", lambda l: l.startswith("ontimeout ")),
    ("loop runs counted", lambda l: l.startswith("fn ") and " count=" in l),
    ("skipped intervals", lambda l: l.startswith("fn ") and " count=" in l
     and " count=1 " not in l),
    ("loop stopped", lambda l: "result=P" in l or " cb P" in l),
    ("nested advance", lambda l: l.startswith("  advance ")),
    ("AlreadyCancelled", lambda l: "AlreadyCancelled" in l),
    ("calls pending at the end", lambda l: l.startswith("cancel ")),
]


class ComposeSuite(harness.Suite):
    name = "differential_compose"
    runner_name = "compose_runner"
    twisted_runner = os.path.join(HERE, "twisted_compose_runner.py")
    default_count = 20000
    features = FEATURES

    def add_arguments(self, ap):
        ap.add_argument("--max-ops", type=int, default=36,
                        help="longest generated program (default 36)")
        ap.add_argument("--max-slots", type=int, default=7,
                        help="most deferred slots a program uses (3..16, default 7)")

    def generate(self, seed, index, args):
        return generate(seed, index, args.max_ops, args.max_slots)

    def simplifications(self, line):
        return simplifications(line)


if __name__ == "__main__":
    sys.exit(harness.main(ComposeSuite(), __doc__.split("\n\n")[0]))
