#!/usr/bin/env bash
# Hosted-gateway benchmark: tools/call echo over Streamable HTTP against
# server-everything directly and through `vanguard sse`, measured with wrk
# in one run, plus the gateway's own memory with 1,000 idle sessions.
#
# Usage: bash scripts/bench-http.sh [duration-seconds]
# Needs: the test environment (scripts/setup-test-env.sh), wrk (Debian), curl.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
dur=${1:-10}
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else echo "install wrk" >&2; exit 1; fi
fi
[ -n "${VANGUARD_BENCH_SET_UP:-}" ] || bash scripts/setup-test-env.sh >/dev/null
# shellcheck source=/dev/null
source .test-env/env.sh
cargo build --release --quiet
V=$repo/target/release/vanguard
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
# Opens a session at URL; prints its Mcp-Session-Id.
open_session() {
  local url=$1 sid
  sid=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -d "$init" "$url" |
        tr -d '\r' | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')
  curl -s -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
       -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-06-18' \
       -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$url"
  # List once so the gateway knows the tools before the load starts.
  curl -s -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
       -H "Mcp-Session-Id: $sid" -H 'MCP-Protocol-Version: 2025-06-18' \
       -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' "$url"
  echo "$sid"
}

cat > "$work/echo.lua" <<'LUA'
-- Every request gets its own JSON-RPC id (thread number * 10^9 + counter):
-- a session must never have two requests in flight with the same id.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.headers["Mcp-Session-Id"] = os.getenv("SID")
function request()
  n = n + 1
  local id = tid * 1000000000 + n
  local body = '{"jsonrpc":"2.0","id":' .. id .. ',"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}'
  return wrk.format(nil, nil, nil, body)
end
local bad = 0
function response(status, headers, body)
  if status ~= 200 or not string.find(body, "Echo: hello", 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("wrong answers: %d\n", bad))
end
LUA

wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }

PORT=18971 node "$VANGUARD_TEST_SERVER_EVERYTHING" streamableHttp >/dev/null 2>&1 & pids+=($!)
"$V" sse --server "node $VANGUARD_TEST_SERVER_EVERYTHING" --port 18972 --audit-log "$work/audit.jsonl" \
     --pins "$work/pins.json" --rate-limit 1000000 --global-rate-limit 1000000 >/dev/null 2>&1 & pids+=($!)
gw_pid=$!
wait_port 18971; wait_port 18972
run() { # label url
  local sid; sid=$(open_session "$2")
  SID=$sid wrk -t2 -c16 -d"${dur}s" --latency -s "$work/echo.lua" "$2" | tee "$work/$1.txt" >/dev/null
  local rps p50 p99
  rps=$(awk '/Requests\/sec/{print $2}' "$work/$1.txt")
  p50=$(awk '$1=="50%"{print $2}' "$work/$1.txt")
  p99=$(awk '$1=="99%"{print $2}' "$work/$1.txt")
  local bad; bad=$(awk '/wrong answers/{print $3}' "$work/$1.txt")
  printf '%-10s %10s req/s   p50 %8s   p99 %8s   wrong answers %s\n' "$1" "$rps" "$p50" "$p99" "$bad"
  echo "$rps" > "$work/$1.rps"
}
echo "tools/call echo, Streamable HTTP, 16 connections, ${dur}s each"
run direct "http://127.0.0.1:18971/mcp"
run vanguard "http://127.0.0.1:18972/mcp"
awk -v d="$(cat "$work/direct.rps")" -v g="$(cat "$work/vanguard.rps")" 'BEGIN{printf "vanguard / direct = %.1f%%\n", 100*g/d}'

# 1,000 idle sessions, each with its own (tiny, Rust) upstream: the
# gateway's own resident memory, upstreams excluded.
"$V" sse --server "$V demo-server" --port 18973 --audit-log off --pins "$work/pins2.json" --sandbox off \
     --max-sessions 1100 --rate-limit 1000000 --global-rate-limit 1000000 --max-concurrent-per-ip 2000 \
     >/dev/null 2>&1 & pids+=($!)
idle_pid=$!
wait_port 18973
before=$(awk '/VmRSS/{print $2}' "/proc/$idle_pid/status")
export init
seq 1000 | xargs -P 32 -I{} curl -s -o /dev/null -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' -d "$init" "http://127.0.0.1:18973/mcp"
sleep 1
after=$(awk '/VmRSS/{print $2}' "/proc/$idle_pid/status")
sessions=$(pgrep -c -P "$idle_pid" || true)
printf 'idle sessions: %d upstreams; gateway RSS %.1f MiB before, %.1f MiB with them (%.1f KiB per session)\n' \
  "$sessions" "$(echo "$before/1024" | bc -l)" "$(echo "$after/1024" | bc -l)" "$(echo "($after-$before)/$sessions" | bc -l)"
