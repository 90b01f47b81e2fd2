#!/bin/sh
# Every example of examples/: NAME.in gives NAME.out in the wide layout,
# NAME.narrow.in gives NAME.narrow.out with --narrow; byte for byte, exit
# status 0 and nothing on standard error.
# usage: run_examples.sh BIN EXAMPLES_DIR
bin=$1 dir=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
count=0 failed=0
for input in "$dir"/*.in; do
  [ -e "$input" ] || { echo "no examples in $dir"; exit 1; }
  name=$(basename "$input" .in)
  case $name in *.narrow) opt=--narrow ;; *) opt= ;; esac
  # shellcheck disable=SC2086
  "$bin" $opt < "$input" > "$tmp/out" 2> "$tmp/err"
  status=$?
  count=$((count + 1))
  if [ $status -ne 0 ] || [ -s "$tmp/err" ] ||
     ! cmp -s "$tmp/out" "$dir/$name.out"; then
    echo "FAIL $name (status $status)"; diff "$dir/$name.out" "$tmp/out" | head -20
    cat "$tmp/err"
    failed=$((failed + 1))
  else
    echo "ok   $name"
  fi
done
echo "$((count - failed)) of $count examples match"
[ $failed -eq 0 ] && [ $count -gt 0 ]
