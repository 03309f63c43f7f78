#!/usr/bin/env bash
# Foundation benchmarks (issue 2): import of a generated 10,000-agent
# portfolio on SQLite (wall time, peak memory), and `charter serve` start-up
# time to the first /healthz answer and idle resident memory.
#
#   bench/foundation.sh [AGENTS]        # default 10000
#
# Needs a release build (cargo build --release -p charter-cli), GNU time and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
agents="${1:-10000}"
target="${CARGO_TARGET_DIR:-target}"
charter="$target/release/charter"
[ -x "$charter" ] || { echo "build first: cargo build --release -p charter-cli" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

"$charter" gen portfolio --agents "$agents" --seed 1 --out "$work/portfolio" >/dev/null
echo "portfolio: $agents agents, $(du -sh "$work/portfolio" | cut -f1) of JSON, $(grep -c snapshot_date "$work/portfolio/historical_snapshots.json") snapshots"

measure_import() {
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$charter" --data-dir "$work/data" "$@" import "$work/portfolio" -w bench >"$work/out"
  read -r seconds kib <"$work/time"
  printf '%-28s %6.2f s   peak RSS %4d MB   (%s)\n' "$label" "$seconds" $((kib / 1024)) "$(tail -n 1 "$work/out" | cut -c1-60)"
}
measure_import "import (new workspace)"
measure_import "re-import (no changes)"
echo "database: $(du -sh "$work/data" | cut -f1)"

port=$((20000 + RANDOM % 20000))
start=$(date +%s%N)
"$charter" --data-dir "$work/data" serve --listen "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
  kill -0 "$server" 2>/dev/null || { echo "server exited" >&2; exit 1; }
done
ready=$(date +%s%N)
echo "serve: first /healthz after $(( (ready - start) / 1000000 )) ms (includes process start and migrations check)"
sleep 2
echo "serve: idle resident memory $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$server/status")"
