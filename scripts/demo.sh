#!/usr/bin/env bash
# The main demo: the Twisted tutorial's poetry system, for real, on
# loopback. Builds everything, starts three slow poetry servers with
# bundled public-domain poems and keeps a fourth address where nothing
# listens, then runs `get-poetry --byronify` against all four: its
# progress line, the Byronified poems as each completes, one failed
# download, and the summary. Takes about 4 seconds once built. The
# servers are stopped by their process ids, on any exit. Installs what
# it needs on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build-essential cmake pkg-config libcmocka-dev libedit-dev libuv1-dev
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bin=build/bin

tmp=$(mktemp -d)
pids=()
stop_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap 'stop_servers; rm -rf "$tmp"' EXIT

# serve NAME POEM DELAY BYTES: a slow server for examples/poetry/POEM.txt;
# its first line goes to $tmp/NAME.out, its messages to $tmp/NAME.err.
serve() {
  "$bin/poetry-server" --delay "$3" --num-bytes "$4" --quiet \
    "examples/poetry/$2.txt" > "$tmp/$1.out" 2> "$tmp/$1.err" &
  pids+=($!)
}
# port NAME: the port the server printed (its first line ends with it).
port() {
  for _ in $(seq 100); do
    [[ -s $tmp/$1.out ]] && { sed -n '1s/.*://p' "$tmp/$1.out"; return; }
    sleep 0.05
  done
  echo "demo: the $1 server did not start: $(cat "$tmp/$1.err")" >&2
  exit 1
}

serve science science 0.1 20         # Poe, 653 bytes: about 3.2 s
serve fascination fascination 0.1 30 # Yeats, 615 bytes: about 2 s
serve alla_sera alla_sera 0.05 10    # Foscolo, in Italian: about 2.9 s
# The fourth address: the port the kernel gave a server that has stopped.
serve nowhere science 0 1
ports=()
for name in science fascination alla_sera; do ports+=("$(port "$name")"); done
nowhere=$(port nowhere)
kill "${pids[3]}" && wait "${pids[3]}" || true
unset 'pids[3]'

cat >&2 <<EOF
== Three slow poetry servers on 127.0.0.1, ports ${ports[*]}, and nothing on
== port $nowhere. get-poetry --byronify downloads from all four at once: each
== poem is Byronified and printed as soon as it is complete.

EOF
status=0
"$bin/get-poetry" --byronify --progress "${ports[@]}" "$nowhere" || status=$?
echo >&2
echo "== get-poetry exited $status (1: a download failed); the servers say:" >&2
stop_servers
cat "$tmp"/science.err "$tmp"/fascination.err "$tmp"/alla_sera.err >&2
