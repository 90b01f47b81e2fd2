#!/bin/sh
# Render deferred-sim's SVG of the tutorial chain with headless Chromium and
# check the picture (check_png.py). Installs Chromium with apt-get if it is
# missing; fails (does not skip) if it cannot render.
# usage: svg_browser.sh BIN PYTHON SOURCE_DIR
bin=$1 python=$2 src=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
chromium=$(command -v chromium || command -v chromium-browser)
if [ -z "$chromium" ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "installing chromium"
  apt-get install -y chromium > "$tmp/apt.log" 2>&1 ||
    { apt-get update > /dev/null 2>&1 && apt-get install -y chromium > "$tmp/apt.log" 2>&1; }
  chromium=$(command -v chromium)
fi
[ -n "$chromium" ] || { echo "FAIL: no chromium, and it could not be installed"; exit 1; }

printf 'r good f bad\nf googly p\np r ok\n\n' |
  "$bin" --svg "$tmp/chain.svg" > /dev/null || { echo "FAIL: deferred-sim"; exit 1; }
grep -q '<svg' "$tmp/chain.svg" || { echo "FAIL: no SVG written"; exit 1; }
size=$(sed -n 's/.*<svg [^>]*width="\([0-9]*\)" height="\([0-9]*\)".*/\1,\2/p' "$tmp/chain.svg")
[ -n "$size" ] || { echo "FAIL: no size in the SVG"; exit 1; }
mkdir "$tmp/profile"
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
  --no-first-run --disable-background-networking --disable-component-update \
  --disable-sync --hide-scrollbars --user-data-dir="$tmp/profile" \
  --screenshot="$tmp/chain.png" --window-size="$size" \
  "file://$tmp/chain.svg" > "$tmp/chromium.log" 2>&1
[ -s "$tmp/chain.png" ] || { echo "FAIL: chromium wrote no picture"; cat "$tmp/chromium.log"; exit 1; }
"$python" "$src/check_png.py" "$tmp/chain.png"
