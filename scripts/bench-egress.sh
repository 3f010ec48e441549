#!/usr/bin/env bash
# Cost of the egress proxy (network allow-list mode), against a direct
# connection in the same run (absolute timings depend on the machine and its
# load; the differences and ratios are the result):
#
#   set-up   connect until the origin's first byte: direct, and through
#            `vanguard run --net allowlist` (CONNECT via the proxy, allow-list
#            check, audit event); median and p90 over N connections;
#   bulk     one connection receiving BYTES from the origin.
#
# Targets: the proxy adds <= 1 ms to connection set-up and moves >= 1 GB/s.
# The origin listens on 127.0.0.2 (the host's loopback); the proxied client
# runs inside the sandbox's own network namespace.
#
# Usage: scripts/bench-egress.sh [CONNECTIONS] [BULK_MIB]   (default 500, 4096)
# Needs python3 and a release build (built here; VANGUARD_BIN=path skips that).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
connections=${1:-500}
bulk_mib=${2:-4096}
bulk=$((bulk_mib * 1024 * 1024))
python=${VANGUARD_TEST_PYTHON:-python3}
peer="$repo/scripts/bench-egress/peer.py"

if [ -n "${VANGUARD_BIN:-}" ]; then
    vanguard=$VANGUARD_BIN
else
    cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin vanguard
    vanguard="$repo/target/release/vanguard"
fi

work=$(mktemp -d)
cleanup() {
    [ -n "${origin_pid:-}" ] && kill "$origin_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.2",0)); print(s.getsockname()[1])')
"$python" "$peer" serve 127.0.0.2 "$port" >"$work/origin.log" 2>&1 &
origin_pid=$!
for _ in $(seq 50); do
    grep -q ready "$work/origin.log" 2>/dev/null && break
    sleep 0.1
done

cat >"$work/egress.toml" <<TOML
extends = "balanced"
[audit]
path = "$work/audit.jsonl"
[network]
mode = "allowlist"
allow = ["127.0.0.2:$port"]
# Room for the bulk transfer (the defaults stop a connection at 64 MiB).
max_bytes_per_connection = $((bulk + (1 << 20)))
max_bytes_per_session = $((bulk * 2))
TOML

echo "origin 127.0.0.2:$port; $connections connections; bulk $bulk_mib MiB" >&2
direct=$("$python" "$peer" client direct 127.0.0.2 "$port" "$connections" "$bulk")
proxied=$("$vanguard" run --profile "$work/egress.toml" -- \
    "$python" "$peer" client proxy 127.0.0.2 "$port" "$connections" "$bulk")

events=$(grep -c '"kind":"egress"' "$work/audit.jsonl" || true)
"$python" - "$direct" "$proxied" "$events" "$connections" <<'PY'
import json, sys
d, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
events, conns = int(sys.argv[3]), int(sys.argv[4])
print(f"{'':22}{'direct':>12}{'proxy':>12}{'difference':>14}")
for key, label in [("setup_median_us", "set-up median (us)"), ("setup_p90_us", "set-up p90 (us)")]:
    print(f"{label:22}{d[key]:12.0f}{p[key]:12.0f}{p[key] - d[key]:+14.0f}")
ratio = p["bulk_gbps"] / d["bulk_gbps"]
print(f"{'bulk (GB/s)':22}{d['bulk_gbps']:12.2f}{p['bulk_gbps']:12.2f}{ratio:13.2f}x")
print(f"audit: {events} egress events for {conns + 1} proxied connections")
added = p["setup_median_us"] - d["setup_median_us"]
ok_setup = added <= 1000
ok_bulk = p["bulk_gbps"] >= 1.0
print(f"target set-up +<=1 ms: {'met' if ok_setup else 'MISSED'} (+{added:.0f} us); "
      f"target bulk >=1 GB/s: {'met' if ok_bulk else 'MISSED'} ({p['bulk_gbps']:.2f} GB/s)")
PY
