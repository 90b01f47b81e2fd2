#!/bin/sh
# A line of 8 MB (a VALUE far too long), a line of 8 MB of white space, and
# a valid pair: exactly one stderr line for each bad line (the value
# quoted to 80 bytes), and the drawing of the valid pair, in bounded time
# (ctest's TIMEOUT).
# usage: huge_line.sh BIN PYTHON
bin=$1 python=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$python" -c '
import sys
w = sys.stdout.buffer
w.write(b"r " + b"x" * 8000000 + b" p\n")
w.write(b" " * 8000000 + b"\n")
w.write(b"r a" + b"\t" * 8000000 + b"p\n\n")' > "$tmp/in"
printf 'r a p\n\n' | "$bin" > "$tmp/want"
"$bin" < "$tmp/in" > "$tmp/out" 2> "$tmp/err" || { echo "exit status $?"; exit 1; }
cmp -s "$tmp/out" "$tmp/want" || { echo "drawing differs"; exit 1; }
[ "$(wc -l < "$tmp/err")" -eq 2 ] || { echo "expected 2 stderr lines"; exit 1; }
# The value is quoted, cut to 80 bytes: the report stays one short line.
x80=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
[ "$(sed -n 1p "$tmp/err")" = "line 1: value \"$x80...\" is longer than 6 characters" ] ||
  { echo "bad line 1 report"; exit 1; }
[ "$(sed -n 2p "$tmp/err")" = "line 2: missing command" ] || { echo "bad line 2 report"; exit 1; }
echo ok
