#!/usr/bin/env bash
# Container figures for vanguard's image (the Containerfile's runtime target,
# built from a release binary by scripts/container-image.sh, nothing pulled):
#   - image size (what `podman image inspect` reports; the stand-in base is
#     the binary's own glibc/libgcc, close to distroless/cc's 20-odd MiB);
#   - container start to the first 200 from /ready (`podman run -d` issued
#     to /ready answering), median of RUNS;
#   - SIGTERM to exit with IDLE idle sessions open, median of RUNS.
#
#   scripts/bench-container.sh [RUNS] [IDLE]      (defaults 10 and 4)
#
# Needs podman (scripts/setup-test-env.sh installs it and writes
# .test-env/containers.conf, used here) and curl; builds the release binary.
set -euo pipefail

runs=${1:-10}
idle=${2:-4}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
[[ -f .test-env/containers.conf ]] && export CONTAINERS_CONF=$repo/.test-env/containers.conf
tag=localhost/vanguard-bench:latest
target=${CARGO_TARGET_DIR:-$repo/target}

cargo build --release --locked --bin vanguard >&2
scripts/container-image.sh "$target/release/vanguard" "$tag" >/dev/null
bytes=$(podman image inspect --format '{{.Size}}' "$tag")
awk -v b="$bytes" 'BEGIN { printf "image size: %d bytes (%.1f MiB)\n", b, b / 1048576 }'

now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

init_session() {
    curl -s -o /dev/null -X POST "http://127.0.0.1:$1/mcp" \
        -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
}

starts=()
stops=()
for ((i = 0; i < runs; i++)); do
    port=$(free_port)
    name=vanguard-bench-$$-$i
    t0=$(now_ms)
    podman run -d --name "$name" --network host "$tag" \
        sse --port "$port" -- /usr/local/bin/vanguard demo-server >/dev/null
    until curl -sf -o /dev/null "http://127.0.0.1:$port/ready"; do sleep 0.005; done
    starts+=($(($(now_ms) - t0)))
    for ((s = 0; s < idle; s++)); do init_session "$port"; done
    t0=$(now_ms)
    podman kill --signal TERM "$name" >/dev/null
    code=$(podman wait --interval 5ms "$name")
    stops+=($(($(now_ms) - t0)))
    podman rm "$name" >/dev/null
    [[ $code == 0 ]] || echo "run $i: exit code $code" >&2
done
echo "start to /ready (ms, $runs runs): median $(printf '%s\n' "${starts[@]}" | median)," \
    "all: ${starts[*]}"
echo "SIGTERM to exit with $idle idle sessions (ms, $runs runs): median" \
    "$(printf '%s\n' "${stops[@]}" | median), all: ${stops[*]}"
podman rmi "$tag" "$tag-base" "$tag-builder" >/dev/null || true
