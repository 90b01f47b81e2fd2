#!/bin/sh
# usage: install_test.sh BUILD_DIR SOURCE_DIR CC COMPONENTS NAME=VALUE...
#
# Installs BUILD_DIR with DESTDIR into a staged prefix (/opt/libdeferred
# under a temporary directory: a prefix other than /usr, used from a place
# other than the one it was installed for) and checks what a user gets:
#
#   1. exactly the files of expected_files (COMPONENTS, comma-separated,
#      says which of its lines apply; NAME=VALUE gives LIBDIR, INCLUDEDIR,
#      BINDIR, MANDIR, DOCDIR, VERSION, SOVERSION);
#   2. every public header, byte for byte; the shared library (its soname,
#      its links, only df_ symbols exported) and the static one;
#   3. the pkg-config file and the CMake package, found in the prefix;
#   4. hello.c built against the prefix four ways (pkg-config and
#      find_package, shared and static), each run without LD_LIBRARY_PATH
#      and taking libdeferred from the prefix (or from nowhere: static);
#      with the reactor component, hello_uv.c against libdeferred-uv the
#      same four ways;
#   5. every installed program: runs without LD_LIBRARY_PATH, finds the
#      libraries in its own prefix, and still does once the prefix is
#      moved; deferred-sim draws the tutorial's chain, byronify byronifies,
#      get-poetry downloads a poem from poetry-server (over 127.0.0.1);
#   6. every installed manual page renders with `man -l`.
#
# Checks print "ok: ..."; the first failure prints "FAIL: ..." and exits 1.
set -eu
build=$1 src=$2 cc=$3 components=$4
shift 4
for setting in "$@"; do
  case $setting in
  LIBDIR=* | INCLUDEDIR=* | BINDIR=* | MANDIR=* | DOCDIR=* | VERSION=* | SOVERSION=*)
    eval "${setting%%=*}=\${setting#*=}" ;;
  *) echo "install_test.sh: unknown setting $setting"; exit 2 ;;
  esac
done
here=$src/tests/install
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
unset LD_LIBRARY_PATH

stage=$tmp/stage
DESTDIR=$stage cmake --install "$build" --prefix /opt/libdeferred > "$tmp/install.log" ||
  { cat "$tmp/install.log"; fail "cmake --install"; }
prefix=$stage/opt/libdeferred
libdir=$prefix/$LIBDIR

# --- 1. the files installed, and no others ---------------------------------
# The patterns of expected_files that apply, with the build's values in.
sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$here/expected_files" |
while read -r component path; do
  case ",$components," in *",$component,"*) ;; *) continue ;; esac
  printf '%s\n' "$path" | sed -e "s|\${LIBDIR}|$LIBDIR|g" \
    -e "s|\${INCLUDEDIR}|$INCLUDEDIR|g" -e "s|\${BINDIR}|$BINDIR|g" \
    -e "s|\${MANDIR}|$MANDIR|g" -e "s|\${DOCDIR}|$DOCDIR|g" \
    -e "s|\${VERSION}|$VERSION|g" -e "s|\${SOVERSION}|$SOVERSION|g"
done > "$tmp/patterns"
(cd "$prefix" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) > "$tmp/installed"
[ -s "$tmp/patterns" ] || fail "no line of expected_files applies to: $components"
# match_any pattern PATTERN LIST: does a file of LIST match PATTERN?
# match_any file FILE LIST: does FILE match a pattern of LIST?
match_any() {
  while read -r line; do
    if [ "$1" = file ]; then f=$2 p=$line; else f=$line p=$2; fi
    # shellcheck disable=SC2254 # the pattern is a pattern
    case $f in $p) return 0 ;; esac
  done < "$3"
  return 1
}
while read -r pattern; do
  match_any pattern "$pattern" "$tmp/installed" ||
    fail "not installed: $pattern (tests/install/expected_files)"
done < "$tmp/patterns"
while read -r file; do
  match_any file "$file" "$tmp/patterns" ||
    fail "installed but not in tests/install/expected_files: $file"
done < "$tmp/installed"
ok "the prefix holds the $(wc -l < "$tmp/installed") files of expected_files ($components)"

# --- 2. headers and libraries ------------------------------------------------
case ",$components," in *,reactor,*) reactor=yes ;; *) reactor=no ;; esac
(cd "$src/include" && find . -name '*.h' | sed 's|^\./||') | while read -r h; do
  # libdeferred-uv's headers come with the reactor component only
  case $h in deferred/uv.h | deferred/uv/*) [ $reactor = yes ] || continue ;; esac
  cmp -s "$src/include/$h" "$prefix/$INCLUDEDIR/$h" || fail "header $h differs or is missing"
done
ok "every header of include/ installed as it is"
soname=$(readelf -d "$libdir/libdeferred.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libdeferred.so.$SOVERSION" ] || fail "soname is '$soname'"
[ "$(readlink "$libdir/libdeferred.so")" = "libdeferred.so.$SOVERSION" ] &&
  [ "$(readlink "$libdir/libdeferred.so.$SOVERSION")" = "libdeferred.so.$VERSION" ] ||
  fail "the libdeferred.so links do not lead to libdeferred.so.$VERSION"
others=$(nm -D --defined-only "$libdir/libdeferred.so.$VERSION" | awk '{print $3}' |
         grep -v '^df_[a-z]' || true)
[ -z "$others" ] || fail "exported beyond the df_ API: $others"
ar t "$libdir/libdeferred.a" | grep -q 'deferred\.c\.o$' || fail "libdeferred.a lacks the core"
ok "libdeferred.so.$VERSION (soname $soname, df_ symbols only) and libdeferred.a"
if [ $reactor = yes ]; then
  soname=$(readelf -d "$libdir/libdeferred-uv.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$soname" = "libdeferred-uv.so.$SOVERSION" ] || fail "libdeferred-uv's soname is '$soname'"
  others=$(nm -D --defined-only "$libdir/libdeferred-uv.so.$VERSION" | awk '{print $3}' |
           grep -v '^df_[a-z]' || true)
  [ -z "$others" ] || fail "libdeferred-uv exports beyond the df_ API: $others"
  readelf -d "$libdir/libdeferred-uv.so.$VERSION" | grep -q 'NEEDED.*libuv' ||
    fail "libdeferred-uv.so does not link libuv"
  ! readelf -d "$libdir/libdeferred.so.$VERSION" | grep -q 'NEEDED.*libuv' ||
    fail "libdeferred.so links libuv: only libdeferred-uv may"
  ok "libdeferred-uv.so.$VERSION (soname $soname, df_ symbols only, libuv), libdeferred-uv.a"
fi

# --- 3. pkg-config and the CMake package ----------------------------------
export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --modversion libdeferred)" = "$VERSION" ] || fail "pkg-config --modversion"
pc_libdir=$(pkg-config --variable=libdir libdeferred)
[ "$(cd "$pc_libdir" && pwd -P)" = "$(cd "$libdir" && pwd -P)" ] ||
  fail "pkg-config's libdir is $pc_libdir, not the prefix's"
pc_include=$(pkg-config --cflags-only-I libdeferred | sed 's/^ *-I//; s/ *$//')
[ "$(cd "$pc_include" && pwd -P)" = "$(cd "$prefix/$INCLUDEDIR" && pwd -P)" ] ||
  fail "pkg-config --cflags gives -I$pc_include"
ok "pkg-config finds libdeferred $VERSION in the prefix"

"$cc" -o "$tmp/pc_shared" "$here/hello.c" $(pkg-config --cflags --libs libdeferred) \
  -Wl,-rpath,"$pc_libdir"
"$cc" -o "$tmp/pc_static" "$here/hello.c" $(pkg-config --cflags libdeferred) \
  "$pc_libdir/libdeferred.a" $(pkg-config --static --libs-only-other libdeferred)
if [ $reactor = yes ]; then
  [ "$(pkg-config --modversion libdeferred-uv)" = "$VERSION" ] ||
    fail "pkg-config --modversion libdeferred-uv"
  [ "$(cd "$(pkg-config --variable=libdir libdeferred-uv)" && pwd -P)" = \
    "$(cd "$libdir" && pwd -P)" ] || fail "libdeferred-uv.pc's libdir is not the prefix's"
  "$cc" -o "$tmp/pc_uv_shared" "$here/hello_uv.c" \
    $(pkg-config --cflags --libs libdeferred-uv) -Wl,-rpath,"$pc_libdir"
  "$cc" -o "$tmp/pc_uv_static" "$here/hello_uv.c" $(pkg-config --cflags libdeferred-uv) \
    "$pc_libdir/libdeferred-uv.a" "$pc_libdir/libdeferred.a" \
    $(pkg-config --static --libs-only-other libdeferred) $(pkg-config --libs libuv)
  ok "pkg-config finds libdeferred-uv $VERSION in the prefix"
fi
cmake -S "$here/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" -DDF_EXPECTED_VERSION="$VERSION" \
  -DWITH_UV=$reactor > "$tmp/consumer.log" ||
  { cat "$tmp/consumer.log"; fail "find_package(libdeferred $VERSION) in the prefix"; }
grep -q "libdeferred_DIR:PATH=$prefix/$LIBDIR/cmake/libdeferred" "$tmp/consumer/CMakeCache.txt" ||
  fail "find_package found libdeferred outside the prefix"
cmake --build "$tmp/consumer" > "$tmp/consumer.log" ||
  { cat "$tmp/consumer.log"; fail "building the find_package consumer"; }
ok "find_package(libdeferred $VERSION EXACT) in the prefix"

# --- 4. programs built against the prefix -----------------------------------
# uses_prefix_library EXE LIBDIR: nothing EXE needs is missing, and every
# libdeferred* it loads comes from LIBDIR.
uses_prefix_library() {
  ldd "$1" > "$tmp/ldd" 2>&1 || true
  if grep -q 'not found' "$tmp/ldd"; then cat "$tmp/ldd"; fail "$1: a library is not found"; fi
  want=$(cd "$2" && pwd -P)
  grep 'libdeferred' "$tmp/ldd" | while read -r name _ path _; do
    [ "$(cd "$(dirname "$path")" && pwd -P)" = "$want" ] ||
      fail "$1 loads $name from $path, not from $2"
  done
}
for exe in pc_shared pc_static consumer/hello_shared consumer/hello_static; do
  out=$("$tmp/$exe") || fail "$exe exited with $?"
  [ "$out" = "hello from libdeferred: 42" ] || fail "$exe printed: $out"
  case $exe in
  *static) ! ldd "$tmp/$exe" | grep -q libdeferred || fail "$exe loads libdeferred.so" ;;
  *) ldd "$tmp/$exe" | grep -q libdeferred || fail "$exe does not load libdeferred.so"
     uses_prefix_library "$tmp/$exe" "$libdir" ;;
  esac
done
ok "hello.c built four ways runs without LD_LIBRARY_PATH, with the prefix's library"
if [ $reactor = yes ]; then
  for exe in pc_uv_shared pc_uv_static consumer/hello_uv_shared consumer/hello_uv_static; do
    out=$("$tmp/$exe") || fail "$exe exited with $?"
    [ "$out" = "hello from libdeferred-uv: 42" ] || fail "$exe printed: $out"
    case $exe in
    *static) ! ldd "$tmp/$exe" | grep -q libdeferred || fail "$exe loads a libdeferred .so" ;;
    *) uses_prefix_library "$tmp/$exe" "$libdir" ;;
    esac
  done
  ok "hello_uv.c built four ways runs a reactor, with the prefix's libraries"
fi

# --- 5. the installed programs ----------------------------------------------
# check_programs PREFIX: each program in PREFIX/BINDIR finds its libraries
# in PREFIX, through a run path relative to itself.
check_programs() {
  for exe in "$1/$BINDIR"/*; do
    [ -e "$exe" ] || continue
    readelf -d "$exe" | grep -E '\((RUNPATH|RPATH)\)' | grep -q '\$ORIGIN' ||
      fail "$exe has no \$ORIGIN run path"
    uses_prefix_library "$exe" "$1/$LIBDIR"
  done
}
check_programs "$prefix"
case ",$components," in
*,tools,*)
  sim=$prefix/$BINDIR/deferred-sim
  [ "$("$sim" --version)" = "deferred-sim (libdeferred) $VERSION" ] || fail "deferred-sim --version"
  "$sim" < "$src/tests/sim/examples/tutorial.in" > "$tmp/tutorial.out" ||
    fail "the installed deferred-sim"
  cmp -s "$tmp/tutorial.out" "$src/tests/sim/examples/tutorial.out" ||
    fail "the installed deferred-sim draws the tutorial's chain wrong"
  ok "the installed deferred-sim draws the tutorial's chain"
  out=$(printf 'Are you awake?\nYour eyes are ever closed.\n' | "$prefix/$BINDIR/byronify") ||
    fail "the installed byronify"
  [ "$out" = "$(printf '    Art thou awake?\n    Thine eyes are e%ser clos%sd.' "'" "'")" ] ||
    fail "the installed byronify byronifies wrong: $out"
  ok "the installed byronify byronifies" ;;
esac
case ",$components," in
*,poetry,*)
  "$prefix/$BINDIR/poetry-server" --delay 0 --quiet \
    "$src/examples/poetry/science.txt" > "$tmp/server.out" 2> "$tmp/server.err" &
  server=$!
  tries=0
  while [ ! -s "$tmp/server.out" ] && [ $tries -lt 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
  port=$(sed -n '1s/.*://p' "$tmp/server.out")
  got=0
  [ -n "$port" ] && "$prefix/$BINDIR/get-poetry" --no-progress "$port" \
    > "$tmp/poem.out" 2> /dev/null && got=1
  kill "$server"
  wait "$server" || fail "the installed poetry-server exited $? on SIGTERM: $(cat "$tmp/server.err")"
  [ $got = 1 ] && cmp -s "$tmp/poem.out" "$src/examples/poetry/science.txt" ||
    fail "the installed get-poetry did not get the installed poetry-server's poem"
  ok "the installed get-poetry downloads the installed poetry-server's poem" ;;
esac
# Moved elsewhere, the prefix still works: the run paths are relative.
mv "$stage" "$tmp/moved"
prefix=$tmp/moved/opt/libdeferred
libdir=$prefix/$LIBDIR
check_programs "$prefix"
case ",$components," in
*,tools,*)
  "$prefix/$BINDIR/deferred-sim" < "$src/tests/sim/examples/tutorial.in" |
    cmp -s - "$src/tests/sim/examples/tutorial.out" || fail "deferred-sim after moving the prefix" ;;
esac
ok "the installed programs find their libraries in their prefix, also once it is moved"

# --- 6. manual pages ----------------------------------------------------------
pages=0
for page in "$prefix/$MANDIR"/man*/*; do
  [ -e "$page" ] || continue
  command -v man > /dev/null || fail "no man(1) to render $page"
  name=$(basename "$page")
  title=$(printf '%s' "${name%.*}" | tr '[:lower:]' '[:upper:]')
  MANWIDTH=80 man -l "$page" > "$tmp/page.txt" 2> "$tmp/page.err" ||
    fail "man -l $name"
  [ -s "$tmp/page.err" ] && { cat "$tmp/page.err"; fail "man -l $name: warnings"; }
  grep -q "^$title(${name##*.})" "$tmp/page.txt" && grep -q '^SYNOPSIS' "$tmp/page.txt" &&
    grep -q '^DESCRIPTION' "$tmp/page.txt" || fail "man -l $name: no title, SYNOPSIS or DESCRIPTION"
  if command -v groff > /dev/null; then
    groff -man -Tutf8 -ww -z "$page" 2> "$tmp/groff.err"
    [ -s "$tmp/groff.err" ] && { cat "$tmp/groff.err"; fail "groff warns about $name"; }
  fi
  pages=$((pages + 1))
done
case ",$components," in *,tools,*) [ $pages -ge 1 ] || fail "no manual page installed" ;; esac
ok "$pages manual page(s) render with man -l"
echo "install test passed"
