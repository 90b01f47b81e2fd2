#!/bin/sh
# --svg FILE that cannot be written: the reason is reported before any
# input is read (so before anything is drawn), and the exit status is 1.
# Also: a file --svg would create is not left behind when nothing is
# drawn, an existing one keeps its contents until there is a picture, and
# a write that fails (/dev/full) is reported with its reason.
# As root, the permission checks run as nobody (setpriv), since root may
# write anywhere.
# usage: svg_unwritable.sh BIN
bin=$1
tmp=$(mktemp -d) || exit 1
trap 'exec 3>&-; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
chain='r good f bad
f googly p
p r ok
'

# check WANT_ERR ARGS...: deferred-sim ARGS on a standard input that never
# ends must stop at once, with exit status 1, WANT_ERR on standard error
# and nothing on standard output.
mkfifo "$tmp/stdin" || fail "mkfifo"
exec 3<>"$tmp/stdin" # held open and never written: reading it blocks
check() {
  want=$1
  shift
  timeout 10 "$@" < "$tmp/stdin" > "$tmp/out" 2> "$tmp/err"
  status=$?
  [ "$status" -eq 1 ] || fail "$*: exit status $status (124: it read the input first)"
  [ "$(cat "$tmp/err")" = "$want" ] || fail "$*: stderr: $(cat "$tmp/err")"
  [ -s "$tmp/out" ] && fail "$*: something was drawn"
  return 0
}
check "deferred-sim: cannot write \"$tmp/no/such/dir.svg\": No such file or directory" \
  "$bin" --svg "$tmp/no/such/dir.svg"
check "deferred-sim: cannot write \"$tmp\": Is a directory" "$bin" --svg="$tmp"

# No permission: a read-only file, and a file in a read-only directory.
printf 'kept\n' > "$tmp/read-only.svg"
chmod 444 "$tmp/read-only.svg"
mkdir "$tmp/read-only-dir" && chmod 555 "$tmp/read-only-dir"
as_user=
if [ "$(id -u)" = 0 ]; then
  command -v setpriv > /dev/null || fail "running as root without setpriv"
  as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
# shellcheck disable=SC2086 # as_user is a command and its words
check "deferred-sim: cannot write \"$tmp/read-only.svg\": Permission denied" \
  $as_user "$bin" --svg "$tmp/read-only.svg"
# shellcheck disable=SC2086
check "deferred-sim: cannot write \"$tmp/read-only-dir/x.svg\": Permission denied" \
  $as_user "$bin" --svg "$tmp/read-only-dir/x.svg"
[ "$(cat "$tmp/read-only.svg")" = kept ] || fail "the read-only file changed"

# Nothing drawn (no valid pair): a new file is removed again, an existing
# one is left as it was.
printf 'zap\n' | "$bin" --svg "$tmp/new.svg" > /dev/null 2>&1
[ -e "$tmp/new.svg" ] && fail "a file was left behind with nothing drawn"
printf 'old contents\n' > "$tmp/old.svg"
printf 'zap\n' | "$bin" --svg "$tmp/old.svg" > /dev/null 2>&1
[ "$(cat "$tmp/old.svg")" = "old contents" ] || fail "an existing file was changed with nothing drawn"

# A drawing replaces an existing file's contents, however long they were.
head -c 100000 /dev/zero > "$tmp/old.svg"
printf '%s' "$chain" | "$bin" --svg "$tmp/old.svg" > /dev/null ||
  fail "drawing over an existing file"
printf '%s' "$chain" | "$bin" --svg "$tmp/fresh.svg" > /dev/null
cmp -s "$tmp/old.svg" "$tmp/fresh.svg" || fail "the old contents were not replaced"

# A write that fails: the drawing is there, the reason too, exit status 1.
if [ -w /dev/full ]; then
  printf '%s' "$chain" | "$bin" --svg /dev/full > "$tmp/out" 2> "$tmp/err"
  status=$?
  [ "$status" -eq 1 ] || fail "/dev/full: exit status $status"
  [ "$(cat "$tmp/err")" = 'deferred-sim: cannot write "/dev/full": No space left on device' ] ||
    fail "/dev/full: stderr: $(cat "$tmp/err")"
  grep -q 'return good' "$tmp/out" || fail "/dev/full: no drawing"
fi
echo ok
