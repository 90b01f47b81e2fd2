#!/usr/bin/env python3
"""A chain long enough (4500 pairs, 36 000 rows) that deferred-sim prints
its canvas in several bands (canvas.c): the drawing must still equal
oracle.py's, byte for byte, wide and narrow (the narrow run with --trace:
its drawing and then 2 x 4502 lines of firing logs, recorded as the
observer reported them).

usage: long_chain.py BIN
"""
import random
import subprocess
import sys

import oracle

rng = random.Random(4500)
members = ["r a", "f b", "p", "return \u65e5\u672c", "fail \u00e9t\u00e9"]
data = "".join("%s %s\n" % (rng.choice(members), rng.choice(members))
               for _ in range(4500)).encode() + b"\n"
failed = False
for narrow in (False, True):
    want = oracle.simulate(data, narrow, trace=narrow)
    got = subprocess.run([sys.argv[1]] + (["--narrow", "--trace"] if narrow else []),
                         input=data, capture_output=True)
    if (got.stdout, got.stderr, got.returncode) != want:
        print("differs (narrow=%s): %d bytes, expected %d" %
              (narrow, len(got.stdout), len(want[0])))
        failed = True
print("long chain: %s" % ("FAIL" if failed else "ok"))
sys.exit(1 if failed else 0)
