#!/usr/bin/env bash
# The network benchmark in one command:
#
#   bench/net/run.sh           full run (about two minutes)
#   bench/net/run.sh --quick   a few seconds, figures not judged (CI)
#
# Builds examples/echo-server, the bare libuv echo server and the load
# client with -O2 in their own build directory ($DF_BENCH_NET_BUILD,
# default build-bench-net), then runs bench/net/run.py, which prints
# server CPU time per round trip and per connection for ours, bare libuv
# and Twisted, with ratios. Exit status: non-zero only if a server or the
# load client fails (a lost connection, a short echo), never on timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ $# -gt 1 || ( $# -eq 1 && "$1" != "--quick" ) ]]; then
  echo "usage: bench/net/run.sh [--quick]" >&2
  exit 2
fi
scripts/deps.sh build-essential cmake pkg-config libuv1-dev python3-twisted ||
  echo "bench/net/run.sh: could not install dependencies; going on" >&2
build=${DF_BENCH_NET_BUILD:-build-bench-net}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DDF_WERROR=ON \
  -DDF_BUILD_TESTS=OFF -DDF_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" --target echo-server net_load net_bare_echo_server \
  -j"$(nproc)" >/dev/null
# A thousand connections a second come and go: enough descriptors.
ulimit -n 20000 2>/dev/null || true
exec /usr/bin/python3 bench/net/run.py "$build/bin" "$@"
