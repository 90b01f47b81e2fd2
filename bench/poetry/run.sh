#!/usr/bin/env bash
# The poetry benchmark in one command:
#
#   bench/poetry/run.sh           full run (about three minutes once built)
#   bench/poetry/run.sh --quick   under a minute, the build included; only
#                                 the counted targets judged (CI step 6c)
#
# Builds poetry-server (tools/poetry), the bare libuv poetry server and
# the load client, Release (-O2), in their own build directory
# ($DF_BENCH_POETRY_BUILD, default build-bench-poetry), then runs
# bench/poetry/run.py, which prints per server (ours, bare libuv, Twisted)
# the time until all poems are in, poems/s, server CPU per poem, poems
# lost and memory per open slow connection, with ratios, and judges the
# targets of docs/performance-poetry.md.
#
# What it needs of the machine (it changes no system setting; it prints
# the ones that matter): 10,000 descriptors a process for the largest
# case (it raises `ulimit -n` to 20,000, the most allowed here), an
# ephemeral port range wide enough for 10,000 loopback connections at
# once (the client spreads them over several source addresses 127.0.0.x
# if it is not), and ideally net.core.somaxconn of 4,096 or more.
#
# Exit status: non-zero if a poem is lost, if ours uses more than 1 KiB
# per open slow connection, or if a server or the load client fails;
# never on timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ $# -gt 1 || ( $# -eq 1 && "$1" != "--quick" ) ]]; then
  echo "usage: bench/poetry/run.sh [--quick]" >&2
  exit 2
fi
scripts/deps.sh build-essential cmake pkg-config libuv1-dev python3-twisted ||
  echo "bench/poetry/run.sh: could not install dependencies; going on" >&2
build=${DF_BENCH_POETRY_BUILD:-build-bench-poetry}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DDF_WERROR=ON \
  -DDF_BUILD_TESTS=OFF -DDF_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target poetry-server poetry_load bare_poetry_server \
  -j"$(nproc)" >/dev/null
# 10,000 connections open at once in the client and in the server.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 bench/poetry/run.py "$build/bin" "$@"
