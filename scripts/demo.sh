#!/usr/bin/env bash
# Build everything and run the main demo (the Byronification chain, ending
# with an unhandled-failure report). Installs what it needs on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build-essential cmake pkg-config libcmocka-dev libedit-dev libuv1-dev
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec build/bin/byronify-demo
