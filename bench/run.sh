#!/usr/bin/env bash
# The benchmark suite in one command:
#
#   bench/run.sh           full run (a few minutes): C, Twisted, Node, callgrind
#   bench/run.sh --quick   few iterations, no callgrind (CI; under a minute)
#
# Installs what it needs on Debian when missing (scripts/deps.sh). Builds
# the C benchmark (bench/*.c) against libdeferred (static, -O2) in its own
# build directory ($DF_BENCH_BUILD, default build-bench), runs each runtime
# in its own process, then prints one table (bench/report.py).
#
# Exit status: non-zero only if a benchmark crashes (or finds a wrong
# result), or if the firing path of case a or b allocates once warm.
# Timing targets are printed as PASS/MISS and never fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=()
quick=false
if [[ $# -eq 1 && "$1" == "--quick" ]]; then
  mode=(--quick)
  quick=true
elif [[ $# -ne 0 ]]; then
  echo "usage: bench/run.sh [--quick]" >&2
  exit 1
fi

# What the run needs, installed on Debian when missing (as the README's
# commands do): the compiler and CMake, the two peers, and valgrind for
# the full mode's callgrind counts. If they cannot be installed (no root,
# not Debian), the run goes on without them: a missing peer or valgrind
# is skipped with a line saying so, a missing compiler stops the build.
needs=(build-essential cmake python3 python3-twisted nodejs)
$quick || needs+=(valgrind)
if ! scripts/deps.sh "${needs[@]}"; then
  echo "bench/run.sh: could not install ${needs[*]}; going on with what" \
    "is there" >&2
fi

build=${DF_BENCH_BUILD:-build-bench}
out=$build/out
mkdir -p "$out"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DDF_WERROR=ON \
  -DDF_BUILD_TESTS=OFF -DDF_BUILD_EXAMPLES=OFF -DDF_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" --target df_bench -j"$(nproc)" >/dev/null
bin=$build/bin/df_bench

# Each runtime runs in its own process. The full mode runs the three
# three times, alternating (C, Twisted, Node, C, Twisted, Node, ...), and
# report.py keeps each case's best ns/op across the three: the machine's
# noise moves whole processes by tens of percent (with two, one run in
# twelve still had both C processes 20 % slow), and this way a slow
# moment costs no runtime its figure.
python=/usr/bin/python3
have_twisted=false
"$python" -c 'import twisted' 2>/dev/null && have_twisted=true
: >"$out/c.txt"
: >"$out/twisted.txt"
: >"$out/node.txt"
$have_twisted || echo "# Twisted: not installed for $python, skipped" >"$out/twisted.txt"
command -v node >/dev/null || echo "# Node: not on PATH, skipped" >"$out/node.txt"

run_all() {
  # C, with the default 8 MiB stack so that case f shows the loop does not
  # use the C stack. Exit 3 means the firing path allocated: fail.
  echo "running C..." >&2
  (ulimit -s 8192 && "$bin" "${mode[@]}") >>"$out/c.txt"
  if $have_twisted; then
    echo "running Twisted..." >&2
    "$python" bench/peer_twisted.py "${mode[@]}" >>"$out/twisted.txt"
  fi
  if command -v node >/dev/null; then
    echo "running Node..." >&2
    node bench/peer_node.mjs "${mode[@]}" >>"$out/node.txt"
  fi
}

run_all
$quick || { run_all; run_all; }

# Instructions per operation of every deterministic case: callgrind counts
# the whole program with N iterations and with 0 (the same warm-up), the
# difference is N iterations; report.py divides by the operations they
# make (N, or N x 10,000 delayed calls for j and j2, N x 1,000 for j@1000).
: >"$out/callgrind.txt"
if ! $quick && command -v valgrind >/dev/null; then
  echo "running callgrind..." >&2
  # total NAME ARGS...: the instructions callgrind counts in df_bench ARGS
  # (its output file is $out/callgrind.NAME).
  total() {
    local name=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$name" \
      "$bin" "$@" >/dev/null 2>&1
    awk '/^(summary|totals):/ { print $2; exit }' "$out/callgrind.$name"
  }
  # CASE:ITERATIONS:OPERATIONS_PER_ITERATION
  for spec in a:20000:1 b:20000:1 c:20000:1 d:20000:1 e:2000:1 g:200:1 \
              h:20000:1 h2:20000:1 i:200:1 j:8:10000 j@1000:40:1000 \
              j2:8:10000; do
    IFS=: read -r name n per <<<"$spec"
    printf 'R\tcallgrind.%s.n\t%s\nR\tcallgrind.%s.ir0\t%s\nR\tcallgrind.%s.irN\t%s\n' \
      "$name" "$((n * per))" "$name" "$(total "$name.0" --callgrind "$name" 0)" \
      "$name" "$(total "$name.$n" --callgrind "$name" "$n")" >>"$out/callgrind.txt"
  done
  # Case f's instructions at 0, 10,000 and 100,000 stages (f1) and
  # deferreds (f2): equal slopes between the sizes show the cost per stage
  # does not grow with n.
  for name in f1 f2; do
    for size in 0 10000 100000; do
      printf 'R\tcallgrind.%s.ir%s\t%s\n' "$name" "$size" \
        "$(total "$name.$size" --callgrind "$name" "$size")" \
        >>"$out/callgrind.txt"
    done
  done
fi

"$python" bench/report.py "$out/c.txt" "$out/twisted.txt" "$out/node.txt" \
  "$out/callgrind.txt"
