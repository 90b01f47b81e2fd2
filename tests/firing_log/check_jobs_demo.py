"""jobs-demo end to end: its account, its firing log rendered and parsed.

    check_jobs_demo.py JOBS_DEMO EXPECTED_OUT WORK_DIR

Runs jobs-demo --dot --trace and checks:
  - the account on stdout is tests/firing_log/jobs_demo.out, line for line
    (the run is on the test clock: always the same);
  - `dot -Tsvg` renders the graph, the SVG parses (xml.etree), and it has
    one cluster per deferred of the log, each titled with its serial and
    creation site, the stage names of the workload, and the chain left
    waiting;
  - the trace parses (json), every event has name, ph, ts, pid and tid,
    each deferred has one track named by a thread_name event, every other
    event is on one of those tracks, each flow has one start and one end,
    and otherData counts what the log held;
  - --dump-waiting lists the two deferreds of the step that hangs, and
    nothing is left at exit;
  - --help; a bad option, an option given twice, one file named for both
    outputs under any two names or for one of them and standard output
    (exit 2, nothing overwritten);
    a file that cannot be written, and a full standard output (exit 1,
    with the reason).
Exits 77 (skipped) if Graphviz's dot is not installed.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(args, stdout_path=None):
    if stdout_path is None:
        return subprocess.run(args, capture_output=True, text=True,
                              timeout=60)
    with open(stdout_path, "w") as out:
        return subprocess.run(args, stdout=out, stderr=subprocess.PIPE,
                              text=True, timeout=60)


def check_account(demo, expected_path, dot_path, trace_path):
    result = run([demo, "--dot", dot_path, "--trace", trace_path])
    if result.returncode != 0:
        fail("jobs-demo exited %d: %s" % (result.returncode, result.stderr))
    if result.stderr:
        fail("jobs-demo wrote to stderr: " + result.stderr)
    with open(expected_path, encoding="utf-8") as f:
        expected = f.read()
    wrote = ("wrote the graph to %s\nwrote the trace to %s\n"
             % (dot_path, trace_path))
    if result.stdout != expected + wrote:
        fail("the account differs:\n--- got\n%s--- expected\n%s%s"
             % (result.stdout, expected, wrote))
    counts = re.search(r"firing log: (\d+) events about (\d+) deferreds, "
                       r"(\d+) dropped", expected)
    return [int(n) for n in counts.groups()]


def check_svg(dot, dot_path, svg_path, deferreds):
    result = run([dot, "-Tsvg", dot_path, "-o", svg_path])
    if result.returncode != 0:
        fail("dot failed: " + result.stderr)
    if result.stderr:
        fail("dot warned: " + result.stderr)
    root = ET.parse(svg_path).getroot()
    if root.tag != SVG + "svg":
        fail("not an SVG document: " + root.tag)
    clusters = {}
    for g in root.iter(SVG + "g"):
        if g.get("class") == "cluster":
            title = g.find(SVG + "title").text
            text = " ".join(t.text or "" for t in g.iter(SVG + "text"))
            clusters[title] = text
    if sorted(clusters) != sorted("cluster_%d" % i for i in range(deferreds)):
        fail("clusters %s, expected %d" % (sorted(clusters), deferreds))
    for title, text in clusters.items():
        if not re.match(r"Deferred#\d+ examples/jobs_demo\.c:\d+ in \w+|"
                        r"Deferred#\d+ src/compose/\w+\.c:\d+ in \w+", text):
            fail("cluster %s is titled %r" % (title, text[:80]))
    words = " ".join(t.text or "" for t in root.iter(SVG + "text"))
    for name in ("job_done", "job_failed", "release_and_return", "addTimeout",
                 "mirror_lost", "got_config", "TimeoutError", "fired at",
                 "still waiting on Deferred#", "never seen firing"):
        if name not in words:
            fail("no %r in the rendered graph" % name)


def check_trace(trace_path, events, deferreds, dropped):
    with open(trace_path, encoding="utf-8") as f:
        trace = json.load(f)
    if set(trace) != {"traceEvents", "displayTimeUnit", "otherData"}:
        fail("top-level keys %s" % sorted(trace))
    other = trace["otherData"]
    if (other["events"], other["deferreds"], other["dropped_events"]) != (
            events, deferreds, dropped):
        fail("otherData %s" % other)
    tracks = {}
    flows = {}
    recorded = 0
    for e in trace["traceEvents"]:
        for key in ("name", "ph", "ts", "pid", "tid"):
            if key not in e:
                fail("an event without %r: %s" % (key, e))
        if not isinstance(e["ts"], (int, float)) or e["pid"] != 1:
            fail("bad ts or pid: %s" % e)
        if e["ph"] == "M":
            if e["name"] == "thread_name":
                if e["tid"] in tracks:
                    fail("two names for track %s" % e["tid"])
                tracks[e["tid"]] = e["args"]["name"]
            continue
        if e["ph"] != "X" or e.get("dur", -1) < 0:
            fail("not a complete event: %s" % e)
        if e["tid"] not in tracks:
            fail("an event on an unnamed track: %s" % e)
        if not re.match(r"Deferred#%d " % e["tid"], tracks[e["tid"]]):
            fail("track %s is named %r" % (e["tid"], tracks[e["tid"]]))
        if "bind_id" in e:
            side = "in" if e.get("flow_in") else "out"
            flows.setdefault(e["bind_id"], []).append(side)
        if e["name"] != "got result":  # a hand-off's second half
            recorded += 1
    if len(tracks) != deferreds:
        fail("%d tracks for %d deferreds" % (len(tracks), deferreds))
    if recorded != events:
        fail("%d events in the trace, %d in the log" % (recorded, events))
    if not flows or any(sorted(v) != ["in", "out"] for v in flows.values()):
        fail("flows %s" % flows)
    waits = [e for e in trace["traceEvents"] if e.get("cat") == "wait"]
    if not waits or not any(e["dur"] > 0 for e in waits):
        fail("no wait lasting some time: %s" % waits)
    if [e["args"]["ended"] for e in waits].count(
            "not by the end of the log") != 1:
        fail("not one wait left open (deploy's): %s" % waits)
    names = {e["name"] for e in trace["traceEvents"]}
    for name in ("fired", "job_done", "job_failed", "addTimeout", "handed off",
                 "got result", "finished", "mirror_lost"):
        if name not in names:
            fail("no %r event in the trace" % name)


def check_command_line(demo, work):
    result = run([demo, "--help"])
    if result.returncode != 0 or not result.stdout.startswith(
            "usage: jobs-demo [--dot FILE] [--trace FILE] [--events] "
            "[--dump-waiting]\n"):
        fail("--help: %d %r" % (result.returncode, result.stdout[:80]))
    result = run([demo, "--bogus"])
    if (result.returncode, result.stdout, result.stderr) != (
            2, "", 'jobs-demo: unknown option "--bogus"\n'
            "usage: jobs-demo [--dot FILE] [--trace FILE] [--events] "
            "[--dump-waiting]\n"
            'try "jobs-demo --help" for more\n'):
        fail("--bogus: %d %r %r" % (result.returncode, result.stdout,
                                    result.stderr))
    result = run([demo, "--dot"])
    if result.returncode != 2 or "--dot needs a FILE" not in result.stderr:
        fail("--dot without FILE: %d %r" % (result.returncode, result.stderr))
    same = os.path.join(work, "same.out")
    result = run([demo, "--dot", same, "--trace", same])
    if result.returncode != 2 or "are the same file" not in result.stderr:
        fail("--dot and --trace on one file: %d %r" % (result.returncode,
                                                       result.stderr))
    # One file under two names (a path with "./", a hard link, a symbolic
    # link), or standard output's own file: refused before anything is
    # written, and a file that was there keeps its contents.
    kept = os.path.join(work, "kept.out")
    for other in (os.path.join(work, ".", "kept.out"),
                  os.path.join(work, "kept.link"),
                  os.path.join(work, "kept.symlink")):
        with open(kept, "w") as f:
            f.write("keep me\n")
        for name in ("kept.link", "kept.symlink"):
            if os.path.lexists(os.path.join(work, name)):
                os.unlink(os.path.join(work, name))
        os.link(kept, os.path.join(work, "kept.link"))
        os.symlink("kept.out", os.path.join(work, "kept.symlink"))
        result = run([demo, "--dot", kept, "--trace", other])
        want = ('jobs-demo: --dot "%s" and --trace "%s" are the same file\n'
                "usage: jobs-demo [--dot FILE] [--trace FILE] [--events] "
                "[--dump-waiting]\n"
                'try "jobs-demo --help" for more\n' % (kept, other))
        if (result.returncode, result.stdout, result.stderr) != (2, "", want):
            fail("--dot %s --trace %s: %d %r %r" % (
                kept, other, result.returncode, result.stdout, result.stderr))
        with open(kept) as f:
            if f.read() != "keep me\n":
                fail("--dot and --trace on one file: its contents were lost")
    result = run([demo, "--trace", kept], stdout_path=kept)
    with open(kept) as f:
        written = f.read()
    if (result.returncode != 2 or written != "" or result.stderr !=
            'jobs-demo: --trace "%s" is standard output\n'
            "usage: jobs-demo [--dot FILE] [--trace FILE] [--events] "
            "[--dump-waiting]\n"
            'try "jobs-demo --help" for more\n' % kept):
        fail("--trace on standard output's file: %d %r %r" % (
            result.returncode, written, result.stderr))
    for option in ("--dot", "--trace"):
        a, b = os.path.join(work, "a.out"), os.path.join(work, "b.out")
        result = run([demo, option, a, option, b])
        if (result.returncode, result.stdout, result.stderr) != (
                2, "", "jobs-demo: %s given twice (\"%s\", then \"%s\")\n"
                "usage: jobs-demo [--dot FILE] [--trace FILE] [--events] "
                "[--dump-waiting]\n"
                'try "jobs-demo --help" for more\n' % (option, a, b)):
            fail("%s twice: %d %r %r" % (option, result.returncode,
                                        result.stdout, result.stderr))
        if os.path.exists(a) or os.path.exists(b):
            fail("%s twice: a file was made" % option)
    if os.path.exists("/dev/full"):
        result = run([demo, "--events"], stdout_path="/dev/full")
        if (result.returncode != 1 or result.stderr !=
                "jobs-demo: cannot write to standard output: "
                "No space left on device\n"):
            fail("stdout full: %d %r" % (result.returncode, result.stderr))
    missing = os.path.join(work, "no-such-dir", "jobs.dot")
    result = run([demo, "--dot", missing])
    if (result.returncode, result.stdout, result.stderr) != (
            1, "", 'jobs-demo: cannot write "%s": No such file or directory\n'
            % missing):
        fail("unwritable: %d %r %r" % (result.returncode, result.stdout,
                                       result.stderr))
    result = run([demo, "--dump-waiting"])
    dump = re.search(
        r"\nlibdeferred \(debug mode\): 2 deferreds still waiting, oldest "
        r"first:\n"
        r"  <Deferred at 0x[0-9a-f]+> \(created at examples/jobs_demo\.c:\d+ "
        r"in deploy\) was never fired\n"
        r"  <Deferred at 0x[0-9a-f]+> \(created at examples/jobs_demo\.c:\d+ "
        r"in deploy\) waits on <Deferred at 0x[0-9a-f]+> \(created at "
        r"examples/jobs_demo\.c:\d+ in deploy\)\nfiring log: ", result.stdout)
    if result.returncode != 0 or result.stderr or not dump:
        fail("--dump-waiting: %d %r %r" % (result.returncode, result.stdout,
                                           result.stderr))
    result = run([demo, "--events"])
    lines = result.stdout.splitlines()
    header = [i for i, l in enumerate(lines) if l.startswith("# firing log:")]
    if result.returncode != 0 or len(header) != 1 or not all(
            l.startswith("[") for l in lines[header[0] + 1:]):
        fail("--events: %d %r" % (result.returncode, result.stdout[-200:]))


def main():
    demo, expected, work = sys.argv[1:4]
    dot = shutil.which("dot")
    if not dot:
        print("SKIP: Graphviz's dot is not installed (Debian: graphviz)")
        sys.exit(77)
    os.makedirs(work, exist_ok=True)
    dot_path = os.path.join(work, "jobs.dot")
    trace_path = os.path.join(work, "jobs.json")
    events, deferreds, dropped = check_account(demo, expected, dot_path,
                                               trace_path)
    check_svg(dot, dot_path, os.path.join(work, "jobs.svg"), deferreds)
    check_trace(trace_path, events, deferreds, dropped)
    check_command_line(demo, work)
    print("ok: %d events about %d deferreds, rendered and parsed"
          % (events, deferreds))


if __name__ == "__main__":
    main()
