#!/bin/sh
# usage: install_test.sh BUILD_DIR SOURCE_DIR CC
# Installs BUILD_DIR into a temporary prefix and builds hello.c against it
# with pkg-config and with find_package, shared and static; runs all four.
# When libdeferred-uv was built, hello_uv.c likewise.
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

uv=no
if [ -f "$libdir/pkgconfig/libdeferred-uv.pc" ]; then
  uv=yes
  "$cc" -o "$tmp/pc_uv_shared" "$here/hello_uv.c" \
    $(pkg-config --cflags --libs libdeferred-uv) -Wl,-rpath,"$libdir"
  "$cc" -o "$tmp/pc_uv_static" "$here/hello_uv.c" \
    $(pkg-config --cflags libdeferred-uv) "$libdir/libdeferred-uv.a" \
    "$libdir/libdeferred.a" $(pkg-config --static --libs-only-other libdeferred) \
    $(pkg-config --libs libuv)
fi

cmake -S "$here/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_COMPILER="$cc" -DWITH_UV=$uv >/dev/null
cmake --build "$tmp/consumer" >/dev/null

for exe in "$tmp/pc_shared" "$tmp/pc_static" "$tmp/consumer/hello_shared" \
           "$tmp/consumer/hello_static"; do
  out=$("$exe")
  [ "$out" = "hello from libdeferred: 42" ] || { echo "FAIL: $exe: $out"; exit 1; }
  echo "ok: $(basename "$exe")"
done
if [ $uv = yes ]; then
  for exe in "$tmp/pc_uv_shared" "$tmp/pc_uv_static" "$tmp/consumer/hello_uv_shared" \
             "$tmp/consumer/hello_uv_static"; do
    out=$("$exe")
    [ "$out" = "hello from libdeferred-uv: 42" ] || { echo "FAIL: $exe: $out"; exit 1; }
    echo "ok: $(basename "$exe")"
  done
  if ldd "$tmp/pc_uv_static" | grep -q libdeferred; then
    echo "FAIL: pc_uv_static links a shared libdeferred"; exit 1
  fi
fi
# The static executables must not need the shared library at run time.
if ldd "$tmp/pc_static" | grep -q libdeferred; then
  echo "FAIL: pc_static links libdeferred.so"; exit 1
fi
echo "install test passed"
