#!/usr/bin/python3
"""The Twisted side of the DeferredList comparison.

Reads programs on stdin (separated by lines "---"), runs each through real
Twisted 22.4 (DeferredList, gatherResults) and prints the same trace as
list_runner.c, each ending with "=== end". Formats: README.md.

One documented difference is modelled here rather than discarded
(docs/twisted-programmers.md, difference 15b): libdeferred fails a list
that is still unfired after its members were cancelled with CancelledError,
where Twisted's DeferredList stays unfired.
"""
import sys

try:
    from twisted.internet.defer import (AlreadyCalledError, CancelledError,
                                        Deferred, DeferredList, FirstError,
                                        gatherResults)
    from twisted.python.failure import Failure
except ImportError as e:  # run.py checks this first and explains
    sys.stderr.write("twisted_list_runner.py: cannot import Twisted: %s\n" % e)
    sys.exit(3)


def fmt(r):
    if isinstance(r, Failure):
        if r.check(FirstError):
            return "F(FirstError:#%d,%s)" % (r.value.index,
                                             fmt(r.value.subFailure))
        return "F(%s:%s)" % (r.type.__name__, r.value)
    if isinstance(r, bool):
        return "True" if r else "False"
    if isinstance(r, list):
        return "[" + ", ".join(fmt(x) for x in r) + "]"
    if isinstance(r, tuple):
        return "(" + ", ".join(fmt(x) for x in r) + ")"
    if isinstance(r, str):
        return "'%s'" % r
    return str(r)


def value(text):
    return text[1:-1] if text.startswith("'") else int(text)


def log_stage(label):
    def log(r):
        print("%s %s" % (label, fmt(r)))
        return r
    return log


def eat_stage(label):
    def eat(r):
        print("%s eat %s" % (label, fmt(r)))
    return eat


def make_canceller(k, spec):
    def canceller(d):
        print("canceller m%d" % k)
        if spec is not None:
            d.callback(value(spec))
    return canceller


def fire(d, how):
    try:
        how()
        print("= ok")
    except AlreadyCalledError:
        print("= AlreadyCalled")


def run_line(line, members, lists):
    w = line.split()
    if not w:
        return
    k = int(w[1]) if len(w) > 1 else 0
    op = w[0]
    if op == "new":
        if len(w) > 2 and w[2] == "cancel:none":
            members[k] = Deferred(make_canceller(k, None))
        elif len(w) > 2 and w[2].startswith("cancel:cb:"):
            members[k] = Deferred(make_canceller(k, w[2][len("cancel:cb:"):]))
        else:
            members[k] = Deferred()
    elif op == "fire":
        fire(members[k], lambda: members[k].callback(value(w[2])))
    elif op == "fail":
        fire(members[k], lambda: members[k].errback(Failure(Exception(w[2]))))
    elif op == "log":
        members[k].addBoth(log_stage("m%d" % k))
    elif op == "eat":
        members[k].addErrback(eat_stage("m%d" % k))
    elif op == "pause":
        members[k].pause()
    elif op == "unpause":
        members[k].unpause()
    elif op == "cancel":
        members[k].cancel()
    elif op in ("list", "gather"):
        ds = [members[int(i)] for i in w[3:]]
        if op == "gather":
            lists[k] = gatherResults(ds, consumeErrors=w[2] == "1")
        else:
            lists[k] = DeferredList(ds, fireOnOneCallback="c" in w[2],
                                    fireOnOneErrback="e" in w[2],
                                    consumeErrors="x" in w[2])
    elif op == "logl":
        lists[k].addBoth(log_stage("l%d" % k))
    elif op == "eatl":
        lists[k].addErrback(eat_stage("l%d" % k))
    elif op == "cancell":
        lists[k].cancel()
        if not lists[k].called:  # difference 15b
            Deferred.errback(lists[k], Failure(CancelledError()))
    else:
        print("bad line: %s" % op)


def state(name, d):
    result = fmt(d.result) if d.called else "-"
    print("state %s called=%d paused=%d result=%s"
          % (name, d.called, d.paused, result))


def run_program(lines):
    members, lists = {}, {}
    for line in lines:
        sys.stdout.write("#" + line)
        run_line(line, members, lists)
    for k in sorted(members):
        state("m%d" % k, members[k])
    for k in sorted(lists):
        state("l%d" % k, lists[k])
    print("=== end")


def main():
    lines = []
    for line in sys.stdin:
        if line == "---\n":
            run_program(lines)
            lines = []
        else:
            lines.append(line)
    if lines:
        run_program(lines)


if __name__ == "__main__":
    main()
