"""The Twisted side of compose_time.c: each program's task.Clock, delayed
calls in call slots h0..h7, addTimeout, deferLater and LoopingCall in
loop slots P0..P3 (README.md gives the language and the trace).

twisted_compose_runner.py imports this module and hands it its helpers;
everything here is Twisted's own code, task.Clock's advance and
DelayedCall's cancel excepted, which let go of what a call held as soon as
the call is over (below), as libdeferred's delayed calls do.
"""
import inspect
import sys
import textwrap
import weakref

import twisted_runner as core
from twisted.internet import base, defer, error, task
from twisted.internet import reactor  # noqa: F401
from twisted.internet.defer import Deferred

# (LoopingCall() imports the reactor: imported here, it is among the
# objects twisted_runner freezes at start-up, which its collection after
# every operation then need not walk.)

emit = core.emit
MAX_CALLS = 8
MAX_PRIMS = 4
# A loop's function stops its loop on this call and every later one
# (compose_time.c's LOOP_RUN_CAP), so that no program runs for ever.
LOOP_RUN_CAP = 25

helpers = None  # twisted_compose_runner's: fill, expect, dropped, discard

# --- numbers ------------------------------------------------------------

def fmt_time(t):
    return "None" if t is None else "%.17g" % t


def parse_number(s):
    x = float(s)
    if x != x:  # NaN: libdeferred refuses those (time difference 2)
        raise core.ParseError(s)
    return x


def call_suffix():
    return " @" + fmt_time(clock[0].seconds())


# --- what a delayed call holds, and letting go of it ----------------------

def call_holds(call):
    """The deferreds a delayed call's function holds, as libdeferred's
    call holds its owned argument: a timeout's deferred, deferLater's,
    a running loop's start deferred."""
    f = getattr(call, "func", None)
    if f is None:
        return []
    if isinstance(f, task.LoopingCall):
        d = f.__dict__.get("_df_deferred")
        return [d] if d is not None else []
    target = core.chained(f)  # deferLater's d.callback
    if target is not None:
        return [target]
    cells = getattr(f, "__closure__", None) or ()
    return [c.cell_contents for c in cells
            if isinstance(c.cell_contents, Deferred)]  # addTimeout's self


def let_go(refs):
    for ref in refs:
        helpers.dropped(ref)


def holds_refs(call):
    return [weakref.ref(d) for d in call_holds(call)]


class ModelDelayedCall(base.DelayedCall):
    """Twisted's DelayedCall; a cancel lets go of what the call held at
    once (libdeferred releases the owned argument there)."""

    def cancel(self):
        held = holds_refs(self) if not (self.cancelled or self.called) else []
        base.DelayedCall.cancel(self)
        let_go(held)


running_calls = []  # the calls advance() is running, outermost first


def _patch_advance():
    """task.Clock.advance, with lines added: the call running counts as
    holding what its function holds (libdeferred's call keeps its owned
    argument until the function returns), and once it has run its
    function and arguments are dropped (Twisted keeps them in the
    DelayedCall, so a handle kept on a timeout's call would keep its
    deferred alive; libdeferred releases the owned argument when the
    function returns). Twisted's installed source, compiled in task's
    namespace; if the expected lines are not found this fails instead of
    guessing."""
    src = textwrap.dedent(inspect.getsource(task.Clock.advance))
    old = ("        call.called = 1\n"
           "        call.func(*call.args, **call.kw)\n")
    new = ("        call.called = 1\n"
           "        _df_running_calls.append(call)\n"
           "        try:\n"
           "            call.func(*call.args, **call.kw)\n"
           "        finally:\n"
           "            _df_running_calls.pop()\n"
           "        _df_held = _df_holds_refs(call)\n"
           "        del call.func, call.args, call.kw\n"
           "        _df_let_go(_df_held)\n"
           "        _df_held = None\n")
    if src.count(old) != 1:
        sys.stderr.write("twisted_compose_time.py: unexpected Twisted "
                         "Clock.advance source; update _patch_advance\n")
        sys.exit(3)
    src = src.replace(old, new)
    task._df_running_calls = running_calls
    task._df_holds_refs = holds_refs
    task._df_let_go = let_go
    namespace = {}
    exec(compile(src, inspect.getsourcefile(task.Clock), "exec"),
         task.__dict__, namespace)
    task.Clock.advance = namespace["advance"]


_patch_advance()
task.DelayedCall = ModelDelayedCall


# --- the program's clock, calls and loops ---------------------------------

clock = [None]
calls = [None] * MAX_CALLS
loops = [None] * MAX_PRIMS


class ModelLoop(task.LoopingCall):
    """Twisted's LoopingCall. Its _deferred is read through a property
    only to see the one read that time difference 7 covers: a loop
    stopped and started again while its function's deferred was pending,
    whose forgotten run then finds no deferred and fails Twisted's assert
    (libdeferred does nothing there). Such a program is discarded."""

    @property
    def _deferred(self):
        d = self.__dict__.get("_df_deferred")
        if d is None:
            helpers.discard("loop restarted while its function's deferred "
                            "was pending (time difference 7: Twisted's "
                            "forgotten run asserts)")
        return d

    @_deferred.setter
    def _deferred(self, d):
        self.__dict__["_df_deferred"] = d


def hold_weakly(f, lc):
    """withCount's counter function closes over its loop, which holds it:
    a reference cycle, which Python frees only when its collector runs,
    where libdeferred frees the loop (and lets go of its start deferred,
    dropping that one's stages in order) the moment its last reference
    goes. The counter's cell is given a weak proxy of the loop instead,
    which it reads and writes as it would the loop."""
    for cell in f.__closure__ or ():
        if cell.cell_contents is lc:
            cell.cell_contents = weakref.proxy(lc)


def call_name(call):
    for k, c in enumerate(calls):
        if c is call:
            return "h%d" % k
    for k, lc in enumerate(loops):
        if lc is not None and lc.call is call:
            return "p%d" % k
    return "?"


def resolve(ref):
    kind, k = ref
    if kind == "h":
        return calls[k]
    lc = loops[k]
    return lc.call if lc is not None else None


def catch_new_call(k, before):
    """The call an operation scheduled, into call slot k (none if it is
    gone already)."""
    new = [c for c in clock[0].calls if all(c is not b for b in before)]
    calls[k] = new[0] if new else None


def call_rc(f, *args):
    try:
        f(*args)
    except error.AlreadyCancelled:
        return "AlreadyCancelled"
    except error.AlreadyCalled:
        return "AlreadyCalled"
    return "ok"


def loop_rc(f, *args):
    """LoopingCall's asserts and ValueError are libdeferred's DF_EINVAL
    (time difference 1)."""
    try:
        f(*args)
    except (AssertionError, ValueError):
        return "EINVAL"
    return "ok"


# --- the functions the clock and the library call ---------------------------

def later_function(label, act):
    def function():
        emit("fn %s%s" % (label, call_suffix()))
        try:
            core.run_action(act, None, label)
        except RecursionError:
            raise
        except Exception:  # the outcome is dropped, as compose_time.c's
            pass
    return function


def plain_function(label, act):
    """deferLater's and run()'s: "fn <label> @t", then the action on None."""
    def function():
        emit("fn %s%s" % (label, call_suffix()))
        return core.run_action(act, None, label)
    return function


def loop_function(label, act, k, counting):
    runs = [0]

    def capped(extra):
        emit("fn %s%s%s" % (label, extra, call_suffix()))
        try:
            result, raised = core.run_action(act, None, label), None
        except RecursionError:
            raise
        except Exception as e:
            result, raised = None, e
        runs[0] += 1
        if runs[0] >= LOOP_RUN_CAP:
            emit("  stop %d = %s" % (k, loop_rc(loops[k].stop)))
        if raised is not None:
            raise raised
        return result

    if counting:
        return lambda count: capped(" count=%d" % count)
    return lambda: capped("")


def timeout_function(label, act):
    def on_timeout(value, timeout):
        emit("ontimeout %s %s %s%s" % (label, core.fmt(value), fmt_time(timeout),
                                      call_suffix()))
        return core.run_action(act, value, label)
    return on_timeout


# --- actions ------------------------------------------------------------------

def parse_action(kind, arg):
    """A time action: a tuple for run_action, or None if `kind` is not one."""
    if kind == "adv":
        return ("adv", None, parse_number(arg), None)
    if kind in ("stop", "lreset", "dcancel"):
        k = int(arg)
        if not 0 <= k < (MAX_CALLS if kind == "dcancel" else MAX_PRIMS):
            raise core.ParseError(arg)
        return (kind, k, None, None)
    return None


def run_action(act, r):
    kind, k, x, _ = act
    if kind == "adv":
        clock[0].advance(x)
        emit("  advance %s = ok" % fmt_time(x))
    elif kind in ("stop", "lreset"):
        lc = loops[k]
        rc = "empty" if lc is None else \
            loop_rc(lc.stop if kind == "stop" else lc.reset)
        emit("  %s %d = %s" % (kind, k, rc))
    else:
        call = calls[k]
        emit("  dcancel %d = %s" % (k, "empty" if call is None
                                   else call_rc(call.cancel)))
    return r


# --- operations ------------------------------------------------------------------

def parse_ref(s):
    kind, k = s[0], int(s[1:])
    if kind not in "hp" or not 0 <= k < (MAX_CALLS if kind == "h" else MAX_PRIMS):
        raise core.ParseError(s)
    return (kind, k)


def parse_small(s, most):
    k = int(s)
    if not 0 <= k < most:
        raise core.ParseError(s)
    return k


def parse_function(s, label):
    act = core.parse_action(s, label)
    if act is None:
        raise core.ParseError(s)
    return act


def parse_op(tok, line, index):
    """A time operation, as twisted_runner's op tuples, or None if tok[0]
    is not one."""
    kind, n = tok[0], len(tok)
    label = "s%d" % index
    if kind == "advance" and n == 2:
        return (line, kind, None, parse_number(tok[1]))
    if kind == "pump" and 2 <= n <= 13:
        return (line, kind, None, [parse_number(t) for t in tok[1:]])
    if kind == "later" and n == 4:
        return (line, kind, parse_small(tok[1], MAX_CALLS),
                (parse_number(tok[2]), label, parse_function(tok[3], label)))
    if (kind == "dcancel" and n == 2) or (kind in ("dreset", "ddelay") and n == 3):
        return (line, kind, None,
                (parse_ref(tok[1]), parse_number(tok[2]) if n == 3 else None))
    if kind in ("timeout", "deferlater") and n == 5:
        act = None if tok[3] == "-" else parse_function(tok[3], label)
        return (line, kind, core.parse_slot(tok[1]),
                (parse_number(tok[2]), label, act, parse_small(tok[4], MAX_CALLS)))
    if kind in ("loop", "loopc") and n == 3:
        return (line, kind, parse_small(tok[1], MAX_PRIMS),
                (label, parse_function(tok[2], label)))
    if kind == "start" and n == 5 and tok[4] in ("now", "later"):
        return (line, kind, core.parse_slot(tok[1]),
                (parse_small(tok[2], MAX_PRIMS), parse_number(tok[3]),
                 tok[4] == "now"))
    if kind in ("stop", "lreset") and n == 2:
        return (line, kind, parse_small(tok[1], MAX_PRIMS), None)
    return None


def run_op(kind, k, arg):
    """A time operation's rc."""
    c = clock[0]
    if kind == "advance":
        c.advance(arg)
    elif kind == "pump":
        c.pump(arg)
    elif kind == "later":
        delay, label, act = arg
        calls[k] = c.callLater(delay, later_function(label, act))
    elif kind in ("dcancel", "dreset", "ddelay"):
        ref, x = arg
        call = resolve(ref)
        if call is None:
            return "empty"
        if kind == "dcancel":
            return call_rc(call.cancel)
        return call_rc(call.reset if kind == "dreset" else call.delay, x)
    elif kind == "timeout":
        d = core.table[k]
        if d is None:
            return "empty"
        timeout, label, act, h = arg
        before = list(c.calls)
        # A deferred the on_timeout returns is waited on by d: waiting on
        # d itself is a cycle (difference 2), as twisted_runner checks.
        core.stage_owner[label] = d._serial
        d.addTimeout(timeout, c, timeout_function(label, act) if act else None)
        d = None
        catch_new_call(h, before)
    elif kind == "deferlater":
        delay, label, act, h = arg
        before = list(c.calls)
        core.stage_owner[label] = core.next_serial  # the deferred made
        helpers.expect()
        d = task.deferLater(c, delay, plain_function(label, act) if act else None)
        catch_new_call(h, before)
        before = None
        helpers.fill(k, d)
    elif kind in ("loop", "loopc"):
        label, act = arg
        f = loop_function(label, act, k, kind == "loopc")
        lc = ModelLoop.withCount(f) if kind == "loopc" else ModelLoop(f)
        hold_weakly(lc.f, lc)
        lc.clock = c
        loops[k] = lc
    elif kind == "start":
        p, interval, now = arg
        lc = loops[p]
        if lc is None:
            return "empty"
        helpers.expect()
        try:
            d = lc.start(interval, now)
        except (AssertionError, ValueError):  # time difference 1
            helpers.cancel_expect()
            return "EINVAL"
        lc = None
        helpers.fill(k, d)
    elif kind in ("stop", "lreset"):
        lc = loops[k]
        if lc is None:
            return "empty"
        return loop_rc(lc.stop if kind == "stop" else lc.reset)
    return "ok"


# --- results and states ------------------------------------------------------------

def fmt(r):
    if isinstance(r, task.LoopingCall):
        for k, lc in enumerate(loops):
            if lc is r:
                return "P%d" % k
        return "P?"
    return None


def show_call(name, call):
    emit("state %s active=%d called=%d cancelled=%d time=%s" % (
        name, 1 if call.active() else 0, 1 if call.called else 0,
        1 if call.cancelled else 0, fmt_time(call.getTime())))


def show_loop(k):
    lc = loops[k]
    emit("state P%d loop running=%d interval=%s starttime=%s call=%s" % (
        k, 1 if lc.running else 0, fmt_time(lc.interval),
        fmt_time(lc.starttime),
        fmt_time(lc.call.getTime()) if lc.call is not None else "-"))


def show_clock():
    c = clock[0]
    emit("state clock now=%s calls=%s" % (fmt_time(c.seconds()), ",".join(
        "%s@%s" % (call_name(call), fmt_time(call.getTime()))
        for call in c.calls)))


def show(name):
    """Printed, or False."""
    if name == "clock":
        show_clock()
        return True
    try:
        k = int(name[1:])
    except ValueError:
        return False
    if name[0] in "hp" and 0 <= k < (MAX_CALLS if name[0] == "h" else MAX_PRIMS):
        call = resolve((name[0], k))
        if call is not None:
            show_call(name, call)
        return call is not None
    if name[0] == "P" and 0 <= k < MAX_PRIMS and loops[k] is not None:
        show_loop(k)
        return True
    return False


# --- what libdeferred holds and counts --------------------------------------------

def roots():
    """The deferreds held by the clock's pending and running calls, and by
    the loops (a loop holds its start deferred until it fires)."""
    held = []
    c = clock[0]
    for call in (c.calls if c is not None else []) + running_calls:
        held.extend(call_holds(call))
    for lc in loops:
        if lc is not None and lc.__dict__.get("_df_deferred") is not None:
            held.append(lc.__dict__["_df_deferred"])
    return held


LOOP_STAGES = ("LoopingCall.__call__.<locals>.cb",
               "LoopingCall.__call__.<locals>.eb")


def loop_of_stage(item):
    """The loop whose cb or eb stage `item` is (on a deferred its function
    returned), or None. Twisted adds two such stages, libdeferred one:
    either holds the loop."""
    for f, _, _ in item:
        if getattr(f, "__qualname__", "") in LOOP_STAGES:
            for cell in f.__closure__ or ():
                if isinstance(cell.cell_contents, task.LoopingCall):
                    return cell.cell_contents
    return None


def loops_in(value):
    """The loops a value holds: a start deferred's result is its loop (in
    libdeferred a result holding a reference to it), which a list's
    result or records may hold in turn."""
    if isinstance(value, task.LoopingCall):
        return [value]
    if isinstance(value, (list, tuple)):
        return [lc for x in value for lc in loops_in(x)]
    return []


def edges(d):
    """What holds a loop, and so its start deferred, in references
    collect.c cannot see: a loop's stage on its function's deferred, and
    a result (or a DeferredList's records) holding the loop."""
    held = [loop_of_stage(item) for item in d.callbacks]
    if d.called:
        held += loops_in(d.result)
    held += loops_in(getattr(d, "resultList", None))
    return [(lc.__dict__["_df_deferred"], "o") for lc in held
            if lc is not None and lc.__dict__.get("_df_deferred") is not None]


# Stages of Twisted's that libdeferred does not have (time differences 3
# and 7): addTimeout's second stage (libdeferred's one stage does both),
# LoopingCall's eb (one stage, both sides, on its function's deferred).
UNCOUNTED_STAGES = ("Deferred.addTimeout.<locals>.cancelTimeout",
                    "LoopingCall.__call__.<locals>.eb")


# --- a program --------------------------------------------------------------------

def begin():
    clock[0] = task.Clock()
    for k in range(MAX_CALLS):
        calls[k] = None
    for k in range(MAX_PRIMS):
        loops[k] = None


def print_states():
    for k in range(MAX_PRIMS):
        if loops[k] is not None:
            show_loop(k)
    for k in range(MAX_CALLS):
        if calls[k] is not None:
            show_call("h%d" % k, calls[k])
    show_clock()


def end():
    """Every loop let go, then the pending calls cancelled in their order,
    then the clock freed (compose_time.c's time_end)."""
    pending = list(clock[0].calls)
    names = [call_name(call) for call in pending]
    for k in range(MAX_PRIMS):
        if loops[k] is None:
            continue
        emit("release P%d" % k)
        loops[k] = None
        core.check_garbage()
    for call, name in zip(pending, names):
        emit("cancel %s" % name)
        call_rc(call.cancel)
        core.check_garbage()
    del pending[:]
    call = None
    abandon()


def abandon():
    for k in range(MAX_CALLS):
        calls[k] = None
    for k in range(MAX_PRIMS):
        loops[k] = None
    clock[0] = None
