"""Interop of the poetry tools with real Twisted (22.4, /usr/bin/python3),
byte for byte, over 127.0.0.1, three downloads at once each way, the
non-ASCII poem (alla_sera.txt) among them:

    interop.py CASE BIN_DIR POEMS_DIR GOLDEN_DIR

  our_client      get-poetry downloads from three Twisted slow poetry
                  servers (twisted_slow_server.py: 30 bytes every 10 ms):
                  the poems exactly, then with --byronify exactly the
                  engine's golden poems (tests/poetry/golden/)
  twisted_client  the tutorial's Twisted client (twisted_get_poetry.py)
                  downloads from three poetry-servers; each stops on
                  SIGTERM with exit status 0
"""
import itertools
import os
import tempfile

from harness import (HERE, PYTHON, check, main, poem, run, start_server, stop,
                     watchdog)

NAMES = ("science", "alla_sera", "ecstasy")


def one_of_the_orders(out, parts):
    """Is `out` the parts concatenated in some order (the order in which
    the downloads completed)?"""
    return any(out == b"".join(p) for p in itertools.permutations(parts))


def case_our_client(bin_dir, poems, golden):
    watchdog(60)
    servers = [start_server([PYTHON, os.path.join(HERE, "twisted_slow_server.py"),
                             "--num-bytes", "30", "--delay", "0.01",
                             os.path.join(poems, name + ".txt")])
               for name in NAMES]
    ports = [str(port) for _, port in servers]
    get_poetry = os.path.join(bin_dir, "get-poetry")
    r = run([get_poetry, "--no-progress", *ports])
    err = r.stderr.decode()
    check(r.returncode == 0, "get-poetry exited %d: %s" % (r.returncode, err))
    check(one_of_the_orders(r.stdout, [poem(poems, n) for n in NAMES]),
          "the poems are not exactly the Twisted servers' (%d bytes)" % len(r.stdout))
    check("get-poetry: 3 of 3 poems printed\n" in err, err)
    r = run([get_poetry, "--no-progress", "--byronify", *ports])
    byronic = []
    for n in NAMES:
        with open(os.path.join(golden, n + ".txt"), "rb") as f:
            byronic.append(f.read())
    check(r.returncode == 0, "get-poetry --byronify exited %d: %s" %
          (r.returncode, r.stderr.decode()))
    check(one_of_the_orders(r.stdout, byronic),
          "the Byronified poems are not exactly the golden ones")
    for proc, _ in servers:
        stop(proc)


def case_twisted_client(bin_dir, poems, golden):
    watchdog(60)
    servers = [start_server([os.path.join(bin_dir, "poetry-server"), "--delay",
                             "0.01", "--num-bytes", "30",
                             os.path.join(poems, name + ".txt")])
               for name in NAMES]
    with tempfile.TemporaryDirectory() as out:
        r = run([PYTHON, os.path.join(HERE, "twisted_get_poetry.py"), out,
                 *[str(port) for _, port in servers]])
        check(r.returncode == 0, "the Twisted client exited %d: %s" %
              (r.returncode, r.stderr.decode()))
        for i, name in enumerate(NAMES, 1):
            with open(os.path.join(out, str(i)), "rb") as f:
                got = f.read()
            check(got == poem(poems, name), "%s: %d bytes, not the poem's %d" %
                  (name, len(got), len(poem(poems, name))))
    for proc, _ in servers:
        status, err = stop(proc)
        check(status == 0, "poetry-server exited %d after SIGTERM" % status)
        check("1 client: 1 sent the whole poem, 0 left early, 0 cut off" in err, err)


if __name__ == "__main__":
    main({name[len("case_"):]: fn for name, fn in list(globals().items())
          if name.startswith("case_")})
