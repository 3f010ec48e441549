#!/usr/bin/env bash
# The performance table in one command: server-everything over stdio
# directly, behind a plain relay hop (`cat | server | cat`), through
# vanguard (gateway only, and with the kernel sandbox) and through the peer
# McpVanguard 2.2.2 (installed here from PyPI into target/bench-peer, never
# by the tests), all in one run; then the Rust echo server for the relay's
# own cost, the hosted gateway (Streamable HTTP, 1,000 idle sessions) and
# the CPU of `vanguard run -- true`. The machine's load is printed before
# and after: compare rows of one run, not figures across runs.
#
# Usage: bash scripts/bench-table.sh [--quick] [--no-http] [--no-peer]
# Needs: the test environment (set up here by scripts/setup-test-env.sh),
# python3 with venv (the peer) and wrk (installed with apt-get as root).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
quick=0 http=1 peer=1
for a in "$@"; do
  case $a in
    --quick) quick=1 ;;
    --no-http) http=0 ;;
    --no-peer) peer=0 ;;
    *) echo "usage: $0 [--quick] [--no-http] [--no-peer]" >&2; exit 2 ;;
  esac
done
PEER_VERSION=2.2.2

need=()
[ "$http" = 1 ] && ! command -v wrk >/dev/null && need+=(wrk)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need[*]}" >&2
    apt-get install -y "${need[@]}" >/dev/null
  else
    echo "bench-table: missing ${need[*]} (apt-get install ${need[*]})" >&2; exit 2
  fi
fi
bash scripts/setup-test-env.sh >/dev/null
# shellcheck source=/dev/null
source .test-env/env.sh

peer_cmd=
if [ "$peer" = 1 ]; then
  venv=$repo/target/bench-peer
  if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp-vanguard') != '$PEER_VERSION')" 2>/dev/null; then
    echo "installing the peer: mcp-vanguard==$PEER_VERSION from PyPI into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp-vanguard==$PEER_VERSION"
  fi
  # Its behavioural layer refuses a benchmark's thousands of calls a second
  # (BEH-004), as ours would with its limits on; ours runs with L3 observing
  # and judging but its limits off, the peer's L3 is off entirely.
  peer_cmd="$venv/bin/vanguard start --no-behavioral --server"
fi

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "vanguard $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (uncommitted changes)'), peer ${peer_cmd:+mcp-vanguard $PEER_VERSION}"
echo
cargo build --release --quiet
# A stale scripts/symbol-order.txt shows in the RSS columns; say so here.
python3 scripts/symbol-order.py --check target/release/vanguard || true
# The peer writes audit.log and reads rules/ in its working directory.
peer_dir=$(mktemp -d)
trap 'rm -rf "$peer_dir"' EXIT
(
  cd "$peer_dir"
  [ "$quick" = 1 ] && export VANGUARD_BENCH_QUICK=1
  VANGUARD_BENCH_PEER="$peer_cmd" cargo bench --quiet --manifest-path "$repo/Cargo.toml" --bench relay 2>/dev/null
)
echo
V=$repo/target/release/vanguard
# `vanguard run -- true`: CPU (task-clock) of the whole run, 50 runs each.
# shellcheck disable=SC2016
printf '%s\n' 'name = "norules"' '[zones]' 'read = ["${workspace}"]' 'write = ["${workspace}"]' \
  '[network]' 'mode = "none"' >"$peer_dir/norules.toml"
# User + system CPU of the command and everything it started, from wait4,
# the median of 50 runs after 5 warm-up runs. The executable's pages are
# first dropped from the page cache so that the warm-up reads them back
# the way an installed binary is read: a binary the linker has just
# written sits in the cache in small pieces, and mapping those costs
# ~0.5 ms more per `run` (measured: the same file 6.01 vs 6.58 ms, equal
# once re-read).
cpu_ms() {
  python3 - "$@" <<'PY'
import os, shutil, subprocess, sys, statistics
exe = shutil.which(sys.argv[1])
fd = os.open(exe, os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
def once():
    p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{sys.argv[1:]} failed with {p.returncode}")
    return ru.ru_utime + ru.ru_stime
for _ in range(5):
    once()
print(f"{statistics.median(once() for _ in range(50)) * 1000:.2f} ms")
PY
}
echo "CPU of one run (user + system of the whole process tree, median of 50):"
echo "| | CPU |"
echo "|---|---|"
echo "| /bin/true | $(cpu_ms /bin/true) |"
echo "| vanguard run -- true (balanced, sandbox best-effort) | $(cd "$peer_dir" && cpu_ms "$V" run -- true) |"
echo "| vanguard run --profile norules -- true (best-effort) | $(cd "$peer_dir" && cpu_ms "$V" run --profile norules.toml -- true) |"
echo "| vanguard run --profile norules --sandbox off -- true | $(cd "$peer_dir" && cpu_ms "$V" run --profile norules.toml --sandbox off -- true) |"
if [ "$http" = 1 ]; then
  echo
  VANGUARD_BENCH_SET_UP=1 bash scripts/bench-http.sh "$([ "$quick" = 1 ] && echo 3 || echo 10)"
fi
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
