"""defer_unhandled: its output pinned, and its command line.

    check_defer_unhandled.py DEFER_UNHANDLED EXPECTED_ERR

  - no argument: "Finished" on standard output, exit 0, and on standard
    error the report of defer_unhandled.err exactly, addresses aside
    (0x... in the file): the traceback's and the causal trace's sites
    (file, line, function) are pinned;
  - --help (and -h): the usage line and the help, exit 0;
  - anything else, or anything after --help: one line saying what, the
    usage line, a pointer to --help, exit 2, nothing on standard output.
"""
import re
import subprocess
import sys

USAGE = "usage: defer_unhandled [--help]\n"
failures = []


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def expect(name, result, status, out, err):
    got = (result.returncode, result.stdout, result.stderr)
    if got != (status, out, err):
        failures.append("%s: got %r, expected %r" % (name, got,
                                                     (status, out, err)))


def main():
    demo, expected_err = sys.argv[1:3]
    with open(expected_err) as f:
        report = f.read()
    r = run([demo])
    r.stderr = re.sub(r"0x[0-9a-f]+", "0x...", r.stderr)
    expect("no argument", r, 0, "Finished\n", report)
    for flag in ("--help", "-h"):
        r = run([demo, flag])
        if r.returncode != 0 or r.stderr or not r.stdout.startswith(
                USAGE + "\nThe Twisted tutorial's defer-unhandled.py"):
            failures.append("%s: %d %r %r" % (flag, r.returncode, r.stdout,
                                              r.stderr))
    for argv, what in ((["x"], 'unexpected argument "x"'),
                       (["--verbose"], 'unknown option "--verbose"'),
                       (["--help", "x"], 'unexpected argument "x"'),
                       (["-h", "--help"], 'unknown option "--help"'),
                       ([""], 'unexpected argument ""')):
        expect(" ".join(argv) or "''", run([demo] + argv), 2, "",
               "defer_unhandled: %s\n%stry \"defer_unhandled --help\" for "
               "more\n" % (what, USAGE))
    for f in failures:
        print("FAIL: " + f)
    if failures:
        sys.exit(1)
    print("ok: defer_unhandled's report and command line")


if __name__ == "__main__":
    main()
