#!/usr/bin/env python3
"""An independent rendering of the input and drawing rules of
docs/deferred-sim.md ("The input, exactly", "How the drawing is made").

Written from those rules alone, without looking at the C code, to
check the expected outputs of the cases in cases/ and to compare with
deferred-sim on random chains (sim_random). It models the firing rules
itself, which deferred-sim must not do; that is the point of an oracle.

With --trace, the drawing is followed by the two firing logs that
docs/deferred-sim.md describes ("--trace: the firing logs").

usage: oracle.py [--narrow] [--trace] < input
       (prints what stdout/stderr/exit must be)
"""
import sys

B = 18
W = 2 * B + 2
SPACES = " \t\v\f"
NAMES = ["return", "fail", "passthru"]


class Canvas:
    def __init__(self):
        self.cells = {}

    def put(self, x, y, s):
        for i, ch in enumerate(s):
            self.cells[(x + i, y)] = ch

    def render(self):
        if not self.cells:
            return "\n"
        w = max(x for x, _ in self.cells) + 1
        h = max(y for _, y in self.cells) + 1
        rows = ["".join(self.cells.get((x, y), " ") for x in range(w))
                for y in range(h)]
        return "".join(r + "\n" for r in rows) + "\n"


def center(text, w):
    if len(text) >= w:
        return text
    m = w - len(text)
    left = m // 2 + (1 if m % 2 and w % 2 else 0)
    return " " * left + text + " " * (m - left)


def box(c, x, y):
    c.put(x, y, "-" * B)
    c.put(x, y + 4, "-" * B)
    for r in range(y + 1, y + 4):
        c.put(x, r, "|")
        c.put(x + B - 1, r, "|")


def box_text(c, x, r, t):
    c.put(x + 1, r, center(t, B - 2))


def caption(m):
    return m[0] if m[0] == "passthru" else m[0] + " " + m[1]


def chain(c, x, y, pairs):
    for i, (cb, eb) in enumerate(pairs):
        box(c, x, y + 8 * i)
        box_text(c, x, y + 8 * i + 2, caption(cb))
        box(c, x + B + 2, y + 8 * i)
        box_text(c, x + B + 2, y + 8 * i + 2, caption(eb))


def shown(v):
    return v[0] + "*" if v[1] else v[0]


def run(m, v):
    if m[0] == "return":
        return (m[1], False)
    if m[0] == "fail":
        return (m[1], True)
    return v


def vline(c, cx, cy, h, arrow=False):
    for i in range(h):
        c.put(cx, cy + i, "|")
    if arrow:
        c.put(cx - 1, cy + h - 1, "\\")
        c.put(cx + 1, cy + h - 1, "/")


def firing(c, x, y, pairs, value):
    ex = x + B + 2
    cm = x - 1 + B // 2
    em = ex - 1 + B // 2
    st = {}

    def draw_value(v, r):
        if v[1]:
            c.put(ex - 10, r, center(shown(v), B + 20))
        else:
            c.put(x, r, center(shown(v), B))

    def connect(mx):
        lx, ly = st["x"], st["y"]
        if lx == mx:
            vline(c, mx - 1 + B // 2, ly - 3, 3, True)
            return
        if lx < mx:
            vline(c, cm, ly - 3, 2)
            vline(c, em, ly - 2, 2, True)
        else:
            vline(c, em, ly - 3, 2)
            vline(c, cm, ly - 2, 2, True)
        c.put(cm + 1, ly - 2, "-" * (em - cm - 1))

    draw_value(value, y)
    st["x"] = ex if value[1] else x
    st["y"] = y + 4
    for cb, eb in pairs:
        m = eb if value[1] else cb
        mx = ex if value[1] else x
        out = run(m, value)
        box(c, mx, st["y"])
        box_text(c, mx, st["y"] + 1, shown(value))
        box_text(c, mx, st["y"] + 3, shown(out))
        connect(mx)
        st["x"] = mx
        st["y"] += 8
        value = out
    draw_value(value, st["y"])
    connect(ex if value[1] else x)


def title(c, x, y, t):
    c.put(x, y, center(t, W))
    c.put(x, y + 1, center("-" * len(t), W))


def draw(pairs, narrow):
    ok, bad = ("initial", False), ("initial", True)
    if narrow:
        a, b, d = Canvas(), Canvas(), Canvas()
        title(a, 0, 1, "Deferred")
        chain(a, 0, 4, pairs)
        title(b, 0, 2, "d.callback(initial)")
        firing(b, 0, 5, pairs, ok)
        title(d, 0, 2, "d.errback(initial*)")
        firing(d, 0, 5, pairs, bad)
        return a.render() + b.render() + d.render()
    c = Canvas()
    n = len(pairs)
    h = 5 * n + 3 * (n - 1)
    title(c, 0, 0, "Deferred")
    title(c, W + 6, 0, "d.callback(initial)")
    title(c, 2 * (W + 6), 0, "d.errback(initial*)")
    chain(c, 0, 7, pairs)
    firing(c, W + 6, 3, pairs, ok)
    firing(c, 2 * (W + 6), 3, pairs, bad)
    vline(c, W + 3, 3, h + 8)
    vline(c, 2 * W + 9, 3, h + 8)
    return c.render()


def firing_log(title, pairs, value):
    """The --trace log of one firing: one line per stage, in order."""
    lines = ["Firing log of %s:" % title, "  fired with " + shown(value)]
    for i, (cb, eb) in enumerate(pairs):
        side, m = ("errback", eb) if value[1] else ("callback", cb)
        out = run(m, value)
        lines.append('  stage %d: %s "%s" got %s, returned %s'
                     % (i, side, caption(m), shown(value), shown(out)))
        value = out
    lines.append("  the chain ended with " + shown(value))
    return "".join(line + "\n" for line in lines) + "\n"


def logs(pairs):
    return (firing_log("d.callback(initial)", pairs, ("initial", False)) +
            firing_log("d.errback(initial*)", pairs, ("initial", True)))


def command(word):
    for name in NAMES:
        if name.startswith(word.lower()) and word.isascii():
            return name
    return None


def quoted(word):
    """A word as an error message quotes it: at most 80 bytes of UTF-8,
    cut between characters, with "..." when cut."""
    data = word.encode("utf-8")
    if len(data) <= 80:
        return '"%s"' % word
    cut = data[:80].decode("utf-8", "ignore")
    return '"%s..."' % cut


def parse_line(line):
    """Returns a pair or raises ValueError(WHAT)."""
    words = line
    for s in SPACES:
        words = words.replace(s, " ")
    words = [w for w in words.split(" ") if w]
    pair = []
    for _ in range(2):
        if not words:
            raise ValueError("missing command")
        word = words.pop(0)
        name = command(word)
        if name is None:
            raise ValueError("unknown command " + quoted(word))
        if name == "passthru":
            pair.append((name, None))
            continue
        if not words:
            raise ValueError("missing value after " + quoted(word))
        value = words.pop(0)
        if len(value) > 6:
            raise ValueError("value %s is longer than 6 characters"
                             % quoted(value))
        pair.append((name, value))
    if words:
        raise ValueError("unexpected %s after the pair" % quoted(words[0]))
    return tuple(pair)


def simulate(data, narrow, trace=False):
    """data: bytes. Returns (stdout bytes, stderr bytes, status)."""
    err = []
    pairs = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the text after the last line feed is no line
    for n, raw in enumerate(lines, 1):
        had_newline = n < len(lines) or data.endswith(b"\n")
        if had_newline and raw.endswith(b"\r"):
            raw = raw[:-1]
        if raw == b"":
            if pairs:
                break
            err.append("line %d: empty line, but no pair yet" % n)
            continue
        try:
            text = raw.decode("utf-8", "strict")
        except UnicodeDecodeError:
            err.append("line %d: not valid UTF-8" % n)
            continue
        try:
            pairs.append(parse_line(text))
        except ValueError as e:
            err.append("line %d: %s" % (n, e))
    if not pairs:
        err.append("deferred-sim: no valid pair: nothing to draw")
        return b"", "".join(e + "\n" for e in err).encode(), 1
    out = draw(pairs, narrow)
    if trace:
        out += logs(pairs)
    out = out.encode("utf-8", "surrogatepass")
    return out, "".join(e + "\n" for e in err).encode("utf-8"), 0


if __name__ == "__main__":
    narrow = "--narrow" in sys.argv[1:]
    trace = "--trace" in sys.argv[1:]
    out, err, status = simulate(sys.stdin.buffer.read(), narrow, trace)
    sys.stdout.buffer.write(out)
    sys.stderr.buffer.write(err)
    sys.exit(status)
