#!/bin/sh
# One golden test: byronify POEM (as FILE and on standard input) must
# write exactly GOLDEN, nothing on standard error, and exit 0.
# usage: run_golden.sh BYRONIFY POEM GOLDEN
bin=$1 poem=$2 golden=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
for how in file stdin; do
  if [ $how = file ]; then
    "$bin" "$poem" >"$tmp/out" 2>"$tmp/err"
  else
    "$bin" <"$poem" >"$tmp/out" 2>"$tmp/err"
  fi
  status=$?
  if [ $status -ne 0 ]; then
    echo "$how: exit status $status"; cat "$tmp/err"; fail=1
  elif [ -s "$tmp/err" ]; then
    echo "$how: standard error is not empty:"; cat "$tmp/err"; fail=1
  elif ! cmp -s "$tmp/out" "$golden"; then
    echo "$how: the output differs from $golden:"
    diff "$golden" "$tmp/out" | head -40
    fail=1
  fi
done
exit $fail
