#!/bin/sh
# "Input after the ending empty line is not read": what follows it stays in
# standard input for the next reader, from a regular file and from a pipe.
# usage: stdin_left_unread.sh BIN
bin=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
printf 'r a p\n\nzap zap\nrest of the file\n' > "$tmp/in"
want='zap zap
rest of the file'
got=$( { "$bin" > "$tmp/drawing" 2> "$tmp/err"; cat; } < "$tmp/in")
[ "$got" = "$want" ] || { echo "from a file, the next reader got: $got"; exit 1; }
[ -s "$tmp/err" ] && { echo "unexpected stderr:"; cat "$tmp/err"; exit 1; }
got=$(cat "$tmp/in" | { "$bin" > /dev/null 2>&1; cat; })
[ "$got" = "$want" ] || { echo "from a pipe, the next reader got: $got"; exit 1; }
grep -q 'return a' "$tmp/drawing" || { echo "no drawing"; exit 1; }
echo ok
