#!/usr/bin/python3
"""The Twisted side of the differential test.

Reads programs on stdin (separated by lines "---"), runs each through real
Twisted (twisted.internet.defer.Deferred) and prints the same trace as
difftest_runner.c, each program's trace ending with "=== end". The formats
are described in README.md.

A program that runs into one of libdeferred's documented deliberate
differences from Twisted is abandoned: its trace ends with a line
"DISCARD <reason>" before "=== end", and run.py does not compare it.

Garbage collection is made deterministic: the collector is disabled, the
objects that exist after start-up are frozen, and gc.collect() runs after
every operation, so a deferred held only by a reference cycle (a deferred
waiting on another one, a failure's traceback) is freed, and its unhandled
failure reported, at the end of the operation that dropped its last outside
reference -- which is where libdeferred frees it (see check_garbage()).

tests/differential_compose/twisted_compose_runner.py imports this module
(importing it applies the patches) and extends its language through `ext`
(class Ext): more operations and actions, results it formats, deferreds
held by locks, queues and the clock, the stages it counts.
"""
import contextlib
import gc
import sys
import warnings
import weakref

try:
    from twisted.internet import defer
    from twisted.internet.defer import AlreadyCalledError, Deferred
    from twisted.python.failure import Failure
except ImportError as e:  # run.py checks this first and explains
    sys.stderr.write("twisted_runner.py: cannot import Twisted: %s\n" % e)
    sys.exit(3)

MAX_SLOTS = 16
_CONTINUE = defer._CONTINUE


class Ext:
    """What a runner built on this one (tests/differential_compose) adds:
    it imports this module, which patches Twisted as below, and replaces
    these defaults. This runner uses them as they are."""

    def parse_action(self, kind, arg, label):
        """An action kind this module does not know: a tuple whose first
        item is the kind (run_action gets it back), or ParseError."""
        raise ParseError(kind)

    def run_action(self, act, r, label):
        """Run an action of parse_action's; returns the stage's result."""
        raise AssertionError(act)

    def parse_op(self, tok, line, index):
        """An operation this module does not know: (line, kind, slot,
        arg) for run_op, or ParseError."""
        raise ParseError(line)

    def run_op(self, op):
        raise AssertionError(op)

    def fmt(self, r):
        """The trace's text for a result this module does not know, or
        None."""
        return None

    def fmt_failure(self, f):
        """The trace's text for a failure, or None for this module's."""
        return None

    def call_suffix(self):
        """Printed after "call s3 cb 5" on the same line."""
        return ""

    def new_deferred(self, canceller):
        """The deferred a `new` operation makes."""
        global next_serial
        d = TDeferred(next_serial, canceller)
        next_serial += 1
        return d

    def roots(self):
        """Deferreds held by something other than a deferred or a slot
        (a lock's waiting list, a pending delayed call ...)."""
        return []

    def edges(self, d):
        """References from d to other deferreds that libdeferred's cycle
        collection does not see (a DeferredList's member stage holds the
        list): [(target, 'o')]."""
        return []

    def pending(self, d):
        """libdeferred's df_deferred_pending_stages(d)."""
        return len(d.callbacks)

    # The discard reason of a garbage group that libdeferred keeps because
    # a reference of ext.edges holds it.
    opaque_leak = "libdeferred keeps a garbage group held by a reference " \
        "collect.c cannot see"


ext = Ext()

# --- the trace -------------------------------------------------------------

out = []               # lines of the current program's trace
discard_reason = None  # set when the program hits a documented difference
quiet = False          # while cleaning up a discarded program


def emit(line):
    if not quiet:
        out.append(line)


def discard(reason):
    global discard_reason
    if discard_reason is None:
        discard_reason = reason


def fmt_failure(f):
    text = ext.fmt_failure(f)
    if text is not None:
        return text
    name = f.type.__name__
    msg = "" if issubclass(f.type, AlreadyCalledError) else str(f.value)
    return "F(%s:%s)" % (name, msg) if msg else "F(%s)" % name


def fmt(r):
    if r is None:
        return "None"
    if isinstance(r, Failure):
        return fmt_failure(r)
    if isinstance(r, bool):
        return "?%r" % (r,)
    if isinstance(r, int):
        return str(r)
    if isinstance(r, str):
        return "'%s'" % r
    if isinstance(r, Deferred):
        return "wait D%d" % r._serial
    text = ext.fmt(r)
    return text if text is not None else "?%r" % (r,)


# --- unhandled failures: Twisted's DebugInfo.__del__, reported to the trace --

class TracingDebugInfo(defer.DebugInfo):
    """Twisted creates a DebugInfo lazily and logs from its __del__ (rule
    U3). TDeferred hands it the serial of its deferred; the report goes to
    the trace instead of the log, at exactly the moment Twisted logs."""
    serial = -1

    def __del__(self):
        if self.failResult is not None:
            emit("unhandled D%d %s" % (self.serial, fmt_failure(self.failResult)))


defer.DebugInfo = TracingDebugInfo

class CleanFailure(Failure):
    """A Failure cleaned as soon as it is made. Twisted cleans every
    failure it leaves at the end of a pass (rule U1); until then the
    failure's traceback holds the frames it was raised through, and their
    local variables hold deferreds: a deferred whose failure is still in
    flight is kept alive (and its unhandled report delayed) by the frames
    of d.callback. Our callbacks never look at tracebacks, so cleaning at
    once only makes lifetimes those that libdeferred implements."""

    def __init__(self, *args, **kwargs):
        Failure.__init__(self, *args, **kwargs)
        self.cleanFailure()


defer.Failure = CleanFailure

registry = weakref.WeakValueDictionary()  # serial -> live deferred
running_chains = []  # the `chain` list of each _runCallbacks running


def _patch_run_callbacks():
    """Twisted's own _runCallbacks, with local variables dropped as soon as
    they are dead. CPython keeps a local alive until it is rebound or the
    function returns, so in Twisted the pair just run (`item`, `callback`,
    `args`: a chain_deferred target is held by its bound method) and the
    waiter just handed a result (`chainee`) stay alive until the loop pops
    its next pair or returns; a deferred freed then is reported later than
    libdeferred, which reports when the last real reference goes
    (docs/twisted-programmers.md, difference 7). It also tells the harness
    when a chain_deferred stage has dropped its target (stage_dropped) and
    which deferreds the loop holds (running_chains). The function is
    Twisted's installed source, compiled in defer's namespace, with these
    lines added; if the expected lines are not found, this fails instead of
    guessing."""
    import inspect
    import textwrap
    src = textwrap.dedent(inspect.getsource(Deferred._runCallbacks))
    drop = "item = callback = args = kwargs = None"
    edits = [
        # the CONTINUE hand-off (rule 11)
        ("                chain.append(chainee)\n",
         "                del chainee\n                " + drop + "\n"),
        ("                chain.append(chainee)\n",
         "                _df_handed_off(chainee, current)\n", "before"),
        # after a callback ran (the finally of the call); if it was a
        # chain_deferred stage, its target has lost the stage's reference
        ("                    current._runningCallbacks = False\n",
         "                    _df_target = _df_chain_target(callback)\n"
         "                    " + drop + "\n"),
        # ... which stage_dropped() looks at once the call's exception, if
        # any, has been made the result (its traceback held the target's
        # callback frame, so the target): before the next stage is popped
        # or, after the last, before the end of the pass
        ("            item = current.callbacks.pop(0)\n",
         "            _df_stage_dropped(_df_target, current)\n"
         "            _df_target = None\n", "before"),
        ("        if finished:\n",
         "        _df_stage_dropped(_df_target, current)\n"
         "        _df_target = None\n", "before"),
        # the deferreds this run holds, as libdeferred's loop frames do
        ("    chain: List[Deferred[Any]] = [self]\n",
         "    _df_running_chains.append(chain)\n"
         "    _df_target = None\n"),
    ]
    for old, add, *where in edits:
        if src.count(old) != 1:
            sys.stderr.write("twisted_runner.py: unexpected Twisted "
                             "_runCallbacks source; update "
                             "_patch_run_callbacks\n")
            sys.exit(3)
        src = src.replace(old, add + old if where else old + add)
    # The names the added lines use, put where the compiled function
    # looks for its globals (defer's namespace).
    defer._df_chain_target = chain_target
    defer._df_stage_dropped = stage_dropped
    defer._df_handed_off = handed_off
    defer._df_running_chains = running_chains
    namespace = {}
    exec(compile(src, inspect.getsourcefile(Deferred), "exec"),
         defer.__dict__, namespace)
    run_callbacks = namespace["_runCallbacks"]

    def _runCallbacks(self):
        depth = len(running_chains)
        try:
            run_callbacks(self)
        finally:
            del running_chains[depth:]  # every way out of the loop

    Deferred._runCallbacks = _runCallbacks


def chained(callback):
    """The deferred whose callback or errback `callback` is (the two sides
    of a chain_deferred stage), or None."""
    if getattr(callback, "__func__", None) in (Deferred.callback,
                                               Deferred.errback):
        return callback.__self__
    return None


def held_by_stage(callback):
    """The deferred a stage's callback holds a reference to: a
    chain_deferred target, or one that ext.edges knows of (a DeferredList
    that a member stage holds), or None."""
    target = chained(callback)
    if target is None:
        target = getattr(callback, "__self__", None)
        if not isinstance(target, Deferred):
            return None
    return target


def chain_target(callback):
    """A weak reference to the deferred a stage that has just run held
    (see held_by_stage), or None."""
    target = held_by_stage(callback)
    return weakref.ref(target) if target is not None else None


def stage_dropped(ref, current):
    """A chain_deferred stage of `current` has run: libdeferred drops the
    reference it held on its target there (src/core/deferred.c,
    fire_chained and the end of the chained run), and frees the target at
    once if that leaves it in an unreachable group (a deferred waiting on
    it, say), reporting its unhandled failure before the chaining
    deferred's next stage runs. Python would free that group only when
    gc.collect() ran, at the end of the operation. Torn down here as a
    release would tear it down. If the target's _chainedTo still names
    `current` (the target had fired before, or was paused), it becomes a
    reference, as libdeferred's chained_to does (see TDeferred)."""
    if ref is None or collecting:
        return
    target = ref()
    if target is not None:
        target._df_hold_chained_to(current)
    del target
    with cascading():
        teardown_if_garbage(ref)


def handed_off(chainee, current):
    """The CONTINUE hand-off (rule 11) has given `current`'s result to
    `chainee`: if chainee is paused, its run does not start now, and its
    _chainedTo, if it still names `current`, becomes a reference."""
    if chainee.paused:
        chainee._df_hold_chained_to(current)


_patch_run_callbacks()


class TDeferred(Deferred):
    """A plain Deferred that knows its serial number. _debugInfo is a
    property only so that the DebugInfo Twisted creates can be told which
    deferred it belongs to; it is stored where Twisted would store it (the
    instance dict, when first set)."""

    def __init__(self, serial, canceller=None, register=True):
        Deferred.__init__(self, canceller)
        self._serial = serial
        if register:  # not a deferred of Twisted's own that ours lacks
            registry[serial] = self

    def __del__(self):
        """Free in libdeferred's order (df__deferred_destroy): report an
        unhandled failure, then drop the pending stages first to last
        (which may free, and report, chained or waiting deferreds they
        held), then the result. CPython's own teardown would instead free
        the instance dict in insertion order (callbacks before _debugInfo)
        and a list from its last item to its first, or, in a reference
        cycle, in the collector's order and at its time: the order of reports made while
        one deferred is freed is an artefact of the interpreter, not a
        rule of Twisted's (docs/twisted-programmers.md, difference 7)."""
        info = self.__dict__.get("_dbg")
        if info is not None and info.failResult is not None:
            failure, info.failResult = info.failResult, None
            emit("unhandled D%d %s" % (self._serial, fmt_failure(failure)))
            del failure
        del info
        self._df_release_chained_to()  # before the stages, as destroy_one
        callbacks = self.__dict__.get("callbacks")
        if not callbacks:
            return
        if collecting:
            while callbacks:
                del callbacks[0]
            return
        # A group of deferreds waiting on each other that a stage held is
        # garbage once the stage is dropped: libdeferred frees it then, at
        # once (src/core/collect.c), not at the end of the operation, and
        # whatever freed the deferred whose stage it was: a release, or
        # the stage of another deferred that ran and dropped its last
        # reference (a chain_deferred target, in any operation). So tear
        # such a group down after each stage; the deferreds being torn
        # down still hold their remaining stages. While a release
        # cascades, also collect after each stage. Outside one, the
        # frames of the running operation may still hold deferreds that
        # libdeferred has freed; the collection at the end of the
        # operation checks those.
        with cascading() as in_release:
            dying.append(self)
            try:
                while callbacks:
                    target = stage_target(callbacks[0])
                    del callbacks[0]
                    teardown_if_garbage(target)
                    del target
                    if in_release:
                        check_garbage()
            finally:
                dying.pop()

    # Twisted's _chainedTo is "informational only" (repr and tests) but a
    # strong reference, from a chain_deferred target or a waiter back to
    # the deferred it is chained to. libdeferred's chained_to is borrowed
    # while the edge between the two is there (a waiter's result holds
    # what it waits on; a chaining deferred clears it when freed with its
    # stage: src/core/internal.h), and holds a reference only once that
    # edge is gone before the run that forgets it starts (the target was
    # paused, or had fired before). Held
    # weakly here, and strongly (_chained_strong) exactly then, so that the
    # harness frees deferreds when libdeferred does, instead of when the
    # cycle collector gets to the reference cycle that this back reference
    # makes (whose order of freeing, and so of unhandled reports, is the
    # collector's).
    @property
    def _chainedTo(self):
        ref = self.__dict__.get("_chained_ref")
        return ref() if ref is not None else None

    @_chainedTo.setter
    def _chainedTo(self, other):
        self.__dict__["_chained_ref"] = \
            weakref.ref(other) if other is not None else None
        self._df_release_chained_to()

    def _df_hold_chained_to(self, other):
        """chained_to takes a reference, if it still names `other`."""
        if self._chainedTo is other:
            self.__dict__["_chained_strong"] = other

    def _df_release_chained_to(self):
        """Drop chained_to's reference, if it has one, freeing what that
        leaves unreachable as libdeferred's unref does."""
        held = self.__dict__.pop("_chained_strong", None)
        if held is None:
            return
        ref = weakref.ref(held)
        del held
        if not collecting:
            with cascading():
                teardown_if_garbage(ref)

    @property
    def _debugInfo(self):
        return self.__dict__.get("_dbg")

    @_debugInfo.setter
    def _debugInfo(self, info):
        if info is not None:
            info.serial = self._serial
        self.__dict__["_dbg"] = info


# --- the program -----------------------------------------------------------

table = [None] * MAX_SLOTS


class ParseError(Exception):
    pass


def parse_value(s):
    if s == "None":
        return None
    if len(s) >= 2 and s[0] == "'" and s[-1] == "'":
        return s[1:-1]
    try:
        return int(s)
    except ValueError:
        raise ParseError(s)


def parse_slot(s):
    k = int(s)
    if not 0 <= k < MAX_SLOTS:
        raise ParseError(s)
    return k


SLOT_ACTIONS = ("wait", "cancel", "pause", "unpause", "fire", "err", "add")


def parse_action(s, label):
    """Returns (kind, slot, arg, sub) or None for '-'; a kind of ext's, the
    tuple ext.parse_action makes."""
    if s == "-":
        return None
    if s == "pass":
        return ("pass", None, None, None)
    kind, _, arg = s.partition(":")
    if kind == "ret":
        return ("ret", None, parse_value(arg), None)
    if kind == "fail":
        return ("fail", None, arg, None)
    if kind not in SLOT_ACTIONS:
        return ext.parse_action(kind, arg, label)
    slot, _, rest = arg.partition(":")
    slot = parse_slot(slot)
    if kind in ("wait", "cancel", "pause", "unpause"):
        return (kind, slot, None, None)
    if kind == "fire":
        return (kind, slot, parse_value(rest), None)
    if kind == "err":
        return (kind, slot, rest, None)
    if kind == "add":
        sub = parse_action(rest, label + "a")
        if sub is None or sub[0] not in ("ret", "fail", "pass", "wait"):
            raise ParseError(s)
        return (kind, slot, label + "a", sub)
    raise ParseError(s)


CORE_OPS = ("new", "add", "both", "callback", "errback", "chain", "pause",
            "unpause", "cancel", "release")


def parse_program(lines):
    ops = []
    for index, line in enumerate(lines):
        tok = line.split()
        if len(tok) < 2:
            raise ParseError(line)
        kind = tok[0]
        if kind not in CORE_OPS:
            ops.append(ext.parse_op(tok, line, index))
            continue
        slot = parse_slot(tok[1])
        label = "s%d" % index
        if kind == "new":
            canc = None
            if len(tok) == 3:
                c = tok[2]
                if c == "cancel:none":
                    canc = ("none", None)
                elif c.startswith("cancel:cb:"):
                    canc = ("cb", parse_value(c[10:]))
                elif c.startswith("cancel:eb:"):
                    canc = ("eb", c[10:])
                else:
                    raise ParseError(line)
            elif len(tok) != 2:
                raise ParseError(line)
            ops.append((line, kind, slot, canc))
        elif kind == "add" and len(tok) == 4:
            ops.append((line, kind, slot,
                        (label, parse_action(tok[2], label),
                         parse_action(tok[3], label))))
        elif kind == "both" and len(tok) == 3:
            act = parse_action(tok[2], label)
            if act is None:
                raise ParseError(line)
            ops.append((line, kind, slot, (label, act)))
        elif kind == "callback" and len(tok) == 3:
            ops.append((line, kind, slot, parse_value(tok[2])))
        elif kind == "errback" and len(tok) == 3:
            ops.append((line, kind, slot, tok[2]))
        elif kind == "chain" and len(tok) == 3:
            ops.append((line, kind, slot, parse_slot(tok[2])))
        elif kind in ("pause", "unpause", "cancel", "release") and len(tok) == 2:
            ops.append((line, kind, slot, None))
        else:
            raise ParseError(line)
    return ops


def user_paused(d):
    """libdeferred's df_deferred_paused: Twisted's counter without the
    pause that waiting on another deferred adds (rule 10)."""
    waiting = d.called and isinstance(d.result, Deferred)
    return d.paused - (1 if waiting else 0)


def do_unpause(d):
    # Documented difference 4: libdeferred refuses to unpause below zero.
    if user_paused(d) <= 0:
        return "EINVAL"
    d.unpause()
    return "ok"


def make_canceller(spec):
    kind, arg = spec

    def canceller(d):
        emit("  canceller D%d" % d._serial)
        if kind == "none":
            return
        if kind == "cb":
            d.callback(arg)
        else:
            d.errback(Exception(arg))
        emit("  = ok")

    return canceller


def make_stage(label, act, side):
    """A callback (side 'cb'), errback ('eb') or both (None: the side is
    the kind of the input, as libdeferred's two functions do)."""
    if act is None:
        return None

    def stage(r):
        s = side or ("eb" if isinstance(r, Failure) else "cb")
        emit("call %s %s %s%s" % (label, s, fmt(r), ext.call_suffix()))
        return run_action(act, r, label)

    return stage


def run_action(act, r, label):
    kind, k, arg, sub = act
    if kind == "ret":
        return arg
    if kind == "fail":
        r = None
        raise Exception(arg)
    if kind == "pass":
        return r
    if kind == "wait":
        return action_wait(k, label)
    if kind not in SLOT_ACTIONS:
        return ext.run_action(act, r, label)
    names = {"fire": "callback", "err": "errback", "cancel": "cancel",
             "pause": "pause", "unpause": "unpause", "add": "add"}
    d = table[k]
    if d is None:
        emit("  %s d%d = empty" % (names[kind], k))
        return r
    rc = "ok"
    try:
        if kind == "fire":
            d.callback(arg)
        elif kind == "err":
            d.errback(Exception(arg))
        elif kind == "cancel":
            d.cancel()
        elif kind == "pause":
            d.pause()
        elif kind == "unpause":
            rc = do_unpause(d)
        else:
            stage_owner[arg] = d._serial
            d.addBoth(make_stage(arg, sub, None))
    except AlreadyCalledError:
        rc = "AlreadyCalled"
    d = None
    emit("  %s d%d = %s" % (names[kind], k, rc))
    if rc == "AlreadyCalled":
        # Raised afresh, outside the except block, so that the failure's
        # traceback does not hold the frames of d.callback (and so d).
        r = None
        raise AlreadyCalledError()
    return r


releasing = False  # a release operation is dropping a slot's reference
collecting = False  # inside gc.collect(), called by collect()
dying = []         # deferreds whose __del__ is dropping their stages
collector = []     # groups being freed by teardown_if_garbage

# Stage label -> serial of the deferred it was added to (its "owner"), for
# the checks in action_wait.
stage_owner = {}
next_serial = 0


def action_wait(k, label):
    d = table[k]
    if d is None:
        raise Exception("empty")
    owner = registry.get(stage_owner.get(label, -1))
    if owner is not None:
        # Documented difference 2: returning a deferred that is, or waits
        # on, the deferred whose callback is running (Twisted hangs;
        # libdeferred fails the chain with ChainCycleError).
        r, seen = d, set()
        while r is not None and id(r) not in seen:  # a cycle made earlier
            seen.add(id(r))
            if r is owner:
                discard("cycle: a callback returned its own deferred or one "
                        "waiting on it")
                break
            r = r.result if r.called and isinstance(r.result, Deferred) else None
        r = None
    owner = None
    # Documented difference 8: returning a deferred whose callbacks are
    # running (re-entrancy): Twisted takes its in-flight result,
    # libdeferred waits.
    if (d._runningCallbacks and d.called and d.paused == 0
            and not isinstance(d.result, Deferred)):
        discard("re-entrant: a callback returned a deferred whose callbacks "
                "are running")
    return d


def refs_of(d):
    """The references libdeferred holds from d to other deferreds: chain
    stages ('c'), CONTINUE stages and a waiting result ('w'), and those
    ext knows of that its cycle collection does not see ('o')."""
    edges = []
    for cb, _eb in d.callbacks:
        f = cb[0]
        if f is _CONTINUE:
            edges.append((cb[1][0], "w"))
        else:
            target = chained(f)
            if target is not None:
                edges.append((target, "c"))
    if d.called and isinstance(d.result, Deferred):
        edges.append((d.result, "w"))
    return edges + _chained_ref(d) + ext.edges(d)


def _chained_ref(d):
    """The deferred d's chained_to holds a reference to, as a chain edge."""
    held = d.__dict__.get("_chained_strong")
    return [(held, "c")] if held is not None else []


def opaque_held():
    """The deferreds that a reference ext.edges knows of holds: to
    src/core/collect.c each is held from outside (it cannot tell such a
    reference from a program's), so it never frees a group holding one."""
    return [t for d in list(registry.values()) + dying
            for t, kind in ext.edges(d) if kind == "o"]


def reach(starts, within=None):
    seen = {}
    todo = list(starts)
    while todo:
        d = todo.pop()
        if id(d) in seen or (within is not None and id(d) not in within):
            continue
        seen[id(d)] = d
        todo.extend(t for t, _ in refs_of(d))
    return seen


MAX_CHAIN_EDGES_WALKED = 32  # src/core/collect.c


def outside_held():
    """ids of the deferreds something other than a deferred holds: the
    slots, the deferreds being torn down, the groups being freed, and the
    deferreds a running _runCallbacks holds (libdeferred's loop frames)."""
    held = [d for d in table if d is not None] + dying + \
        [d for group in collector for d in group] + \
        [d for chain in running_chains for d in chain] + ext.roots()
    return held


def _waiting_on(d):
    return [d.result] if d.called and isinstance(d.result, Deferred) else []


def _stage_targets(d, chain=True):
    """Targets of d's CONTINUE stages (and CHAIN stages if `chain`), in
    queue order, each with its kind ('w' or 'c')."""
    out = []
    for item in d.callbacks:
        f = item[0][0]
        if f is _CONTINUE:
            out.append((item[0][1][0], "w"))
        elif chain and chained(f) is not None:
            out.append((f.__self__, "c"))
    return out


def c_group(start, roots, gone=frozenset()):
    """df__collect_if_garbage of src/core/collect.c from `start`: the
    deferreds libdeferred frees, in the order it frees them (maybe none).

    Phase 1 walks the wait component (what a deferred waits on, then its
    CONTINUE stages in queue order) and gives up if a member is held from
    outside. Phase 2 follows chain stages out of it (at most
    MAX_CHAIN_EDGES_WALKED, counted as met), marking members held from
    outside as live and walking the others fully. Phase 3 marks live the
    members that a deferred outside the walked ones refers to, and what live
    members reach; the rest is garbage."""
    group, seen = [start], {id(start)}
    expanded, live = set(), set()

    def visit(t):
        if id(t) not in seen:
            seen.add(id(t))
            group.append(t)

    i = 0
    while i < len(group):                      # phase 1
        d = group[i]
        i += 1
        if id(d) in roots:
            return []
        expanded.add(id(d))
        for t in _waiting_on(d) + [t for t, _ in _stage_targets(d, False)]:
            visit(t)
    phase1_end, chain_edges, i = len(group), 0, 0
    while i < len(group):                      # phase 2
        d = group[i]
        if i < phase1_end:                     # its chain edges only
            stages = [(t, k) for t, k in _stage_targets(d) if k == "c"]
            stages += _chained_ref(d)
        elif id(d) in roots:                   # reached by a chain edge
            live.add(id(d))
            stages = []
        else:                                  # walked fully
            expanded.add(id(d))
            for t in _waiting_on(d):
                visit(t)
            stages = _stage_targets(d) + _chained_ref(d)
        for t, k in stages:
            if k == "c":
                chain_edges += 1
                if chain_edges > MAX_CHAIN_EDGES_WALKED:
                    return []
            visit(t)
        i += 1
    members = {id(m) for m in group}           # phase 3
    for d in list(registry.values()) + dying:
        if id(d) in expanded or id(d) in gone:
            continue
        for t, _ in refs_of(d):
            if id(t) in members:
                live.add(id(t))
    live.update(id(m) for m in group if id(m) in roots)
    work = [m for m in group if id(m) in live]
    while work:
        d = work.pop()
        for t, _ in refs_of(d):
            if id(t) in members and id(t) not in live:
                live.add(id(t))
                work.append(t)
    return [m for m in group if id(m) not in live]


def predict(unreachable):
    """Weak references to the unreachable deferreds libdeferred frees, and
    to those it keeps (see c_group). A deferred held only by references of
    ext.edges from deferreds libdeferred frees goes with them (freeing one
    drops its stages), so the walk is repeated without those holders until
    nothing more is freed."""
    outside = {id(d) for d in outside_held()}
    freed = set()
    while True:
        roots = outside | {id(t) for d in list(registry.values()) + dying
                           if id(d) not in freed
                           for t, kind in ext.edges(d) if kind == "o"}
        more = set(freed)
        for d in unreachable.values():
            if id(d) not in more:
                more.update(id(m) for m in c_group(d, roots, freed))
        if more == freed:
            break
        freed = more
    d = None
    return ([weakref.ref(d) for i, d in unreachable.items() if i in freed],
            [weakref.ref(d) for i, d in unreachable.items() if i not in freed])


def collect():
    global collecting
    collecting = True
    try:
        gc.collect()
    finally:
        collecting = False


@contextlib.contextmanager
def cascading():
    """Set `releasing` while freeing cascades as libdeferred's would (a
    release, a stage dropped, a deferred's stages dropped as it is freed),
    restoring it after; yields whether a release was already cascading."""
    global releasing
    was = releasing
    releasing = True
    try:
        yield was
    finally:
        releasing = was


def release_slot(k):
    """Drop the program's reference in slot k (df_deferred_unref)."""
    target = weakref.ref(table[k])
    with cascading():
        table[k] = None
        teardown_if_garbage(target)


def stage_target(item, edges_only=False):
    """A weak reference to the deferred a pending stage holds, or None;
    with `edges_only`, only a CONTINUE or chain_deferred stage's (the
    edges collect.c cuts)."""
    f, args, _ = item[0]
    if f is _CONTINUE:
        return weakref.ref(args[0])
    target = chained(f) if edges_only else held_by_stage(f)
    return weakref.ref(target) if target is not None else None


def teardown_if_garbage(ref):
    """libdeferred's df__collect_if_garbage, when the deferred `ref` refers
    to has just lost a reference: if the group collect.c walks from it is
    garbage, cut its edges and free its members one by one in collect.c's
    order, so that their unhandled failures are reported in libdeferred's
    order rather than in the cycle collector's."""
    start = ref() if ref is not None else None
    if start is None or not releasing or collecting:
        return
    group = c_group(start, {id(d) for d in outside_held() + opaque_held()})
    del start
    if not group:
        return
    for m in group:  # cut_stage_edge: every edge out of a garbage member
        m.callbacks[:] = [item for item in m.callbacks
                          if stage_target(item, True) is None]
        m.__dict__.pop("_chained_strong", None)  # cut_chained_to
        if m.called and isinstance(m.result, Deferred):
            m.result = None
    m = None
    collector.append(group)  # collect.c holds every member until freed
    try:
        while group:
            del group[0]
    finally:
        collector.pop()


def check_garbage():
    """Collect garbage, and discard the program if Python's collection and
    libdeferred's reference counting free different deferreds.

    libdeferred frees a deferred when no slot reaches it through the
    references it holds (refs_of), except that its cycle collection
    (src/core/collect.c) keeps a garbage group with more than
    MAX_CHAIN_EDGES_WALKED chain links (see c_group). Such programs are
    discarded."""
    alive = list(registry.values())
    reachable = reach(outside_held())
    unreachable = {id(d): d for d in alive if id(d) not in reachable}
    del alive, reachable
    if not unreachable:
        collect()
        return
    expect_free, expect_leak = predict(unreachable)
    # A kept group with a member that a reference of ext.edges holds is
    # kept for that reason (collect.c counts it as held from outside).
    opaque = {id(d) for d in opaque_held()} if expect_leak else set()
    by_opaque = any(id(w()) in opaque for w in expect_leak)
    del unreachable, opaque
    collect()
    if any(w() is not None for w in expect_free):
        discard("python keeps alive: a deferred libdeferred frees is still "
                "referenced (by a failure's traceback)")
    if any(w() is None for w in expect_leak):
        discard(ext.opaque_leak if by_opaque else
                "libdeferred keeps a garbage group of deferreds (collect.c: "
                "more than 32 chain links)")


def run_op(op):
    line, kind, k, arg = op
    if kind not in CORE_OPS:
        ext.run_op(op)
        return
    emit("#" + line)
    if kind == "new":
        if table[k] is not None:
            release_slot(k)
            check_garbage()
        table[k] = ext.new_deferred(make_canceller(arg) if arg else None)
        return
    d = table[k]
    if d is None:
        emit("= empty")
        return
    rc = "ok"
    try:
        if kind == "add":
            label, cb, eb = arg
            stage_owner[label] = d._serial
            d.addCallbacks(make_stage(label, cb, "cb") or defer.passthru,
                           make_stage(label, eb, "eb"))
        elif kind == "both":
            label, act = arg
            stage_owner[label] = d._serial
            d.addBoth(make_stage(label, act, None))
        elif kind == "callback":
            d.callback(arg)
        elif kind == "errback":
            d.errback(Exception(arg))
        elif kind == "pause":
            d.pause()
        elif kind == "unpause":
            rc = do_unpause(d)
        elif kind == "cancel":
            d.cancel()
        elif kind == "chain":
            other = table[arg]
            if other is None:
                rc = "empty"
            elif other is d:
                rc = "EINVAL"
            else:
                d.chainDeferred(other)
            other = None
        elif kind == "release":
            d = None
            release_slot(k)
    except AlreadyCalledError:
        rc = "AlreadyCalled"
    d = None
    check_garbage()
    emit("= " + rc)


def print_slot_state(k):
    """"state dK DN called=.. paused=.. pending=.. result=.." for slot k,
    which holds a deferred."""
    d = table[k]
    res = fmt(d.result) if d.called else "-"
    emit("state d%d D%d called=%d paused=%d pending=%d result=%s" % (
        k, d._serial, 1 if d.called else 0, user_paused(d), ext.pending(d),
        res))


def print_slot_states():
    """That line for every live slot."""
    for k, d in enumerate(table):
        if d is not None:
            print_slot_state(k)


def release_slots():
    """Release every live slot in order ("release dK")."""
    for k in range(MAX_SLOTS):
        if table[k] is None:
            continue
        emit("release d%d" % k)
        release_slot(k)
        check_garbage()


def finish():
    print_slot_states()
    release_slots()


def run_program(lines, finish=finish, abandon=None):
    """The trace of one program. `finish` prints the states and releases
    everything; `abandon` drops what else a discarded program holds."""
    global discard_reason, quiet, next_serial
    del out[:]
    discard_reason = None
    stage_owner.clear()
    next_serial = 0
    try:
        ops = parse_program(lines)
    except (ParseError, ValueError):
        return ["parse error"]
    for op in ops:
        try:
            run_op(op)
        except RecursionError:
            # After a cycle (discarded when it is made, but the operation
            # goes on) Twisted's cancel() recurses down a deferred waiting
            # on itself until Python stops it.
            discard("recursion: Twisted recursed without end")
        if discard_reason is not None:
            break
    if discard_reason is None:
        finish()
    if discard_reason is not None:
        quiet = True
        for k in range(MAX_SLOTS):
            table[k] = None
        if abandon is not None:
            abandon()
        gc.collect()
        quiet = False
        out.append("DISCARD " + discard_reason)
    return out


def main(run=run_program):
    # Twisted warns when a callback returns its own deferred (rule 25); such
    # programs are discarded anyway. "ignore" does not change behaviour
    # ("error" would, rule 27).
    warnings.simplefilter("ignore")
    gc.disable()
    gc.collect()
    gc.freeze()
    write = sys.stdout.write
    lines = []
    for raw in sys.stdin:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == "---":
            if lines:
                write("\n".join(run(lines)) + "\n=== end\n")
            lines = []
            continue
        lines.append(line)
    if lines:
        write("\n".join(run(lines)) + "\n=== end\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
