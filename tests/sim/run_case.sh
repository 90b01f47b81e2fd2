#!/bin/sh
# One case of cases/: run deferred-sim with NAME.args (if any) on NAME.in
# and compare standard output with NAME.out, standard error with NAME.err
# and the exit status with NAME.status (0 if absent), byte for byte.
# usage: run_case.sh BIN CASES_DIR NAME
bin=$1 dir=$2 name=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
args=
[ -f "$dir/$name.args" ] && args=$(cat "$dir/$name.args")
want_status=0
[ -f "$dir/$name.status" ] && want_status=$(cat "$dir/$name.status")
# shellcheck disable=SC2086 # args are words on purpose
"$bin" $args < "$dir/$name.in" > "$tmp/out" 2> "$tmp/err"
status=$?
fail=0
if ! cmp -s "$tmp/out" "$dir/$name.out"; then
  echo "$name: standard output differs:"; diff "$dir/$name.out" "$tmp/out" | head -40
  fail=1
fi
if ! cmp -s "$tmp/err" "$dir/$name.err"; then
  echo "$name: standard error differs:"; diff "$dir/$name.err" "$tmp/err" | head -40
  fail=1
fi
if [ "$status" != "$want_status" ]; then
  echo "$name: exit status $status, expected $want_status"
  fail=1
fi
exit $fail
