#!/bin/sh
# Build the fuzz targets with clang (libFuzzer + ASan + UBSan) in their own
# build directory and run them one after the other, sharing the time given:
#
#   fuzz_sim     deferred-sim's input rules and drawings (fuzz_sim.c)
#   fuzz_byron   the Byronification Engine (fuzz_byron.c)
#
# Exits non-zero if a target finds a crash, a leak, undefined behaviour or
# a failed check.
#
# usage: fuzz/run.sh [SECONDS]          (default 60 in all, half each)
# env:   FUZZ_BUILD=dir (default build-fuzz/ at the top), CC (default clang),
#        FUZZ_JOBS (parallel workers, default 1)
set -eu
seconds=${1:-60}
each=$((seconds / 2))
[ "$each" -ge 1 ] || each=1
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$top/build-fuzz}
cc=${CC:-clang}
mkdir -p "$build/artifacts"

flags="-g -O1 -std=c11 -Wall -Wextra -Wpedantic -Werror
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -fno-omit-frame-pointer -D_POSIX_C_SOURCE=200809L -I$top/include"
sim_sources=$(ls "$top"/tools/deferred-sim/*.c | grep -v '/main\.c$')
# The engine's sources only (tools/poetry/CMakeLists.txt, target byron):
# the directory also holds the tools and their network half.
byron_sources=$(for f in byron check stanza text words; do echo "$top/tools/poetry/$f.c"; done)

echo "building fuzz_sim and fuzz_byron with $cc in $build"
# shellcheck disable=SC2086 # flags and source lists are words on purpose
$cc $flags -I"$top/tools/deferred-sim" -o "$build/fuzz_sim" \
  "$top/fuzz/fuzz_sim.c" $sim_sources "$top"/src/core/*.c -lpthread
# shellcheck disable=SC2086
$cc $flags -I"$top/tools/poetry" -o "$build/fuzz_byron" \
  "$top/fuzz/fuzz_byron.c" $byron_sources "$top"/src/core/*.c -lpthread

jobs=
# With -jobs, libFuzzer forks workers that log to ./fuzz-N.log: run them
# in the build directory.
[ "${FUZZ_JOBS:-1}" -gt 1 ] && jobs="-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS"
cd "$build"

# fuzz NAME CORPUS MAX_LEN: NAME for $each seconds on a copy of the
# committed corpus (so that a run adds nothing to it).
fuzz() {
  rm -rf "$build/corpus-$2"
  cp -r "$top/fuzz/corpus/$2" "$build/corpus-$2"
  echo "running $1 for $each s"
  # shellcheck disable=SC2086
  "$build/$1" -max_total_time="$each" -max_len="$3" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $jobs \
    -artifact_prefix="$build/artifacts/" "$build/corpus-$2"
  echo "$1: nothing found in $each s"
}

fuzz fuzz_sim sim 4096
fuzz fuzz_byron byron 8192
