#!/usr/bin/env bash
# Whole-process cost of the kernel sandbox, measured against baselines in the
# same run (timings are machine-dependent; the ratios are the result):
#
#   1. spawn: `true` bare, under `unshare -Urn`, under bubblewrap, and under
#      `vanguard run` at --sandbox best-effort and --sandbox off;
#   2. handshake: the first `initialize` round trip through `vanguard start`
#      to server-everything, with the server sandboxed vs not.
#
# Targets: a sandboxed spawn adds <= 2 ms to a bare one and is faster than
# bubblewrap; the sandboxed handshake is within 5% of the unsandboxed one.
#
# Usage: scripts/bench-spawn.sh [HANDSHAKE_ROUNDS]   (default 30)
# Needs hyperfine, bwrap and jq (installed with apt-get when run as root), and
# server-everything from scripts/setup-test-env.sh for the handshake part.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-30}

need_tools() {
    local missing=()
    command -v hyperfine >/dev/null || missing+=(hyperfine)
    command -v bwrap >/dev/null || missing+=(bubblewrap)
    command -v jq >/dev/null || missing+=(jq)
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]}" >&2
        apt-get install -y "${missing[@]}" >&2
    else
        echo "bench-spawn: missing ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
        exit 2
    fi
}
need_tools

echo "building the release binary" >&2
(cd "$repo" && cargo build --release --quiet)
vanguard="$repo/target/release/vanguard"

# An empty workspace, so the default zones never include the repository.
work=$(mktemp -d -t vanguard-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

# ------------------------------------------------------------------ spawn
hyperfine --shell=none --warmup 20 --min-runs 200 --style basic \
    --export-json "$work/spawn.json" \
    -n bare 'true' \
    -n unshare-Urn 'unshare -Urn true' \
    -n bwrap 'bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent true' \
    -n vanguard-best-effort "$vanguard run --sandbox best-effort -- true" \
    -n vanguard-off "$vanguard run --sandbox off -- true" >&2

mean_ms() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean * 1000' "$work/spawn.json"; }
sd_ms() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .stddev * 1000' "$work/spawn.json"; }

echo
echo "== spawn of \`true\` (mean ± sd over hyperfine runs, this machine, this run)"
for n in bare unshare-Urn bwrap vanguard-off vanguard-best-effort; do
    printf '  %-22s %8.2f ms ± %.2f\n' "$n" "$(mean_ms "$n")" "$(sd_ms "$n")"
done
bare=$(mean_ms bare)
bwrap=$(mean_ms bwrap)
sandboxed=$(mean_ms vanguard-best-effort)
unsandboxed=$(mean_ms vanguard-off)
awk -v b="$bare" -v w="$bwrap" -v s="$sandboxed" -v o="$unsandboxed" 'BEGIN {
    printf "  vanguard(best-effort) / bare   %6.2fx  (+%.2f ms; target +2 ms: %s)\n", s / b, s - b, (s - b <= 2 ? "met" : "MISSED")
    printf "  vanguard(best-effort) / bwrap  %6.2fx  (target < 1: %s)\n", s / w, (s < w ? "met" : "MISSED")
    printf "  vanguard(best-effort) / vanguard(off) %6.2fx  (+%.2f ms for the sandbox itself)\n", s / o, s - o
    printf "  vanguard(off) / bare           %6.2fx  (+%.2f ms for vanguard without a sandbox)\n", o / b, o - b
}'

# -------------------------------------------------------------- handshake
node=${VANGUARD_TEST_NODE:-$(command -v node || true)}
everything=${VANGUARD_TEST_SERVER_EVERYTHING:-$repo/.test-env/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js}
if [ -z "$node" ] || [ ! -f "$everything" ]; then
    echo "bench-spawn: server-everything not found; run scripts/setup-test-env.sh for the handshake part" >&2
    exit 2
fi
init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench-spawn","version":"0"}}}'

# One handshake: vanguard start (which spawns the server), initialize, first
# response line. Prints microseconds from launching vanguard to that line.
handshake_us() {
    local level=$1 line t0 t1
    t0=$EPOCHREALTIME
    coproc gw { exec "$vanguard" start --audit-log off --sandbox "$level" \
        --server "$node $everything" 2>/dev/null; }
    printf '%s\n' "$init" >&"${gw[1]}"
    IFS= read -r line <&"${gw[0]}"
    t1=$EPOCHREALTIME
    case $line in
        *'"result"'*) ;;
        *) echo "bench-spawn: no initialize result at --sandbox $level: $line" >&2; exit 1 ;;
    esac
    kill -TERM "$gw_PID" 2>/dev/null || true
    wait "$gw_PID" 2>/dev/null || true
    echo $(( (${t1/./} - ${t0/./}) ))
}

echo "running $rounds handshakes per level, interleaved" >&2
handshake_us best-effort >/dev/null
handshake_us off >/dev/null
: >"$work/best-effort.us"
: >"$work/off.us"
for ((i = 0; i < rounds; i++)); do
    handshake_us best-effort >>"$work/best-effort.us"
    handshake_us off >>"$work/off.us"
done

stats() { sort -n "$1" | awk '{ v[NR] = $1; s += $1 } END { printf "%.2f %.2f", s / NR / 1000, v[int((NR + 1) / 2)] / 1000 }'; }
read -r be_mean be_median < <(stats "$work/best-effort.us")
read -r off_mean off_median < <(stats "$work/off.us")

echo
echo "== initialize round trip through vanguard start to server-everything ($rounds rounds each)"
printf '  %-22s mean %8.2f ms  median %8.2f ms\n' "--sandbox best-effort" "$be_mean" "$be_median"
printf '  %-22s mean %8.2f ms  median %8.2f ms\n' "--sandbox off" "$off_mean" "$off_median"
awk -v s="$be_mean" -v o="$off_mean" -v sm="$be_median" -v om="$off_median" 'BEGIN {
    printf "  sandboxed / unsandboxed       mean %.3fx  median %.3fx  (target <= 1.05: %s)\n", s / o, sm / om, (s / o <= 1.05 ? "met" : "MISSED")
}'
