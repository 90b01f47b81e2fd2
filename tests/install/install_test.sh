#!/bin/sh
# usage: install_test.sh BUILD_DIR SOURCE_DIR CC
# Installs BUILD_DIR into a temporary prefix and builds hello.c against it
# with pkg-config and with find_package, shared and static; runs all four.
set -eu
build=$1 here=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -n 1 | xargs dirname)

export PKG_CONFIG_PATH="$libdir/pkgconfig"
"$cc" -o "$tmp/pc_shared" "$here/hello.c" $(pkg-config --cflags --libs libdeferred) \
  -Wl,-rpath,"$libdir"
"$cc" -o "$tmp/pc_static" "$here/hello.c" $(pkg-config --cflags libdeferred) \
  "$libdir/libdeferred.a" $(pkg-config --static --libs-only-other libdeferred)

cmake -S "$here/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$tmp/consumer" >/dev/null

for exe in "$tmp/pc_shared" "$tmp/pc_static" "$tmp/consumer/hello_shared" \
           "$tmp/consumer/hello_static"; do
  out=$("$exe")
  [ "$out" = "hello from libdeferred: 42" ] || { echo "FAIL: $exe: $out"; exit 1; }
  echo "ok: $(basename "$exe")"
done
# The static executables must not need the shared library at run time.
if ldd "$tmp/pc_static" | grep -q libdeferred; then
  echo "FAIL: pc_static links libdeferred.so"; exit 1
fi
# The tools built with the library are installed with their man pages.
if [ -x "$build/bin/byronify" ]; then
  out=$(printf 'Are you awake?\nYour eyes are ever closed.\n' | "$tmp/prefix/bin/byronify")
  [ "$out" = "$(printf '    Art thou awake?\n    Thine eyes are e%ser clos%sd.' "'" "'")" ] ||
    { echo "FAIL: installed byronify: $out"; exit 1; }
  [ -f "$tmp/prefix/share/man/man1/byronify.1" ] ||
    { echo "FAIL: no share/man/man1/byronify.1"; exit 1; }
  echo "ok: byronify and byronify.1"
fi
echo "install test passed"
