#!/usr/bin/env bash
# Renders a scenario's report.html in headless Chromium and saves a full-page PNG beside it.
#
#   reports/screenshot.sh [scenario.toml] [width] [height]
#   (default: scenarios/black_friday.toml, 1200 × 4200) → reports/out/<name>/report.png
#
# Needs Chromium (Debian: apt-get install chromium) or CHROMIUM=/path/to/chrome.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-scenarios/black_friday.toml}
width=${2:-1200}
height=${3:-4200}
browser=${CHROMIUM:-/usr/bin/chromium}
[ -x "$browser" ] || { echo "no Chromium at $browser (apt-get install chromium, or set CHROMIUM)"; exit 1; }
name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$scenario" | head -1)
out="reports/out/$name"
cargo run --release --quiet -- run "$scenario" --out "$out" --quiet
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size="$width,$height" \
  --screenshot="$PWD/$out/report.png" "file://$PWD/$out/report.html" 2>/dev/null
echo "screenshot: $out/report.png"
