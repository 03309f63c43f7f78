#!/usr/bin/env bash
# Foundation benchmarks (issue 2), on SQLite:
#   - import of a generated portfolio into a new workspace (wall time, peak RSS), RUNS times;
#   - re-import of the same files (nothing changes);
#   - `charter serve` start-up to the first /healthz answer, and idle resident memory.
#
#   bench/foundation.sh [AGENTS] [RUNS]       # defaults: 10000 agents, 3 runs
#
# Needs a release build (cargo build --release -p charter-cli), GNU time and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
agents="${1:-10000}"
runs="${2:-3}"
target="${CARGO_TARGET_DIR:-target}"
charter="$target/release/charter"
[ -x "$charter" ] || { echo "build first: cargo build --release -p charter-cli" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$charter" gen portfolio --agents "$agents" --seed 1 --out "$work/portfolio" >/dev/null
echo "portfolio: $agents agents, $(du -sh "$work/portfolio" | cut -f1) of JSON, $(grep -c snapshot_date "$work/portfolio/historical_snapshots.json") snapshots"

import() {
  local label=$1
  /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$charter" --data-dir "$work/data" import "$work/portfolio" -w bench >"$work/out"
  read -r seconds kib user sys <"$work/time"
  printf '%-24s %6.2f s wall  %6.2f s CPU  peak RSS %4d MB  (%s)\n' "$label" "$seconds" "$(echo "$user + $sys" | bc)" $((kib / 1024)) "$(grep -o '[0-9]* created, [0-9]* updated, [0-9]* unchanged' "$work/out")"
}
for run in $(seq 1 "$runs"); do
  rm -rf "$work/data"
  import "import, run $run"
done
import "re-import"
echo "database: $(du -sh "$work/data" | cut -f1)"
python3 bench/startup.py "$charter" "$work/data" 5
