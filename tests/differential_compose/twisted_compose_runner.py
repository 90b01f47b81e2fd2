#!/usr/bin/python3
"""The Twisted side of the composition layer's differential test.

Reads programs on stdin (separated by lines "---"), runs each through real
Twisted 22.4 (DeferredLock, DeferredSemaphore, DeferredQueue,
DeferredList, gatherResults here; task.Clock, addTimeout, deferLater and
LoopingCall in twisted_compose_time.py) and prints the same trace as
compose_runner, each ending with "=== end". README.md gives the language
and the trace.

It is tests/differential/twisted_runner.py (imported: its slots, stages,
actions, deferreds with serial numbers and its model of libdeferred's
lifetimes) with the composition layer added through twisted_runner.ext.
Where libdeferred differs from Twisted on purpose, the difference is
either modelled here (and README.md says which, citing
docs/twisted-programmers.md) or the program is abandoned with "DISCARD
<reason>", counted by run.py.
"""
import os
import sys
import weakref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "differential"))
import twisted_runner as core  # noqa: E402  (patches Twisted on import)
import twisted_compose_time as tm  # noqa: E402  (patches task.Clock)

from twisted.internet import defer, task  # noqa: E402
from twisted.internet.defer import (CancelledError, Deferred,  # noqa: E402
                                    DeferredList, DeferredLock,
                                    DeferredQueue, DeferredSemaphore,
                                    FirstError, QueueOverflow, QueueUnderflow)

# Failures are made through defer's Failure, which twisted_runner made the
# failure it cleans at once: Twisted's loop checks results against that
# name, so a plain twisted.python.failure.Failure would not count as one.
Failure = defer.Failure
ParseError = core.ParseError
emit = core.emit
MAX_PRIMS = 4

# --- deferreds: every one the program sees has its serial -------------------

# A deferred made while the runner expects one (it is about to call the
# function that makes the deferred a slot will hold) takes the program's
# next serial, as compose_runner passes the next serial to the library's
# _at functions. Any other is a deferred of Twisted's own that libdeferred
# does not make (maybeDeferred's inside run(), say): it is not in the
# registry, and if one ever showed in a trace it would show as a
# difference.
expecting = [False]
internal_serials = [1000000]


def expect():
    expecting[0] = True


def cancel_expect():
    """The call expected to make a deferred failed without making one."""
    expecting[0] = False


class CDeferred(core.TDeferred):
    """Twisted's Deferred as the program sees it: the class defer.py and
    task.py make (they look `Deferred` up in their module namespace, which
    is patched below)."""

    def __init__(self, canceller=None):
        if expecting[0]:
            expecting[0] = False
            serial, register = core.next_serial, True
            core.next_serial += 1
        else:
            serial, register = internal_serials[0], False
            internal_serials[0] += 1
        core.TDeferred.__init__(self, serial, canceller, register)

    def cancel(self):
        """Deferred.cancel, holding this deferred while it runs, as
        libdeferred's df_deferred_cancel holds every deferred on the way
        down a waiting chain until the canceller returns (Twisted's frames
        do the same), and letting go of it after, innermost first: a group
        that only the cancel held is freed then (the canceller of a
        deferLater cancels its call, which lets go of the deferred)."""
        cancelling.append(self)
        try:
            self._df_cancel()
        finally:
            cancelling.pop()
        dropped(weakref.ref(self))

    _df_cancel = Deferred.cancel


class CDeferredList(CDeferred, DeferredList):
    """Twisted's DeferredList, its member bookkeeping made libdeferred's
    (docs/twisted-programmers.md, differences 14 and 15):

      - the members are held weakly: a member released before it fires
        is freed (and reports its failure) as in libdeferred, whose list
        does not keep its members alive (14);
      - a value that owns memory in libdeferred (a list's result: an
        array, a first result) moves into the list, and the member's
        chain goes on with None, while the list has not fired (13);
      - cancel() walks the members in input order, once, continuing where
        a nested cancel left the walk, and skips those it has recorded
        (15a); a list still unfired after the walk fails with
        CancelledError (15b); a fired list forwards the cancel to a
        deferred it waits on, as every deferred does (15c).

    Recording results and firing are Twisted's own _cbDeferred."""

    def __init__(self, *args, **kwargs):
        DeferredList.__init__(self, *args, **kwargs)
        self._df_members = [weakref.ref(m) for m in self._deferredList]
        self._df_next_cancel = 0
        self._deferredList = []

    def _cbDeferred(self, result, index, succeeded):
        settled = self.called
        result = DeferredList._cbDeferred(self, result, index, succeeded)
        if succeeded and not settled and self.fireOnOneCallback:
            # libdeferred records a first result only in the list's result
            # (src/compose/list.c, record_slow): once that is delivered,
            # the list holds nothing of it (a loop it was is let go).
            self.resultList[index] = (succeeded, None)
        if succeeded and not settled and owns_memory(result):
            return None  # 13
        return result

    def _df_cancel(self):
        if self.called:
            Deferred.cancel(self)  # 15c: forwards to what it waits on
            return
        while self._df_next_cancel < len(self._df_members):
            i = self._df_next_cancel
            self._df_next_cancel += 1
            member = self._df_members[i]()
            if member is not None and self.resultList[i] is None:
                member.cancel()
            member = None
        if not self.called:  # 15b
            self.errback(CancelledError())


def owns_memory(value):
    """Is `value` one whose libdeferred counterpart has a destructor (an
    array or a first result a list fired with)?"""
    return isinstance(value, (list, tuple, task.LoopingCall))


defer.Deferred = CDeferred
defer.DeferredList = CDeferredList
task.Deferred = CDeferred


def new_deferred(canceller):
    expect()
    return CDeferred(canceller)


core.ext.new_deferred = new_deferred


# --- the primitives: Twisted's, with libdeferred's explicit free ---------------

def dropped(ref):
    """A primitive has let go of the deferred `ref` refers to (a waiter it
    fired or failed): libdeferred frees it at once if that leaves it in a
    group of deferreds nothing else holds, as a release does; Python
    would wait for the collection at the end of the operation."""
    with core.cascading():
        core.teardown_if_garbage(ref)


def first_waiter(p):
    """A weak reference to the waiter a release or put hands over to."""
    return weakref.ref(p.waiting[0]) if p.waiting else None


def handing_over(p, f, *args):
    """Call p's release or put, `f`, which may fire its oldest waiter: the
    primitive holds that waiter until the callbacks it fires return, as
    libdeferred's fifo reference does, then lets go of it."""
    ref = first_waiter(p)
    handing.append(ref)
    try:
        f(p, *args)
    finally:
        handing.remove(ref)
    dropped(ref)


class Freeable:
    """A primitive the program frees (docs/twisted-programmers.md, the
    DeferredLock and DeferredQueue rows: freeing fails the waiters with
    CancelledError, oldest first; a run() in progress then releases
    nothing). Python has no free, so this models it; the program's slot
    is emptied first, so nothing in the program can reach a primitive
    being freed but a run() in progress."""
    closed = False
    why_freed = ""

    def free(self):
        self.closed = True
        being_freed.append(self)  # still holds the waiters left
        try:
            while self.waiting:
                ref = weakref.ref(self.waiting[0])
                handing.append(ref)  # held until its errbacks return
                d = self.waiting.pop(0)
                if not d.called:
                    d.errback(CancelledError(self.why_freed))
                d = None
                handing.remove(ref)
                dropped(ref)
        finally:
            being_freed.remove(self)


class Releasing:
    """run()'s release after the function's outcome: libdeferred's
    release_after ignores a refused release (the function released the
    primitive itself) and passes the outcome on unchanged, as lock.h
    says; Twisted's assert would make the AssertionError the outcome."""

    def _releaseAndReturn(self, r):
        try:
            self.release()
        except AssertionError:
            pass
        return r


class ModelLock(Releasing, Freeable, DeferredLock):
    why_freed = "DeferredLock freed while this acquire waited"

    def release(self):
        if not self.closed:
            handing_over(self, DeferredLock.release)


class ModelSemaphore(Releasing, Freeable, DeferredSemaphore):
    why_freed = "DeferredSemaphore freed while this acquire waited"

    def release(self):
        if not self.closed:
            handing_over(self, DeferredSemaphore.release)


class ModelQueue(Freeable, DeferredQueue):
    why_freed = "DeferredQueue freed while this get waited"

    def put(self, obj):
        handing_over(self, DeferredQueue.put, obj)

    def free(self):
        Freeable.free(self)
        del self.pending[:]


locks = [None] * MAX_PRIMS
queues = [None] * MAX_PRIMS
being_freed = []  # primitives out of their slots, failing their waiters
handing = []  # weak references to waiters a primitive is firing


def release_lock(k):
    """df_lock_release / df_semaphore_release: Twisted asserts where
    libdeferred returns DF_EINVAL (nothing changed in either)."""
    lock = locks[k]
    if lock is None:
        return "empty"
    try:
        lock.release()
    except AssertionError:
        return "EINVAL"
    return "ok"


def put(k, item):
    """df_queue_put: QueueOverflow is raised by Twisted, returned by
    libdeferred (nothing changed in either)."""
    q = queues[k]
    if q is None:
        return "empty"
    try:
        q.put(item)
    except QueueOverflow:
        return "QueueOverflow"
    return "ok"


def get(q):
    """df_queue_get: a full backlog is Twisted's QueueUnderflow raised,
    libdeferred's get deferred already failed with it (the message is
    libdeferred's; Twisted's has none)."""
    expect()
    try:
        return q.get()
    except QueueUnderflow:
        pass
    # (out of the except block: its traceback would hold the frames, and
    # what they hold, until it ends)
    expect()
    return defer.fail(QueueUnderflow("too many gets waiting on a DeferredQueue"))


# --- the trace's text ------------------------------------------------------

def fmt_item(x):
    """An entry of a list's result: Twisted's (success, value) pair is
    libdeferred's entry (the value, or the failure)."""
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], bool):
        return core.fmt(x[1])
    return core.fmt(x)


def fmt(r):
    if isinstance(r, list):
        return "[" + ", ".join(fmt_item(x) for x in r) + "]"
    if isinstance(r, tuple) and len(r) == 2:  # fireOnOneCallback's
        return "(%s, %d)" % (core.fmt(r[0]), r[1])
    if isinstance(r, (DeferredLock, DeferredSemaphore)):
        for k, lock in enumerate(locks):
            if lock is r:
                return "L%d" % k
        return "L?"
    return tm.fmt(r)


def fmt_failure(f):
    if f.check(FirstError):
        return "F(FirstError:#%d,%s)" % (f.value.index,
                                         core.fmt_failure(f.value.subFailure))
    return None


core.ext.fmt = fmt
core.ext.fmt_failure = fmt_failure


# --- what libdeferred counts and holds ------------------------------------------

def qualname(f):
    return getattr(f, "__qualname__", "")


# Stages of Twisted's that libdeferred does not have, and so does not
# count in df_deferred_pending_stages: gatherResults'
# _parseDeferredListResult (libdeferred's entries already are the values).
UNCOUNTED_STAGES = ("_parseDeferredListResult",) + tm.UNCOUNTED_STAGES


def pending(d):
    return sum(1 for item in d.callbacks
               if qualname(item[0][0]) not in UNCOUNTED_STAGES and
               qualname(item[1][0]) not in UNCOUNTED_STAGES)


filling = []  # a deferred made, not yet in its slot: fill()
cancelling = []  # the deferreds a cancel() in progress holds


def roots():
    """The deferreds the primitives hold (libdeferred holds a reference to
    each waiter, as Twisted's lists do), and one the runner holds."""
    held = filling + cancelling + tm.roots() + \
        [d for d in (ref() for ref in handing if ref is not None) if d is not None]
    for p in locks + queues + being_freed:
        if p is not None:
            held.extend(p.waiting)
    return held


def edges(d):
    """A member's pending stage holds its DeferredList (libdeferred: the
    stage's hold on the list), a reference collect.c cannot see."""
    out = []
    for item in d.callbacks:
        target = getattr(item[0][0], "__self__", None)
        if isinstance(target, DeferredList):
            out.append((target, "o"))
    return out + tm.edges(d)


core.ext.pending = pending
core.ext.opaque_leak = ("libdeferred keeps a garbage group held by a "
                        "DeferredList's member stage (collect.c sees only "
                        "wait and chain edges)")
core.ext.roots = roots
core.ext.edges = edges


# --- actions ---------------------------------------------------------------

def parse_action(kind, arg, label):
    act = tm.parse_action(kind, arg)
    if act is not None:
        return act
    k, _, rest = arg.partition(":")
    k = parse_prim(k)
    if kind == "unlock" and not rest:
        return ("unlock", k, None, None)
    if kind == "put" and rest:
        return ("put", k, core.parse_value(rest), None)
    raise ParseError(kind)


def run_action(act, r, label):
    kind, k, arg, _ = act
    if kind == "unlock":
        emit("  unlock %d = %s" % (k, release_lock(k)))
    elif kind == "put":
        emit("  put %d = %s" % (k, put(k, arg)))
    else:
        return tm.run_action(act, r)
    return r


core.ext.parse_action = parse_action
core.ext.run_action = run_action
core.ext.call_suffix = tm.call_suffix


# --- operations --------------------------------------------------------------

def parse_prim(s):
    k = int(s)
    if not 0 <= k < MAX_PRIMS:
        raise ParseError(s)
    return k


def parse_limit(s):
    if s == "-":
        return None
    v = int(s)
    if v < 0:
        raise ParseError(s)
    return v


def parse_op(tok, line, index):
    op = tm.parse_op(tok, line, index)
    if op is not None:
        return op
    kind, n = tok[0], len(tok)
    label = "s%d" % index
    if kind == "lock" and n == 2:
        return (line, kind, parse_prim(tok[1]), None)
    if kind == "sem" and n == 3:
        return (line, kind, parse_prim(tok[1]), int(tok[2]))
    if kind in ("unlock", "lfree", "qfree") and n == 2:
        return (line, kind, parse_prim(tok[1]), None)
    if kind == "queue" and n == 4:
        return (line, kind, parse_prim(tok[1]),
                (parse_limit(tok[2]), parse_limit(tok[3])))
    if kind == "put" and n == 3:
        item = tok[2]
        item = ("fail", item[5:]) if item.startswith("fail:") else \
            ("value", core.parse_value(item))
        return (line, kind, parse_prim(tok[1]), item)
    if kind in ("acquire", "get") and n == 3:
        return (line, kind, core.parse_slot(tok[1]), parse_prim(tok[2]))
    if kind == "run" and n == 4:
        act = core.parse_action(tok[3], label)
        if act is None:
            raise ParseError(line)
        return (line, kind, core.parse_slot(tok[1]),
                (parse_prim(tok[2]), label, act))
    if kind in ("list", "gather") and n >= 3:
        flags = tok[2]
        if kind == "gather" and flags not in ("0", "1"):
            raise ParseError(line)
        if kind == "list" and any(c not in "-cex" for c in flags):
            raise ParseError(line)
        members = [core.parse_slot(t) for t in tok[3:]]
        if len(members) > 12:
            raise ParseError(line)
        return (line, kind, core.parse_slot(tok[1]), (flags, members))
    if kind == "show" and n == 2:
        return (line, kind, None, tok[1])
    raise ParseError(line)


def fill(k, d):
    """The slot an operation fills: its old deferred is released after
    the new one is made (compose_runner's order), while the runner holds
    the new one."""
    if core.table[k] is not None:
        filling.append(d)
        try:
            core.release_slot(k)
            core.check_garbage()
        finally:
            filling.pop()
    core.table[k] = d


def show_lock(k):
    lock = locks[k]
    if isinstance(lock, DeferredSemaphore):
        emit("state L%d sem tokens=%d limit=%d waiting=%d"
             % (k, lock.tokens, lock.limit, len(lock.waiting)))
    else:
        emit("state L%d lock locked=%d waiting=%d"
             % (k, 1 if lock.locked else 0, len(lock.waiting)))


def show_queue(k):
    q = queues[k]
    emit("state Q%d queue pending=%d waiting=%d"
         % (k, len(q.pending), len(q.waiting)))


def show(name):
    try:
        k = int(name[1:])
    except ValueError:
        k = -1
    if name[0] == "d" and 0 <= k < core.MAX_SLOTS and core.table[k] is not None:
        core.print_slot_state(k)
    elif name[0] == "L" and 0 <= k < MAX_PRIMS and locks[k] is not None:
        show_lock(k)
    elif name[0] == "Q" and 0 <= k < MAX_PRIMS and queues[k] is not None:
        show_queue(k)
    elif not tm.show(name):
        emit("= empty")


def run_op(op):
    line, kind, k, arg = op
    emit("#" + line)
    rc = "ok"
    if kind == "lock":
        locks[k] = ModelLock()
    elif kind == "sem":
        try:
            locks[k] = ModelSemaphore(arg)
        except ValueError:  # Twisted's ValueError, libdeferred's DF_EINVAL
            locks[k] = None
            rc = "EINVAL"
    elif kind == "queue":
        queues[k] = ModelQueue(*arg)
    elif kind in ("lfree", "qfree"):
        table = locks if kind == "lfree" else queues
        p = table[k]
        if p is None:
            rc = "empty"
        else:
            table[k] = None  # the slot first, as compose_runner's
            p.free()
        p = None
    elif kind == "unlock":
        rc = release_lock(k)
    elif kind == "put":
        how, item = arg
        rc = put(k, Failure(Exception(item)) if how == "fail" else item)
    elif kind == "acquire":
        lock = locks[arg]
        if lock is None:
            rc = "empty"
        else:
            expect()
            fill(k, lock.acquire())
        lock = None
    elif kind == "run":
        lock = locks[arg[0]]
        if lock is None:
            rc = "empty"
        else:
            label, act = arg[1], arg[2]
            core.stage_owner[label] = core.next_serial  # the run deferred
            expect()
            fill(k, lock.run(tm.plain_function(label, act)))
        lock = None
    elif kind == "get":
        q = queues[arg]
        if q is None:
            rc = "empty"
        else:
            fill(k, get(q))
        q = None
    elif kind in ("list", "gather"):
        flags, slots = arg
        members = [core.table[m] for m in slots]
        if any(m is None for m in members):
            rc = "empty"
        else:
            expect()
            if kind == "list":
                d = CDeferredList(members, fireOnOneCallback="c" in flags,
                                  fireOnOneErrback="e" in flags,
                                  consumeErrors="x" in flags)
            else:
                d = defer.gatherResults(members, consumeErrors=flags == "1")
            members = None  # before the slot's old deferred is released
            fill(k, d)
            d = None
        members = None
    elif kind == "show":
        show(arg)
        return
    else:
        rc = tm.run_op(kind, k, arg)
    core.check_garbage()
    emit("= " + rc)


core.ext.parse_op = parse_op
core.ext.run_op = run_op


# --- a program ------------------------------------------------------------------

def finish():
    core.print_slot_states()
    for k in range(MAX_PRIMS):
        if locks[k] is not None:
            show_lock(k)
    for k in range(MAX_PRIMS):
        if queues[k] is not None:
            show_queue(k)
    tm.print_states()
    core.release_slots()
    for table, name in ((locks, "L"), (queues, "Q")):
        for k in range(MAX_PRIMS):
            p = table[k]
            if p is None:
                continue
            emit("free %s%d" % (name, k))
            table[k] = None
            p.free()
            p = None
            core.check_garbage()
    tm.end()


def abandon():
    """A discarded program: drop everything without a trace."""
    for table in (locks, queues):
        for k in range(MAX_PRIMS):
            table[k] = None
    tm.abandon()


def run_program(lines):
    expecting[0] = False
    tm.begin()
    return core.run_program(lines, finish, abandon)


class Helpers:
    """What twisted_compose_time.py uses of this module."""
    fill = staticmethod(lambda k, d: fill(k, d))
    expect = staticmethod(expect)
    cancel_expect = staticmethod(cancel_expect)
    dropped = staticmethod(lambda ref: dropped(ref))
    discard = staticmethod(core.discard)


tm.helpers = Helpers


if __name__ == "__main__":
    core.main(run_program)
