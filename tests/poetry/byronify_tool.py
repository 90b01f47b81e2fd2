"""byronify's command line: exit statuses, standard output and the exact
messages on standard error, for every kind of outcome (byronify.1, EXIT
STATUS).

usage: byronify_tool.py BYRONIFY POEMS_DIR GOLDEN_DIR

Each case runs the tool once with a timeout (an input that made it hang
fails the case). Prints one line per failed case and exits 1 if any
failed.
"""
import os
import subprocess
import sys
import tempfile

BIN, POEMS, GOLDEN = (os.path.abspath(a) for a in sys.argv[1:4])
USAGE = ("usage: byronify [--fault-rate R --seed S] [FILE] "
         "(try 'byronify --help')\n")
failures = []


def run(args, stdin=b"", stdout=subprocess.PIPE, cwd=None, closed=()):
    """The tool's result; a run past 20 s is killed and has status None.
    `closed`: the standard descriptors it starts without."""
    how = {"input": stdin} if isinstance(stdin, bytes) else {"stdin": stdin}
    if closed:
        how["preexec_fn"] = lambda: [os.close(fd) for fd in closed]
    try:
        return subprocess.run([BIN] + args, stdout=stdout,
                              stderr=subprocess.PIPE, timeout=20, cwd=cwd,
                              **how)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(e.cmd, None, e.stdout or b"",
                                           e.stderr or b"timed out")


def check(name, result, status, out=b"", err=""):
    problems = []
    if result.returncode != status:
        problems.append(f"exit status {result.returncode}, expected {status}")
    if out is not None and result.stdout != out:
        problems.append(f"standard output {result.stdout[:200]!r}, "
                        f"expected {out[:200]!r}")
    got_err = result.stderr.decode("utf-8", "replace")
    if got_err != err:
        problems.append(f"standard error {got_err!r}, expected {err!r}")
    for p in problems:
        failures.append(f"{name}: {p}")


def usage_error(name, args, message):
    check(name, run(args), 2, b"", f"byronify: {message}\n{USAGE}")


science = os.path.join(POEMS, "science.txt")
with open(os.path.join(GOLDEN, "science.txt"), "rb") as f:
    science_out = f.read()
with open(science, "rb") as f:
    science_in = f.read()

# --- help and version ------------------------------------------------------
for flag in ("--help", "-h"):
    r = run([flag])
    check(flag, r, 0, None)
    text = r.stdout.decode()
    if not text.startswith("usage: byronify [--fault-rate R --seed S] [FILE]\n"):
        failures.append(f"{flag}: does not start with the usage line")
    for part in ("--fault-rate R", "--seed S", "GibberishError",
                 "CannotByronifyError", "Exit status: 0"):
        if part not in text:
            failures.append(f"{flag}: no {part!r} in the help")
r = run(["--version"])
check("--version", r, 0, None)
if not r.stdout.decode().startswith("byronify (libdeferred) "):
    failures.append(f"--version: {r.stdout!r}")

# --- poems in, poems out -----------------------------------------------------
check("file", run([science]), 0, science_out)
check("standard input", run([], science_in), 0, science_out)
check("dash is standard input", run(["-"], science_in), 0, science_out)
check("options after the file",
      run([science, "--fault-rate", "0", "--seed", "5"]), 0, science_out)
check("fault rate 0", run(["--fault-rate", "0", science]), 0, science_out)
with tempfile.TemporaryDirectory() as tmp:
    dashed = os.path.join(tmp, "-poem")
    with open(dashed, "wb") as f:
        f.write(science_in)
    check("-- before a file named -poem", run(["--", "-poem"], cwd=tmp), 0,
          science_out)

# --- usage errors (2) --------------------------------------------------------
usage_error("unknown option", ["--frob"], 'unknown option "--frob"')
usage_error("unknown short option", ["-x"], 'unknown option "-x"')
usage_error("a file named -poem without --", ["-poem"],
            'unknown option "-poem"')
usage_error("option with a longer name", ["--fault-rates=1"],
            'unknown option "--fault-rates=1"')
usage_error("two files", [science, science],
            f'more than one FILE ("{science}")')
usage_error("fault rate without value", ["--fault-rate"],
            "--fault-rate needs a value")
usage_error("seed without value", [science, "--seed"], "--seed needs a value")
for bad in ("1.5", "-0.1", "abc", "", "nan", "0.5x", " 0.5"):
    usage_error(f"fault rate {bad!r}", [f"--fault-rate={bad}"],
                f'bad --fault-rate "{bad}": a number from 0 to 1 is needed')
usage_error("fault rate as a separate word", ["--fault-rate", "2"],
            'bad --fault-rate "2": a number from 0 to 1 is needed')
for bad in ("-1", "18446744073709551616", "0x10", "seed", ""):
    usage_error(f"seed {bad!r}", ["--seed", bad],
                f'bad --seed "{bad}": an integer from 0 to '
                '18446744073709551615 is needed')

usage_error("seed without a fault rate", ["--seed", "1", science],
            "--seed needs --fault-rate (with the default rate, 0, no call "
            "fails)")
for bad in ("inf", "-inf", "1e999", "NaN", "-0", "1e-999x", "0.5 ",
            "99999999999999999999999", "0x1p-1"):
    usage_error(f"fault rate {bad!r}", ["--fault-rate", bad],
                f'bad --fault-rate "{bad}": a number from 0 to 1 is needed')
for bad in ("+1", " 1", "1e3", "99999999999999999999999", "1.0", "inf"):
    usage_error(f"seed {bad!r}", ["--fault-rate", "0", "--seed", bad],
                f'bad --seed "{bad}": an integer from 0 to '
                '18446744073709551615 is needed')

# --- GibberishError (3) ------------------------------------------------------
def gibberish(name, stdin, message):
    check(name, run([], stdin), 3, b"",
          f"byronify: standard input: GibberishError: {message}\n")


gibberish("empty", b"", "the poem is empty")
gibberish("blank", b" \n\t\n", "the poem is only white space")
gibberish("one line", b"Where, like a pillow on a bed\n",
          "only 1 line of verse (a poem has at least 2)")
gibberish("the tutorial's gibberish", b"#$%^&*()!\n@@@ ###\n!!!\n",
          "only 0 letters in the verse (a poem has at least 8)")
gibberish("a NUL byte", b"line one\nline\0two\n",
          "line 2 has a NUL byte (byte 14)")
gibberish("invalid UTF-8", b"line one\nline \xff two\n",
          "line 2 has invalid UTF-8 (byte 15 is 0xFF)")
gibberish("an escape sequence", b"line one\n\x1b[2Jline two\n",
          "line 2 has the control character U+001B (byte 10)")
gibberish("prose", b"a short line\n" + b"word " * 50 + b"\n",
          "line 2 has 249 characters: that is prose, not verse "
          "(a line of verse has at most 200)")
gibberish("a long word", b"a short line\nand " + b"x" * 60 + b"\n",
          "line 2 has a word of 60 letters (a word of verse has at most 40)")
gibberish("more than a mebibyte", b"verse line\n" * 100000,
          "more than 1048576 bytes: longer than any poem")
# an endless input is read no further than the limit
with open("/dev/zero", "rb") as zero:
    check("endless /dev/zero", run([], zero, subprocess.DEVNULL), 3, None,
          "byronify: standard input: GibberishError: more than 1048576 "
          "bytes: longer than any poem\n")
check("gibberish in a file names the file",
      run([os.devnull]), 3, b"",
      f"byronify: {os.devnull}: GibberishError: the poem is empty\n")
check("gibberish wins over a fault", run(["--fault-rate", "1"], b""), 3, b"",
      "byronify: standard input: GibberishError: the poem is empty\n")

# --- another engine error (4) ------------------------------------------------
check("fault rate 1", run(["--fault-rate", "1", "--seed", "9", science]), 4,
      b"", f"byronify: {science}: CannotByronifyError: injected fault on "
      "call 1 (fault rate 1, seed 9)\n")
# with rate 0.5 the seed decides the one call: seed 3 fails, 0 does not
check("fault rate 0.5, seed 3",
      run(["--fault-rate=0.5", "--seed=3"], science_in), 4, b"",
      "byronify: standard input: CannotByronifyError: injected fault on "
      "call 1 (fault rate 0.5, seed 3)\n")
check("fault rate 0.5, seed 0",
      run(["--fault-rate=0.5", "--seed=0"], science_in), 0, science_out)

# --- input and output errors (1) -------------------------------------------
check("missing file", run(["/nonexistent/poem.txt"]), 1, b"",
      'byronify: cannot open "/nonexistent/poem.txt": '
      "No such file or directory\n")
check("a directory", run([POEMS]), 1, b"",
      f'byronify: cannot read "{POEMS}": Is a directory\n')
if os.geteuid() != 0:  # root reads any file
    with tempfile.TemporaryDirectory() as tmp:
        locked = os.path.join(tmp, "locked.txt")
        with open(locked, "wb") as f:
            f.write(science_in)
        os.chmod(locked, 0)
        check("unreadable file", run([locked]), 1, b"",
              f'byronify: cannot open "{locked}": Permission denied\n')
if os.path.exists("/dev/full"):
    with open("/dev/full", "wb") as full:
        check("output to a full device", run([science], stdout=full), 1, None,
              "byronify: cannot write the poem: No space left on device\n")

# closed standard streams: the FILE never takes the place of standard
# output, and a stream needed is reported as closed
check("standard output closed", run([science], stdout=None, closed=(1,)), 1,
      None, "byronify: standard output is closed\n")
check("standard input closed, no FILE",
      run([], stdin=subprocess.DEVNULL, closed=(0,)), 1, b"",
      "byronify: standard input is closed\n")
check("standard input closed, a FILE",
      run([science], stdin=subprocess.DEVNULL, closed=(0,)), 0, science_out)
check("--help with standard output closed",
      run(["--help"], stdout=None, closed=(1,)), 1, None,
      "byronify: cannot write to standard output: Bad file descriptor\n")
r = subprocess.run([BIN, science], stdout=subprocess.PIPE,
                   stderr=subprocess.DEVNULL, timeout=20,
                   preexec_fn=lambda: os.close(2))
if r.returncode != 0 or r.stdout != science_out:
    failures.append(f"standard error closed: exit {r.returncode}, "
                    f"{len(r.stdout)} bytes")

for f in failures:
    print("FAIL", f)
print(f"byronify_tool: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
