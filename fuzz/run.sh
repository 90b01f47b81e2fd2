#!/bin/sh
# Build the fuzz targets with clang (libFuzzer + ASan + UBSan) in their own
# build directory and run each for a bounded time. Exits non-zero if a
# target finds a crash, a leak, undefined behaviour or a failed check.
#
# usage: fuzz/run.sh [SECONDS]          (default 60 per target)
# env:   FUZZ_BUILD=dir (default build-fuzz/ at the top), CC (default clang),
#        FUZZ_JOBS (parallel workers, default 1)
set -eu
seconds=${1:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$top/build-fuzz}
cc=${CC:-clang}
mkdir -p "$build/artifacts"

flags="-g -O1 -std=c11 -Wall -Wextra -Wpedantic -Werror
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -fno-omit-frame-pointer -D_POSIX_C_SOURCE=200809L
  -I$top/include -I$top/tools/deferred-sim"
sim_sources=$(ls "$top"/tools/deferred-sim/*.c | grep -v '/main\.c$')

echo "building fuzz_sim with $cc in $build"
# shellcheck disable=SC2086 # flags and source lists are words on purpose
$cc $flags -o "$build/fuzz_sim" "$top/fuzz/fuzz_sim.c" $sim_sources \
  "$top"/src/core/*.c -lpthread

# Work on a copy of the committed corpus, so that a run adds nothing to it.
rm -rf "$build/corpus-sim"
cp -r "$top/fuzz/corpus/sim" "$build/corpus-sim"
jobs=
# With -jobs, libFuzzer forks workers that log to ./fuzz-N.log: run them
# in the build directory.
[ "${FUZZ_JOBS:-1}" -gt 1 ] && jobs="-jobs=$FUZZ_JOBS -workers=$FUZZ_JOBS"
echo "running fuzz_sim for $seconds s"
cd "$build"
# shellcheck disable=SC2086
"$build/fuzz_sim" -max_total_time="$seconds" -max_len=4096 \
  -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $jobs \
  -artifact_prefix="$build/artifacts/" "$build/corpus-sim"
echo "fuzz_sim: nothing found in $seconds s"
