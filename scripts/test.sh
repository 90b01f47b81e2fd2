#!/usr/bin/env bash
# Build everything (warnings are errors) and run every test: the cmocka
# suites, the differential test against Twisted, the tools' tests, the
# install test. Installs what it needs on Debian. Extra arguments go to
# ctest (e.g. -R differential).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build-essential cmake pkg-config libcmocka-dev libedit-dev \
  libuv1-dev python3 python3-twisted chromium fonts-dejavu-core graphviz
cmake -S . -B build -DDF_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
cd build
# --no-tests=error: a configuration that left the tests out must not pass.
ctest --output-on-failure --no-tests=error -j"$(nproc)" "$@"
