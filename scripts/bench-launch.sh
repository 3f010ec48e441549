#!/usr/bin/env bash
# What a launcher costs at start, measured against the resolved entry point
# in the same run (timings depend on the machine and its load; the
# differences are the result):
#
#   warm start   `vanguard run -- npx -y @modelcontextprotocol/server-filesystem WS`
#                with the package pinned and cached, against
#                `vanguard run -- node TREE/.../dist/index.js WS` under the same
#                profile; both servers exit at stdin EOF after start-up.
#   verify       the tree check alone, in `cargo bench --bench launch`.
#
# Target: a warm launcher start adds <= 30 ms and runs no package manager.
#
# Usage: scripts/bench-launch.sh [RUNS]   (default 30)
# Needs hyperfine and jq, npm and network for the first install (into a
# cache under target/).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-30}
for tool in hyperfine jq npm; do
    command -v "$tool" >/dev/null || {
        echo "bench-launch: $tool is missing" >&2
        exit 2
    }
done
cd "$repo"
cargo build --release --quiet
bin=$repo/target/release/vanguard
work=$repo/target/bench-launch
mkdir -p "$work/ws"
cache=$work/cache
pins=$work/pins.json
pkg="@modelcontextprotocol/server-filesystem@2026.8.31"
server="npx -y $pkg $work/ws"

"$bin" fetch --cache-dir "$cache" --pins "$pins" --server "$server" >"$work/fetch.txt"
entry=$("$bin" policy explain --cache-dir "$cache" --pins "$pins" --workspace "$work/ws" \
    --server "$server" | sed -n 's/^  runs: //p')
[ -n "$entry" ] || {
    echo "bench-launch: could not read the resolved entry point" >&2
    exit 1
}
tree=$(sed -n 's/^ready: .* in \(.*\) (tree sha256.*/\1/p' "$work/fetch.txt")
files=$(find "$tree" -type f | wc -l)
size=$(du -sm "$tree" | cut -f1)

common=(run --profile balanced --workspace "$work/ws" --cache-dir "$cache" --pins "$pins" --)
hyperfine --shell=none --warmup 3 --runs "$runs" --style basic \
    --export-json "$work/launch.json" \
    -n launcher "$bin ${common[*]} $server" \
    -n entry-point "$bin ${common[*]} $entry" >&2

mean() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean * 1000' "$work/launch.json"; }
median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$work/launch.json"; }
l=$(median launcher)
e=$(median entry-point)
printf '\ntree: %s files, %s MiB (%s)\n' "$files" "$size" "$pkg"
printf 'median start to exit: launcher %.1f ms, entry point %.1f ms, difference %+.1f ms (target <= 30 ms)\n' \
    "$l" "$e" "$(echo "$l - $e" | bc -l)"
printf 'load: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
