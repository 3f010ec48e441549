#!/usr/bin/env bash
# Whole-process cost of the kernel sandbox, measured against baselines in the
# same run (timings depend on the machine and its load; the ratios are the
# result):
#
#   spawn      `true` bare, under `unshare -Urn`, under bubblewrap, and under
#              `vanguard run` at --sandbox best-effort and --sandbox off;
#   cpu        the CPU time (perf stat task-clock, the whole process tree) of
#              `vanguard run -- true` with the default profile (balanced) and
#              with a profile without rules, against `true` alone;
#   handshake  the first `initialize` round trip through `vanguard start` to
#              server-everything, with the server sandboxed and not.
#
# Targets: a sandboxed spawn adds <= 2 ms to a bare one and is faster than
# bubblewrap; `vanguard run -- true` costs <= 1 ms of CPU more than `true`;
# the sandboxed handshake is within 5% of the unsandboxed one.
#
# Usage: scripts/bench-spawn.sh [all|spawn|cpu|handshake] [HANDSHAKE_ROUNDS]
#        (default: all, 30 rounds per level)
# Needs hyperfine, bwrap and jq (installed with apt-get when run as root),
# perf for the CPU figures (skipped, saying so, without it), and
# server-everything from scripts/setup-test-env.sh for the handshake.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
part=${1:-all}
rounds=${2:-30}
case $part in
    all | spawn | cpu | handshake) ;;
    *)
        echo "usage: $0 [all|spawn|cpu|handshake] [HANDSHAKE_ROUNDS]" >&2
        exit 2
        ;;
esac

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
        echo "bench-spawn: missing ${missing[*]} (apt-get install ${missing[*]})" >&2
        exit 2
    fi
}

# ------------------------------------------------------------------ spawn

mean_ms() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean * 1000' "$work/spawn.json"; }
sd_ms() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .stddev * 1000' "$work/spawn.json"; }

# The zones and network of balanced without its rules, to tell the cost of
# the rules from that of the sandbox. ${workspace} is the profile's
# variable, not the shell's.
write_norules() {
    # shellcheck disable=SC2016
    printf '%s\n' 'name = "norules"' '[zones]' 'read = ["${workspace}"]' \
        'write = ["${workspace}"]' '[network]' 'mode = "none"' >"$work/norules.toml"
}

bench_spawn() {
    write_norules
    hyperfine --shell=none --warmup 20 --min-runs 200 --style basic \
        --export-json "$work/spawn.json" \
        -n bare 'true' \
        -n unshare-Urn 'unshare -Urn true' \
        -n bwrap 'bwrap --ro-bind / / --dev /dev --proc /proc --unshare-all --die-with-parent true' \
        -n vanguard-best-effort "$vanguard run --sandbox best-effort -- true" \
        -n vanguard-off "$vanguard run --sandbox off -- true" \
        -n vanguard-best-effort-norules "$vanguard run --profile $work/norules.toml --sandbox best-effort -- true" \
        -n vanguard-off-norules "$vanguard run --profile $work/norules.toml --sandbox off -- true" >&2

    echo
    echo "== spawn of \`true\` (hyperfine mean ± sd, this machine, this run)"
    local n
    for n in bare unshare-Urn bwrap vanguard-off vanguard-best-effort \
        vanguard-off-norules vanguard-best-effort-norules; do
        printf '  %-22s %8.2f ms ± %.2f\n' "$n" "$(mean_ms "$n")" "$(sd_ms "$n")"
    done
    awk -v b="$(mean_ms bare)" -v w="$(mean_ms bwrap)" \
        -v s="$(mean_ms vanguard-best-effort)" -v o="$(mean_ms vanguard-off)" 'BEGIN {
        printf "  vanguard(best-effort) / bare           %6.2fx  (+%.2f ms; target +2 ms: %s)\n", s / b, s - b, (s - b <= 2 ? "met" : "MISSED")
        printf "  vanguard(best-effort) / bwrap          %6.2fx  (target < 1: %s)\n", s / w, (s < w ? "met" : "MISSED")
        printf "  vanguard(best-effort) / vanguard(off)  %6.2fx  (+%.2f ms for the sandbox itself)\n", s / o, s - o
        printf "  vanguard(off) / bare                   %6.2fx  (+%.2f ms for vanguard without a sandbox)\n", o / b, o - b
    }'
    echo "  with a profile without rules:"
    awk -v b="$(mean_ms bare)" -v w="$(mean_ms bwrap)" \
        -v s="$(mean_ms vanguard-best-effort-norules)" -v o="$(mean_ms vanguard-off-norules)" 'BEGIN {
        printf "  vanguard(best-effort) / bare           %6.2fx  (+%.2f ms; target +2 ms: %s)\n", s / b, s - b, (s - b <= 2 ? "met" : "MISSED")
        printf "  vanguard(best-effort) / bwrap          %6.2fx  (target < 1: %s)\n", s / w, (s < w ? "met" : "MISSED")
        printf "  vanguard(best-effort) / vanguard(off)  %6.2fx  (+%.2f ms for the sandbox itself)\n", s / o, s - o
    }'
}

# -------------------------------------------------------------------- cpu

# Milliseconds of CPU (task-clock of the command and its children) per run,
# the mean of $cpu_runs runs.
cpu_ms() {
    perf stat -x, -e task-clock -r "$cpu_runs" "$@" 2>&1 >/dev/null |
        awk -F, '$3 == "task-clock" { print $1; found = 1 } END { if (!found) print "nan" }'
}

bench_cpu() {
    if ! command -v perf >/dev/null || ! perf stat -e task-clock true >/dev/null 2>&1; then
        echo "bench-spawn: perf stat is unavailable (apt-get install linux-perf; perf_event_paranoid); no CPU figures" >&2
        return 0
    fi
    write_norules
    cpu_runs=30
    local n bare profile level ms
    bare=$(cpu_ms true)
    echo
    echo "== CPU of one run of \`true\` (perf stat task-clock, mean of $cpu_runs, this machine, this run)"
    printf '  %-36s %7.2f ms\n' "true" "$bare"
    for n in "balanced best-effort" "balanced off" "norules best-effort" "norules off"; do
        read -r profile level <<<"$n"
        if [ "$profile" = norules ]; then profile=$work/norules.toml; fi
        ms=$(cpu_ms "$vanguard" run --profile "$profile" --sandbox "$level" -- true)
        awk -v n="vanguard run ($n)" -v m="$ms" -v b="$bare" 'BEGIN {
            printf "  %-36s %7.2f ms  (+%.2f ms over true; target +1 ms: %s)\n", n, m, m - b, (m - b <= 1 ? "met" : "MISSED")
        }'
    done
}

# -------------------------------------------------------------- handshake

init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench-spawn","version":"0"}}}'

# One handshake: launch vanguard start (which spawns the server), send
# initialize, read the first line. Prints the microseconds from launching
# vanguard to that line.
#
# Both levels get the same small environment: unsandboxed, the server would
# inherit all of ours (NODE_EXTRA_CA_CERTS alone makes node parse a CA bundle
# at start), the sandboxed one only the allow-list, and the comparison would
# measure the environment instead of the sandbox.
handshake_us() {
    local level=$1 line t0 t1
    t0=$EPOCHREALTIME
    coproc gw {
        exec env -i PATH="$PATH" HOME="$HOME" LANG="${LANG:-C.UTF-8}" \
            "$vanguard" start --audit-log off --sandbox "$level" \
            --server "$node $everything" 2>/dev/null
    }
    printf '%s\n' "$init" >&"${gw[1]}"
    if ! IFS= read -r line <&"${gw[0]}"; then
        line="(no output: vanguard exited)"
    fi
    t1=$EPOCHREALTIME
    # shellcheck disable=SC2154 # gw_PID is set by coproc
    kill -TERM "$gw_PID" 2>/dev/null || true
    wait "$gw_PID" 2>/dev/null || true
    case $line in
        *'"result"'*) ;;
        *)
            echo "bench-spawn: no initialize result at --sandbox $level: $line" >&2
            exit 1
            ;;
    esac
    echo $((${t1/./} - ${t0/./}))
}

# "mean median" in milliseconds of a file of microsecond samples.
stats_ms() {
    sort -n "$1" | awk '{ v[NR] = $1; s += $1 } END { printf "%.2f %.2f\n", s / NR / 1000, v[int((NR + 1) / 2)] / 1000 }'
}

bench_handshake() {
    node=${VANGUARD_TEST_NODE:-$(command -v node || true)}
    everything=${VANGUARD_TEST_SERVER_EVERYTHING:-$repo/.test-env/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js}
    if [ -z "$node" ] || [ ! -f "$everything" ]; then
        echo "bench-spawn: server-everything not found; run scripts/setup-test-env.sh first" >&2
        exit 2
    fi
    echo "running $rounds handshakes per level, interleaved" >&2
    handshake_us best-effort >/dev/null
    handshake_us off >/dev/null
    : >"$work/best-effort.us"
    : >"$work/off.us"
    # Alternating which level goes first cancels the effect of one run's
    # teardown (a network namespace is freed asynchronously) on the next.
    local i
    for ((i = 0; i < rounds; i++)); do
        if ((i % 2 == 0)); then
            handshake_us best-effort >>"$work/best-effort.us"
            handshake_us off >>"$work/off.us"
        else
            handshake_us off >>"$work/off.us"
            handshake_us best-effort >>"$work/best-effort.us"
        fi
    done
    local be_mean be_median off_mean off_median
    read -r be_mean be_median < <(stats_ms "$work/best-effort.us")
    read -r off_mean off_median < <(stats_ms "$work/off.us")

    echo
    echo "== initialize round trip through vanguard start to server-everything ($rounds rounds each)"
    printf '  %-22s mean %8.2f ms  median %8.2f ms\n' "--sandbox best-effort" "$be_mean" "$be_median"
    printf '  %-22s mean %8.2f ms  median %8.2f ms\n' "--sandbox off" "$off_mean" "$off_median"
    awk -v s="$be_mean" -v o="$off_mean" -v sm="$be_median" -v om="$off_median" 'BEGIN {
        printf "  sandboxed / unsandboxed  mean %.3fx  median %.3fx  (target <= 1.05: %s)\n", s / o, sm / om, (s / o <= 1.05 ? "met" : "MISSED")
    }'
}

# ------------------------------------------------------------------- main

case $part in handshake | cpu) ;; *) need_tools ;; esac
echo "building the release binary" >&2
(cd "$repo" && cargo build --release --quiet)
vanguard="${CARGO_TARGET_DIR:-$repo/target}/release/vanguard"

# An empty workspace, so the default zones never include the repository.
work=$(mktemp -d -t vanguard-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs" >&2

case $part in
    spawn) bench_spawn ;;
    cpu) bench_cpu ;;
    handshake) bench_handshake ;;
    all)
        bench_spawn
        bench_cpu
        bench_handshake
        ;;
esac
