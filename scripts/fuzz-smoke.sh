#!/usr/bin/env bash
# Fuzz smoke test: builds the cargo-fuzz targets in fuzz/ (nightly) and runs
# each for N seconds (default 30) on fuzz/seeds/<target>, fuzz/regressions/
# <target> and whatever corpus an earlier run left in fuzz/corpus/<target>.
# Fails (exit 1) on any crash, panic, timeout or out-of-memory, and names
# the reproducer (libFuzzer writes it to fuzz/artifacts/<target>/).
#
#   scripts/fuzz-smoke.sh [SECONDS] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Without them it prints "skipped: …" and exits 0, unless
# VANGUARD_REQUIRE_FUZZ=1, when their absence is an error.
#
# Environment: CARGO_TARGET_DIR (default fuzz/target), FUZZ_RSS_LIMIT_MB
# (default 2048), FUZZ_TIMEOUT (seconds per input, default 20),
# VANGUARD_FUZZ_MASK_KNOWN=1 (skip the checks of the open findings listed in
# fuzz/README.md; their regressions then pass).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

secs=${1:-30}
shift || true
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < 1)); then
    echo "fuzz-smoke: SECONDS must be a positive integer, not '$secs'" >&2
    exit 2
fi

all_targets=(framing normalize canon inspect_call json_walk proxy_parsers jwt_jwks profile glob_tree trust_docs)
if (($# > 0)); then
    targets=("$@")
else
    targets=("${all_targets[@]}")
fi

declare -A dict=(
    [framing]=json.dict
    [normalize]=canon.dict
    [canon]=canon.dict
    [inspect_call]=json.dict
    [json_walk]=json.dict
    [proxy_parsers]=http.dict
    [jwt_jwks]=json.dict
    [profile]=toml.dict
    [glob_tree]=launch.dict
    [trust_docs]=json.dict
)

missing=""
if ! cargo +nightly --version >/dev/null 2>&1; then
    missing="nightly toolchain"
elif ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    missing="cargo-fuzz"
fi
if [[ -n $missing ]]; then
    if [[ ${VANGUARD_REQUIRE_FUZZ:-0} == 1 ]]; then
        echo "fuzz-smoke: error: $missing missing and VANGUARD_REQUIRE_FUZZ=1" >&2
        echo "fuzz-smoke: install with: rustup toolchain install nightly; cargo install cargo-fuzz --locked" >&2
        exit 1
    fi
    echo "fuzz-smoke: skipped: nightly toolchain or cargo-fuzz missing ($missing)"
    exit 0
fi

for t in "${targets[@]}"; do
    if [[ -z ${dict[$t]:-} ]]; then
        echo "fuzz-smoke: unknown target $t (known: ${all_targets[*]})" >&2
        exit 2
    fi
done

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/fuzz/target}
rss=${FUZZ_RSS_LIMIT_MB:-2048}
timeout=${FUZZ_TIMEOUT:-20}
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=$CARGO_TARGET_DIR/$triple/release

echo "fuzz-smoke: building the fuzz targets (target dir $CARGO_TARGET_DIR)"
build_log=$(mktemp "${TMPDIR:-/tmp}/fuzz-smoke-build.XXXXXX.log")
if ! cargo +nightly fuzz build --fuzz-dir fuzz >"$build_log" 2>&1; then
    tail -n 60 "$build_log" >&2
    echo "fuzz-smoke: FAILED: build (log $build_log)" >&2
    exit 1
fi

failed=()
repro=()
for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    artifacts=fuzz/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    dirs=("$corpus" "fuzz/seeds/$t")
    if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
        dirs+=("fuzz/regressions/$t")
    fi
    log=$(mktemp "${TMPDIR:-/tmp}/fuzz-smoke-$t.XXXXXX.log")
    echo "fuzz-smoke: $t for ${secs}s"
    # The binary just built runs directly (`cargo fuzz run` would rebuild
    # first, and pick up a src/ edited meanwhile). New inputs go to the
    # first directory (fuzz/corpus/, ignored by git); seeds and regressions
    # are only read.
    if "$bin_dir/$t" "${dirs[@]}" \
        -max_total_time="$secs" -rss_limit_mb="$rss" -timeout="$timeout" \
        -dict="fuzz/dicts/${dict[$t]}" -artifact_prefix="$artifacts/" \
        -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        rss_mb=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
        cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1 || true)
        echo "fuzz-smoke: $t ok: $cov runs: ${runs:-?} exec/s: $((${runs:-0} / secs)) peak_rss_mb: ${rss_mb:-?}"
    else
        echo "fuzz-smoke: FAILED: $t (log $log)" >&2
        # A panic's message is on the lines after "panicked at".
        grep -E -A2 "panicked at" "$log" | grep -v -E '^(--|stack backtrace:)' >&2 || true
        grep -E "ERROR: libFuzzer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY|Test unit written to" "$log" >&2 ||
            tail -n 40 "$log" >&2
        # The reproducer: what libFuzzer wrote, or the input it was running.
        unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        [[ -n $unit ]] || unit=$(sed -n 's/^Running: \(.*\)$/\1/p' "$log" | tail -n 1)
        failed+=("$t")
        repro+=("cargo +nightly fuzz run --fuzz-dir fuzz $t ${unit:-<reproducer not found, see $log>}")
    fi
done

passed=$((${#targets[@]} - ${#failed[@]}))
if ((${#failed[@]} > 0)); then
    echo "fuzz-smoke: FAILED: ${failed[*]}; reproduce with:" >&2
    printf '  %s\n' "${repro[@]}" >&2
    echo "fuzz-smoke: $passed passed, ${#failed[@]} failed"
    exit 1
fi
echo "fuzz-smoke: $passed passed, 0 failed"
